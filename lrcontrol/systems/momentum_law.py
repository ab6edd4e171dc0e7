"""The momentum law of Tissue, Wang & Wang, "Scaling Law with Learning Rate Annealing" (arXiv 2408.11029, eq. (1)
and the annealing-momentum definition of S2 that follows it); THEORY.md §6.

    L(s) = L0 + A·S1(s)^{−α} − C·S2(s),
    S1(s) = Σ_{τ=0..s} η_τ,   S2(s) = Σ_{k=0..s} m_k,   m_k = λ·m_{k−1} + (η_{k−1} − η_k)

— the "forward area" S1 (a power law in intrinsic time) minus a linear reward for the "annealing area" S2, a sum of
decrements η_{k−1} − η_k passed through an exponential moving sum with decay λ (`decay`; the paper fixes
λ = 0.999 [P]; here it is a parameter in (0, 1) and can be fitted).

**Conventions.** Ours are those of the shared pretraining curves (`data/README.md`): rates η_0 … η_{N−1}, the loss
after update s from the rates of updates 0 … s, S1(s) = Σ_{τ=0..s} η_τ with the warm-up included, and the first
decrement at k = 1 (η_{−1} := η_0, so m_0 = 0) — the same decrement range k = 1 … s as the multi-power law.
Warm-up increments enter S2 as negative decrements. The paper indexes steps from 1 (S1 = Σ_{i=1..s} η_i,
S2 = Σ_{i=1..s} m_i with an η_0 before the first step); whether its S1 counts the warm-up steps and what rate it
takes for η_0 is not verified here against the paper's text [?].

Since m_k = Σ_{j≤k} λ^{k−j} d_j (d_j = η_{j−1} − η_j), S2(s) = Σ_{k≤s} d_k (1 − λ^{s−k+1})/(1 − λ) [D]: a
decrement's weight grows from 1 to 1/(1 − λ) over ~1/(1 − λ) steps and is never forgotten. A warm-up from η_0 to
η_peak therefore adds −(η_peak − η_0)/(1 − λ) to S2 for good (after ~1/(1 − λ) steps), a constant that a fit
absorbs into L0 [D]. Conversely η_0 has no increment before it (η_{−1} := η_0), so raising η_0 and dropping at once
earns up to w_1 = (1 − λ^s)/(1 − λ) per unit of drop [D]: when optimising a schedule under this law, fix the
warm-up (the MPL paper reports that optimising under the momentum law collapses the schedule [P]).

- `predict`: m by a blocked linear recursion (`_momentum`), S1 and S2 by cumulative sums — O(N) for any
  number of logged steps.
- `final_loss_grad_curvature`: value, gradient and Hessian diagonal at the last step in one O(N) pass, by hand
  [D] (formulas in its docstring); S2 is linear in the rates, so the diagonal is the S1 term's alone and positive.
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, Scalar

from .._errors import Param
from ._law import AbstractLossCurveLaw


# Block length of `_momentum`: the products inside a block cost O(N·B); the recursion across blocks is N/B steps.
_BLOCK = 128


def _momentum(d: Float[Array, " N"], decay: Array) -> Array:
    """m_k = λ m_{k−1} + d_k (m_{−1} = 0) for all k, in blocks of B: within a block m is a product with the
    matrix of λ^(a−b) (a ≥ b), and across blocks m at each block's end carries over as m ← λ^B·m + (the block's own
    end). Every power used is λ^p with 0 ≤ p ≤ B, so nothing overflows for any λ in (0, 1), and the program stays
    small (an associative scan unrolls its log₂ N levels, and a fit's Jacobian doubles them: slow to compile)."""
    n = d.shape[0]
    b = min(_BLOCK, n)
    blocks = jnp.pad(d, (0, (-n) % b)).reshape(-1, b)
    k = jnp.arange(b)
    lag = k[:, None] - k[None, :]
    within = jnp.where(lag >= 0, decay ** jnp.maximum(lag, 0).astype(d.dtype), 0.0)  # [a, b] = λ^(a−b), a ≥ b
    own = blocks @ within.T  # each block's recursion from m = 0 at its start

    def carry(m, end):
        m = decay**b * m + end
        return m, m

    _, ends = jax.lax.scan(carry, jnp.zeros((), d.dtype), own[:, -1])
    before = jnp.concatenate([jnp.zeros((1,), d.dtype), ends[:-1]])  # m just before each block
    return (own + before[:, None] * decay ** (k + 1).astype(d.dtype)).reshape(-1)[:n]


class MomentumLaw(AbstractLossCurveLaw):
    """The momentum law (arXiv 2408.11029): parameters `L0, A, alpha, C, decay` (λ, the annealing momentum's decay
    factor per step).

    Valid ranges (what a fit keeps them in): L0, A, alpha, C > 0; decay ∈ (0, 1).
    """

    name: ClassVar[str] = "momentum_law"
    parameters: ClassVar = (
        Param("L0", "irreducible loss L0 > 0", lo=0.0, lo_open=True),
        Param("A", "power-law amplitude A > 0", lo=0.0, lo_open=True),
        Param("alpha", "power-law exponent α > 0 (A·S1^−α)", lo=0.0, lo_open=True),
        Param("C", "coefficient C > 0 of the annealing area (−C·S2)", lo=0.0, lo_open=True),
        Param("decay", "decay λ in (0, 1) of the annealing momentum m_k", lo=0.0, lo_open=True, hi=1.0, hi_open=True),)

    L0: Array
    A: Array
    alpha: Array
    C: Array
    decay: Array

    def __init__(self, L0=3.0, A=0.5, alpha=0.5, C=0.5, decay=0.999):
        # Defaults: plausible values for the 25M curves (not a fit), only so that the CLI and docs have a law.
        self._store(L0=L0, A=A, alpha=alpha, C=C, decay=decay)

    # --- the loss curve ------------------------------------------------------------------------------------

    def areas(self, lr: Float[Array, " N"]) -> tuple[Array, Array]:
        """(S1(s), S2(s)) for every s = 0 … N−1."""
        lr = jnp.asarray(lr)
        d = jnp.concatenate([jnp.zeros((1,), lr.dtype), lr[:-1] - lr[1:]])  # d_0 = 0: η_{−1} := η_0
        return jnp.cumsum(lr), jnp.cumsum(_momentum(d, self.decay))

    def predict(self, lr: Float[Array, " N"], steps: Int[Array, " M"]) -> Float[Array, " M"]:
        s1, s2 = self.areas(lr)
        steps = jnp.asarray(steps)
        return self.L0 + self.A * s1[steps] ** (-self.alpha) - self.C * s2[steps]

    # --- the O(N) final loss, its gradient and Hessian diagonal --------------------------------------------

    def final_loss_grad_curvature(self, rates: Array) -> tuple[Scalar, Array, Array]:
        """(L, ∂L/∂η_j, ∂²L/∂η_j²) at the last step T = N − 1, in one O(N) pass [D]. With d_k = η_{k−1} − η_k,

            S2(T) = Σ_{k=1..T} d_k w_k,  w_k = (1 − λ^{T−k+1})/(1 − λ),
            ∂S2/∂η_0 = w_1 = (1 − λ^T)/(1 − λ),   ∂S2/∂η_j = w_{j+1} − w_j = −λ^{T−j}  (1 ≤ j ≤ T, w_{T+1} = 0),

        so ∂L/∂η_j = −αA S1^{−α−1} − C ∂S2/∂η_j and, S2 being linear, ∂²L/∂η_j² = α(α+1)A S1^{−α−2} for all j.
        (For N = 1 there are no decrements: S2 = 0.)"""
        eta = jnp.reshape(rates, (-1,))
        n = eta.shape[0]
        lam, a_ = self.decay, self.alpha
        total = jnp.sum(eta)
        age = jnp.arange(n - 1, -1, -1, dtype=eta.dtype)  # T − j
        powers = jnp.exp(age * jnp.log(lam))  # λ^{T−j}
        weights = (1 - lam * powers[1:]) / (1 - lam)  # w_k for k = 1 … T (λ^{T−k+1} = λ·λ^{T−k})
        s2 = jnp.sum((eta[:-1] - eta[1:]) * weights)
        ds2 = jnp.concatenate([(1 - powers[:1]) / (1 - lam), -powers[1:]]) if n > 1 else jnp.zeros_like(eta)
        value = self.L0 + self.A * total ** (-a_) - self.C * s2
        grad = -a_ * self.A * total ** (-a_ - 1) - self.C * ds2
        curv = jnp.full_like(eta, self._s1_curvature(total))
        return value, grad, curv

    def s1_curvature(self, rates: Array) -> Array:
        """c = α(α+1)A·S1^{−α−2}: the final loss's whole Hessian in the rates is c·11ᵀ (S2 is linear), which a
        preconditioner uses (`LawSchedule`)."""
        return self._s1_curvature(jnp.sum(jnp.reshape(rates, (-1,))))

    def _s1_curvature(self, total):
        return self.alpha * (self.alpha + 1) * self.A * total ** (-self.alpha - 2)

    def rate_curvature(self, rates: Array) -> Array:
        """The exact diagonal of the final loss's Hessian in the per-step rates (`final_loss_grad_curvature`)."""
        return self.final_loss_grad_curvature(rates)[2]
