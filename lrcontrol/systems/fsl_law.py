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
The pairing matters to a schedule optimiser [D]: T(i) = T(i−1) + η_{i−1} − d_i moves with the decrement d_i itself,
so its own term −c2·d_i·w(T(i)) has curvature 2c2·w′ − c2·d_i·w″ ≈ 2c2·w′(T(i)) < 0 in d_i (w, the weight, falls as T(i)
grows), and the final loss is non-convex at the scale of single updates: piling neighbouring decrements together
pays a little (`problems/fsl_law_microstructure.py`). Paired with T(i−1) the term has no such self-interaction
(but for the warm-up's first rise from zero, which falls back to T(i)): that is `FSLLawBefore` (`fsl_law_before`),
below.

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

- `predict` at M steps: the decrements that are not zero (all of them when the rates are traced), in chunks of at
  most 8192 (fewer where many steps are asked for: at most 2²² step × decrement pairs per chunk), each summed over
  the steps it reaches; memory O(M·chunk), work O(M·K), K the number of non-zero decrements — constant stages cost
  nothing. A power kernel has no exact O(N) recursion. `predict_jacobian` gives the seven parameter derivatives
  from the same pass (three sums more), for `lrc.fit`.
- `final_loss_grad_curvature`: value, gradient and Hessian diagonal at the last step in one O(N) pass, by hand
  [D] (formulas in its docstring).
"""

from typing import ClassVar

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, Scalar

from .._errors import Param
from ._law import AbstractLossCurveLaw, decrement_chunks, planned_sums

_CHUNK = 8192  # decrements per chunk in `predict` (fewer where many steps are asked for): few chunks, a fit's
# program is small to compile (each chunk is written out, from its own first step)
_ELEMENTS = 2**22  # steps × decrements per chunk, at most (with at least 64 decrements)
_UNROLLED = 16  # at most this many chunks are written out one by one (each from its first step); more: lax.map


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
    schedule_newton: ClassVar[bool] = True
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

    # --- the loss curve ------------------------------------------------------------------------------------

    @staticmethod
    def _chunk_size(n_steps: int) -> int:
        return max(64, min(_CHUNK, _ELEMENTS // max(1, n_steps)))

    @classmethod
    def _pairs_own_rate(cls, prefix, i):
        """Whether the time paired with the decrement at update i includes η_i, i.e. is T(i) rather than T(i − 1)
        (`prefix` = T(0) … T(N−1), numpy or JAX): always, for this law; the one place a pairing is defined."""
        return (np if isinstance(prefix, np.ndarray) else jnp).ones(np.shape(i), bool)

    @classmethod
    def paired_time(cls, prefix, i):
        """The intrinsic time paired with the decrement at update i: T(i − 1 + e_i), e_i = `_pairs_own_rate`."""
        xp = np if isinstance(prefix, np.ndarray) else jnp  # numpy in `plan`, JAX under a trace
        return prefix[xp.maximum(i - 1 + cls._pairs_own_rate(prefix, i), 0)]

    @classmethod
    def plan(cls, lr, steps):
        """The schedule-only part of `predict` for concrete rates and steps (numpy, computed once): the non-zero
        decrements in chunks, each with its paired time T, log T and the first sorted step it reaches
        (`decrement_chunks`). Returns (arrays, static) for `predict_planned`; `lrc.fit` plans each curve once."""
        n_steps = int(np.size(steps))
        sorted_steps, inverse, prefix, pairs, firsts = decrement_chunks(lr, steps, cls._chunk_size(n_steps))
        chunks = []
        for kk, d in pairs:
            t = cls.paired_time(prefix, kk)
            chunks.append({"k": kk, "d": d, "t": t, "log_t": np.log(np.where(t > 0, t, 1.0))})
        if len(chunks) > _UNROLLED:  # many chunks: one lax.map over all of them, each over every step
            chunks = {n: np.stack([c[n] for c in chunks]) for n in chunks[0]}
            firsts = None
        arrays = {"steps": sorted_steps, "at": prefix[sorted_steps], "inverse": inverse, "chunks": chunks}
        return arrays, firsts

    @classmethod
    def _traced_plan(cls, lr, steps):
        # rates under a trace: every decrement (none can be dropped), in equal chunks mapped over every step
        n = lr.shape[0] - 1
        size = cls._chunk_size(steps.shape[0])
        width = -(-max(n, 1) // size) * size
        k = jnp.arange(1, width + 1)
        inside = k <= n
        kk = jnp.where(inside, k, max(n, 1))
        prefix = jnp.cumsum(lr)
        d = jnp.where(inside, lr[kk - 1] - lr[kk], 0.0) if n > 0 else jnp.zeros(width, lr.dtype)
        t = cls.paired_time(prefix, jnp.minimum(kk, n))
        log_t = jnp.log(jnp.where(t > 0, t, 1.0))
        chunks = {n_: a.reshape(-1, size) for n_, a in (("k", kk), ("d", d), ("t", t), ("log_t", log_t))}
        return {"steps": steps, "at": prefix[steps], "inverse": None, "chunks": chunks}, None

    def _chunk_sums(self, chunk, steps, at, jac: bool):
        """Per step: Σ d(1 − p), Σ d T^{−s}(1 − p) and, for the Jacobian, Σ d T^{−s} log T (1 − p),
        Σ d f u p/(1 + c4u), Σ d f log(1 + c4u) p over one chunk of decrements i ≤ step, with
        u = T(step) − T(i), p = (1 + c4u)^{−γ}, f = c3 + T(i)^{−s}. Pairs with i > step have u = 0: every sum's
        term is zero there, so no mask is needed beyond u (padding has d = 0)."""
        k, d, t, log_t = chunk["k"], chunk["d"], chunk["t"], chunk["log_t"]
        u = jnp.where(k[None, :] <= steps[:, None], at[:, None] - t[None, :], 0.0)
        lg = jnp.log1p(self.c4 * u)
        drop = -jnp.expm1(-self.gamma * lg)  # 1 − p, accurate where p is near 1
        ts = jnp.exp(-self.s * log_t)  # T(i)^{−s}
        coeffs = [d, d * ts]
        if not jac:
            return (drop @ jnp.stack(coeffs, axis=1)).T
        coeffs.append(d * ts * log_t)
        p = 1 - drop
        df = d * (self.c3 + ts)
        return jnp.concatenate([(drop @ jnp.stack(coeffs, axis=1)).T,
                                ((u * p / (1 + self.c4 * u)) @ df)[None], ((lg * p) @ df)[None]])

    def predict_planned(self, arrays, static, jac: bool = False):
        """`predict` (and with `jac`, `predict_jacobian`) from a `plan` of the rates and steps."""
        at, sums = planned_sums(lambda c, st, a: self._chunk_sums(c, st, a, jac), arrays, static, 5 if jac else 2)
        pw = at ** (-self.s)
        drop = self.c3 * sums[0] + sums[1]  # Σ_i d_i f_i [1 − (1 + c4(T(k) − T(i)))^{−γ}]
        pred = self.L0 + self.c1 * pw - self.c2 * drop
        if not jac:
            return pred
        one = jnp.ones_like(pred)
        return pred, jnp.stack([one, pw, -self.c1 * pw * jnp.log(at) + self.c2 * sums[2], -drop,
                                -self.c2 * sums[0], -self.c2 * self.gamma * sums[3], -self.c2 * sums[4]], axis=1)

    def predict(self, lr: Float[Array, " N"], steps: Int[Array, " M"]) -> Float[Array, " M"]:
        return self._evaluate_planned(lr, steps, False)

    def predict_jacobian(self, lr: Float[Array, " N"], steps: Int[Array, " M"]):
        """(`predict`, ∂predict/∂θ of shape (M, 7) in `param_names` order) in one pass over the decrements [D]:
        with D = Σ_i d_i f_i (1 − p_i), p = (1 + c4u)^{−γ}, u = T(k) − T(i), f = c3 + T(i)^{−s}:
        ∂/∂L0 = 1, ∂/∂c1 = T^{−s}, ∂/∂s = −c1 T^{−s} log T + c2 Σ d T(i)^{−s} log T(i) (1 − p), ∂/∂c2 = −D,
        ∂/∂c3 = −c2 Σ d (1 − p), ∂/∂c4 = −c2 γ Σ d f u p/(1 + c4u), ∂/∂γ = −c2 Σ d f log(1 + c4u) p.
        `lrc.fit` uses it for Gauss–Newton steps (checked against jax.jacfwd of `predict` in tests)."""
        return self._evaluate_planned(lr, steps, True)

    # --- the O(N) final loss, its gradient and Hessian diagonal --------------------------------------------

    def final_loss_grad_curvature(self, rates: Array) -> tuple[Scalar, Array, Array]:
        """(L, ∂L/∂η_j, ∂²L/∂η_j²) at the last step K = N − 1, in one O(N) pass [D]. Per decrement i = 1 … K:
        d_i = η_{i−1} − η_i, T_i its paired time (`paired_time`), e_i = 1 where T_i includes η_i (here always; in
        `FSLLawBefore` only where it falls back to T(i)), u_i = T − T_i (T = T(K)), f = c3 + T_i^{−s} (f′, f″ its
        T_i-derivatives), p = (1 + c4u)^{−γ}, G = 1 − p, h = γc4(1 + c4u)^{−γ−1} (= ∂G/∂T = −∂G/∂T_i),
        q = γ(γ+1)c4²(1 + c4u)^{−γ−2}. With F = Σ_i d_i f_i G_i (L = L0 + c1 T^{−s} − c2 F), ∂d_i/∂η_j = [j = i−1]
        − [j = i], ∂T_i/∂η_j = [j ≤ i − 1 + e_i], ∂T/∂η_j = 1:

            ∂F/∂η_j   = (fG)_{j+1} − (fG)_j + Σ_{i>j} d_i (f′G − f h)_i + e_j d_j (f′G − f h)_j + Σ_i d_i f_i h_i
            ∂²F/∂η_j² = 2(f′G)_{j+1} − 2[e f′G + (1 − e) f h]_j + Σ_{i>j} d_i (f″G + f q)_i
                        + e_j d_j (f″G + f q)_j − Σ_i d_i f_i q_i

        (terms with an index outside 1 … K are absent), and c1 T^{−s} gives −s c1 T^{−s−1} and s(s+1) c1 T^{−s−2}.
        The diagonal is not always positive; `Direct`'s guard replaces non-positive entries."""
        eta = jnp.reshape(rates, (-1,))
        s_, g_, c4 = self.s, self.gamma, self.c4
        prefix = jnp.cumsum(eta)
        total = prefix[-1]
        i = jnp.arange(1, eta.size)
        ti = self.paired_time(prefix, i)
        own = self._pairs_own_rate(prefix, i).astype(eta.dtype)  # e_i
        u = _suffix(eta)[1:] - own * eta[1:]  # T − T_i = Σ_{τ≥i+e_i} η_τ, summed from the end
        d = eta[:-1] - eta[1:]
        positive = ti > 0  # T_i = 0 only after zero rates alone (d_i = 0): no T-derivatives there, as autodiff has
        safe = jnp.where(positive, ti, 1.0)
        f = self.c3 + safe ** (-s_)
        f1 = jnp.where(positive, -s_ * safe ** (-s_ - 1), 0.0)
        f2 = jnp.where(positive, s_ * (s_ + 1) * safe ** (-s_ - 2), 0.0)
        base = 1 + c4 * u
        p = base ** (-g_)
        big_g = 1 - p
        h = g_ * c4 * p / base
        q = g_ * (g_ + 1) * c4 * c4 * p / (base * base)
        value = self.L0 + self.c1 * total ** (-s_) - self.c2 * jnp.sum(d * f * big_g)
        zero = jnp.zeros((1,), eta.dtype)

        def at_j(x):  # x_i for i = 1 … K as j = 0 … K (0 at j = 0)
            return jnp.concatenate([zero, x])

        def after_j(x):  # Σ_{i>j} x_i for j = 0 … K
            return jnp.concatenate([_suffix(x), zero])

        fg = jnp.concatenate([zero, f * big_g, zero])  # (fG)_i for i = 0 … N (0 outside 1 … K)
        slope, bend = f1 * big_g - f * h, f2 * big_g + f * q
        grad_f = fg[1:] - fg[:-1] + after_j(d * slope) + at_j(own * d * slope) + jnp.sum(d * f * h)
        curv_f = (2 * jnp.concatenate([f1 * big_g, zero]) - 2 * at_j(own * f1 * big_g + (1 - own) * f * h)
                  + after_j(d * bend) + at_j(own * d * bend) - jnp.sum(d * f * q))
        grad = -s_ * self.c1 * total ** (-s_ - 1) - self.c2 * grad_f
        curv = s_ * (s_ + 1) * self.c1 * total ** (-s_ - 2) - self.c2 * curv_f
        return value, grad, curv

    def rate_curvature(self, rates: Array) -> Array:
        """The exact diagonal of the final loss's Hessian in the per-step rates (`final_loss_grad_curvature`)."""
        return self.final_loss_grad_curvature(rates)[2]


class FSLLawBefore(FSLLaw):
    """The FSL practical form with each decrement paired with T(i − 1), the intrinsic time before its update [D].

        L(k) = L0 + c1·T(k)^{−s} − c2 Σ_{i=1..k} (η_{i−1} − η_i)·(c3 + T(i−1)^{−s})·[1 − (1 + c4·(T(k) − T(i−1)))^{−γ}]

    T(i − 1) = Σ_{τ<i} η_τ is the intrinsic time at which the rate changes, the left point of the continuous
    form's integral; the elapsed time T(k) − T(i−1) = Σ_{τ=i..k} η_τ is the multi-power law's S_i(k)
    (data/README.md), so a decrement at update k acts at k. Same parameters and ranges as `FSLLaw` (whose pairing
    with T(i) is the formula as the issue writes it; which one the paper's appendix means is unchecked [?]).
    A decrement after only zero rates (T(i − 1) = 0: the first rise of a warm-up from zero, where T^{−s} is
    infinite) is paired with T(i) instead.

    Why a second pairing: with T(i) a decrement moves its own paired time, the final loss is non-convex at the scale
    of single updates, and a per-update schedule solve creeps to its step cap; with T(i − 1) no term moves with its
    own decrement (but the fallback one, in a warm-up that a schedule solve holds fixed), and on the 25M and 100M
    curves the two, fitted to convergence, predict alike (README, loss-curve laws; `problems/fsl_law_microstructure.py`,
    `problems/fsl_law_pairings.py`).
    """

    name: ClassVar[str] = "fsl_law_before"

    @classmethod
    def _pairs_own_rate(cls, prefix, i):
        # T(i − 1), unless it is 0 (zero rates alone before update i): then T(i)
        xp = np if isinstance(prefix, np.ndarray) else jnp
        return prefix[xp.maximum(i - 1, 0)] <= 0
