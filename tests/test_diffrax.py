"""The diffrax integrator (`lrc.Diffrax`) against the perceptron's exact flow: order of convergence of each
fixed-step solver, adaptive tolerances, gradients and a direct solve."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from helpers import perceptron_problem

# Four cells of different rates, discounted: the state and the running-cost quadrature both carry error.
U = jnp.array([[1.5], [0.5], [2.0], [1.0]])


def _problem(integrator):
    return perceptron_problem(steps=4, discount=0.5, integrator=integrator)


def _exact():
    return _problem(lrc.ExactFlow(parallel=False))  # closed form e·exp(−cμh) per cell, integral by exprel


@pytest.mark.parametrize("solver, substeps, lo, hi", [
    (diffrax.Euler(), (8, 16, 32), 0.9, 1.1),
    (diffrax.Heun(), (8, 16, 32), 1.9, 2.2),
    (diffrax.Bosh3(), (8, 16, 32), 2.9, 3.2),
    (diffrax.Tsit5(), (2, 4, 8), 4.0, 7.0)])
def test_fixed_step_order_against_closed_form(solver, substeps, lo, hi):
    exact = float(_exact().cost(U))
    errors = [abs(float(_problem(lrc.Diffrax(solver, substeps=k)).cost(U)) - exact) for k in substeps]
    slope = -np.polyfit(np.log(substeps), np.log(errors), 1)[0]
    assert lo <= slope <= hi, (type(solver).__name__, errors, slope)


def test_adaptive_error_follows_tolerance():
    # diffrax's PID controller bounds the local error per step; measured against the closed form the objective's
    # relative error was 0.1–0.17·rtol and the final state's 1.0–1.6·rtol over rtol = 1e-4 … 1e-8.
    exact = _exact()
    J, eT = float(exact.cost(U)), float(exact.states(U)[-1])
    cost_err, state_err = [], []
    for rtol in (1e-4, 1e-6, 1e-8):
        p = _problem(lrc.Diffrax(rtol=rtol, atol=rtol))
        cost_err.append(abs(float(p.cost(U)) - J) / J)
        state_err.append(abs(float(p.states(U)[-1]) - eT) / eT)
        assert cost_err[-1] <= rtol
        assert state_err[-1] <= 2 * rtol
    # Tolerance proportionality: a hundredfold tighter tolerance, about a hundredfold smaller error.
    slope = np.polyfit(np.log([1e-4, 1e-6, 1e-8]), np.log(state_err), 1)[0]
    assert 0.9 <= slope <= 1.1


def test_step_scan_equals_diffeqsolve_loop():
    fast, loop = (_problem(lrc.Diffrax(diffrax.Bosh3(), substeps=3, loop=flag)) for flag in (False, True))
    assert abs(float(fast.cost(U)) - float(loop.cost(U))) < 1e-14
    assert np.max(np.abs(np.asarray(jax.grad(fast.cost)(U) - jax.grad(loop.cost)(U)))) < 1e-14


def test_rk4_and_bounded_diffrax_differentiate_in_both_modes():
    # Why lrc.RK4 stays hand-written: forward mode (jax.jacfwd: Hessians, Newton's Jacobians) and reverse mode both
    # go through it; diffrax's stage loop needs scan_kind="bounded" for both (its default is reverse mode only).
    for integrator in (lrc.RK4(substeps=4), lrc.Diffrax(diffrax.Tsit5(scan_kind="bounded"), substeps=4)):
        p = _problem(integrator)
        forward, reverse = jax.jacfwd(p.cost)(U), jax.grad(p.cost)(U)
        np.testing.assert_allclose(np.asarray(forward), np.asarray(reverse), rtol=1e-12)
        g_exact = jax.grad(_exact().cost)(U)
        # The gradient of the discretised objective against the exact flow's: measured 9.9e-6 (RK4, 4 substeps per
        # cell) and 6.9e-8 (Tsit5).
        assert np.max(np.abs(np.asarray(reverse - g_exact))) < 3e-5


def test_classical_rk4_tableau_reproduces_hand_written_rk4():
    # Two implementations of one method (lrc.RK4's rk4_step and diffrax's ERK machinery on the tableau).
    hand = _problem(lrc.RK4(substeps=3))
    tableau = _problem(lrc.Diffrax(lrc._diffrax.ClassicalRK4(), substeps=3))
    assert abs(float(hand.cost(U)) - float(tableau.cost(U))) < 1e-15


def test_looped_rk4_step_is_the_unrolled_step():
    # The stage loop (Pontryagin's canonical equations) against the four written-out stages, on a pytree ODE
    # with time dependence; only the order of the weighted sum differs.
    from lrcontrol._integrate import rk4_step, rk4_step_looped

    def rhs(t, y):
        a, b = y
        return jnp.sin(t) * b, -a * jnp.cos(b) + t**2

    y = (jnp.array([0.3, -1.2]), jnp.array([0.7, 2.0]))
    for h in (0.01, 0.3):
        ref, looped = rk4_step(rhs, 0.4, y, h), rk4_step_looped(rhs, 0.4, y, h)
        for r, v in zip(ref, looped):
            np.testing.assert_allclose(np.asarray(v), np.asarray(r), rtol=4e-16, atol=4e-16)


def test_gradient_matches_exact_flow_and_finite_differences():
    p = _problem(lrc.Diffrax(diffrax.Tsit5(), substeps=4))
    g = jax.grad(p.cost)(U)
    g_exact = jax.grad(_exact().cost)(U)
    assert np.max(np.abs(np.asarray(g - g_exact))) < 1e-7
    eps, cost = 1e-6, jax.jit(lambda u: p.cost(u))
    fd = [(float(cost(U.at[k, 0].add(eps))) - float(cost(U.at[k, 0].add(-eps)))) / (2 * eps) for k in range(4)]
    assert np.allclose(np.asarray(g[:, 0]), fd, rtol=1e-7, atol=1e-9)


def test_direct_solve_matches_exact_flow_and_closed_form():
    flow = lrc.solve(perceptron_problem(steps=30))
    numeric = lrc.solve(perceptron_problem(steps=30, integrator=lrc.Diffrax(diffrax.Tsit5())))
    assert numeric.diagnostics.converged
    a, b = np.asarray(flow.schedule.values), np.asarray(numeric.schedule.values)
    assert np.max(np.abs(a - b)) / np.max(a) < 1e-6
    p = perceptron_problem(steps=30)
    assert abs(float(numeric.objective) - float(p.system.optimal_objective(p))) < 1e-3  # O(h²) of 30 cells


def test_newton_shooting_integrates_with_the_problems_diffrax_solver():
    # Newton's schedule is u* at the cell midpoints from the canonical equations, so its error against the closed
    # form is the integrator's alone: Heun's order 2 shows the diffrax solver is the one used (RK4 gives 4).
    # Measured 1.71e-4, 4.34e-5 (order 1.98); Tsit5 5.6, Kvaerno5 3.0 (not 5 [?]: see the README's diffrax section).
    errors = []
    for substeps in (2, 4):
        p = perceptron_problem(steps=20, integrator=lrc.Diffrax(diffrax.Heun()))
        sol = lrc.solve(p, lrc.solvers.Shooting(substeps=substeps), progress=False)
        assert sol.diagnostics.converged, sol.diagnostics.message
        ref = np.asarray(p.system.optimal_schedule(p).values)
        errors.append(float(np.max(np.abs(np.asarray(sol.schedule.values) - ref)) / ref.max()))
    assert 1.8 < np.log2(errors[0] / errors[1]) < 2.2, errors


def test_named_and_bad_input():
    assert isinstance(lrc.Diffrax.named("bosh3").solver, diffrax.Bosh3)
    implicit = lrc.Diffrax.named("kvaerno5", substeps=4)  # fixed steps: the root finder gets its own tolerances
    exact = float(_exact().cost(U))
    assert abs(float(_problem(implicit).cost(U)) - exact) < 1e-6
    with pytest.raises(lrc.InputError, match="integrator must be one of"):
        lrc.Diffrax.named("rk45")
    with pytest.raises(lrc.InputError, match="substeps"):
        lrc.Diffrax(substeps=0)
    with pytest.raises(lrc.InputError, match="rtol"):
        lrc.Diffrax(rtol=-1.0)


def test_adaptive_step_limit_gives_non_finite_not_a_crash():
    p = _problem(lrc.Diffrax(rtol=1e-12, atol=1e-12, max_steps=2))
    assert not np.isfinite(float(p.cost(U)))


def test_cli_integrator_choice_and_settings(tmp_path):
    import json

    from lrcontrol import _cli_integrator, _registry
    from lrcontrol.cli import main

    problem, _ = _registry.build_problem("perceptron", ["steps=20"])
    assert isinstance(_cli_integrator.apply(problem, None, {}).integrator, lrc.ExactFlow)
    adaptive = _cli_integrator.apply(problem, "tsit5", {"rtol": "1e-8"}).integrator
    assert isinstance(adaptive.solver, diffrax.Tsit5) and adaptive.rtol == 1e-8 and adaptive.adaptive
    assert _cli_integrator.apply(problem, "rk4", {"substeps": "3"}).integrator.substeps == 3
    ts, _ = _registry.build_problem("teacher_student", [])
    for name, raw, message in ((("exact", {}, "integrator must be one of rk4, euler")),
                               ("rk4", {"rtol": "1e-6"}, "rk4 takes only substeps"),
                               ("tsit5", {"rtol": "-1"}, "rtol must be a finite number > 0"),
                               ("bosh3", {"substeps": "0"}, "substeps must be a whole number >= 1")):
        with pytest.raises(lrc.InputError, match=message):
            _cli_integrator.apply(ts, name, raw)
    fsl, _ = _registry.build_problem("fsl", [])
    with pytest.raises(lrc.InputError, match="discrete"):
        _cli_integrator.apply(fsl, "tsit5", {})
    out = tmp_path / "solve"
    code = main(["solve", "perceptron", "--integrator", "bosh3", "--set", "steps=20", "--set", "substeps=2",
                 "--no-grid-check", "--quiet", "--out", str(out)])
    data = json.loads((out / "solution.json").read_text())
    assert code == 0 and data["diagnostics"]["converged"]
    exact = lrc.solve(_registry.build_problem("perceptron", ["steps=20"])[0])
    assert abs(data["objective"] - float(exact.objective)) < 1e-6  # Bosh3, 2 substeps: O(h³) of 40 substeps
