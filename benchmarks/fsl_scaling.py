"""FSL (Li et al. 2025, arXiv 2509.19189): time to optimise N = 10³…10⁶ per-step learning rates to the exact
finite-N law.

For each N and phase (easy s = 1, β = 2, σ²/B = 1, η_max = 1; hard s = 0.25, β = 3, σ²/B = 0.2, η_max = 0.2):
`lrc.solve(FSL(...).problem(N))` (Direct: projected Newton on the O(N) closed-form E_N with its exact Hessian, a
`MinKernelHessian` solved in O(N)), compile and run timed apart (run: best of --repeats, of 2 at N ≥ 10⁶);
iterations and evaluations; the distance to the exact law (max |η − law|/peak); and the parts: one value and
gradient of E_N (jax.grad), one pass of value, gradient and Hessian (what each evaluation of the solve runs), one
Newton solve on the free set, the recorded loss curve (the sum-of-exponentials scan the solution carries), and the
exact law's 1-D search for c. The run-time exponent (log-log slope over the last decades) says whether time grows
linearly with N. At the largest N the same solve by L-BFGS (`Direct(newton=False)`: preconditioned by the
Hessian's diagonal, 5 pairs from 10⁵ controls on), in the same run, followed by two more default solves (the
machine's speed drifts: compare these two). Last, the multiplicative variant at the largest N, both phases, by
Newton steps (its Hessian has a max part too) and by L-BFGS, and the hard phase in 1000 control blocks (the
Hessian summed over them exactly) the same way, in the same run (all comparisons at --compare-max).

    python benchmarks/fsl_scaling.py              # writes benchmarks/results/fsl_scaling.json
    python benchmarks/fsl_scaling.py --max 100000 # quicker
    python benchmarks/fsl_scaling.py --max 10000000 --name fsl_scaling_gpu   # on a GPU (README: H100 row)
"""

import argparse
import math
import sys
from pathlib import Path

import equinox as eqx
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import best_of, write  # noqa: E402
from lrcontrol.systems import FSL  # noqa: E402

PHASES = {"easy": dict(source=1.0, capacity=2.0, noise=1.0, eta_max=1.0),
          "hard": dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2)}


def parts(system, problem, n, repeats):
    u = jnp.full((n, 1), 0.5 * float(system.eta_max))
    free = jnp.arange(n) % 10 != 0  # a free set with gaps, as the solve's is
    vg = eqx.filter_jit(lambda p, u: jax.value_and_grad(p.cost)(u))
    vgh = eqx.filter_jit(lambda p, u: p.value_grad_curvature(u))
    hessian = vgh(problem, u)[2]  # built once: the Newton solve is timed alone
    newton = eqx.filter_jit(lambda h, q: h.solve(q, free))
    traj = eqx.filter_jit(lambda p, u: p.trajectory(u)[2])
    out = {}
    for name, fn in (("value_and_grad_s", lambda: vg(problem, u)), ("value_grad_hessian_s", lambda: vgh(problem, u)),
                     ("newton_solve_s", lambda: newton(hessian, u[:, 0])), ("loss_curve_s", lambda: traj(problem, u)),
                     ("exact_law_search_s", lambda: system.exact_optimum(n))):
        jax.block_until_ready(fn())  # compile
        out[name] = best_of(lambda: jax.block_until_ready(fn()), repeats)[0]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--name", default="fsl_scaling", help="results file name (e.g. fsl_scaling_gpu on a GPU)")
    ap.add_argument("--compare-max", type=int, default=None, metavar="N",
                    help="the L-BFGS and multiplicative comparisons at min(N, the largest size) (default: the "
                         "largest size; a time-limited GPU check keeps them at 10⁶)")
    args = ap.parse_args()
    sizes = [n for n in (1_000, 10_000, 100_000, 1_000_000, 10_000_000) if n <= args.max]
    compare_n = min(args.compare_max or sizes[-1], sizes[-1])
    payload = {"description": " ".join(__doc__.split("\n\n")[0].split()), "phases": {},
               # MinKernelHessian.solve's "auto": two sequential scans on CPU, associative scans elsewhere
               "newton_solve_method": "sequential" if jax.default_backend() == "cpu" else "parallel"}
    for phase, params in PHASES.items():
        system = FSL(**params)
        rows = []
        for n in sizes:
            problem = system.problem(n)
            sol = lrc.solve(problem, progress=False)
            compile_s, runs = sol.diagnostics.compile_time, [sol.diagnostics.run_time]
            for _ in range(args.repeats - 1 if n < 1_000_000 else 1):
                runs.append(lrc.solve(problem, progress=False).diagnostics.run_time)
            rates = np.asarray(sol.controls[:, 0])
            law = np.asarray(system.exact_optimum(n)[0])
            row = {"N": n, "converged": bool(sol.diagnostics.converged), "message": sol.diagnostics.message,
                   "iterations": int(sol.diagnostics.iterations),
                   "evaluations": int(sol.diagnostics.evaluations), "compile_s": compile_s, "run_s": min(runs),
                   "max_dev_over_peak": float(np.max(np.abs(rates - law)) / rates.max()),
                   "objective": float(sol.objective),
                   **parts(system, problem, n, 1 if n >= 1_000_000 else args.repeats)}
            rows.append(row)
            print(phase, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
            # written after every size: a run stopped by its time limit (benchmarks/gpu_check.sh) keeps its rows
            payload["phases"][phase] = {"params": params, "rows": rows}
            write(args.name, payload)
        big = [r for r in rows if r["N"] >= 10_000]
        slope = (math.log(big[-1]["run_s"] / big[0]["run_s"]) / math.log(big[-1]["N"] / big[0]["N"])
                 if len(big) >= 2 else None)
        payload["phases"][phase] = {"params": params, "rows": rows, "run_time_exponent_from_1e4": slope}
        # the same solve by L-BFGS preconditioned by the Hessian's diagonal (the solver before Newton steps)
        problem, solver = system.problem(compare_n), lrc.solvers.Direct(newton=False)
        sol = lrc.solve(problem, solver, progress=False)
        runs = [lrc.solve(problem, solver, progress=False).diagnostics.run_time for _ in range(2)]
        default = [lrc.solve(problem, progress=False).diagnostics.run_time for _ in range(2)]
        same = {"N": compare_n, "run_s_lbfgs": min(runs), "iterations_lbfgs": int(sol.diagnostics.iterations),
                "evaluations_lbfgs": int(sol.diagnostics.evaluations), "objective_lbfgs": float(sol.objective),
                "run_s_newton_after": min(default)}
        payload["phases"][phase]["lbfgs_same_run"] = same
        print(phase, same, flush=True)
        write(args.name, payload)
    payload["multiplicative"] = {}
    for phase, params in PHASES.items():
        payload["multiplicative"][phase] = newton_vs_lbfgs(params, compare_n, "multiplicative")
        write(args.name, payload)
    payload["blocks"] = {"hard": newton_vs_lbfgs(PHASES["hard"], compare_n, blocks=BLOCKS)}
    print(f"wrote {write(args.name, payload)}")


BLOCKS = 1000  # the control blocks of the block comparison (the Hessian summed over them exactly)


def newton_vs_lbfgs(params, n, variant="additive", blocks=None):
    """Newton steps against L-BFGS at N = n (best of 2 runs each): the multiplicative variant (forcing σ² + e(t)),
    or `blocks` control blocks."""
    problem = FSL(**params, variant=variant).problem(n, blocks=blocks)
    out = {"N": n, "variant": variant, "blocks": blocks or n}
    controls = {}
    for name, solver in (("newton", lrc.solvers.Direct()), ("lbfgs", lrc.solvers.Direct(newton=False))):
        sol = lrc.solve(problem, solver, progress=False)
        runs = [lrc.solve(problem, solver, progress=False).diagnostics.run_time for _ in range(2)]
        d = sol.diagnostics
        out[name] = {"compile_s": d.compile_time, "run_s": min(runs), "iterations": int(d.iterations),
                     "evaluations": int(d.evaluations), "objective": float(sol.objective),
                     "converged": bool(d.converged), "message": d.message}
        controls[name] = np.asarray(sol.controls[:, 0])
    out["max_control_difference_over_peak"] = float(np.max(np.abs(controls["newton"] - controls["lbfgs"]))
                                                    / controls["lbfgs"].max())
    print(variant, f"{out['blocks']} blocks", out, flush=True)
    return out


if __name__ == "__main__":
    main()
