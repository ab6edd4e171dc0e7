"""The momentum law with its decay λ held fixed: does a fixed memory tame the optimum that blew up on digits?

problems/pilot_peaks.py (digits, two-stage pilots) found the momentum law's derived schedule — the peak held to
the last few updates, then a fall to the minimum — blowing up in training (README, pilots at several peaks): with
λ fitted to a memory of about one update, the law credits a fall at the very end with its whole gain. The paper
fixes λ = 0.999 [P]. Here the law is fitted to the same nine pilots three ways — λ fitted, λ = 1 − 1/k with k the
pilots' logging interval (a memory as long as the data can resolve; declared before any run), and λ = 0.999 — and
for each: the fit (Huber loss, curves the law does not follow, leave-one-pilot-out mean PredE as pilot_peaks scores
it, the predicted and observed final loss of each pilot), its optimal monotone schedule at the pilot_peaks peaks
within the pilots' range, and that schedule trained on the final seeds (paired against pilot_peaks' best tuned
baseline) and on the tuning seeds (pilot_peaks' validation).

Reads pilot_peaks' results (`problems/results/digits_pilot_peaks_two_stage/results.json`, for the baseline) and
its run files, training any that are missing; the derived schedules' runs go to the same `runs/` folder. Writes
`results.json` and `README.md` to `problems/results/momentum_decay_fixed/`.
"""

import json
import time
from pathlib import Path

from _common import RESULTS, arguments, results_folder, write_json

import numpy as np  # noqa: E402

import lrcontrol as lrc  # noqa: E402
import pilot_peaks as pp  # noqa: E402
import transformer_schedules as ts  # noqa: E402
from lrcontrol.train import TrainConfig  # noqa: E402

SOURCE = RESULTS / "digits_pilot_peaks_two_stage"


def run(out: Path, source: Path = SOURCE, mode: str = "quick", variants=None) -> dict:
    """`variants` ({label: fixed or None}) defaults to the three of the module docstring."""
    out = results_folder(out)
    size, n, batch, k, vw, w, p0, n_seeds, vf = ts.SETTINGS["digits"][mode]
    config = TrainConfig(size=size, steps=n, batch=batch, eval_every=k, val_windows=vw, val_fraction=vf,
                         task="digits")
    base = json.loads((source / "results.json").read_text())
    go = ts.trainer(config, results_folder(source / "runs"), [], False)
    peaks = pp.PILOT_PEAKS["digits"][mode]
    kinds = pp.PILOT_KINDS + ("two-stage",)
    names = [f"pilot {kind} @{g:g}P0" for g in peaks for kind in kinds]
    pilots = {c: go(c, ts.base_rates(kind, n, w, g * p0), 0)
              for g in peaks for kind in kinds for c in [f"pilot {kind} @{g:g}P0"]}
    curves = {c: r.curve for c, r in pilots.items()}
    grid = ts.TASK_GRIDS.get("digits", {}).get(mode, ts.GRIDS[mode])
    in_range = [g for g in grid if peaks[0] <= g <= peaks[-1]]
    best_base = base["best_baseline"]
    kind, multiple = best_base.split(" @")
    base_rates = ts.base_rates(kind, n, w, float(multiple.removesuffix("P0")) * p0)
    seeds, tuning_seeds = list(range(1, n_seeds + 1)), list(ts.TUNING_SEEDS["digits"])
    base_final = [go(best_base, base_rates, s).final_val_loss for s in seeds]
    base_tuning = [go(best_base, base_rates, s).final_val_loss for s in tuning_seeds]
    variants = variants or {"λ fitted": None, f"λ = 1 − 1/{k}": {"decay": 1 - 1 / k},
                            "λ = 0.999": {"decay": 0.999}}
    root = RESULTS.parent.parent
    where = str(source.relative_to(root)) if source.resolve().is_relative_to(root) else str(source)
    results = {"setup": {"source": where, "pilots": names,
                         "peaks": in_range, "final_seeds": seeds, "tuning_seeds": tuning_seeds,
                         "baseline": best_base, "logging_interval": k}, "variants": {}}
    t0 = time.perf_counter()
    for label, fixed in variants.items():
        law, report = lrc.fit(lrc.systems.MomentumLaw, list(curves.values()), fixed=fixed)
        loo = pp.select(pilots, ("momentum_law",), {"momentum_law": fixed})["momentum_law"]  # as pilot_peaks scores
        g, (rates, info), by_peak = pp.derive_in_range(law, n, w, p0, in_range,
                                                       {c: curves[c].lr for c in names}, report.unexplained)
        # the run's label: the decay's value, not the display label (a "/" in it would make a folder)
        name = f"momentum law, decay {'fitted' if not fixed else format(fixed['decay'], 'g')}, @{g:g}P0"
        final = [go(name, rates, s).final_val_loss for s in seeds]
        mean, se = ts.paired(final, base_final)
        results["variants"][label] = {
            "fixed": fixed or {}, "params": report.params, "huber_loss": report.objective,
            "fit_message": report.message, "unexplained": list(report.unexplained),
            "loo_mean_PredE": loo["mean_PredE"], "loo_PredE": loo["per_held_out_pilot"],
            "loo_mean_final_error": loo["mean_final_error"], "peak_multiple": g,
            "pilot_final_predicted_observed": {
                c: [float(law.final_loss(ts.for_law(curves[c].lr, w, p0))), float(curves[c].losses[-1])]
                for c in names},
            "predicted_final_by_peak": {f"{m:g}": c["predicted_final"] for m, c in by_peak.items()},
            "predicted_final": info["predicted_final"], "shape": info["shape"],
            "final_val_loss": ts.summary(final), "against_baseline": {"mean_difference": mean, "standard_error": se,
                                                                       "verdict": ts.verdict(mean, se)},
            "tuning_mean": ts.tuning_mean(go, name, rates, tuning_seeds),
        }
    results["baseline"] = {"final_val_loss": ts.summary(base_final), "tuning_mean": float(np.mean(base_tuning))}
    results["machine"], results["wall_s"] = ts.machine(), time.perf_counter() - t0
    write_json(out / "results.json", results, newline=True)
    (out / "README.md").write_text(table(results))
    return results


def table(res) -> str:
    s, b = res["setup"], res["baseline"]
    peaks = ", ".join(f"{g:g}" for g in s["peaks"])
    lines = ["# The momentum law with its decay λ held fixed (digits, two-stage pilots)", "",
             f"Generated by `problems/momentum_decay_fixed.py` from `results.json` "
             f"({res['machine']['finished_utc']}, {res['wall_s'] / 60:.1f} min). The nine pilots of `{s['source']}`, "
             f"logged every {s['logging_interval']} updates; the optimum derived at P0·{{{peaks}}}, the lowest "
             f"predicted kept; trained on seeds {s['final_seeds']} against {s['baseline']} "
             f"({b['final_val_loss']['mean']:.4f} ± {b['final_val_loss']['se']:.4f}) and on the tuning seeds "
             f"{s['tuning_seeds']} (baseline {b['tuning_mean']:.4f}).", "",
             "| λ | fitted parameters | Huber loss | pilots not followed | LOO mean PredE | optimum | predicted | "
             "final (mean ± s.e.) | vs baseline | tuning seeds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for label, v in res["variants"].items():
        p = ", ".join(f"{k_} {x:.3g}" for k_, x in v["params"].items())
        c, sh = v["against_baseline"], v["shape"]
        lines.append(f"| {label} | {p} | {v['huber_loss']:.4f} | {len(v['unexplained'])} of {len(s['pilots'])} | "
                     f"{v['loo_mean_PredE']:.4f} | @{v['peak_multiple']:g}P0, decay from {sh['decay_start']}, "
                     f"largest fall {sh['largest_fall']:.0%} | {v['predicted_final']:.4f} | "
                     f"{v['final_val_loss']['mean']:.4f} ± {v['final_val_loss']['se']:.4f} | "
                     f"{c['mean_difference']:+.4f} ± {c['standard_error']:.4f} ({c['verdict']}) | "
                     f"{v['tuning_mean']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = arguments(__doc__)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    out = results_folder(args.out or RESULTS / "momentum_decay_fixed")
    print(table(run(out)))


if __name__ == "__main__":
    main()
