"""The best monotone staircase under a loss-curve law: a switching-time search for `LawSchedule`.

Under the multi-power law the monotone optimum is a staircase — the peak held, then a few clean falls, each in one
update (`benchmarks/results/mpl_schedule.png`): a fall to a low rate η makes η^{−γ}S large, so its loss drop
saturates at B·(fall), and a fall spread over several updates lands partly on higher rates and saturates less. A
per-update descent finds such an optimum slowly (thousands of iterations) and ends at a different staircase from
each start, because moving a fall by a fraction of an update splits it, which the law penalises (the landscape
in the per-update rates has a local minimum at every update).

This search optimises the staircase itself, as switching-time optimisation does for a bang-bang control: K falls,
their positions and the levels they fall to, 2K smooth variables, with the law's continuous-time staircase
(`staircase_final_loss`: a fall at a fractional update stays one clean fall) — O(W + K) per evaluation, so every
start of every K costs milliseconds. Variables, all boxed for the toolkit's projected L-BFGS:

- positions by stick breaking: the K + 1 stretches after the warm-up are 1 + a_j updates, a_j = z_j·(what is left
  of the M − K − 1 free updates), z_j ∈ [0, 1] — every stretch at least one update, in order, summing to M;
- levels by log-decrements, as `LawSchedule` (monotone): ℓ_j = min + (peak − min)·exp(−Σ_{i<=j} w_i), w_i ∈ [0, 60].

The best end over the starts is rounded to whole updates and returned as per-update rates, for `optimise` to polish
by the per-update solve (which may add falls the staircase lacks). Only for a law whose `staircase_final_loss` is
not None (MPL today).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import InputError
from ..solvers._lbfgsb import minimise

# One update's log-decrement is at most 60 (here and in `law_schedule`, which imports this module, so it is
# defined here): a drop by e^60 ≈ 1e26 of the distance to min_lr already puts the rate at min_lr to within 1e-16
# of it (for peak/min_lr up to 1e10). The bound keeps the rates' range what it is and tells the solver the controls
# are bounded: without it, its end check read the rate saturating at min_lr as an objective unbounded below.
MAX_LOG_DECREMENT = 60.0


def warmup_rates(warmup: int, peak):
    """η_s = peak·s/(W − 1), s = 0 … W−1 (W = 1: one update at rate 0, as the formula with W − 1 read as 1)."""
    return peak * jnp.arange(warmup) / max(warmup - 1, 1)


FALLS = 6  # falls searched by default (the 25M optimum uses 4; a fall of size 0 covers fewer)
FIRST_FALLS = (0.7, 0.8, 0.9, 0.95, 0.98)  # where the starts' first fall lands, as a fraction of the updates after warm-up


def supported(system) -> bool:
    """Whether the system's law has a continuous-time staircase (and the schedule is monotone, its falls not
    limited by `max_fall`: a staircase's falls take most of the rate in one update)."""
    if not system.monotone or system.max_fall < 1:
        return False
    one = jnp.ones(1)
    return jax.eval_shape(lambda: system.law.staircase_final_loss(one, one, one)) is not None


def _unpack(x, falls: int, free: int, peak: float, min_lr: float):
    # (levels (K+1,), lengths (K+1,)) from the 2K variables: z (stick fractions), w (log-decrements)
    z, w = x[:falls], x[falls:]

    def take(left, zj):
        a = zj * left
        return left - a, a

    left, a = jax.lax.scan(take, jnp.asarray(float(free), x.dtype), z)
    lengths = 1.0 + jnp.concatenate([a, left[None]])
    levels = min_lr + (peak - min_lr) * jnp.exp(-jnp.concatenate([jnp.zeros(1, x.dtype), jnp.cumsum(w)]))
    return levels, lengths


def _starts(falls: int) -> np.ndarray:
    # For each first-fall fraction f: the first stretch takes f of the updates, each further fall half of what is
    # left, and each fall drops the rate by e^{-2} of its distance to min_lr
    rows = []
    for f in FIRST_FALLS:
        rows.append(np.concatenate([[f], np.full(falls - 1, 0.5), np.full(falls, 2.0)]))
    return np.asarray(rows)


def best_staircase(system, horizon: int, falls: int = FALLS, *, max_steps: int = 500):
    """The lowest final loss over staircases with up to `falls` falls (a fall of size 0 is allowed, so fewer falls
    are covered), searched from `len(FIRST_FALLS)` starts at once (one compiled, vmapped solve).

    Returns (rates (horizon,) per update with the falls rounded to whole updates, {"final_loss": `final_loss` of
    those rates, "continuous_final_loss": the search's value before rounding, "falls": falls larger than 1e-12 of
    the peak, "positions": the updates where they land, "levels": the rates they fall to, "by_start": each start's
    end value}).
    """
    law, w = system.law, system.warmup
    free = horizon - w - falls - 1
    if free < 0:
        raise InputError(f"falls must be at most horizon − warmup − 1 ({horizon - w - 1}), got {falls}.")
    lead = warmup_rates(w, system.peak) if w > 0 else jnp.full(1, system.peak)
    levels, lengths, vals = _search(law, lead, jnp.asarray(_starts(falls)), falls, free, system.peak,
                                    system.min_lr, w == 0, max_steps)
    vals = np.asarray(vals)
    best = int(np.nanargmin(vals))
    levels, lengths = np.asarray(levels[best]), np.asarray(lengths[best])
    # whole updates: each boundary (cumulative length) of a real fall to the update below or above it, all 2^falls
    # combinations evaluated by the per-update law at once; the best wins (a fall cannot be split, so rounding is a
    # small discrete search, not a nearest-integer choice)
    edges = np.cumsum(lengths)[:-1]
    real = (levels[:-1] - levels[1:]) > 1e-12 * system.peak
    choices = [(np.floor(e), np.ceil(e)) if r else (np.round(e),) for e, r in zip(edges, real)]
    grid = np.stack(np.meshgrid(*choices, indexing="ij"), -1).reshape(-1, falls).astype(int)
    grid = np.minimum(np.maximum.accumulate(grid, axis=1), horizon - w)  # keep the order
    counts = np.diff(np.concatenate([np.zeros((grid.shape[0], 1), int), grid,
                                     np.full((grid.shape[0], 1), horizon - w)], axis=1), axis=1)
    warm = np.asarray(warmup_rates(w, system.peak))
    candidates = np.stack([np.concatenate([warm, np.repeat(levels, c)]) for c in counts])
    finals = np.asarray(_final_losses(law, jnp.asarray(candidates)))
    pick = int(np.nanargmin(finals))
    bounds, counts, rates = grid[pick], counts[pick], candidates[pick]
    keep = np.concatenate([[False], real]) & (counts > 0)
    where = w + np.concatenate([[0], bounds])
    report = {"final_loss": float(finals[pick]), "continuous_final_loss": float(vals[best]),
              "falls": int(keep.sum()), "positions": [int(p) for p in where[keep]],
              "levels": [float(v) for v in levels[keep]], "by_start": [float(v) for v in vals]}
    return rates, report


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6, 7, 8))
def _search(law, lead, starts, falls, free, peak, min_lr, no_warmup, max_steps):
    # every start's staircase solve, vmapped, in one compiled call (cached per law type, sizes, peak and min_lr);
    # returns each end's levels and stretch lengths (unpacked here: `_unpack` run eagerly compiled its scan again
    # on every call) and value
    def value(x):
        levels, lengths = _unpack(x, falls, free, peak, min_lr)
        if no_warmup:  # the lead is the first update at the peak: the first stretch gives it up
            lengths = lengths.at[0].add(-1.0)
        return law.staircase_final_loss(lead, levels, lengths)

    grad = jax.value_and_grad(value)
    lower = jnp.zeros(2 * falls)
    upper = jnp.concatenate([jnp.ones(falls), jnp.full(falls, MAX_LOG_DECREMENT)])

    def solve(x0):
        x, _ = minimise(lambda x: (*grad(x), None), x0, lower, upper, None, rtol=1e-12, atol=0.0,
                        max_steps=max_steps, history=10)
        return (*_unpack(x, falls, free, peak, min_lr), value(x))

    return jax.vmap(solve)(starts)


_final_losses = jax.jit(jax.vmap(lambda law, rates: law.final_loss(rates), in_axes=(None, 0)))
