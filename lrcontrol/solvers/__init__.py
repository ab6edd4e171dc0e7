"""Solvers: direct (gradient through the unrolled dynamics). Shooting and HJB are planned (issue 3)."""

from ._base import AbstractSolver as AbstractSolver
from ._lbfgsb import MESSAGES as MESSAGES
from .direct import Direct as Direct

__all__ = ["AbstractSolver", "Direct", "MESSAGES"]
