"""Rolling a system forward over the control grid, one cell (constant controls) at a time.

`cell` maps (state, controls, t0, dt) to the next state and the discounted loss integral over the cell,
∫_{t0}^{t0+dt} e^{-ρt} L(x(t)) dt. A continuous system uses its exact flow where it has one, or RK4 on the
state augmented with that integral. A discrete system takes one step per cell and contributes e^{-ρk} L(x_k).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
from jaxtyping import Array, Float, PyTree, Scalar

from ._errors import InputError
from ._scan import scan as _chunked_scan
from .systems._base import AbstractContinuousSystem, AbstractDiscreteSystem, AbstractSystem


def exprel(x: Array) -> Array:
    """(e^x - 1)/x, accurate and differentiable at 0."""
    small = jnp.abs(x) < 1e-5
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 + x / 2 + x * x / 6, jnp.expm1(safe) / safe)


def discounted_length(t0: Scalar, dt: Scalar, discount: Scalar) -> Scalar:
    """∫_{t0}^{t0+dt} e^{-ρt} dt."""
    return jnp.exp(-discount * t0) * dt * exprel(-discount * dt)


class RK4(eqx.Module):
    """Classical Runge–Kutta with `substeps` equal steps per control cell (fourth order in the cell size)."""

    substeps: int = eqx.field(static=True, default=1)

    def cell(self, system: AbstractContinuousSystem, state, u, t0, dt, discount):
        h = dt / self.substeps

        def rhs(t, y):
            x, _ = y
            return system.vector_field(t, x, u), jnp.exp(-discount * t) * system.loss(x)

        def substep(y, i):
            return rk4_step(rhs, t0 + i * h, y, h), None

        zero = jnp.zeros((), jnp.result_type(dt))
        (x, q), _ = jax.lax.scan(substep, (state, zero), jnp.arange(self.substeps))
        return x, q


class ExactFlow(eqx.Module):
    """The system's own exact flow over each cell (piecewise-constant controls, no time-stepping error).

    With `parallel=True` (default) a system that has a closed-form trajectory (`parallel_flow`) is rolled
    out for all cells at once; otherwise cells are scanned one after another. Both give the same numbers.
    """

    parallel: bool = eqx.field(static=True, default=True)

    def cell(self, system: AbstractContinuousSystem, state, u, t0, dt, discount):
        out = system.flow(state, u, dt, discount)
        if out is None:
            raise InputError(f"{type(system).__name__} has no exact flow; use RK4.")
        x, integral = out
        return x, jnp.exp(-discount * t0) * integral


def _axpy(a, x, y):
    return jtu.tree_map(lambda xi, yi: yi + a * xi, x, y)


def rk4_step(rhs, t, y, h):
    """One classical Runge–Kutta step of size h for dy/dt = rhs(t, y), y any pytree."""
    k1 = rhs(t, y)
    k2 = rhs(t + h / 2, _axpy(h / 2, k1, y))
    k3 = rhs(t + h / 2, _axpy(h / 2, k2, y))
    k4 = rhs(t + h, _axpy(h, k3, y))
    return _axpy(h / 6, jtu.tree_map(lambda a, b, c, d: a + 2 * b + 2 * c + d, k1, k2, k3, k4), y)


def rk4_step_looped(rhs, t, y, h):
    """`rk4_step` with its four stages as a loop, so that `rhs` is traced and compiled once, not four times.

    Same method and the same numbers up to round-off in the order of the weighted sum. For right-hand sides
    that are expensive to compile (Pontryagin's canonical equations, whose costate part is a gradient and
    whose control is a minimiser, differentiated again by Newton shooting) this cuts compile time several-fold
    for a small run-time cost.
    """
    nodes = jnp.asarray([0.0, 0.5, 0.5, 1.0], jnp.result_type(h))  # c_i: stage i evaluates at y + c_i·h·k_{i-1}
    weights = jnp.asarray([1.0, 2.0, 2.0, 1.0], jnp.result_type(h)) / 6

    def stage(carry, cw):
        k_prev, acc = carry
        c, w = cw
        k = rhs(t + c * h, _axpy(c * h, k_prev, y))
        return (k, _axpy(w, k, acc)), None

    zero = jtu.tree_map(jnp.zeros_like, y)
    (_, acc), _ = jax.lax.scan(stage, (zero, zero), (nodes, weights))
    return _axpy(h, acc, y)


def default_integrator(system: AbstractSystem):
    if isinstance(system, AbstractContinuousSystem):
        # ExactFlow where the system's `flow` returns a state (its default returns None): asked of shapes only.
        x0, m = system.initial_state(), len(system.control_names)
        if jax.eval_shape(lambda: system.flow(x0, jnp.zeros(m), jnp.ones(()), jnp.zeros(()))) is not None:
            return ExactFlow()
    return RK4()


def _cell(system, integrator, state, u, t0, dt, discount):
    if isinstance(system, AbstractDiscreteSystem):
        k = jnp.round(t0).astype(jnp.int32)
        return system.step(state, u, k), jnp.exp(-discount * t0) * system.loss(state)
    return integrator.cell(system, state, u, t0, dt, discount)


def rollout(system: AbstractSystem, integrator, grid: Float[Array, " n+1"], u: Float[Array, "n m"],
            discount: Scalar, *, observe=None, checkpoint_every: int | None = None
            ) -> tuple[PyTree[Array], Float[Array, " n"], PyTree[Array] | None]:
    """Roll the system over every cell of `grid` with per-cell controls `u`.

    Returns (final state, per-cell discounted loss integrals, `observe(x)` at the n+1 grid nodes stacked on a
    leading axis — e.g. `system.loss`, or the identity for the states — or None if `observe` is None).
    Reverse-mode memory is bounded by checkpointing: cells are scanned in chunks of `checkpoint_every`
    and only chunk boundaries are stored on the forward pass, at the price of one extra forward pass
    during differentiation (about 30% more time). By default chunks of ~√n are used when n > 4096.
    """
    n = u.shape[0]
    x0 = system.initial_state()
    t0s, dts = grid[:-1], jnp.diff(grid)
    parallel = (system.parallel_flow(u, dts, discount) if isinstance(integrator, ExactFlow) and integrator.parallel
                and isinstance(system, AbstractContinuousSystem) else None)  # None: no closed-form trajectory
    if parallel is not None:
        states, integrals = parallel
        observed = None if observe is None else jax.vmap(observe)(states)
        return jtu.tree_map(lambda a: a[-1], states), jnp.exp(-discount * t0s) * integrals, observed

    def body(x, cell_inputs):
        t0, dt, uk = cell_inputs
        x_next, integral = _cell(system, integrator, x, uk, t0, dt, discount)
        return x_next, (integral, None if observe is None else observe(x_next))

    chunk = checkpoint_every if checkpoint_every is not None else (
        None if n <= 4096 else int(math.ceil(math.sqrt(n))))
    if chunk is None or chunk >= n:
        xT, (integrals, observed) = jax.lax.scan(body, x0, (t0s, dts, u))
    else:
        xT, (integrals, observed) = _chunked_scan(body, x0, (t0s, dts, u), n, chunk)
    if observe is not None:
        observed = jtu.tree_map(lambda a, b: jnp.concatenate([a[None], b]), observe(x0), observed)
    return xT, integrals, observed
