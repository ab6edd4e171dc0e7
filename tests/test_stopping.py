"""Stopping rules that mean something (issue 14, part 3): each verdict is judged against the objective's own
round-off, a flat start is verified, a run to an unbounded side, non-finite values and float32 are named."""

import json
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol._guess import initial_guess_jit
from lrcontrol.solvers import MESSAGES, Result

from helpers import perceptron_problem


def _d(sol):
    return sol.diagnostics


# --- (a) round-off: converged to the floor, or a real stall above it --------------------------------------------

def test_tolerance_below_round_off_converges_to_the_floor():
    # rtol 1e-16 is below what the objective's round-off allows (the projected gradient stalls near 1e-14 of its
    # start; rtol 1e-15 was reached once the two-loop recursion ran as matrix products): the solve stops on the
    # floor and says so (it used to end "stalled at round-off", not converged, like the README's teacher-student
    # example).
    sol = lrc.solve(perceptron_problem(steps=100), lrc.solvers.Direct(rtol=1e-16), progress=False)
    d = _d(sol)
    assert d.converged, d.message
    assert d.message.startswith("converged to float64 round-off: projected grad norm")
    floor, tol = float(d.extras["roundoff_floor"]), float(d.extras["tolerance"])
    assert tol < float(d.residual) <= floor
    assert f"floor {floor:.1e}" in d.message
    assert int(d.iterations) < 200  # detected, not ground out to max_steps


class _WrongSlope(lrc.systems.AbstractDiscreteSystem):
    """x ↦ x·(1 − η)² on a scalar, whose step reports a derivative in η three times too small and of the wrong
    sign past η = 1/2: the gradient disagrees with the objective, so the line search fails far above round-off."""

    name: ClassVar[str] = "wrong_slope"

    def initial_state(self):
        return jnp.ones(())

    def loss(self, x):
        return 0.5 * x**2

    def step(self, x, u, k):
        return x * _bad_square(1.0 - u[0])


@jax.custom_jvp
def _bad_square(a):
    return a * a


@_bad_square.defjvp
def _bad_square_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    return a * a, -0.7 * a * da  # wrong: d(a²) = 2a·da


def test_real_stall_above_the_floor_stays_not_converged():
    problem = lrc.ControlProblem(_WrongSlope(), lrc.objectives.FinalLoss(), horizon=4, bounds={"lr": (0.0, 0.9)})
    sol = lrc.solve(problem, u0=jnp.full((4, 1), 0.3), progress=False)
    d = _d(sol)
    assert not d.converged
    assert int(d.result) == Result.LINE_SEARCH_FAILED, d.message
    floor = float(d.extras["roundoff_floor"])
    assert "above its round-off floor" in d.message and f"round-off floor {floor:.1e}" in d.message
    assert float(d.residual) > float(d.extras["roundoff_floor"])


# --- (b) a start already stationary to round-off ---------------------------------------------------------------

def test_huge_discount_is_verified_optimal_and_says_the_rest_is_flat():
    # With ρ = 1e6 only the first cell (h = 0.005) counts: e^{-ρt} underflows after it. There
    # J ≈ ½/(ρ + 2μ) + βμ²/ρ, minimised at μ ≈ 1/(2βρ) = 1e-6 (β = 0.5), which the initial guess (the bottom of its search range) already
    # is to 1e-17: the solve is truly optimal, and the message says the other controls do not matter.
    problem = perceptron_problem(steps=400, discount=1e6)
    start = initial_guess_jit(problem)
    assert float(start[0, 0]) == pytest.approx(1e-6, rel=1e-12)
    sol = lrc.solve(problem, u0=start, progress=False)  # the default start, passed so both solves share a compile
    d = _d(sol)
    assert d.converged, d.message
    assert "the start was already optimal to round-off" in d.message and "verified by trial steps" in d.message
    assert f"does not depend on {problem.steps - 1} of the {problem.steps} controls" in d.message
    mu = float(sol.controls[0, 0])
    assert abs(mu - 1 / (2 * 0.5 * (1e6 + 2 * mu) ** 2) * 1e6) < 1e-12
    # From another start the solver moves the first control to the same optimum and reports it converged.
    moved = lrc.solve(problem, u0=jnp.full((problem.steps, 1), 3e-6), progress=False)
    assert _d(moved).converged, _d(moved).message
    assert abs(float(moved.controls[0, 0]) - mu) < 1e-9 * mu


class _CosineSteps(lrc.systems.AbstractDiscreteSystem):
    """x_{k+1} = x_k + cos(η_k): constant η = 0 is a stationary maximum of the final loss x_N."""

    name: ClassVar[str] = "cosine_steps"

    def initial_state(self):
        return jnp.asarray(10.0)

    def loss(self, x):
        return x

    def step(self, x, u, k):
        return x + jnp.cos(u[0])


def test_stationary_start_that_is_a_maximum_is_not_verified():
    problem = lrc.ControlProblem(_CosineSteps(), lrc.objectives.FinalLoss(), horizon=5, bounds={"lr": (-1.0, 1.0)})
    sol = lrc.solve(problem, u0=jnp.zeros((5, 1)), progress=False)
    d = _d(sol)
    assert not d.converged and int(d.result) == Result.NOT_VERIFIED
    assert "saddle or maximum" in d.message


# --- (c) unbounded ---------------------------------------------------------------------------------------------

def test_final_loss_without_an_upper_bound_is_unbounded():
    problem = lrc.ControlProblem(lrc.systems.LinearPerceptron(), lrc.objectives.FinalLoss(), horizon=2.0,
                                 steps=100)
    sol = lrc.solve(problem, progress=False)
    d = _d(sol)
    assert not d.converged and int(d.result) == Result.UNBOUNDED
    assert "unbounded" in d.message and "set an upper bound on lr" in d.message
    assert float(sol.objective) == 0.0  # e^{-2·lr·T} underflowed: the infimum, reached by no finite schedule


# --- (d) non-finite values ---------------------------------------------------------------------------------------

def test_non_finite_objective_is_named_with_its_iteration():
    from lrcontrol import _registry

    problem, _ = _registry.build_problem("random_features", ["eta_max=1e10", "blocks=100"])
    sol = lrc.solve(problem, progress=False)
    d = _d(sol)
    assert not d.converged and int(d.result) == Result.NONFINITE
    assert d.message.startswith("not converged: non-finite objective at iteration 0")
    # The solution still writes as JSON (the CLI writes its files, then exits 3): non-finite numbers as null.
    data = json.loads(sol.to_json())
    assert data["diagnostics"]["converged"] is False and data["objective"] is None
    assert data["diagnostics"]["message"] == d.message


def test_non_finite_state_at_the_answer_overrides_a_solver_verdict():
    from lrcontrol._solve import _check_finite
    from lrcontrol.solvers import Info

    info = Info(jnp.array(0), jnp.array(7), jnp.array(8), jnp.array(0.0), jnp.array(1.0))
    result, extras = _check_finite(info, jnp.ones((3, 1)), jnp.array(1.0), jnp.array(jnp.nan), jnp.ones(4))
    assert int(result) == Result.NONFINITE and int(extras["nonfinite"]) == 4
    d = lrc._solution.Diagnostics(result, jnp.array(7), jnp.array(8), jnp.array(0.0), jnp.array(1.0),
                                  extras=extras)
    assert d.message == "not converged: non-finite state at iteration 7"


# --- (e) float32 -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def float32_solves():
    with jax.enable_x64(False):
        system = lrc.systems.LinearPerceptron()
        problem = lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=0.5), horizon=2.0, steps=100)
        ref = np.asarray(system.optimal_schedule(problem).values, np.float64)
        out = {}
        for name, solver in [("direct", lrc.solvers.Direct()), ("newton", lrc.solvers.Shooting()),
                             ("hjb", lrc.solvers.HJB(points=101))]:
            sol = lrc.solve(problem, solver, progress=False)
            u = np.asarray(sol.schedule.values, np.float64)
            out[name] = (sol, np.max(np.abs(u - ref)) / ref.max())
        return out


def test_float32_direct_converges_to_float32_round_off(float32_solves):
    sol, err = float32_solves["direct"]
    d = _d(sol)
    assert d.precision == "float32" and sol.controls.dtype == jnp.float32
    assert d.converged, d.message
    assert "float32" in d.message
    # Measured 5.59e-5 from the closed form, against 5.60e-5 in float64: the discretisation error, so stopping on
    # the float32 floor costs nothing visible (it used to end "stalled at round-off", not converged).
    assert err < 6e-5
    assert float(d.residual) <= float(d.extras["roundoff_floor"])


def test_float32_newton_tolerance_scales_with_epsilon(float32_solves):
    sol, err = float32_solves["newton"]
    d = _d(sol)
    assert d.converged and "float32" in d.message, d.message
    assert float(d.extras["shooting_tolerance"]) == pytest.approx(100 * np.finfo(np.float32).eps)
    assert err < 1e-6  # measured 2.8e-7 (1.5e-10 in float64); it used to end "Newton failed" at 4e-7


def test_float32_hjb_reports_what_it_achieves(float32_solves):
    sol, err = float32_solves["hjb"]
    d = _d(sol)
    assert d.converged, d.message
    # The reported change (the error estimate) bounds the achieved error, and the words give both limits.
    # Measured: change 3.5e-3, error 3.2e-3 in float32 (4.4e-5 and 5.7e-5 in float64, where the time grid's
    # error, not the state grid's, dominates).
    assert err <= float(d.residual)
    assert f"changed by {float(d.residual):.1e}" in d.message and "float32" in d.message and "√ε" in d.message


# --- (f) result codes carry their messages; Newton's own verdict ------------------------------------------------

def test_results_are_an_enum_with_messages():
    assert Result.SUCCESS == 0 and Result.UNBOUNDED.message == MESSAGES[Result.UNBOUNDED]
    assert all(Result(code).message == text for code, text in MESSAGES.items())


def test_shooting_failure_says_what_newton_reported():
    sol = lrc.solve(perceptron_problem(steps=100), lrc.solvers.Shooting(max_steps=1), progress=False)
    d = _d(sol)
    assert not d.converged
    assert "(Newton: max steps reached" in d.message or "(Newton: nonlinear max steps reached" in d.message
