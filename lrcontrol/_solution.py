"""Solution: the optimal (or evaluated) schedule, its objective and trajectory, and how the solve went."""

import json
import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree

from ._schedule import Schedule
from .solvers import _results as R


@eqx.filter_jit
def _rates_and_grid(problem, controls):
    # One compiled call: op by op, expanding blocks, preparing the controls and making the grid compiled about ten
    # small programs, ~0.2 s after every command's solve.
    return problem.system.prepare_controls(problem.expand(controls))[:, 0], problem.grid()


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
    control_names: tuple = eqx.field(static=True, default=())
    compile_time: float = math.nan
    run_time: float = math.nan

    @property
    def converged(self) -> bool:
        return bool(self.result == 0)

    @property
    def precision(self) -> str:
        """The floating-point precision the solve ran in ("float32", "float64"), read from its residual."""
        return str(jnp.asarray(self.residual).dtype)

    @property
    def message(self) -> str:
        """Why the solve stopped, with the numbers the solver measured and the precision where it matters."""
        return _message(self)

    def to_dict(self) -> dict:
        total = self.compile_time + self.run_time
        out = {"converged": self.converged, "message": self.message, "result": int(self.result),
               "iterations": int(self.iterations), "evaluations": int(self.evaluations),
               self.residual_name: _num(self.residual), f"initial_{self.residual_name}": _num(self.initial_residual)}
        out.update({k: _scalar(v) for k, v in self.extras.items()})
        out.update({"compile_time_s": _num(self.compile_time), "run_time_s": _num(self.run_time),
                    "wall_time_s": _num(total)})
        return out


def _message(d: Diagnostics) -> str:
    code, x = int(d.result), d.extras
    base = R.MESSAGES.get(code, f"unknown result code {code}")
    prec = d.precision
    low = prec in ("float32", "float16", "bfloat16")
    tag = f" ({prec})" if low else ""

    def get(name, default=math.nan):
        return float(x[name]) if name in x else default

    res, tol, floor = float(d.residual), get("tolerance"), get("roundoff_floor")
    name = d.residual_name.replace("_", " ")
    if code == R.NONFINITE and int(get("nonfinite", 0)) > 0:
        k = int(get("nonfinite_iteration", 0))
        what = R.NONFINITE_WHAT.get(int(get("nonfinite", 0)), "value")
        where = " (the initial guess: the dynamics diverge there)" if k == 0 else ""
        return f"not converged: non-finite {what} at iteration {k}{where}{tag}"
    if code == R.UNBOUNDED:
        j = int(get("unbounded_control", 0))
        control = d.control_names[j] if 0 <= j < len(d.control_names) else f"control {j}"
        return (f"not converged: unbounded: the objective keeps decreasing as {control} grows without limit "
                f"(it does not rise when {control} is scaled ×4 and ×16); set an upper bound on {control}")
    if code == R.SUCCESS and math.isfinite(tol):
        if res > tol:
            msg = f"converged to {prec} round-off: {name} {res:.1e}, floor {floor:.1e} (tolerance {tol:.1e})"
        else:
            msg = f"converged: {name} {res:.1e} ≤ tolerance {tol:.1e}{tag}"
        if bool(get("start_at_roundoff", 0)):
            msg += (f"; the start was already optimal to round-off (the objective did not decrease beyond its "
                    f"noise {get('objective_noise'):.1e}), verified by trial steps of ±1% and ±10% of the controls")
        flat = int(get("flat_controls", 0))
        if flat:
            msg += (f"; the objective does not depend on {flat} of the {int(get('controls', 0))} controls "
                    f"(changing one by the schedule's peak moves it less than its round-off), which stay where "
                    f"they started: any value is optimal there")
        return msg
    if code in (R.STALLED, R.LINE_SEARCH_FAILED) and math.isfinite(tol):
        return f"{base}: {name} {res:.1e}, round-off floor {floor:.1e}, tolerance {tol:.1e} ({prec})"
    if "newton_result" in x and code != R.SUCCESS:
        return f"{base} (Newton: {_newton_message(int(get('newton_result', 0)))}; {name} {res:.1e}){tag}"
    if code == R.SUCCESS and "shooting_tolerance" in x:
        return f"converged: {name} {res:.1e} ≤ tolerance {get('shooting_tolerance'):.1e}{tag}"
    if code == R.SUCCESS and d.residual_name == "coarse_grid_change":
        msg = (f"converged: the schedule changed by {res:.1e} of its peak between the coarse and the fine state "
               f"grid (rtol {get('rtol'):.0e}); that change is the error estimate")
        if low:
            msg += (f" ({prec}: round-off in the Bellman values resolves the control no better than √ε = "
                    f"{get('control_resolution'):.0e} of its range; the change measures that round-off too)")
        return msg
    return base + tag


def _newton_message(index: int) -> str:
    import optimistix as optx

    names = {int(item._value): n for n, item in optx.RESULTS._name_to_item.items()}
    name = names.get(index, f"result {index}").replace("_", " ")
    text = optx.RESULTS._index_to_message[index].split(".")[0].strip() if index in names else ""
    return f"{name}: {text}" if text else name


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
        return _rates_and_grid(self.problem, self.controls)[1]

    @property
    def schedules(self) -> dict[str, Schedule]:
        """The chosen controls (what the solver optimises, before the system's `prepare_controls`), one `Schedule`
        per control name, one value per grid cell."""
        per_step = self.problem.expand(self.controls)
        return {name: Schedule(per_step[:, i], self.t, name, check_finite=False)
                for i, name in enumerate(self.problem.control_names)}

    @property
    def schedule(self) -> Schedule:
        """The learning-rate schedule as the dynamics receive it, one value per grid cell: the first control after
        the system's `prepare_controls` — the chosen control itself for most systems; for `LawSchedule` the rates
        (warm-up included) that its chosen log-decrements give."""
        rates, grid = _rates_and_grid(self.problem, self.controls)
        return Schedule(rates, grid, self.problem.control_names[0], check_finite=False)

    @property
    def reward(self) -> Array:
        """−objective, the quantity a paper that maximises cumulative reward reports."""
        return -self.objective

    def to_dict(self, analytic: dict | None = None, comparison: dict | None = None) -> dict:
        from ._version import __version__

        per_step = self.problem.expand(np.asarray(self.controls))  # numpy: no small compiled gather
        obj = self.problem.objective
        out = {"system": self.problem.system.name, "params": self.problem.params(),
               "objective_kind": obj.kind, "solver": self.solver,
               "t": _list(self.t),
               "controls": {n: _list(per_step[:, i]) for i, n in enumerate(self.problem.control_names)},
               "loss": _list(self.loss), "objective": _num(self.objective)}
        if obj.maximised_by_paper:
            out["reward"] = _num(self.reward)
        if self.costates is not None:  # Pontryagin solvers: λ at the grid nodes, state flattened
            out["costates"] = _list(self.costates)
        out.update({"analytic": analytic, "comparison": comparison,
                    "diagnostics": self.diagnostics.to_dict(), "version": __version__})
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(**kwargs), indent=1, allow_nan=False, default=_num)


def _list(a):
    """An array as nested lists, with non-finite entries (a diverged trajectory) as None: JSON has no NaN."""
    a = np.asarray(a, float)
    return np.where(np.isfinite(a), a, None).tolist() if not np.all(np.isfinite(a)) else a.tolist()


def _scalar(x):
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        return int(x)
    return _num(x)


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None
