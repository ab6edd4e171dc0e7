"""Does real training reward the staircase the multi-power law prescribes? A check on the digits MLP.

Under the published 25M MPL parameters every optimised monotone schedule is a staircase (the peak held to ~90 % of
the run, then a few falls of most of the peak in one update each; `benchmarks/mpl_schedule.py`), predicted below
the authors' smooth optimised schedule by ~2e-3 nats. No curve in the shared data falls more than once, so the
law's preference is untested there. Here it is tested where training is cheap (`lrcontrol.train`, the digits MLP
of `transformer_schedules.py --task digits --quick`: 2000 updates, warm-up 50, AdamW):

- shapes carried over in relative time x = (s − W)/(N − W) and relative rate η/peak: the best staircase the MPL
  solve finds under the published 25M parameters (from the tuned WSD-linear start, as in the benchmark), the
  authors' published optimised schedule (smooth), and WSD with a 20 % 1−sqrt cooldown to 0 (smooth);
- each at two peaks, 2·P0 (WSD's tuned peak in that run) and 8·P0 (the tuned peak of the best baseline, cosine to 0);
- trained on the final seeds 1…8 (paired: same data order per seed), differences with standard errors, and what
  MPL fitted to the task's three pilots predicts for the same differences;
- also the MPL optimum derived from that digits fit (`law_schedule.optimise`, min rate 1e-3·peak), against the
  tuned cosine to 0 at 8·P0.

    python problems/digits_staircase.py     # ~2 min on 2 cores; reuses digits_schedules/runs/ where present

Writes results/digits_staircase/results.json, README.md (tables from the JSON) and schedules.png.
"""

import time

from _common import RESULTS, arguments, plt, results_folder, write_json

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol.systems.law_schedule import LawSchedule, baseline_rates, describe  # noqa: E402
from lrcontrol.train import TrainConfig, train  # noqa: E402
from transformer_schedules import SETTINGS, base_rates, derive, fit_laws, for_law, paired  # noqa: E402

DATA = RESULTS.parents[0] / "data" / "mpl" / "25"
N25, W25, PEAK25, MIN25 = 24000, 2160, 3e-4, 1e-10
PEAKS = (2.0, 8.0)  # multiples of P0


def shapes_25m() -> dict:
    """Post-warm-up rate / peak of the 25M staircase and of the published optimised schedule (24000 − 2160)."""
    law = lrc.systems.MultiPowerLaw()  # the published 25M parameters
    system = LawSchedule(law, W25, PEAK25, MIN25, monotone=True)
    start = system.controls_for(jnp.asarray(baseline_rates("wsd", N25, W25, PEAK25, MIN25, fraction=0.2,
                                                           shape="linear")))
    sol = lrc.solve(system.problem(N25), lrc.solvers.Direct(), u0=start, progress=False)
    stairs = np.asarray(system.rates(sol.controls))[W25:] / PEAK25
    published = np.load(DATA / "optimized_schedule.npy") / PEAK25
    warmup = PEAK25 * np.arange(W25) / (W25 - 1)
    values = {"staircase": float(law.final_loss(system.rates(sol.controls))),
              "published": float(law.final_loss(jnp.asarray(np.concatenate([warmup, published * PEAK25]))))}
    return {"MPL staircase (25M)": stairs, "MPL published optimum (25M)": published}, values


def carried(ratio: np.ndarray, n: int, w: int, peak: float) -> np.ndarray:
    """A post-warm-up shape on another horizon: the rate at relative position x is the shape's at ⌊x·M⌋ (steps
    stay steps), after the same linear warm-up to `peak`."""
    m = n - w
    idx = np.minimum((np.arange(m) / m * ratio.size).astype(int), ratio.size - 1)
    return np.concatenate([peak * np.arange(w) / max(w - 1, 1), peak * ratio[idx]])


def main(argv=None):
    ap = arguments(__doc__)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    out = results_folder(args.out or RESULTS / "digits_staircase")
    size, n, batch, k, vw, w, p0, n_seeds, vf = SETTINGS["digits"]["quick"]
    config = TrainConfig(size=size, steps=n, batch=batch, eval_every=k, val_windows=vw, val_fraction=vf,
                         task="digits")
    runs = results_folder(RESULTS / "digits_schedules" / "runs")  # the pipeline's run files: same names, same runs

    def go(label, rates, seed):
        fname = f"{label.replace(' ', '_').replace('%', 'pc').replace('@', 'at')}_seed{seed}.csv"
        return train(config, rates, seed, runs / fname, name=label, progress=False).final_val_loss

    t0 = time.perf_counter()
    pilots = [train(config, base_rates(kind, n, w, p0), 0, runs / f"pilot_{kind.replace(' ', '_').replace('%', 'pc')}"
                    f"_seed0.csv", name=f"pilot {kind}", progress=False).curve
              for kind in ("constant", "cosine 10%", "two-stage")]
    law, fit_report = fit_laws(pilots, ["mpl"])["mpl"]
    if law is None:
        raise SystemExit(f"the MPL fit failed: {fit_report}")
    shapes, values_25m = shapes_25m()
    seeds = list(range(1, n_seeds + 1))
    predicted = lambda r: float(law.final_loss(for_law(r, w, p0)))  # noqa: E731

    schedules, finals = {}, {}
    for mult in PEAKS:
        peak = mult * p0
        schedules[f"wsd 20% 1-sqrt @{mult:g}P0"] = base_rates("wsd 20% 1-sqrt", n, w, peak)
        for name, ratio in shapes.items():
            schedules[f"{name} @{mult:g}P0"] = carried(ratio, n, w, peak)
    schedules["cosine 0 @8P0"] = base_rates("cosine 0", n, w, 8 * p0)
    derived_rates, derived_info = derive(law, n, w, 8 * p0)
    schedules["MPL optimum (digits fit) @8P0"] = derived_rates
    for name, r in schedules.items():
        finals[name] = [go(name, r, s) for s in seeds]

    def compare(a, b):
        mean, se = paired(finals[a], finals[b])
        return {"schedule": a, "against": b, "observed": mean, "standard_error": se,
                "verdict": "lower" if mean < -2 * se else ("higher" if mean > 2 * se else "tie"),
                "predicted_by_mpl_digits_fit": predicted(schedules[a]) - predicted(schedules[b])}

    comparisons = []
    for mult in PEAKS:
        stairs, pub, wsd = (f"MPL staircase (25M) @{mult:g}P0", f"MPL published optimum (25M) @{mult:g}P0",
                            f"wsd 20% 1-sqrt @{mult:g}P0")
        comparisons += [compare(stairs, pub), compare(stairs, wsd), compare(pub, wsd)]
    comparisons.append(compare("MPL optimum (digits fit) @8P0", "cosine 0 @8P0"))
    payload = {"task": "digits (quick): 2000 updates, warm-up 50, P0 = 0.02, AdamW", "seeds": seeds,
               "mpl_25m_final_loss": values_25m, "mpl_digits_fit": fit_report["params"],
               "shapes": {name: describe(r, w, float(np.max(r))) for name, r in schedules.items()},
               "final_val_loss": finals, "mean_final_val_loss": {k_: float(np.mean(v)) for k_, v in finals.items()},
               "comparisons": comparisons, "derived_solve": {k_: derived_info[k_] for k_ in ("converged", "start")},
               "wall_s": time.perf_counter() - t0}
    write_json(out / "results.json", payload, newline=True)
    head = "| schedule | against | observed difference (± s.e., 8 seeds, nats/image) | | MPL (digits fit) predicts |"
    lines = [head, "|---|---|---|---|---|"]
    for c in comparisons:
        lines.append(f"| {c['schedule']} | {c['against']} | {c['observed']:+.4f} ± {c['standard_error']:.4f} | "
                     f"{c['verdict']} | {c['predicted_by_mpl_digits_fit']:+.4f} |")
    means = "\n".join(f"| {k_} | {v:.4f} | {payload['shapes'][k_]['falls_over_1pct']} |"
                       for k_, v in payload["mean_final_val_loss"].items())
    (out / "README.md").write_text(
        "`python problems/digits_staircase.py` (the module docstring says what is compared).\n\n" + "\n".join(lines)
        + "\n\n| schedule | mean final validation loss | falls > 1 % of its peak in one update |\n|---|---|---|\n"
        + means + "\n")
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for name, r in schedules.items():
        if name.endswith("@8P0"):
            ax.plot(np.arange(n), r, label=name, lw=1.2)
    ax.set_xlabel("update")
    ax.set_ylabel("learning rate")
    ax.set_title("digits MLP, peak 8·P0: the 25M MPL staircase and smooth schedules carried over", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "schedules.png", dpi=110)
    print("\n".join(lines))
    return payload


if __name__ == "__main__":
    main()
