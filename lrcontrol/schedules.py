"""Standard schedule families (as practitioners use them) and peak tuning under a model.

Every family is a shape h(x) on x = k/steps (left end of each step, so step 0 runs at the peak, as in optax)
multiplied by `peak`. `grid` defaults to step indices; pass `horizon` to put the same values on a time grid.
The decaying shapes are the window functions of `lrcontrol._windows` (linear, raised cosine with floor, powers
of the linear window); `window` offers all of them with periods, coverage and horizon-free inputs.
"""

import equinox as eqx
import jax.numpy as jnp

from ._errors import InputError, check_int, check_real
from ._schedule import Schedule, uniform
from ._search import best_log_scale
from ._refine import RefineWarning, refine, refine_weights, smoothed_norms  # noqa: F401  (re-exported)
from ._windows import (WINDOW_FAMILIES, cosine_window, exponential_window, kronecker_inputs,  # noqa: F401
                       linear_window, logistic_window, polynomial_window, window)

DECAY_SHAPES = ("linear", "cosine", "sqrt", "power")




def _x(steps):
    steps = check_int("steps", steps, lo=1)
    return jnp.arange(steps) / steps


def _checked(peak, floor=0.0):
    check_real("peak", peak, lo=0.0)
    check_real("floor", floor, lo=0.0, hi=1.0)


def constant(peak: float, steps: int, *, horizon=None) -> Schedule:
    """η_k = peak."""
    _checked(peak)
    return uniform(jnp.full(check_int("steps", steps), float(peak)), steps, horizon)


def linear(peak: float, steps: int, *, floor: float = 0.0, horizon=None) -> Schedule:
    """η_k = peak·[floor + (1 − floor)(1 − x)]: linear decay towards peak·floor."""
    _checked(peak, floor)
    return uniform(peak * (floor + (1 - floor) * linear_window(_x(steps))), steps, horizon)


def cosine(peak: float, steps: int, *, floor: float = 0.0, horizon=None) -> Schedule:
    """η_k = peak·[floor + (1 − floor)(1 + cos πx)/2] = peak·`cosine_window`(x, floor)."""
    _checked(peak, floor)
    return uniform(peak * cosine_window(_x(steps), floor), steps, horizon)


def power_decay(peak: float, steps: int, *, exponent: float = 1.0, horizon=None) -> Schedule:
    """η_k = peak·(1 − x)^p (p = 2β−1 is the FSL easy-phase optimum's shape)."""
    _checked(peak)
    check_real("exponent", exponent, lo=0.0)
    return uniform(peak * linear_window(_x(steps)) ** exponent, steps, horizon)


def inverse_power(peak: float, steps: int, *, exponent: float = 0.5, horizon=None) -> Schedule:
    """η_k = peak·(1 + k)^(−exponent): the power-law baseline η₀t^{−χ} of Bordelon & Mori (steps counted from 1,
    so step 0 runs at the peak)."""
    _checked(peak)
    check_real("exponent", exponent, lo=0.0)
    return uniform(peak * (1.0 + jnp.arange(check_int("steps", steps))) ** -exponent, steps, horizon)


def exponential(peak: float, steps: int, *, final: float = 0.01, horizon=None) -> Schedule:
    """η_k = peak·final^x: geometric decay reaching peak·final at the end of training."""
    _checked(peak)
    check_real("final", final, lo=0.0, hi=1.0, lo_open=True)
    return uniform(peak * final ** _x(steps), steps, horizon)


def wsd(peak: float, steps: int, *, warmup: float = 0.0, decay: float = 0.2, shape: str = "linear",
        exponent: float = 2.0, floor: float = 0.0, horizon=None) -> Schedule:
    """Warmup–stable–decay: linear warm-up over a fraction `warmup` of the steps, the peak, then a decay over
    the final fraction `decay` with shape h(y), y ∈ [0, 1): linear 1 − y, cosine (1 + cos πy)/2,
    sqrt 1 − √y, or power (1 − y)^exponent; the decay ends at peak·floor.
    """
    _checked(peak, floor)
    check_real("warmup", warmup, lo=0.0, hi=1.0)
    check_real("decay", decay, lo=0.0, hi=1.0)
    if warmup + decay > 1.0:
        raise InputError(f"warmup + decay must be <= 1, got {warmup} + {decay}.")
    if shape not in DECAY_SHAPES:
        raise InputError(f"shape must be one of {', '.join(DECAY_SHAPES)}, got {shape!r}.")
    n = check_int("steps", steps)
    k = jnp.arange(n)
    n_warm, n_decay = round(warmup * n), round(decay * n)
    warm = (k + 1) / max(n_warm, 1)
    y = (k - (n - n_decay)) / max(n_decay, 1)
    h = {"linear": linear_window, "cosine": cosine_window,
         "sqrt": lambda y: 1 - jnp.sqrt(jnp.clip(y, 0, 1)), "power": lambda y: linear_window(y) ** exponent}[shape]
    dec = floor + (1 - floor) * h(jnp.clip(y, 0.0, 1.0))
    values = jnp.where(k < n_warm, warm, jnp.where(k >= n - n_decay, dec, 1.0))
    return uniform(peak * values, n, horizon)


FAMILIES = {"constant": constant, "linear": linear, "cosine": cosine, "wsd": wsd,
            "power_decay": power_decay, "inverse_power": inverse_power, "exponential": exponential}


def tune_peak(problem, family: str = "cosine", **shape_kwargs):
    """Best peak of a family's shape under the problem's model (the only tuned knob, as in practice).

    Returns (schedule, objective). The peak is searched on a log grid then by golden section, within the
    problem's learning-rate bounds. Compare `objective` with the numerical optimum's.
    """
    from ._guess import lr_search_range

    if family not in FAMILIES:
        raise InputError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}.")
    shape = FAMILIES[family](1.0, problem.steps, horizon=problem.horizon, **shape_kwargs)
    lo, hi = lr_search_range(problem)
    peak, cost = _best_peak(problem.per_step(), shape.values, lo, hi)
    return Schedule(shape.values * peak, problem.grid(), "lr"), cost


@eqx.filter_jit
def _best_peak(problem, shape_values, lo, hi):
    # One compiled search per problem structure: families, shape parameters and problems of the same sizes
    # (a sweep, a grid over a shape parameter) reuse it instead of compiling a new closure each time.
    from ._solve import evaluate

    return best_log_scale(lambda a: evaluate(problem, shape_values * a).objective, lo, hi)


def tune_shape(problem, family: str, name: str, values, **fixed):
    """Best value of one shape parameter `name` among `values`, the peak tuned for each (`tune_peak`): a family's
    baseline "optimised within its family" (e.g. the power law's exponent, WSD's decay fraction).

    Returns (schedule, objective, best value). Other shape parameters are held at `fixed`.
    """
    values = list(values)
    if not values:
        raise InputError(f"values must hold at least one value of {name}.")
    best = None
    for v in values:
        schedule, cost = tune_peak(problem, family, **{name: v, **fixed})
        if best is None or float(cost) < float(best[1]):
            best = (schedule, cost, v)
    return best
