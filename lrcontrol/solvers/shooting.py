"""Indirect method: solve Pontryagin's necessary conditions by shooting (Newton) or a forward–backward sweep."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jax.flatten_util import ravel_pytree

from .._errors import InputError, check_int, check_real
from .._integrate import rk4_step_looped
from . import _results as R
from ._base import AbstractSolver, Info
from ._pmp import Hamiltonian, backward_costates, diffrax_step, forward_states, integrate_canonical


class Shooting(AbstractSolver):
    """Pontryagin's minimum principle, with the Hamiltonian and costate equations from `jax.grad`.

    The optimum satisfies ẋ = ∂H/∂λ, λ̇ = −∂H/∂x, u* = argmin_box H pointwise, x(0) = x₀, λ(T) = ∇Φ(x(T))
    (see `lrcontrol.solvers._pmp`). Two ways to solve this two-point boundary-value problem:

    - `method="newton"`: shooting on the unknown costate λ(0). The canonical equations are integrated by RK4
      (`substeps` steps per grid cell) — or, when the problem integrates with a fixed-step `lrc.Diffrax`, by that
      diffrax solver (its stage loop set to `scan_kind="bounded"` for forward mode) — and Newton's method (dense
      Jacobian by forward-mode differentiation through the integrator; optimistix's convergence test) zeroes the
      residual λ(T) − ∇Φ(x(T)). With `segments` > 1 this is multiple shooting: the horizon is cut into segments
      whose starting (x, λ) are extra unknowns tied by continuity conditions, which tames the exponential growth of
      the costate equations over long or stiff horizons. Newton starts from the costates of the initial-guess
      controls (one backward pass).
    - `method="sweep"`: the damped forward–backward sweep for large states. Repeat: integrate the state
      forward under the current controls, the costate backward, and move the controls a fraction α towards
      the pointwise minimiser of H at each cell's midpoint; α halves when the step would raise the relative
      control change (the fixed-point residual) and grows back by 1.25× when it does not; at α ≤ 1/64 the
      step is taken regardless, and α never drops below 1/128. Cost per iteration: two passes, no Jacobians. Measured on the
      perceptron: 16 iterations at K = 2, 29 at K = 10, 36–59 at K = 33.9 (250–4000 steps).

    The returned schedule is u* at each cell's midpoint (with Newton) or the sweep's fixed point, whose
    objective is then evaluated exactly like any other schedule (`problem.cost`). It converges to the
    continuous optimum at second order in the cell size, like the direct solution, but by an independent
    route. Diagnostics: the residual (Newton, `shooting_residual`: max of the state-continuity residual over
    max|x| and of the costate residuals over max|λ|; sweep, `sweep_control_change`: the last relative
    control change), the Hamiltonian drift (max|H(t) − H(0) − ∫₀ᵗ∂H/∂s ds|
    relative to max|H|; H is conserved for autonomous undiscounted problems), and the costates.

    **Arguments:**

    - `method`: "newton" (default) or "sweep".
    - `segments`: shooting segments for Newton (1 = single shooting, which fails on steep problems: on the
      perceptron at K = 33.9 the costate guess then blows up, while 4 or more segments converge). Default:
      8 for a scalar state, fewer as the state grows (⌊64/n⌋, at least 1), since Newton's Jacobian has
      n·(2·segments − 1) columns, each a forward-mode pass through the whole trajectory.
    - `substeps`: RK4 steps per grid cell (even, so each cell's midpoint is a node).
    - `rtol`: Newton: the residual tolerance relative to the costate scale (default max(1e-9, 100ε)); sweep: the
      relative control change at which it stops (default max(1e-7, 100ε)), ε the precision's machine epsilon
      (1.2e-5 for both in float32, where the residual cannot reach 1e-9).
    - `max_steps`: Newton iterations (default 50) or sweep iterations (default 2000) when left at None.
    - `control_iterations`: rounds of the pointwise minimisation of H (default 1: exact for one control when
      H is convex quadratic or linear in it, which covers every objective in lrcontrol; raise it otherwise).
    - `damping`: the sweep's initial step fraction α (Newton ignores it, as the sweep ignores `segments`).

    The default tolerances scale with the precision (float64 with `jax.config.update("jax_enable_x64", True)`,
    else float32); the message names the precision when it is not float64, and when Newton fails it says what
    Newton reported (in `optimistix.RESULTS` words: max steps, a singular Jacobian, non-finite values).
    """

    name: ClassVar[str] = "shooting"

    method: str = eqx.field(static=True, default="newton")
    segments: int | None = eqx.field(static=True, default=None)
    substeps: int = eqx.field(static=True, default=2)
    rtol: float | None = eqx.field(static=True, default=None)
    max_steps: int | None = eqx.field(static=True, default=None)
    control_iterations: int = eqx.field(static=True, default=1)
    damping: float = eqx.field(static=True, default=0.5)

    def __check_init__(self):
        if self.method not in ("newton", "sweep"):
            raise InputError(f"method must be 'newton' or 'sweep', got {self.method!r}.")
        if self.segments is not None:
            check_int("segments", self.segments, lo=1)
        if not (isinstance(self.substeps, int) and self.substeps >= 2 and self.substeps % 2 == 0):
            raise InputError(f"substeps must be an even whole number >= 2, got {self.substeps!r}.")
        if self.rtol is not None:
            check_real("rtol", self.rtol, lo=0.0, lo_open=True)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, lo=1)
        check_int("control_iterations", self.control_iterations, lo=1)
        check_real("damping", self.damping, lo=0.0, hi=1.0, lo_open=True)

    @property
    def residual_name(self) -> str:
        return "shooting_residual" if self.method == "newton" else "sweep_control_change"

    def check(self, problem):
        if problem.is_discrete:
            raise InputError(f"solver shooting needs a continuous-time system (gradient flow); "
                             f"'{problem.system.name}' is an SGD recursion: use solver direct.")
        self._require_per_step(problem)
        if self.method == "newton" and self.segments is not None and self.segments > problem.steps:
            raise InputError(f"segments must be a whole number from 1 to steps ({problem.steps}), "
                             f"got {self.segments}.")

    def run(self, problem, u0):
        ham = Hamiltonian(problem, self.control_iterations)
        grid = problem.grid()
        t0s, dts = grid[:-1], jnp.diff(grid)
        if self.method == "newton":
            u, nodes, residual, residual0, result, iterations, newton_result = self._newton(ham, problem, u0, t0s,
                                                                                            dts)
        else:
            u, nodes, residual, residual0, result, iterations = self._sweep(ham, problem, u0, t0s, dts)
        drift = _hamiltonian_drift(ham, nodes, grid, u0[0])
        costates = nodes[1][:: self.substeps]
        finite = jnp.all(jnp.isfinite(u)) & jnp.all(jnp.isfinite(costates))
        result = jnp.where(finite, result, R.NONFINITE)
        extras = {"hamiltonian_drift": drift,
                  "segments": self._segments(ham.size, problem.steps) if self.method == "newton" else 0,
                  "shooting_tolerance": jnp.asarray(self._rtol(u0.dtype), u.dtype)}
        if self.method == "newton":
            extras["newton_result"] = newton_result
        extras["nonfinite"] = jnp.where(finite, 0, jnp.where(jnp.all(jnp.isfinite(u)), 5, 3))
        return u, Info(result, iterations, iterations + 1, residual, residual0, None, costates, extras)

    def _rtol(self, dtype):
        if self.rtol is not None:
            return self.rtol
        return max(1e-9 if self.method == "newton" else 1e-7, 100 * float(jnp.finfo(dtype).eps))

    # --- Newton shooting ---------------------------------------------------------------------------------

    def _segments(self, n, steps):
        # Newton's unknowns number n·(2·segments − 1): up to 8 segments while that stays near 64.
        return min(steps, self.segments if self.segments is not None else max(1, min(8, 64 // n)))

    def _newton(self, ham, problem, u0, t0s, dts):
        n_cells, segs, s = t0s.shape[0], self._segments(ham.size, problem.steps), self.substeps
        rtol = self._rtol(u0.dtype)
        max_steps = 50 if self.max_steps is None else self.max_steps
        # Segment j covers cells bounds[j]:bounds[j+1]; all are padded to one length with dt = 0 cells.
        bounds = np.linspace(0, n_cells, segs + 1).round().astype(int)
        length = int(np.max(np.diff(bounds)))
        index = np.minimum(bounds[:-1, None] + np.arange(length), n_cells - 1)
        valid = (bounds[:-1, None] + np.arange(length)) < bounds[1:, None]
        seg_t0, seg_dt = t0s[index], jnp.where(valid, dts[index], 0.0)
        u_start = u0[0]

        def unpack(y):
            lam0, zs, lams = y
            return jnp.concatenate([ham.z0[None], zs]), jnp.concatenate([lam0[None], lams])

        step = _canonical_step(problem)

        def integrate(y, record):
            z_start, lam_start = unpack(y)
            (z_end, lam_end), nodes = jax.vmap(
                lambda z, lam, t0, dt: integrate_canonical(ham, (z, lam), t0, dt, s, u_start, record=record,
                                                           step=step)
            )(z_start, lam_start, seg_t0, seg_dt)
            _, zs, lams = y
            r = (z_end[:-1] - zs, lam_end[:-1] - lams, lam_end[-1] - ham.terminal_costate(z_end[-1]))
            return r, nodes

        # Initial unknowns: states and costates of the initial-guess controls at the segment starts.
        u_cells = jnp.broadcast_to(u0, (n_cells, u0.shape[1]))
        z_nodes = forward_states(ham, u_cells, t0s, dts, s)
        lam_nodes, _ = backward_costates(ham, z_nodes, u_cells, t0s, dts, s)
        starts = bounds[:-1]
        y0 = (lam_nodes[0, 0], z_nodes[2 * s * starts[1:]], lam_nodes[starts[1:], 0])

        # Newton stops when both the step and the residual are small: |Δy| ≤ rtol·|y| + atol and |F| ≤ atol,
        # with atol = rtol × the costate scale of the starting point.
        scale0 = jnp.maximum(jnp.max(jnp.abs(y0[0])), jnp.max(jnp.abs(ham.z0)))
        flat0, unflatten = ravel_pytree(y0)
        flat, newton_result, steps = _newton_root(lambda x: ravel_pytree(integrate(unflatten(x), False)[0])[0],
                                                  flat0, rtol, rtol * scale0, max_steps)
        y = jax.lax.stop_gradient(unflatten(flat))
        # One recorded pass for the start and the answer together (one trace of the integrator, not two).
        both = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), y0, y)
        residuals, (zn, ln) = jax.vmap(lambda yy: integrate(yy, True))(both)
        zn, ln = zn[1], ln[1]
        z_start, lam_start = unpack(y)
        tiny = jnp.finfo(z_start.dtype).tiny
        # State continuity relative to the state scale, costate conditions to the costate scale.
        z_scale = jnp.maximum(jnp.max(jnp.abs(z_start)), tiny)
        lam_scale = jnp.maximum(jnp.max(jnp.abs(lam_start)), tiny)
        scales = (z_scale, lam_scale, lam_scale)

        def rel(i):  # the start (i = 0) or the answer (i = 1)
            return jnp.max(jnp.stack([jnp.max(jnp.abs(a[i]), initial=0.0) / c for a, c in zip(residuals, scales)]))

        res0, res = rel(0), rel(1)
        # Stitch the segments: all of segment 0's nodes, then each later segment without its start node.
        counts = np.diff(bounds) * s
        seg_of = np.concatenate([[0]] + [np.full(c, j) for j, c in enumerate(counts)])
        node_of = np.concatenate([[0]] + [np.arange(1, c + 1) for c in counts])
        nodes = (zn[seg_of, node_of], ln[seg_of, node_of])
        mid = np.arange(n_cells) * s + s // 2
        times = t0s + dts / 2
        u = jax.vmap(lambda t, z, lam: ham.minimiser(t, z, lam, u_start))(times, nodes[0][mid], nodes[1][mid])
        ok = (newton_result == _NEWTON_CODES["successful"]) & (res <= rtol)
        result = jnp.where(ok, R.SUCCESS, jnp.where(newton_result == _NEWTON_CODES["nonlinear_max_steps_reached"],
                                                    R.MAX_STEPS, R.BOUNDARY_RESIDUAL))
        return u, nodes, res, res0, result, steps, newton_result

    # --- forward–backward sweep --------------------------------------------------------------------------

    def _sweep(self, ham, problem, u0, t0s, dts):
        s = self.substeps
        rtol = self._rtol(u0.dtype)
        max_steps = 2000 if self.max_steps is None else self.max_steps
        mid = t0s + dts / 2

        def target(u):
            z_nodes = forward_states(ham, u, t0s, dts, s)
            lams, _ = backward_costates(ham, z_nodes, u, t0s, dts, s)
            z_mid = z_nodes[1:].reshape(u.shape[0], 2 * s, -1)[:, s - 1]  # fine node at t0 + dt/2
            lam_mid = lams[:, s // 2]
            u_new = jax.vmap(ham.minimiser)(mid, z_mid, lam_mid, u)
            change = jnp.max(jnp.abs(u_new - u)) / jnp.maximum(jnp.max(jnp.abs(u_new)), jnp.finfo(u.dtype).tiny)
            return u_new, change

        def cond(c):
            _, _, change, alpha, it = c
            return (change > rtol) & (it < max_steps) & jnp.isfinite(change)

        def body(c):
            # Merit = the fixed-point residual itself: a damped step is kept only if it does not raise the
            # control change. (The discrete objective would be the wrong merit: its minimiser differs from
            # the sweep's fixed point by O(h²), which stalls the sweep near convergence on coarse grids.)
            u, u_new, change, alpha, it = c
            trial = u + alpha * (u_new - u)
            trial_new, trial_change = target(trial)
            better = trial_change <= change
            # At α ≤ 1/64 every finite step is taken: a plain damped iteration.
            ok = better | ((alpha <= 1.0 / 64) & jnp.isfinite(trial_change))
            u, u_new, change = (jnp.where(ok, trial, u), jnp.where(ok, trial_new, u_new),
                                jnp.where(ok, trial_change, change))
            alpha = jnp.where(better, jnp.minimum(1.0, 1.25 * alpha), jnp.maximum(0.5 * alpha, 1.0 / 128))
            return u, u_new, change, alpha, it + 1

        u_start = jnp.broadcast_to(u0, (t0s.shape[0], u0.shape[1]))
        u_new, change0 = target(u_start)
        init = (u_start, u_new, change0, jnp.asarray(self.damping, u0.dtype), jnp.array(0))
        u, _, change, _, it = jax.lax.while_loop(cond, body, init)
        z_nodes = forward_states(ham, u, t0s, dts, s)
        lams, lam_T = backward_costates(ham, z_nodes, u, t0s, dts, s)
        # Nodes on the RK4 grid of the backward pass: every other fine state node.
        lam_nodes = jnp.concatenate([lams.reshape(-1, ham.size), lam_T[None]])
        nodes = (z_nodes[::2], lam_nodes)
        result = jnp.where(change <= rtol, R.SUCCESS, jnp.where(jnp.isfinite(change), R.SWEEP_MAX_STEPS,
                                                                R.NONFINITE))
        return u, nodes, change, change0, result, it


def _canonical_step(problem):
    """Newton's integrator of the canonical equations: the problem's diffrax solver when it integrates at fixed
    steps (`lrc.Diffrax(solver, substeps=…)`), else RK4."""
    from .._diffrax import Diffrax

    integrator = problem.integrator
    if isinstance(integrator, Diffrax) and not integrator.adaptive:
        return diffrax_step(integrator.solver)
    return rk4_step_looped


# Newton's outcome as an `optimistix.RESULTS` index, so that failure messages use optimistix's wording.
_NEWTON_CODES = {name: int(item._value) for name, item in optx.RESULTS._name_to_item.items()
                 if name in ("successful", "singular", "nonlinear_max_steps_reached", "nonfinite")}


def _newton_root(fn, x0, rtol, atol, max_steps):
    """Newton's method for fn(x) = 0 (x and fn(x) flat vectors of one length), with optimistix's Newton test for
    convergence (Cauchy termination): stop after a step Δ from x to x − Δ when max|Δ|/(atol + rtol·|x − Δ|) < 1
    and max|fn(x)| < atol; the answer is x − Δ.

    The Jacobian is dense, one forward-mode pass per column with the primal evaluated once alongside (what
    `jax.jacfwd` does). `optimistix.Newton` takes the same steps through `jax.linearize`, whose program, with
    the integrator's intermediate values stored for the tangent pass, compiles more slowly.

    Returns x, an `optimistix.RESULTS` index (successful, singular Jacobian, non-finite residual or
    Jacobian, or the step limit) and the number of steps taken.
    """
    basis = jnp.eye(x0.shape[0], dtype=x0.dtype)

    def value_and_jacobian(x):
        return jax.vmap(lambda v: jax.jvp(fn, (x,), (v,)), out_axes=(None, 1))(basis)

    def cond(carry):
        _, step, code, done = carry
        return ~done & (step < max_steps)

    def body(carry):
        x, step, _, _ = carry
        f, jac = value_and_jacobian(x)
        delta = jnp.linalg.solve(jac, f)
        x_new = x - delta
        finite = jnp.all(jnp.isfinite(f)) & jnp.all(jnp.isfinite(jac))
        code = jnp.where(~finite, _NEWTON_CODES["nonfinite"],
                         jnp.where(jnp.all(jnp.isfinite(delta)), _NEWTON_CODES["successful"],
                                   _NEWTON_CODES["singular"]))
        small = (jnp.max(jnp.abs(delta) / (atol + rtol * jnp.abs(x_new))) < 1) & (jnp.max(jnp.abs(f)) < atol)
        failed = code != _NEWTON_CODES["successful"]
        return jnp.where(failed, x, x_new), step + 1, code, small | failed

    init = (x0, jnp.array(0), jnp.array(_NEWTON_CODES["successful"]), jnp.array(False))
    x, steps, code, done = jax.lax.while_loop(cond, body, init)
    return x, jnp.where(done, code, _NEWTON_CODES["nonlinear_max_steps_reached"]), steps


def _hamiltonian_drift(ham, nodes, grid, u_start):
    """max_t |H(t) − H(0) − ∫₀ᵗ ∂H/∂s ds| / max_t |H(t)| along the recorded nodes (trapezoid for the integral)."""
    z, lam = nodes
    times = jnp.linspace(0.0, 1.0, z.shape[0]) * grid[-1]

    def h_and_dt(t, zz, ll):
        u = ham.minimiser(t, zz, ll, u_start)
        return ham(t, zz, ll, u), jax.grad(ham, argnums=0)(t, zz, ll, u)

    h, dh = jax.vmap(h_and_dt)(times, z, lam)
    explicit = jnp.concatenate([jnp.zeros(1, h.dtype), jnp.cumsum(0.5 * (dh[1:] + dh[:-1]) * jnp.diff(times))])
    return jnp.max(jnp.abs(h - h[0] - explicit)) / jnp.maximum(jnp.max(jnp.abs(h)), jnp.finfo(h.dtype).tiny)
