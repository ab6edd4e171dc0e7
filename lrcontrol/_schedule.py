"""Schedule: one control's values, piecewise constant on a grid, with evaluation and export."""

import csv
import io
import json
import math
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._errors import InputError, _is_concrete, check_int, check_real
from ._schedule_csv import csv_header, schedule_csv


class Schedule(eqx.Module):
    """Values v_k held on cells [t_k, t_{k+1}) of a grid t_0 < t_1 < … < t_n.

    For a continuous-time problem the grid holds times; for an SGD recursion it holds step indices
    0, 1, …, n. Calling the schedule at time t returns the value of the cell containing t (the last cell
    includes t_n).
    """

    values: Float[Array, " n"]
    grid: Float[Array, " n+1"]
    name: str = eqx.field(static=True, default="lr")

    def __init__(self, values, grid=None, name: str = "lr", *, check_finite: bool = True):
        # check_finite=False keeps a failed solve's non-finite controls as they are (`Solution.schedule`), so that
        # the failure can be written out and drawn; every schedule a user makes is checked.
        if not isinstance(name, str) or not name:
            raise InputError(f"name must be a non-empty string (the control's name), got {name!r}.")
        values = _as_float_array("values", values)
        if values.ndim != 1 or values.shape[0] < 1:
            raise InputError(f"values must be a non-empty 1-D array, got shape {values.shape}.")
        n = values.shape[0]
        if check_finite and _is_concrete(values) and not bool(jnp.all(jnp.isfinite(values))):
            k = int(np.argmax(~np.isfinite(np.asarray(values))))
            raise InputError(f"values must be finite numbers, got {float(values[k]):g} at cell {k}.")
        grid = jnp.arange(n + 1, dtype=float) if grid is None else _as_float_array("grid", grid)
        if grid.shape != (n + 1,):
            raise InputError(f"grid must have len(values) + 1 = {n + 1} points, got shape {grid.shape}.")
        if _is_concrete(grid):
            g = np.asarray(grid)
            if not np.all(np.isfinite(g)):
                k = int(np.argmax(~np.isfinite(g)))
                raise InputError(f"grid must be finite numbers, got {g[k]:g} at point {k}.")
            if np.any(np.diff(g) <= 0):
                k = int(np.argmax(np.diff(g) <= 0))
                raise InputError(f"grid must be strictly increasing, got t[{k}] = {g[k]:g} >= t[{k + 1}] = "
                                 f"{g[k + 1]:g}.")
        self.values, self.grid, self.name = values, grid, name

    @property
    def steps(self) -> int:
        return self.values.shape[0]

    @property
    def horizon(self) -> Array:
        return self.grid[-1] - self.grid[0]

    def __call__(self, t):
        """Value at time (or step) t, piecewise constant."""
        k = jnp.searchsorted(self.grid, jnp.asarray(t, dtype=self.grid.dtype), side="right") - 1
        return self.values[jnp.clip(k, 0, self.steps - 1)]

    def at_step(self, step, total_steps: int | None = None):
        """Value for training step `step` of `total_steps` (default: one step per cell).

        Step s maps to the cell containing the fraction s/total_steps of the horizon, so a schedule
        solved on n cells can drive a run of any length.
        """
        total = self.steps if total_steps is None else total_steps
        k = jnp.floor(jnp.asarray(step) * (self.steps / total)).astype(jnp.int32)
        return self.values[jnp.clip(k, 0, self.steps - 1)]

    def to_optax(self, total_steps: int | None = None, *, peak: float | None = None):
        """An optax schedule `count -> learning rate`, jit-safe.

        `total_steps`: length of the training run (default: one step per cell). `peak`: rescale so the
        largest value equals `peak` (use this to hand over the *shape* and tune the peak separately;
        a gradient-flow rate μ becomes an SGD step η = μ·T/total_steps if the model's time is kept).
        """
        total = self.steps if total_steps is None else check_int("total_steps", total_steps, lo=1)
        scale = 1.0
        if peak is not None:
            check_real("peak", peak, lo=0.0, lo_open=True)
            top = float(jnp.max(jnp.abs(self.values)))
            if top == 0.0:
                raise InputError("peak cannot rescale an all-zero schedule.")
            scale = peak / top
        values = self.values * scale
        n = self.steps

        def schedule(count):
            k = jnp.floor(jnp.asarray(count) * (n / total)).astype(jnp.int32)
            return values[jnp.clip(k, 0, n - 1)]

        return schedule

    def to_torch_lambda(self, total_steps: int | None = None):
        """A multiplier `step -> value / peak` for `torch.optim.lr_scheduler.LambdaLR` (no torch import)."""
        total = self.steps if total_steps is None else check_int("total_steps", total_steps, lo=1)
        values = np.asarray(self.values)
        top = float(np.max(np.abs(values))) or 1.0
        n = self.steps
        return lambda step: float(values[min(max(int(math.floor(step * n / total)), 0), n - 1)] / top)

    # --- I/O ----------------------------------------------------------------------------------------------

    def to_csv(self) -> str:
        """CSV text with columns cell, t_start, t_end, <name>; floats written exactly (repr)."""
        return schedule_csv(self.grid, self.values, self.name)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "grid": np.asarray(self.grid).tolist(),
                           "values": np.asarray(self.values).tolist()})

    def save(self, path) -> None:
        """Write CSV or JSON, by the file's suffix."""
        path = Path(path)
        text = self.to_json() if path.suffix == ".json" else self.to_csv()
        path.write_text(text)

    @classmethod
    def load(cls, path) -> "Schedule":
        """Read a schedule written by `save` (CSV or JSON). A CSV may also be one row per update from update 0 with
        `step` and `lr` columns (found by name in any order, the header read without case, spaces or a byte-order
        mark: what `lrcontrol solve <law>` writes, or a dense `step,lr,loss` curve), an `lr` column, or a single
        column of values."""
        path = Path(path)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"schedule file '{path}' cannot be read ({getattr(err, 'strerror', None) or err}).") \
                from None
        try:
            if path.suffix == ".json":
                data = json.loads(text)
                return cls(np.asarray(data["values"], float), np.asarray(data["grid"], float),
                           data.get("name", "lr"))
            return cls._from_csv(text)
        except (ValueError, KeyError, IndexError, TypeError, csv.Error) as err:
            if isinstance(err, InputError):
                raise InputError(f"schedule file '{path}': {err}") from None
            raise InputError(f"schedule file '{path}' is not a schedule CSV/JSON written by lrcontrol "
                             f"(cell,t_start,t_end,<name> columns, step,lr, or one column of values).") from None

    @staticmethod
    def has_time_grid(path) -> bool:
        """Whether a schedule file carries its own grid of times (JSON, or the `cell,t_start,t_end,<name>` CSV),
        rather than one value per step."""
        path = Path(path)
        if path.suffix == ".json":
            return True
        try:
            with open(path, newline="") as f:
                return csv_header(next(csv.reader(f), []))[:1] == ["cell"]
        except (OSError, UnicodeDecodeError, csv.Error):
            return False

    @classmethod
    def _from_csv(cls, text: str) -> "Schedule":
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
        header = csv_header(rows[0])
        if len(header) == 4 and header[0] == "cell":
            body = rows[1:]
            grid = [float(r[1]) for r in body] + [float(body[-1][2])]
            return cls(_finite([float(r[3]) for r in body]), np.array(grid), rows[0][3].strip())
        if "step" in header:
            return cls._from_step_rows(header, rows[1:])
        if len(header) > 1 and "lr" not in header:  # which column holds the rates? (a step column first, say)
            raise InputError("a schedule CSV with several columns needs a header naming them: step,lr (one row per "
                             "update) or cell,t_start,t_end,<name>.")
        col = header.index("lr") if "lr" in header else 0
        start = 0 if _is_number(header[0]) else 1
        return cls(_finite([float(r[col]) for r in rows[start:]]), None, "lr" if start == 0 else header[col])

    @classmethod
    def _from_step_rows(cls, header, body) -> "Schedule":
        # One row per update from update 0, `step,lr` (what `lrcontrol solve <law>` writes) or `step,lr,loss` (a
        # dense loss curve): cell k holds the rate of update k, on the grid of step indices.
        if "lr" not in header or not body:
            raise InputError("a schedule CSV with a step column needs an lr column (step,lr) and at least one row.")
        col, at = header.index("lr"), header.index("step")
        steps = np.array([float(r[at]) for r in body])
        values = _finite([float(r[col]) for r in body])
        if steps[0] != 0 or not np.all(np.diff(steps) == 1):
            raise InputError("a schedule CSV with a step column must have one row per update from update 0 (steps "
                             "0, 1, 2, …); a sparse loss curve is read by lrc.LossCurve.read, which interpolates its "
                             "rates.")
        return cls(values, np.arange(len(values) + 1, dtype=float), "lr")


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise InputError("schedule values must be finite numbers; the file has NaN or inf.")
    return values


def _as_float_array(name: str, value) -> Array:
    try:
        return jnp.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an array of numbers, got {type(value).__name__}.") from None


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def uniform(values, steps: int, horizon=None, name: str = "lr") -> Schedule:
    """A schedule of `steps` values on a uniform grid over [0, horizon] (step indices 0…steps when None)."""
    grid = None if horizon is None else jnp.linspace(0.0, 1.0, steps + 1) * horizon
    return Schedule(values, grid, name)
