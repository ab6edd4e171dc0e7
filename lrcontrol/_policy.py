"""Feedback policies u = fn(t, x, params): what `lrc.simulate` runs, and the closed-loop effort law as one."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp

from ._errors import InputError, check_real
from .objectives import Effort, closed_loop_rate


class FeedbackPolicy(eqx.Module):
    """u = fn(t, state, params): a closed-loop controller that `simulate` can run."""

    fn: Callable = eqx.field(static=True)
    params: Any

    def __call__(self, t, state):
        return self.fn(t, state, self.params)


def closed_loop_policy(problem, final_loss):
    """The closed-loop effort law μ(t, x) = √(max(L(x) − L̂(T), 0)/β) as an `lrc.FeedbackPolicy` for `lrc.simulate`.

    Any system; the problem's objective must be the undiscounted `Effort` (the law is not optimal with discount,
    Njaradi et al. 2026). `final_loss` is the forecast L̂(T) (the oracle, a pilot run's final loss, ...).
    """
    obj = problem.objective
    if not isinstance(obj, Effort) or float(obj.discount) != 0.0:
        raise InputError("closed_loop_policy needs the undiscounted Effort objective (discount = 0).")
    check_real("final_loss", final_loss)
    return FeedbackPolicy(_closed_loop_law, (problem.system, jnp.asarray(final_loss, float), obj.effort_cost))


def _closed_loop_law(t, x, params):
    # One function for every closed-loop policy (the system is a parameter): `simulate` compiles it once.
    system, final_loss, effort_cost = params
    return closed_loop_rate(system.loss(x), final_loss, effort_cost)[None]
