"""One-dimensional searches: golden section (numpy or JAX, many intervals at once) and the best positive scale of
a schedule (initial guesses, peak tuning). A leaf module: the toolkit's one golden-section implementation."""

import math

import jax
import jax.numpy as jnp
import numpy as np

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # 1/φ = 0.618…, φ the golden ratio


def golden_section(keep_left, a, b, steps: int, *, xp=np, fori_loop=None):
    """Shrink the brackets [a, b] of a unimodal function by `steps` golden-section steps; returns their midpoints.

    Each step places c = b − (b − a)/φ and d = a + (b − a)/φ and asks `keep_left(c, d)` (boolean, per interval)
    whether the optimum lies in [a, d] (else [c, b]); both points are evaluated afresh, so the bracket shrinks by
    1/φ per step and two evaluations per step. `a`, `b`: arrays of the same shape (many intervals at once) or
    scalars. `xp`: numpy or jax.numpy (for `where`). `fori_loop`: `jax.lax.fori_loop` to trace the loop once
    under jit, None for a Python loop. Minimising f: `keep_left = lambda c, d: f(c) <= f(d)`; maximising:
    `golden_max`.
    """
    def step(_, ab):
        a, b = ab
        c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
        left = keep_left(c, d)
        return xp.where(left, a, c), xp.where(left, d, b)

    if fori_loop is None:
        for i in range(steps):
            a, b = step(i, (a, b))
    else:
        a, b = fori_loop(0, steps, step, (a, b))
    return 0.5 * (a + b)


def golden_max(f, lo, hi, iterations: int = 100) -> np.ndarray:
    """argmax of a unimodal f on each [lo_i, hi_i], all intervals at once, in float64 numpy (`golden_section`;
    f maps an array of points to an array of values). Ties keep the left part."""
    a, b = np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)
    return golden_section(lambda c, d: np.logical_not(f(d) > f(c)), a, b, iterations)


def best_log_scale(cost, lo: float, hi: float, *, grid: int = 61, golden_steps: int = 40):
    """Minimise cost(a) over a ∈ [lo, hi] (0 < lo < hi), on a log grid then by golden section.

    Non-finite costs count as +inf (diverging SGD at large rates). Returns (a*, cost(a*)).
    Its golden section reuses one interior point per step (one cost per step, the cost being a whole unrolled
    run), unlike `golden_section`'s two fresh points.
    Assumes the minimum on the grid is bracketed by its neighbours, which holds for the unimodal
    cost-versus-scale curves of learning-rate problems; the grid step bounds the error otherwise.
    """
    lo, hi = jnp.log(jnp.asarray(lo, float)), jnp.log(jnp.asarray(hi, float))
    safe = lambda a: jnp.nan_to_num(cost(a), nan=jnp.inf, posinf=jnp.inf)  # noqa: E731
    logs = jnp.linspace(lo, hi, grid)
    # A few grid points at a time: vectorised, yet O(8·N) memory for a cost over N steps (not O(grid·N)).
    costs = jax.lax.map(lambda s: safe(jnp.exp(s)), logs, batch_size=8)
    i = jnp.argmin(costs)
    a, b = logs[jnp.maximum(i - 1, 0)], logs[jnp.minimum(i + 1, grid - 1)]
    r = (jnp.sqrt(5.0) - 1) / 2

    def step(_, state):  # golden section: each step reuses one interior point and its cost
        a, b, c, d, fc, fd = state
        left = fc < fd  # the minimum lies in [a, d]: d becomes the new upper interior point
        a, b = jnp.where(left, a, c), jnp.where(left, d, b)
        c_new, d_new = b - r * (b - a), a + r * (b - a)
        x = jnp.where(left, c_new, d_new)  # the one new point
        fx = safe(jnp.exp(x))
        return (a, b, jnp.where(left, c_new, d), jnp.where(left, c, d_new),
                jnp.where(left, fx, fd), jnp.where(left, fc, fx))

    c, d = b - r * (b - a), a + r * (b - a)
    a, b, *_ = jax.lax.fori_loop(0, golden_steps, step, (a, b, c, d, safe(jnp.exp(c)), safe(jnp.exp(d))))
    best = jnp.exp(0.5 * (a + b))
    # Never return worse than the best grid point (a flat or multimodal curve can fool golden section).
    use_grid = costs[i] < safe(best)
    best = jnp.where(use_grid, jnp.exp(logs[i]), best)
    return best, jnp.where(use_grid, costs[i], safe(best))


def coarse_log_minimum(cost, lo: float, hi: float, *, points: int = 11):
    """Approximate argmin of cost(a) over [lo, hi]: a log grid, then the vertex of the parabola through the
    best grid point and its two neighbours (clipped to that bracket). Non-finite costs count as +inf."""
    logs = jnp.linspace(jnp.log(jnp.asarray(lo, float)), jnp.log(jnp.asarray(hi, float)), points)
    costs = jax.vmap(lambda s: jnp.nan_to_num(cost(jnp.exp(s)), nan=jnp.inf, posinf=jnp.inf))(logs)
    i = jnp.clip(jnp.argmin(costs), 1, points - 2)
    f0, f1, f2 = costs[i - 1], costs[i], costs[i + 1]
    step = logs[1] - logs[0]
    curvature = f0 - 2 * f1 + f2
    offset = jnp.where(jnp.isfinite(curvature) & (curvature > 0), 0.5 * (f0 - f2) / curvature, 0.0)
    best = jnp.where(jnp.argmin(costs) == i, logs[i] + step * jnp.clip(offset, -1.0, 1.0),
                     logs[jnp.argmin(costs)])
    return jnp.exp(best)
