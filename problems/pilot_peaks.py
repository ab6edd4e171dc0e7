"""Pilots at several peaks: does fitting the loss-curve laws across peaks fix their extrapolation in the peak, pick
the better law, and derive a schedule that beats tuned baselines?

problems/transformer_schedules.py fits the laws to pilots at one guessed peak P0 and found (README, Real training)
that no law extrapolates in the peak and that the held-out two-stage pilot picks a law close to arbitrarily. This
experiment changes only the pilots and the rules that use them; the task, the training harness, the baselines, their
tuning and the final comparison are that script's (same settings, same seeds):

(a) pilots (seed 0): constant and cosine to 10 % at each pilot peak P0·{1, 4, 16} (digits; the transformer
    P0·{1, 4}) — a practitioner's small learning-rate sweep; with `--two-stage` also a two-stage run at each (the
    peak, then a tenth of it for the last 30 %: a pilot that shows an abrupt cooldown);
(b) law selection by leave-one-pilot-out: each law fitted to all pilots but one and scored by its PredE on that one,
    averaged over the pilots; the law with the lowest mean is selected. Every law is then fitted to all pilots, and
    once more to the pilots at P0 only (the single-peak fit, for the extrapolation comparison);
(c) before anything else is trained: every law's predicted final loss for every baseline at every grid peak, and
    for each law its optimal monotone schedule (`LawSchedule`, same warm-up, min rate 1e-3·peak, solved as
    `lrcontrol solve LAW` does) at each grid peak within the pilots' range, the peak with the lowest predicted
    final loss kept (an interpolation: no law is asked beyond its pilots); for each optimum the pilot nearest to it
    (relative L1 distance of the rates' profiles, as `lrcontrol solve LAW` reports it) and whether the law follows
    that pilot (R² ≥ 0); written to `predictions.json`;
(d) the baselines tuned over the grid on the tuning seeds, as in transformer_schedules.py; each law's pick of the
    peak (the baseline and peak it predicts lowest) scored against that tuning; then the validation rule: every
    derived schedule trained on the tuning seeds too, and the lowest mean among them and the tuned baselines kept
    (the laws propose, the tuning runs decide: 3 runs per law on digits, 1 on the transformer); and the same on
    fresh validation seeds (`VALIDATION_SEEDS`), the tuned baselines trained there too — on the tuning seeds each
    tuned baseline's mean is the lowest of its grid, a selection that favours it over a derived schedule;
(e) the tuned baselines and every law's derived schedule trained on the final seeds; paired differences against the
    best tuned baseline; each law's final-loss error on the final schedules, multi-peak fit against single-peak fit;
(f) with `--replicate N`, a derived schedule that wins (on the single runs, or with `--twins` on the ensembles) is
    trained again, with the best baseline, on N seeds after the final ones (never used before): the win checked on
    fresh seeds;
(g) with `--twins K`, every final run of (e) trained again under K round-off twins of its schedule (the rates ×
    (1 + 10⁻⁶·j), j = 1 … K: problems/schedule_sensitivity.py found that at the tuned peaks such a change re-draws
    a run's final loss as a new seed would), before (f), and each derived schedule compared with the best baseline on
    every seed's mean over its run and twins (a round-off re-solve of a schedule re-draws each single run, while it
    moves such a mean by about 1/√(K + 1) as much); and the
    fresh-seed validation of (d) repeated on such ensembles (each candidate's mean over the validation seeds, each
    seed's run and K twins).

Writes `results.json`, `README.md` (generated from it), `predictions.json`, figures and the run curves (`runs/`,
read back on a rerun when config, seed and rates match). `--task digits` (default) takes ~5 min on 2 cores, nearly
all of it fitting (32 fits) and solving (20 derived schedules); its 142 training runs take under a minute.
"""

import time
from pathlib import Path

from _common import arguments, plt, results_folder, write_json

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import transformer_schedules as ts  # noqa: E402
from lrcontrol._cli_laws import LAW_NAMES  # noqa: E402
from lrcontrol._fit import evaluate_law, nearest_schedule, schedule_profile  # noqa: E402
from lrcontrol.train import TrainConfig  # noqa: E402

# pilot peaks as multiples of P0: a sweep over the range the tuning grid covers (digits: best peaks near 4–8·P0)
PILOT_PEAKS = {"digits": {"quick": (1.0, 4.0, 16.0), "full": (1.0, 4.0, 16.0), "test": (1.0, 2.0)},
               "shakespeare": {"quick": (1.0, 4.0), "full": (1.0, 4.0), "test": (1.0, 2.0)}}
PILOT_KINDS = ("constant", "cosine 10%")  # default; "two-stage" (P0 then P0/10 for the last 30 %) may be added
OUT = {"digits": "digits_pilot_peaks", "shakespeare": "transformer_pilot_peaks"}
# validation seeds used nowhere else (tuning: 0, 101, 102; final: 1 … S; replication: S + 1 …)
VALIDATION_SEEDS = {"digits": (201, 202, 203), "shakespeare": (201,)}


# twin j of a schedule: its rates × (1 + TWIN_STEP·(j + 1)), a change of 8–17 float32 ulps per step and more — at
# the tuned peaks a change of one ulp already re-draws a run (problems/schedule_sensitivity.py), and every twin differs
TWIN_STEP = 1e-6


def twin(rates, j: int) -> np.ndarray:
    """Round-off twin `j` (0, 1, …) of a schedule: its rates × (1 + TWIN_STEP·(j + 1))."""
    return np.asarray(rates, float) * (1 + TWIN_STEP * (j + 1))


def max_replicate(task: str, mode: str) -> int:
    """The most replication seeds (after the S final ones) that stop below the validation seeds."""
    return min(VALIDATION_SEEDS[task]) - ts.SETTINGS[task][mode][7] - 1


def select(pilots: dict, laws_to_fit, fixed=None) -> dict:
    """Leave-one-pilot-out: for each law, PredE on each pilot when fitted to the others; its mean (inf when a fit
    failed, with the failure recorded) and each fit's message (a fit that did not converge is still scored). Also
    reported, not used to select: the held-out pilot's relative final-loss error |L̂ − L|/L at its last logged
    step, and its mean (the quantity a schedule is chosen by). `fixed` as `ts.fit_laws`'s."""
    scores = {law: {} for law in laws_to_fit}
    finals = {law: {} for law in laws_to_fit}
    notes = {law: {} for law in laws_to_fit}
    for held in pilots:
        fits = ts.fit_laws([r.curve for name, r in pilots.items() if name != held], laws_to_fit, fixed)
        c = pilots[held].curve
        for law_name, (law, report) in fits.items():
            scores[law_name][held] = (float(evaluate_law(law, [c])[held]["PredE"])
                                      if law is not None else float("inf"))
            last = (float(np.asarray(law.predict(jnp.asarray(c.lr), jnp.asarray(c.steps[-1:])))[0])
                    if law is not None else float("inf"))
            finals[law_name][held] = abs(last - float(c.losses[-1])) / float(c.losses[-1])
            notes[law_name][held] = report.get("error") or report["message"]
    return {law: {"per_held_out_pilot": s, "mean_PredE": float(np.mean(list(s.values()))), "fits": notes[law],
                  "final_error_per_held_out_pilot": finals[law],
                  "mean_final_error": float(np.mean(list(finals[law].values())))}
            for law, s in scores.items()}


def nearest_pilot(rates, pilot_rates: dict) -> tuple[str, float]:
    """The pilot whose schedule is nearest to `rates`, and the distance (`lrcontrol._fit.nearest_schedule`, what
    `lrcontrol solve LAW` reports: a relative L1 distance of the rates' profiles)."""
    return nearest_schedule(rates, {name: schedule_profile(q) for name, q in pilot_rates.items()})


def derive_in_range(law, n, w, p0, multiples, pilot_rates: dict, unexplained=()):
    """The law's optimal schedule at each peak multiple; the one with the lowest predicted final loss, its (rates,
    info), and every multiple's predicted final loss with the pilot nearest to its optimum (`nearest_pilot`) and
    whether the law follows that pilot (it is not among the fit's `unexplained`, R² < 0)."""
    tried = {g: ts.derive(law, n, w, g * p0) for g in multiples}
    by_peak = {}
    for g, (rates, info) in tried.items():
        pilot, distance = nearest_pilot(rates, pilot_rates)
        by_peak[g] = {"predicted_final": info["predicted_final"], "nearest_pilot": pilot, "distance": distance,
                      "nearest_pilot_explained": pilot not in unexplained}
    best = min(tried, key=lambda g: tried[g][1]["predicted_final"])
    return best, tried[best], by_peak


def run(mode: str, out: Path, laws_to_fit=LAW_NAMES, progress: bool = True, task: str = "digits",
        kinds=PILOT_KINDS, replicate: int = 0, twins: int = 0) -> dict:
    size, n, batch, k, vw, w, p0, n_seeds, vf = ts.SETTINGS[task][mode]
    if replicate > max_replicate(task, mode):
        raise ValueError(f"replicate = {replicate} would reuse the validation seeds {VALIDATION_SEEDS[task]}.")
    grid = ts.TASK_GRIDS.get(task, {}).get(mode, ts.GRIDS[mode])
    peaks = PILOT_PEAKS[task][mode]
    config = TrainConfig(size=size, steps=n, batch=batch, eval_every=k, val_windows=vw, val_fraction=vf, task=task)
    timings = []
    go = ts.trainer(config, results_folder(out / "runs"), timings, progress)
    t_start = time.perf_counter()
    # (a) pilots
    pilots = {f"pilot {kind} @{g:g}P0": go(f"pilot {kind} @{g:g}P0", ts.base_rates(kind, n, w, g * p0), 0)
              for g in peaks for kind in kinds}
    # (b) selection, then the fits on all pilots and on the pilots at P0 only
    selection = select(pilots, laws_to_fit)
    selected = min(selection, key=lambda m: selection[m]["mean_PredE"])
    fitted = ts.fit_laws([r.curve for r in pilots.values()], laws_to_fit)
    single = ts.fit_laws([pilots[f"pilot {kind} @{peaks[0]:g}P0"].curve for kind in kinds], laws_to_fit)
    laws = {m: law for m, (law, _) in fitted.items() if law is not None}
    single_laws = {m: law for m, (law, _) in single.items() if law is not None}
    # (c) predictions and derived schedules, before any of them is trained
    in_range = [g for g in grid if peaks[0] <= g <= peaks[-1]]
    pilot_rates = {name: r.curve.lr for name, r in pilots.items()}
    schedules = {f"{b} @{g:g}P0": ts.base_rates(b, n, w, g * p0) for b in ts.BASELINES for g in grid}
    derived, candidates = {}, {}
    for law_name, law in laws.items():
        g, (rates, info), by_peak = derive_in_range(law, n, w, p0, in_range, pilot_rates,
                                                    fitted[law_name][1]["unexplained"])
        name = f"derived ({law_name}) @{g:g}P0"
        derived[name] = {"law": law_name, "selected": law_name == selected, "peak_multiple": g, **info}
        candidates[law_name] = {f"{m:g}": v for m, v in by_peak.items()}
        schedules[name] = rates

    def finals_by(fits):
        return {name: {m: float(law.final_loss(ts.for_law(r, w, p0))) for m, law in fits.items()}
                for name, r in schedules.items()}

    predictions = finals_by(laws)
    write_json(out / "predictions.json", {"written_before_training": ts.machine()["finished_utc"],
                                          "predicted_final_val_loss": predictions}, newline=True)
    # (d) tuning, and each law's pick of the peak judged by it
    tuning, best_peak = ts.tune(go, schedules, grid, ts.TUNING_SEEDS[task])
    baseline_names = [nm for nm in schedules if nm in tuning]
    best_tuned = min(baseline_names, key=tuning.get)
    # (d') validation: every derived schedule trained on the tuning seeds beside the tuned baselines, the lowest
    # mean kept (a run that diverges scores +inf)
    tuned_names = [f"{b} @{best_peak[b]:g}P0" for b in ts.BASELINES]
    validation = {d: ts.tuning_mean(go, d, schedules[d], ts.TUNING_SEEDS[task]) for d in derived}
    pool = {**{x: tuning[x] for x in tuned_names}, **validation}
    validated_pick = min(pool, key=pool.get)
    # (d'') the same on fresh seeds, used nowhere else: on the tuning seeds the tuned baselines' means are each the
    # lowest of a grid of means on those very seeds (a winner's curse that favours them over a derived schedule)
    fresh_runs = {x: ts.tuning_finals(go, x, schedules[x], VALIDATION_SEEDS[task]) for x in tuned_names + list(derived)}
    fresh = {x: float(np.mean(v)) for x, v in fresh_runs.items()}
    fresh_pick = min(fresh, key=fresh.get)
    picks = {}
    for m in laws:
        pick = min(baseline_names, key=lambda nm: predictions[nm][m])
        picks[m] = {"pick": pick, "tuning_mean_of_pick": tuning[pick], "regret": tuning[pick] - tuning[best_tuned]}
    # (e) the final comparison on fresh seeds
    final_names = tuned_names + list(derived)
    seeds = list(range(1, n_seeds + 1))
    final = {name: [go(name, schedules[name], s) for s in seeds] for name in final_names}
    total_s = time.perf_counter() - t_start
    finals = {name: [r.final_val_loss for r in rs] for name, rs in final.items()}
    best_base = min(tuned_names, key=lambda x: np.mean(finals[x]))
    comparisons = {}
    for d, info in derived.items():
        mean, se = ts.paired(finals[d], finals[best_base])
        comparisons[d] = {"mean_difference": mean, "standard_error": se,
                          "predicted_difference": predictions[d][info["law"]] - predictions[best_base][info["law"]],
                          "verdict": ts.verdict(mean, se)}
    def against_best(pick):  # a pick against the best baseline on the final seeds (None when it is that baseline)
        return (None if pick == best_base else
                dict(zip(("mean_difference", "standard_error"), ts.paired(finals[pick], finals[best_base]))))
    # (g) round-off twins of every final run: per seed the mean over the run and its twins
    ensemble = {}
    if twins:
        def twin_finals(name, j):  # the final runs of twin j of `name`'s schedule (a divergence raises, as there)
            return [go(f"{name} twin {j}", twin(schedules[name], j), s).final_val_loss for s in seeds]

        per_seed = {name: np.mean([finals[name]] + [twin_finals(name, j) for j in range(twins)], axis=0)
                    for name in final_names}
        val_seeds = VALIDATION_SEEDS[task]  # there a diverged run scores +inf, as in (d'')
        fresh_ens = {x: float(np.mean([v] + [ts.tuning_finals(go, f"{x} twin {j}", twin(schedules[x], j), val_seeds)
                                             for j in range(twins)]))
                     for x, v in fresh_runs.items()}
        fresh_ens_pick = min(fresh_ens, key=fresh_ens.get)
        best_ens = min(tuned_names, key=lambda x: np.mean(per_seed[x]))
        ensemble = {"twins": twins, "factors": [1 + TWIN_STEP * (j + 1) for j in range(twins)],
                    "best_baseline": best_ens,
                    "mean_final_val_loss": {x: float(np.mean(v)) for x, v in per_seed.items()},
                    "comparisons": {}, "validation_fresh_seeds": {
                        "seeds": list(val_seeds), "mean_final_val_loss": fresh_ens, "pick": fresh_ens_pick}}
        for d in derived:
            mean, se = ts.paired(per_seed[d], per_seed[best_ens])
            ensemble["comparisons"][d] = {"mean_difference": mean, "standard_error": se,
                                          "verdict": ts.verdict(mean, se)}
    # (f) a derived schedule that wins is trained again, with the best baseline, on `replicate` seeds never used
    replication = {}
    extra = list(range(n_seeds + 1, n_seeds + replicate + 1))
    winners = [d for d in derived if comparisons[d]["verdict"] == "wins"
               or ensemble.get("comparisons", {}).get(d, {}).get("verdict") == "wins"]  # on single runs or ensembles
    if extra and winners:
        base_extra = [go(best_base, schedules[best_base], s).final_val_loss for s in extra]
        for d in winners:
            mean, se = ts.paired([go(d, schedules[d], s).final_val_loss for s in extra], base_extra)
            replication[d] = {"against": best_base, "seeds": extra, "mean_difference": mean, "standard_error": se,
                              "verdict": ts.verdict(mean, se)}
    single_pred = finals_by(single_laws)
    errors = {}
    for fit_name, preds in (("all pilots", predictions), ("pilots at P0", single_pred)):
        errors[fit_name] = {}
        for m in laws:
            e = {name: preds[name][m] - float(np.mean(finals[name])) for name in final_names if m in preds[name]}
            errors[fit_name][m] = {"final_error": e, "mean_abs_error_tuned_baselines": float(
                np.mean([abs(e[x]) for x in tuned_names if x in e]))}
    run_walls = [t["run_s"] + t["compile_s"] for t in timings if t.get("updates") == n]
    results = {
        "setup": {"task": task, "mode": mode, "size": size, "steps": n, "batch": batch, "eval_every": k,
                  "warmup": w, "P0": p0, "pilot_peak_multiples": list(peaks), "pilot_kinds": list(kinds),
                  "peak_grid_multiples": list(grid), "derive_peak_multiples": in_range,
                  "tuning_seeds": list(ts.TUNING_SEEDS[task]), "final_seeds": seeds,
                  "parameters": ts._parameters(config)},
        "machine": ts.machine(),
        "timing": {"pipeline_s": total_s, "median_run_s": float(np.median(run_walls)) if run_walls else None,
                   "runs": timings},
        "pilots": {name: {"final_val_loss": r.final_val_loss} for name, r in pilots.items()},
        "law_selection": {"rule": "leave-one-pilot-out, mean PredE", "scores": selection, "selected": selected},
        "derive_candidates": candidates,
        "validation": {"rule": "derived schedules trained on the tuning seeds beside the tuned baselines; the lowest "
                               "mean kept", "tuning_mean_final_val_loss": validation, "pool": pool,
                       "pick": validated_pick, "final_against_best_baseline": against_best(validated_pick)},
        "validation_fresh_seeds": {"rule": "the tuned baselines and the derived schedules trained on fresh validation "
                                           "seeds; the lowest mean kept", "seeds": list(VALIDATION_SEEDS[task]),
                                   "mean_final_val_loss": fresh, "pick": fresh_pick,
                                   "final_against_best_baseline": against_best(fresh_pick)},
        "fits": {m: rep for m, (_, rep) in fitted.items()},
        "fits_pilots_at_P0": {m: rep for m, (_, rep) in single.items()},
        "derived": derived,
        "tuning_mean_final_val_loss": tuning, "best_peak_multiple": best_peak, "best_tuned": best_tuned,
        "law_picks": picks,
        "predicted_final_val_loss": predictions, "predicted_final_val_loss_pilots_at_P0": single_pred,
        "final_val_loss": {name: ts.summary(v) for name, v in finals.items()},
        "best_baseline": best_base, "comparisons": comparisons, "replication": replication,
        "ensemble": ensemble,
        "final_errors": errors,
    }
    write_json(out / "results.json", results, newline=True)
    figure(out, results, schedules, final_names)
    (out / "README.md").write_text(table(results))
    return results


def figure(out, res, schedules, final_names):
    """Left: the tuning means against the peak beside the selected law's predictions from both fits. Right: the
    final schedules."""
    s, selected = res["setup"], res["law_selection"]["selected"]
    grid = s["peak_grid_multiples"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for i, b in enumerate(ts.BASELINES):
        names = [f"{b} @{g:g}P0" for g in grid]
        ax.plot(grid, [res["tuning_mean_final_val_loss"][x] for x in names], "o", color=f"C{i}", label=b)
        for key, style in (("predicted_final_val_loss", "-"), ("predicted_final_val_loss_pilots_at_P0", ":")):
            if selected is not None:
                ax.plot(grid, [res[key][x].get(selected, np.nan) for x in names], style, color=f"C{i}", lw=1)
    for g in s["pilot_peak_multiples"]:
        ax.axvline(g, color="0.85", lw=0.8, zorder=0)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("peak / P0 (grey: pilot peaks)")
    ax.set_ylabel("final validation loss")
    ax.set_title(f"tuning runs (dots) and {selected}: all pilots (—), pilots at P0 (⋯)", fontsize=9)
    finite = [v for v in res["tuning_mean_final_val_loss"].values() if np.isfinite(v)]
    lo, hi = min(finite), min(max(finite), 3 * min(finite))  # diverged tuning runs would flatten the rest
    ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    ax.legend(fontsize=7)
    for name in final_names:
        bx.plot(schedules[name], lw=1.2, label=name)
    bx.set_xlabel("update")
    bx.set_ylabel("learning rate")
    bx.set_title("final schedules", fontsize=9)
    bx.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "pilot_peaks.png", dpi=110)
    plt.close(fig)


def table(res) -> str:
    s, m, t = res["setup"], res["machine"], res["timing"]
    task_flag = "" if s["task"] == "digits" else f" --task {s['task']}"
    mode_flag = {"quick": "", "full": " --full", "test": " (test mode)"}[s["mode"]]
    mode_flag += " --two-stage" if "two-stage" in s["pilot_kinds"] else ""
    replicated = [c["seeds"] for c in res["replication"].values()]  # --replicate N shows only where a win was rerun
    mode_flag += f" --replicate {len(replicated[0])}" if replicated else ""
    mode_flag += f" --twins {res['ensemble']['twins']}" if res.get("ensemble") else ""
    peaks = ", ".join(f"{g:g}" for g in s["pilot_peak_multiples"])
    sel = res["law_selection"]
    lines = [f"# Pilots at several peaks ({s['task']}, {s['mode']})", "",
             f"Generated by `problems/pilot_peaks.py{task_flag}{mode_flag}` from `results.json`. Model `{s['size']}` "
             f"({s['parameters']} parameters), {s['steps']} updates, warm-up {s['warmup']}, P0 = {s['P0']:g}; pilots "
             f"{' and '.join(s['pilot_kinds'])} at P0·{{{peaks}}} (seed 0); tuning seeds {s['tuning_seeds']}, final "
             f"seeds {s['final_seeds']}. Machine: {m['platform']}, {m['cpus']} CPUs (load "
             f"{m['load_average_1m_at_end']:.1f} at the end), jax {m['jax']} ({m['backend']}), finished "
             f"{m['finished_utc']}. Pipeline "
             f"{t['pipeline_s'] / 60:.1f} min." + ts._reused(t), "",
             f"**Law selection** (leave-one-pilot-out, mean PredE): **{sel['selected']}** — "
             + ", ".join(f"{k}: {v['mean_PredE']:.4f}" for k, v in sel["scores"].items())
             + ". Reported, not used: the held-out pilots' mean relative final-loss error — "
             + ", ".join(f"{k}: {v['mean_final_error']:.4f}" for k, v in sel["scores"].items())
             + f" (lowest: {min(sel['scores'], key=lambda m: sel['scores'][m]['mean_final_error'])}).", "",
             "Each law's optimum at each peak: predicted final loss, the pilot nearest to it (relative L1 distance "
             "of the rates) and whether the law follows that pilot (R² ≥ 0 in its fit; *not followed* else):", "",
             "| law | " + " | ".join(f"@{g:g}P0" for g in s["derive_peak_multiples"]) + " |",
             "|---|" + "---|" * len(s["derive_peak_multiples"])]
    for law, by_peak in res["derive_candidates"].items():
        lines.append(f"| {law} | " + " | ".join(
            f"{c['predicted_final']:.4f}, {c['nearest_pilot'].removeprefix('pilot ')} ({c['distance']:.2f})"
            + ("" if c["nearest_pilot_explained"] else ", *not followed*") for c in by_peak.values()) + " |")
    def against(v):
        return ("the best tuned baseline on the final seeds too" if v is None else
                f"on the final seeds against the best tuned baseline: {v['mean_difference']:+.4f} ± "
                f"{v['standard_error']:.4f}")

    val = res["validation"]
    lines += ["", "**Validation** (each derived schedule trained on the tuning seeds beside the tuned baselines, the "
              "lowest mean kept): " + ", ".join(f"{k} {m:.4f}" for k, m in val["pool"].items())
              + f" → **{val['pick']}**, {against(val['final_against_best_baseline'])}."]
    fresh = res["validation_fresh_seeds"]
    lines += ["", f"**Validation on fresh seeds** {fresh['seeds']} (the tuned baselines and the derived schedules, the "
              "lowest mean kept; on the tuning seeds each tuned baseline's mean is the lowest of its grid there, which "
              "favours it): " + ", ".join(f"{k} {m:.4f}" for k, m in fresh["mean_final_val_loss"].items())
              + f" → **{fresh['pick']}**, {against(fresh['final_against_best_baseline'])}.", ""]
    lines += [ts._edges(res["fits"]), "",
              "| schedule | final val loss (mean ± s.e.) | " + " | ".join(f"{k} predicted" for k in res["fits"]
                                                                   if "error" not in res["fits"][k]) + " |",
              "|---|---|" + "---|" * sum("error" not in v for v in res["fits"].values())]
    for name, v in res["final_val_loss"].items():
        preds = [res["predicted_final_val_loss"][name].get(k) for k in res["fits"] if "error" not in res["fits"][k]]
        lines.append(f"| {name} | {v['mean']:.4f} ± {v['se']:.4f} | "
                     + " | ".join("—" if p is None else f"{p:.4f}" for p in preds) + " |")
    best = res["best_baseline"]
    lines += ["", f"Derived schedules against the best tuned baseline, **{best}** (paired over the final seeds; "
              "negative = derived better):", "",
              "| derived | selected | mean diff ± s.e. | predicted diff | verdict |", "|---|---|---|---|---|"]
    for d, c in res["comparisons"].items():
        lines.append(f"| {d} | {'yes' if res['derived'][d]['selected'] else ''} | {c['mean_difference']:+.4f} ± "
                     f"{c['standard_error']:.4f} | {c['predicted_difference']:+.4f} | {c['verdict']} |")
    for d, c in res.get("replication", {}).items():
        lines += ["", f"Replication of the win of {d} on {len(c['seeds'])} seeds never used before "
                  f"({c['seeds'][0]}–{c['seeds'][-1]}), against {c['against']}: {c['mean_difference']:+.4f} ± "
                  f"{c['standard_error']:.4f} ({c['verdict']})."]
    ens = res.get("ensemble")
    if ens:
        lines += ["", f"On ensembles (each final seed's mean over its run and {ens['twins']} round-off twins, the "
                  f"rates × (1 + {TWIN_STEP:g}·j), j = 1 … {ens['twins']}), against the best tuned baseline there, "
                  f"**{ens['best_baseline']}**:", "",
                  "| derived | mean diff ± s.e. | verdict |", "|---|---|---|"]
        for d, c in ens["comparisons"].items():
            lines.append(f"| {d} | {c['mean_difference']:+.4f} ± {c['standard_error']:.4f} | {c['verdict']} |")
        v = ens["validation_fresh_seeds"]
        lines += ["", f"Validation on fresh seeds {v['seeds']} on ensembles (each seed's run and its twins): "
                  + ", ".join(f"{k} {m:.4f}" for k, m in v["mean_final_val_loss"].items()) + f" → **{v['pick']}**."]
    lines += ["", "Each law as a tuner (the baseline and peak it predicts lowest, scored by the tuning runs; best "
              f"tuned: {res['best_tuned']} at {res['tuning_mean_final_val_loss'][res['best_tuned']]:.4f}):", "",
              "| law | pick | tuning mean of the pick | regret |", "|---|---|---|---|"]
    for law, p in res["law_picks"].items():
        lines.append(f"| {law} | {p['pick']} | {p['tuning_mean_of_pick']:.4f} | {p['regret']:+.4f} |")
    lines += ["", "Mean |predicted − observed| final loss over the four tuned baselines, by the pilots the law was "
              "fitted to:", "", "| law | all pilots | pilots at P0 |", "|---|---|---|"]
    for law in res["final_errors"]["all pilots"]:
        a = res["final_errors"]["all pilots"][law]["mean_abs_error_tuned_baselines"]
        b = res["final_errors"]["pilots at P0"].get(law, {}).get("mean_abs_error_tuned_baselines", float("nan"))
        lines.append(f"| {law} | {a:.4f} | {b:.4f} |")
    lines += ["", "![pilot peaks](pilot_peaks.png)"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = arguments(__doc__)
    ap.add_argument("--task", choices=tuple(PILOT_PEAKS), default="digits",
                    help="what is trained: the MLP on 8×8 digits (default, needs scikit-learn) or the character "
                         "transformer on Shakespeare (extra [train])")
    ap.add_argument("--full", action="store_true", help="the larger setting (digits: 4000 updates, 16 seeds; "
                    "the transformer: model `small`, 2000 updates — a GPU's work); default the CPU setting")
    ap.add_argument("--two-stage", action="store_true", help="add a two-stage pilot (the peak, then a tenth of it "
                    "for the last 30 %% of the updates) at each pilot peak: a pilot with an abrupt cooldown; results "
                    "in <results>_two_stage")
    ap.add_argument("--replicate", type=int, default=0, metavar="N",
                    help="train a derived schedule that wins, and the best baseline, again on N seeds after the final "
                         "ones (a check on the win)")
    ap.add_argument("--twins", type=int, default=0, metavar="K",
                    help="train every final run again under K round-off twins of its schedule and compare on the "
                         "per-seed means too (digits: K = 8 adds ~1 min)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    mode = "full" if args.full else "quick"
    limit = max_replicate(args.task, mode)
    if not 0 <= args.replicate <= limit:
        ap.error(f"--replicate must be 0 … {limit}: its seeds follow the final ones and stop below the validation "
                 f"seeds ({min(VALIDATION_SEEDS[args.task])} on).")
    if not 0 <= args.twins <= 64:
        ap.error("--twins must be 0 … 64 (round-off twins per final run).")
    kinds = PILOT_KINDS + ("two-stage",) if args.two_stage else PILOT_KINDS
    folder = OUT[args.task] + ("_two_stage" if args.two_stage else "")
    out = results_folder(args.out or Path(__file__).resolve().parent / "results" / folder)
    res = run(mode, out, progress=not args.no_progress, task=args.task, kinds=kinds, replicate=args.replicate,
              twins=args.twins)
    print(table(res))


if __name__ == "__main__":
    main()
