"""Numeric-vs-reference comparison and convergence-order measurement."""

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._compliance import Compliance, compliance, gamma_bar, sharpness  # noqa: F401
from ._errors import InputError, NoClosedForm
from ._schedule import Schedule
from ._solution import Solution
from ._solve import evaluate_objective
from .objectives import Effort, closed_loop_rate


class Comparison(eqx.Module):
    """How far a numerical solution is from a reference schedule on the same grid.

    - `max_rel_error`: max_k |u_k − r_k| / max_k |r_k| (error relative to the reference's peak).
    - `l2_rel_error`: ‖u − r‖₂ / ‖r‖₂ over the cells (time-weighted).
    - `objective`, `reference_objective`: the discretised objective under each schedule; `objective_gap` is
      their difference (≤ 0 when the numerical answer is the discrete optimum: the reference, sampled on the
      grid, is then a feasible but not optimal discrete schedule).
    - `analytic_objective`: the continuous optimum J*, where the system knows it (else NaN).
    """

    max_rel_error: float
    l2_rel_error: float
    objective: float
    reference_objective: float
    objective_gap: float
    analytic_objective: float = math.nan

    def to_dict(self) -> dict:
        return {k: (v if math.isfinite(v) else None) for k, v in
                {"max_rel_error": self.max_rel_error, "l2_rel_error": self.l2_rel_error,
                 "objective": self.objective, "reference_objective": self.reference_objective,
                 "objective_gap": self.objective_gap, "analytic_objective": self.analytic_objective}.items()}


def compare(solution: Solution, reference: Schedule | Solution, *, analytic_objective: float | None = None,
            where: slice | None = None) -> Comparison:
    """Compare a solution's learning-rate schedule with a reference (closed form, other solver, policy).

    `where` restricts the schedule errors to a slice of cells (e.g. away from t = T).
    """
    ref_schedule = reference.schedule if isinstance(reference, Solution) else reference
    if not isinstance(ref_schedule, Schedule):
        raise InputError(f"reference must be an lrc.Schedule or lrc.Solution, got {type(reference).__name__}.")
    u = np.asarray(solution.schedule.values)
    r = np.asarray(ref_schedule.values)
    if r.shape != u.shape:
        raise InputError(f"reference must have one value per step ({u.shape[0]}), got {r.shape[0]}.")
    sl = slice(None) if where is None else where
    du, rr = (u - r)[sl], r[sl]
    dt = np.diff(np.asarray(solution.t))[sl]
    ref_objective = float(reference.objective if isinstance(reference, Solution)
                          else evaluate_objective(solution.problem, ref_schedule))
    if analytic_objective is None:
        analytic_objective = _analytic_objective(solution.problem)
    return Comparison(
        max_rel_error=float(np.max(np.abs(du)) / np.max(np.abs(rr))),
        l2_rel_error=float(np.sqrt(np.sum(dt * du**2) / np.sum(dt * rr**2))),
        objective=float(solution.objective), reference_objective=ref_objective,
        objective_gap=float(solution.objective) - ref_objective,
        analytic_objective=float(analytic_objective))


def _analytic_objective(problem) -> float:
    try:
        return float(problem.system.optimal_objective(problem))
    except NoClosedForm:
        return math.nan


def closed_loop_deviation(solution: Solution, *, exclude_end: float = 0.05) -> dict:
    """How well the schedule obeys μ = √((L(t) − L(T))/β) (undiscounted effort objective, any system).

    The law is compared at cell midpoints (loss interpolated between grid nodes) on cells with
    t ≤ (1 − exclude_end)·T: at t → T both sides vanish like √(T − t), so relative errors there say nothing.
    Returns the max deviation relative to the schedule's peak and the arrays compared.
    """
    obj = solution.problem.objective
    if not isinstance(obj, Effort) or float(obj.discount) != 0.0:
        raise InputError("closed_loop_deviation needs the undiscounted Effort objective (discount = 0).")
    loss = np.asarray(solution.loss)
    mid_loss = 0.5 * (loss[1:] + loss[:-1])
    law = np.asarray(closed_loop_rate(jnp.asarray(mid_loss), loss[-1], obj.effort_cost))
    mu = np.asarray(solution.schedule.values)
    t = np.asarray(solution.t)
    keep = t[1:] <= (1.0 - exclude_end) * t[-1]
    return {"max_rel_deviation": float(np.max(np.abs(mu - law)[keep]) / np.max(np.abs(mu))),
            "rate": mu, "law": law}


def gradient_norm_identity(solution: Solution) -> dict:
    """How well the schedule obeys μ̇ = −‖∇L‖²/(2β) (undiscounted effort objective, Njaradi et al. 2026 [D]).

    Independent of `closed_loop_deviation`: that one reads only the loss curve, this one the gradients at the
    states. The slope of the schedule between neighbouring cell midpoints, (μ_{k+1} − μ_k)/h, is compared with
    −‖∇L(x)‖²/(2β) at the grid node between them (both O(h²) there), with ‖∇L‖² = ‖f(t, x, μ = 1)‖² for
    dynamics ẋ = −μ∇L (every effort system here). Returns the max deviation relative to max ‖∇L‖²/(2β) and the
    arrays compared (at nodes 1…N−1).
    """
    problem = solution.problem
    obj = problem.objective
    if not isinstance(obj, Effort) or float(obj.discount) != 0.0:
        raise InputError("gradient_norm_identity needs the undiscounted Effort objective (discount = 0).")
    if problem.is_discrete or len(problem.control_names) != 1:
        raise InputError("gradient_norm_identity needs a gradient-flow system with the learning rate as its only "
                         "control.")
    t = problem.grid()
    g2 = np.asarray(_grad_norm_sq_at_nodes(problem, solution.controls))[1:-1]
    mu = np.asarray(solution.schedule.values)
    mid = 0.5 * (np.asarray(t)[1:] + np.asarray(t)[:-1])
    slope = np.diff(mu) / np.diff(mid)
    predicted = -g2 / (2.0 * float(obj.effort_cost))
    return {"max_rel_deviation": float(np.max(np.abs(slope - predicted)) / np.max(np.abs(predicted))),
            "slope": slope, "predicted": predicted}


@eqx.filter_jit
def _grad_norm_sq_at_nodes(problem, controls):
    # ‖∇L(x)‖² = ‖f(t, x, μ = 1)‖² at the N + 1 grid nodes, compiled once per problem structure and size.
    unit = jnp.ones(1)

    def grad_norm_sq(tk, x):
        return sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(problem.system.vector_field(tk, x, unit)))

    return jax.vmap(grad_norm_sq)(problem.grid(), problem.states(controls))


def convergence_order(steps: Sequence[float], errors: Sequence[float]) -> float:
    """Least-squares slope of log(error) against log(1/steps): the observed order p in error ∝ steps^{-p}."""
    x, y = np.log(np.asarray(steps, float)), np.log(np.asarray(errors, float))
    return float(-np.polyfit(x, y, 1)[0])
