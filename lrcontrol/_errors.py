"""Input validation: every bad value becomes one sentence naming the parameter and its allowed range."""

import math
from typing import Any

import numpy as np


class InputError(ValueError):
    """A user-supplied value is outside its allowed range. The message is one sentence."""


class NoClosedForm(LookupError):
    """The requested closed form does not exist (or is not known) for these parameters."""


def _is_concrete(value: Any) -> bool:
    # Values traced by jit/vmap/grad cannot be checked in Python; they were checked where they were made.
    try:
        float(np.asarray(value))
    except Exception:
        return False
    return True


def check_real(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> None:
    """Raise `InputError` unless `value` is a finite real number inside the stated range."""
    if not _is_concrete(value):
        return
    x = float(np.asarray(value))
    left = "" if lo is None else (f"> {lo:g}" if lo_open else f">= {lo:g}")
    right = "" if hi is None else (f"< {hi:g}" if hi_open else f"<= {hi:g}")
    allowed = " and ".join(s for s in (left, right) if s)
    bad = (not math.isfinite(x)
           or (lo is not None and (x <= lo if lo_open else x < lo))
           or (hi is not None and (x >= hi if hi_open else x > hi)))
    if bad:
        raise InputError(f"{name} must be a finite number{' ' + allowed if allowed else ''}, got {x:g}.")


def check_int(name: str, value: Any, *, lo: int = 1) -> int:
    """Return `value` as an int, or raise `InputError` unless it is a whole number >= lo."""
    try:
        as_float = float(value)
        ok = math.isfinite(as_float) and as_float == int(as_float) and int(as_float) >= lo
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"{name} must be a whole number >= {lo}, got {value!r}.")
    return int(as_float)
