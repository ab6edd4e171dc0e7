"""Solvers of three independent kinds: direct (gradient through the unrolled dynamics), indirect (Pontryagin
shooting and the forward–backward sweep) and dynamic programming (HJB on a state grid).

The solver classes are imported on first use, so code that needs only the result codes loads no solver."""

import importlib

from ._base import AbstractSolver as AbstractSolver
from ._base import Info as Info
from ._results import MESSAGES as MESSAGES
from ._results import Result as Result

_LAZY = {"Direct": ".direct", "HJB": ".hjb", "ValueFunction": ".hjb", "Shooting": ".shooting"}

__all__ = ["AbstractSolver", "Direct", "HJB", "Info", "MESSAGES", "Result", "Shooting", "ValueFunction"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'lrcontrol.solvers' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
