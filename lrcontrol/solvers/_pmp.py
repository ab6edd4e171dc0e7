"""Pontryagin's minimum principle for any continuous system: the Hamiltonian, its pointwise minimiser, and the
state–costate (canonical) equations, all built from the problem by automatic differentiation.

For the cost J = ∫₀ᵀ r(t, x, u) dt + Φ(x(T)) with ẋ = f(t, x, u) the Hamiltonian is

    H(t, x, λ, u) = r(t, x, u) + λᵀ f(t, x, u),     r = e^{-ρt}[w·L(x) + C(u)],

and an optimum satisfies u*(t) = argmin_{u ∈ box} H, ẋ = ∂H/∂λ, λ̇ = −∂H/∂x, λ(T) = ∇Φ(x(T)). Nothing here is
hand-derived per system: `jax.grad` of H gives the costate equation. The state pytree is flattened to one
vector z so that costates, shooting unknowns and Jacobians are plain arrays.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._integrate import rk4_step, rk4_step_looped


class Hamiltonian(eqx.Module):
    """The problem's Hamiltonian in flat coordinates, with the control minimised pointwise on the box.

    `control_iterations` rounds of coordinate-wise projected Newton pick u*: each round, for each control, the
    candidates are the Newton point of H in that control (clipped to the bounds) and the finite bounds, and the
    one with the smallest H wins. One round is exact for a single control (or separable controls) when H is
    convex quadratic in it (effort costs with control-affine dynamics) or linear (bang–bang); more rounds
    serve other shapes.
    """

    problem: eqx.Module
    unravel: object = eqx.field(static=True)
    z0: jax.Array
    control_iterations: int = eqx.field(static=True)

    def __init__(self, problem, control_iterations: int = 1):
        self.problem = problem
        self.z0, self.unravel = ravel_pytree(problem.system.initial_state())
        self.control_iterations = control_iterations

    @property
    def size(self) -> int:
        return self.z0.shape[0]

    def field(self, t, z, u):
        return ravel_pytree(self.problem.system.vector_field(t, self.unravel(z), u))[0]

    def __call__(self, t, z, lam, u):
        obj, system = self.problem.objective, self.problem.system
        return obj.running_cost(t, system.loss(self.unravel(z)), u) + jnp.dot(lam, self.field(t, z, u))

    def terminal_costate(self, z):
        """λ(T) = ∇Φ(x(T))."""
        obj, system = self.problem.objective, self.problem.system
        return jax.grad(lambda y: obj.terminal_cost(system.loss(self.unravel(y))))(z)

    def minimiser(self, t, z, lam, u_start):
        """u* = argmin_{lo ≤ u ≤ hi} H(t, z, λ, u), starting the coordinate rounds from `u_start`."""
        lower, upper = self.problem.lower, self.problem.upper
        u = jnp.clip(u_start, jnp.asarray(lower), jnp.asarray(upper))
        for _ in range(self.control_iterations):
            for i in range(u.shape[0]):
                def h(a, u=u, i=i):
                    return self(t, z, lam, u.at[i].set(a))

                a = u[i]
                # Slope and curvature of H along u_i by nested forward mode (one scalar direction: cheaper to
                # compile and run than reverse-over-reverse).
                dh = lambda b, h=h: jax.jvp(h, (b,), (jnp.ones_like(b),))[1]  # noqa: E731
                g, c = jax.jvp(dh, (a,), (jnp.ones_like(a),))
                # Newton point when H is convex in u_i; otherwise the minimum is at a bound, ±inf on an open
                # side: then H is unbounded below, and the infinite control is returned so that the solve
                # reports a non-finite result instead of settling on the finite bound.
                step = jnp.where(c > 0, a - g / jnp.where(c > 0, c, 1.0), jnp.where(g > 0, -jnp.inf, jnp.inf))
                candidates = [jnp.clip(step, lower[i], upper[i])]
                candidates += [jnp.asarray(b, a.dtype) for b in (lower[i], upper[i]) if np.isfinite(b)]
                values = jnp.stack([h(b) for b in candidates])
                best = jnp.stack(candidates)[jnp.argmin(jnp.where(jnp.isnan(values), jnp.inf, values))]
                u = u.at[i].set(jnp.where(jnp.isinf(candidates[0]), candidates[0], best))
        return u

    def canonical(self, t, y, u_start):
        """(ż, λ̇) = (∂H/∂λ, −∂H/∂z) at u = u*(t, z, λ)."""
        z, lam = y
        u = self.minimiser(t, z, lam, u_start)
        return self.field(t, z, u), -jax.grad(self, argnums=1)(t, z, lam, u)

    def costate_field(self, t, z, lam, u):
        """λ̇ = −∂H/∂z with the control held at u (the sweep's backward pass)."""
        return -jax.grad(self, argnums=1)(t, z, lam, u)


def diffrax_step(solver):
    """`step(rhs, t, y, h)` → y after one step of the diffrax `solver` (fixed step, no controller), for the
    canonical equations. Newton differentiates it in forward mode, so a Runge–Kutta solver's stage loop is switched
    to `scan_kind="bounded"` (diffrax's default stage loop has a custom VJP, which `jax.jvp` cannot pass)."""
    import dataclasses

    import diffrax

    if isinstance(solver, diffrax.AbstractRungeKutta) and getattr(solver, "scan_kind", None) in (None, "lax"):
        solver = dataclasses.replace(solver, scan_kind="bounded")

    def step(rhs, t, y, h):
        term = diffrax.ODETerm(lambda tt, yy, args: rhs(tt, yy))
        state = solver.init(term, t, t + h, y, None)
        y_next, _, _, _, result = solver.step(term, t, t + h, y, None, state, made_jump=False)
        # a failed step (an implicit solver's root finder) is non-finite, so Newton reports it rather than use it
        return jax.tree_util.tree_map(lambda a: jnp.where(result == diffrax.RESULTS.successful, a, jnp.nan), y_next)

    return step


def integrate_canonical(ham: Hamiltonian, y0, t0s, dts, substeps: int, u_start, record: bool,
                        step=rk4_step_looped):
    """The canonical equations over the given cells (`substeps` steps each of `step(rhs, t, y, h)`, RK4 by
    default; cells with dt = 0 are no-ops).

    Returns the end point and, if `record`, (z, λ) at every substep node, with the start node first.
    """
    def cell(y, inp):
        t0, dt = inp
        h = dt / substeps

        def sub(y, i):
            y_next = step(lambda t, yy: ham.canonical(t, yy, u_start), t0 + i * h, y, h)
            return y_next, (y_next if record else None)

        return jax.lax.scan(sub, y, jnp.arange(substeps))

    y_end, nodes = jax.lax.scan(cell, y0, (t0s, dts))
    if record:
        nodes = jax.tree_util.tree_map(lambda a0, a: jnp.concatenate([a0[None], a.reshape((-1,) + a.shape[2:])]),
                                       y0, nodes)
    return y_end, nodes


def forward_states(ham: Hamiltonian, u, t0s, dts, substeps: int):
    """The state under piecewise-constant controls u (one row per cell), at 2·substeps RK4 nodes per cell
    (so that the backward pass, with steps twice as long, finds the state at its midpoints)."""
    fine = 2 * substeps

    def cell(z, inp):
        t0, dt, uk = inp
        h = dt / fine

        def sub(z, i):
            z_next = rk4_step(lambda t, zz: ham.field(t, zz, uk), t0 + i * h, z, h)
            return z_next, z_next

        return jax.lax.scan(sub, z, jnp.arange(fine))

    _, nodes = jax.lax.scan(cell, ham.z0, (t0s, dts, u))
    return jnp.concatenate([ham.z0[None], nodes.reshape(-1, ham.size)])


def backward_costates(ham: Hamiltonian, z_nodes, u, t0s, dts, substeps: int):
    """λ from λ(T) = ∇Φ(z(T)) backwards by RK4 (`substeps` steps per cell) with the controls held at u; the
    state at each RK4 stage is read from `z_nodes` (from `forward_states`).

    Returns λ at the RK4 nodes t0 + i·dt/substeps, i = 0 … substeps − 1, of every cell (shape
    (cells, substeps, n)), and λ(T).
    """
    fine = 2 * substeps
    n_cells = u.shape[0]
    z_cells = z_nodes[1:].reshape(n_cells, fine, -1)
    z_first = jnp.concatenate([z_nodes[:1], z_cells[:-1, -1]])  # state at each cell's start

    def cell(lam, inp):
        t0, dt, uk, zs, z0 = inp
        zs = jnp.concatenate([z0[None], zs])  # the cell's fine + 1 nodes
        h = dt / substeps
        f = lambda t, zz, ll: -ham.costate_field(t, zz, ll, uk)  # noqa: E731  (dλ/d(−t))

        def sub(lam, j):
            # One backward RK4 step from coarse node i + 1 to i (fine nodes 2i+2 → 2i, midpoint 2i+1).
            i = substeps - 1 - j
            t_hi = t0 + (i + 1) * h
            z_hi, z_mid, z_lo = zs[2 * i + 2], zs[2 * i + 1], zs[2 * i]
            k1 = f(t_hi, z_hi, lam)
            k2 = f(t_hi - h / 2, z_mid, lam + h / 2 * k1)
            k3 = f(t_hi - h / 2, z_mid, lam + h / 2 * k2)
            k4 = f(t_hi - h, z_lo, lam + h * k3)
            lam_lo = lam + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            return lam_lo, lam_lo

        lam_start, lams = jax.lax.scan(sub, lam, jnp.arange(substeps))
        return lam_start, lams[::-1]

    lam_T = ham.terminal_costate(z_nodes[-1])
    _, lams = jax.lax.scan(cell, lam_T, (t0s, dts, u, z_cells, z_first), reverse=True)
    return lams, lam_T
