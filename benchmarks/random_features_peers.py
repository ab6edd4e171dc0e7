"""Random features (Bordelon & Mori): lrcontrol's direct solve against the peers, on the same discrete problem.

Issue #5's target case: a = b = 2, 500 modes, σ = 0.5, batch m = 5, 0 ≤ η ≤ 2, T = 1000 SGD steps, 100
piecewise-constant control blocks, minimise the final excess loss L_T.

- lrcontrol: `lrc.solve` (projected L-BFGS on jax.grad through the scanned recursion, preconditioned by the exact
  Hessian diagonal `RandomFeatures.rate_curvature`; and without it), compile and run apart;
- CasADi + IPOPT, the method of the authors' released code: the recursion written symbolically (CasADi MX,
  vector operations per step) as a function of the 100 block rates, exact gradient by CasADi's AD, limited-memory
  Hessian (a full Hessian of a 1000-step recursion is what IPOPT would otherwise need); build and solve apart;
- scipy L-BFGS-B with an exact numpy adjoint (forward recursion stored, backward costates [D]).

All start from the same constant rate (lrcontrol's initial guess) and are compared by the objective they reach.
Also: the whole `lrcontrol solve random_features ... --quiet` command (start, import, compile, solve, write the
JSON, CSV and figure) as a subprocess, with an empty and with a filled compilation cache; one objective, one
objective + gradient and one curvature pass (the forward pass is the floor); and the long case (T = 10⁴ steps,
1000 modes, per-step rates). Run times are best of 3.

    python benchmarks/random_features_peers.py      # writes benchmarks/results/random_features_peers.json
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import equinox as eqx
import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import best_of, write  # noqa: E402
from lrcontrol._solve import initial_guess  # noqa: E402

A, B, MODES, NOISE, BATCH, ETA_MAX, T, BLOCKS = 2.0, 2.0, 500, 0.5, 5.0, 2.0, 1000, 100
CLI = ["solve", "random_features", "--set", f"a={A}", "--set", f"b={B}", "--set", f"modes={MODES}", "--set",
       f"noise={NOISE}", "--set", f"batch={BATCH}", "--set", f"eta_max={ETA_MAX}", "--set", f"horizon={T}",
       "--set", f"blocks={BLOCKS}", "--quiet"]


def problem():
    system = lrc.systems.RandomFeatures(a=A, b=B, modes=MODES, noise=NOISE, batch=BATCH)
    return lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=T, blocks=BLOCKS,
                              bounds={"lr": (0.0, ETA_MAX)})


def block_index():
    return (np.arange(T) * BLOCKS) // T


def numpy_value_and_grad(lam, c0):
    """L_T and dL_T/dη_blocks by the exact discrete adjoint (forward states stored, costates backwards)."""
    blocks = block_index()

    def fg(u):
        eta = u[blocks]
        cs = np.empty((T + 1, MODES))
        cs[0] = c0
        for t in range(T):
            d = 1 - 2 * eta[t] * lam + (1 + 1 / BATCH) * (eta[t] * lam) ** 2
            cs[t + 1] = d * cs[t] + eta[t] ** 2 / BATCH * lam * (lam @ cs[t] + NOISE**2)
        p, g = lam.copy(), np.zeros(T)
        for t in range(T - 1, -1, -1):
            c, e = cs[t], eta[t]
            g[t] = p @ ((-2 * lam + 2 * (1 + 1 / BATCH) * e * lam**2) * c + 2 * e / BATCH * lam * (lam @ c + NOISE**2))
            d = 1 - 2 * e * lam + (1 + 1 / BATCH) * (e * lam) ** 2
            p = d * p + e**2 / BATCH * (lam @ p) * lam
        return float(lam @ cs[T]), np.bincount(blocks, weights=g, minlength=BLOCKS)

    return fg


def casadi_solver(lam, c0, u0):
    import casadi as ca

    t0 = time.perf_counter()
    u = ca.MX.sym("u", BLOCKS)
    lam_dm, c = ca.DM(lam), ca.DM(c0)
    c = ca.MX(c)
    for t, k in enumerate(block_index()):
        eta = u[int(k)]
        loss = ca.dot(lam_dm, c)
        c = (1 - 2 * eta * lam_dm + (1 + 1 / BATCH) * eta**2 * lam_dm**2) * c + eta**2 / BATCH * lam_dm * (
            loss + NOISE**2)
    objective = ca.dot(lam_dm, c)
    solver = ca.nlpsol("rf", "ipopt", {"x": u, "f": objective},
                       {"ipopt.hessian_approximation": "limited-memory", "ipopt.tol": 1e-12,
                        "ipopt.print_level": 0, "print_time": False, "ipopt.max_iter": 3000})
    build_s = time.perf_counter() - t0

    def solve():
        return solver(x0=u0, lbx=0.0, ubx=ETA_MAX)

    return build_s, solve, solver


def lrcontrol_row(p, solver, label):
    first = lrc.solve(p, solver, progress=False)
    runs = [lrc.solve(p, solver, progress=False) for _ in range(3)]
    sol = runs[-1]
    row = {"method": label, "setup_s": first.diagnostics.compile_time,
           "run_s": min(r.diagnostics.run_time for r in runs), "objective": float(sol.objective),
           "iterations": int(sol.diagnostics.iterations), "converged": sol.diagnostics.converged}
    print(f"{label}: L_T = {row['objective']:.12f}, {row['iterations']} iterations, compile {row['setup_s']:.2f} s, "
          f"run {row['run_s']:.3f} s", flush=True)
    return row


def evaluation_times(p):
    """One objective (forward pass, the floor), one objective + gradient, one curvature pass; best of 20."""
    u = initial_guess(p)
    forward = eqx.filter_jit(lambda p, u: p.cost(u))
    value_and_grad = eqx.filter_jit(lambda p, u: jax.value_and_grad(p.cost)(u))
    curvature = eqx.filter_jit(lambda p, u: p.system.rate_curvature(p.expand(u)[:, 0]))
    out = {}
    for name, fn in (("forward_s", forward), ("value_and_grad_s", value_and_grad), ("curvature_s", curvature)):
        jax.block_until_ready(fn(p, u))
        out[name], _ = best_of(lambda fn=fn: jax.block_until_ready(fn(p, u)), repeats=20)
    out["value_and_grad_over_forward"] = out["value_and_grad_s"] / out["forward_s"]
    return out


def command_times():
    """The whole `lrcontrol solve ...` command as a subprocess: with an empty compilation cache (cold), then
    with the cache it filled (warm); both --quiet. Best of 3 each (cold: a fresh cache folder every time)."""
    cmd = [sys.executable, "-m", "lrcontrol.cli", *CLI]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        def run(cache):
            proc = subprocess.run([*cmd, "--out", tmp], capture_output=True, text=True,
                                  env={**os.environ, "LRCONTROL_CACHE": cache})
            assert proc.returncode == 0, proc.stderr
        cold = []
        for i in range(3):
            t = time.perf_counter()
            run(str(Path(tmp) / f"cold{i}"))
            cold.append(time.perf_counter() - t)
        out["cold_s"] = min(cold)
        out["warm_s"], _ = best_of(lambda: run(str(Path(tmp) / "cold0")), repeats=3)
    print(f"whole command `lrcontrol {' '.join(CLI)}`: cold cache {out['cold_s']:.2f} s, warm cache "
          f"{out['warm_s']:.2f} s", flush=True)
    return out


def long_case():
    """Issue #5's second target: T = 10⁴ steps, 1000 modes, one rate per step (a = b = 2, σ = 0.5, m = 1,
    η ≤ 2), converged on the projected-gradient criterion; reverse mode checkpointed (√T cells per chunk)."""
    system = lrc.systems.RandomFeatures(a=A, b=B, modes=1000, noise=NOISE, batch=1.0)
    p = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=10_000, bounds={"lr": (0.0, ETA_MAX)})
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sol = lrc.solve(p, progress=False)
    d = sol.diagnostics
    plain = lrc.solve(p, lrc.solvers.Direct(precondition=False, max_steps=300), progress=False)
    row = {"case": {"a": A, "b": B, "modes": 1000, "noise": NOISE, "batch": 1.0, "eta_max": ETA_MAX,
                    "horizon": 10_000, "blocks": 10_000}, "converged": d.converged, "message": d.message,
           "iterations": int(d.iterations), "evaluations": int(d.evaluations), "compile_s": d.compile_time,
           "run_s": d.run_time, "objective": float(sol.objective), "max_rss_mib": max(
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rss0) / 1024,
           "without_preconditioning_after_300_iterations": {
               "objective": float(plain.objective), "run_s": plain.diagnostics.run_time,
               "residual_over_initial": float(plain.diagnostics.residual / plain.diagnostics.initial_residual)},
           **evaluation_times(p)}
    print(f"T = 10^4, 1000 modes, per step: {row['message']} in {row['iterations']} iterations, compile "
          f"{row['compile_s']:.1f} s, run {row['run_s']:.1f} s, L_T = {row['objective']:.10f}; without "
          f"preconditioning after 300 iterations L_T = {row['without_preconditioning_after_300_iterations']['objective']:.10f}; "
          f"value+grad {row['value_and_grad_s'] * 1e3:.1f} ms vs forward {row['forward_s'] * 1e3:.1f} ms", flush=True)
    return row


def main():
    p = problem()
    system = p.system
    lam, c0 = np.asarray(system.eigenvalues()), np.asarray(system.initial_state())
    u0 = np.asarray(initial_guess(p))[:, 0]

    rows = [lrcontrol_row(p, lrc.solvers.Direct(), "lrcontrol Direct (L-BFGS preconditioned by the exact "
                                                   "Hessian diagonal)"),
            lrcontrol_row(p, lrc.solvers.Direct(precondition=False), "lrcontrol Direct, plain L-BFGS")]

    build_s, solve, solver = casadi_solver(lam, c0, u0)
    ipopt_s, res = best_of(solve, repeats=3)
    stats = solver.stats()
    ipopt = {"method": "CasADi + IPOPT (exact gradient, L-BFGS Hessian)", "setup_s": build_s, "run_s": ipopt_s,
             "objective": float(res["f"]), "iterations": int(stats["iter_count"]),
             "converged": bool(stats["success"]), "status": stats["return_status"]}
    rows.append(ipopt)
    print(f"IPOPT: L_T = {ipopt['objective']:.12f}, {ipopt['iterations']} iterations, build {build_s:.2f} s, "
          f"run {ipopt_s:.3f} s ({stats['return_status']})", flush=True)

    fg = numpy_value_and_grad(lam, c0)
    scipy_s, sres = best_of(lambda: scipy.optimize.minimize(
        fg, u0, jac=True, method="L-BFGS-B", bounds=[(0.0, ETA_MAX)] * BLOCKS,
        options={"maxiter": 20000, "maxfun": 40000, "ftol": 1e-15, "gtol": 1e-12}), repeats=3)
    rows.append({"method": "scipy L-BFGS-B (exact numpy adjoint)", "setup_s": 0.0, "run_s": scipy_s,
                 "objective": float(sres.fun), "iterations": int(sres.nit), "converged": bool(sres.success),
                 "status": str(sres.message)})
    print(f"scipy: L_T = {sres.fun:.12f}, {sres.nit} iterations, run {scipy_s:.3f} s ({sres.message})", flush=True)

    command = command_times()
    evaluation = evaluation_times(p)
    print(f"one value+grad {evaluation['value_and_grad_s'] * 1e3:.2f} ms, one forward pass "
          f"{evaluation['forward_s'] * 1e3:.2f} ms ({evaluation['value_and_grad_over_forward']:.1f}x), one curvature "
          f"pass {evaluation['curvature_s'] * 1e3:.2f} ms", flush=True)

    best = min(r["objective"] for r in rows)
    for r in rows:
        r["relative_gap_to_best"] = (r["objective"] - best) / best
    ours = rows[0]
    payload = {"case": {"a": A, "b": B, "modes": MODES, "noise": NOISE, "batch": BATCH, "eta_max": ETA_MAX,
                        "horizon": T, "blocks": BLOCKS}, "rows": rows, "command": command,
               "evaluation": evaluation,
               "speedup_solver_vs_ipopt": ipopt["run_s"] / ours["run_s"],
               "speedup_command_cold_vs_ipopt_build_plus_solve": (ipopt["setup_s"] + ipopt["run_s"]) / command["cold_s"],
               "speedup_command_warm_vs_ipopt_build_plus_solve": (ipopt["setup_s"] + ipopt["run_s"]) / command["warm_s"],
               "objective_gap_vs_ipopt": (ours["objective"] - ipopt["objective"]) / ipopt["objective"],
               "long_case": long_case()}
    print(f"solver speed-up vs IPOPT {payload['speedup_solver_vs_ipopt']:.1f}x; whole command vs IPOPT build+solve "
          f"{payload['speedup_command_cold_vs_ipopt_build_plus_solve']:.1f}x cold, "
          f"{payload['speedup_command_warm_vs_ipopt_build_plus_solve']:.1f}x warm; objective gap vs IPOPT "
          f"{payload['objective_gap_vs_ipopt']:.1e}")
    print(f"wrote {write('random_features_peers', payload)}")


if __name__ == "__main__":
    main()
