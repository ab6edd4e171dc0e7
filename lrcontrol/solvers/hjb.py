"""Dynamic programming: the value function on a state grid, backwards in time (semi-Lagrangian scheme)."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.scipy.ndimage import map_coordinates

from .._errors import InputError, check_int, check_real
from .._integrate import _cell, discounted_length
from .._search import golden_section
from . import _results as R
from ._base import AbstractSolver, Info

_MAX_STORED = 50_000_000  # values of V kept for the forward pass (400 MB in float64)


class HJB(AbstractSolver):
    """Bellman's principle on a grid of states, for systems whose state has at most 3 numbers.

    On the problem's own time grid (cells t_k … t_{k+1}, control constant on each) the value function obeys

        V_N(x) = Φ(L(x)),    V_k(x) = min_{lo ≤ u ≤ hi} [ ∫_cell e^{-ρt}(w·L + C(u)) dt + V_{k+1}(x_{k+1}(x, u)) ],

    where x_{k+1}(x, u) and the loss integral come from the same per-cell flow (exact, or RK4) as the direct
    method's. V_{k+1} is known on a regular grid of `points` states per dimension over the system's
    `state_domain()` (or `domain`), clamped at its edges: a semi-Lagrangian scheme, stable for any Δt. The
    minimum over u is taken on `control_points` equally spaced controls and refined by `refine`
    golden-section steps in the bracket around the best one.

    The open-loop schedule comes from running the feedback law forwards from x₀: at each cell the minimum is
    taken again at the exact current state with the stored V_{k+1}. `value_function(problem)` returns V and
    its feedback policy u(t, x) for plotting or for `lrc.simulate`.

    V is read between nodes by Keys' cubic convolution (C¹, so the right-hand side is smooth in u; linear
    interpolation, `interpolation="linear"`, is monotone but lets the minimiser snap to grid crossings, a
    first-order policy error). Errors: the schedule converges at second order in Δx (measured 1.96 on the
    perceptron against the direct solution of the same discrete problem, tests/test_hjb.py); the control
    search adds O(Δu·0.618^refine). To estimate the error, the solve is repeated on the grid with twice the
    spacing ((points − 1)/2 + 1 per dimension); the largest change of the schedule relative to its peak is
    the reported residual, `coarse_grid_change` (at second order the fine grid's error is about a third of
    it), and the solve counts as converged when it is at most `rtol`.

    **Arguments:**

    - `points`: grid points per state dimension (odd, ≥ 5; default 401).
    - `domain`: ((lo, hi), …) per state coordinate; default the system's `state_domain()`.
    - `control_points`, `refine`: the control search (default 64 and 30).
    - `control_max`: top of the control search when lr has no upper bound. Default: 20 × the initial guess's
      constant rate, grown 4× (up to 6 times) while the optimum sits at the top. If the optimal control still
      reaches the top, the solve reports `converged = False` with the reason.
    - `interpolation`: "cubic" (default) or "linear".
    - `estimate_error`: repeat on the coarse grid to estimate the error (default True). Without it the solve
      reports "not verified" (`converged = False`): nothing measures its grid error.
    - `rtol`: the largest accepted `coarse_grid_change` (default 1e-2). The message reports the change itself:
      it is the error estimate, whatever the precision. In float32 the Bellman values carry round-off ε·|V|, so
      the minimiser over the control is resolved no better than √ε ≈ 3e-4 of its range, and the change measures
      that round-off as well as the grid (perceptron, 200 steps, 101 points: change 6.3e-3 of the peak and error
      4.9e-3 against the closed form in float32; 5.3e-5 and 1.4e-5 in float64); the message says so.
    """

    name: ClassVar[str] = "hjb"
    residual_name: ClassVar[str] = "coarse_grid_change"
    max_dimension: ClassVar[int] = 3

    points: int = eqx.field(static=True, default=401)
    domain: tuple | None = eqx.field(static=True, default=None)
    control_points: int = eqx.field(static=True, default=64)
    refine: int = eqx.field(static=True, default=30)
    control_max: float | None = eqx.field(static=True, default=None)
    estimate_error: bool = eqx.field(static=True, default=True)
    interpolation: str = eqx.field(static=True, default="cubic")
    rtol: float = eqx.field(static=True, default=1e-2)

    def __check_init__(self):
        check_int("points", self.points, lo=5)
        if self.points % 2 == 0:
            raise InputError(f"points must be an odd whole number >= 5 (so the coarse grid nests in it), "
                             f"got {self.points}.")
        check_int("control_points", self.control_points, lo=3)
        if self.interpolation not in ("cubic", "linear"):
            raise InputError(f"interpolation must be 'cubic' or 'linear', got {self.interpolation!r}.")
        check_int("refine", self.refine, lo=0)
        if self.control_max is not None:
            check_real("control_max", self.control_max, lo=0.0, lo_open=True)
        check_real("rtol", self.rtol, lo=0.0, lo_open=True)

    def check(self, problem):
        n = ravel_pytree(problem.system.initial_state())[0].shape[0]
        if n > self.max_dimension:
            raise InputError(f"solver hjb grids the state space, so it needs a state of at most "
                             f"{self.max_dimension} numbers; '{problem.system.name}' has {n}: use solver direct "
                             f"or shooting.")
        if len(problem.control_names) != 1:
            raise InputError(f"solver hjb handles one control (the learning rate); '{problem.system.name}' has "
                             f"{len(problem.control_names)}: use solver direct or shooting.")
        self._require_per_step(problem)
        lo, hi = problem.lower[0], problem.upper[0]
        if self.control_max is not None and np.isinf(hi) and not self.control_max > lo:
            raise InputError(f"control_max must be greater than the lr lower bound ({lo:g}), "
                             f"got {self.control_max:g}.")
        stored = (problem.steps + 1) * self.points**n
        if stored > _MAX_STORED:
            raise InputError(f"points must keep (steps + 1) × points^{n} ≤ {_MAX_STORED:.0e} stored values; "
                             f"{problem.steps + 1} × {self.points}^{n} = {stored:.2e}: use fewer points or steps.")
        domain = self._domain(problem, n)
        if any(isinstance(b, jax.core.Tracer) for pair in domain for b in pair):
            return  # traced (under jit/vmap): the values are checked when called concretely
        domain = [tuple(float(b) for b in pair) for pair in domain]
        if len(domain) != n or any(not (np.isfinite(lo) and np.isfinite(hi) and lo < hi) for lo, hi in domain):
            raise InputError(f"domain must give a finite (lo, hi) with lo < hi for each of the {n} state "
                             f"coordinates, got {domain!r}.")

    def _domain(self, problem, n):
        domain = self.domain if self.domain is not None else problem.system.state_domain()
        if domain is None:
            raise InputError(f"solver hjb needs a state domain: pass HJB(domain=((lo, hi), ...)) with one pair "
                             f"per state coordinate; '{problem.system.name}' does not define one.")
        return tuple(domain)

    # --- the solve ---------------------------------------------------------------------------------------

    def value_function(self, problem, u0=None) -> "ValueFunction":
        """V on the grid at every time node, with its feedback policy (see `ValueFunction`)."""
        self.check(problem)
        if u0 is None:
            from .._guess import initial_guess_jit

            u0 = initial_guess_jit(problem)
        return _solve_grid_jit(self, problem, self.points, u0)[0]

    def run(self, problem, u0):
        fine, u, capped, finite = self._solve_grid(problem, self.points, u0)
        peak = jnp.maximum(jnp.max(jnp.abs(u)), jnp.finfo(u.dtype).tiny)
        if self.estimate_error:
            _, u_coarse, capped_coarse, finite_coarse = self._solve_grid(problem, (self.points - 1) // 2 + 1, u0)
            change = jnp.max(jnp.abs(u_coarse - u)) / peak
            capped, finite = capped | capped_coarse, finite & finite_coarse
            verdict = jnp.where(change <= self.rtol, R.SUCCESS, R.GRID_RESOLUTION)
        else:
            change = jnp.asarray(jnp.nan, u.dtype)
            verdict = R.NOT_ESTIMATED
        result = jnp.where(finite & jnp.all(jnp.isfinite(u)), jnp.where(capped, R.CONTROL_CAP, verdict),
                           R.NONFINITE)
        n = len(fine.axes)
        # Bellman right-hand sides evaluated on the fine grid (the coarse repeat and cap growth not counted).
        n_eval = float(problem.steps * self.points**n * (self.control_points + 2 * self.refine + 2))
        # In float32 the Bellman right-hand side carries round-off ε·|V|, so its minimiser is resolved only to
        # about √ε of the control range (the message says so): the grid change then measures round-off too.
        extras = {"state_points": self.points, "control_points": self.control_points,
                  "control_max": fine.controls[-1], "rtol": jnp.asarray(self.rtol, u.dtype),
                  "control_resolution": jnp.sqrt(jnp.finfo(u.dtype).eps)}
        return u, Info(result, jnp.array(problem.steps), jnp.asarray(n_eval), change, jnp.asarray(jnp.nan),
                       None, None, extras)

    def _solve_grid(self, problem, points, u0):
        """V on a grid of `points` per dimension and the open-loop schedule. Without an upper bound on lr, the
        control range starts at `control_max` (or 20 × the initial guess) and grows 4× (up to 6 times) while
        the optimum sits at its top."""
        n = ravel_pytree(problem.system.initial_state())[0].shape[0]
        axes = tuple(jnp.linspace(lo, hi, points) for lo, hi in self._domain(problem, n))

        def attempt(top):
            lo, hi = problem.lower[0], problem.upper[0]
            hi = hi if np.isfinite(hi) else top
            lo = lo if np.isfinite(lo) else -hi
            vf = _value_function(problem, axes, jnp.linspace(lo, hi, self.control_points), self.refine,
                                 self.interpolation)
            u, capped, finite = vf.open_loop()
            return vf, u, capped, finite

        if np.isfinite(problem.upper[0]) or self.control_max is not None:
            return attempt(self.control_max)
        vf, u, capped, finite = attempt(20.0 * jnp.maximum(u0[0, 0], 1e-12))

        def cond(c):
            _, _, capped, _, tries = c
            return capped & (tries < 6)

        def body(c):
            vf, _, _, _, tries = c
            return attempt(4.0 * vf.controls[-1]) + (tries + 1,)

        vf, u, capped, finite, _ = jax.lax.while_loop(cond, body, (vf, u, capped, finite, jnp.array(0)))
        return vf, u, capped, finite


_solve_grid_jit = eqx.filter_jit(lambda solver, problem, points, u0: solver._solve_grid(problem, points, u0))


class ValueFunction(eqx.Module):
    """V_k on the state grid for every time node k = 0 … N, and the minimisation that defines the policy.

    `values` has shape (N + 1, *points). `policy()` is the feedback law u(t, x) as an `lrc.FeedbackPolicy`:
    in cell k it minimises the Bellman right-hand side with V_{k+1} at the given state.
    """

    problem: eqx.Module
    axes: tuple
    values: jax.Array
    controls: jax.Array
    refine: int = eqx.field(static=True)
    interpolation: str = eqx.field(static=True)

    def _interp(self, v_padded, z):
        # Fractional grid indices of the flat state z (shape (n,)), clamped to the domain; +1 for the ghosts.
        coords = [jnp.clip((z[i] - a[0]) / (a[1] - a[0]), 0.0, a.shape[0] - 1.0) + 1.0
                  for i, a in enumerate(self.axes)]
        if self.interpolation == "linear":
            return map_coordinates(v_padded, coords, order=1, mode="nearest")
        return _cubic(v_padded, coords)

    def _bellman(self, k, z, u, v_next, unravel):
        """The cost of control u from flat state z in cell k, with V_{k+1} = v_next: (cost, next flat state)."""
        p = self.problem
        grid = p.grid()
        t0, dt = grid[k], grid[k + 1] - grid[k]
        rho = p.objective.discount_rate
        x_next, integral = _cell(p.system, p.integrator, unravel(z), u[None], t0, dt, rho)
        z_next = ravel_pytree(x_next)[0]
        control = discounted_length(t0, dt, rho) * p.objective.control_cost(u[None])
        cost = p.objective.loss_weight * integral + control + self._interp(v_next, z_next)
        return cost, z_next

    def best_control(self, k, z, v_next, unravel):
        """argmin_u of the Bellman right-hand side at flat state z (grid search, then golden section):
        (control, its cost, whether it sits at an artificial end of the control range)."""
        bellman_rhs = jax.vmap(lambda u: self._bellman(k, z, u, v_next, unravel)[0])
        costs = bellman_rhs(self.controls)
        i = jnp.argmin(jnp.where(jnp.isnan(costs), jnp.inf, costs))
        n_u = self.controls.shape[0]
        a = self.controls[jnp.maximum(i - 1, 0)]
        b = self.controls[jnp.minimum(i + 1, n_u - 1)]

        def keep_left(c, d):
            fc, fd = bellman_rhs(jnp.stack([c, d]))
            return fc <= fd

        u_ref = golden_section(keep_left, a, b, self.refine, xp=jnp, fori_loop=jax.lax.fori_loop)
        cost_ref = bellman_rhs(u_ref[None])[0]
        better = cost_ref <= costs[i]
        u, cost = jnp.where(better, u_ref, self.controls[i]), jnp.where(better, cost_ref, costs[i])
        # The range's ends are artificial on an open side of the lr bounds: report an optimum sitting there.
        capped = ((i == n_u - 1) & np.isinf(self.problem.upper[0])) | ((i == 0) & np.isinf(self.problem.lower[0]))
        return u, cost, capped

    def open_loop(self):
        """The schedule of the feedback law run from x₀ (one control per cell), whether it hit an artificial
        end of the control range, and whether every Bellman cost along it was finite."""
        p = self.problem
        z0, unravel = ravel_pytree(p.system.initial_state())

        def cell(z, k):
            v_next = _pad(self.values[k + 1])
            u, cost, capped = self.best_control(k, z, v_next, unravel)
            _, z_next = self._bellman(k, z, u, v_next, unravel)
            return z_next, (u, capped, jnp.isfinite(cost))

        _, (u, capped, finite) = jax.lax.scan(cell, z0, jnp.arange(p.steps))
        return u[:, None], jnp.any(capped), jnp.all(finite)

    def policy(self):
        """The feedback law u(t, x) as an `lrc.FeedbackPolicy` (x the system's state pytree).

        For t in cell k it is the control to hold over a whole cell from state x, u_k(x) (what the discrete
        problem optimises). That equals the continuous optimal feedback at the cell's midpoint to O(h²), so as
        a continuous-time law (`lrc.simulate`) it lags by half a cell: an O(h) error (5e-3 of the peak at
        h = 0.01 on the perceptron, tests/test_hjb.py).
        """
        from .._policy import FeedbackPolicy

        def fn(t, state, vf):
            p = vf.problem
            z, unravel = ravel_pytree(state)
            k = jnp.clip(jnp.floor(t / p.horizon * p.steps).astype(jnp.int32), 0, p.steps - 1)
            return vf.best_control(k, z, _pad(vf.values[k + 1]), unravel)[0][None]

        return FeedbackPolicy(fn, self)

    @eqx.filter_jit
    def policy_table(self):
        """u_k at every grid state for every cell: shape (N, *points)."""
        p = self.problem
        _, unravel = ravel_pytree(p.system.initial_state())
        mesh = jnp.stack(jnp.meshgrid(*self.axes, indexing="ij"), axis=-1).reshape(-1, len(self.axes))
        def cell(k):
            v_next = _pad(self.values[k + 1])
            return jax.vmap(lambda z: self.best_control(k, z, v_next, unravel)[0])(mesh)

        table = jax.lax.map(cell, jnp.arange(p.steps))
        return table.reshape((p.steps,) + tuple(a.shape[0] for a in self.axes))


def _value_function(problem, axes, controls, refine, interpolation) -> ValueFunction:
    z0, unravel = ravel_pytree(problem.system.initial_state())
    mesh = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    shape = tuple(a.shape[0] for a in axes)
    obj, system = problem.objective, problem.system
    v_final = jax.vmap(lambda z: obj.terminal_cost(system.loss(unravel(z))))(mesh).reshape(shape)
    vf = ValueFunction(problem, axes, jnp.zeros((1,) + shape), controls, refine, interpolation)

    def back(v_next, k):
        v_next = _pad(v_next)

        def at(z):
            return vf.best_control(k, z, v_next, unravel)[1]

        v = jax.vmap(at)(mesh).reshape(shape)
        return v, v

    _, vs = jax.lax.scan(back, v_final, jnp.arange(problem.steps), reverse=True)
    values = jnp.concatenate([vs, v_final[None]])
    return ValueFunction(problem, axes, values, controls, refine, interpolation)


def _pad(v):
    """One ghost layer on every side of every dimension, extrapolated quadratically (v₋₁ = 3v₀ − 3v₁ + v₂), so
    the cubic stencil stays third-order accurate up to the domain's edges (replicated edges cost O(Δx) there,
    exactly where the trajectory starts)."""
    for d in range(v.ndim):
        first = 3 * jnp.take(v, 0, d) - 3 * jnp.take(v, 1, d) + jnp.take(v, 2, d)
        last = 3 * jnp.take(v, -1, d) - 3 * jnp.take(v, -2, d) + jnp.take(v, -3, d)
        v = jnp.concatenate([jnp.expand_dims(first, d), v, jnp.expand_dims(last, d)], axis=d)
    return v


def _cubic(v, coords):
    """Keys' cubic convolution (a = −1/2), tensor product over dimensions, on a ghost-padded array.

    C¹ in the state and third-order accurate, so the Bellman right-hand side is smooth in the control: with
    linear interpolation its minimiser snaps to the kinks where the next state crosses a grid node, which
    costs a first-order error in Δx in the policy (measured: 2.4e-3 → 5.8e-4 of the peak for 101 → 401 points).
    """
    weights, indices = [], []
    for d, s in enumerate(coords):
        n = v.shape[d]
        i = jnp.clip(jnp.floor(s), 1, n - 3)  # the taps i − 1 … i + 2 stay inside the padded array
        f = s - i
        # Keys' kernel at distances 1 + f, f, 1 − f, 2 − f.
        w = jnp.stack([((-0.5 * f + 1.0) * f - 0.5) * f,
                       (1.5 * f - 2.5) * f * f + 1.0,
                       ((-1.5 * f + 2.0) * f + 0.5) * f,
                       (0.5 * f - 0.5) * f * f])
        idx = i.astype(jnp.int32) + jnp.arange(-1, 3)
        weights.append(w)
        indices.append(idx)
    out = 0.0
    for taps in np.ndindex(*(4,) * len(coords)):
        w = 1.0
        for d, j in enumerate(taps):
            w = w * weights[d][j]
        out = out + w * v[tuple(indices[d][j] for d, j in enumerate(taps))]
    return out
