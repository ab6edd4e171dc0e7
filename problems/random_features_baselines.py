"""Random features (Bordelon & Mori 2026): the optimal schedule against the baselines, each optimised within
its family, in the easy and the hard phase.

Baselines: the best constant; the best power law η₀(1 + t)^{−χ} (χ on a grid of 0…1, η₀ tuned for each); the
predicted easy-phase shape (1 − t/T)^δ with δ = 2b − 1 and its amplitude tuned; warmup-free WSD with linear decay,
the decay fraction on a grid and the level tuned. 500 modes, σ = 0.5, m = 1, η ≤ 2, T = 1000, one rate per step.
Easy: a = 2.5, b = 1.5; hard: a = 1.75, b = 3.

Writes `results.json`, `agreement.md` (README rows) and `baselines.png` to --out.

    python problems/random_features_baselines.py   # writes problems/results/random_features_baselines/
"""

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import numpy as np

import lrcontrol as lrc
from lrcontrol import schedules

PHASES = {"easy (a = 2.5, b = 1.5)": (2.5, 1.5), "hard (a = 1.75, b = 3)": (1.75, 3.0)}


def baselines(problem, b, exponents=np.linspace(0.0, 1.0, 11), decays=(0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)):
    """{name: (schedule, objective, tuned shape parameter or None)} for the four families."""
    out = {}
    sched, cost = schedules.tune_peak(problem, "constant")
    out["best constant"] = (sched, float(cost), None)
    sched, cost, chi = schedules.tune_shape(problem, "inverse_power", "exponent", exponents)
    out["best power law η₀(1+t)^−χ"] = (sched, float(cost), float(chi))
    sched, cost = schedules.tune_peak(problem, "power_decay", exponent=2 * b - 1)
    out["(1 − t/T)^δ, δ = 2b − 1"] = (sched, float(cost), 2 * b - 1)
    sched, cost, decay = schedules.tune_shape(problem, "wsd", "decay", decays)
    out["WSD, linear decay"] = (sched, float(cost), float(decay))
    return out


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/random_features_baselines")
    args = ap.parse_args()
    out = results_folder(args.out)
    results = {}
    fig, axes = plt.subplots(1, len(PHASES), figsize=(6 * len(PHASES), 4))
    rows = ["| phase | optimum L_T | " + " | ".join(["best constant", "best power law", "(1 − t/T)^δ", "WSD"])
            + " |", "|---|---|---|---|---|---|"]
    for ax, (name, (a, b)) in zip(axes, PHASES.items()):
        system = lrc.systems.RandomFeatures(a=a, b=b, modes=500, noise=0.5, batch=1.0)
        problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=1000, bounds={"lr": (0.0, 2.0)})
        sol = lrc.solve(problem, progress=False)
        assert sol.diagnostics.converged, sol.diagnostics.message
        base = baselines(problem, b)
        j = float(sol.objective)
        results[name] = {"optimum": j, "phase": system.phase(),
                         "baselines": {k: {"objective": c, "ratio_to_optimum": c / j, "tuned_shape": v}
                                       for k, (_, c, v) in base.items()}}
        cells = []
        for k, (_, c, v) in base.items():
            extra = "" if v is None or k.startswith("(1") else (f", χ = {v:.1f}" if "power" in k else f", decay {v:g}")
            cells.append(f"{c:.5f} (×{c / j:.3f}{extra})")
        rows.append(f"| {name} | {j:.5f} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
        ax.plot(np.asarray(sol.schedule.values), "k", lw=2, label="optimum")
        for k, (sched, c, _) in base.items():
            ax.plot(np.asarray(sched.values), lw=1, label=f"{k} ({c / j:.3f}×)")
        ax.set(xlabel="step t", ylabel="η", yscale="log", title=f"{name}: L*_T = {j:.4f}")
        ax.legend(fontsize=7)
    rows += ["", "500 modes, σ = 0.5, m = 1, η ≤ 2, T = 1000 per-step rates; in brackets each baseline's L_T over the "
             "optimum's and its tuned shape parameter. Every baseline's amplitude is tuned (log grid + golden "
             "section)."]
    fig.tight_layout()
    fig.savefig(out / "baselines.png", dpi=110)
    write_json(out / "results.json", results)
    (out / "agreement.md").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
