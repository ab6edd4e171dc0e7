"""Online SGD on power-law random features: the exact expected-loss recursion (Bordelon & Mori, arXiv 2602.04774).

Bordelon & Mori 2026, arXiv 2602.04774. In the features' eigenbasis the eigenvalues are λ_k = k^{−b} (b > 1) and
the target's initial per-mode error is c_{0,k} = (w*_k)² = k^{b−a}, so λ_k c_{0,k} = k^{−a} (a > 1); N modes are
kept. With Gaussian features, label noise of std σ and batch m, the expected per-mode error after an SGD step of
size η is exactly

    c_{t+1,k} = [1 − 2ηλ_k + (1 + 1/m)η²λ_k²] c_{t,k} + (η²/m) λ_k (L_t + σ²),      L_t = Σ_k λ_k c_{t,k}

([C] the authors' code, [D] rederived), L_t the expected excess test loss (the test loss is L_t + σ²).

Phases [P, C]: easy a > b, hard a < b.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._errors import Overflow, Param
from ._base import AbstractDiscreteSystem


def contraction(eta, lam, batch):
    """The per-mode factor d = 1 − 2ηλ + (1 + 1/m)η²λ² of the recursion (the bracket in the module docstring)."""
    return 1 - 2 * eta * lam + (1 + 1 / batch) * (eta * lam) ** 2


class RandomFeatures(AbstractDiscreteSystem):
    """Expected per-mode errors c_t of online SGD on power-law random features (Bordelon & Mori 2026).

    State: c, shape (modes,). Loss: the excess test loss L = Σ_k λ_k c_k. One control, the learning rate η.

    **Arguments:**

    - `a`: target exponent a > 1 (the paper's a; λ_k c_{0,k} = k^{−a}).
    - `b`: spectral exponent b > 1 (λ_k = k^{−b}).
    - `modes`: N ≥ 1 modes kept.
    - `noise`: label-noise std σ ≥ 0.
    - `batch`: batch size m ≥ 1 (a real number is allowed: the recursion only needs 1/m).
    - `normalise`: if True, c₀ is scaled so that L₀ = 1 (default False, the authors' convention).
    """

    name: ClassVar[str] = "random_features"

    parameters: ClassVar = (
        Param("a", "target exponent a > 1 (λ_k c_0,k = k^-a)", lo=1.0, lo_open=True),
        Param("b", "spectral exponent b > 1 (λ_k = k^-b)", lo=1.0, lo_open=True),
        Param("modes", "modes kept N >= 1", int),
        Param("noise", "label-noise std σ >= 0", lo=0.0),
        Param("batch", "batch size m >= 1 (a real number is allowed: the recursion only needs 1/m)", lo=1.0),
        Param("normalise", "scale the initial errors so that L_0 = 1", bool))
    overflow: ClassVar = (
        Overflow(("a", "b", "modes"), "N^(b−a) (the slowest mode's initial error k^(b−a))",
                 lambda a, b, n: n ** (b - a) if b > a else 1.0),
        Overflow(("noise",), "σ² (the label-noise variance)", lambda s: s**2))

    modes: int = eqx.field(static=True)
    normalise: bool = eqx.field(static=True)
    a: Array
    b: Array
    noise: Array
    batch: Array

    def __init__(self, a=2.0, b=2.0, modes: int = 500, noise=0.5, batch=1.0, normalise: bool = False):
        p = self._checked(a=a, b=b, modes=modes, noise=noise, batch=batch, normalise=normalise)
        self.modes, self.normalise = p["modes"], p["normalise"]
        self.a, self.b = jnp.asarray(a, dtype=float), jnp.asarray(b, dtype=float)
        self.noise, self.batch = jnp.asarray(noise, dtype=float), jnp.asarray(batch, dtype=float)

    def eigenvalues(self) -> Array:
        """λ_k = k^{−b}, k = 1…N."""
        return jnp.arange(1, self.modes + 1, dtype=self.b.dtype) ** -self.b

    def initial_state(self) -> Array:
        k = jnp.arange(1, self.modes + 1, dtype=self.b.dtype)
        c0 = k ** (self.b - self.a)
        if self.normalise:
            c0 = c0 / jnp.sum(self.eigenvalues() * c0)
        return c0

    def loss(self, state: Array):
        return jnp.sum(self.eigenvalues() * state)

    def step(self, state, controls, k):
        return self.sgd_step(state, controls[0], self.batch)

    def sgd_step(self, c: Array, eta, batch) -> Array:
        """c_{t+1} from c_t after one SGD step of rate η with batch m (the module docstring's recursion).

        The one implementation of the recursion: `step` calls it with the system's batch, `RandomFeaturesBatch`
        with the scheduled batch m_t.
        """
        lam = self.eigenvalues()
        return contraction(eta, lam, batch) * c + (eta**2 / batch) * lam * (self.loss(c) + self.noise**2)

    def params(self):
        return {"a": float(self.a), "b": float(self.b), "modes": self.modes, "noise": float(self.noise),
                "batch": float(self.batch), "normalise": self.normalise}

    def stationary_rates(self, rates: Array) -> Array:
        """The rates that the discrete stationarity condition of min L_T assigns to a per-step schedule.

        [D]: with the adjoint p_t = d_t ⊙ p_{t+1} + (η_t²/m)(λ·p_{t+1})λ, p_T = λ (d_t the bracket of
        the recursion), ∂L_T/∂η_t = 0 at an interior optimum reads

            η_t = Σλ_k p_{t+1,k} c_{t,k} / [(1 + 1/m)Σλ_k² p_{t+1,k} c_{t,k} + (L_t + σ²)P_{t+1}/m],  P = Σλ_k p_k.

        An optimum with no active bound is a fixed point of this map: an independent check of a numerical schedule
        (the solver itself only sees jax.grad of L_T).
        """
        pull, stiffness = self._adjoint_terms(rates)
        return pull / stiffness

    def rate_curvature(self, rates: Array) -> Array:
        """The diagonal of the Hessian of L_T in the per-step rates: ∂²L_T/∂η_t² = 2[(1 + 1/m)Σλ²pc + (L_t + σ²)P/m].

        Exact, not an approximation: η_t enters only c_{t+1}, and for fixed later rates L_T is affine in c_{t+1}
        (the recursion is linear in c), so the second derivative is the costate p_{t+1} against ∂²c_{t+1}/∂η_t².
        It spans decades along a schedule (the costate of the fast modes dies out far from T), which is what makes
        plain L-BFGS slow on long per-step schedules; used as a diagonal preconditioner, the first step is the
        stationarity map's fixed-point step. Also ∂L_T/∂η_t = −2·Σλpc + η_t·(this) (see `stationary_rates`).
        """
        return 2 * self._adjoint_terms(rates)[1]

    def final_loss_grad_curvature(self, controls):
        """`jax.value_and_grad` of `final_loss` and the exact Hessian diagonal `rate_curvature`: what
        `ControlProblem.value_grad_curvature` hands `Direct` (the diagonal is its L-BFGS preconditioner)."""
        value, grad, _ = super().final_loss_grad_curvature(controls)
        return value, grad, self.rate_curvature(jnp.reshape(controls, (-1,)))

    def _adjoint_terms(self, rates: Array) -> tuple[Array, Array]:
        # (Σλpc, (1+1/m)Σλ²pc + (L+σ²)P/m) per step, p the costate after the step: one forward and one backward scan.
        lam, m, s2 = self.eigenvalues(), self.batch, self.noise**2

        def forward(c, eta):
            return self.step(c, jnp.atleast_1d(eta), 0), c

        _, cs = jax.lax.scan(forward, self.initial_state(), rates)

        def backward(p, inputs):
            c, eta = inputs
            big_p = lam @ p
            pull = (lam * p) @ c
            stiffness = (1 + 1 / m) * (lam**2 * p) @ c + (lam @ c + s2) * big_p / m
            d = contraction(eta, lam, m)
            return d * p + eta**2 / m * big_p * lam, (pull, stiffness)

        _, terms = jax.lax.scan(backward, lam, (cs, rates), reverse=True)
        return terms

    # --- phases and exponents (Bordelon & Mori 2026, arXiv 2602.04774) ----------------------------------------

    def stability_edge(self) -> float:
        """The largest constant rate at which the expected loss stays bounded [D].

        The recursion is c' = Dc + (η²/m)λ(λ·c + σ²), D = diag(1 − 2ηλ + (1+1/m)η²λ²): diagonal plus rank one.
        Its spectral radius reaches 1 where (η/m) Σ_k λ_k / (2 − (1+1/m)ηλ_k) = 1 (the rank-one secular
        equation at eigenvalue 1), found by bisection below 2/((1+1/m)λ_1), the single fastest mode's limit.
        Checked against the recursion matrix's eigenvalues in tests/test_random_features.py.
        """
        lam = np.asarray(self.eigenvalues())
        m = float(self.batch)
        lo, hi = 0.0, 2.0 / ((1 + 1 / m) * lam[0])
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if (mid / m) * np.sum(lam / (2 - (1 + 1 / m) * mid * lam)) < 1 else (lo, mid)
        return lo

    def phase(self) -> str:
        """'easy' (a > b), 'hard' (a < b) or 'boundary' (a = b) [P, C]."""
        a, b = float(self.a), float(self.b)
        return "easy" if a > b else "hard" if a < b else "boundary"

    def exponents(self) -> dict[str, float]:
        """The predicted exponents of the optimal schedule and loss (Bordelon & Mori 2026, arXiv 2602.04774).

        Easy phase [P form, C + D exponents]: η*(t) ≃ C·T^{−ξ}(1 − t/T)^δ with ξ = 1 − b/a, δ = 2b − 1; against the
        remaining intrinsic time τ(t) = Σ_{s>t} η_s, η ∝ τ^κ with κ = 1 − 1/(2b); L*_T ~ T^{−(a−1)/a}.
        Hard phase [P, D]: L*_T ~ T^{−(a−1)/b}, annealed fraction ~ T^{−(b−a)/(2b−1)}.
        Best constant rate [P names, D exponents]: L ~ T^{−(a−1)/(a+b−1)}.
        """
        a, b = float(self.a), float(self.b)
        out = {"delta": 2 * b - 1, "kappa": 1 - 1 / (2 * b), "constant_loss": (a - 1) / (a + b - 1)}
        if a > b:
            out.update(xi=1 - b / a, optimal_loss=(a - 1) / a)
        else:
            out.update(optimal_loss=(a - 1) / b, annealed_fraction=(b - a) / (2 * b - 1))
        return out
