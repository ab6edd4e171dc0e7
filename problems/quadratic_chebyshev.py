"""GD on a quadratic with spectrum in [μ, L] (Chebyshev steps [D]): the numerical minimax over T step sizes against
the Chebyshev closed form, for several (κ, T).

For each pair: `lrc.minimax` (sharpness continuation q = 4, 16, 64, 256 with lrc.solve / Direct on the smooth
surrogate, then Remez exchange; never the closed form), its worst-case factor max|Π(1 − α_k λ)| measured on a fine
grid with every extremum refined, the relative error against 2r^T/(1 + r^{2T}), the largest error of the sorted
steps (relative to the largest step), the surrogate stage's own factor error, and the best constant step's factor
against ((κ−1)/(κ+1))^T. μ = 1 throughout (the problem is scale-free: α·μ and λ/μ are what matter).

Writes quadratic_chebyshev.json and quadratic_chebyshev.png (inverse steps 1/α_k against x_k = (2k−1)/(2T) with
the raised cosine L[1/κ + (1 − 1/κ)cos²(πx/2)] overlaid; |p(λ)| equioscillating) to --out.

    python problems/quadratic_chebyshev.py            # writes problems/results/quadratic_chebyshev/quadratic_chebyshev.{json,png}
    python problems/quadratic_chebyshev.py --quick    # two small pairs
"""

import os
import platform
import time
from pathlib import Path

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import numpy as np

import lrcontrol as lrc
from lrcontrol.systems import Quadratic

PAIRS = ((10, 20), (50, 10), (50, 50), (50, 200), (1000, 30), (1000, 100), (10_000, 60))
QUICK = ((50, 10), (1000, 30))


def case(kappa: float, horizon: int) -> dict:
    system = Quadratic(1.0, float(kappa))
    t0 = time.perf_counter()
    result = lrc.minimax(system, horizon)
    wall = time.perf_counter() - t0
    exact_steps = np.sort(system.chebyshev_steps(horizon))
    exact = system.chebyshev_factor(horizon)
    constant = system.worst_case_factor(np.full(horizon, system.constant_step()))
    return {"kappa": kappa, "horizon": horizon,
            "factor_numeric": result.factor, "factor_closed_form": exact,
            "factor_rel_error": abs(result.factor / exact - 1),
            "remez_level_rel_error": abs(result.level / exact - 1),
            "step_max_error": float(np.max(np.abs(result.steps - exact_steps)) / exact_steps.max()),
            "surrogate_factor_rel_error": abs(result.stages[-1]["factor"] / exact - 1),
            "surrogate_step_max_error": float(np.max(np.abs(result.surrogate_steps - exact_steps))
                                              / exact_steps.max()),
            "remez_exchanges": result.exchanges, "remez_deviation": result.deviation,
            "stages": result.stages, "wall_s": wall,
            "constant_factor_numeric": constant, "constant_factor_closed_form": system.constant_factor(horizon),
            "constant_factor_rel_error": abs(constant / system.constant_factor(horizon) - 1),
            "steps": result.steps.tolist()}


def figure(cases: list[dict], path: Path) -> None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.4))
    for c in cases:
        t, kappa = c["horizon"], c["kappa"]
        x = (2 * np.arange(1, t + 1) - 1) / (2 * t)
        inverse = np.sort(1 / np.asarray(c["steps"]))[::-1] / kappa  # λ_k / L, decreasing in k
        ax1.plot(x, inverse, "o", ms=3, label=f"numeric, κ = {kappa:g}, T = {t}")
    xs = np.linspace(0, 1, 400)
    for kappa in sorted({c["kappa"] for c in cases}):
        ax1.plot(xs, 1 / kappa + (1 - 1 / kappa) * np.cos(np.pi * xs / 2) ** 2, "k-", lw=0.8)
    ax1.set(xlabel="x_k = (2k − 1)/(2T)", ylabel="1/(α_k L)", yscale="log",
            title="inverse steps (sorted) vs raised cosine 1/κ + (1 − 1/κ)cos²(πx/2)")
    ax1.legend(fontsize=7)
    shown = min(cases, key=lambda c: (c["horizon"] != 10, c["horizon"]))
    system = Quadratic(1.0, float(shown["kappa"]))
    lam = np.linspace(1.0, float(shown["kappa"]), 4000)
    p = np.prod(1 - np.asarray(shown["steps"])[:, None] * lam[None, :], axis=0)
    ax2.plot(lam, p / shown["factor_numeric"], "C0-", label="p(λ)/F, numeric steps")
    for level in (-1, 1):
        ax2.axhline(level, color="k", lw=0.6, ls="--")
    const = np.full(shown["horizon"], system.constant_step())
    pc = np.prod(1 - const[:, None] * lam[None, :], axis=0)
    ax2.plot(lam, pc / shown["factor_numeric"], "C3-", lw=0.8, label="constant step 2/(L+μ), same scale")
    ax2.set(xlabel="λ", ylabel="p(λ) / F_numeric", ylim=(-1.5, 1.5),
            title=f"residual polynomial equioscillates (κ = {shown['kappa']:g}, T = {shown['horizon']})")
    ax2.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/quadratic_chebyshev")
    ap.add_argument("--quick", action="store_true", help="two small pairs")
    args = ap.parse_args()
    out = results_folder(args.out)
    cases = []
    for kappa, horizon in (QUICK if args.quick else PAIRS):
        c = case(kappa, horizon)
        cases.append(c)
        print(f"κ = {kappa:>6g}, T = {horizon:>3d}: F = {c['factor_numeric']:.10e} (closed form "
              f"{c['factor_closed_form']:.10e}), rel. error {c['factor_rel_error']:.1e}, steps "
              f"{c['step_max_error']:.1e}; surrogate alone {c['surrogate_factor_rel_error']:.1e}; "
              f"{c['remez_exchanges']} exchanges; constant step rel. error {c['constant_factor_rel_error']:.1e}; "
              f"{c['wall_s']:.1f} s")
    results = {"machine": {"platform": platform.platform(), "cores": os.cpu_count(), "jax": jax.__version__,
                           "backend": jax.default_backend()},
               "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "mu": 1.0,
               "max_factor_rel_error": max(c["factor_rel_error"] for c in cases),
               "max_step_error": max(c["step_max_error"] for c in cases), "cases": cases}
    write_json(out / "quadratic_chebyshev.json", results)
    kappas = sorted({c["kappa"] for c in cases})
    horizons = sorted({c["horizon"] for c in cases})
    (out / "agreement.md").write_text(
        f"| Chebyshev steps, GD on a quadratic, κ = {kappas[0]:g}…{kappas[-1]:g}, T = {horizons[0]}…{horizons[-1]} "
        f"({len(cases)} cases) | numerical minimax (toolkit L-BFGS on a smooth surrogate, then a Remez polish) vs "
        f"the closed form: worst-case factor within {results['max_factor_rel_error']:.0e} relative, steps within "
        f"{results['max_step_error']:.0e} | `python problems/quadratic_chebyshev.py` |\n")
    figure(cases, out / "quadratic_chebyshev.png")
    print(f"wrote {out / 'quadratic_chebyshev.json'}, {out / 'quadratic_chebyshev.png'}")


if __name__ == "__main__":
    main()
