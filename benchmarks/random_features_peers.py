"""Random features (Bordelon & Mori): lrcontrol's direct solve against the peers, on the same discrete problem.

Issue #5's target case: a = b = 2, 500 modes, σ = 0.5, batch m = 5, 0 ≤ η ≤ 2, T = 1000 SGD steps, 100
piecewise-constant control blocks, minimise the final excess loss L_T.

- lrcontrol: `lrc.solve` (projected L-BFGS on jax.grad through the scanned recursion), compile and run apart;
- CasADi + IPOPT, the method of the authors' released code: the recursion written symbolically (CasADi MX,
  vector operations per step) as a function of the 100 block rates, exact gradient by CasADi's AD, limited-memory
  Hessian (a full Hessian of a 1000-step recursion is what IPOPT would otherwise need); build and solve apart;
- scipy L-BFGS-B with an exact numpy adjoint (forward recursion stored, backward costates, THEORY.md §2 [D]).

All start from the same constant rate (lrcontrol's initial guess) and are compared by the objective they reach.
Also: the whole `lrcontrol solve random_features ...` command (start, import, compile, solve, write) timed as
a subprocess. Run times are best of 3.

    python benchmarks/random_features_peers.py      # writes benchmarks/results/random_features_peers.json
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main():
    p = problem()
    system = p.system
    lam, c0 = np.asarray(system.eigenvalues()), np.asarray(system.initial_state())
    u0 = np.asarray(initial_guess(p))[:, 0]

    first = lrc.solve(p, progress=False)
    runs = [lrc.solve(p, progress=False) for _ in range(3)]
    ours = runs[-1]
    rows = [{"method": "lrcontrol Direct (projected L-BFGS, jax.grad)", "setup_s": first.diagnostics.compile_time,
             "run_s": min(r.diagnostics.run_time for r in runs), "objective": float(ours.objective),
             "iterations": int(ours.diagnostics.iterations), "converged": ours.diagnostics.converged}]
    print(f"lrcontrol: L_T = {rows[0]['objective']:.12f}, {rows[0]['iterations']} iterations, compile "
          f"{rows[0]['setup_s']:.2f} s, run {rows[0]['run_s']:.3f} s", flush=True)

    build_s, solve, solver = casadi_solver(lam, c0, u0)
    ipopt_s, res = best_of(solve, repeats=3)
    stats = solver.stats()
    rows.append({"method": "CasADi + IPOPT (exact gradient, L-BFGS Hessian)", "setup_s": build_s, "run_s": ipopt_s,
                 "objective": float(res["f"]), "iterations": int(stats["iter_count"]),
                 "converged": bool(stats["success"]), "status": stats["return_status"]})
    print(f"IPOPT: L_T = {rows[-1]['objective']:.12f}, {rows[-1]['iterations']} iterations, build {build_s:.2f} s, "
          f"run {ipopt_s:.3f} s ({stats['return_status']})", flush=True)

    fg = numpy_value_and_grad(lam, c0)
    scipy_s, sres = best_of(lambda: scipy.optimize.minimize(
        fg, u0, jac=True, method="L-BFGS-B", bounds=[(0.0, ETA_MAX)] * BLOCKS,
        options={"maxiter": 20000, "maxfun": 40000, "ftol": 1e-15, "gtol": 1e-12}), repeats=3)
    rows.append({"method": "scipy L-BFGS-B (exact numpy adjoint)", "setup_s": 0.0, "run_s": scipy_s,
                 "objective": float(sres.fun), "iterations": int(sres.nit), "converged": bool(sres.success),
                 "status": str(sres.message)})
    print(f"scipy: L_T = {sres.fun:.12f}, {sres.nit} iterations, run {scipy_s:.3f} s ({sres.message})", flush=True)

    # Time to IPOPT's objective: lrcontrol stopped at a looser projected-gradient tolerance.
    matched = [lrc.solve(p, lrc.solvers.Direct(rtol=1e-6), progress=False) for _ in range(3)]
    rows.insert(1, {"method": "lrcontrol Direct, rtol 1e-6 (to IPOPT's objective)", "setup_s": rows[0]["setup_s"],
                    "run_s": min(r.diagnostics.run_time for r in matched), "objective": float(matched[-1].objective),
                    "iterations": int(matched[-1].diagnostics.iterations),
                    "converged": matched[-1].diagnostics.converged})
    print(f"lrcontrol rtol 1e-6: L_T = {rows[1]['objective']:.12f} in {rows[1]['run_s']:.3f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "lrcontrol.cli", *CLI, "--out", tmp]
        cli_s, proc = best_of(lambda: subprocess.run(cmd, capture_output=True, text=True), repeats=3)
    assert proc.returncode == 0, proc.stderr
    print(f"whole command `lrcontrol {' '.join(CLI)}`: {cli_s:.2f} s", flush=True)

    best = min(r["objective"] for r in rows)
    for r in rows:
        r["relative_gap_to_best"] = (r["objective"] - best) / best
    ipopt = rows[2]
    payload = {"case": {"a": A, "b": B, "modes": MODES, "noise": NOISE, "batch": BATCH, "eta_max": ETA_MAX,
                        "horizon": T, "blocks": BLOCKS}, "rows": rows, "cli_command_s": cli_s,
               "speedup_solver_vs_ipopt": ipopt["run_s"] / rows[0]["run_s"],
               "speedup_to_ipopt_objective": ipopt["run_s"] / rows[1]["run_s"],
               "matched_reaches_ipopt_objective": rows[1]["objective"] <= ipopt["objective"],
               "speedup_command_vs_ipopt_build_plus_solve": (ipopt["setup_s"] + ipopt["run_s"]) / cli_s,
               "objective_gap_vs_ipopt": (rows[0]["objective"] - ipopt["objective"]) / ipopt["objective"]}
    print(f"solver speed-up vs IPOPT {payload['speedup_solver_vs_ipopt']:.1f}× (to IPOPT's objective "
          f"{payload['speedup_to_ipopt_objective']:.1f}×); whole command vs IPOPT build+solve "
          f"{payload['speedup_command_vs_ipopt_build_plus_solve']:.1f}×; objective gap vs IPOPT "
          f"{payload['objective_gap_vs_ipopt']:.1e}")
    print(f"wrote {write('random_features_peers', payload)}")


if __name__ == "__main__":
    main()
