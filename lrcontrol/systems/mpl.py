"""The multi-power law (MPL) of Luo et al., "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
Schedules" (ICLR 2025, arXiv 2503.12811, eq. (8)); THEORY.md §6.

Rates η_0 … η_{N−1} (η_s the rate of update s), the loss after update s:

    L(s) = L0 + A·S1(s)^{−α} − LD(s),
    LD(s) = B Σ_{k=1..s} (η_{k−1} − η_k)·G(η_k^{−γ} S_k(s)),   G(x) = 1 − (C x + 1)^{−β},
    S1(s) = Σ_{τ=0..s} η_τ (warm-up included),                  S_k(s) = Σ_{τ=k..s} η_τ

(the conventions of the shared pretraining curves, `data/README.md`). Rates after the first must be positive
(η_k^{−γ}); the first may be 0 (a warm-up from zero).

- `predict` at M steps: LD is a sum over the N decrements for each step; terms with η_{k−1} = η_k vanish and are
  dropped when the rates are concrete (a constant stage costs nothing); the rest is summed in chunks of the
  decrement axis, each over the steps it reaches (s >= k), so memory is O(M·chunk) and work at most O(M·K),
  K the number of non-zero decrements. `plan` does the schedule-only part once (in numpy) for a fit.
- `final_loss` in O(N): S_k(N−1) are suffix sums (summed from the end, accurate where they are small).
- `final_loss_grad_curvature`: value, gradient and exact Hessian diagonal in one O(N) pass, by hand [D] (formulas in
  its docstring); `Direct` preconditions L-BFGS with them (`ControlProblem.value_grad_curvature`). Checked against
  jax.grad, jax.hessian and finite differences of `final_loss` in tests/test_laws.py.
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, Scalar

from .._errors import Param
from ._base import positive_power
from ._law import AbstractLossCurveLaw, decrement_chunks, planned_sums

_CHUNK = 2048  # decrements per chunk in `predict`


def _suffix(a: Array) -> Array:
    # Σ_{τ>=k} a_τ, summed from the end (lax's reversed scan: no flipped copies, ~2× faster than flipping on CPU)
    return jax.lax.cumsum(a, reverse=True)


class MultiPowerLaw(AbstractLossCurveLaw):
    """The multi-power law (arXiv 2503.12811 eq. (8)): parameters `L0, A, alpha, B, C, beta, gamma`.

    Valid ranges (what a fit keeps them in): L0, A, alpha, B, C > 0; beta, gamma ∈ (0, 1) — the paper constrains
    β and γ to (0, 1) because unconstrained fits drift into a degenerate multi-exponential form (large β, C → 0).
    """

    name: ClassVar[str] = "mpl"
    parameters: ClassVar = (
        Param("L0", "irreducible loss L0 > 0", lo=0.0, lo_open=True),
        Param("A", "power-law amplitude A > 0", lo=0.0, lo_open=True),
        Param("alpha", "power-law exponent α > 0 (A·S1^−α)", lo=0.0, lo_open=True),
        Param("B", "loss-drop amplitude B > 0", lo=0.0, lo_open=True),
        Param("C", "loss-drop scale C > 0 (G(x) = 1 − (Cx+1)^−β)", lo=0.0, lo_open=True),
        Param("beta", "loss-drop exponent β in (0, 1)", lo=0.0, lo_open=True, hi=1.0, hi_open=True),
        Param("gamma", "rate exponent γ in (0, 1) (η_k^−γ S_k)", lo=0.0, lo_open=True, hi=1.0, hi_open=True),)

    L0: Array
    A: Array
    alpha: Array
    B: Array
    C: Array
    beta: Array
    gamma: Array

    def __init__(self, L0=3.04045406, A=0.52468604, alpha=0.50786857, B=363.78751622, C=2.06560812,
                 beta=0.58279013, gamma=0.64142257):
        # Defaults: the published 25M fit (data/README.md), only so that the CLI and docs have a working law.
        self._store(L0=L0, A=A, alpha=alpha, B=B, C=C, beta=beta, gamma=gamma)

    @classmethod
    def initial_grid(cls, curves) -> dict[str, list[float]]:
        """Starting values for `lrc.fit` (64 points): L0 below the lowest logged loss, the other
        parameters spread over the magnitudes the paper's fits span — round numbers, never its fitted values."""
        low = min(float(min(c.losses)) for c in curves)
        return {"L0": [0.7 * low, 0.9 * low], "A": [0.3, 1.0], "alpha": [0.3, 0.7], "B": [100.0, 1000.0],
                "C": [0.5, 5.0], "beta": [0.3, 0.8], "gamma": [0.5]}

    def _G(self, x):
        # G(x) = 1 − (Cx + 1)^{−β}
        return 1 - positive_power(self.C * x + 1, -self.beta)

    def _G_derivatives(self, x):
        # (G, G′, G″) from one power: G′ = βC(Cx + 1)^{−β−1}, G″ = −(β + 1)C G′/(Cx + 1)
        base = self.C * x + 1
        w = positive_power(base, -self.beta)
        g1 = self.beta * self.C * w / base
        return 1 - w, g1, -(self.beta + 1) * self.C * g1 / base

    # --- the loss curve ------------------------------------------------------------------------------------

    @staticmethod
    def plan(lr, steps):
        """The schedule-only part of `predict` for concrete rates and steps (numpy, computed once): the decrements
        that are not zero, in chunks, each with the first of the (sorted) steps it reaches — a decrement k only
        enters the losses at steps s >= k, so a chunk works on the steps from there on (about half of the
        step × decrement pairs for a decay spread over the run). Returns (arrays, static): `arrays` a pytree
        of numpy arrays (pass it through `jax.jit` as an argument: no constant folding of the data), `static`
        the chunk boundaries. `lrc.fit` plans each curve once; `predict` plans itself when the rates are concrete."""
        sorted_steps, inverse, prefix, pairs, firsts = decrement_chunks(lr, steps, _CHUNK)
        lr = np.asarray(lr, float).reshape(-1)
        chunks = []
        for kk, d in pairs:
            log_eta = np.log(np.where(lr[kk] > 0, lr[kk], 1.0))
            chunks.append({"k": kk, "d": d, "log_eta": log_eta, "before": prefix[kk - 1]})
        arrays = {"steps": sorted_steps, "at": prefix[sorted_steps], "inverse": inverse, "chunks": chunks}
        return arrays, firsts

    @staticmethod
    def _traced_plan(lr, steps):
        # rates under a trace: every decrement, in chunks, all steps (O(M·N) work, O(M·chunk) per chunk)
        prefix = jnp.cumsum(lr)
        n = lr.shape[0] - 1
        chunks = []
        for c0 in range(0, n, _CHUNK):
            k = jnp.arange(c0 + 1, min(c0 + _CHUNK, n) + 1)
            chunks.append({"k": k, "d": lr[k - 1] - lr[k], "log_eta": jnp.log(lr[k]), "before": prefix[k - 1]})
        return {"steps": steps, "at": prefix[steps], "inverse": None, "chunks": chunks}, (0,) * len(chunks)

    def sums_planned(self, arrays, static, jac: bool):
        """(S1 at the steps, the stacked per-step sums) from a `plan`, in the caller's step order: Σ_k d_k G(x_k)
        and, for the Jacobian, Σ d_k t_k, Σ d_k t_k log η_k, Σ d_k u_k w_k with x = η_k^{−γ} S_k(s),
        u = log(1 + Cx), w = e^{−βu}, t = x w/(1 + Cx)."""
        return planned_sums(lambda c, st, a: self._chunk_sums(c, st, a, jac), arrays, static, 4 if jac else 1)

    def _chunk_sums(self, chunk, steps, at, jac: bool):
        # the sums of `sums_planned` over one chunk of decrements k, at the steps it reaches
        kc, dc, lc, bc = chunk["k"], chunk["d"], chunk["log_eta"], chunk["before"]
        use = kc[None, :] <= steps[:, None]
        x = jnp.where(use, jnp.exp(-self.gamma * lc)[None, :] * (at[:, None] - bc[None, :]), 0.0)
        base = 1 + self.C * x
        u = jnp.log(base)
        w = jnp.exp(-self.beta * u)
        dm = jnp.where(use, dc[None, :], 0.0)
        out = [jnp.sum(dm * (1 - w), axis=1)]
        if jac:
            t = dm * x * w / base
            out += [jnp.sum(t, axis=1), jnp.sum(t * lc[None, :], axis=1), jnp.sum(dm * u * w, axis=1)]
        return jnp.stack(out)

    def predict_planned(self, arrays, static, jac: bool = False):
        """`predict` (and with `jac`, `predict_jacobian`) from a `plan` of the rates and steps."""
        at, sums = self.sums_planned(arrays, static, jac)
        return self._assemble(at, sums, jac)

    def _assemble(self, at, sums, jac):
        pw = at ** (-self.alpha)
        pred = self.L0 + self.A * pw - self.B * sums[0]
        if not jac:
            return pred
        ld, st, stl, suw = sums
        one = jnp.ones_like(pred)
        return pred, jnp.stack([one, pw, -self.A * pw * jnp.log(at), -ld, -self.B * self.beta * st,
                                -self.B * suw, self.B * self.beta * self.C * stl], axis=1)

    def predict(self, lr: Float[Array, " N"], steps: Int[Array, " M"]) -> Float[Array, " M"]:
        return self._evaluate_planned(lr, steps, False)

    def predict_jacobian(self, lr: Float[Array, " N"], steps: Int[Array, " M"]):
        """(`predict`, ∂predict/∂θ of shape (M, 7) in `param_names` order) in one pass over the decrements [D]:
        ∂/∂L0 = 1, ∂/∂A = S1^{−α}, ∂/∂α = −A S1^{−α} log S1, ∂/∂B = −LD/B, and with u = log(1 + Cx),
        w = e^{−βu}, t = x w/(1 + Cx): ∂/∂C = −Bβ Σ d t, ∂/∂β = −B Σ d u w, ∂/∂γ = BβC Σ d t log η_k.
        `lrc.fit` uses it for Gauss–Newton steps (checked against jax.jacfwd of `predict` in tests)."""
        return self._evaluate_planned(lr, steps, True)

    # --- the O(N) final loss, its gradient and Hessian diagonal --------------------------------------------

    def final_loss(self, controls: Float[Array, "n m"]) -> Scalar:
        """L(N−1) in O(N): L0 + A·T^{−α} − B Σ_{k≥1} (η_{k−1} − η_k) G(η_k^{−γ} R_k), T = Σ η, R_k = Σ_{τ≥k} η_τ."""
        eta = jnp.reshape(controls[:, 0] if controls.ndim == 2 else controls, (-1,))
        rem = _suffix(eta)
        x = positive_power(eta[1:], -self.gamma) * rem[1:]
        ld = jnp.sum((eta[:-1] - eta[1:]) * self._G(x))
        return self.L0 + self.A * rem[0] ** (-self.alpha) - self.B * ld

    def final_loss_grad_curvature(self, rates: Array) -> tuple[Scalar, Array, Array]:
        """(L, ∂L/∂η_j, ∂²L/∂η_j²) at the last step, in one O(N) pass [D]. With d_k = η_{k−1} − η_k,
        R_k = Σ_{τ≥k} η_τ, x_k = η_k^{−γ} R_k (k ≥ 1), p_k = ∂x_k/∂η_k|_{η_k only in the power} = −γ η_k^{−γ−1} R_k
        and q_k = p_k + η_k^{−γ} (= dx_k/dη_k):

            ∂LD/∂η_j / B = G(x_{j+1}) − G(x_j) + d_j G′(x_j) p_j + Σ_{1≤k≤j} d_k G′(x_k) η_k^{−γ}
            ∂²LD/∂η_j² / B = −2G′(x_j) q_j + d_j [G″(x_j) q_j² + G′(x_j)(γ(γ+1)η_j^{−γ−2}R_j − 2γη_j^{−γ−1})]
                              + Σ_{1≤k<j} d_k G″(x_k) η_k^{−2γ}

        (terms with index 0 or N are absent), and the A term gives −αA T^{−α−1} and α(α+1)A T^{−α−2}. The diagonal
        is not always positive; `Direct`'s guard replaces non-positive entries.
        """
        eta = jnp.reshape(rates, (-1,))
        g_, a_ = self.gamma, self.alpha
        rem = _suffix(eta)
        total = rem[0]
        e = eta[1:]
        r = rem[1:]
        eg = positive_power(e, -g_)  # η^{−γ}
        x = eg * r
        d = eta[:-1] - e
        G0, G1, G2 = self._G_derivatives(x)
        p = -g_ * eg / e * r
        q = p + eg
        value = self.L0 + self.A * total ** (-a_) - self.B * jnp.sum(d * G0)
        zero = jnp.zeros((1,), eta.dtype)
        # gradient of LD / B, index j = 0 … N−1 (arrays over k = 1 … N−1 sit at j = k)
        g_next = jnp.concatenate([G0, zero])  # G(x_{j+1})
        g_self = jnp.concatenate([zero, -G0 + d * G1 * p])
        g_cum = jnp.concatenate([zero, jax.lax.cumsum(d * G1 * eg)])
        grad_ld = g_next + g_self + g_cum
        dp = g_ * (g_ + 1) * eg / (e * e) * r - 2 * g_ * eg / e  # ∂p/∂η + ∂(η^{−γ})/∂η, with R's part in q
        c_self = -2 * G1 * q + d * (G2 * q * q + G1 * dp)
        dg2 = d * G2 * eg * eg
        c_cum = jax.lax.cumsum(dg2) - dg2  # k < j
        curv_ld = jnp.concatenate([zero, c_self + c_cum])
        grad = -a_ * self.A * total ** (-a_ - 1) - self.B * grad_ld
        curv = a_ * (a_ + 1) * self.A * total ** (-a_ - 2) - self.B * curv_ld
        return value, grad, curv

    def staircase_final_loss(self, lead, levels, lengths):
        """The final loss of `lead` then `levels[j]` for `lengths[j]` (real) updates in O(W + J) [D]: the sums of
        `final_loss` over a constant stretch are its length times the level, and only the J falls between levels
        (and the lead's own decrements) carry a loss-drop term. With T = Σ lead + Σ_j ℓ_j n_j, R_j = Σ_{i>=j} ℓ_i n_i
        and the lead's prefix sums P_k:

            L = L0 + A T^{−α} − B [Σ_{1<=k<W} (lead_{k−1} − lead_k) G(lead_k^{−γ}(T − P_{k−1}))
                                  + (lead_{W−1} − ℓ_0) G(ℓ_0^{−γ} R_0) + Σ_{j>=1} (ℓ_{j−1} − ℓ_j) G(ℓ_j^{−γ} R_j)].

        Equal to `final_loss` of the expanded rates for integer lengths >= 1 (tests/test_law_staircase.py); for a
        fractional length every fall stays one clean fall (a per-update schedule cannot: it splits the fall over two
        updates, which MPL penalises)."""
        lead, levels, lengths = (jnp.reshape(jnp.asarray(a), (-1,)) for a in (lead, levels, lengths))
        stretch = levels * lengths
        rem = jax.lax.cumsum(stretch, reverse=True)  # R_j
        total = jnp.sum(lead) + rem[0]
        drops = jnp.concatenate([lead[-1:] - levels[:1], levels[:-1] - levels[1:]])
        ld = jnp.sum(drops * self._G(positive_power(levels, -self.gamma) * rem))
        if lead.shape[0] > 1:
            before = total - jnp.cumsum(lead)[:-1]  # T − P_{k−1}, k = 1 … W−1
            ld = ld + jnp.sum((lead[:-1] - lead[1:]) * self._G(positive_power(lead[1:], -self.gamma) * before))
        return self.L0 + self.A * total ** (-self.alpha) - self.B * ld

    def s1_curvature(self, rates: Array) -> Array:
        """c = α(α+1)A·T^{−α−2}: the S1 term's Hessian in the rates is c·11ᵀ (a preconditioner uses it)."""
        total = jnp.sum(jnp.reshape(rates, (-1,)))
        return self.alpha * (self.alpha + 1) * self.A * total ** (-self.alpha - 2)

    def rate_curvature(self, rates: Array) -> Array:
        """The exact diagonal of the final loss's Hessian in the per-step rates (`final_loss_grad_curvature`)."""
        return self.final_loss_grad_curvature(rates)[2]
