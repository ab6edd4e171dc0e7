"""Perceptron effort problem: lrcontrol's direct solver vs scipy L-BFGS-B on the same discretised problem.

Cases: steps = 500 … 16000 (β = 0.5, c = d = 1, T = 2, K = 2), plus a steep case (K = 33.9) at 2000 steps.
Peers, given the same initial guess and the same stationarity target (projected gradient ≤ 1e-7 × its
initial value, in function-space units), run in this same process:

- scipy-numpy: L-BFGS-B with the objective and its exact adjoint gradient in vectorised numpy, O(N) per call;
- scipy-jax:   L-BFGS-B with the objective and gradient from jax (jitted), as in Bordelon & Mori's code.

lrcontrol's compile time and run time are reported apart; run time includes its initial-guess search.
Accuracy is the max error relative to the peak against the closed form, for every method.

    python benchmarks/perceptron_direct.py [--quick]
"""

import argparse
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
from _harness import best_of, write  # noqa: E402


def numpy_cost_and_grad(u, beta, c, d, h):
    """Exact discretised objective Σ_k [(c/2) e_k² h φ(−2cu_k h) + βu_k² h] and its adjoint gradient.

    e_k² = d² exp(−2ch Σ_{j<k} u_j); φ(x) = (eˣ − 1)/x. Written independently of the JAX model.
    """
    a = 2 * c * h * u
    s = np.concatenate([[0.0], np.cumsum(u)[:-1]])
    e2 = d * d * np.exp(-2 * c * h * s)
    small = np.abs(a) < 1e-6
    x = np.where(small, 1.0, -a)
    phi = np.where(small, 1 - a / 2 + a * a / 6, np.expm1(x) / x)
    dphi = np.where(small, 0.5 - a / 3, (x * np.exp(x) - np.expm1(x)) / (x * x))  # φ'(x) at x = −a
    integral = 0.5 * c * e2 * h * phi
    cost = integral.sum() + beta * h * np.sum(u * u)
    later = np.concatenate([np.cumsum(integral[::-1])[::-1][1:], [0.0]])  # Σ_{k>m} I_k
    grad = 0.5 * c * e2 * h * dphi * (-2 * c * h) - 2 * c * h * later + 2 * beta * h * u
    return cost, grad


def run_case(beta, c, d, T, steps, repeats):
    system = lrc.systems.LinearPerceptron(input_variance=c, distance=d)
    problem = lrc.ControlProblem(system, lrc.objectives.Effort(beta), horizon=T, steps=steps)
    ref = np.asarray(system.optimal_schedule(problem).values)
    h = T / steps

    sol = lrc.solve(problem, progress=False)  # compiles
    compile_time = sol.diagnostics.compile_time
    # with its own start: the best constant rate, searched inside the compiled solve (11 costs and a refinement)
    own_start_time, _ = best_of(lambda: lrc.solve(problem, progress=False), repeats)
    # the peers' start: that same constant rate, given (so all three solvers do the same work)
    x0 = np.asarray(jax.jit(lrc._solve.initial_guess)(problem))[:, 0]
    u0 = jnp.asarray(x0)[:, None]
    lrc.solve(problem, u0=u0, progress=False)  # compiles the solve with a given start
    run_time, sol = best_of(lambda: lrc.solve(problem, u0=u0, progress=False), repeats)
    assert sol.diagnostics.converged, sol.diagnostics.message
    u_ours = np.asarray(sol.schedule.values)
    # Same target for the peers: scipy's pgtol is the Euclidean projected gradient, = function-space × h.
    pgtol = float(sol.diagnostics.initial_residual) * lrc.solvers.Direct().rtol * h
    opts = {"ftol": 0.0, "gtol": pgtol, "maxiter": 100000, "maxcor": 10}

    def scipy_numpy():
        return minimize(lambda u: numpy_cost_and_grad(u, beta, c, d, h), x0, jac=True, method="L-BFGS-B",
                        bounds=[(0.0, None)] * steps, options=opts)

    vg = jax.jit(jax.value_and_grad(lambda u: problem.cost(u[:, None])))
    t = time.perf_counter()
    jax.block_until_ready(vg(jnp.asarray(x0)))
    jax_compile = time.perf_counter() - t

    def scipy_jax():
        return minimize(lambda u: tuple(np.asarray(v) for v in vg(jnp.asarray(u))), x0, jac=True,
                        method="L-BFGS-B", bounds=[(0.0, None)] * steps, options=opts)

    t_np, res_np = best_of(scipy_numpy, repeats)
    t_jx, res_jx = best_of(scipy_jax, repeats)
    err = lambda u: float(np.max(np.abs(u - ref)) / np.max(np.abs(ref)))  # noqa: E731
    row = {"steps": steps, "K": float(system.steepness(beta, T)),
           "lrcontrol": {"compile_s": compile_time, "run_s": run_time, "run_with_own_start_search_s": own_start_time,
                         "iterations": int(sol.diagnostics.iterations),
                         "evaluations": int(sol.diagnostics.evaluations), "objective": float(sol.objective),
                         "max_rel_error": err(u_ours)},
           "scipy_numpy": {"run_s": t_np, "iterations": int(res_np.nit), "evaluations": int(res_np.nfev),
                           "objective": float(res_np.fun), "max_rel_error": err(res_np.x),
                           "message": str(res_np.message)},
           "scipy_jax": {"compile_s": jax_compile, "run_s": t_jx, "iterations": int(res_jx.nit),
                         "evaluations": int(res_jx.nfev), "objective": float(res_jx.fun),
                         "max_rel_error": err(res_jx.x), "message": str(res_jx.message)}}
    row["speedup_vs_scipy_numpy"] = t_np / run_time
    row["speedup_vs_scipy_jax"] = t_jx / run_time
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="two small cases only")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cases = [(0.5, 1.0, 1.0, 2.0, n) for n in ([500, 2000] if args.quick else [500, 1000, 2000, 4000, 8000, 16000])]
    cases.append((0.5, 2.0, 3.0, 4.0, 2000))
    rows = []
    print(f"{'steps':>6s} {'K':>6s} | {'compile':>8s} {'run':>8s} {'it':>4s} {'err':>8s} | "
          f"{'scipy-np':>9s} {'it':>5s} {'err':>8s} | {'scipy-jax':>9s} {'it':>5s} {'err':>8s} | {'speedup':>8s}")
    for beta, c, d, T, n in cases:
        r = run_case(beta, c, d, T, n, repeats=3 if args.quick else 11)
        rows.append(r)
        o, p, q = r["lrcontrol"], r["scipy_numpy"], r["scipy_jax"]
        print(f"{n:6d} {r['K']:6.2f} | {o['compile_s']:7.2f}s {o['run_s'] * 1e3:6.1f}ms {o['iterations']:4d} "
              f"{o['max_rel_error']:8.1e} | {p['run_s'] * 1e3:7.1f}ms {p['iterations']:5d} {p['max_rel_error']:8.1e} | "
              f"{q['run_s'] * 1e3:7.1f}ms {q['iterations']:5d} {q['max_rel_error']:8.1e} | "
              f"{r['speedup_vs_scipy_numpy']:5.1f}x/{r['speedup_vs_scipy_jax']:.1f}x")
    path = write("perceptron_direct", {"description": __doc__.split("\n\n")[0], "cases": rows},
                 **({"out_dir": Path(args.out)} if args.out else {}))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
