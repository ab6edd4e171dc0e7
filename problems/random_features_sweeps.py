"""Random features (Bordelon & Mori 2026): the optimal schedule over horizons T = 100…10⁴, its fitted
exponents against theory, in the easy and the hard phase.

For each T: the per-step optimum (1000 modes, σ = 0.5, m = 1, η ≤ 2) and the best constant rate. Fitted against
log T (least squares over all T, and between the two largest T, where finite-T effects are smallest):

- the optimal loss L*_T ~ T^{−(a−1)/a} (easy) or T^{−(a−1)/b} (hard) [P, D], and the best constant's
  ~ T^{−(a−1)/(a+b−1)} [D];
- easy: the rate's scale T^{−ξ}, ξ = 1 − b/a [C + D], read at mid-training η*(T/2); the shape (1 − t/T)^δ,
  δ = 2b − 1, by a raw log-log fit over t/T ∈ [0.1, 0.9] (known to converge slowly [D]); and the robust
  diagnostic η ∝ τ^κ, κ = 1 − 1/(2b), τ(t) = Σ_{s>t} η_s the remaining intrinsic time, fitted where τ is between
  2% and 50% of its initial value [D];
- hard: the annealed fraction (steps after the rate last sits within 10% of its plateau (the median over the first half), over T) ~ T^{−(b−a)/(2b−1)}
  [D].

Horizons are a Python loop, not a `vmap`: a horizon sets the length of the control vector (an array shape), and
padding every horizon to the longest would cost n × 10⁴ steps of work per iteration instead of Σ T. Parameters
that are arrays (a, b, σ, m) do `vmap`; see notebooks/04_random_features.ipynb.

Writes `results.json`, `agreement.md` (README rows) and `sweeps.png` to --out.

    python problems/random_features_sweeps.py            # T = 100…10⁴ (~3 min)
    python problems/random_features_sweeps.py --quick    # T = 100…1000, 300 modes (the test)
"""

import time

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import numpy as np

import lrcontrol as lrc
from lrcontrol import schedules

PHASES = {"easy": (2.5, 1.5), "hard": (1.75, 3.0)}


def slope(x, y):
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def shape_exponents(eta: np.ndarray) -> dict:
    """Exponents read off one optimal schedule: raw δ, κ against remaining intrinsic time, annealed fraction."""
    T = len(eta)
    x = (np.arange(T) + 0.5) / T
    mid = (x >= 0.1) & (x <= 0.9)
    tau = np.cumsum(eta[::-1])[::-1] - eta  # Σ_{s>t} η_s
    window = (tau >= 0.02 * tau[0]) & (tau <= 0.5 * tau[0])
    # The plateau level: the median over the first half. Not the maximum: the discrete optimum opens with one
    # large step (η₀ ≈ 1.7 in the hard phase), an edge effect of the first step, not the plateau.
    at_peak = np.nonzero(eta >= 0.9 * np.median(eta[: T // 2]))[0]
    return {"delta_raw": slope(1 - x[mid], eta[mid]),
            "kappa": slope(tau[window], eta[window]),
            "annealed_fraction": (T - 1 - at_peak[-1]) / T, "eta_mid": float(eta[T // 2])}


def sweep(a, b, horizons, modes):
    rows = []
    for T in horizons:
        system = lrc.systems.RandomFeatures(a=a, b=b, modes=modes, noise=0.5, batch=1.0)
        problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=T, bounds={"lr": (0.0, 2.0)})
        t0 = time.perf_counter()
        sol = lrc.solve(problem, progress=False)
        wall = time.perf_counter() - t0
        if not sol.diagnostics.converged:
            raise RuntimeError(f"a={a}, b={b}, T={T}: {sol.diagnostics.message}")
        _, constant = schedules.tune_peak(problem, "constant")
        eta = np.asarray(sol.schedule.values)
        rows.append({"T": T, "optimum": float(sol.objective), "constant": float(constant),
                     "iterations": int(sol.diagnostics.iterations), "wall_s": wall, "schedule": eta.tolist(),
                     **shape_exponents(eta)})
        print(f"a={a} b={b} T={T}: L*={rows[-1]['optimum']:.6g} const×{constant / rows[-1]['optimum']:.3f} "
              f"κ={rows[-1]['kappa']:.3f} δ_raw={rows[-1]['delta_raw']:.3f} "
              f"annealed={rows[-1]['annealed_fraction']:.4f} ({rows[-1]['iterations']} it., {wall:.1f} s)",
              flush=True)
    return rows


def fits(rows, system):
    T = np.array([r["T"] for r in rows], float)
    col = lambda k: np.array([r[k] for r in rows])  # noqa: E731
    both = lambda y: (slope(T, y), slope(T[-2:], y[-2:]))  # noqa: E731
    theory = system.exponents()
    out = {"optimal_loss": (*both(col("optimum")), -theory["optimal_loss"]),
           "constant_loss": (*both(col("constant")), -theory["constant_loss"])}
    if system.phase() == "easy":
        out["rate scale η*(T/2)"] = (*both(col("eta_mid")), -theory["xi"])
    else:
        out["annealed_fraction"] = (*both(col("annealed_fraction")), -theory["annealed_fraction"])
    return out


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/random_features_sweeps")
    ap.add_argument("--quick", action="store_true", help="T = 100, 300, 1000 with 300 modes")
    args = ap.parse_args()
    out = results_folder(args.out)
    horizons, modes = ((100, 300, 1000), 300) if args.quick else ((100, 300, 1000, 3000, 10_000), 1000)
    results, table = {}, ["| phase | exponent of T | fitted over all T | between the two largest T | theory |",
                          "|---|---|---|---|---|"]
    shapes = ["| phase | read off the schedule | " + " | ".join(f"T = {T}" for T in horizons) + " | theory |",
              "|---|---|" + "---|" * (len(horizons) + 1)]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for phase, (a, b) in PHASES.items():
        system = lrc.systems.RandomFeatures(a=a, b=b, modes=modes)
        rows = sweep(a, b, horizons, modes)
        f = fits(rows, system)
        results[phase] = {"a": a, "b": b, "modes": modes, "rows": rows,
                          "fits": {k: {"all": v[0], "largest": v[1], "theory": v[2]} for k, v in f.items()}}
        for k, (all_t, last, th) in f.items():
            table.append(f"| {phase} (a = {a}, b = {b}) | {k} | {all_t:.3f} | {last:.3f} | {th:.3f} |")
        theory = system.exponents()
        readings = ({"δ (raw log-log fit)": ("delta_raw", theory["delta"]), "κ (η against τ)": ("kappa", theory["kappa"])}
                    if phase == "easy" else {"annealed fraction": ("annealed_fraction", None)})
        for label, (key, th) in readings.items():
            shapes.append(f"| {phase} | {label} | " + " | ".join(f"{r[key]:.3f}" for r in rows) + " | "
                          + ("—" if th is None else f"{th:.3f}") + " |")
        T = [r["T"] for r in rows]
        axes[0].loglog(T, [r["optimum"] for r in rows], "o-", label=f"{phase}: optimum")
        axes[0].loglog(T, [r["constant"] for r in rows], "s--", label=f"{phase}: best constant")
        ax = axes[1] if phase == "easy" else axes[2]
        for r in rows:
            eta = np.asarray(r["schedule"])
            ax.plot((np.arange(len(eta)) + 0.5) / len(eta), eta, lw=1, label=f"T = {r['T']}")
        ax.set(xlabel="t / T", ylabel="η*", yscale="log", title=f"{phase} phase (a = {a}, b = {b})")
        ax.legend(fontsize=7)
    axes[0].set(xlabel="T", ylabel="final excess loss", title="L_T against the horizon")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "sweeps.png", dpi=110)
    table += [""] + shapes + ["", f"{modes} modes, σ = 0.5, m = 1, η ≤ 2, per-step rates, T = "
                              f"{', '.join(map(str, horizons))}. Loss and rate exponents are slopes against log T; δ and κ "
                              "are read off each schedule; the annealed fraction is the share of steps after the rate "
                              "last sits within 10% of its plateau (the median over the first half)."]
    for r in results.values():
        for row in r["rows"]:
            row.pop("schedule")
    write_json(out / "results.json", results)
    (out / "agreement.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
