"""Solvers of three independent kinds: direct (gradient through the unrolled dynamics), indirect (Pontryagin
shooting and the forward–backward sweep) and dynamic programming (HJB on a state grid)."""

from ._base import AbstractSolver as AbstractSolver
from ._base import Info as Info
from ._results import MESSAGES as MESSAGES
from ._results import Result as Result
from .direct import Direct as Direct
from .hjb import HJB as HJB
from .hjb import ValueFunction as ValueFunction
from .shooting import Shooting as Shooting

__all__ = ["AbstractSolver", "Direct", "HJB", "Info", "MESSAGES", "Result", "Shooting", "ValueFunction"]
