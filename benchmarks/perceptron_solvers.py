"""Accuracy against time for lrcontrol's three kinds of solver on the perceptron effort problem, with scipy's
boundary-value solver as the peer of the indirect method.

Cases (c = d = 1, T = 2): K = 2 (β = 0.5) and the steep K = 33.9 (β = 0.00174). For each:

- direct (projected L-BFGS through the unrolled exact flow), steps 250 / 1000 / 4000;
- shooting (Newton, 8 segments, RK4 with 2 substeps per cell), steps 250 / 1000 / 4000;
- sweep (damped forward–backward sweep), steps 250 / 1000 / 4000;
- hjb (semi-Lagrangian, cubic interpolation), 1000 steps, 51 / 101 / 201 / 401 state points;
- peer: scipy.integrate.solve_bvp on the same canonical equations (ė = −cμe, λ̇ = −ce + cμλ, μ = λce/2β,
  e(0) = d, λ(T) = 0), tol 1e-4 / 1e-6 / 1e-8, sampled at the midpoints of a 1000-cell grid.

Error: max |u − closed form| / peak at the cell midpoints. lrcontrol compile and run times apart (run = best of
3 after compilation); the peer's time is best of 3.

    python benchmarks/perceptron_solvers.py [--quick]
"""

import argparse
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402
from scipy.integrate import solve_bvp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import best_of, write  # noqa: E402

CASES = {"K=2": 0.5, "K=33.9": 0.00174}


def problem_for(beta, steps):
    system = lrc.systems.LinearPerceptron(input_variance=1.0, distance=1.0)
    return lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=beta), horizon=2.0, steps=steps)


def run_lrcontrol(problem, solver, repeats=3):
    first = lrc.solve(problem, solver, progress=False)
    runs = [lrc.solve(problem, solver, progress=False) for _ in range(repeats)]
    sol = runs[-1]
    ref = np.asarray(problem.system.optimal_schedule(problem).values)
    err = float(np.max(np.abs(np.asarray(sol.schedule.values) - ref)) / ref.max())
    d = sol.diagnostics
    return {"converged": d.converged, "message": d.message, "iterations": int(d.iterations),
            "compile_s": first.diagnostics.compile_time, "run_s": min(r.diagnostics.run_time for r in runs),
            "max_rel_error": err, "objective": float(sol.objective),
            "objective_gap_to_J*": float(sol.objective - problem.system.optimal_objective(problem)),
            "residual": float(d.residual), "residual_name": d.residual_name}


def run_scipy_bvp(beta, tol, steps=1000, repeats=3):
    c, d, T = 1.0, 1.0, 2.0

    def fun(t, y):
        e, lam = y
        mu = np.maximum(lam * c * e / (2 * beta), 0.0)
        return np.vstack([-c * mu * e, -c * e + c * mu * lam])

    def bc(ya, yb):
        return np.array([ya[0] - d, yb[1]])

    mesh = np.linspace(0, T, 51)
    guess = np.vstack([np.full_like(mesh, d), 2 * beta * (T - mesh) / T])

    def solve():
        return solve_bvp(fun, bc, mesh, guess, tol=tol, max_nodes=200_000)

    seconds, sol = best_of(solve, repeats)
    grid = np.linspace(0, T, steps + 1)
    mid = 0.5 * (grid[1:] + grid[:-1])
    e, lam = sol.sol(mid)
    mu = np.maximum(lam * c * e / (2 * beta), 0.0)
    problem = problem_for(beta, steps)
    ref = np.asarray(problem.system.optimal_schedule(problem).values)
    return {"converged": bool(sol.success), "message": sol.message, "nodes": int(sol.x.size), "tol": tol,
            "run_s": seconds, "max_rel_error": float(np.max(np.abs(mu - ref)) / ref.max())}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer sizes (a smoke run)")
    args = parser.parse_args()
    steps_list = (250, 1000) if args.quick else (250, 1000, 4000)
    points_list = (51, 101) if args.quick else (51, 101, 201, 401)
    rows = []
    for case, beta in CASES.items():
        for name, make in (("direct", lrc.solvers.Direct), ("shooting", lrc.solvers.Shooting),
                           ("sweep", lambda: lrc.solvers.Shooting(method="sweep"))):
            for steps in steps_list:
                r = run_lrcontrol(problem_for(beta, steps), make())
                rows.append({"case": case, "solver": name, "steps": steps, **r})
                print(f"{case:7s} {name:9s} steps {steps:5d}: err {r['max_rel_error']:.1e}  compile "
                      f"{r['compile_s']:.2f} s  run {r['run_s'] * 1e3:8.1f} ms  {r['message']}", flush=True)
        for points in points_list:
            r = run_lrcontrol(problem_for(beta, 1000), lrc.solvers.HJB(points=points))
            rows.append({"case": case, "solver": "hjb", "steps": 1000, "points": points, **r})
            print(f"{case:7s} hjb       points {points:4d}: err {r['max_rel_error']:.1e}  compile "
                  f"{r['compile_s']:.2f} s  run {r['run_s'] * 1e3:8.1f} ms  {r['message']}", flush=True)
        for tol in (1e-4, 1e-6, 1e-8):
            r = run_scipy_bvp(beta, tol)
            rows.append({"case": case, "solver": "scipy solve_bvp", "steps": 1000, **r})
            print(f"{case:7s} scipy solve_bvp tol {tol:.0e}: err {r['max_rel_error']:.1e}  run "
                  f"{r['run_s'] * 1e3:8.1f} ms  nodes {r['nodes']}  {r['message']}", flush=True)
    path = write("perceptron_solvers", {"rows": rows, "quick": args.quick,
                                        "note": "max_rel_error vs the closed form at cell midpoints; run_s best "
                                                "of 3 after compilation; compile_s the first call's compile time"})
    print(f"wrote {path}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.1f} s")
