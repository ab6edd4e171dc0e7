"""Validate a law-derived schedule by real training: pilots → fitted laws → predictions → derived schedule →
trained against tuned cosine, linear and WSD baselines over several seeds.

The task is `lrcontrol.train` with AdamW: a character-level transformer on Shakespeare (default; optional extra
`[train]`; results in `results/transformer_schedules/`) or, with `--task digits`, the cheaper MLP on 8×8 digits
(scikit-learn; `results/digits_schedules/`). The pipeline, as a user would run it:

(a) pilot runs at a guessed peak P0 with warm-up W: constant, cosine to 10 %, and a two-stage run (P0, then P0/10
    for the last 30 % of the updates);
(b) every loss-curve law (`lrcontrol fit`'s laws) fitted to the pilots' validation curves; each law is also fitted
    to constant + cosine only and scored on the two-stage pilot it did not see — the best-predicting law is the one
    with the lowest PredE there;
(c) before any of them is trained, every law's predicted curve and final loss for every baseline at every grid
    peak and for the derived schedule (written to `predictions.json` first);
(d) the optimal schedule under the best-predicting law (fitted on all three pilots): `LawSchedule` with the same
    warm-up, the peak bound P0, min rate 1e-3·P0, monotone, solved as `lrcontrol solve LAW` does
    (`law_schedule.optimise`: `lrc.solvers.Direct` from the best staircase under MPL, else from a WSD start, and
    from the best baseline under the law where that start's end does not already beat it, keeping the lower
    predicted final loss); also the same derivation at the best baseline's peak P* (the law
    extrapolated in the peak), and Defazio et al.'s refinement (`lrc.schedules.refine`, Adam: ℓ1 gradient norms
    of the cosine pilot) at P0;
(e) baselines each tuned over a peak grid (P0·{½, 1, 2, 4, 8}, digits also 16; `test`: {1, 2}) by the mean final
    loss over the tuning seeds (0; digits: 0, 101, 102): cosine to 10 % and to 0, linear to 0, WSD with a 20 %
    1−sqrt cooldown to 0 (a tuning run that diverges scores +inf);
(f) every final schedule trained on fresh seeds 1 … S (same data order per seed across schedules); paired
    differences against the derived schedule with standard errors; a verdict only beyond two standard errors.

Writes `results.json` (per-schedule per-seed final validation losses, the laws' predicted final losses for every
schedule, fitted parameters, machine / jax version / time), `README.md` (the table, generated from the JSON),
figures, and every run's curve CSV under `runs/`. Runs resume from their files.
"""

import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import arguments, plt, results_folder, write_json

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol._cli_laws import LAW_NAMES, law_class  # noqa: E402
from lrcontrol._fit import evaluate_law, metrics  # noqa: E402
from lrcontrol.systems.law_schedule import (LawSchedule, baseline_rates, describe, optimise,  # noqa: E402
                                          warmup_rates)
from lrcontrol.train import TrainConfig, train  # noqa: E402

SETTINGS = {  # task: mode: (size, steps, batch, eval_every, val_windows, warmup, P0, seeds, val_fraction)
    "shakespeare": {"quick": ("mini", 600, 16, 30, 64, 30, 3e-3, 3, 0.1),
                    "full": ("small", 2000, 32, 50, 128, 100, 2e-3, 3, 0.1),
                    "test": ("tiny", 48, 8, 8, 16, 4, 3e-3, 2, 0.1)},
    # the digits MLP trains in well under a second per run on a CPU: more seeds, every held-out image validates
    "digits": {"quick": ("quick", 2000, 16, 50, 449, 50, 2e-2, 8, 0.25),
               "full": ("small", 4000, 16, 50, 449, 100, 2e-2, 16, 0.25),
               "test": ("tiny", 48, 8, 8, 64, 4, 3e-3, 2, 0.25)},
}
# the baselines' peaks are tuned on the mean over these seeds (none of them a final seed); a digits run costs well
# under a second, and with one tuning seed a noisy WSD run at the grid's top had won its tuning and then lost on the
# final seeds
TUNING_SEEDS = {"shakespeare": (0,), "digits": (0, 101, 102)}
OUT = {"shakespeare": "transformer_schedules", "digits": "digits_schedules"}  # results folders under results/
UNITS = {"shakespeare": "nats/char", "digits": "nats/image"}
GRIDS = {"quick": (0.5, 1.0, 2.0, 4.0, 8.0), "full": (0.5, 1.0, 2.0, 4.0, 8.0),  # peak multiples of P0
         "test": (1.0, 2.0)}
# AdamW on the digits MLP takes peaks up to ~0.3 under a decay to 0 (a pilot scan of cosine at 4 seeds: best near
# 0.16-0.32): the grid reaches 16·P0 so that the tuning is bracketed
TASK_GRIDS = {"digits": {"quick": (0.5, 1.0, 2.0, 4.0, 8.0, 16.0), "full": (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)}}
BASELINES = ("cosine 10%", "cosine 0", "linear 0", "wsd 20% 1-sqrt")


def base_rates(kind: str, n: int, w: int, peak: float) -> np.ndarray:
    if kind == "cosine 10%":
        return baseline_rates("cosine", n, w, peak, 0.1 * peak)
    if kind == "cosine 0":
        return baseline_rates("cosine", n, w, peak, 0.0)
    if kind == "linear 0":
        return baseline_rates("linear", n, w, peak, 0.0)
    if kind == "wsd 20% 1-sqrt":
        return baseline_rates("wsd", n, w, peak, 0.0, fraction=0.2, shape="1-sqrt")
    if kind == "constant":
        return baseline_rates("constant", n, w, peak, peak)
    if kind == "two-stage":
        r = baseline_rates("constant", n, w, peak, peak)
        r[int(round(0.7 * n)):] = 0.1 * peak
        return r
    raise ValueError(kind)


def fit_laws(curves, names, fixed=None) -> dict:
    """Each law of `names` fitted to `curves` (`fixed`: {law name: {parameter: value}} held, as `lrc.fit`'s):
    {name: (law, report as a dict)}; a failed fit is (None, {"error": ...})."""
    out = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            law, report = lrc.fit(law_class(name), curves, fixed=(fixed or {}).get(name))
            out[name] = (law, {**report.to_dict(), "fit_time_s": time.perf_counter() - t0})
        except Exception as err:  # a failed fit is recorded, not hidden
            out[name] = (None, {"error": f"{type(err).__name__}: {err}"})
    return out


def derive(law, n, w, peak, max_fall=1.0):
    """The law's optimal schedule as `lrcontrol solve LAW` derives it: `law_schedule.optimise` (its starts, the
    lower end point kept); `max_fall` as `LawSchedule`'s."""
    system = LawSchedule(law, w, peak, 1e-3 * peak, monotone=True, max_fall=max_fall)
    t0 = time.perf_counter()
    sol, how = optimise(system, n)
    rates = np.asarray(system.rates(sol.controls), float)
    d = sol.diagnostics.to_dict()
    base = {k: v for k, v in how["baselines"].items() if k != "_rates"}
    return rates, {"predicted_final": float(law.final_loss(jnp.asarray(rates))), "shape": describe(rates, w, peak),
                   "converged": bool(d.get("converged", True)), "message": str(d.get("message", "")),
                   "iterations": d.get("iterations"), "start": how["start"],
                   "end_values_by_start": how["final_loss"], "baselines_under_law": base,
                   "solve_s": time.perf_counter() - t0}


FLOOR = 1e-6  # laws see rates floored at FLOOR·P0 after the warm-up: they are undefined at a zero rate (η^−γ)


def for_law(rates, w, p0):
    r = np.array(rates, float)
    r[w:] = np.maximum(r[w:], FLOOR * p0)
    return jnp.asarray(r)


@eqx.filter_jit
def _law_predict(law, rates, steps):
    return law.predict(rates, steps)


def predict(laws, rates, steps):
    return {name: (np.asarray(_law_predict(law, rates, jnp.asarray(steps)), float) if law is not None
                   else None) for name, law in laws.items()}


def paired(a, b):
    """mean and standard error of a − b over paired seeds."""
    d = np.asarray(a) - np.asarray(b)
    se = float(np.std(d, ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
    return float(np.mean(d)), se


def run_file(label: str, seed: int) -> str:
    """The file name of a run's curve: its label with spaces, % and @ spelled out, and its seed."""
    return f"{label.replace(' ', '_').replace('%', 'pc').replace('@', 'at')}_seed{seed}.csv"


def verdict(mean: float, se: float) -> str:
    """A paired mean difference (schedule − baseline) read off: "wins" or "loses" beyond two standard errors, else
    "ties"."""
    return "wins" if mean < -2 * se else ("loses" if mean > 2 * se else "ties")


def summary(values) -> dict:
    """Final losses over seeds: the list, their mean and its standard error (None for one seed)."""
    v = list(values)
    return {"per_seed": v, "mean": float(np.mean(v)),
            "se": float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None}


def trainer(config, runs: Path, timings: list, progress: bool):
    """`go(label, rates, seed, may_diverge=False)`: one training run of `config` under `rates`, its curve written to
    (and, when an earlier invocation finished it, read back from) `runs/<label>_seed<seed>.csv`, which is trained
    again when it holds another schedule (a derived schedule re-solved to another round-off); its timing appended
    to `timings`. A run that diverges returns None where `may_diverge` (a tuning run: the grid's answer "too high"),
    else raises."""

    def go(label, rates, seed, may_diverge=False):
        fname = run_file(label, seed)
        t0 = time.perf_counter()
        try:
            res = train(config, rates, seed, runs / fname, name=label, progress=progress, replace_stale=True)
        except lrc.InputError as err:
            if not may_diverge or "diverged" not in str(err):
                raise
            timings.append({"run": fname, "diverged": str(err)})
            return None
        timings.append({"run": fname, "wall_s": time.perf_counter() - t0, **res.timing})
        return res

    return go


def tuning_finals(go, name, rates, seeds) -> list[float]:
    """The final validation loss of `rates` on each of `seeds` (`go` runs them; +inf for a run that diverges: the
    rate is too high)."""
    return [float("inf") if g is None else g.final_val_loss
            for g in (go(name, rates, s, may_diverge=True) for s in seeds)]


def tuning_mean(go, name, rates, seeds) -> float:
    """The mean of `tuning_finals` (+inf when a run diverges)."""
    return float(np.mean(tuning_finals(go, name, rates, seeds)))


def tune(go, schedules: dict, grid, seeds) -> tuple[dict, dict]:
    """Each baseline's peak tuned over `grid` by its mean final loss over the tuning `seeds` (a run that diverges
    scores +inf): (mean final loss of every baseline schedule in `schedules`, best peak multiple per baseline)."""
    tuning = {name: tuning_mean(go, name, r, seeds) for name, r in schedules.items()
              if any(name.startswith(b) for b in BASELINES)}
    return tuning, {b: min(grid, key=lambda g: tuning[f"{b} @{g:g}P0"]) for b in BASELINES}


def machine() -> dict:
    """Where a run happened, for the results file."""
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "load_average_1m_at_end": os.getloadavg()[0], "jax": jax.__version__,
            "backend": jax.default_backend(), "python": sys.version.split()[0],
            "finished_utc": datetime.now(timezone.utc).isoformat()}


def run(mode: str, out: Path, laws_to_fit=LAW_NAMES, progress: bool = True, task: str = "shakespeare") -> dict:
    size, n, batch, k, vw, w, p0, n_seeds, vf = SETTINGS[task][mode]
    grid = TASK_GRIDS.get(task, {}).get(mode, GRIDS[mode])
    config = TrainConfig(size=size, steps=n, batch=batch, eval_every=k, val_windows=vw, val_fraction=vf, task=task)
    timings = []
    go = trainer(config, results_folder(out / "runs"), timings, progress)

    t_start = time.perf_counter()
    # (a) pilots
    pilots = {kind: go(f"pilot {kind}", base_rates(kind, n, w, p0), 0)
              for kind in ("constant", "cosine 10%", "two-stage")}
    pilot_curves = [r.curve for r in pilots.values()]
    # (b) laws: held-out check on the two-stage pilot, then the fit on all pilots
    loo = fit_laws([pilots["constant"].curve, pilots["cosine 10%"].curve], laws_to_fit)
    selection = {}
    for name, (law, rep) in loo.items():
        if law is not None:
            m = evaluate_law(law, [pilots["two-stage"].curve])["pilot two-stage"]
            selection[name] = {"PredE_two_stage": m["PredE"], "final_error": float(
                law.predict(jnp.asarray(pilots["two-stage"].curve.lr), jnp.asarray([n - 1]))[0]
                - pilots["two-stage"].final_val_loss)}
    fitted = fit_laws(pilot_curves, laws_to_fit)
    usable = [m for m in selection if fitted[m][0] is not None]
    best_law = min(usable, key=lambda m: selection[m]["PredE_two_stage"]) if usable else None
    laws = {m: fitted[m][0] for m in fitted if fitted[m][0] is not None}
    # (d) derived schedule (and refine) — computed before any of them is trained
    derived = {}
    if best_law is not None:
        rates, info = derive(laws[best_law], n, w, p0)
        derived[f"derived ({best_law}) @P0"] = (rates, info)
    g1 = pilots["cosine 10%"].grad_l1[w:]
    refine_post = np.asarray(lrc.schedules.refine(g1, optimizer="adam", peak=p0).values, float)
    refined = np.concatenate([np.asarray(warmup_rates(w, p0)), refine_post])
    # (c) predictions before running
    steps = config.logged_steps
    schedules = {f"{b} @{g:g}P0": base_rates(b, n, w, g * p0) for b in BASELINES for g in grid}
    schedules.update({name: r for name, (r, _) in derived.items()})
    schedules["refine (cosine pilot) @P0"] = refined
    predictions = {name: {law: (p[-1] if p is not None else None)
                          for law, p in predict(laws, for_law(r, w, p0), steps).items()}
                   for name, r in schedules.items()}
    write_json(out / "predictions.json", {"written_before_training": datetime.now(timezone.utc).isoformat(),
                                          "predicted_final_val_loss": predictions}, newline=True)
    # (e) tuning on the tuning seeds (the mean final loss; a diverged run scores +inf)
    tuning, best_peak = tune(go, schedules, grid, TUNING_SEEDS[task])
    best_base = min(BASELINES, key=lambda b: tuning[f"{b} @{best_peak[b]:g}P0"])
    g_star = best_peak[best_base]
    if best_law is not None and g_star != 1.0:
        rates, info = derive(laws[best_law], n, w, g_star * p0)
        name = f"derived ({best_law}) @{g_star:g}P0"
        derived[name] = (rates, info)
        schedules[name] = rates
        predictions[name] = {law: float(laws[law].final_loss(for_law(rates, w, p0))) for law in laws}
    # (f) the final comparison on fresh seeds
    final_names = [f"{b} @{best_peak[b]:g}P0" for b in BASELINES] + list(derived) + ["refine (cosine pilot) @P0"]
    seeds = list(range(1, n_seeds + 1))
    final = {name: [go(name, schedules[name], s) for s in seeds] for name in final_names}
    total_s = time.perf_counter() - t_start

    finals = {name: [r.final_val_loss for r in rs] for name, rs in final.items()}
    base_names = final_names[:len(BASELINES)]
    best_final_base = min(base_names, key=lambda x: np.mean(finals[x]))
    comparisons = {}
    for dname in list(derived) + ["refine (cosine pilot) @P0"]:
        comparisons[dname] = {}
        for bname in base_names:
            mean, se = paired(finals[dname], finals[bname])
            comparisons[dname][bname] = {"mean_difference": mean, "standard_error": se, "verdict": verdict(mean, se)}
    edge = {b: best_peak[b] in (grid[0], grid[-1]) for b in BASELINES}
    gaps = {}
    if best_law is not None:
        for dname in derived:
            pred = predictions[dname][best_law] - predictions[best_final_base][best_law]
            gaps[dname] = {"predicted_by_" + best_law: pred,
                           "observed": comparisons[dname][best_final_base]["mean_difference"]}
    law_errors = {}
    for law_name, law in laws.items():
        law_errors[law_name] = {}
        for name, rs in final.items():
            mean_curve = np.mean([r.curve.losses for r in rs], axis=0)
            pred = np.asarray(law.predict(for_law(rs[0].curve.lr, w, p0), jnp.asarray(rs[0].curve.steps)), float)
            m = metrics(mean_curve, pred)
            law_errors[law_name][name] = {"PredE": m["PredE"], "final_predicted": float(pred[-1]),
                                          "final_observed_mean": float(mean_curve[-1]),
                                          "final_error": float(pred[-1] - mean_curve[-1])}
    run_walls = [t["run_s"] + t["compile_s"] for t in timings if t.get("updates") == n]
    steady = [t["run_s"] / max(t["updates"] - k, 1) for t in timings if t.get("updates") == n and t["run_s"] > 0]
    results = {
        "setup": {"task": task, "mode": mode, "size": size, "steps": n, "batch": batch, "eval_every": k,
                  "val_windows": vw, "warmup": w, "P0": p0, "peak_grid": [g * p0 for g in grid],
                  "tuning_seeds": list(TUNING_SEEDS[task]),
                  "final_seeds": seeds, "min_lr_derived": 1e-3 * p0, "parameters": _parameters(config)},
        "machine": machine(),
        "timing": {"pipeline_s": total_s, "median_run_s": float(np.median(run_walls)) if run_walls else None,
                   "median_steady_s_per_update": float(np.median(steady)) if steady else None,
                   "runs": timings},
        "pilots": {name: {"final_val_loss": r.final_val_loss} for name, r in pilots.items()},
        "law_selection": {"held_out": "pilot two-stage (fitted on constant + cosine 10%)", "scores": selection,
                          "best": best_law},
        "fits": {m: rep for m, (_, rep) in fitted.items()},
        "derived": {name: info for name, (_, info) in derived.items()},
        "tuning_mean_final_val_loss": tuning, "best_peak_multiple": best_peak,
        "predicted_final_val_loss": predictions,
        "final_val_loss": {name: summary(v) for name, v in finals.items()},
        "best_baseline": best_final_base,
        "best_peak_at_grid_edge": edge,
        "gap_to_best_baseline": gaps,
        "comparisons": comparisons,
        "law_errors_on_final_schedules": law_errors,
    }
    write_json(out / "results.json", results, newline=True)
    figures(out, n, w, p0, schedules, final_names, final, laws, best_law, steps, UNITS[task])
    (out / "README.md").write_text(table(results))
    return results


def _parameters(config):
    from lrcontrol.train.model import count_parameters
    from lrcontrol.train.tasks import get_task

    return count_parameters(get_task(config.task, config.size, config.val_fraction).init(0))


def figures(out, n, w, p0, schedules, final_names, final, laws, best_law, steps, units):
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in final_names:
        ax.plot(schedules[name], label=name, lw=1.2)
    ax.set_xlabel("update")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=7)
    ax.set_title("final schedules")
    fig.tight_layout()
    fig.savefig(out / "schedules.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, name in enumerate(final_names):
        rs = final[name]
        mean = np.mean([r.curve.losses for r in rs], axis=0)
        c = f"C{i}"
        ax.plot(rs[0].curve.steps, mean, color=c, lw=1.3, label=f"{name} (mean of seeds)")
        if best_law is not None:
            pred = np.asarray(laws[best_law].predict(for_law(rs[0].curve.lr, w, p0), jnp.asarray(steps)))
            ax.plot(steps, pred, color=c, ls="--", lw=0.9)
    ax.set_xlabel("update")
    ax.set_ylabel(f"validation loss ({units})")
    lowest = min(float(np.min(np.mean([r.curve.losses for r in final[nm]], axis=0))) for nm in final_names)
    early = float(np.mean([r.curve.losses[len(steps) // 4] for r in final[final_names[0]]]))
    ax.set_ylim(0.9 * lowest, early + 0.05)
    ax.set_title(f"validation curves; dashed: {best_law} predictions (made before training)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "validation_curves.png", dpi=110)
    plt.close(fig)


def _run_times(timing) -> str:
    """One training run's time in this invocation, or none when every run was read back from its file."""
    if timing["median_run_s"] is None:
        return "no run trained in this invocation."
    return (f"one run {timing['median_run_s']:.1f} s (median, incl. compile), "
            f"{1e3 * timing['median_steady_s_per_update']:.3g} ms per update.")


def _reused(timing) -> str:
    back = sum(r.get("resumed") == "finished" for r in timing["runs"])
    fresh = [r["run"] for r in timing["runs"] if r.get("resumed") != "finished"]
    return (f" {back} of {len(timing['runs'])} runs were read back from files an earlier invocation wrote (the "
            f"pipeline time counts only this invocation's runs and fits; a file is read back only when its config, "
            f"seed and rates hash match, so a changed schedule is retrained). Trained in this invocation: "
            + (", ".join(f"`{f}`" for f in fresh[:8]) + (f" and {len(fresh) - 8} more" if len(fresh) > 8 else "")
               or "none") + ". The laws are refitted, the derived schedules "
            "re-solved and `predictions.json` rewritten on every invocation, from the pilots only." if back else "")


def _solve_note(info) -> str:
    ends = ", ".join(f"{k} → {v:.4f}" for k, v in info.get("end_values_by_start", {}).items())
    its = f", {info['iterations']} iterations" if info.get("iterations") is not None else ""
    return (f"{info['message']}{its}; kept the start '{info.get('start', '?')}' (predicted final loss by start: "
            f"{ends})" if ends else info["message"])


def table(res) -> str:
    s, m, t = res["setup"], res["machine"], res["timing"]
    task = s.get("task", "shakespeare")
    flags = (" --task digits" if task == "digits" else "") + (" --quick" if s["mode"] == "quick" else "")
    title = "Transformer schedules" if task == "shakespeare" else "Digits-MLP schedules"
    lines = [f"# {title} ({s['mode']})", "",
             f"Generated by `problems/transformer_schedules.py{flags}` "
             f"from `results.json`. Model `{s['size']}` ({s['parameters']} parameters), {s['steps']} updates, "
             f"batch {s['batch']}, warm-up {s['warmup']}, pilot peak P0 = {s['P0']:g}, tuning seeds "
             f"{s.get('tuning_seeds', [0])}, final "
             f"seeds {s['final_seeds']}. Machine: {m['platform']}, {m['cpus']} CPUs (load average "
             f"{m['load_average_1m_at_end']:.1f} at the end), jax {m['jax']} ({m['backend']}), finished "
             f"{m['finished_utc']}. Pipeline {t['pipeline_s'] / 60:.1f} min; " + _run_times(t)
             + _reused(t), "",
             f"Best-predicting law (PredE on the held-out two-stage pilot): **{res['law_selection']['best']}** — "
             + ", ".join(f"{k}: {v['PredE_two_stage']:.4f}" for k, v in res["law_selection"]["scores"].items()),
             "", _edges(res["fits"]), "", "| schedule | final val loss (mean ± s.e.) | per seed | " +
             " | ".join(f"{k} predicted" for k in res["fits"] if "error" not in res["fits"][k]) + " |",
             "|---|---|---|" + "---|" * sum("error" not in v for v in res["fits"].values())]
    for name, v in res["final_val_loss"].items():
        preds = [res["predicted_final_val_loss"].get(name, {}).get(k) for k in res["fits"]
                 if "error" not in res["fits"][k]]
        lines.append(f"| {name} | {v['mean']:.4f} ± {v['se']:.4f} | "
                     + ", ".join(f"{x:.4f}" for x in v["per_seed"])
                     + " | " + " | ".join("—" if p is None else f"{p:.4f}" for p in preds) + " |")
    lines += ["", f"Paired differences (schedule − baseline, same seeds; negative = schedule better); best tuned "
              f"baseline: **{res['best_baseline']}**.", "", "| schedule | baseline | mean diff | s.e. | verdict |",
              "|---|---|---|---|---|"]
    for d, rows in res["comparisons"].items():
        for b, c in rows.items():
            lines.append(f"| {d} | {b} | {c['mean_difference']:+.4f} | {c['standard_error']:.4f} | "
                         f"{c['verdict']} |")
    best = res["best_baseline"]
    for d, g in res.get("gap_to_best_baseline", {}).items():
        c = res["comparisons"][d][best]
        (pk, pv), = [(k, v) for k, v in g.items() if k.startswith("predicted")]
        lines += ["", f"**Verdict: {d} {c['verdict']} against the best tuned baseline ({best}):** "
                  f"{c['mean_difference']:+.4f} ± {c['standard_error']:.4f} (mean ± s.e. of the paired "
                  f"difference over {len(s['final_seeds'])} seeds; the law {pk.split('_by_')[1]} had predicted "
                  f"{pv:+.4f}). The solve (`optimise`, the lower of two starts): {_solve_note(res['derived'][d])}."]
    if any(res.get("best_peak_at_grid_edge", {}).values()):
        lines += ["", "Best peak at the edge of the grid for: " + ", ".join(
            b for b, e in res["best_peak_at_grid_edge"].items() if e) + " (the tuning is not bracketed there)."]
    lines += ["", "Laws' prediction error of the final loss on the final schedules (predicted − observed mean):",
              "",
              "| law | " + " | ".join(res["final_val_loss"]) + " |", "|---|" + "---|" * len(res["final_val_loss"])]
    for law, rows in res["law_errors_on_final_schedules"].items():
        lines.append(f"| {law} | " + " | ".join(f"{rows[n]['final_error']:+.4f}" for n in res["final_val_loss"])
                     + " |")
    return "\n".join(lines) + "\n"


def _edges(fits) -> str:
    """A sentence naming the fits (on all pilots) with parameters on the edge of their range (`lrc.fit`'s
    `at_bounds`): such a law is at its limit, and a schedule derived from it is an extrapolation."""
    edges = {k: v.get("at_bounds") for k, v in fits.items() if "error" not in v}
    named = [f"{k} ({', '.join(e)})" for k, e in edges.items() if e]
    if any(e is None for e in edges.values()):  # a results.json written before the field existed
        return "Parameters on the edge of their range: not recorded in this results.json."
    if not named:
        return "No fit ends with a parameter on the edge of its range."
    return ("Fits with parameters on the edge of their range (a law at its limit; what it derives is an "
            "extrapolation): " + ", ".join(named) + ".")


def main(argv=None):
    ap = arguments(__doc__)
    ap.add_argument("--quick", action="store_true", help="the CPU setting (shakespeare: a small model, 600 "
                    "updates; digits: 2000 updates, 8 seeds)")
    ap.add_argument("--task", choices=tuple(SETTINGS), default="shakespeare",
                    help="what is trained: the character transformer on Shakespeare (default) or the cheaper MLP on "
                         "8×8 digits (needs scikit-learn)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    out = results_folder(args.out or Path(__file__).resolve().parent / "results" / OUT[args.task])
    res = run(mode, out, progress=not args.no_progress, task=args.task)
    print(table(res))


if __name__ == "__main__":
    main()
