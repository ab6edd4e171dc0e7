"""Window functions and the γ̄ three-stage compliance check (Somefun, "Annealing via Window Functions";
lrcontrol/_windows.py and lrcontrol/_compliance.py). Closed forms: F(½) per family, γ̄ of linear decay and cosine,
the sharpness S(½) of cosine and the logistic window; the note's classification (cosine, linear, P2, S4 compliant;
E0.05, S40 not; E0.99 strictly misses F(τ/2) ≥ ½) at several horizons; the Kronecker table's distribution."""

import math

import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol import analysis, schedules

TAUS = (100, 1000, 10_000)
# The note's named schedules: (family, params).
COMPLIANT = {"cosine": ("cosine", {}), "linear": ("linear", {}), "P2": ("polynomial", {"i": 1.8, "n": 2}),
             "S4": ("logistic", {"i": 4})}
VIOLATING = {"E0.05": ("exponential", {"beta": 0.05}, ["early"]), "S40": ("logistic", {"i": 40}, ["smooth"])}
ALL = {**COMPLIANT, **{k: v[:2] for k, v in VIOLATING.items()},
       "E0.99": ("exponential", {"beta": 0.99}), "S6": ("logistic", {"i": 6}), "P10": ("polynomial", {"i": 10})}


def F(family, x, **p):
    return np.asarray(schedules.WINDOW_FAMILIES[family][0](np.asarray(x, float), **p))


# --- families ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_window_is_a_multiplier_from_one_down_to_zero(name):
    family, p = ALL[name]
    x = np.linspace(0.0, 1.0, 2001)
    f = F(family, x, **p)
    assert f[0] == pytest.approx(1.0, abs=1e-15) and f[-1] == pytest.approx(0.0, abs=1e-15)
    assert np.all(f >= -1e-15) and np.all(f <= 1 + 1e-15) and np.all(np.diff(f) <= 0)
    v = np.asarray(schedules.window(family, 64, peak=0.3, **p).values)
    assert v[0] == pytest.approx(0.3) and np.all(np.diff(v) <= 0)  # step 0 runs at the peak


def test_raw_multipliers_are_jit_and_grad_safe():
    import jax
    import jax.numpy as jnp

    x = np.linspace(0.0, 1.0, 33)
    for name in ("cosine", "S4", "E0.05", "P2", "linear"):
        family, p = ALL[name]
        fn = schedules.WINDOW_FAMILIES[family][0]
        jitted = jax.jit(lambda x, fn=fn, p=p: fn(x, **p))(jnp.asarray(x))
        assert np.allclose(np.asarray(jitted), F(family, x, **p), atol=1e-14)
    # dF/dx of cosine at x = ½ is −π/2 (through jnp); of linear −1.
    assert float(jax.grad(schedules.cosine_window)(jnp.asarray(0.5))) == pytest.approx(-math.pi / 2)
    assert float(jax.grad(schedules.linear_window)(jnp.asarray(0.3))) == -1.0


def test_closed_values_at_half():
    # β-exponential F(½) = √β/(1 + √β): the note's 0.4987 (β = 0.99) and 0.183 (β = 0.05).
    for beta, quoted in ((0.99, 0.4987), (0.05, 0.183)):
        got = float(F("exponential", 0.5, beta=beta))
        assert got == pytest.approx(math.sqrt(beta) / (1 + math.sqrt(beta)), rel=1e-14)
        assert round(got, len(str(quoted)) - 2) == quoted
    assert float(F("cosine", 0.5, floor=0.2)) == pytest.approx(0.2 + 0.8 / 2, rel=1e-14)
    assert float(F("polynomial", 0.5, i=1.8, n=2)) == pytest.approx((1 - 2**-1.8) ** 2, rel=1e-14)
    for i in (0.5, 4, 40):  # h̄ + h̲ = 1: every logistic window passes through ½ at x = ½
        assert float(F("logistic", 0.5, i=i)) == pytest.approx(0.5, abs=1e-15)
    # β → 1 is linear decay.
    x = np.linspace(0, 1, 11)
    assert np.allclose(F("exponential", x, beta=1 - 1e-7), 1 - x, atol=1e-6)


def test_full_period_and_coverage_shapes():
    n = 100
    base = np.asarray(schedules.window("cosine", n).values)
    full = np.asarray(schedules.window("cosine", n, period="full").values)
    # x ← |2x − 1|: starts at F(1) = 0, peaks at x = ½, mirror-symmetric, rises then falls.
    assert full[0] == pytest.approx(0.0, abs=1e-15) and full[n // 2] == pytest.approx(1.0)
    assert np.allclose(full[1 : n // 2], full[n - 1 : n // 2 : -1], atol=1e-15)
    assert np.all(np.diff(full[: n // 2 + 1]) > 0) and np.all(np.diff(full[n // 2 :]) < 0)
    # coverage e: F = 1 while x < e, then the base window on (x − e)/(1 − e).
    e = 0.3
    cov = np.asarray(schedules.window("linear", n, coverage=e).values)
    x = np.arange(n) / n
    assert np.all(cov[x < e] == 1.0)
    assert np.allclose(cov[x >= e], 1 - (x[x >= e] - e) / (1 - e), atol=1e-15)
    # Both variants together: warm-up, flat top of width e around x = ½, cooldown.
    both = np.asarray(schedules.window("cosine", n, period="full", coverage=0.2).values)
    assert np.all(both[np.abs(2 * x - 1) < 0.2] == 1.0) and both[0] == pytest.approx(0.0, abs=1e-15)
    assert base[0] == 1.0
    # horizon puts the same values on a time grid.
    timed = schedules.window("cosine", n, horizon=2.0)
    assert np.allclose(timed.values, base) and float(timed.grid[-1]) == pytest.approx(2.0)


def test_kronecker_table_is_monotone_horizon_free_and_equal_in_distribution():
    """Tested: (a) the sorted inputs have at most three distinct gaps on the circle (three-distance theorem);
    (b) max_k |x_(k) − k/n| ≤ (1 + ln n)/n (low discrepancy; random points would give ~1/√n); (c) the first n
    inputs are a subset of the first n' > n (horizon-free); (d) the table is monotone; (e) it equals the direct
    window F(k/n) to within Lip(F)·max|x_(k) − k/n| pointwise, and the two sets of values have Kolmogorov
    distance ≤ (1 + ln n)/n + 1/n (equal in distribution up to the discrepancy)."""
    for n in (10, 100, 1000, 10_000):
        x = np.asarray(schedules.kronecker_inputs(n))
        gaps = np.sort(np.diff(np.r_[x, 1.0 + x[0]]))
        assert 1 + np.sum(np.diff(gaps) > 1e-9) <= 3
        dev = np.max(np.abs(x - np.arange(n) / n))
        assert dev <= (1 + math.log(n)) / n
        assert x[0] == 0.0
        big = np.asarray(schedules.kronecker_inputs(2 * n))
        assert np.all(np.isin(x, big))
        for name in ("cosine", "linear", "S4", "E0.05") if n in (100, 1000) else ():
            family, p = ALL[name]
            table = np.asarray(schedules.window(family, n, inputs="kronecker", **p).values)
            direct = np.asarray(schedules.window(family, n, **p).values)
            assert np.all(np.diff(table) <= 0) and table[0] == pytest.approx(1.0, abs=1e-15)
            xs = np.linspace(0, 1, 20001)
            lip = np.max(np.abs(np.diff(F(family, xs, **p)))) / (xs[1] - xs[0])
            assert np.max(np.abs(table - direct)) <= lip * dev * (1 + 1e-9)
            grid = np.sort(np.r_[table, direct])
            ks = np.max(np.abs(np.searchsorted(np.sort(table), grid, side="right")
                               - np.searchsorted(np.sort(direct), grid, side="right"))) / n
            assert ks <= (1 + math.log(n)) / n + 1 / n


# --- γ̄ and sharpness: closed forms ------------------------------------------------------------------------------

def test_gamma_bar_closed_forms():
    tau = 1000
    t = np.arange(tau)
    g = analysis.gamma_bar(schedules.window("linear", tau, peak=0.5))
    assert np.isnan(g[0]) and np.allclose(g[1:], 1.0 / (tau - t[1:]), rtol=1e-12)  # linear: 1/(τ − t)
    g = analysis.gamma_bar(schedules.window("cosine", tau))
    assert np.allclose(g[1:], np.tan(np.pi * t[1:] / (2 * tau)) ** 2 / t[1:], rtol=1e-10)
    # linear decay: S ≡ 1 exactly (γ̄ = 1/(τ − t) is a pure power of the remaining time).
    _, s = analysis.sharpness(schedules.window("linear", tau))
    assert np.allclose(s, 1.0, atol=1e-9)


@pytest.mark.parametrize("tau", TAUS)
def test_sharpness_at_half_matches_closed_forms(tau):
    # Continuous S(½): cosine π − 1; logistic i·ln 2/(h̄ − h̲) − 1. The discrete secant is within c/τ, the same c at
    # every τ (first order): measured c = 1.14 (cosine), 1.14 (S4), 25.8 (S40) at τ = 10², 10³, 10⁴.
    def s_half(family, **p):
        t, s = analysis.sharpness(schedules.window(family, tau, **p))
        return s[0] if t[0] == tau // 2 else np.nan

    assert s_half("cosine") == pytest.approx(math.pi - 1, abs=2 / tau)
    for i, c in ((4, 2), (40, 40)):
        lo, hi = 1 / (1 + 2.0**i), 1 / (1 + 2.0**-i)
        assert s_half("logistic", i=i) == pytest.approx(i * math.log(2) / (hi - lo) - 1, abs=c / tau)


# --- the note's classification -----------------------------------------------------------------------------------

@pytest.mark.parametrize("tau", TAUS)
def test_note_classification(tau):
    for name, (family, p) in COMPLIANT.items():
        c = analysis.compliance(schedules.window(family, tau, **p))
        assert c.passed, f"{name}, τ = {tau}:\n{c}"
    for name, (family, p, stages) in VIOLATING.items():
        c = analysis.compliance(schedules.window(family, tau, **p))
        assert c.failed_stages == stages, f"{name}, τ = {tau}:\n{c}"
    # S40's sharp transition is at x = ½, where its log-odds step is; E0.05 drops below ½ at x = 0.216.
    s40 = analysis.compliance(schedules.window("logistic", tau, i=40))
    assert s40.smooth_first == math.ceil(tau / 2) and s40.smooth_reason == "too sharp" and s40.sharpness_max > 20
    e05 = analysis.compliance(schedules.window("exponential", tau, beta=0.05))
    x_star = math.log((1 + 0.05) / 2) / math.log(0.05)  # F(x*) = ½
    assert e05.early_first == math.ceil(x_star * tau) or e05.early_first == math.floor(x_star * tau) + 1
    assert e05.early_min == pytest.approx(math.sqrt(0.05) / (1 + math.sqrt(0.05)), rel=1e-12)


def test_e099_strictly_misses_the_early_bound():
    tau = 1000
    c = analysis.compliance(schedules.window("exponential", tau, beta=0.99))
    assert c.failed_stages == ["early"] and c.late and c.smooth
    assert c.early_min == pytest.approx(0.4987, abs=5e-5) and c.early_argmin == tau // 2
    # first step with F < ½: x* = ln((1 + β)/2)/ln β = 0.49875
    assert c.early_first == math.ceil(math.log(0.995) / math.log(0.99) * tau)


def test_classification_margin_and_threshold_meaning():
    # The named verdicts hold for every threshold between the compliant families' max S and S40's.
    tau = 1000
    top = max(analysis.compliance(schedules.window(f, tau, **p)).sharpness_max for f, p in COMPLIANT.values())
    s40 = analysis.compliance(schedules.window("logistic", tau, i=40)).sharpness_max
    assert top < 2.2 < 10 < 26 < s40
    # With 10 the boundaries sit near logistic i = 15.9 and polynomial i = 11 (the note: safe i < 6, i < 10).
    assert analysis.compliance(schedules.window("logistic", tau, i=15)).smooth
    assert not analysis.compliance(schedules.window("logistic", tau, i=17)).smooth
    assert analysis.compliance(schedules.window("polynomial", tau, i=10)).passed
    assert not analysis.compliance(schedules.window("polynomial", tau, i=12)).smooth


def test_other_violations_are_located():
    tau = 1000
    floor = analysis.compliance(schedules.window("cosine", tau, floor=0.01))  # floor above 1/τ
    assert floor.failed_stages == ["late", "smooth"] and floor.late_first == tau - 1
    assert floor.smooth_reason == "γ̄ falls"  # F flattens onto the floor: γ̄ → (1 − l)/(l·t) decreases
    assert analysis.compliance(schedules.window("cosine", tau, floor=1e-4)).passed
    full = analysis.compliance(schedules.window("cosine", tau, period="full"))  # warm-up: F(0) = 0
    assert "early" in full.failed_stages and full.early_first == 0
    late_onset = analysis.compliance(schedules.window("cosine", tau, coverage=0.6))  # flat top past τ/2
    assert late_onset.failed_stages == ["smooth"] and late_onset.smooth_first == 600
    assert analysis.compliance(schedules.window("cosine", tau, coverage=0.3)).passed
    # compressed linear decay ends at F(τ − 1) = 1/(τ(1 − e)) > 1/τ: the late stage catches it
    assert analysis.compliance(schedules.window("linear", tau, coverage=0.3)).failed_stages == ["late"]
    held = np.r_[np.asarray(schedules.window("linear", tau).values)[:800], np.full(200, 0.2)]
    c = analysis.compliance(held)  # held at a floor: γ̄ falls, and F(τ−1) is too high
    assert c.smooth_first == 800 and c.smooth_reason == "γ̄ falls" and not c.late
    text = str(c)
    assert "FAIL" in text and "t = 800" in text and "late" in text and c.to_dict()["smooth"]["first_step"] == 800
    assert c.first_violation() == ("smooth", 800)


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, fragment", [
    (lambda: schedules.window("hann", 10), "family must be one of"),
    (lambda: schedules.window("exponential", 10, beta=1.0), "beta must be a finite number > 0 and < 1"),
    (lambda: schedules.window("exponential", 10), "needs beta"),
    (lambda: schedules.window("logistic", 10, i=-1), "i must be a finite number > 0"),
    (lambda: schedules.window("polynomial", 10, i=2, n=0), "n must be a finite number > 0"),
    (lambda: schedules.window("cosine", 10, floor=1.5), "floor must be a finite number >= 0 and <= 1"),
    (lambda: schedules.window("cosine", 10, beta=0.5), "beta is not a parameter of the cosine window"),
    (lambda: schedules.window("linear", 10, coverage=1.0), "coverage must be a finite number >= 0 and < 1"),
    (lambda: schedules.window("linear", 10, period="half"), "period must be one of cooldown, full"),
    (lambda: schedules.window("linear", 10, inputs="random"), "inputs must be one of grid, kronecker"),
    (lambda: schedules.window("linear", 0), "steps must be a whole number >= 1"),
    (lambda: schedules.window("linear", 10, peak=float("nan")), "peak must be a finite number >= 0"),
    (lambda: analysis.compliance([1.0, 0.5]), "at least 4 steps"),
    (lambda: analysis.compliance(np.zeros(10)), "all zero"),
    (lambda: analysis.compliance(schedules.window("linear", 10), max_sharpness=0), "max_sharpness must be"),
])
def test_bad_input_messages(call, fragment):
    with pytest.raises(lrc.InputError, match=fragment) as err:
        call()
    msg = str(err.value)
    assert msg.endswith(".") and msg.count(". ") == 0  # one sentence
