"""Online SGD with EMA momentum on power-law random features: the exact second-moment recursion ([C]; Bordelon &
Mori 2026, arXiv 2602.04774).

Same model as `RandomFeatures` (λ_k = k^{−b}, c_{0,k} = k^{b−a}, Gaussian features, label noise σ, batch m). With
Δ = w − w* and v the velocity, one step with learning rate η and momentum weight β is

    Δ' = Δ − η v,      v' = (1 − β) v + β g(Δ'),

g the minibatch gradient at the new point (fresh batch, E[g | Δ'] = λΔ' per mode). Per mode the second moments
C = ⟨Δ²⟩, R = ⟨Δv⟩, V = ⟨v²⟩ then obey exactly ([C] the authors' equations, [D] rederived: for Gaussian x the
cross-mode moments never enter, as for plain SGD)

    C' = C − 2ηR + η²V
    R' = (1 − β)(R − ηV) + βλC'
    V' = (1 − β)²V + 2β(1 − β)λ(R − ηV) + β²[(1 + 1/m)λ²C' + (1/m)λ Σ_j λ_j C'_j + σ²λ/m],

and the excess test loss is L = Σ_k λ_k C_k. β = 1 is plain SGD; β → 0 freezes the velocity. In heavy-ball terms
this is momentum 1 − β with step ηβ. For a slow mode (ηλ ≪ 1) the mean decays by ≈ ηλ per step when overdamped and
by at most ≈ 2ηλ at critical damping (β ≈ 4ηλ) [D]: at a given η momentum cannot speed up the slow modes by more
than a factor 2; it averages the gradient noise and keeps the fast modes stable at a larger η. Acceleration
(∝ √λ) needs η ≳ 1/√λ with β ∝ 1/η (problems/random_features_momentum_batch.py measures both regimes).

Initial velocity (our convention, [D]): v₀ = the first minibatch gradient g(Δ₀), so that

    R₀ = λC₀,    V₀ = (1 + 1/m)λ²C₀ + (1/m)λ Σ_j λ_j C_{0,j} + σ²λ/m.

With it, β ≡ 1 reproduces `RandomFeatures` step for step (to round-off), and every step consumes one minibatch,
as SGD does (the gradient inside V_T, drawn after the last step, is never used by the loss).
"""

from typing import ClassVar

from jaxtyping import Array

from ._base import AbstractDiscreteSystem
from .random_features import RandomFeatures


class RandomFeaturesMomentum(AbstractDiscreteSystem):
    """Expected second moments (C, R, V) of EMA-momentum SGD on power-law random features.

    State: a tuple (C, R, V) of per-mode arrays, shape (modes,) each. Loss: L = Σ_k λ_k C_k. Controls: the
    learning rate η ("lr") and the momentum weight β ("momentum", natural range [0, 1]; 1 is plain SGD, the
    default, so the initial guess of a solve is plain SGD's best constant rate). Bound it with
    `bounds={"momentum": (0, 1)}`.

    **Arguments:** as `RandomFeatures` (`a`, `b`, `modes`, `noise`, `batch`, `normalise`), checked there.
    `self.sgd` is the plain-SGD system with the same parameters (its eigenvalues and initial errors are used).
    """

    name: ClassVar[str] = "random_features_momentum"
    control_names: ClassVar[tuple[str, ...]] = ("lr", "momentum")
    control_defaults: ClassVar[tuple[float, ...]] = (0.0, 1.0)

    parameters: ClassVar = RandomFeatures.parameters
    overflow: ClassVar = RandomFeatures.overflow

    sgd: RandomFeatures

    def __init__(self, a=2.0, b=2.0, modes: int = 500, noise=0.5, batch=1.0, normalise: bool = False):
        self._checked(a=a, b=b, modes=modes, noise=noise, batch=batch, normalise=normalise)
        self.sgd = RandomFeatures(a=a, b=b, modes=modes, noise=noise, batch=batch, normalise=normalise)

    def eigenvalues(self) -> Array:
        return self.sgd.eigenvalues()

    def _gradient_second_moment(self, c: Array) -> Array:
        # E[g_k²] at a point with per-mode errors c: (1 + 1/m)λ²c + (1/m)λ(Σλc + σ²).
        lam, m = self.eigenvalues(), self.sgd.batch
        return (1 + 1 / m) * lam**2 * c + lam * (lam @ c + self.sgd.noise**2) / m

    def initial_state(self) -> tuple[Array, Array, Array]:
        c0 = self.sgd.initial_state()
        return c0, self.eigenvalues() * c0, self._gradient_second_moment(c0)

    def loss(self, state) -> Array:
        return self.eigenvalues() @ state[0]

    def step(self, state, controls, k):
        c, r, v = state
        eta, beta, lam = controls[0], controls[1], self.eigenvalues()
        c_new = c - 2 * eta * r + eta**2 * v
        cross = r - eta * v  # ⟨Δ'v⟩
        r_new = (1 - beta) * cross + beta * lam * c_new
        v_new = ((1 - beta) ** 2 * v + 2 * beta * (1 - beta) * lam * cross
                 + beta**2 * self._gradient_second_moment(c_new))
        return c_new, r_new, v_new

    def params(self):
        return self.sgd.params()

    def phase(self) -> str:
        return self.sgd.phase()

    def exponents(self) -> dict[str, float]:
        """Plain SGD's predicted exponents (`RandomFeatures.exponents`) plus, for the hard phase, the loss exponent
        the authors' plots show for joint (η, β) control, 1.5(a − 1)/b [P, C: read off plots, not derived]."""
        out = self.sgd.exponents()
        if self.phase() != "easy":
            out["momentum_optimal_loss"] = 1.5 * (float(self.sgd.a) - 1) / float(self.sgd.b)
        return out

