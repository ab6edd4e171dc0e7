"""The diagonal quadratic's closed forms, checked by other methods (its generic checks are test_conformance's)."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol.systems import DiagonalQuadratic


def test_one_step_optimum_is_the_minimum_of_a_brute_force_scan():
    system = DiagonalQuadratic(dim=5, mu=0.05, L=2.0)
    lam = np.asarray(system.eigenvalues())
    # Independent of the closed form: the final loss after one step on a fine grid of steps, in numpy.
    etas = np.linspace(0.0, 2.0 / lam.min(), 400_001)
    losses = 0.5 * ((1 - np.outer(etas, lam)) ** 2 @ lam)
    i = int(np.argmin(losses))
    spacing = etas[1] - etas[0]
    assert abs(float(system.optimal_step()) - etas[i]) <= spacing
    problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=1)
    schedule, value = system.optimal(problem)
    # The parabola's minimum lies within half a grid spacing of the best grid point: the gap is O(spacing²).
    assert losses[i] - 1e-9 <= float(value) <= losses[i]
    assert float(problem.cost(jnp.asarray(schedule.values)[:, None])) == pytest.approx(float(value), rel=1e-13)


def test_no_closed_form_beyond_one_step():
    system = DiagonalQuadratic()
    problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=3)
    with pytest.raises(lrc.NoClosedForm, match="horizon = 1"):
        system.optimal(problem)


def test_steps_at_the_inverse_eigenvalues_zero_the_loss_in_any_order():
    system = DiagonalQuadratic(dim=3, mu=0.2, L=1.0)
    lam = np.asarray(system.eigenvalues())
    for order in itertools.permutations(range(3)):
        steps = np.concatenate([1 / lam[list(order)], [0.37]])  # T = d + 1: the extra step changes nothing
        final = float(system.final_loss(jnp.asarray(steps)[:, None]))
        assert final <= 1e-30, (order, final)
    # A step away from 1/λ leaves that coordinate's error: the loss is then positive.
    assert float(system.final_loss(jnp.asarray([1 / lam[0], 1 / lam[1], 0.9 / lam[2]])[:, None])) > 1e-4


@pytest.mark.parametrize("kwargs, message", [
    (dict(dim=0), "dim must be a whole number >= 1"),
    (dict(mu=0.0), "mu must be a finite number > 0"),
    (dict(mu=2.0, L=1.0), "L must be >= mu (2), got 1."),
])
def test_bad_input_is_one_sentence(kwargs, message):
    with pytest.raises(lrc.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DiagonalQuadratic(**kwargs)
