"""Online controllers: learning-rate laws applied during training, as optax gradient transformations, and the
same laws as feedback policies u(t, x) that `lrc.simulate` runs on a model."""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from ._errors import InputError, check_real
from ._policy import closed_loop_policy as closed_loop_policy  # re-exported: lrc.controllers.closed_loop_policy
from .episodic import EpisodicMemory
from .objectives import Effort, closed_loop_rate


class ClosedLoopState(NamedTuple):
    count: Array  # steps taken
    rate: Array  # the learning rate μ applied at the last step (for logging)
    forecast: Array  # the forecast of the final loss used at the last step
    history: Array  # the losses seen so far, one per step (an EpisodicMemory forecast only; else empty)


def closed_loop(effort_cost: float, final_loss: float | Callable | EpisodicMemory, *, time_step: float = 1.0
                ) -> optax.GradientTransformationExtraArgs:
    """The effort–performance closed-loop law as an optax transformation (Njaradi et al. 2026, arXiv 2601.07830).

    At every step the learning rate is μ = √(max(L − L̂(T), 0)/β) with L the current loss (passed as
    `value=`), L̂(T) the forecast of the final loss and β the effort cost; the update is −μ·Δt·g. For the
    undiscounted effort objective this law is optimal along the optimal run when L̂(T) is that run's own final
    loss (the oracle); a lower forecast (over-confident) makes the learner engage harder, a higher one less.
    It is not optimal with discount ([D]).

    **Arguments:**

    - `effort_cost`: β > 0, the paper's effort cost.
    - `final_loss`: the forecast L̂(T): a number (e.g. the oracle, or a pilot run's final loss), a function
      `forecast(count, loss) -> L̂(T)`, or an `lrc.episodic.EpisodicMemory` of past runs recorded at the same
      steps (the state then keeps this run's loss history and the memory re-forecasts from it every step).
    - `time_step`: Δt, the time one optimiser step covers (gradient flow ẇ = −μ∇L stepped by explicit Euler).

    Use it alone (it scales the raw gradient) and pass the loss at each update:

        opt = lrc.controllers.closed_loop(effort_cost=0.5, final_loss=0.13, time_step=1e-3)
        updates, state = opt.update(grads, state, params, value=loss)
    """
    check_real("effort_cost", effort_cost, lo=0.0, lo_open=True)
    check_real("time_step", time_step, lo=0.0, lo_open=True)
    memory = final_loss if isinstance(final_loss, EpisodicMemory) else None
    if memory is None and not callable(final_loss):
        check_real("final_loss", final_loss)
    forecast_fn = final_loss if callable(final_loss) else (lambda count, loss: jnp.asarray(final_loss, float))

    def init(params):
        del params
        zero = jnp.zeros((), float)
        history = jnp.ones(0 if memory is None else memory.nodes, float)
        return ClosedLoopState(jnp.zeros((), jnp.int32), zero, zero, history)

    def update(updates, state, params=None, *, value, **extra_args):
        del params, extra_args
        history = state.history
        if memory is None:
            forecast = jnp.asarray(forecast_fn(state.count, value), float)
        else:  # past the memory's last node the curves say nothing new: keep comparing up to it
            k = jnp.minimum(state.count, memory.nodes - 1)
            history = history.at[k].set(value)
            forecast = memory.forecast(history, k)
        rate = closed_loop_rate(value, forecast, effort_cost)
        updates = jax.tree_util.tree_map(lambda g: -(rate * time_step) * g, updates)
        return updates, ClosedLoopState(state.count + 1, rate, forecast, history)

    return optax.GradientTransformationExtraArgs(init, update)
