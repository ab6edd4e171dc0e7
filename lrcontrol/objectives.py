"""Objectives: running and terminal costs, all to be minimised.

Every objective here has the form

    J[u] = ∫₀ᵀ e^{-ρt} [ w·L(x(t)) + C(u(t)) ] dt + Φ(L(x(T)))

with ρ the discount rate, w the loss weight, C a control cost and Φ a terminal cost. Systems without an exact
flow integrate the running cost along with the state; systems with one supply ∫e^{-ρt}L dt per cell exactly.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Scalar

from ._errors import Param, check_parameters, with_defaults


class AbstractObjective(eqx.Module):
    """Running cost e^{-ρt}[w·L + C(u)] plus terminal cost Φ(L(T))."""

    kind: ClassVar[str]
    loss_weight: ClassVar[float]
    maximised_by_paper: ClassVar[bool] = False

    @property
    @abc.abstractmethod
    def discount_rate(self) -> Scalar:
        """ρ ≥ 0."""

    @abc.abstractmethod
    def control_cost(self, u: Float[Array, " m"]) -> Scalar:
        """C(u) per unit time (per step for discrete systems)."""

    @abc.abstractmethod
    def terminal_cost(self, final_loss: Scalar) -> Scalar:
        """Φ(L(x(T)))."""

    def running_cost(self, t: Scalar, loss: Scalar, u: Float[Array, " m"]) -> Scalar:
        """e^{-ρt}[w·L + C(u)], for solvers that need the integrand itself."""
        return jnp.exp(-self.discount_rate * t) * (self.loss_weight * loss + self.control_cost(u))

    def params(self) -> dict[str, float]:
        return {}

    parameters: ClassVar[tuple[Param, ...]] = ()  # one `Param` per constructor argument (range and doc)

    @classmethod
    def parameter_specs(cls) -> tuple[Param, ...]:
        """`parameters` with their defaults (read from the constructor's signature)."""
        return with_defaults(cls, cls.parameters)


class FinalLoss(AbstractObjective):
    """Minimise the loss at the end of training, L(x(T)). No running cost."""

    kind: ClassVar[str] = "final_loss"
    loss_weight: ClassVar[float] = 0.0

    @property
    def discount_rate(self):
        return jnp.asarray(0.0)

    def control_cost(self, u):
        return jnp.zeros((), u.dtype)

    def terminal_cost(self, final_loss):
        return final_loss


class Effort(AbstractObjective):
    """Effort–performance trade-off of Njaradi et al. (2026, arXiv 2601.07830).

    The paper maximises the cumulative internal reward ∫₀ᵀ e^{-ρt}[P(w) − β μ²] dt with P = −L and effort
    cost β (the paper's β; here `effort_cost`). lrcontrol minimises the cost

        J = ∫₀ᵀ e^{-ρt}[L(x) + β μ²] dt,

    so reward = −J. μ is the first control (the learning rate); other controls carry no effort cost.
    """

    kind: ClassVar[str] = "effort"
    loss_weight: ClassVar[float] = 1.0
    maximised_by_paper: ClassVar[bool] = True

    parameters: ClassVar = (Param("effort_cost", "effort cost β > 0 in ∫[L + βμ²]dt", lo=0.0, lo_open=True),
                            Param("discount", "discount rate ρ >= 0", lo=0.0))

    effort_cost: Array
    discount: Array

    def __init__(self, effort_cost, discount=0.0):
        check_parameters(self.parameters, {"effort_cost": effort_cost, "discount": discount})
        self.effort_cost, self.discount = jnp.asarray(effort_cost), jnp.asarray(discount)

    @property
    def discount_rate(self):
        return self.discount

    def control_cost(self, u):
        return self.effort_cost * u[0] ** 2

    def terminal_cost(self, final_loss):
        return jnp.zeros_like(final_loss)

    def params(self):
        return {"effort_cost": float(self.effort_cost), "discount": float(self.discount)}


def closed_loop_rate(loss: Array, final_loss: Array, effort_cost: Array) -> Array:
    """The closed-loop law μ*(t) = √((P(T) − P(t))/β) = √((L(t) − L(T))/β), for ρ = 0 and any smooth loss.

    Derived from the conserved Hamiltonian (Njaradi et al. 2026, [P, D]); a necessary condition, so it holds along
    every stationary schedule of the undiscounted effort problem. Negative gaps (round-off near T) give 0.
    """
    return jnp.sqrt(jnp.maximum(loss - final_loss, 0.0) / effort_cost)
