"""Input validation: every bad value becomes one sentence naming the parameter and its allowed range.

`Param` is one public parameter of a class (a system, an objective): its name, allowed range and one-line doc. A
class lists its parameters once, as `parameters: ClassVar[tuple[Param, ...]]`, with their defaults in its
constructor's signature; its constructor checks its arguments with `check_parameters`, and the CLI's registry and
`lrcontrol list` read the same specs.
"""

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from jax.core import Tracer

WHOLE_MAX = 2**31 - 1  # the largest whole-number parameter (array sizes and indices are int32 in XLA)
_NO_DEFAULT = inspect.Parameter.empty


class InputError(ValueError):
    """A user-supplied value is outside its allowed range. The message is one sentence."""


class NoClosedForm(LookupError):
    """The requested closed form does not exist (or is not known) for these parameters."""


def _is_concrete(value: Any) -> bool:
    # Values traced by jit/vmap/grad cannot be checked in Python; they were checked where they were made.
    return not isinstance(value, Tracer)


def _range(lo, hi, lo_open, hi_open) -> str:
    left = "" if lo is None else (f"> {lo:g}" if lo_open else f">= {lo:g}")
    right = "" if hi is None else (f"< {hi:g}" if hi_open else f"<= {hi:g}")
    return " and ".join(s for s in (left, right) if s)


def _shown(value: Any) -> str:
    if isinstance(value, np.ndarray | np.generic) or type(value).__module__.startswith("jax"):
        if np.ndim(value) > 0:
            return f"an array of shape {tuple(np.shape(value))}"
        value = np.asarray(value).item()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_real(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> None:
    """Raise `InputError` unless `value` is one finite real number inside the stated range.

    Strings, None, booleans, complex numbers and arrays of more than one number are refused; a value traced by
    jit/vmap/grad passes unchecked (it was checked where it was made, or is a deliberate batch)."""
    if not _is_concrete(value):
        return
    allowed = _range(lo, hi, lo_open, hi_open)
    must = f"{name} must be a finite number{' ' + allowed if allowed else ''}"
    if value is None or isinstance(value, str | bytes | bool | np.bool_):
        raise InputError(f"{must}, got {value!r}.")
    try:
        arr = np.asarray(value)
    except Exception:
        raise InputError(f"{must}, got {_shown(value)}.") from None
    if arr.ndim != 0:
        raise InputError(f"{must} (a single number, not an array), got an array of shape {arr.shape}.")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{must}, got {_shown(value)}.")
    x = float(arr)
    bad = (not math.isfinite(x)
           or (lo is not None and (x <= lo if lo_open else x < lo))
           or (hi is not None and (x >= hi if hi_open else x > hi)))
    if bad:
        raise InputError(f"{must}, got {x:g}.")


def check_int(name: str, value: Any, *, lo: int = 1, hi: int = WHOLE_MAX) -> int:
    """Return `value` as an int, or raise `InputError` unless it is a whole number from lo to hi.

    A string of digits is accepted (what the command line passes); booleans and arrays are not."""
    if not _is_concrete(value):
        raise InputError(f"{name} must be a whole number >= {lo} known before tracing (a size or count, not a value "
                         f"traced by jit/vmap/grad).")
    as_float = math.nan
    if not isinstance(value, bool | np.bool_) and (isinstance(value, str) or np.ndim(value) == 0):
        try:
            as_float = float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    ok = math.isfinite(as_float) and as_float == int(as_float)
    if ok and int(as_float) > hi >= lo:
        raise InputError(f"{name} must be a whole number from {lo} to {hi}, got {_shown(value)}.")
    if not (ok and int(as_float) >= lo):
        raise InputError(f"{name} must be a whole number >= {lo}, got {_shown(value)}.")
    return int(as_float)


def _choices(choices: tuple[str, ...]) -> str:
    quoted = [repr(c) for c in choices]
    return " or ".join(quoted) if len(quoted) <= 2 else "one of " + ", ".join(quoted)


@dataclass(frozen=True)
class Param:
    """One public parameter: `kind` float (a finite real in the range lo..hi, each end open or closed), int (a
    whole number >= lo), bool, str (one of `choices`), "array" or another object described by the text of `kind` (both checked by the
    class itself; not settable from the command line). `optional`: None is
    also allowed, meaning "derived from the others" (the doc says how). `default` is filled from the constructor's
    signature (`with_defaults`) or, for the command line's problem-level parameters, given."""

    name: str
    doc: str
    kind: type | str = float
    lo: float | None = None
    lo_open: bool = False
    hi: float | None = None
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    default: Any = None
    required: bool = False  # the constructor has no default for it

    def allowed(self) -> str:
        """The allowed values, in words (what an error message and `lrcontrol list` state)."""
        if self.kind is float:
            rng = _range(self.lo, self.hi, self.lo_open, self.hi_open)
            text = "a finite number" + (f" {rng}" if rng else "")
        elif self.kind is int:
            text = f"a whole number >= {1 if self.lo is None else int(self.lo)}"
        elif self.kind is bool:
            text = "True or False"
        elif self.kind is str:
            text = _choices(self.choices)
        else:  # "array", or an object kind written as its description
            text = "an array" if self.kind == "array" else str(self.kind)
        return text + (" or None" if self.optional else "")

    @property
    def settable(self) -> bool:
        """Whether the command line can set it (a number, a flag or a name; not an array or an object)."""
        return self.kind in (float, int, bool, str)

    def check(self, value: Any) -> Any:
        """`value` if it is allowed (whole numbers as int), else `InputError` naming the parameter."""
        if value is None and self.optional:
            return None
        if self.kind is float:
            check_real(self.name, value, lo=self.lo, hi=self.hi, lo_open=self.lo_open, hi_open=self.hi_open)
            return value
        if self.kind is int:
            if isinstance(value, str):
                raise InputError(f"{self.name} must be {self.allowed()} (a number, not text), got {value!r}.")
            return check_int(self.name, value, lo=1 if self.lo is None else int(self.lo))
        if self.kind is bool:
            if not isinstance(value, bool | np.bool_):
                raise InputError(f"{self.name} must be True or False, got {_shown(value)}.")
            return bool(value)
        if self.kind is str:
            if not isinstance(value, str) or value not in self.choices:
                raise InputError(f"{self.name} must be {_choices(self.choices)}, got {_shown(value)}.")
            return value
        return value

    def parse(self, raw: str) -> Any:
        """The value of the command-line text `raw` (--set NAME=VALUE), checked."""
        if self.optional and raw.lower() == "none":
            return None
        if self.kind is int:
            return check_int(self.name, raw, lo=1 if self.lo is None else int(self.lo))
        if self.kind is bool:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise InputError(f"{self.name} must be true or false, got '{raw}'.")
            return raw.lower() in ("true", "1")
        if self.kind is str:
            return self.check(raw)
        if self.kind is float:
            try:
                value = float(raw)
            except ValueError:
                raise InputError(f"{self.name} must be a number, got '{raw}'.") from None
            return self.check(value)
        raise InputError(f"{self.name} is an array and cannot be set from the command line.")


@dataclass(frozen=True)
class Overflow:
    """A derived quantity of some parameters that must stay a finite float64 (else the dynamics overflow)."""

    names: tuple[str, ...]
    what: str
    value: Callable[..., float]  # of the named parameters' values, as Python floats


def with_defaults(cls, specs: tuple[Param, ...]) -> tuple[Param, ...]:
    """`specs` with each default read from the signature of `cls`'s constructor (where it lives)."""
    signature = inspect.signature(cls)
    out = []
    for p in specs:
        arg = signature.parameters.get(p.name)
        if arg is not None:
            p = replace(p, required=True) if arg.default is _NO_DEFAULT else replace(p, default=arg.default)
        out.append(p)
    return tuple(out)


def check_parameters(specs: tuple[Param, ...], values: dict, overflow: tuple[Overflow, ...] = ()) -> dict:
    """Check every value against its spec (one sentence naming the first bad parameter), then the derived
    quantities in `overflow`. Returns the values, whole numbers as int."""
    spec = {p.name: p for p in specs}
    out = {k: (spec[k].check(v) if k in spec else v) for k, v in values.items()}
    for o in overflow:
        args = [out.get(n) for n in o.names]
        if any(a is None or not _is_concrete(a) for a in args):
            continue
        try:
            with np.errstate(all="ignore"):
                x = float(o.value(*(float(np.asarray(a)) for a in args)))
        except (OverflowError, ZeroDivisionError):
            x = math.inf
        if not math.isfinite(x):
            got = ", ".join(f"{n} = {float(np.asarray(a)):g}" for n, a in zip(o.names, args))
            names = " and ".join(o.names) if len(o.names) <= 2 else ", ".join(o.names[:-1]) + " and " + o.names[-1]
            raise InputError(f"{names} must keep {o.what} a finite float64, got {got}.")
    return out
