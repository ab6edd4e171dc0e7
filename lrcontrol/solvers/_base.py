"""What a solver is: a pure, traceable map from a problem and an initial guess to optimal controls."""

import abc
from typing import ClassVar

import equinox as eqx


class AbstractSolver(eqx.Module):
    """A solver returns (controls, info) from `run(problem, u0, report)`; it knows nothing of any system.

    `info` carries `result` (0 = converged; see `lrcontrol.solvers.MESSAGES`), `iterations`,
    `evaluations`, `grad_norm` (stationarity measure at the answer), `initial_grad_norm` and `grad` (the
    objective's gradient at the answer, used to find the active bounds for implicit differentiation).
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def run(self, problem, u0, report=None):
        """Solve `problem` from the initial guess `u0` (shape (blocks, controls))."""
