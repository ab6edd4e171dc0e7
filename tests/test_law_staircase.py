"""The staircase search under MPL (lrcontrol/systems/law_staircase.py): the continuous-time staircase against the
per-update law, its gradient against finite differences, the search against a brute force over every fall
position, and `optimise` starting from it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol._search import golden_section
from lrcontrol.systems.law_schedule import LawSchedule, baselines, optimise, warmup_rates
from lrcontrol.systems.law_staircase import best_staircase, supported

LAW = lrc.systems.MultiPowerLaw()  # the published 25M parameters


@pytest.mark.parametrize("warmup", [1, 40])
def test_staircase_value_is_the_per_update_law(warmup):
    rng = np.random.default_rng(3)
    lead = np.asarray(warmup_rates(warmup, 3e-4)) if warmup > 1 else np.array([3e-4])
    levels = np.sort(rng.uniform(1e-7, 3e-4, 5))[::-1].copy()
    levels[0] = 3e-4
    lengths = rng.integers(1, 90, 5)
    rates = np.concatenate([lead, np.repeat(levels, lengths)])
    got = float(LAW.staircase_final_loss(jnp.asarray(lead), jnp.asarray(levels), jnp.asarray(lengths, float)))
    want = float(LAW.final_loss(jnp.asarray(rates)))
    assert abs(got - want) < 1e-13 * abs(want)


def test_staircase_gradient_matches_finite_differences():
    lead = warmup_rates(30, 3e-4)
    levels = jnp.array([3e-4, 5e-5, 4e-6])
    lengths = jnp.array([400.3, 61.7, 20.2])
    f = lambda lv, ln: LAW.staircase_final_loss(lead, lv, ln)  # noqa: E731
    g_lv, g_ln = jax.grad(f, argnums=(0, 1))(levels, lengths)
    for i in range(3):
        h = 1e-4 * lengths[i]
        fd = (f(levels, lengths.at[i].add(h)) - f(levels, lengths.at[i].add(-h))) / (2 * h)
        assert abs(float(fd - g_ln[i])) <= 1e-6 * abs(float(g_ln[i])) + 1e-12
        h = 1e-5 * levels[i]
        fd = (f(levels.at[i].add(h), lengths) - f(levels.at[i].add(-h), lengths)) / (2 * h)
        assert abs(float(fd - g_lv[i])) <= 1e-6 * abs(float(g_lv[i])) + 1e-9


def test_one_fall_search_matches_a_brute_force_over_every_position():
    # every position of one fall, its level by golden section in log(level) on the per-update law (no staircase
    # code involved): the search, which moves the fall continuously and rounds it, must find the same minimum
    n, w, peak, low = 800, 80, 3e-4, 1e-10
    system = LawSchedule(LAW, w, peak, low, monotone=True)
    _, report = best_staircase(system, n, falls=1)
    steps = jnp.arange(n)
    taus = jnp.arange(w + 1, n)

    def loss(tau, log_level):
        rates = jnp.where(steps < w, peak * steps / (w - 1), jnp.where(steps < tau, peak, jnp.exp(log_level)))
        return LAW.final_loss(rates)

    f = jax.vmap(loss)
    lo, hi = jnp.full(taus.shape, np.log(low)), jnp.full(taus.shape, np.log(peak))
    best_log = golden_section(lambda c, d: f(taus, c) <= f(taus, d), lo, hi, 90, xp=jnp)
    values = np.asarray(f(taus, best_log))
    assert report["falls"] == 1
    assert report["final_loss"] <= values.min() + 1e-10
    assert report["positions"][0] == int(taus[np.argmin(values)])


def test_optimise_starts_from_the_staircase_and_beats_smooth_starts():
    n, w = 600, 60  # the size of tests/test_laws.py's solves: the same compiled programs (the shared XLA cache)
    system = LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True)
    sol, how = optimise(system, n)
    assert how["staircase"] is not None and how["start"].startswith("best staircase")
    value = float(LAW.final_loss(system.rates(sol.controls)))
    assert value <= how["staircase"]["final_loss"]  # the per-update solve only descends from it
    problem = system.problem(n)
    base = baselines(LAW, n, w, 3e-4, 1e-10)
    best_tuned = min(v["final_loss"] for k, v in base.items() if k != "_rates")
    assert value < best_tuned
    # the per-update solve from the smooth start ends higher (the landscape in per-update rates has many minima)
    smooth = lrc.solve(problem, lrc.solvers.Direct(), progress=False)
    assert value < float(LAW.final_loss(system.rates(smooth.controls)))
    # first-order optimality in the per-update problem (the hand-written gradient, not the search's): no update
    # that does not fall gains by starting to fall (gradient >= 0 where the log-decrement is at its bound 0)
    u = jnp.asarray(sol.controls)[:, 0]
    _, g, _ = system.final_loss_grad_curvature(u)
    at_bound = np.asarray(u[w:]) == 0
    assert at_bound.sum() > n - w - 10
    assert np.asarray(g[w:])[at_bound].min() > -1e-9


def test_optimise_runs_the_baseline_start_only_where_the_staircase_does_not_beat_it(monkeypatch):
    from lrcontrol.systems import law_schedule

    n, w = 600, 60
    system = LawSchedule(LAW, w, 3e-4, 1e-10, monotone=True)
    _, auto = optimise(system, n)
    _, both = optimise(system, n, guard=True)
    (stair,) = auto["final_loss"]  # one start ran: its end already beats the best tuned baseline
    guard = next(k for k in both["final_loss"] if k.startswith("best tuned baseline"))
    best_tuned = min(v["final_loss"] for k, v in auto["baselines"].items() if k != "_rates")
    assert auto["final_loss"][stair] == both["final_loss"][stair] < best_tuned
    assert both["final_loss"][stair] < both["final_loss"][guard] <= best_tuned  # the guard ends higher, as measured
    # a staircase whose polish ends above the best tuned baseline (a constant peak, one iteration): the guard runs
    constant = np.concatenate([np.asarray(warmup_rates(w, 3e-4)), np.full(n - w, 3e-4)])
    monkeypatch.setattr(law_schedule, "best_staircase", lambda *a: (constant, {"falls": 0}))
    sol, how = optimise(system, n, lrc.solvers.Direct(max_steps=1))
    assert len(how["final_loss"]) == 2 and how["start"].startswith("best tuned baseline")
    assert float(LAW.final_loss(system.rates(sol.controls))) <= best_tuned
    _, none = optimise(system, n, lrc.solvers.Direct(max_steps=1), guard=False)
    assert list(none["final_loss"]) == ["best staircase (0 falls)"]


def test_supported_only_where_the_law_has_a_staircase():
    assert supported(LawSchedule(LAW, 10, 3e-4, 1e-10, monotone=True))
    assert not supported(LawSchedule(LAW, 10, 3e-4, 1e-10, monotone=False))
    momentum = lrc.systems.MomentumLaw(L0=3.0, A=0.5, alpha=0.5, C=1.6, decay=0.99)
    assert not supported(LawSchedule(momentum, 10, 3e-4, 1e-10, monotone=True))


def test_too_many_falls_is_one_clear_sentence():
    system = LawSchedule(LAW, 10, 3e-4, 1e-10, monotone=True)
    with pytest.raises(lrc.InputError, match=r"falls must be at most horizon − warmup − 1 \(9\), got 12\."):
        best_staircase(system, 20, falls=12)
