"""ControlProblem: a system, an objective, a time grid, control bounds and (optionally) control blocks."""

from collections.abc import Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Scalar

from ._errors import InputError, check_int, check_real
from ._hessian import MinKernelHessian
from ._hessian_products import HessianProducts
from ._integrate import default_integrator, discounted_length, rollout
from .objectives import AbstractObjective, FinalLoss
from .systems._base import AbstractDiscreteSystem, AbstractSystem


class ControlProblem(eqx.Module):
    """Choose controls u(t) ∈ [lo, hi]^m on a grid to minimise the objective of a system.

    **Arguments:**

    - `system`: the learning system (`lrc.systems.*`).
    - `objective`: what to minimise (`lrc.objectives.*`).
    - `horizon`: the time T for continuous systems; the number of SGD steps for discrete ones.
    - `steps`: number of grid intervals (continuous systems; default 1000). For discrete systems it is the
      horizon itself and may be omitted.
    - `blocks`: number of piecewise-constant control blocks (default: one per step). Step k uses block
      ⌊k·blocks/steps⌋.
    - `bounds`: `{control_name: (lo, hi)}`; `None` means unbounded on that side. Default: lr ≥ 0.
    - `integrator`: `ExactFlow()` where the system has one (the default then), else `RK4(substeps)`.
    - `checkpoint_every`: cells per checkpointed chunk in reverse mode (default √steps above 4096 steps).
    """

    system: AbstractSystem
    objective: AbstractObjective
    horizon: Array
    steps: int = eqx.field(static=True)
    blocks: int = eqx.field(static=True)
    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    integrator: eqx.Module
    checkpoint_every: int | None = eqx.field(static=True)

    def __init__(self, system: AbstractSystem, objective: AbstractObjective, horizon, steps=None,
                 blocks=None, bounds: Mapping[str, tuple] | None = None, integrator=None,
                 checkpoint_every: int | None = None):
        if not isinstance(system, AbstractSystem):
            raise InputError(f"system must be an lrcontrol system (lrc.systems.*), got {type(system).__name__}.")
        if not isinstance(objective, AbstractObjective):
            raise InputError(f"objective must be an lrcontrol objective (lrc.objectives.*), "
                             f"got {type(objective).__name__}.")
        if isinstance(system, AbstractDiscreteSystem):
            horizon_steps = check_int("horizon", horizon, lo=1)
            if steps is not None and check_int("steps", steps, lo=1) != horizon_steps:
                raise InputError(f"steps must equal horizon ({horizon_steps}) for the discrete system "
                                 f"'{system.name}', got {steps!r}.")
            steps = horizon_steps
        else:
            check_real("horizon", horizon, lo=0.0, lo_open=True)
            steps = check_int("steps", 1000 if steps is None else steps, lo=1)
        blocks = steps if blocks is None else check_int("blocks", blocks, lo=1)
        if blocks > steps:
            limit = "horizon" if isinstance(system, AbstractDiscreteSystem) else "steps"  # the parameter the user set
            raise InputError(f"blocks must be a whole number from 1 to {limit} ({steps}), got {blocks}.")
        self.system = system
        self.objective = objective
        self.horizon = jnp.asarray(horizon, dtype=float)
        self.steps = steps
        self.blocks = blocks
        self.lower, self.upper = _parse_bounds(system.control_names, bounds)
        self.integrator = default_integrator(system) if integrator is None else integrator
        if checkpoint_every is not None:
            checkpoint_every = check_int("checkpoint_every", checkpoint_every, lo=1)
        self.checkpoint_every = checkpoint_every

    # --- the grid --------------------------------------------------------------------------------------

    @property
    def control_names(self) -> tuple[str, ...]:
        return self.system.control_names

    @property
    def is_discrete(self) -> bool:
        return isinstance(self.system, AbstractDiscreteSystem)

    def grid(self) -> Float[Array, " steps+1"]:
        """Cell boundaries t_0 = 0 < … < t_N = T (step indices for discrete systems)."""
        return jnp.linspace(0.0, 1.0, self.steps + 1) * self.horizon

    def block_of_step(self) -> np.ndarray:
        """Index of the control block that each step uses."""
        return (np.arange(self.steps) * self.blocks) // self.steps

    def block_lengths(self) -> Float[Array, " blocks"]:
        """Time covered by each block: the weights of the function-space (L²) metric on the controls."""
        counts = np.bincount(self.block_of_step(), minlength=self.blocks)
        return jnp.asarray(counts) * (self.horizon / self.steps)

    def expand(self, u_blocks: Float[Array, "blocks m"]) -> Float[Array, "steps m"]:
        """Per-step controls from per-block controls."""
        return u_blocks if self.blocks == self.steps else u_blocks[self.block_of_step()]

    # --- the discretised objective --------------------------------------------------------------------

    def _rollout(self, u_blocks, record):
        u = self.expand(u_blocks)
        discount = self.objective.discount_rate
        grid = self.grid()
        cells = self.system.prepare_controls(u)  # the identity except for coupled controls (a data budget)
        # Only the final loss counts (FinalLoss on a discrete system): the system's `final_loss` of all its controls
        # (an O(n) closed form for FSL and the laws; the unroll of `step` by default) and its `loss_curve`.
        final_only = self._final_only
        if final_only:
            xT, losses = self.system.loss_curve(cells) if record else (None, None)
            integrals = jnp.zeros(())
        else:
            xT, integrals, losses = rollout(self.system, self.integrator, grid, cells, discount,
                                            observe=self.system.loss if record else None,
                                            checkpoint_every=self.checkpoint_every)
        lengths = discounted_length(grid[:-1], jnp.diff(grid), discount)
        control = jnp.sum(lengths * _vmap_cost(self.objective, u))
        running = self.objective.loss_weight * jnp.sum(integrals) + control
        final = self.system.final_loss(cells) if final_only else self.system.loss(xT)
        cost = running + self.objective.terminal_cost(final)
        return cost, xT, losses

    def cost(self, u_blocks: Float[Array, "blocks m"]) -> Scalar:
        """The discretised objective Σ_k ∫_cell e^{-ρt}[w·L + C(u_k)] dt + Φ(L(x_N))."""
        return self._rollout(u_blocks, record=False)[0]

    def trajectory(self, u_blocks: Float[Array, "blocks m"]):
        """(objective, final state, losses at the N+1 grid nodes) under the given controls."""
        return self._rollout(u_blocks, record=True)

    def states(self, u_blocks: Float[Array, "blocks m"]):
        """The states at the N+1 grid nodes under the given controls (stacked on a leading axis), by the same
        per-cell integration as the objective."""
        cells = self.system.prepare_controls(self.expand(u_blocks))
        return rollout(self.system, self.integrator, self.grid(), cells, self.objective.discount_rate,
                       observe=lambda x: x, checkpoint_every=self.checkpoint_every)[2]

    @property
    def _final_only(self) -> bool:
        # The cost is exactly the system's final loss of its per-step controls: no running cost, no control cost.
        return self.is_discrete and self.objective.loss_weight == 0

    def value_grad_curvature(self, u_blocks: Float[Array, "blocks m"]):
        """(cost, ∇cost, curvature): the one question a gradient solver asks. The curvature is a per-block
        Hessian-diagonal estimate, the exact Hessian as a `MinKernelHessian` (where the system hands one over: FSL;
        summed over control blocks exactly, `MinKernelHessian.block_sum`), `HessianProducts` (its diagonal estimate
        summed over blocks; the solver forms the products from this gradient), or None.

        Under `FinalLoss` on a discrete system the system answers (`final_loss_grad_curvature`: autodiff by
        default, an exact diagonal, Hessian or one fused pass where the system has them); otherwise
        `jax.value_and_grad` of `cost`, with curvature None. The per-step gradient and diagonal are summed over each
        control block: the gradient exactly, a diagonal as an estimate (the cross terms within a block are left
        out; exact for one control per step), a `MinKernelHessian` exactly. The curvature steers `Direct` (a
        preconditioner, or Newton steps), never part of the answer; None means unknown (no preconditioner).
        """
        if self._final_only and isinstance(self.objective, FinalLoss):
            value, grad, curv = self.system.final_loss_grad_curvature(self.expand(u_blocks))
            shape = (self.steps, len(self.control_names))
            if isinstance(curv, MinKernelHessian) and self.blocks != self.steps:
                curv = curv.block_sum(self.block_of_step(), self.blocks)  # exact in the block controls
            if isinstance(curv, HessianProducts):  # the solver forms the products itself, in its own controls
                curv = HessianProducts(self._fold(jnp.reshape(curv.diagonal(), shape)))
            elif curv is not None and not isinstance(curv, MinKernelHessian):
                curv = self._fold(jnp.reshape(curv, shape))
            return value, self._fold(jnp.reshape(grad, shape)), curv
        value, grad = jax.value_and_grad(self.cost)(u_blocks)
        return value, grad, None

    def _fold(self, per_step: Float[Array, "steps m"]) -> Float[Array, "blocks m"]:
        # Per-step values summed over each control block (the chain rule of `expand`).
        if self.blocks != self.steps:
            per_step = jax.ops.segment_sum(per_step, jnp.asarray(self.block_of_step()), self.blocks)
        return per_step

    @property
    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        """{control: (lo, hi)} with None for an open side."""
        fin = lambda x: float(x) if np.isfinite(x) else None  # noqa: E731
        return {n: (fin(lo), fin(hi)) for n, lo, hi in zip(self.control_names, self.lower, self.upper)}

    def per_step(self) -> "ControlProblem":
        """The same problem with one control block per step."""
        if self.blocks == self.steps:
            return self
        return ControlProblem(self.system, self.objective, self.horizon, None if self.is_discrete else self.steps,
                              None, self.bounds, self.integrator, self.checkpoint_every)

    def params(self) -> dict:
        """All public parameters, flat, by their public names."""
        out = {**self.system.params(), **self.objective.params(),
               "horizon": int(self.horizon) if self.is_discrete else float(self.horizon)}
        if not self.is_discrete:
            out["steps"] = self.steps
        if self.blocks != self.steps:
            out["blocks"] = self.blocks
        return out


def _vmap_cost(objective, u):
    return jax.vmap(objective.control_cost)(u)


def _parse_bounds(names: tuple[str, ...], bounds) -> tuple[tuple[float, ...], tuple[float, ...]]:
    lower = np.array([0.0 if n == "lr" else -np.inf for n in names])
    upper = np.full(len(names), np.inf)
    for name, pair in (bounds or {}).items():
        if name not in names:
            raise InputError(f"bounds names an unknown control '{name}'; this system's controls are "
                             f"{', '.join(names)}.")
        try:
            lo, hi = pair
        except (TypeError, ValueError):
            raise InputError(f"bounds['{name}'] must be a pair (lo, hi), got {pair!r}.") from None
        i = names.index(name)
        for side, value in (("lo", lo), ("hi", hi)):
            if value is None:
                continue
            check_real(f"bounds['{name}'] {side}", value)
            (lower if side == "lo" else upper)[i] = float(value)
        if lower[i] > upper[i]:
            raise InputError(f"bounds['{name}'] must have lo <= hi, got lo={lower[i]:g} > hi={upper[i]:g}.")
    return tuple(float(x) for x in lower), tuple(float(x) for x in upper)
