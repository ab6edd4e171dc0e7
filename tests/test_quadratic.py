"""GD on a quadratic with spectrum in [μ, L] (lrcontrol/systems/quadratic.py): the Chebyshev steps [D]
against an independent numerical minimax (surrogate continuation with lrc.solve, then Remez exchange)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol import _registry
from lrcontrol.systems import Quadratic


def test_worked_check_and_constant_step():
    # Worked check [D]: μ = 1, L = 50, T = 10 → 0.1155881 (constant step 2/(L+μ): 0.670)
    q = Quadratic(1.0, 50.0)
    assert q.chebyshev_factor(10) == pytest.approx(0.1155881, abs=5e-8)
    assert q.constant_factor(10) == pytest.approx(0.670, abs=5e-4)
    assert q.constant_factor(10) == pytest.approx((49 / 51) ** 10, rel=1e-14)
    # the closed-form factors against max|Π(1 − α_k λ)| measured on the spectrum
    assert q.worst_case_factor(q.chebyshev_steps(10)) == pytest.approx(q.chebyshev_factor(10), rel=1e-12)
    assert q.worst_case_factor(np.full(10, q.constant_step())) == pytest.approx(q.constant_factor(10), rel=1e-12)


@pytest.mark.parametrize("mu,L,T", [(1.0, 50.0, 10), (0.01, 1.0, 37), (2.0, 3.0, 1)])
def test_raised_cosine_form_of_the_inverse_steps(mu, L, T):
    q = Quadratic(mu, L)
    np.testing.assert_allclose(q.raised_cosine_inverse_steps(T), q.chebyshev_inverse_steps(T), rtol=1e-14)
    assert np.all(np.diff(q.chebyshev_steps(T)) > 0) and q.chebyshev_steps(T).shape == (T,)


def test_no_step_set_beats_the_chebyshev_factor():
    q = Quadratic(1.0, 50.0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        steps = 1 / rng.uniform(1.0, 50.0, 10)
        assert q.worst_case_factor(steps) >= q.chebyshev_factor(10)


@pytest.mark.parametrize("mu,L,T", [(1.0, 50.0, 10), (1.0, 1000.0, 25)])
def test_numerical_minimax_recovers_the_chebyshev_steps(mu, L, T):
    # Measured: factor 6e-15 (T = 10) and 3e-14 (κ = 1000, T = 25) relative error, sorted steps ~1e-15 of the
    # largest; the surrogate stages alone stop ~1% above the minimum (finite sharpness), the exchange closes the gap.
    q = Quadratic(mu, L)
    result = lrc.minimax(q, T)
    exact = q.chebyshev_factor(T)
    assert abs(result.factor / exact - 1) <= 1e-5
    assert abs(result.level / exact - 1) <= 1e-5
    steps = np.sort(q.chebyshev_steps(T))
    assert np.max(np.abs(result.steps - steps)) / steps.max() <= 1e-5
    # A surrogate stage is only a start for the exchange; one may stall at round-off before its tolerance (κ = 1000,
    # T = 25, q = 64 does), and that is recorded, not required. The exchange itself must converge.
    assert result.converged and result.deviation <= 1e-12
    assert result.stages[-1]["factor"] >= exact  # the surrogate's steps are feasible: no better than the minimax


def test_constant_schedule_is_stationary_within_the_symmetric_set():
    # Why minimax starts from distinct steps: at equal steps all partial derivatives are equal.
    system = Quadratic(1.0, 50.0)
    g = eqx.filter_jit(lambda s, a: jax.grad(s.final_loss)(a))(system, jnp.full(6, 0.05))
    assert float(jnp.max(g) - jnp.min(g)) == 0.0


def test_registry_entry_builds_the_problem():
    problem, params = _registry.build_problem("quadratic", ["mu=2", "L=30", "horizon=12"])
    # sharpness and grid are the class's own parameters too (read from Quadratic.parameters), at their defaults
    assert params == {"mu": 2.0, "L": 30.0, "sharpness": 64.0, "grid": 2001, "horizon": 12}
    assert isinstance(problem.system, Quadratic) and problem.steps == 12
    assert problem.system.params()["mu"] == 2.0 and problem.objective.kind == "final_loss"


@pytest.mark.parametrize("make", [lambda: Quadratic(2.0, 1.0), lambda: Quadratic(1.0, 1.0),
                                  lambda: Quadratic(0.0, 1.0), lambda: Quadratic(1.0, 2.0, sharpness=-1.0),
                                  lambda: Quadratic(1.0, 50.0).chebyshev_factor(0),
                                  lambda: lrc.minimax(Quadratic(1.0, 50.0), 0),
                                  lambda: lrc.ControlProblem(Quadratic(), lrc.objectives.FinalLoss(), horizon=0),
                                  lambda: _registry.build_problem("quadratic", ["mu=50", "L=50"])])
def test_bad_input_is_one_sentence(make):
    with pytest.raises(lrc.InputError) as err:
        make()
    message = str(err.value)
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message
