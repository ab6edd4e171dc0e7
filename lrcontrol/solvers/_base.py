"""What a solver is: a pure, traceable map from a problem and an initial guess to optimal controls."""

import abc
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
from jaxtyping import Array


class Info(NamedTuple):
    """What a solver reports besides the controls.

    - `result`: 0 = converged, else a code of `lrcontrol.solvers.MESSAGES` saying why it stopped.
    - `iterations`, `evaluations`: outer iterations and objective (or trajectory) evaluations.
    - `residual`, `initial_residual`: the solver's own convergence measure (named by its `residual_name`:
      the projected gradient for Direct, the boundary residual or control change for Shooting) at the answer
      and at the start.
    - `grad`: ∇J at the answer where the solver has it (Direct uses it to find active bounds), else None.
    - `costates`: costates at the grid nodes, flattened to (steps+1, state size), where the solver has them.
    - `extras`: further scalar diagnostics by name (e.g. the Hamiltonian drift, HJB's grid).
    """

    result: Array
    iterations: Array
    evaluations: Array
    residual: Array
    initial_residual: Array
    grad: Array | None = None
    costates: Array | None = None
    extras: dict[str, Any] = {}


class AbstractSolver(eqx.Module):
    """A solver returns (controls, `Info`) from `run(problem, u0)`; it knows nothing of any system.

    A solver with `chunked = True` also offers its solve in parts — `start(problem, u0)` → state,
    `advance(problem, state, until)` → state after iterating up to iteration `until`, `finish(problem, state)` →
    (controls, `Info`) and `status(problem, state)` → (iteration, objective, residual, tolerance, still running) —
    which `lrc.solve` runs in compiled chunks to show a progress line between them (`Direct` does). Nothing in the
    compiled code calls back to Python, so every solve can be stored in XLA's persistent compilation cache.

    Class attributes: `name` (the CLI's name), `residual_name` (what `Info.residual` measures) and `implicit`
    (True when the answer is a stationary point of `problem.cost`, so `solve` may differentiate it by the
    implicit function theorem on the discrete KKT conditions).
    """

    name: ClassVar[str]
    residual_name: ClassVar[str]
    implicit: ClassVar[bool] = False
    chunked: ClassVar[bool] = False

    @abc.abstractmethod
    def run(self, problem, u0) -> tuple[Array, Info]:
        """Solve `problem` from the initial guess `u0` (shape (blocks, controls))."""

    def check(self, problem) -> None:
        """Raise `InputError` (one sentence) when this solver does not apply to `problem`."""

    def _require_per_step(self, problem) -> None:
        """For solvers that return one control per grid cell (Pontryagin, HJB): no control blocks."""
        from .._errors import InputError

        if problem.blocks != problem.steps:
            raise InputError(f"solver {self.name} solves for one control per grid cell; blocks must equal steps "
                             f"({problem.steps}), got {problem.blocks}.")


def check_applies(solver: AbstractSolver, problem) -> None:
    """`solver.check(problem)`, called through the class: each `solver.check` access builds equinox's bound-method
    module (~50 µs, as much as the rest of a small solve's host-side checks together)."""
    type(solver).check(solver, problem)
