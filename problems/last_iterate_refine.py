"""Linear decay and refinement (Defazio, Cutkosky, Mehta & Mishchenko 2023, arXiv 2310.07831).

1. The weighted last-iterate bound (★★) of `lrc.systems.LastIterateBound` with constant norms, solved numerically
   by `lrc.solve` (Direct): the optimum against linear decay (D/(G√T))(1 − t/T) and its value against DG/√T.
2. For contrast, the authors' bound for arbitrary step sizes (`arbitrary_step_bound`, as their released
   find_schedule evaluates it) minimised by scipy's L-BFGS-B: a looser bound (≈ 2DG/√T), not exactly linear decay.
3. `refine` on synthetic gradient-norm curves — large early norms (warm-up), rising late norms (sharper anneal),
   norms collapsing to ~0 at the end with and without the collapse guard — each against `lrc.solve` on the bound
   with the same smoothed norms (closed form vs numeric).

Writes last_iterate_refine.json and last_iterate_refine.png to --out (default problems/results/last_iterate_refine/).

    python problems/last_iterate_refine.py
"""

import warnings
from pathlib import Path

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

import lrcontrol as lrc
from lrcontrol.schedules import RefineWarning, refine, smoothed_norms
from lrcontrol.systems import LastIterateBound
from lrcontrol.systems.last_iterate import arbitrary_step_bound

T = 200  # norms per run (the bound's problem has T − 1 steps)
D, G = 1.0, 1.0
SOLVER = lrc.solvers.Direct(rtol=1e-6)  # above the bound's round-off floor (see tests/test_refine.py)


def solve(system):
    sol = lrc.solve(system.problem(), SOLVER, u0=jnp.full((system.steps, 1), 0.05), progress=False)
    d = sol.diagnostics
    return sol, {"message": d.message, "converged": bool(d.converged), "iterations": int(d.iterations),
                 "relative_residual": float(d.residual / d.initial_residual),
                 "compile_s": round(float(d.compile_time), 2), "run_s": round(float(d.run_time), 3)}


def norm_cases():
    t = np.arange(T)
    rng = np.random.default_rng(0)
    noise = np.exp(0.1 * rng.standard_normal(T))  # multiplicative noise the median filter removes
    return {"warm-up (large early norms)": (1 + 4 * np.exp(-t / 20.0)) * noise,
            "late rise": (1 + np.where(t > 140, (t - 140) / 15.0, 0.0)) * noise,
            "collapse to ~0 at the end": np.where(t < 160, 1.0, np.exp(-(t - 160) / 4.0)) * noise}


def main(out: Path):
    results_folder(out)
    results = {"T_norms": T, "steps": T - 1, "distance": D, "gradient_bound": G}

    # 1. constant norms: numeric optimum of (★★) vs linear decay
    system = LastIterateBound(distance=D, gradient_bound=G, horizon=T - 1)
    sol, diag = solve(system)
    u = np.asarray(sol.controls[:, 0])
    t = np.arange(1, T)
    linear = D / (G * np.sqrt(T)) * (1 - t / T)
    results["constant_norms"] = {
        "max_dev_from_linear_decay_rel_peak": float(np.max(np.abs(u - linear)) / linear.max()),
        "objective": float(sol.objective), "DG_over_sqrtT": D * G / np.sqrt(T),
        "objective_rel_gap": float(sol.objective) / (D * G / np.sqrt(T)) - 1, "diagnostics": diag}

    # 2. the authors' arbitrary-step bound (looser; a different theorem)
    norms = np.full(T, G)
    fg = jax.jit(jax.value_and_grad(lambda e: arbitrary_step_bound(e, norms, D)))
    res = scipy.optimize.minimize(lambda e: tuple(np.asarray(x) for x in fg(jnp.asarray(e))),
                                  np.full(T, D / (G * np.sqrt(T))), jac=True, method="L-BFGS-B",
                                  bounds=[(1e-12, None)] * T, options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-12})
    arb = res.x
    results["arbitrary_step_bound"] = {
        "optimum_times_sqrtT_over_DG": float(res.fun * np.sqrt(T) / (D * G)),
        "linear_decay_value_times_sqrtT": float(arbitrary_step_bound(linear, np.full(T - 1, G), D) * np.sqrt(T)),
        "max_dev_first_T_minus_1_from_linear_rel_peak": float(np.max(np.abs(arb[:-1] / arb[0] - linear / linear[0]))),
        "last_weight_over_previous": float(arb[-1] / arb[-2]), "scipy_message": str(res.message),
        "note": "a different, looser theorem: its optimum is ~2DG/sqrt(T) and has a positive final analysis weight "
                "eta_T; (★★) is the weighted Theorem whose optimum is exactly linear decay."}

    # 3. refinement on synthetic norm curves, each against lrc.solve on the bound with the same smoothed norms
    cases = {}
    curves = {}
    for name, g in norm_cases().items():
        for floor in ((0.1, 0.0) if name.startswith("collapse") else (0.1,)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RefineWarning)
                v = np.asarray(refine(g, norm_floor=floor).values)
            smooth, floored = smoothed_norms(g, norm_floor=floor)
            sol, diag = solve(LastIterateBound(smooth, distance=D))
            un = np.asarray(sol.controls[:, 0])
            key = name + ("" if floor == 0.1 else " (guard off)")
            lin = (T - 1 - np.arange(T)) / (T - 1)
            cases[key] = {
                "norm_floor": floor, "floored_steps": int(floored.sum()), "warned": bool(caught),
                "peak_step": int(np.argmax(v)), "first_over_peak": float(v[0] / v.max()),
                "step_at_half_peak_after_it": int(np.argmax(v[np.argmax(v):] <= 0.5) + np.argmax(v)),
                "linear_decay_half_step": int(np.argmax(lin <= 0.5)),
                "numeric_vs_refine_max_dev_rel_peak": float(np.max(np.abs(un / un.max() - v[:-1] / v.max()))),
                "numeric_objective": float(sol.objective),
                "closed_form_objective": float(1 / np.sqrt(np.sum(smooth**-2.0))) * D,
                "diagnostics": diag}
            curves[key] = (g, smooth, v, un / un.max())
    results["refine"] = cases
    text = write_json(out / "last_iterate_refine.json", results, newline=True)
    c = results["constant_norms"]
    worst = max(v["numeric_vs_refine_max_dev_rel_peak"] for v in cases.values())
    warm = cases.get("warm-up (large early norms)")
    (out / "agreement.md").write_text(
        f"| Last-iterate bound (Defazio et al.), T = {T}: numeric optimum (lrc.solve) vs closed forms | constant "
        f"norms: linear decay within {c['max_dev_from_linear_decay_rel_peak']:.0e} of peak, bound "
        f"{c['objective_rel_gap']:+.0e} relative to DG/√T; refine() vs numeric optimum on {len(cases)} synthetic "
        f"norm curves: within {worst:.0e} of peak"
        + (f"; large early norms → warm-up (peak at step {warm['peak_step']})" if warm else "")
        + " | `python problems/last_iterate_refine.py` |\n")

    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5), constrained_layout=True)
    ax = axes[0, 0]
    ax.plot(t, u, lw=2.2, label="numeric optimum of (★★)")
    ax.plot(t, linear, "--k", lw=1, label="(D/(G√T))(1 − t/T)")
    ax.plot(np.arange(1, T + 1), arb, lw=1, label="optimum of the arbitrary-step bound [C]")
    ax.set(title=f"constant norms, T = {T}", xlabel="step t", ylabel="η_t")
    ax.legend(fontsize=7)
    for ax, (key, (g, smooth, v, un)) in zip(list(axes.flat)[1:], curves.items()):
        ax.plot(g / g.max(), lw=0.6, alpha=0.5, color="gray", label="norms / max")
        ax.plot(smooth / g.max(), lw=1, color="gray", label="smoothed")
        ax.plot(v, lw=2.2, label="refine (closed form)")
        ax.plot(un, "--", lw=1.2, color="k", label="lrc.solve on the bound")
        ax.set(title=key, xlabel="step", ylabel="η / peak", yscale="log" if "guard off" in key else "linear")
        ax.legend(fontsize=7)
    fig.savefig(out / "last_iterate_refine.png", dpi=110)
    print(text, end="")


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "last_iterate_refine")
    main(parser.parse_args().out)
