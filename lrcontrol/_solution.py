"""Solution: the optimal (or evaluated) schedule, its objective and trajectory, and how the solve went."""

import json
import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree

from ._schedule import Schedule
from .solvers._results import MESSAGES


class Diagnostics(eqx.Module):
    """How a solve went. `result` 0 means converged; `message` says why it stopped either way.

    `residual` is the solver's own convergence measure, named by `residual_name` (the projected gradient for
    Direct, the shooting residual for Shooting, ...); `extras` holds further scalar diagnostics by name.
    """

    result: Array
    iterations: Array
    evaluations: Array
    residual: Array
    initial_residual: Array
    residual_name: str = eqx.field(static=True, default="projected_grad_norm")
    extras: dict = eqx.field(default_factory=dict)
    compile_time: float = math.nan
    run_time: float = math.nan

    @property
    def converged(self) -> bool:
        return bool(self.result == 0)

    @property
    def message(self) -> str:
        return MESSAGES.get(int(self.result), f"unknown result code {int(self.result)}")

    def to_dict(self) -> dict:
        total = self.compile_time + self.run_time
        out = {"converged": self.converged, "message": self.message, "result": int(self.result),
               "iterations": int(self.iterations), "evaluations": int(self.evaluations),
               self.residual_name: _num(self.residual), f"initial_{self.residual_name}": _num(self.initial_residual)}
        out.update({k: _scalar(v) for k, v in self.extras.items()})
        out.update({"compile_time_s": _num(self.compile_time), "run_time_s": _num(self.run_time),
                    "wall_time_s": _num(total)})
        return out


def no_iterations() -> Diagnostics:
    """Diagnostics for an evaluation or a simulated policy: nothing was optimised."""
    z = jnp.array(0)
    return Diagnostics(z, z, jnp.array(1), jnp.array(jnp.nan), jnp.array(jnp.nan), "none")


class Solution(eqx.Module):
    """A schedule on a problem's grid, with its objective, loss trajectory and diagnostics.

    `controls` has one row per control block and one column per control (`problem.control_names`).
    `costates` (Shooting only) are the costates at the grid nodes, the state flattened to one axis.
    """

    problem: eqx.Module
    solver: str = eqx.field(static=True)
    controls: Float[Array, "blocks m"]
    objective: Array
    loss: Float[Array, " steps+1"]
    final_state: PyTree[Array]
    diagnostics: Diagnostics
    costates: Float[Array, "steps+1 n"] | None = None

    @property
    def t(self) -> Array:
        return self.problem.grid()

    @property
    def schedules(self) -> dict[str, Schedule]:
        per_step = self.problem.expand(self.controls)
        return {name: Schedule(per_step[:, i], self.t, name, check_finite=False)
                for i, name in enumerate(self.problem.control_names)}

    @property
    def schedule(self) -> Schedule:
        """The learning-rate schedule (the first control), one value per grid cell."""
        return Schedule(self.problem.expand(self.controls)[:, 0], self.t, self.problem.control_names[0],
                        check_finite=False)

    @property
    def reward(self) -> Array:
        """−objective, the quantity a paper that maximises cumulative reward reports."""
        return -self.objective

    def to_dict(self, analytic: dict | None = None, comparison: dict | None = None) -> dict:
        from ._version import __version__

        per_step = np.asarray(self.problem.expand(self.controls))
        obj = self.problem.objective
        out = {"system": self.problem.system.name, "params": self.problem.params(),
               "objective_kind": obj.kind, "solver": self.solver,
               "t": np.asarray(self.t).tolist(),
               "controls": {n: per_step[:, i].tolist() for i, n in enumerate(self.problem.control_names)},
               "loss": np.asarray(self.loss).tolist(), "objective": float(self.objective)}
        if obj.maximised_by_paper:
            out["reward"] = float(self.reward)
        if self.costates is not None:  # Pontryagin solvers: λ at the grid nodes, state flattened
            out["costates"] = np.asarray(self.costates).tolist()
        out.update({"analytic": analytic, "comparison": comparison,
                    "diagnostics": self.diagnostics.to_dict(), "version": __version__})
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(**kwargs), indent=1, allow_nan=False, default=_num)


def _scalar(x):
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        return int(x)
    return _num(x)


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None
