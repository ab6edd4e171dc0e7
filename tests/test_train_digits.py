"""The training harness on its cheaper task, the digits MLP (`TrainConfig(task="digits")`), and the schedule
pipeline of problems/transformer_schedules.py run end to end on it (a few dozen updates).

Needs scikit-learn (the extra `[test]` has it), not the Shakespeare extra: these run wherever the tests do.
"""

import json

import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("sklearn")

import lrcontrol as lrc  # noqa: E402
from lrcontrol.train import TrainConfig, train  # noqa: E402

from helpers import check_schedule_pipeline, problem_script  # noqa: E402

CONFIG = TrainConfig(task="digits", size="tiny", steps=60, batch=8, eval_every=20, val_windows=100)


def test_digits_split_is_fixed_and_disjoint():
    from lrcontrol.train.tasks import _digits_split

    x, y, vx, vy = _digits_split(0.25)
    assert len(y) + len(vy) == 1797 and len(vy) == 449
    assert x.shape[1] == vx.shape[1] == 64 and np.abs(x.mean(axis=0)).max() < 1e-6  # centred on the training set
    assert set(np.unique(vy)) == set(range(10))
    train_rows = {row.tobytes() for row in x}
    assert sum(row.tobytes() in train_rows for row in vx) <= 5  # held-out images (a few digits repeat exactly)


def test_digits_run_is_repeatable_resumable_and_learns(tmp_path):
    a = train(CONFIG, "cosine", 2, tmp_path / "a.csv", peak=3e-2, warmup=5, progress=False)
    b = train(CONFIG, "cosine", 2, tmp_path / "b.csv", peak=3e-2, warmup=5, progress=False, stop_after=20)
    assert list(b.curve.steps) == [19]
    train(CONFIG, "cosine", 2, tmp_path / "b.csv", peak=3e-2, warmup=5, progress=False)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert list(a.curve.steps) == [19, 39, 59]
    assert a.curve.losses[-1] < 0.5 * np.log(10)  # well below chance (log 10 nats) after 60 updates
    other = train(CONFIG, "cosine", 3, None, peak=3e-2, warmup=5, progress=False)
    assert not np.array_equal(other.curve.losses, a.curve.losses)
    meta = json.loads((tmp_path / "a.csv.json").read_text())
    assert meta["run"]["config"]["task"] == "digits" and meta["parameters"] == 64 * 16 + 16 + 16 * 10 + 10


def test_digits_inputs_are_checked():
    with pytest.raises(lrc.InputError, match="task must be one of shakespeare, digits"):
        TrainConfig(task="cifar")
    with pytest.raises(lrc.InputError, match="size must be one of .* for the task 'digits'"):
        TrainConfig(task="digits", size="huge")
    with pytest.raises(lrc.InputError, match="val_windows must be at most 180"):
        train(TrainConfig(task="digits", size="tiny", steps=4, eval_every=2, val_windows=500), "constant", 0,
              None, peak=1e-2, progress=False)


def test_pipeline_end_to_end_on_digits(tmp_path):
    ts = problem_script("transformer_schedules")
    res = ts.run("test", tmp_path, laws_to_fit=("bound_law",), progress=False, task="digits")
    assert res["setup"]["task"] == "digits"
    check_schedule_pipeline(ts, res, tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# Digits-MLP schedules (test)") and "--task digits" in readme


def test_pilot_peaks_names_the_pilot_nearest_each_optimum(monkeypatch):
    pp = problem_script("pilot_peaks")
    n, p0 = 10, 1.0
    pilots = {"pilot constant @1P0": np.full(n, 1.0), "pilot constant @4P0": np.full(n, 4.0)}
    # a fake law whose optimum at each peak is the constant there, predicted lower the higher the peak
    monkeypatch.setattr(pp.ts, "derive", lambda law, n_, w, peak: (np.full(n_, peak), {"predicted_final": -peak}))
    g, best, by_peak = pp.derive_in_range(None, n, 0, p0, [1.0, 1.5, 4.0], pilots, ["pilot constant @4P0"])
    assert g == 4.0 and best[1]["predicted_final"] == -4.0
    # constants a and b: distance |a − b| / max(a, b)
    assert by_peak[1.5]["nearest_pilot"] == "pilot constant @1P0" and by_peak[1.5]["distance"] == pytest.approx(1 / 3)
    assert by_peak[4.0]["nearest_pilot"] == "pilot constant @4P0" and by_peak[4.0]["distance"] == pytest.approx(0)
    assert by_peak[1.5]["nearest_pilot_explained"] and not by_peak[4.0]["nearest_pilot_explained"]


def test_pilot_peaks_end_to_end_on_digits(tmp_path):
    from lrcontrol._cli_laws import law_class
    from lrcontrol._fit import evaluate_law

    pp = problem_script("pilot_peaks")
    laws = ("bound_law", "momentum_law")
    res = pp.run("test", tmp_path, laws_to_fit=laws, progress=False, task="digits", replicate=2, twins=1)
    pilots = list(res["pilots"])
    assert len(pilots) == 2 * len(res["setup"]["pilot_peak_multiples"])
    # selection: every pilot held out once, the mean of those scores, the lowest mean selected
    sel = res["law_selection"]
    for law in laws:
        scores = sel["scores"][law]
        assert set(scores["per_held_out_pilot"]) == set(pilots)
        assert scores["mean_PredE"] == pytest.approx(np.mean(list(scores["per_held_out_pilot"].values())))
    assert sel["selected"] == min(laws, key=lambda m: sel["scores"][m]["mean_PredE"])
    runs = {c: lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(c, 0)) for c in pilots}
    # the pilot nearest each derived schedule: the exact relative L1 distance of the rates (run files) agrees with
    # the profiles' on which pilot it is
    for derived_run, d in res["derived"].items():
        rates = lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(derived_run, 1)).lr
        dist = {c: np.abs(rates - runs[c].lr).sum() / max(rates.sum(), runs[c].lr.sum()) for c in pilots}
        nearest = res["derive_candidates"][d["law"]][f"{d['peak_multiple']:g}"]
        assert nearest["nearest_pilot"] == min(dist, key=dist.get)
        assert nearest["distance"] == pytest.approx(min(dist.values()), abs=0.02)
        unexplained = res["fits"][d["law"]]["unexplained"]
        assert nearest["nearest_pilot_explained"] == (nearest["nearest_pilot"] not in unexplained)
    # validation: each derived schedule's mean over the tuning seeds (run files), the lowest of them and the tuned
    # baselines kept, and compared on the final seeds
    val, tuning_seeds = res["validation"], res["setup"]["tuning_seeds"]
    for d in res["derived"]:
        finals_d = [lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(d, s)).losses[-1] for s in tuning_seeds]
        assert val["tuning_mean_final_val_loss"][d] == pytest.approx(np.mean(finals_d), rel=1e-6)
    assert set(val["pool"]) == set(res["derived"]) | {f"{b} @{g:g}P0" for b, g in res["best_peak_multiple"].items()}
    assert val["pick"] == min(val["pool"], key=val["pool"].get)
    if val["pick"] == res["best_baseline"]:
        assert val["final_against_best_baseline"] is None
    else:
        diff = np.subtract(res["final_val_loss"][val["pick"]]["per_seed"],
                           res["final_val_loss"][res["best_baseline"]]["per_seed"])
        assert val["final_against_best_baseline"]["mean_difference"] == pytest.approx(diff.mean())
    # the same on fresh seeds (neither tuning nor final ones), the tuned baselines trained there too
    fresh = res["validation_fresh_seeds"]
    replication_seeds = {s for c in res["replication"].values() for s in c["seeds"]}
    assert not set(fresh["seeds"]) & (set(tuning_seeds) | set(res["setup"]["final_seeds"]) | replication_seeds)
    assert set(fresh["mean_final_val_loss"]) == set(val["pool"])
    for x, mean in fresh["mean_final_val_loss"].items():
        finals_x = [lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(x, s)).losses[-1] for s in fresh["seeds"]]
        assert mean == pytest.approx(np.mean(finals_x), rel=1e-6)
    assert fresh["pick"] == min(fresh["mean_final_val_loss"], key=fresh["mean_final_val_loss"].get)
    # one held-out score recomputed from the run files: fitted to the other pilots' curves only
    held = pilots[0]
    law, _ = lrc.fit(law_class("momentum_law"), [runs[c] for c in pilots if c != held])
    score = next(iter(evaluate_law(law, [runs[held]]).values()))["PredE"]
    assert score == pytest.approx(sel["scores"]["momentum_law"]["per_held_out_pilot"][held], rel=1e-6)
    # the held-out pilot's relative final-loss error (reported beside the selection), from the same fit
    last = float(law.predict(jnp.asarray(runs[held].lr), jnp.asarray(runs[held].steps[-1:]))[0])
    error = abs(last - runs[held].losses[-1]) / runs[held].losses[-1]
    scores = sel["scores"]["momentum_law"]
    assert scores["final_error_per_held_out_pilot"][held] == pytest.approx(error, rel=1e-6)
    assert scores["mean_final_error"] == pytest.approx(np.mean(list(scores["final_error_per_held_out_pilot"].values())))
    # each law's derived schedule: the peak (within the pilots' range) with the lowest predicted final loss
    lo, hi = res["setup"]["pilot_peak_multiples"][0], res["setup"]["pilot_peak_multiples"][-1]
    for name, d in res["derived"].items():
        assert lo <= d["peak_multiple"] <= hi and d["selected"] == (d["law"] == sel["selected"])
        by_peak = res["derive_candidates"][d["law"]].values()
        assert d["predicted_final"] == pytest.approx(min(c["predicted_final"] for c in by_peak))
    # each law's pick scored by the tuning runs; the paired comparison and the final errors as defined
    tuning = res["tuning_mean_final_val_loss"]
    for p in res["law_picks"].values():
        assert p["regret"] == pytest.approx(tuning[p["pick"]] - min(tuning.values())) and p["regret"] >= 0
    finals = res["final_val_loss"]
    for d, c in res["comparisons"].items():
        diff = np.subtract(finals[d]["per_seed"], finals[res["best_baseline"]]["per_seed"])
        assert c["mean_difference"] == pytest.approx(diff.mean())
    # a winning derived schedule is trained again on seeds the comparison never used
    final_seeds = res["setup"]["final_seeds"]
    assert set(res["replication"]) == {d for d, c in res["comparisons"].items()  # single-run or ensemble wins
                                       if "wins" in (c["verdict"], res["ensemble"]["comparisons"][d]["verdict"])}
    for c in res["replication"].values():
        assert c["seeds"] == [final_seeds[-1] + 1, final_seeds[-1] + 2] and c["against"] == res["best_baseline"]
    # one round-off twin of every final run, read back from its file: the ensemble means and verdicts from them
    ens = res["ensemble"]
    per_seed = {}
    factor = pp.twin(np.ones(1), 0)[0]  # twin 0's 1 + 10⁻⁶
    for name, v in finals.items():
        curves = [lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(f"{name} twin 0", s)) for s in final_seeds]
        first = lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(name, final_seeds[0]))
        assert np.allclose(curves[0].lr, first.lr * factor, rtol=1e-15, atol=0) and factor != 1
        per_seed[name] = (np.array(v["per_seed"]) + [c.losses[-1] for c in curves]) / 2
        assert ens["mean_final_val_loss"][name] == pytest.approx(per_seed[name].mean(), rel=1e-12)
    assert ens["best_baseline"] == min((x for x in finals if x not in res["derived"]),
                                       key=lambda x: per_seed[x].mean())
    v = ens["validation_fresh_seeds"]  # the fresh-seed validation on the runs and their twins, read back
    for name, mean in v["mean_final_val_loss"].items():
        runs = [lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(label, s)).losses[-1]
                for label in (name, f"{name} twin 0") for s in v["seeds"]]
        assert mean == pytest.approx(np.mean(runs), rel=1e-12)
    assert v["pick"] == min(v["mean_final_val_loss"], key=v["mean_final_val_loss"].get)
    for d, c in ens["comparisons"].items():
        diff = per_seed[d] - per_seed[ens["best_baseline"]]
        assert c["mean_difference"] == pytest.approx(diff.mean(), rel=1e-9)
        assert c["standard_error"] == pytest.approx(diff.std(ddof=1) / np.sqrt(diff.size), rel=1e-9)
        assert c["verdict"] == pp.ts.verdict(c["mean_difference"], c["standard_error"])
    err = res["final_errors"]["all pilots"]["momentum_law"]["final_error"]
    for name, e in err.items():
        assert e == pytest.approx(res["predicted_final_val_loss"][name]["momentum_law"] - finals[name]["mean"])
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# Pilots at several peaks (digits, test)") and (tmp_path / "pilot_peaks.png").exists()
    # the momentum law with λ held at 0.999, on these pilots (two-stage ones trained where missing)
    mdf = problem_script("momentum_decay_fixed")
    got = mdf.run(tmp_path / "fixed", source=tmp_path, mode="test", variants={"λ = 0.999": {"decay": 0.999}})
    v = got["variants"]["λ = 0.999"]
    assert v["params"]["decay"] == 0.999 and v["fixed"] == {"decay": 0.999}
    assert set(v["loo_PredE"]) == set(got["setup"]["pilots"]) and len(got["setup"]["pilots"]) == 6
    assert v["predicted_final"] == min(v["predicted_final_by_peak"].values())
    name = f"momentum law, decay 0.999, @{v['peak_multiple']:g}P0"
    finals_v = [lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(name, s)).losses[-1] for s in final_seeds]
    assert v["final_val_loss"]["mean"] == pytest.approx(np.mean(finals_v), rel=1e-6)
    assert v["against_baseline"]["mean_difference"] == pytest.approx(
        np.mean(finals_v) - res["final_val_loss"][res["best_baseline"]]["mean"], rel=1e-6)
    assert (tmp_path / "fixed" / "README.md").read_text().count("\n| λ = 0.999 |") == 1
    law = lrc.systems.MomentumLaw(**v["params"])  # each pilot's final loss under the fitted law, from its run file
    for c, (predicted, observed) in v["pilot_final_predicted_observed"].items():
        curve = lrc.LossCurve.read(tmp_path / "runs" / pp.ts.run_file(c, 0))
        assert observed == curve.losses[-1] and predicted == pytest.approx(float(law.final_loss(curve.lr)), rel=1e-9)


def test_schedule_sensitivity_small(tmp_path):
    """problems/schedule_sensitivity.py on the test setting: perturbations as documented, the ensemble bookkeeping
    consistent with the runs, every run reproducible."""
    ss = problem_script("schedule_sensitivity")
    rates = np.linspace(1.0, 2.0, 50)
    up, ind = ss.perturbed(rates, "uniform", 1e-3, 3), ss.perturbed(rates, "independent", 1e-3, 3)
    assert np.ptp(up / rates) == 0 and up[0] != rates[0]  # one factor for the whole schedule
    assert np.ptp(ind / rates) > 0 and np.allclose(ss.perturbed(rates, "independent", 2e-3, 3) / rates - 1,
                                                     2 * (ind / rates - 1))  # the same z at every ε
    # a derived schedule read from a run file, copied, and read back from the copy when the run file is gone
    source, kept = tmp_path / "run.csv", tmp_path / "kept.csv"
    source.write_text("step,lr,loss\n" + "".join(f"{k},{float(r)!r},\n" for k, r in enumerate(rates)))
    got, where = ss.derived_rates(source, kept, rates.size)
    assert np.array_equal(got, rates) and where == source and kept.exists()
    source.unlink()
    got, where = ss.derived_rates(source, kept, rates.size)
    assert np.array_equal(got, rates) and where == kept
    with pytest.raises(SystemExit, match="holds 50 updates"):
        ss.derived_rates(source, kept, 60)
    ts = ss.ts
    n, w, p0 = (ts.SETTINGS["digits"]["test"][i] for i in (1, 5, 6))
    res = ss.run(tmp_path, eps=(1e-7, 1e-3), draws=2, seeds=(1, 2), progress=False, mode="test",
                 derived={"derived linear": ts.base_rates("linear 0", n, w, 4 * p0)})
    sch = res["schedules"]
    assert set(sch) == {"cosine 0 @1P0", ss.BASELINE, "derived linear"}
    config = TrainConfig(task="digits", size="tiny", steps=n, batch=8, eval_every=8, val_windows=64, val_fraction=0.25)
    for name, entry in sch.items():
        assert entry["retrained_seed_equal"] and set(entry["cases"]) == {"independent 1e-07", "independent 0.001",
                                                                         "uniform 1e-07", "uniform 0.001"}
    # one perturbed run retrained here: its difference is the one recorded
    again = train(config, ss.perturbed(ts.base_rates("cosine 0", n, w, 8 * p0), "uniform", 1e-3, 1), 2,
                  progress=False).final_val_loss
    assert again - sch[ss.BASELINE]["unperturbed"][1] == sch[ss.BASELINE]["cases"]["uniform 0.001"]["differences"][1][1]
    ens = res["ensemble"]
    for name, entry in sch.items():
        runs = np.concatenate([np.array(c["differences"]) + entry["unperturbed"] for c in entry["cases"].values()])
        assert ens["luck"][name]["ensemble_mean"] == pytest.approx(runs.mean(), rel=1e-12)
        assert ens["luck"][name]["runs_per_seed"] == 8
    c = ens["against_baseline"]["derived linear"]
    assert c["ensemble"]["mean_difference"] == pytest.approx(
        ens["luck"]["derived linear"]["ensemble_mean"] - ens["luck"][ss.BASELINE]["ensemble_mean"], rel=1e-9)
    assert (tmp_path / "README.md").read_text().startswith("# Schedule sensitivity (digits)")
    assert (tmp_path / "sensitivity.png").exists()
