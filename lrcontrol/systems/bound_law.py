"""The convex last-iterate bound as a loss-curve law: Schaipp, Hägele, Taylor, Şimşekli & Bach, "The Surprising
Agreement Between Convex Optimization Theory and Learning-Rate Scheduling for Large Model Training" (arXiv
2501.18965); THEORY.md §6.

    L(s) = L0 + M·Ω_s(η; D),

Ω_s the last-iterate bound for SGD on a convex G-Lipschitz problem with D = ‖x₁ − x*‖, for the run truncated after
update s — the bound for arbitrary step sizes of Defazio et al. (arXiv 2310.07831) that Schaipp et al. evaluate for
their schedules (stated there for a base rate times a schedule; here the rates are absolute):

    Ω_T = [D² + G² Σ_{t=1..T} η_t²]/(2 Σ_{t=1..T} η_t) + (G²/2) Σ_{k<T} η_k/(η_{k+1:T} η_{k:T}) Σ_{t=k..T} η_t²

(η_{a:b} = Σ_{t=a..b} η_t). The formula is `lrcontrol.systems.last_iterate.arbitrary_step_bound`, evaluated for
each truncation by `arbitrary_step_bound_prefixes` — written once, there. That its statement in 2501.18965 matches
this one term by term was not re-checked here against the paper's text [?] (it is the bound `problems/
last_iterate_refine.py` evaluates for contrast with `LastIterateBound`'s weighted bound, whose optimum is
linear decay).

**Conventions.** Ω_s uses the rates of updates 0 … s of the shared pretraining curves (`data/README.md`) as
η_1 … η_T, T = s + 1: the loss after update s is set against the bound whose last step is update s. In the bound
η_T is an analysis weight (x_T is reached by η_1 … η_{T−1}), so the rate of update s enters Ω_s; where η_s = 0 the
bound is infinite (η_{k+1:T} = 0 for k = T − 1) — it requires η_T > 0. Schaipp et al.'s own alignment of the
logged step with T is not verified here [?].

**D and G.** For constant G, Ω(η; D, G) = G²·Ω(η; D/G, 1), so M·Ω has only two identifiable scales: G is fixed at 1
and D (`distance`, in units of G × rate) is a parameter, with M (loss per unit of the bound) and the offset L0 (the
paper's fitted constant and multiplier are L0 and M; how the paper sets D and G for its loss-curve comparison
is not verified here [?]). Per-step gradient norms G_t (which the bound allows) are not supported by this law.

- `predict` at M logged steps: O(N) work per step (each truncation is a new bound: Ω has no prefix recursion),
  O(N·M) in all; memory O(N·c) for c truncations at a time (`arbitrary_step_bound_prefixes`), not O(N·M).
  A whole `loss_curve` is therefore O(N²) work.
  For a fit, `plan` does that work once per curve: Ω_s = D²/(2·η_{1:T}) + (the bound at D = 0), the parameter
  D entering only the first term, so each prediction in the fit is O(M).
- `final_loss` (the last truncation) is O(N), and so is its `jax.grad`; `final_loss_grad_curvature` adds the exact
  Hessian diagonal in the rates, O(N), by hand [D] (formulas in its docstring) — the preconditioner of the
  schedule solve (`LawSchedule`), which converges slowly without it (README).
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, Scalar

from .._errors import Param
from ._law import AbstractLossCurveLaw
from .last_iterate import arbitrary_step_bound, arbitrary_step_bound_prefixes


@jax.jit
def _bound_at_zero_distance(lr, steps):
    return arbitrary_step_bound_prefixes(lr, steps, 1.0, 0.0)


class BoundLaw(AbstractLossCurveLaw):
    """The convex last-iterate bound as a law (arXiv 2501.18965): parameters `L0, M, distance` (G fixed at 1).

    Valid ranges (what a fit keeps them in): L0 unbounded (an offset), M > 0, distance > 0.
    """

    name: ClassVar[str] = "bound_law"
    parameters: ClassVar = (
        Param("L0", "offset L0 (any finite number: f* plus what the bound leaves out)"),
        Param("M", "scale M > 0 of the bound in loss units", lo=0.0, lo_open=True),
        Param("distance", "initial distance D > 0 of the convex bound", lo=0.0, lo_open=True),)

    L0: Array
    M: Array
    distance: Array

    def __init__(self, L0=3.0, M=300.0, distance=0.02):
        # Defaults: plausible values for the 25M curves (not a fit), only so that the CLI and docs have a law.
        self._store(L0=L0, M=M, distance=distance)

    def bound(self, lr: Float[Array, " N"], steps: Int[Array, " M"]) -> Float[Array, " M"]:
        """Ω_s for each s in `steps`: the bound of the run truncated after update s (G = 1, D = `distance`)."""
        return arbitrary_step_bound_prefixes(lr, steps, 1.0, self.distance)

    def predict(self, lr: Float[Array, " N"], steps: Int[Array, " M"]) -> Float[Array, " M"]:
        return self.L0 + self.M * self.bound(lr, steps)

    @staticmethod
    def plan(lr, steps):
        """The parameter-free part of `predict`, once per curve (`lrc.fit`): Ω_s = D²/(2·S_s) + R_s with
        S_s = η_{1:T} and R_s the bound at D = 0, so only D enters through a closed form. Returns
        ({"sum": S, "rest": R} at `steps`, ()): the O(N·M) work is done here, and each prediction is O(M)."""
        lr = jnp.asarray(lr, float).reshape(-1)
        steps = jnp.asarray(steps).reshape(-1)
        rest = _bound_at_zero_distance(lr, steps)
        return {"sum": jnp.cumsum(lr)[steps], "rest": rest}, ()

    def predict_planned(self, arrays, static, jac: bool = False):
        """`predict` (and with `jac`, its Jacobian in (L0, M, distance): 1, Ω, M·D/S) from a `plan`."""
        s, rest = arrays["sum"], arrays["rest"]
        omega = self.distance**2 / (2 * s) + rest
        pred = self.L0 + self.M * omega
        if not jac:
            return pred
        return pred, jnp.stack([jnp.ones_like(pred), omega, self.M * self.distance / s], axis=1)

    def final_loss_grad_curvature(self, rates: Array) -> tuple[Scalar, Array, Array]:
        """(L, ∂L/∂η_j, ∂²L/∂η_j²) at the last update: value and gradient by `jax.value_and_grad` of `final_loss`,
        the Hessian diagonal by hand [D], all O(N). With S_k = Σ_{t≥k} η_t, Q_k = Σ_{t≥k} η_t² (0-based, S_N = 0),
        Ω = (D² + Q_0)/(2S_0) + ½ Σ_{k≤N−2} φ_k, φ_k = η_k Q_k/(S_{k+1} S_k), the diagonal of ∂²Ω/∂η_j² is the sum of

        - the first term's 1/S_0 − 2η_j/S_0² + (D² + Q_0)/S_0³;
        - each φ_k with k < j, where η_j enters Q_k, S_k and S_{k+1}: c_k [2 − 4η_j r_k + Q_k (r_k² + 1/S_{k+1}² +
          1/S_k²)], c_k = η_k/(S_{k+1} S_k), r_k = 1/S_{k+1} + 1/S_k — three prefix sums over k < j;
        - φ_j's own (j ≤ N − 2; a = S_{j+1}, b = S_j = η_j + a, q = Q_{j+1}): 2[η_j (b² + ab + a²) − a q]/(a b³),
          which is 2/a − 2a(a² + q)/(a b³) written so that it does not cancel where η_j ≪ a;

        times M. Not always positive; `Direct`'s guard replaces non-positive entries."""
        eta = jnp.reshape(rates, (-1,))
        value, grad = jax.value_and_grad(self.final_loss)(eta)
        tail = jax.lax.cumsum(eta, reverse=True)  # S_k
        tail_sq = jax.lax.cumsum(eta * eta, reverse=True)  # Q_k
        a, b = tail[1:], tail[:-1]  # S_{k+1}, S_k for k = 0 … N−2
        c = eta[:-1] / (a * b)
        r = 1 / a + 1 / b
        zero = jnp.zeros((1,), eta.dtype)
        below = lambda x: jnp.concatenate([zero, jax.lax.cumsum(x)])  # Σ_{k<j} x_k, j = 0 … N−1  # noqa: E731
        cross = (2 * below(c) - 4 * eta * below(c * r)
                 + below(c * tail_sq[:-1] * (r * r + 1 / (a * a) + 1 / (b * b))))
        x = eta[:-1]
        own = jnp.concatenate([2 * (x * (b * b + a * b + a * a) - a * tail_sq[1:]) / (a * b**3), zero])
        total, top = tail[0], self.distance**2 + tail_sq[0]
        first = 1 / total - 2 * eta / total**2 + top / total**3
        return value, grad, self.M * (first + 0.5 * (cross + own))

    def rate_curvature(self, rates: Array) -> Array:
        """The exact diagonal of the final loss's Hessian in the per-step rates (`final_loss_grad_curvature`)."""
        return self.final_loss_grad_curvature(rates)[2]

    def final_loss(self, controls: Float[Array, "n m"]) -> Scalar:
        """L0 + M·Ω over all N rates, O(N) (`arbitrary_step_bound`)."""
        lr = jnp.reshape(controls[:, 0] if controls.ndim == 2 else controls, (-1,))
        return self.L0 + self.M * arbitrary_step_bound(lr, 1.0, self.distance)
