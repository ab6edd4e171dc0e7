"""The practical form of the functional scaling law that Li et al. fit to LLM pre-training curves ("Functional
Scaling Laws in Kernel Regression: Loss Dynamics and Learning Rate Schedules", arXiv 2509.19189, appendix B);
THEORY.md §6.

    L(k) = L0 + c1·T(k)^{−s} − c2 Σ_{i=1..k} (η_{i−1} − η_i)·(c3 + T(i)^{−s})·[1 − (1 + c4·(T(k) − T(i)))^{−γ}],
    T(k) = Σ_{τ=0..k} η_τ   (intrinsic time)

Conventions: those of the shared pretraining curves (`data/README.md`): rates η_0 … η_{N−1}, the loss after update
k from the rates of updates 0 … k, T(k) = S1(k) with the warm-up included, decrements i = 1 … k (no decrement
before the first update). Written 1-based as in the paper (updates 1 … k, T(i) = Σ_{j=1..i} η_j), this is the
same formula with every index shifted by one; which of T(i) or T(i−1) the paper's appendix pairs with the
decrement η_{i−1} − η_i was not verified here against its text [?] — the continuous-time derivation below does
not distinguish them. With T(i) (inclusive of η_i), a decrement at the last update k has no effect yet at k.

**Relation to the SGD-derived `FSL` system (`lrc.systems.FSL`, fsl.py) [D].** That system's functional is
E = e(T) + Σ_k η_k² g_k K(R_k), e(t) = (1 + t)^{−s}, K(u) = (1 + u)^{−α}, α = 2 − 1/β, g = σ² (additive) or
σ² + e(t) (multiplicative). In intrinsic time the noise term is ≈ ∫₀^T η(t) g(t) K(T − t) dt. Writing the rate as
its initial value minus its decrements, η(t) = η_0 − Σ_i Δ_i·1[t ≥ t_i], and freezing g at each decrement's time,

    ∫ η g K ≈ η_0 ∫₀^T g(t) K(T − t) dt − Σ_i Δ_i g(t_i) [1 − (1 + T − t_i)^{−(α−1)}]/(α − 1).

Term by term: c1·T^{−s} ↔ e(T) (the shift 1 + T dropped, a scale c1); the decrement sum ↔ the second term, with
γ ↔ α − 1 = 1 − 1/β ∈ (0, 1), (c3 + T(i)^{−s}) ↔ g(t_i) = σ² + e(t_i) (the multiplicative variant; c3 = σ² in units
of the e-scale; the additive variant would drop T(i)^{−s}), c4 ↔ the unit of intrinsic time, c2 ↔ the overall noise
scale. Dropped: the first term (the noise level of the initial rate: its σ² part tends to η_0σ²/(α − 1), a constant
that L0 absorbs with fsl.py's omitted floor and σ²/2; its e(t) part decays with T), the discreteness (η_k² against
η dt), and g's change after each decrement. The law allows any γ > 0; the FSL derivation gives γ < 1.

Because T(i)^{−s} is large at small T, decrements early in training weigh heavily [D]: the warm-up's increments
(negative decrements) add a positive constant to every later loss (absorbed by L0 in a fit), and an unconstrained
schedule optimiser can exploit a drop right after the first updates — constrain the schedule (e.g. a fixed
warm-up, then non-increasing rates) when optimising under this law.

- `predict` at M steps: the decrement sum's part Σ_i d_i f_i is a cumulative sum; the kernel part
  Σ_i d_i f_i (1 + c4(T(k) − T(i)))^{−γ} is summed over the decrements in chunks (decrements that are zero are
  dropped when the rates are concrete, i.e. not traced: constant stages cost nothing), each chunk under
  `jax.checkpoint`; memory O(M·chunk), chunk = 2²²/M clipped to [64, 2048] decrements; work O(M·K), K the number
  of non-zero decrements. A power kernel has no exact O(N) recursion.
- `final_loss_grad_curvature`: value, gradient and Hessian diagonal at the last step in one O(N) pass, by hand
  [D] (formulas in its docstring).
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, Scalar

from .._errors import Param
from ._law import AbstractLossCurveLaw

_CHUNK = 2048  # decrements per chunk in `predict` (fewer where many steps are asked for)
_ELEMENTS = 2**22  # steps × decrements per chunk, at most (with at least 64 decrements)


def _suffix(a: Array) -> Array:
    # Σ_{i>=j} a_i, summed from the end
    return jnp.cumsum(a[::-1])[::-1]


class FSLLaw(AbstractLossCurveLaw):
    """The FSL practical form (arXiv 2509.19189, app. B): parameters `L0, c1, s, c2, c3, c4, gamma`.

    Valid ranges (what a fit keeps them in): L0, c1, s, c2, c4, gamma > 0; c3 >= 0 is allowed only as > 0
    (open intervals). Rates must keep T(i) > 0 wherever a decrement is non-zero (true for any non-negative schedule
    with a positive rate before the first decrease).
    """

    name: ClassVar[str] = "fsl_law"
    parameters: ClassVar = (
        Param("L0", "irreducible loss L0 > 0", lo=0.0, lo_open=True),
        Param("c1", "amplitude c1 > 0 of the T^−s term", lo=0.0, lo_open=True),
        Param("s", "exponent s > 0 of intrinsic time T", lo=0.0, lo_open=True),
        Param("c2", "scale c2 > 0 of the decrement sum", lo=0.0, lo_open=True),
        Param("c3", "floor c3 > 0 of each decrement's weight (c3 + T(i)^−s)", lo=0.0, lo_open=True),
        Param("c4", "intrinsic-time unit c4 > 0 of the kernel", lo=0.0, lo_open=True),
        Param("gamma", "kernel exponent γ > 0 (1 − (1 + c4·ΔT)^−γ)", lo=0.0, lo_open=True),)

    L0: Array
    c1: Array
    s: Array
    c2: Array
    c3: Array
    c4: Array
    gamma: Array

    def __init__(self, L0=3.0, c1=0.5, s=0.5, c2=300.0, c3=0.5, c4=2.0, gamma=0.5):
        # Defaults: plausible values for the 25M curves (not a fit), only so that the CLI and docs have a law.
        self._store(L0=L0, c1=c1, s=s, c2=c2, c3=c3, c4=c4, gamma=gamma)

    def _forcing(self, t: Array) -> Array:
        # f = c3 + t^{−s}; t = 0 (only where no decrement can be non-zero) is kept finite
        safe = jnp.where(t > 0, t, 1.0)
        return self.c3 + safe ** (-self.s)

    # --- the loss curve ------------------------------------------------------------------------------------

    def predict(self, lr: Float[Array, " N"], steps: Int[Array, " M"]) -> Float[Array, " M"]:
        ks = np.arange(1, np.shape(lr)[0])
        if not isinstance(lr, jax.core.Tracer):  # concrete rates: keep only the decrements that are not zero
            host = np.asarray(lr)
            ks = ks[host[:-1] != host[1:]]
        lr = jnp.asarray(lr)
        steps = jnp.asarray(steps)
        prefix = jnp.cumsum(lr)  # T(k)
        d_all = jnp.concatenate([jnp.zeros((1,), lr.dtype), lr[:-1] - lr[1:]])  # d_0 = 0
        weight_all = d_all * self._forcing(prefix)  # d_i f_i
        plain = jnp.cumsum(weight_all)[steps]  # Σ_{i≤k} d_i f_i
        chunk = max(64, min(_CHUNK, _ELEMENTS // max(1, int(np.shape(steps)[0]))))
        pad = (-len(ks)) % chunk if len(ks) > chunk else 0
        i = jnp.asarray(np.concatenate([ks, np.full(pad, -1)]), dtype=int)  # −1: padding, masked out
        valid = i > 0
        ii = jnp.where(valid, i, 1)
        w = jnp.where(valid, weight_all[ii], 0.0)
        t_i = prefix[ii]
        at = prefix[steps]

        @jax.checkpoint
        def chunk_sum(args):
            ic, wc, tc = args
            use = (ic[None, :] <= steps[:, None]) & (ic[None, :] > 0)
            u = jnp.where(use, at[:, None] - tc[None, :], 0.0)
            return jnp.sum(jnp.where(use, wc[None, :] * (1 + self.c4 * u) ** (-self.gamma), 0.0), axis=1)

        if i.shape[0] <= chunk:
            kernel = chunk_sum((ii * valid, w, t_i))
        else:
            parts = tuple(a.reshape(-1, chunk) for a in (ii * valid, w, t_i))
            kernel = jnp.sum(jax.lax.map(chunk_sum, parts), axis=0)
        return self.L0 + self.c1 * at ** (-self.s) - self.c2 * (plain - kernel)

    # --- the O(N) final loss, its gradient and Hessian diagonal --------------------------------------------

    def final_loss_grad_curvature(self, rates: Array) -> tuple[Scalar, Array, Array]:
        """(L, ∂L/∂η_j, ∂²L/∂η_j²) at the last step K = N − 1, in one O(N) pass [D]. Per decrement i = 1 … K:
        d_i = η_{i−1} − η_i, T_i = T(i), u_i = T − T_i (T = T(K)), f = c3 + T_i^{−s} (f′, f″ its T_i-derivatives),
        p = (1 + c4u)^{−γ}, G = 1 − p, h = γc4(1 + c4u)^{−γ−1} (= ∂G/∂T = −∂G/∂T_i), q = γ(γ+1)c4²(1 + c4u)^{−γ−2}.
        With F = Σ_i d_i f_i G_i (L = L0 + c1 T^{−s} − c2 F), ∂d_i/∂η_j = [j = i−1] − [j = i], ∂T_i/∂η_j = [j ≤ i],
        ∂T/∂η_j = 1:

            ∂F/∂η_j   = (fG)_{j+1} − (fG)_j + Σ_{i≥j} d_i (f′G − f h)_i + Σ_i d_i f_i h_i
            ∂²F/∂η_j² = 2(f′G)_{j+1} − 2(f′G)_j + Σ_{i≥j} d_i (f″G + f q)_i − Σ_i d_i f_i q_i

        (terms with an index outside 1 … K are absent), and c1 T^{−s} gives −s c1 T^{−s−1} and s(s+1) c1 T^{−s−2}.
        The diagonal is not always positive; `Direct`'s guard replaces non-positive entries."""
        eta = jnp.reshape(rates, (-1,))
        s_, g_, c4 = self.s, self.gamma, self.c4
        prefix = jnp.cumsum(eta)
        total = prefix[-1]
        ti = prefix[1:]
        u = _suffix(eta)[1:] - eta[1:]  # T − T_i = Σ_{τ>i} η_τ, summed from the end
        d = eta[:-1] - eta[1:]
        safe = jnp.where(ti > 0, ti, 1.0)
        f = self.c3 + safe ** (-s_)
        f1 = -s_ * safe ** (-s_ - 1)
        f2 = s_ * (s_ + 1) * safe ** (-s_ - 2)
        base = 1 + c4 * u
        p = base ** (-g_)
        big_g = 1 - p
        h = g_ * c4 * p / base
        q = g_ * (g_ + 1) * c4 * c4 * p / (base * base)
        value = self.L0 + self.c1 * total ** (-s_) - self.c2 * jnp.sum(d * f * big_g)
        zero = jnp.zeros((1,), eta.dtype)
        fg = jnp.concatenate([zero, f * big_g, zero])  # (fG)_i for i = 0 … N (0 outside 1 … K)
        f1g = jnp.concatenate([zero, f1 * big_g, zero])
        tail1 = jnp.concatenate([zero, _suffix(d * (f1 * big_g - f * h))])  # Σ_{i≥j}, j = 0 … K (j = 0 as j = 1)
        tail1 = tail1.at[0].set(tail1[1])
        tail2 = jnp.concatenate([zero, _suffix(d * (f2 * big_g + f * q))])
        tail2 = tail2.at[0].set(tail2[1])
        grad_f = fg[1:] - fg[:-1] + tail1 + jnp.sum(d * f * h)
        curv_f = 2 * (f1g[1:] - f1g[:-1]) + tail2 - jnp.sum(d * f * q)
        grad = -s_ * self.c1 * total ** (-s_ - 1) - self.c2 * grad_f
        curv = s_ * (s_ + 1) * self.c1 * total ** (-s_ - 2) - self.c2 * curv_f
        return value, grad, curv

    def rate_curvature(self, rates: Array) -> Array:
        """The exact diagonal of the final loss's Hessian in the per-step rates (`final_loss_grad_curvature`)."""
        return self.final_loss_grad_curvature(rates)[2]
