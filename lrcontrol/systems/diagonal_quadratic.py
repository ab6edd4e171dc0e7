"""Gradient descent on a diagonal quadratic: the smallest system with a closed-form optimal step.

f(x) = ½ Σ_i λ_i x_i², i = 1 … d, with eigenvalues λ_i spread geometrically from L down to μ
(λ_i = L·(μ/L)^{(i−1)/(d−1)}; λ = L for d = 1) and the start x_0 = (1, …, 1). Gradient descent with step η_k,

    x_{k+1,i} = (1 − η_k λ_i) x_{k,i},    so    L_T = f(x_T) = ½ Σ_i λ_i Π_k (1 − η_k λ_i)².

Closed forms [D], for the final-loss objective:

- T = 1: L_1(η) = ½ Σ λ_i (1 − ηλ_i)² is a convex parabola in η, stationary at

      η* = Σ λ_i² / Σ λ_i³,    L_1* = ½ Σ λ_i (1 − η*λ_i)² = ½ (Σ λ_i − (Σ λ_i²)² / Σ λ_i³),

  (positive, so inside the default bounds lr ≥ 0); declared by `optimal_schedule` / `optimal_objective`.
- T ≥ d (distinct eigenvalues): steps 1/λ_1, …, 1/λ_d (in any order, the other steps anything) zero every
  coordinate, so L_T* = 0; the optimum is not unique, so no schedule is declared for it (tests check it).

The system declares only what the base requires (`initial_state`, `step`, `loss`, its parameters); the final
loss, its gradient and the loss curve come from the base's unroll of `step`.
"""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .._errors import InputError, NoClosedForm, Param
from ._base import AbstractDiscreteSystem


class DiagonalQuadratic(AbstractDiscreteSystem):
    """Gradient descent on f(x) = ½Σλ_i x_i², eigenvalues geometric in [mu, L], x_0 = 1; final loss.

    **Arguments:** `dim` d ≥ 1 coordinates, `mu` the smallest eigenvalue > 0, `L` the largest (≥ mu).
    """

    name: ClassVar[str] = "diagonal_quadratic"
    closed_form_label: ClassVar[str] = "one-step optimum η* = Σλ²/Σλ³"
    parameters: ClassVar = (
        Param("dim", "coordinates d >= 1", int),
        Param("mu", "smallest eigenvalue μ > 0", lo=0.0, lo_open=True),
        Param("L", "largest eigenvalue L >= μ", lo=0.0, lo_open=True))

    dim: int = eqx.field(static=True)
    mu: Array
    L: Array

    def __init__(self, dim: int = 4, mu=0.1, L=1.0):
        p = self._checked(dim=dim, mu=mu, L=L)
        if float(p["L"]) < float(p["mu"]):
            raise InputError(f"L must be >= mu ({float(p['mu']):g}), got {float(p['L']):g}.")
        self.dim = p["dim"]
        self.mu, self.L = jnp.asarray(mu, dtype=float), jnp.asarray(L, dtype=float)

    def eigenvalues(self) -> Array:
        """λ_i = L·(μ/L)^{(i−1)/(d−1)}, i = 1 … d (L for d = 1)."""
        frac = jnp.arange(self.dim, dtype=self.L.dtype) / max(self.dim - 1, 1)
        return self.L * (self.mu / self.L) ** frac

    def initial_state(self) -> Array:
        return jnp.ones(self.dim, self.L.dtype)

    def step(self, state: Array, controls: Array, k: Array) -> Array:
        return (1 - controls[0] * self.eigenvalues()) * state

    def loss(self, state: Array):
        return 0.5 * jnp.sum(self.eigenvalues() * state**2)

    def params(self) -> dict:
        return {"dim": self.dim, "mu": float(self.mu), "L": float(self.L)}

    # --- the closed form (T = 1) ----------------------------------------------------------------------------

    def optimal_step(self) -> Array:
        """η* = Σλ²/Σλ³: the optimal single step (module docstring)."""
        lam = self.eigenvalues()
        return jnp.sum(lam**2) / jnp.sum(lam**3)

    def optimal_schedule(self, problem):
        from .._schedule import Schedule

        self._check_one_step(problem)
        return Schedule(jnp.reshape(self.optimal_step(), (1,)), problem.grid())

    def optimal_objective(self, problem) -> Array:
        self._check_one_step(problem)
        lam = self.eigenvalues()
        return 0.5 * (jnp.sum(lam) - jnp.sum(lam**2) ** 2 / jnp.sum(lam**3))

    def _check_one_step(self, problem) -> None:
        from ..objectives import FinalLoss

        if problem.steps != 1 or not isinstance(problem.objective, FinalLoss):
            raise NoClosedForm("the diagonal quadratic's closed-form optimum is for one step (horizon = 1) under "
                               "the final loss.")
        if not float(problem.lower[0]) <= float(self.optimal_step()) <= float(problem.upper[0]):
            raise NoClosedForm(f"the optimal step {float(self.optimal_step()):g} lies outside the bounds "
                               f"{problem.bounds['lr']}.")
