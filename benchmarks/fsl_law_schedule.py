"""The monotone schedule under the fitted FSL law: Newton–CG steps against L-BFGS and scipy, on the same problem.

Problem: `LawSchedule(FSLLaw(25M fit), warm-up 2160, peak 3e-4, min 1e-10, monotone)` at N = 24000 (log-decrement
controls), the law's parameters from `problems/results/loss_curve_laws/results.json` ("fsl_law (fitted here)", 25M),
every method from the system's own start (WSD, linear, 20 %). Run in this same process:

- lrcontrol Newton–CG: `Direct(max_steps=k)` (the law hands over `HessianProducts`), for several caps k;
- lrcontrol L-BFGS: `Direct(newton=False, max_steps=k)` (preconditioned by the diagonal estimate: the solve before
  Newton–CG) and `Direct(precondition=False, max_steps=k)` (plain, the gradient by `jax.grad`);
- scipy L-BFGS-B on the post-warm-up controls with bounds [0, 60], the value and gradient from one jitted jax call,
  every tolerance 0 (it stops at its iteration cap or when a line search finds no decrease).

Each row is one solve from the start (not a best of several: the caps' rows trace the descent); compile time apart.

With `--law fsl_law_before` the same problem under `FSLLawBefore` (each decrement paired with T(i − 1)) with the same
parameters: there the Newton–CG solve converges by itself (→ `fsl_law_before_schedule.json`).

    python benchmarks/fsl_law_schedule.py [--quick] [--law fsl_law|fsl_law_before]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import write  # noqa: E402
from lrcontrol.systems.law_schedule import LawSchedule, describe  # noqa: E402

RESULTS = Path(__file__).parents[1] / "problems" / "results" / "loss_curve_laws" / "results.json"
N, W, PEAK, MIN_LR = 24000, 2160, 3e-4, 1e-10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer caps (a smoke run)")
    ap.add_argument("--law", choices=("fsl_law", "fsl_law_before"), default="fsl_law",
                    help="the pairing (the parameters are the 25M fsl_law fit's either way)")
    args = ap.parse_args()
    params = json.loads(RESULTS.read_text())["sizes"]["25"]["laws"]["fsl_law (fitted here)"]["params"]
    law = (lrc.systems.FSLLawBefore if args.law == "fsl_law_before" else lrc.systems.FSLLaw)(**params)
    system = LawSchedule(law, W, PEAK, MIN_LR, monotone=True)
    problem = system.problem(N)
    u0 = jnp.asarray(system.initial_controls(problem))
    value = lambda u: float(law.final_loss(system.rates(u)))  # noqa: E731
    rows = []

    def lrcontrol_row(method, solver):
        sol = lrc.solve(problem, solver, u0=u0, progress=False)
        d = sol.diagnostics
        row = {"method": method, "max_steps": solver.max_steps, "final_loss": value(sol.controls),
               "iterations": int(d.iterations), "evaluations": int(d.evaluations), "run_s": d.run_time,
               "compile_s": d.compile_time, "converged": bool(d.converged), "message": d.message,
               "shape": describe(np.asarray(system.rates(sol.controls)), W, PEAK)}
        rows.append(row)
        print(f"{method:16s} cap {solver.max_steps:5d}: {row['final_loss']:.10f}  {row['iterations']:5d} it  "
              f"run {row['run_s']:6.1f} s  compile {row['compile_s']:.1f} s  {d.message[:40]}", flush=True)

    for k in ([25, 100] if args.quick else [25, 50, 100, 200, 400]):
        lrcontrol_row("newton-cg", lrc.solvers.Direct(max_steps=k))
    lbfgs_caps = [1000] if args.quick else [1000, 5000]  # lrcontrol's L-BFGS and scipy's alike
    for k in lbfgs_caps:
        lrcontrol_row("l-bfgs", lrc.solvers.Direct(newton=False, max_steps=k))
    for k in lbfgs_caps:
        lrcontrol_row("l-bfgs (plain)", lrc.solvers.Direct(precondition=False, max_steps=k))

    post = lambda w: jnp.concatenate([u0[:W, 0], w])  # noqa: E731
    vg = jax.jit(jax.value_and_grad(lambda w: law.final_loss(system.rates(post(w)))))
    t = time.perf_counter()
    jax.block_until_ready(vg(u0[W:, 0]))
    scipy_compile = time.perf_counter() - t
    for k in lbfgs_caps:
        t = time.perf_counter()
        res = minimize(lambda w: tuple(np.asarray(a) for a in vg(jnp.asarray(w))), np.asarray(u0[W:, 0]), jac=True,
                       method="L-BFGS-B", bounds=[(0.0, 60.0)] * (N - W),
                       options={"maxiter": k, "maxfun": 4 * k, "ftol": 0.0, "gtol": 0.0})
        run = time.perf_counter() - t
        row = {"method": "scipy l-bfgs-b", "max_steps": k, "final_loss": value(post(jnp.asarray(res.x))),
               "iterations": int(res.nit), "evaluations": int(res.nfev), "run_s": run, "compile_s": scipy_compile,
               "converged": bool(res.success), "message": str(res.message)}
        rows.append(row)
        print(f"{'scipy l-bfgs-b':16s} cap {k:5d}: {row['final_loss']:.10f}  {row['iterations']:5d} it  "
              f"run {run:6.1f} s  {row['message'][:40]}", flush=True)

    best = min(r["final_loss"] for r in rows)
    for r in rows:
        r["gap_to_best"] = r["final_loss"] - best
    start = value(u0)
    print(f"start {start:.10f}; best found {best:.10f}")
    path = write(f"{args.law}_schedule", {"description": __doc__.split("\n\n")[0],
                                      "problem": {"law": f"{args.law} (the 25M fsl_law fit's parameters)",
                                                  "params": params, "N": N, "warmup": W,
                                                  "peak": PEAK, "min_lr": MIN_LR, "start": "wsd (linear, 20 %)",
                                                  "start_final_loss": start},
                                      "best_found": best, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
