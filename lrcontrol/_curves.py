"""Training runs as data: a learning-rate schedule per update and the losses logged along it.

`LossCurve.read` accepts two CSV shapes:

- `step,lr,loss` (the shared pretraining curves, `data/README.md`): one row per optimiser update s = 0 … N−1
  (dense; `loss` blank where it was not logged), or only the logged rows (sparse). For sparse files the rate of
  every update between two rows is interpolated linearly in the step (and held at the first row's rate before
  it); steps must start at 0 for the rates to be complete, else the rows before the first are missing updates.
- the Weights & Biases export: `iter`, `train_lr`, and `train_loss` or `val_loss` (train_loss where both are
  present, unless its column is empty; columns in any order, other columns ignored). Resumed runs log some steps
  twice: the last row for a step wins, rows are sorted by step.

`loss` is the loss measured after update `step` (the law is evaluated from the rates of updates 0 … step).
"""

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._errors import InputError
from ._schedule_csv import csv_header


@dataclass(frozen=True)
class LossCurve:
    """One training run: `lr[s]` the rate of update s = 0 … N−1; `losses[i]` the loss after update `steps[i]`.

    Steps increase strictly and lie in 0 … N−1; rates are finite and ≥ 0; losses finite and > 0.
    """

    lr: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    name: str = "curve"
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        lr = np.asarray(self.lr, dtype=float).reshape(-1)
        steps = np.asarray(self.steps).reshape(-1)
        losses = np.asarray(self.losses, dtype=float).reshape(-1)
        where = f"curve '{self.name}'"
        if lr.size == 0:
            raise InputError(f"{where} has no learning rates (lr needs one value per update).")
        if not np.all(np.isfinite(lr)) or np.any(lr < 0):
            i = int(np.argmax(~np.isfinite(lr) | (lr < 0)))
            raise InputError(f"{where}: lr must be finite and >= 0, got {lr[i]:g} at step {i}.")
        if steps.size != losses.size:
            raise InputError(f"{where}: steps and losses must have the same length, got {steps.size} and "
                             f"{losses.size}.")
        if steps.size == 0:
            raise InputError(f"{where} has no logged losses.")
        if not np.all(np.equal(np.mod(steps, 1), 0)):
            raise InputError(f"{where}: steps must be whole numbers.")
        steps = steps.astype(int)
        if np.any(np.diff(steps) <= 0):
            i = int(np.argmax(np.diff(steps) <= 0))
            raise InputError(f"{where}: steps must increase strictly, got {steps[i]} then {steps[i + 1]}.")
        if steps[0] < 0 or steps[-1] >= lr.size:
            raise InputError(f"{where}: logged steps must lie in 0 … {lr.size - 1} (one rate per update), got "
                             f"{steps[0]} … {steps[-1]}.")
        bad = ~np.isfinite(losses) | (losses <= 0)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise InputError(f"{where}: loss must be finite and > 0, got {losses[i]:g} at step {steps[i]}.")
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "losses", losses)

    @property
    def horizon(self) -> int:
        """N, the number of updates."""
        return int(self.lr.size)

    def __len__(self) -> int:
        return int(self.steps.size)

    # --- files ------------------------------------------------------------------------------------------------

    @classmethod
    def read(cls, path, name: str | None = None) -> "LossCurve":
        """A curve from a CSV file (`step,lr,loss` dense or sparse, or the W&B export; see the module docstring)."""
        path = Path(path)
        name = name or path.stem
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"curve file '{path}' cannot be read ({getattr(err, 'strerror', None) or err}).") \
                from None
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as err:  # a field beyond the csv module's limit, say
            raise InputError(f"curve file '{path}' is not a CSV file ({err}).") from None
        rows = [r for r in rows if r and any(c.strip() for c in r)]
        if not rows:
            raise InputError(f"curve file '{path}' is empty (it needs a header step,lr,loss).")
        header = csv_header(rows[0])
        if {"step", "lr", "loss"} <= set(header):
            cols, source = ("step", "lr", "loss"), "step,lr,loss"
        elif {"iter", "train_lr"} <= set(header) and ({"train_loss", "val_loss"} & set(header)):
            loss = "train_loss" if "train_loss" in header else "val_loss"
            if loss == "train_loss" and "val_loss" in header:  # both: train_loss, unless that column is empty
                k = header.index("train_loss")
                if not any(k < len(r) and r[k].strip() for r in rows[1:]):
                    loss = "val_loss"
            cols, source = ("iter", "train_lr", loss), "wandb"
        else:
            raise InputError(f"curve file '{path}' needs the columns step,lr,loss (or the W&B export's iter, "
                             f"train_lr and train_loss or val_loss); its header is {_shorten(','.join(header))!r}.")
        idx = [header.index(c) for c in cols]
        data = np.full((len(rows) - 1, 3), np.nan)
        for i, r in enumerate(rows[1:]):
            for j, c in enumerate(idx):
                cell = r[c].strip() if c < len(r) else ""
                if cell == "":
                    continue
                try:
                    data[i, j] = float(cell)
                except ValueError:
                    raise InputError(f"curve file '{path}' line {i + 2}: {cols[j]} is not a number: "
                                     f"{cell[:30]!r}.") from None
                if not math.isfinite(data[i, j]):  # blank means "not logged"; NaN or inf written out is an error
                    what = {"loss": "loss must be finite and > 0", "val_loss": "loss must be finite and > 0",
                            "train_loss": "loss must be finite and > 0"}.get(cols[j], f"{cols[j]} must be finite")
                    raise InputError(f"curve file '{path}' line {i + 2}: {what}, got {cell[:30]!r}.")
        if data.shape[0] == 0 or np.any(np.isnan(data[:, 0])):
            raise InputError(f"curve file '{path}': every row needs a {cols[0]}" +
                             (" (the file has no rows)." if data.shape[0] == 0 else "."))
        if source == "wandb":  # resumed runs: the last row for a step wins; then sort by step
            _, last = np.unique(data[::-1, 0], return_index=True)
            data = data[::-1][last]
        steps = data[:, 0]
        if np.any(np.diff(steps) <= 0):
            i = int(np.argmax(np.diff(steps) <= 0))
            raise InputError(f"curve file '{path}': steps must increase strictly, got {steps[i]:g} then "
                             f"{steps[i + 1]:g} (line {i + 3}).")
        if steps[0] < 0 or np.any(np.mod(steps, 1) != 0):
            raise InputError(f"curve file '{path}': steps must be whole numbers >= 0.")
        lr_rows = ~np.isnan(data[:, 1])
        if not np.any(lr_rows):
            raise InputError(f"curve file '{path}' has no learning rates.")
        bad = lr_rows & ((data[:, 1] < 0) | ~np.isfinite(data[:, 1]))
        if np.any(bad):
            i = int(np.argmax(bad))
            raise InputError(f"curve file '{path}': lr must be >= 0, got {data[i, 1]:g} at step "
                             f"{steps[i]:g}.")
        n = int(steps[-1]) + 1
        from ._memory import available_bytes  # here: the module imports JAX, which reading a CSV does not need

        free = available_bytes()
        if free is not None and 32 * n > free:  # the rates, one per update, and the interpolation's work arrays
            raise InputError(f"curve file '{path}': its last step {n - 1} means {n} updates, whose rates need "
                             f"{32 * n / 2**30:.1f} GiB, more than the {free / 2**30:.1f} GiB of memory free; check "
                             f"the step column (one row per optimiser update, counted from 0).")
        all_steps = np.arange(n)
        if lr_rows.sum() == n and steps[0] == 0 and lr_rows.all():
            lr = data[:, 1]
        else:  # sparse: linear in the step between rows with a rate; held before the first and after the last
            lr = np.interp(all_steps, steps[lr_rows], data[lr_rows, 1])
        logged = ~np.isnan(data[:, 2])
        meta = {"source": str(path), "format": source, "interpolated_lr": bool(lr.size != lr_rows.sum())}
        return cls(lr, steps[logged].astype(int), data[logged, 2], name=name, metadata=meta)

    def to_csv(self) -> str:
        """The dense `step,lr,loss` CSV (loss blank where it was not logged)."""
        loss = np.full(self.horizon, np.nan)
        loss[self.steps] = self.losses
        lines = ["step,lr,loss"]
        for s in range(self.horizon):
            lines.append(f"{s},{float(self.lr[s])!r},{'' if math.isnan(loss[s]) else repr(float(loss[s]))}")
        return "\n".join(lines) + "\n"

    def write(self, path) -> Path:
        """Write the dense `step,lr,loss` CSV; returns the path."""
        path = Path(path)
        path.write_text(self.to_csv())
        return path


def _shorten(text: str, at: int = 80) -> str:
    return text if len(text) <= at else text[:at] + "…"


def check_curves(curves, n_params: int) -> list[LossCurve]:
    """The curves as a list, each a `LossCurve`; at least `n_params` logged points in all (a fit needs them)."""
    if isinstance(curves, LossCurve):
        curves = [curves]
    curves = list(curves)
    if not curves or not all(isinstance(c, LossCurve) for c in curves):
        raise InputError("curves must be one or more lrc.LossCurve (read them with lrc.LossCurve.read).")
    total = sum(len(c) for c in curves)
    if total < n_params:
        raise InputError(f"curves must have at least as many logged losses as the law has parameters "
                         f"({n_params}), got {total}.")
    for c in curves:
        check_learned(c)
    return curves


def check_learned(curve: LossCurve) -> LossCurve:
    """`curve` if every logged loss comes after some learning: the laws grow without bound as the summed rate
    S1 = Σ_{τ≤s} η_τ goes to 0 (S1^−α, T^−s), so a loss logged where S1 = 0 (the initial loss of a warm-up from 0)
    cannot be fitted or predicted; else `InputError` naming the curve and the loss cells to blank."""
    learned = np.cumsum(curve.lr)[curve.steps] > 0
    if not learned.all():
        last = int(curve.steps[~learned][-1])
        raise InputError(f"curve '{curve.name}' logs a loss at step {int(curve.steps[0])} before any learning (the "
                         f"rates up to it sum to 0, where every law is infinite): blank its loss cells up to step "
                         f"{last} (keep the rows: their rates count).")
    return curve
