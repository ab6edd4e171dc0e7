"""Linear teacher–student perceptron under gradient flow, with the effort-cost closed forms.

Njaradi, Carrasco-Davis, Latham & Saxe, "Optimal learning rate schedule for balancing effort and performance"
(arXiv 2601.07830).

Teacher y = w*·x, inputs x ~ N(0, σ²I), loss L = ½E(y − ŷ)² = (c/2)‖w − w*‖² with c = σ². Gradient flow with a
learning-rate control μ(t) ≥ 0, ẇ = −μ∇L, moves w − w* along a fixed direction, so the state is the distance
e = ‖w − w*‖ and ė = −cμe, e(0) = d ("task difficulty"). With μ constant on a cell of length h the flow is
exact: e ↦ e·exp(−cμh).
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Scalar

from .._errors import NoClosedForm, Overflow, Param
from ._base import AbstractContinuousSystem


class LinearPerceptron(AbstractContinuousSystem):
    """Gradient flow of the linear perceptron: state e = ‖w − w*‖, ė = −σ²μe, L = σ²e²/2.

    **Arguments:** `input_variance` σ² > 0 (c = σ²), `distance` d = ‖w₀ − w*‖ > 0.
    """

    name: ClassVar[str] = "perceptron"
    closed_form_label: ClassVar[str] = "continuous-time optimum"

    parameters: ClassVar = (
        Param("input_variance", "input variance σ² > 0 (c = σ²)", lo=0.0, lo_open=True),
        Param("distance", "initial distance d = ‖w₀ − w*‖ > 0 (task difficulty)", lo=0.0, lo_open=True))
    overflow: ClassVar = (Overflow(("input_variance", "distance"), "c²d² (the scale of the loss gradient)",
                                   lambda c, d: c**2 * d**2),)

    input_variance: Array
    distance: Array

    def __init__(self, input_variance=1.0, distance=1.0):
        p = self._checked(input_variance=input_variance, distance=distance)
        self.input_variance, self.distance = jnp.asarray(p["input_variance"]), jnp.asarray(p["distance"])

    def initial_state(self):
        return jnp.asarray(self.distance, dtype=float)

    def loss(self, state):
        return 0.5 * self.input_variance * state**2

    def vector_field(self, t, state, controls):
        return -self.input_variance * controls[0] * state

    def flow(self, state, controls, dt, discount):
        from .._integrate import exprel

        c, mu = self.input_variance, controls[0]
        # e² decays at rate 2cμ; the discounted loss integral is (c/2)e²·∫₀ʰ e^{-(2cμ+ρ)s} ds.
        rate = 2 * c * mu + discount
        integral = 0.5 * c * state**2 * dt * exprel(-rate * dt)
        return state * jnp.exp(-c * mu * dt), integral

    def parallel_flow(self, u, dts, discount):
        from .._integrate import exprel

        c, mu = self.input_variance, u[:, 0]
        # log e_k = log d − c Σ_{j<k} μ_j h_j: a prefix sum. jnp.cumsum (XLA's own cumulative reduction; its
        # transpose is one reversed cumsum) rather than lax.associative_scan, whose gradient is the slower one.
        decay = jnp.cumsum(c * mu * dts)
        e = self.distance * jnp.exp(-jnp.concatenate([jnp.zeros(1, decay.dtype), decay]))
        integrals = 0.5 * c * e[:-1] ** 2 * dts * exprel(-(2 * c * mu + discount) * dts)
        return e, integrals

    def params(self):
        return {"input_variance": float(self.input_variance), "distance": float(self.distance)}

    def state_domain(self):
        """e only falls under μ ≥ 0, from d towards 0."""
        return ((jnp.zeros_like(self.distance), self.distance),)

    # --- closed forms (effort objective) ---------------------------------------------------------------

    def steepness(self, effort_cost, horizon) -> Scalar:
        """K = c^{3/2}·T·d/√(2β): the single number that sets the shape of the open-loop optimum."""
        c = self.input_variance
        return c**1.5 * horizon * self.distance / jnp.sqrt(2 * effort_cost)

    def effort_optimum(self, effort_cost, horizon) -> dict[str, Scalar]:
        """Open-loop optimum of ∫₀ᵀ[L + βμ²]dt (Njaradi et al. 2026, [P] form, [D] details).

        μ*(t) = θ·tan(cθ(T − t)) with z = cθT the unique root in (0, π/2) of z·sec z = K, K the steepness.
        We solve the equivalent z = K·cos z (monotone, no pole) by Newton from a bracketing bisection.
        Also e(T) = d·cos z and the optimal cost J* = e(T)²·tan(z)/θ − T·c·e(T)²/2 (from H = L − βμ² = L(T)
        along the optimum and ∫₀ᵀ sec²(cθ(T−t))dt = tan z/(cθ)).
        """
        c, T = self.input_variance, jnp.asarray(horizon, dtype=float)
        z = _solve_z_eq_k_cos_z(self.steepness(effort_cost, T))
        theta = z / (c * T)
        e_final = self.distance * jnp.cos(z)
        cost = e_final**2 * jnp.tan(z) / theta - T * c * e_final**2 / 2
        return {"z": z, "theta": theta, "final_distance": e_final, "final_loss": self.loss(e_final),
                "cost": cost}

    def effort_rate(self, t, effort_cost, horizon) -> Array:
        """μ*(t) = θ·tan(cθ(T − t)), the open-loop optimal learning rate (undiscounted effort objective)."""
        opt = self.effort_optimum(effort_cost, horizon)
        return opt["theta"] * jnp.tan(opt["z"] * (1.0 - jnp.asarray(t) / horizon))

    def optimal_schedule(self, problem):
        """The closed-form optimal schedule on the problem's grid, sampled at cell midpoints.

        Raises `NoClosedForm` for objectives other than the undiscounted `Effort`. For ρ > 0 only numerical
        references exist (the README's discounted-perceptron finding; tests/test_perceptron.py checks them).
        """
        from .._schedule import Schedule

        beta = _undiscounted_effort_cost(problem)
        grid = problem.grid()
        mid = 0.5 * (grid[1:] + grid[:-1])
        return Schedule(self.effort_rate(mid, beta, problem.horizon), grid)

    def optimal_objective(self, problem) -> Scalar:
        """J* of the continuous problem (the limit of the discretised optimum as steps → ∞)."""
        return self.effort_optimum(_undiscounted_effort_cost(problem), problem.horizon)["cost"]

    def closed_loop_policy(self, problem, final_loss=None):
        """The feedback law μ(t, e) = √((L(e) − L(T))/β) as a policy that `lrc.simulate` can run.

        `final_loss` is the forecast of L(T); by default the closed-form optimum's own final loss (the
        oracle). For ρ > 0 this law is not optimal (Njaradi et al. 2026), so only ρ = 0 is accepted.
        """
        from .._policy import closed_loop_policy

        beta = _undiscounted_effort_cost(problem)
        if final_loss is None:
            final_loss = self.effort_optimum(beta, problem.horizon)["final_loss"]
        return closed_loop_policy(problem, final_loss)


    def optimal_feedback(self, problem):
        """The optimal feedback law μ*(t, e) of the undiscounted effort problem, as an `lrc.FeedbackPolicy`.

        By Bellman's principle the best control from state e at time t is the open-loop optimum of the
        remaining problem (distance e, horizon τ = T − t) at its start: μ*(t, e) = θ tan(cθτ), with z = cθτ the
        root of z = K cos z, K = c^{3/2}τe/√(2β). This is the policy HJB approximates on its grid. It differs
        from the closed-loop law √((L(e) − L(T))/β) off the optimal trajectory, where that law's fixed L(T)
        is the wrong forecast.
        """
        from .._policy import FeedbackPolicy

        beta = _undiscounted_effort_cost(problem)

        def fn(t, e, params):
            beta, horizon = params
            c = self.input_variance
            tau = jnp.maximum(horizon - t, 1e-300)
            z = _solve_z_eq_k_cos_z(c**1.5 * tau * e / jnp.sqrt(2 * beta))
            return ((z / (c * tau)) * jnp.tan(z))[None]

        return FeedbackPolicy(fn, (beta, problem.horizon))


def _undiscounted_effort_cost(problem):
    from ..objectives import Effort

    obj = problem.objective
    if not isinstance(obj, Effort):
        raise NoClosedForm(f"the perceptron has a closed form only for the effort objective, "
                           f"not '{obj.kind}'.")
    if float(obj.discount) != 0.0:
        raise NoClosedForm("the perceptron's effort optimum has no closed form for discount > 0; "
                           "compare numerical solvers instead.")
    return obj.effort_cost


@jax.jit  # compiled once per shape (eagerly, every call would compile its bisection loop again)
def _solve_z_eq_k_cos_z(k: Array) -> Array:
    """Root z ∈ [0, π/2) of z − K cos z = 0 (K ≥ 0): 40 bisections, then 4 Newton steps (f' = 1 + K sin z)."""
    k = jnp.asarray(k, dtype=float)

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        neg = mid - k * jnp.cos(mid) < 0
        return jnp.where(neg, mid, lo), jnp.where(neg, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 40, bisect, (jnp.zeros_like(k), jnp.full_like(k, jnp.pi / 2)))
    z = 0.5 * (lo + hi)
    for _ in range(4):
        z = z - (z - k * jnp.cos(z)) / (1 + k * jnp.sin(z))
    return z



