"""Where solvers start: the best constant learning rate within its bounds (or a system's own starting point)."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ._problem import ControlProblem
from ._search import coarse_log_minimum


def lr_search_range(problem: ControlProblem) -> tuple[float, float]:
    """Where to look for a good learning-rate scale: 10⁻⁶…10⁴, or 10⁻¹⁰·hi…hi under an upper bound, clipped
    to the lower bound. Shared by the initial guess and peak tuning."""
    lo, hi = problem.lower[0], problem.upper[0]
    top = hi if np.isfinite(hi) else 1e4
    return max(top * 1e-10 if np.isfinite(hi) else 1e-6, lo if lo > 0 else 0.0), top


def initial_guess(problem: ControlProblem):
    """A constant learning rate near the best one within its bounds (other controls at the system's defaults).

    Cheap and scale-free: the cost on 11 points one decade apart over 10⁻⁶…10⁴ (or 10⁻¹⁰·hi…hi when lr has
    an upper bound), refined to the vertex of the parabola (in log-rate) through the best point and its
    neighbours. Only a starting point: the solver does the rest. A system whose `initial_controls(problem)` gives
    one (a symmetric objective whose constant schedules are stationary points, e.g. `Quadratic`) supplies it
    instead.
    """
    own = problem.system.initial_controls(problem)
    if own is not None:
        return own
    m = len(problem.control_names)
    defaults = jnp.clip(jnp.asarray(problem.system.control_defaults[:m] + (0.0,) * (m - len(
        problem.system.control_defaults)), float), jnp.asarray(problem.lower), jnp.asarray(problem.upper))
    bottom, top = lr_search_range(problem)
    row = lambda a: jnp.tile(defaults.at[0].set(a), (problem.blocks, 1))  # noqa: E731
    if not bottom < top:
        return row(top)
    return row(coarse_log_minimum(lambda a: problem.cost(row(a)), bottom, top))


# The same, compiled once per problem structure (run eagerly, each operation of the search compiles on its own).
initial_guess_jit = eqx.filter_jit(initial_guess)
