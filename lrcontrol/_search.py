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
    safe = _infinite_if_not_finite(cost)
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


def newton_log_minimum(cost, lo: float, hi: float, *, grid: int = 13, refine: int = 9, max_steps: int = 40,
                       xtol: float = 1e-12):
    """Minimise a smooth cost(a) over a ∈ [lo, hi] (0 < lo < hi): a log grid, a finer grid across the bracket of
    its minimum, then safeguarded Newton steps on x = log a from the vertex of the parabola through the finer
    grid's minimum and its neighbours, with the first and second derivatives of cost(eˣ) by nested forward-mode
    derivatives (one pass of about four costs each). Returns (a*, cost(a*)), as `best_log_scale`.

    For a cost that is a whole O(N) run, fewer passes than `best_log_scale`'s grid and golden section, and to a
    tighter argmin: a Newton step is taken only where it stays inside the bracket and the curvature is positive,
    else the bracket is bisected; the bracket shrinks by the sign of the slope at each point. Stops when the step
    or the bracket is below `xtol` (in log a), or after `max_steps`. Non-finite costs count as +inf on the grids;
    the answer is never worse than the best grid point. A minimum at an end of [lo, hi] is found as the bracket
    closes on it. Assumes, like `best_log_scale`, that the grid minimum's neighbours bracket the minimum.
    """
    safe = _infinite_if_not_finite(cost)

    def search(a, b, points):
        # (best point, best cost, its bracket, the parabola's vertex there); a few points at a time, as in
        # `best_log_scale`
        logs = jnp.linspace(a, b, points)
        costs = jax.lax.map(lambda x: safe(jnp.exp(x)), logs, batch_size=8)
        i = jnp.argmin(costs)
        a, b = logs[jnp.maximum(i - 1, 0)], logs[jnp.minimum(i + 1, points - 1)]
        return logs[i], costs[i], a, b, _parabola_vertex(logs, costs)

    _, _, a, b, _ = search(jnp.log(jnp.asarray(lo, float)), jnp.log(jnp.asarray(hi, float)), grid)
    x_grid, f_grid, a, b, x0 = search(a, b, refine)

    def f(x):
        return cost(jnp.exp(x))

    def derivatives(x):  # (f′, f″) at x
        def slope(y):
            return jax.jvp(f, (y,), (jnp.ones_like(y),))[1]
        return jax.jvp(slope, (x,), (jnp.ones_like(x),))

    def cond(state):
        k, a, b, _, step = state
        return (k < max_steps) & (jnp.abs(step) > xtol) & (b - a > xtol)

    def body(state):
        k, a, b, x, _ = state
        g, h = derivatives(x)
        # the minimum lies on the downhill side of x; a non-finite slope is read as uphill (diverging costs at
        # large scales make the cost's derivatives overflow first)
        downhill_left = ~(g < 0)
        a, b = jnp.where(downhill_left, a, x), jnp.where(downhill_left, x, b)
        step = -g / jnp.where(h > 0, h, 1.0)
        # a Newton step inside the bracket, or one below xtol (converged: x is a bracket end when g is at round-off)
        good = (h > 0) & jnp.isfinite(step) & (((x + step > a) & (x + step < b)) | (jnp.abs(step) <= xtol))
        x_new = jnp.where(good, jnp.clip(x + step, a, b), 0.5 * (a + b))
        return k + 1, a, b, x_new, x_new - x

    x = jax.lax.while_loop(cond, body, (0, a, b, x0, jnp.asarray(jnp.inf, x0.dtype)))[3]
    best, value = jnp.exp(x), safe(jnp.exp(x))
    use_grid = f_grid < value
    return jnp.where(use_grid, jnp.exp(x_grid), best), jnp.where(use_grid, f_grid, value)


def coarse_log_minimum(cost, lo: float, hi: float, *, points: int = 11):
    """Approximate argmin of cost(a) over [lo, hi]: a log grid, then the vertex of the parabola through the
    best grid point and its two neighbours (clipped to that bracket). Non-finite costs count as +inf."""
    logs = jnp.linspace(jnp.log(jnp.asarray(lo, float)), jnp.log(jnp.asarray(hi, float)), points)
    costs = jax.vmap(lambda s: _infinite_if_not_finite(cost)(jnp.exp(s)))(logs)
    return jnp.exp(_parabola_vertex(logs, costs))


def _infinite_if_not_finite(cost):
    """cost with NaN and +inf read as +inf (diverging SGD at large rates), for the searches' comparisons."""
    return lambda a: jnp.nan_to_num(cost(a), nan=jnp.inf, posinf=jnp.inf)


def _parabola_vertex(logs, costs):
    """The vertex of the parabola through the smallest of `costs` (on the evenly spaced `logs`) and its two
    neighbours, clipped to that bracket; the smallest point itself where it is an end of the grid or the
    parabola does not open upwards."""
    points = logs.shape[0]
    i = jnp.clip(jnp.argmin(costs), 1, points - 2)
    f0, f1, f2 = costs[i - 1], costs[i], costs[i + 1]
    step = logs[1] - logs[0]
    curvature = f0 - 2 * f1 + f2
    offset = jnp.where(jnp.isfinite(curvature) & (curvature > 0), 0.5 * (f0 - f2) / curvature, 0.0)
    return jnp.where(jnp.argmin(costs) == i, logs[i] + step * jnp.clip(offset, -1.0, 1.0),
                     logs[jnp.argmin(costs)])
