"""Multi-power law, loss curves, fitting, schedules under a law, and the fit/predict/solve-law CLI (issue 16)."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol import cli
from lrcontrol import _fit
from lrcontrol._fit import EDGE, at_bounds, evaluate_law, outside_pilots, pilot_range
from lrcontrol.systems.law_schedule import LawSchedule, baseline_rates, baselines, optimise
from lrcontrol.systems.law_staircase import supported

SHIPPED = Path(__file__).resolve().parents[1] / "problems" / "data" / "mpl" / "25"
SHARED = Path("/work/shared/data/mpl")
PUB25 = [3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257]
LAW = lrc.systems.MultiPowerLaw(*PUB25)


def _schedule(n=300, warm=30, kind="cosine"):
    x = np.arange(n - warm) / (n - warm - 1)
    post = {"cosine": 3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + np.cos(np.pi * x)), "constant": np.full(n - warm, 3e-4),
            "step": np.where(x < 0.5, 3e-4, 9e-5)}[kind]
    return np.concatenate([3e-4 * np.arange(warm) / (warm - 1), post])


def test_final_loss_gradient_and_curvature():
    eta = jnp.asarray(_schedule(60, 6) * np.linspace(1, 0.7, 60))
    v, g, h = LAW.final_loss_grad_curvature(eta)
    # the O(N) final loss against the direct O(N·M) sum of predict
    assert abs(float(v) - float(LAW.predict(eta, jnp.array([59]))[0])) < 1e-13
    assert jnp.allclose(g, jax.grad(LAW.final_loss)(eta), rtol=1e-12, atol=1e-12 * float(jnp.max(jnp.abs(g))))
    hd = jnp.diag(jax.hessian(LAW.final_loss)(eta))
    assert float(jnp.max(jnp.abs(h - hd)) / jnp.max(jnp.abs(hd))) < 1e-12
    # central finite differences (step 1e-9 on rates ~1e-4: truncation and round-off both ~1e-7 relative)
    for j in (3, 30, 59):
        e = jnp.zeros(60).at[j].set(1e-9)
        fd = (LAW.final_loss(eta + e) - LAW.final_loss(eta - e)) / 2e-9
        assert abs(float(fd - g[j])) < 1e-5 * float(jnp.max(jnp.abs(g)))


def test_predict_jacobian_and_vmap():
    lr = jnp.asarray(_schedule(150, 15, "step"))
    steps = jnp.arange(14, 150, 15)
    pred, jac = LAW.predict_jacobian(lr, steps)
    ref = jax.jacfwd(lambda th: lrc.systems.MultiPowerLaw.from_vector(th).predict(lr, steps))(LAW.to_vector())
    assert jnp.allclose(jac, ref, rtol=1e-10, atol=1e-12)
    thetas = jnp.stack([LAW.to_vector(), LAW.to_vector().at[0].add(0.1)])
    batch = jax.vmap(lambda th: lrc.systems.MultiPowerLaw.from_vector(th).final_loss(lr))(thetas)
    assert abs(float(batch[1] - batch[0]) - 0.1) < 1e-12 and abs(float(batch[0]) - float(pred[-1])) < 1e-13


def test_predict_keeps_the_callers_step_order():
    # the numpy plan sorts the steps and the sums are mapped back; the traced path (under jit) never sorts
    lr = jnp.asarray(_schedule(300, 30, "cosine"))
    steps = np.array([299, 5, 150, 40, 40, 220, 1])
    sorted_pred = np.asarray(LAW.predict(lr, jnp.asarray(np.sort(steps))))
    expected = sorted_pred[np.searchsorted(np.sort(steps), steps)]
    np.testing.assert_array_equal(np.asarray(LAW.predict(lr, jnp.asarray(steps))), expected)
    traced = jax.jit(lambda r: LAW.predict(r, jnp.asarray(steps)))(lr)
    np.testing.assert_allclose(np.asarray(traced), expected, rtol=1e-13)


def test_published_prede_reproduced():
    # data/README.md: the published 25M parameters give held-out PredE 0.00110 (mean of six curves)
    if (SHARED / "25").exists():
        names = ["constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_18"]
        curves = [lrc.LossCurve.read(SHARED / "25" / f"{n}.csv") for n in names]
        m = evaluate_law(LAW, curves)
        assert round(np.mean([v["PredE"] for v in m.values()]), 5) == 0.00110
    m = evaluate_law(LAW, [lrc.LossCurve.read(SHIPPED / "wsd_20000_24000.csv")])  # the shipped held-out curve
    assert abs(m["wsd_20000_24000"]["PredE"] - 0.000999) < 1e-6


def test_curve_files(tmp_path):
    p = tmp_path / "sparse.csv"
    p.write_text("step,lr,loss\n0,0.0,\n10,1.0,5.0\n20,0.5,4.0\n")
    c = lrc.LossCurve.read(p)
    assert c.horizon == 21 and c.lr[5] == 0.5 and c.lr[15] == 0.75 and list(c.steps) == [10, 20]
    c.write(tmp_path / "dense.csv")
    d = lrc.LossCurve.read(tmp_path / "dense.csv")
    assert np.array_equal(d.lr, c.lr) and np.array_equal(d.losses, c.losses)
    w = tmp_path / "wandb.csv"  # a resumed run logs step 2 twice: the last row wins
    w.write_text("iter,train_loss,train_lr,other\n0,9,0.1,x\n1,8,0.1,x\n2,7,0.1,x\n2,6.5,0.1,x\n3,6,0.1,x\n")
    c = lrc.LossCurve.read(w)
    assert list(c.steps) == [0, 1, 2, 3] and c.losses[2] == 6.5
    w.write_text("iter,train_lr,train_loss,val_loss\n0,0.1,9,9.5\n1,0.1,8,8.5\n")  # both: train_loss
    assert lrc.LossCurve.read(w).losses.tolist() == [9, 8]
    w.write_text("iter,train_lr,train_loss,val_loss\n0,0.1,,9.5\n1,0.1,,8.5\n")  # an empty train_loss: val_loss
    assert lrc.LossCurve.read(w).losses.tolist() == [9.5, 8.5]
    bad = {"step,lr\n0,1\n": "columns", "step,lr,loss\n0,1,2\n0,1,2\n": "increase",
           "step,lr,loss\n0,-1,2\n": "lr must be >= 0", "step,lr,loss\n0,1,0\n": "loss must",
           "step,lr,loss\n0,nan,1\n": "lr must be finite", "step,lr,loss\n0,1,nan\n": "loss must",
           "step,lr,loss\n0,1," + "1" * 200_000 + "\n": "is not a CSV file",  # beyond csv's field limit
           "x" * 500 + "\n": "its header is '" + "x" * 80 + "…'"}  # a long first line, shortened
    for text, words in bad.items():
        p.write_text(text)
        with pytest.raises(lrc.InputError, match=words):
            lrc.LossCurve.read(p)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Three 200-step curves made by the published law (logged every 10 steps), written as CSV files."""
    folder = tmp_path_factory.mktemp("curves")
    paths = []
    for kind in ("cosine", "constant", "step"):
        lr = _schedule(200, 20, kind)
        steps = np.arange(29, 200, 10)
        c = lrc.LossCurve(lr, steps, np.asarray(LAW.predict(jnp.asarray(lr), jnp.asarray(steps))), kind)
        paths.append(c.write(folder / f"{kind}.csv"))
    return paths


def test_fit_recovers_noise_free_curves(synthetic):
    curves = [lrc.LossCurve.read(p) for p in synthetic]
    law, report = lrc.fit(lrc.systems.MultiPowerLaw, curves, starts=1)
    assert all(m["PredE"] < 2e-5 for m in report.metrics.values())  # measured ~1e-6 (parameters not identified)
    assert set(report.standard_errors) == set(law.param_names)
    pred, lo, hi = report.band(curves[0].lr, curves[0].steps)
    assert jnp.all(lo <= pred) and jnp.all(pred <= hi)
    for name in law.param_names:  # kept inside the valid ranges
        lo_, hi_ = law.param_ranges[name]
        assert (lo_ is None or report.params[name] > lo_) and (hi_ is None or report.params[name] < hi_)
    assert report.to_dict()["at_bounds"] == list(report.at_bounds)
    # other curves of the same shapes reuse the compiled programs, with their own data (nothing of the first fit
    # baked in): curves of another law are fitted as well
    other = lrc.systems.MultiPowerLaw(**{**LAW.params(), "L0": 2.5, "B": 200.0})
    shifted = [lrc.LossCurve(c.lr, c.steps, np.asarray(other.predict(jnp.asarray(c.lr), jnp.asarray(c.steps))),
                             c.name) for c in curves]
    hits = _fit._programs.cache_info().hits
    _, again = lrc.fit(lrc.systems.MultiPowerLaw, shifted, starts=1)
    assert _fit._programs.cache_info().hits == hits + 1
    assert all(m["PredE"] < 2e-5 for m in again.metrics.values())
    assert abs(again.params["L0"] - 2.5) < 1e-3  # the first fit's: 3.04
    with pytest.raises(lrc.InputError, match="at least as many"):
        lrc.fit(lrc.systems.MultiPowerLaw, [lrc.LossCurve(np.ones(5), [1, 2], [3.0, 2.0])])


def test_fit_with_a_parameter_held_fixed(tmp_path, capsys):
    # curves of a momentum law with the paper's decay λ = 0.999: fitted with λ held there, the other four
    # parameters come back; λ is reported as given, with no standard error, and counts for nothing in the fit
    def curves_of(law):
        out = []
        for kind in ("cosine", "constant", "step"):
            lr, steps = _schedule(400, 40, kind), np.arange(39, 400, 10)
            out.append(lrc.LossCurve(lr, steps, np.asarray(law.predict(jnp.asarray(lr), jnp.asarray(steps))), kind))
        return out

    true = lrc.systems.MomentumLaw(L0=2.8, A=0.6, alpha=0.45, C=0.4, decay=0.999)
    curves = curves_of(true)
    law, report = lrc.fit(lrc.systems.MomentumLaw, curves, fixed={"decay": 0.999})
    assert report.params["decay"] == 0.999 and report.standard_errors["decay"] == 0.0
    assert report.fixed == {"decay": 0.999} == report.to_dict()["fixed"]
    assert all("decay" not in start["start"] for start in report.starts)
    for name, value in true.params().items():
        assert report.params[name] == pytest.approx(value, rel=1e-4), name
    assert all(m["PredE"] < 1e-6 for m in report.metrics.values())
    pred, lo, hi = report.band(curves[0].lr, curves[0].steps)  # the band varies the free parameters only
    assert jnp.allclose(pred, law.predict(jnp.asarray(curves[0].lr), jnp.asarray(curves[0].steps)), rtol=1e-12)
    assert jnp.all(lo <= pred) and jnp.all(pred <= hi)
    # one point per free parameter is enough: 4 points fit the four free parameters
    lr4 = _schedule(50, 5, "step")
    lrc.fit(lrc.systems.MomentumLaw, [lrc.LossCurve(lr4, [10, 20, 30, 49], [3.0, 2.9, 2.8, 2.7])],
            fixed={"decay": 0.999})
    bad = [({"gamma": 0.5}, "'gamma' is not a parameter of momentum_law"), ({"decay": 1.5}, "decay must be"),
           ({n: v for n, v in true.params().items()}, "every parameter of momentum_law is fixed")]
    for fixed, words in bad:
        with pytest.raises(lrc.InputError, match=words):
            lrc.fit(lrc.systems.MomentumLaw, curves, fixed=fixed)
    # the command: --fix NAME=VALUE, recorded in law.json
    import json

    files = [c.write(tmp_path / f"{c.name}.csv") for c in curves]
    out = tmp_path / "fit"
    code, io = _run(["fit", "--law", "momentum_law", "--fix", "decay=0.999", "--out", str(out), "--quiet"]
                    + [a for f in files for a in ("--curve", str(f))], capsys)
    law_json = json.loads((out / "law.json").read_text())
    assert code == 0 and law_json["fit"]["fixed"] == {"decay": 0.999} and law_json["params"]["decay"] == 0.999
    for fix, words in (("decay", "--fix needs NAME=VALUE"), ("decay=x", "--fix decay: 'x' is not a number"),
                       ("nope=1", "'nope' is not a parameter"), ("decay=nan", "decay must be"),
                       ("decay=inf", "decay must be"), ("decay=0.9 --fix decay=0.99", "decay is given twice")):
        fixes = [a for f in fix.split(" --fix ") for a in ("--fix", f)]
        code, io = _run(["fit", "--law", "momentum_law", *fixes, "--curve", str(files[0]), "--out",
                         str(tmp_path / "never")], capsys)
        assert code == 2 and words in io.err and io.err.count("\n") == 1 and not (tmp_path / "never").exists()
    # a decay fixed on the edge of its range (within 1e-4 of 1) is the user's choice: solve does not call it a fit
    # at the law's limit
    edge = tmp_path / "edge"
    near_one = lrc.systems.MomentumLaw(**{**true.params(), "decay": 0.99995})
    files = [c.write(tmp_path / f"edge-{c.name}.csv") for c in curves_of(near_one)]
    _run(["fit", "--law", "momentum_law", "--fix", "decay=0.99995", "--out", str(edge), "--quiet"]
         + [a for f in files for a in ("--curve", str(f))], capsys)
    code, io = _run(["solve", "momentum_law", "--law", str(edge / "law.json"), "--set", "horizon=400", "--set",
                     "warmup=40", "--set", "peak=3e-4", "--out", str(tmp_path / "sol"), "--quiet"], capsys)
    assert code == 0 and "on the edge" not in io.err
    assert json.loads((tmp_path / "sol" / "solution.json").read_text())["law_at_bounds"] == []


def test_fit_survives_a_run_that_leaves_through_a_flat_direction(synthetic, monkeypatch):
    # The FSL law fitted to digits pilots at three peaks (problems/pilot_peaks.py): Levenberg–Marquardt on all
    # points walked from the thinned points' end (loss 0.039) along c2 → ∞, c3 → 0 into overflow (loss 142), and
    # the Jacobian there made the standard errors' SVD raise. Both are simulated here on the bound law (its three
    # curves of 18 points are thinned, so the fit has that second run).
    curves = [lrc.LossCurve.read(p) for p in synthetic]
    law_class = lrc.systems.BoundLaw
    real = _fit._programs

    def diverging(*args):
        jacobian, screen, run_coarse, _ = real(*args)
        return jacobian, screen, run_coarse, lambda z0, d: (jnp.full_like(z0, jnp.nan), jnp.asarray(True), 7)

    monkeypatch.setattr(_fit, "_programs", diverging)
    _, report = lrc.fit(law_class, curves, starts=1)
    assert not report.converged and "is kept" in report.message
    assert report.objective == pytest.approx(report.starts[0]["objective"]) and np.isfinite(report.objective)

    def overflowing(*args):
        jacobian, screen, run_coarse, run_all = real(*args)
        return (lambda z, d: (jacobian(z, d)[0], jacobian(z, d)[1].at[0, 0].set(jnp.inf)), screen, run_coarse,
                run_all)

    monkeypatch.setattr(_fit, "_programs", overflowing)
    _, report = lrc.fit(law_class, curves, starts=1)
    assert all(v == np.inf for v in report.standard_errors.values())  # undetermined, not an exception


def test_parameters_on_the_edge_of_their_range_are_named():
    # the MPL fit to the character transformer's pilots (problems/results/transformer_staircase) ended with β and γ
    # at 1 − 8e-7 and 1 − 2.5e-7; the schedule optimised under it fell to the minimum rate after the warm-up
    mpl = lrc.systems.MultiPowerLaw
    inside = np.asarray(LAW.to_vector())
    assert at_bounds(mpl, inside) == ()
    edge = inside.copy()
    edge[mpl.param_names.index("beta")] = 1 - 8e-7
    edge[mpl.param_names.index("C")] = 1e-12  # a half-line parameter driven onto its end, 0
    assert at_bounds(mpl, edge) == ("C", "beta")
    edge[mpl.param_names.index("beta")] = 1 - 2 * EDGE  # near, not on, the edge
    assert at_bounds(mpl, edge) == ("C",)
    edge[mpl.param_names.index("C")] = 1e25  # gone toward the half-line's open end (the FSL law's c3 went to 1e240)
    assert at_bounds(mpl, edge) == ("C",)


def test_monotone_schedule_beats_tuned_baselines():
    n, w = 600, 60
    system = LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True)
    sol = lrc.solve(system.problem(n), lrc.solvers.Direct(), progress=False)
    rates = np.asarray(system.rates(sol.controls))
    value = float(LAW.final_loss(jnp.asarray(rates)))
    assert np.all(np.diff(rates[w:]) <= 0) and np.allclose(rates[:w], 3e-4 * np.arange(w) / (w - 1))
    # the rates, not the log-decrements (Solution.schedule computes them in one compiled call, `rates` op by op:
    # the same formula, apart by an ulp where XLA fuses the warm-up's product and quotient)
    np.testing.assert_allclose(np.asarray(sol.schedule.values), rates, rtol=4e-16, atol=0)
    assert "unbounded" not in sol.diagnostics.message  # the decrements are bounded (MAX_LOG_DECREMENT)
    base = baselines(LAW, n, w, 3e-4, 1e-10)
    base.pop("_rates")
    assert value < min(b["final_loss"] for b in base.values())


def test_max_fall_bounds_each_update_and_rules_out_the_staircase():
    n, w, f = 600, 60, 0.1
    system = LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True, max_fall=f)
    assert system.bounds()["lr"] == (0.0, pytest.approx(-np.log(1 - f), rel=1e-15))
    assert not supported(system) and supported(LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True))
    sol, how = optimise(system, n)
    above = np.asarray(system.rates(sol.controls))[w:] - 1e-10
    assert np.all(above[1:] >= (1 - f) * above[:-1] * (1 - 1e-12))  # no update sheds more than f of the rate
    assert how["staircase"] is None
    base = {k: v["final_loss"] for k, v in how["baselines"].items() if k != "_rates"}
    value = float(LAW.final_loss(system.rates(sol.controls)))
    # the limit binds somewhere (the unconstrained optimum is a staircase: measured, falls of exactly f in a run of
    # updates), and the limited optimum still beats tuned cosine and linear under the law
    assert np.isclose(np.min(above[1:] / above[:-1]), 1 - f, rtol=1e-9)
    assert value < base["cosine"] and value < base["linear"]
    with pytest.raises(lrc.InputError, match="max_fall"):
        LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True, max_fall=0.0)
    with pytest.raises(lrc.InputError, match="max_fall"):
        LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True, max_fall=1.5)
    with pytest.raises(lrc.InputError, match="monotone"):
        LawSchedule(LAW, w, 3e-4, 1e-10, monotone=False, max_fall=0.5)


def test_optimise_never_loses_to_a_tuned_baseline():
    # the momentum law fitted to the 25M curves (problems/loss_curve_laws.py): from the WSD start alone the solver
    # had ended above its tuned WSD baseline; `optimise` also starts from that baseline and only descends
    law = lrc.systems.MomentumLaw(L0=3.0374398, A=0.52113362, alpha=0.50556166, C=1.6437396, decay=0.99570558)
    n, w = 600, 60
    system = LawSchedule(law, w, 3e-4, 1e-10, monotone=True)
    sol, how = optimise(system, n)
    value = float(law.final_loss(system.rates(sol.controls)))
    base = {k: v["final_loss"] for k, v in how["baselines"].items() if k != "_rates"}
    assert value <= min(base.values()) and value == min(how["final_loss"].values())
    assert np.isfinite(np.asarray(sol.loss)).all() and "non-finite" not in sol.diagnostics.message


def _run(argv, capsys):
    code = cli.main(argv)
    return code, capsys.readouterr()


def test_cli_fit_says_when_it_stops_at_its_cap(synthetic, tmp_path, capsys):
    # --max-steps caps the Levenberg–Marquardt stages; a fit that reaches the cap says so (stderr, law.json), and a
    # cap below one step is bad input (exit 2, nothing written); a converged fit says nothing
    # (test_cli_fit_predict_solve)
    import json

    curves = [a for f in synthetic for a in ("--curve", str(f))]
    code, io = _run(["fit", "--law", "bound_law", "--max-steps", "1", "--out", str(tmp_path / "capped"), "--quiet",
                     *curves], capsys)
    fit = json.loads((tmp_path / "capped" / "law.json").read_text())["fit"]
    assert code == 3 and fit["converged"] is False and "not converged in 1 Levenberg" in fit["message"]
    assert "stopped at its cap of 1 Levenberg–Marquardt step before" in io.err and "--max-steps raises" in io.err
    code, io = _run(["fit", "--law", "bound_law", "--max-steps", "0", "--out", str(tmp_path / "never"), *curves],
                    capsys)
    assert code == 2 and "--max-steps must be a whole number of steps >= 1 (at most 2147483647), got 0." in io.err
    assert io.err.count("\n") == 1 and not (tmp_path / "never").exists()


def test_cli_fit_names_a_curve_the_law_does_not_follow(synthetic, tmp_path, capsys):
    # a constant-rate run whose loss rises (as the digits pilots at 4 and 16 times the base peak did): a law whose
    # constant-rate curve can only fall fits it worse than its mean (R² < 0), and `lrcontrol fit` says so
    import json

    lr = _schedule(200, 20, "constant")
    steps = np.arange(29, 200, 10)
    rising = lrc.LossCurve(lr, steps, np.linspace(4.0, 4.5, steps.size), "rising").write(tmp_path / "rising.csv")
    out = tmp_path / "fit"
    code, io = _run(["fit", "--law", "bound_law", "--curve", str(synthetic[0]), "--curve", str(rising),
                     "--out", str(out), "--quiet"], capsys)
    fit = json.loads((out / "law.json").read_text())["fit"]
    report = json.loads((out / "fit.json").read_text())
    # the law cannot follow the rise: its fit also stops at the step cap (exit 3, files written)
    assert code == 3 and not fit["converged"] and fit["unexplained"] == ["rising"] == report["unexplained"]
    assert report["metrics"]["rising"]["R2"] < 0 <= report["metrics"]["cosine"]["R2"]
    assert "the law does not follow rising (R² below 0" in io.err
    code, io = _run(["solve", "bound_law", "--law", str(out / "law.json"), "--set", "horizon=200", "--set",
                     "warmup=20", "--set", "peak=3e-4", "--out", str(tmp_path / "sol"), "--quiet"], capsys)
    js = json.loads((tmp_path / "sol" / "solution.json").read_text())
    assert js["fit_curves_unexplained"] == ["rising"]
    # the fit curve nearest the optimum, by the relative L1 distance of the rates (same length here: exact)
    rates = np.asarray(js["controls"]["lr"])
    curves = {"cosine": lrc.LossCurve.read(synthetic[0]).lr, "rising": lr}
    exact = {k: np.abs(rates - q).sum() / max(rates.sum(), q.sum()) for k, q in curves.items()}
    nearest = js["nearest_fit_curve"]
    assert nearest["curve"] == min(exact, key=exact.get) and nearest["explained"] == (nearest["curve"] != "rising")
    assert nearest["distance"] == pytest.approx(exact[nearest["curve"]], abs=0.02)
    if nearest["explained"]:
        assert "the law did not follow the fit curve rising" in io.err and f"nearest to {nearest['curve']}" in io.err
    else:
        assert "the optimum is nearest to the fit curve rising" in io.err
    # a law file whose fit left the optimum's nearest curve unexplained: the warning says the prediction is not
    # supported
    law_json = json.loads((out / "law.json").read_text())
    law_json["fit"]["unexplained"] = [nearest["curve"]]
    (out / "law2.json").write_text(json.dumps(law_json))
    code, io = _run(["solve", "bound_law", "--law", str(out / "law2.json"), "--set", "horizon=200", "--set",
                     "warmup=20", "--set", "peak=3e-4", "--out", str(tmp_path / "sol2"), "--quiet"], capsys)
    assert code == 0 and f"the optimum is nearest to the fit curve {nearest['curve']}" in io.err
    assert not json.loads((tmp_path / "sol2" / "solution.json").read_text())["nearest_fit_curve"]["explained"]


def test_schedule_profiles_compare_runs_of_any_length():
    from lrcontrol._fit import nearest_schedule, schedule_profile

    wsd = _schedule(1000, 100)
    for lr in (wsd, np.arange(7.0), np.ones(3)):  # the profile's mean is the run's mean rate, any length
        assert schedule_profile(lr).mean() == pytest.approx(lr.mean(), rel=1e-12)
    # the same schedule at two lengths (each update's rate repeated 4 times) has one profile (up to the round-off
    # of differencing cumulative sums: ~1e-12 here)
    assert np.allclose(schedule_profile(np.repeat(wsd, 4)), schedule_profile(wsd), rtol=1e-10, atol=0)
    # constants: distance |a − b| / max(a, b); the nearest is the closer one
    name, d = nearest_schedule(np.full(500, 3.0), {"one": schedule_profile(np.ones(100)),
                                                    "four": schedule_profile(np.full(2000, 4.0))})
    assert name == "four" and d == pytest.approx(0.25, rel=1e-12)


def test_cli_fit_predict_solve(synthetic, tmp_path, capsys):
    out = tmp_path / "fit"
    code, io = _run(["fit", "--law", "mpl", "--curve", str(synthetic[0]), "--curve", str(synthetic[1]),
                     "--out", str(out), "--quiet"], capsys)
    assert code == 0 and {"law.json", "fit.json", "fit.png"} <= {p.name for p in out.iterdir()}
    import json

    law = json.loads((out / "law.json").read_text())
    assert law["law"] == "mpl" and set(law["params"]) == set(lrc.systems.MultiPowerLaw.param_names)
    assert law["fit"]["converged"] and "did not converge" not in io.err and "stopped at its cap" not in io.err
    pred = tmp_path / "pred"
    code, _ = _run(["predict", "--law", str(out / "law.json"), "--curve", str(synthetic[2]), "--out", str(pred),
                    "--quiet"], capsys)
    data = json.loads((pred / "prediction.json").read_text())
    assert code == 0 and data["curves"]["step"]["PredE"] < 1e-3
    assert (pred / "prediction.csv").read_text().startswith("curve,step,lr,loss,predicted\nstep,29,")
    sol = tmp_path / "sol"
    code, io = _run(["solve", "mpl", "--law", str(out / "law.json"), "--set", "horizon=300", "--set", "warmup=30",
                     "--set", "peak=3e-4", "--out", str(sol)], capsys)
    csv = (sol / "schedule.csv").read_text().splitlines()
    js = json.loads((sol / "solution.json").read_text())
    assert code == 0 and csv[0] == "step,lr" and len(csv) == 301 and csv[1] == "0,0.0"
    assert js["objective"] < min(v["final_loss"] for v in js["comparison"].values())
    phases = js["diagnostics"]["phases_s"]  # as the other solves record them (issue 19)
    assert list(phases) == ["import", "setup", "solve", "data", "solve_compile", "solve_run"]
    assert all(v >= 0 for v in phases.values()) and phases["solve"] >= phases["solve_run"]
    # the summary says the schedule's shape (a staircase is named as such)
    assert "largest fall in one update" in io.out
    assert ("a staircase" in io.out) == (js["shape"]["falls_over_1pct"] >= 2 and js["shape"]["largest_fall"] > 0.3)
    # the fit curves are 200 updates at peak 3e-4: 300 updates leave them, and the files and stderr say so
    pilots = law["fit"]["pilots"]
    assert pilots["updates"] == [200, 200] and pilots["peak"] == pytest.approx([3e-4, 3e-4], rel=1e-12)
    assert js["beyond_fit_curves"] == ["300 updates are 1.5× the longest fit curve (200)"]
    assert "beyond the curves the law was fitted on: 300 updates" in io.err
    # the written schedule goes into training code as its rates, one per update (not its step column)
    rates = np.array([float(row.split(",")[1]) for row in csv[1:]])
    loaded = lrc.Schedule.load(sol / "schedule.csv")
    assert np.array_equal(np.asarray(loaded.values), rates) and np.array_equal(np.asarray(loaded.grid), np.arange(301))
    assert float(loaded.to_optax()(250)) == pytest.approx(rates[250], rel=1e-6)
    assert loaded.to_torch_lambda()(250) == pytest.approx(rates[250] / rates.max(), rel=1e-12)
    # and `predict` takes it as a schedule without losses: its predicted curve at every update, the final loss
    # the solve's objective (the law's value of the same rates)
    pred2 = tmp_path / "pred2"
    code, io = _run(["predict", "--law", str(out / "law.json"), "--curve", str(sol / "schedule.csv"),
                     "--curve", str(synthetic[2]), "--out", str(pred2)], capsys)
    data = json.loads((pred2 / "prediction.json").read_text())
    assert code == 0 and set(data["curves"]) == {"step"} and set(data["schedules"]) == {"schedule"}
    assert data["schedules"]["schedule"]["final_loss"] == pytest.approx(js["objective"], rel=1e-12)
    assert data["schedules"]["schedule"]["steps"] == list(range(1, 300)) and "predicted final loss" in io.out
    rows = (pred2 / "prediction.csv").read_text().splitlines()
    # from update 1: at update 0 the warm-up's rate is 0 and every law is infinite
    assert rows[1].startswith("schedule,1,") and rows[299].startswith("schedule,299,") and len(rows) == 1 + 299 + 18
    assert all(np.isfinite(float(r.split(",")[-1])) for r in rows[1:])
    # a long schedule is predicted at 1000 spread updates (the last included); two files named alike are told apart
    long = tmp_path / "long" / "schedule.csv"
    long.parent.mkdir()
    long.write_text("step,lr\n" + "".join(f"{i},{3e-4 * (1 - i / 5000)!r}\n" for i in range(5000)))
    code, io = _run(["predict", "--law", str(out / "law.json"), "--curve", str(long), "--curve",
                     str(sol / "schedule.csv"), "--out", str(tmp_path / "pred3"), "--quiet"], capsys)
    data = json.loads((tmp_path / "pred3" / "prediction.json").read_text())["schedules"]
    assert code == 0 and set(data) == {"schedule-1", "schedule-2"}
    assert len(data["schedule-1"]["steps"]) == 1000 and data["schedule-1"]["steps"][-1] == 4999
    assert data["schedule-2"]["final_loss"] == pytest.approx(js["objective"], rel=1e-12)
    assert (pred2 / "prediction.png").stat().st_size > 0
    # an input named like an output in --out is never overwritten: one sentence, nothing written
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "prediction.csv").write_text((sol / "schedule.csv").read_text())
    code, io = _run(["predict", "--law", str(out / "law.json"), "--curve", str(clash / "prediction.csv"),
                     "--out", str(clash), "--quiet"], capsys)
    assert code == 2 and "would overwrite this command's input" in io.err
    assert sorted(p.name for p in clash.iterdir()) == ["prediction.csv"]
    # a schedule's rates must be >= 0, as a curve's
    negative = tmp_path / "negative.csv"
    negative.write_text("step,lr\n0,1e-4\n1,-1e-4\n")
    code, io = _run(["predict", "--law", str(out / "law.json"), "--curve", str(negative), "--out",
                     str(tmp_path / "never")], capsys)
    assert code == 2 and "lr must be >= 0, got -0.0001 at update 1" in io.err and not (tmp_path / "never").exists()
    # a command writing into the folder of its own input keeps that input (the fit's other files are leftovers)
    code, _ = _run(["predict", "--law", str(out / "law.json"), "--curve", str(synthetic[2]), "--out", str(out),
                    "--quiet"], capsys)
    assert code == 0 and {p.name for p in out.iterdir()} >= {"law.json", "prediction.csv"}
    assert not (out / "fit.json").exists()


def test_schedules_beyond_the_fit_curves_are_named():
    curves = [lrc.LossCurve(_schedule(300, 30), [299], [3.0]), lrc.LossCurve(0.5 * _schedule(200, 20), [199], [3.1])]
    pilots = pilot_range(curves)
    assert pilots["updates"] == [200, 300] and pilots["peak"] == pytest.approx([1.5e-4, 3e-4], rel=1e-12)
    assert outside_pilots(pilots, 300, 2e-4) == [] and outside_pilots(pilots, 300, 3e-4) == []
    assert outside_pilots(pilots, 600, 2.4e-3) == ["peak 0.0024 is 8× the highest peak of the fit curves (0.0003)",
                                                   "600 updates are 2× the longest fit curve (300)"]
    assert outside_pilots(pilots, 100, 3e-5) == ["peak 3e-05 is 5× below the lowest peak of the fit curves (0.00015)"]


def test_cli_bad_input(synthetic, tmp_path, capsys):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("step,loss\n0,1\n")
    law = tmp_path / "law.json"
    law.write_text('{"law": "mpl", "params": {"L0": 3, "A": 0.5, "alpha": 0.5, "B": 300, "C": 2, "beta": 1.5, '
                   '"gamma": 0.6}}')
    cases = [(["fit", "--law", "nope", "--curve", str(synthetic[0])], "law must be one of"),
             (["fit", "--law", "mpl", "--curve", str(bad_csv)], "needs the columns"),
             (["predict", "--law", str(tmp_path / "missing.json"), "--curve", str(synthetic[0])], "cannot be read"),
             (["predict", "--law", str(law), "--curve", str(synthetic[0])], "beta must be"),
             (["solve", "mpl", "--law", str(SHIPPED.parent / "nolaw.json")], "cannot be read")]
    good = tmp_path / "good.json"
    good.write_text('{"law": "mpl", "params": {"L0": 3, "A": 0.5, "alpha": 0.5, "B": 300, "C": 2, "beta": 0.5, '
                    '"gamma": 0.6}}')
    base = ["solve", "mpl", "--law", str(good), "--set", "horizon=100"]
    cases += [(base + ["--set", "warmup=100", "--set", "peak=1e-3"], "warmup must"),
              (base + ["--set", "warmup=10", "--set", "peak=0"], "peak must"),
              (base + ["--set", "warmup=10", "--set", "peak=1e-3", "--set", "min_lr=1"], "min_lr must"),
              (base + ["--set", "warmup=10", "--set", "peak=1e-3", "--set", "peak=2e-3"], "peak' is set twice"),
              (base + ["--set", "warmup=10", "--set", "peak=1e-3", "--set", "max_fall=0"], "max_fall must"),
              # a monotone schedule needs room between min_lr and peak (its decrements scale with the difference)
              (base + ["--set", "warmup=10", "--set", "peak=1e-3", "--set", "min_lr=1e-3"], "min_lr must"),
              (base + ["--set", "warmup=10", "--set", "peak=1e-3", "--solver", "hjb"], "takes no --solver"),
              (base + ["--set", "warmup=10", "--set", "peak=1e-3", "--integrator", "tsit5"], "takes no --integrator"),
              (base + ["--set", "warmup=10", "--set", "peak=1e-3", "--no-grid-check"], "takes no --no-grid-check"),
              (["solve", "mpl", "--law", str(good), "--set", "horizon=2147483647", "--set", "warmup=10", "--set",
                "peak=1e-3"], "of memory free")]
    early = tmp_path / "early.csv"  # the initial loss of a warm-up from 0, logged before any update has a rate
    early.write_text("step,lr,loss\n0,0.0,4.5\n1,1e-4,4.4\n2,2e-4,4.3\n")
    huge = tmp_path / "huge.csv"  # a step column in the wrong unit (tokens, say)
    huge.write_text("step,lr,loss\n0,1e-4,\n10000000000,1e-4,3.0\n")
    cases += [(["fit", "--law", "mpl", "--curve", str(early), "--curve", str(synthetic[0])], "before any learning"),
              (["predict", "--law", str(good), "--curve", str(early)], "blank its loss cells up to step 0"),
              (["fit", "--law", "mpl", "--curve", str(huge)], "of memory free")]
    for argv, words in cases:
        out = tmp_path / "never"
        code, io = _run(argv + ["--out", str(out)], capsys)
        assert code == 2 and words in io.err and io.err.count("\n") == 1 and not out.exists(), (argv, io.err)


def test_law_schedule_exports_the_rates(tmp_path):
    # the exported schedule is the rates (warm-up included), not the solver's log-decrement controls
    n, w = 300, 30
    system = LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True)
    rates = baseline_rates("wsd", n, w, 3e-4, 1e-10, fraction=0.2, shape="1-sqrt")
    sched = system.schedule(system.controls_for(jnp.asarray(rates)))
    assert np.allclose(np.asarray(sched.values), rates, rtol=1e-9, atol=1e-15)
    opt = sched.to_optax()
    torch_lambda = sched.to_torch_lambda()
    for s in (0, 1, w - 1, w, 250, n - 1):
        assert abs(float(opt(s)) - rates[s]) <= 1e-9 * 3e-4
        assert abs(torch_lambda(s) * 3e-4 - rates[s]) <= 1e-9 * 3e-4  # LambdaLR multiplies the peak
    sched.save(tmp_path / "schedule.csv")
    rows = (tmp_path / "schedule.csv").read_text().splitlines()
    assert len(rows) == n + 1 and float(rows[-1].split(",")[-1]) == pytest.approx(rates[-1], rel=1e-9)


def test_far_out_fit_coordinates_stay_inside_the_valid_ranges():
    # Levenberg–Marquardt once drove the momentum law's decay to z ≈ -800, where sigmoid(z) rounds to 0: the fit
    # ended in "decay must be > 0" instead of a report. θ is kept a step inside its interval (in float32 and float64).
    from lrcontrol._fit import _to_theta

    law_class = lrc.systems.MomentumLaw
    for far in (-800.0, 800.0):
        z = jnp.full(len(law_class.param_names), far)
        theta = _to_theta(law_class, z)
        law = law_class.from_vector(theta)  # raised InputError before
        assert 0.0 < float(law.decay) < 1.0 and np.all(np.isfinite(np.asarray(theta)))
    x64 = jax.enable_x64(True) if hasattr(jax, "enable_x64") else jax.experimental.enable_x64()  # jax < 0.8
    with x64:
        theta = _to_theta(law_class, jnp.full(len(law_class.param_names), -800.0, dtype=jnp.float64))
        assert theta.dtype == jnp.float64 and 0.0 < float(law_class.from_vector(theta).decay) < 1e-300


def test_law_schedule_in_control_blocks():
    # with fewer control blocks than updates the start had one row per update, and the solve ended in a
    # broadcasting error; the start is now the blocks' mean, whose rates at the block ends are the per-update start's
    n, w, blocks = 600, 60, 30
    system = LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True)
    blocked = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), n, blocks=blocks, bounds=system.bounds())
    u0 = system.initial_controls(blocked)
    assert u0.shape == (blocks, 1)
    per_step = np.asarray(system.rates(system.initial_controls(system.problem(n))))
    ends = np.nonzero(np.diff(np.append(blocked.block_of_step(), blocks)))[0]
    ends = ends[ends >= w]  # blocks wholly after the warm-up
    np.testing.assert_allclose(np.asarray(system.rates(blocked.expand(u0)))[ends], per_step[ends], rtol=1e-9)
    sol = lrc.solve(blocked, lrc.solvers.Direct(), progress=False)
    value = float(LAW.final_loss(system.rates(blocked.expand(sol.controls))))
    assert sol.diagnostics.converged and value < float(LAW.final_loss(jnp.asarray(per_step)))


def test_describe_tells_a_staircase_from_a_smooth_cooldown():
    from lrcontrol.systems.law_schedule import describe

    n, w, peak = 1000, 100, 3e-4
    smooth = baseline_rates("wsd", n, w, peak, 1e-10, fraction=0.5, shape="cosine")
    stairs = np.concatenate([peak * np.arange(w) / (w - 1), np.full(500, peak), np.full(250, 0.4 * peak),
                             np.full(150, 0.1 * peak)])
    a, b = describe(smooth, w, peak), describe(stairs, w, peak)
    assert a["falls_over_1pct"] == 0 and a["largest_fall"] == pytest.approx(np.pi / 450 / 2, rel=0.02)
    assert b["falls_over_1pct"] == 2 and b["largest_fall"] == pytest.approx(0.6)
    assert b["decay_start"] == w + 500 and b["final_lr"] == pytest.approx(0.1 * peak)


def test_cli_law_solve_that_stalls_at_roundoff_exits_0_with_a_note(tmp_path, capsys, monkeypatch):
    # a law's value that cannot fall further in float64 is the solve's end: exit 0, said on stderr, and the files
    # record converged = false with the reason (the stall itself is forced here; `solve mpl … max_fall=0.1` on the
    # shipped curves ends so)
    import json

    from lrcontrol._solve import _replaced
    from lrcontrol.solvers._results import STALLED
    from lrcontrol.systems import law_schedule

    real = law_schedule.optimise

    def stalled(*args, **kwargs):
        sol, how = real(*args, **kwargs)
        return _replaced(sol, diagnostics=_replaced(sol.diagnostics, result=jnp.asarray(STALLED))), how

    monkeypatch.setattr(law_schedule, "optimise", stalled)
    law = tmp_path / "law.json"
    law.write_text(json.dumps({"law": "mpl", "params": LAW.params()}))
    code, io = _run(["solve", "mpl", "--law", str(law), "--set", "horizon=300", "--set", "warmup=30", "--set",
                     "peak=3e-4", "--out", str(tmp_path / "sol"), "--quiet"], capsys)
    diag = json.loads((tmp_path / "sol" / "solution.json").read_text())["diagnostics"]
    assert code == 0 and "stalled at round-off" in io.err and "exit status 0" in io.err
    assert diag["converged"] is False and "stalled at round-off" in diag["message"]
