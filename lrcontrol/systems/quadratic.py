"""Gradient descent on a quadratic with spectrum in [μ, L]: the minimax step sizes (Chebyshev steps, [D]).

GD x_{k+1} = (I − α_k A) x_k on f(x) = ½xᵀAx with spec(A) ⊂ [μ, L] leaves x_T = p(A)x_0 after T steps, with the
residual polynomial p(λ) = Π_k (1 − α_k λ), p(0) = 1. Over every such A the sharp worst-case factor is

    F(α) = max_{λ∈[μ,L]} |p(λ)|,    ‖x_T‖ ≤ F(α)‖x_0‖.

Closed form [D] (Chebyshev): F is minimised by α_k = 1/λ_k with the inverse steps

    λ_k = (L+μ)/2 + ((L−μ)/2) cos((2k−1)π/(2T)) = L[1/κ + (1 − 1/κ) cos²(πx_k/2)],  x_k = (2k−1)/(2T),

(a raised cosine with floor 1/κ), κ = L/μ, and min F = 2r^T/(1 + r^{2T}), r = (√κ − 1)/(√κ + 1). The best
constant step 2/(L+μ) gives ((κ−1)/(κ+1))^T. Worked check: μ = 1, L = 50, T = 10 → 0.1155881 (constant 0.670).
F is symmetric in the steps (the factors commute), so the optimum is a set: compare sorted steps.

As a control problem (one control, the step α_k): the state is s_k(λ_j) = log|p_k(λ_j)| on G points λ_j ∈ [μ, L]
(uniform unless given) — GD on the diagonal quadratic diag(λ_j) from x_0 = 1, kept in log-magnitudes so that
nothing overflows — with s_{k+1} = s_k + log|1 − α_k λ_j|, and the loss is the smooth surrogate of log F

    L_q(s) = (1/q) log((1/G) Σ_j e^{q s_j})   ≤ max_j s_j,  → log max_j |p(λ_j)| as q → ∞,

q the `sharpness`. `final_loss` evaluates it from all T steps at once (O(TG), no unroll), so `lrc.solve` with the
`FinalLoss` objective minimises it by the toolkit's projected L-BFGS.

`lrc.minimax(system, T)` (`lrcontrol/_minimax.py`) is the numerical minimax, independent of the closed form (tests/test_quadratic.py checks it against
the closed form to 1e-5 relative in F, and the sorted steps):

1. continuation in q = 4, 16, 64, 256 (`lrc.solve`, `Direct`, preconditioned by the exact Hessian diagonal
   `rate_curvature`), from inverse steps spread uniformly over [μ, L] (`initial_controls`), each stage's λ_j
   placed 8 to a gap between the previous stage's inverse steps so that the grid sees every oscillation of p.
   The symmetry makes every constant schedule (the toolkit's default initial guess) a stationary point that
   gradient methods never leave, so the start must have distinct steps — and `lrc.solve(problem)` without `u0`
   (as the CLI's `solve quadratic` does) returns the best constant step, not the minimax;
2. Remez exchange on the reference ξ_0 = μ < ξ_1 < … < ξ_T = L: the degree-T polynomial with p(0) = 1 and
   p(ξ_i) = (−1)^i E (E = 1/(Πξ · Σ_i |w_i|/ξ_i), w the barycentric weights: every term positive, no
   cancellation), its T roots by bisection between alternate reference points, the new interior reference
   points at the maxima of |p| between consecutive roots (golden section); repeated until |p| equioscillates;
3. `worst_case_factor` of the resulting steps: max |Π(1 − α_k λ)| on a fine grid, each local maximum refined
   by golden section.
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jaxtyping import Array

from .._errors import InputError, Overflow, Param, _is_concrete, check_int
from .._search import golden_max
from .._windows import cosine_window
from ._base import AbstractDiscreteSystem

class Quadratic(AbstractDiscreteSystem):
    """Gradient descent on a quadratic with spectrum in [μ, L], worst case over the spectrum (module docstring).

    State: log|p_k(λ_j)| on `grid` points λ_j spread uniformly over [μ, L]. Loss: the smooth surrogate
    L_q = (1/q) log((1/G) Σ_j |p(λ_j)|^q) of the log worst-case factor, q = `sharpness`.

    **Arguments:**

    - `mu`, `L`: the spectrum's ends, 0 < μ < L.
    - `sharpness`: q > 0 of the surrogate (larger: closer to the max, harder to minimise).
    - `grid`: the number G >= 2 of spectrum points the surrogate sees, spread uniformly over [μ, L].
    - `points`: the spectrum points themselves instead (`lrc.minimax` places them between the current roots).
    """

    name: ClassVar[str] = "quadratic"

    parameters: ClassVar = (
        Param("mu", "smallest eigenvalue μ > 0 (must be < L)", lo=0.0, lo_open=True),
        Param("L", "largest eigenvalue L > 0 (must be > mu)", lo=0.0, lo_open=True),
        Param("sharpness", "q > 0 of the smooth surrogate (1/q) log mean |p(λ_j)|^q of the log worst case", lo=0.0,
              lo_open=True),
        Param("grid", "spectrum points G >= 2 the surrogate sees, uniform on [mu, L]", int, lo=2),
        Param("points", "the spectrum points themselves instead of a uniform grid (1-D array, or None)", "array",
              optional=True))
    overflow: ClassVar = (Overflow(("mu", "L"), "κ = L/μ (the condition number)", lambda m, big: big / m),)

    mu: Array
    L: Array
    sharpness: Array
    points: Array

    def __init__(self, mu=1.0, L=50.0, sharpness=64.0, grid: int = 2001, points=None):
        p = self._checked(mu=mu, L=L, sharpness=sharpness, grid=grid, points=points)
        if _is_concrete(mu) and _is_concrete(L) and float(np.asarray(mu)) >= float(np.asarray(L)):
            raise InputError(f"mu must be smaller than L (0 < mu < L), got mu={float(np.asarray(mu)):g} and "
                             f"L={float(np.asarray(L)):g}.")
        self.mu, self.L = jnp.asarray(mu, dtype=float), jnp.asarray(L, dtype=float)
        self.sharpness = jnp.asarray(sharpness, dtype=float)
        if points is None:
            self.points = jnp.linspace(self.mu, self.L, p["grid"])
        else:
            if _is_concrete(points):
                try:
                    arr = np.asarray(points, dtype=float)
                except (TypeError, ValueError):
                    raise InputError("points must be a 1-D array of finite numbers (spectrum points).") from None
                if arr.ndim != 1 or arr.size < 1 or not np.all(np.isfinite(arr)):
                    raise InputError(f"points must be a non-empty 1-D array of finite numbers, got shape "
                                     f"{arr.shape}{'' if np.all(np.isfinite(arr)) else ' with NaN or inf'}.")
            self.points = jnp.asarray(points, dtype=float).reshape(-1)

    # --- the control problem ------------------------------------------------------------------------------

    @property
    def grid(self) -> int:
        """G, the number of spectrum points."""
        return self.points.shape[0]

    def spectrum(self) -> Array:
        """The G points λ_j the surrogate sees: uniform on [μ, L] unless given as `points`."""
        return self.points

    def _log_factor(self, step: Array) -> Array:
        # log|1 − α λ_j| per grid point (a step of shape (T, 1): per step and point); the tiny keeps an exact root
        # finite (its gradient is then 0)
        z = 1 - step * self.spectrum()
        return 0.5 * jnp.log(z**2 + jnp.finfo(z.dtype).tiny)

    def initial_state(self):
        return jnp.zeros(self.grid, self.mu.dtype)

    def step(self, state, controls, k):
        return state + self._log_factor(controls[0])

    def loss(self, state):
        q = self.sharpness
        return (logsumexp(q * state) - jnp.log(self.grid)) / q

    def final_loss(self, controls: Array) -> Array:
        """L_q after all steps: Σ_k log|1 − α_k λ_j| summed over the steps at once. `controls`: (T,) or (T, 1)."""
        return self.loss(jnp.sum(self._log_factor(jnp.reshape(controls, (-1, 1))), axis=0))

    def rate_curvature(self, controls: Array) -> Array:
        """The diagonal of the Hessian of `final_loss` in the steps, exact, O(TG):

            ∂²L_q/∂α_k² = (q − 1) E_π[ℓ'_k²] − q (E_π ℓ'_k)²,  ℓ'_k(λ) = −λ/(1 − α_k λ),  π = softmax_j(q S_j)

        (from ℓ'' = −ℓ'², S_j = Σ_k log|1 − α_k λ_j|). At a stationary point E_π ℓ'_k = 0, so it is positive there
        for q > 1; `Direct` uses it as its L-BFGS preconditioner (a non-positive entry far from the optimum falls
        back to the median of the others). Checked against jax.hessian in tests/test_quadratic.py.
        """
        steps = jnp.reshape(controls, (-1, 1))
        lam = self.spectrum()[None, :]
        z = 1 - steps * lam
        q = self.sharpness
        weights = jax.nn.softmax(q * jnp.sum(self._log_factor(steps), axis=0))
        slope = -lam * z / (z**2 + jnp.finfo(z.dtype).tiny)
        return (q - 1) * (slope**2 @ weights) - q * (slope @ weights) ** 2

    def final_loss_grad_curvature(self, controls):
        """`jax.value_and_grad` of `final_loss` and the exact Hessian diagonal `rate_curvature`: what
        `ControlProblem.value_grad_curvature` hands `Direct` (the diagonal is its L-BFGS preconditioner)."""
        value, grad, _ = super().final_loss_grad_curvature(controls)
        return value, grad, self.rate_curvature(jnp.reshape(controls, (-1,)))

    def initial_controls(self, problem) -> Array:
        """Distinct starting steps, one per block: inverse steps spread uniformly over [μ, L] (block midpoints).

        F is symmetric in the steps, so every constant schedule is a stationary point of the surrogate that a
        gradient method never leaves (all partial derivatives equal): a solve must start from distinct steps.
        `lrc.minimax` starts here; traceable.
        """
        return _spread_steps(self.mu, self.L, problem.blocks)[:, None]

    def params(self):
        return {"mu": float(self.mu), "L": float(self.L), "sharpness": float(self.sharpness), "grid": self.grid}

    @property
    def condition_number(self) -> float:
        """κ = L/μ."""
        return float(self.L) / float(self.mu)

    # --- closed forms [D] (Chebyshev) -----------------------------------------------------------------------

    def chebyshev_inverse_steps(self, horizon: int) -> np.ndarray:
        """λ_k = (L+μ)/2 + ((L−μ)/2) cos((2k−1)π/(2T)), k = 1…T: the roots of the shifted Chebyshev polynomial."""
        t = check_int("horizon", horizon, lo=1)
        mu, L = float(self.mu), float(self.L)
        return (L + mu) / 2 + (L - mu) / 2 * np.cos((2 * np.arange(1, t + 1) - 1) * np.pi / (2 * t))

    def raised_cosine_inverse_steps(self, horizon: int) -> np.ndarray:
        """The same λ_k as a raised cosine with floor 1/κ: L[1/κ + (1 − 1/κ) cos²(πx_k/2)], x_k = (2k−1)/(2T) — the
        toolkit's `cosine_window` (lrcontrol.schedules) at the cell midpoints, times L."""
        t = check_int("horizon", horizon, lo=1)
        x = (2 * np.arange(1, t + 1) - 1) / (2 * t)
        return float(self.L) * cosine_window(x, floor=1 / self.condition_number)

    def chebyshev_steps(self, horizon: int) -> np.ndarray:
        """The minimax steps α_k = 1/λ_k (`chebyshev_inverse_steps`), increasing in k."""
        return 1 / self.chebyshev_inverse_steps(horizon)

    def chebyshev_factor(self, horizon: int) -> float:
        """min_α F(α) = 2r^T/(1 + r^{2T}), r = (√κ − 1)/(√κ + 1)."""
        t = check_int("horizon", horizon, lo=1)
        r = (np.sqrt(self.condition_number) - 1) / (np.sqrt(self.condition_number) + 1)
        return float(2 * r**t / (1 + r ** (2 * t)))

    def constant_step(self) -> float:
        """The best constant step 2/(L+μ)."""
        return 2 / (float(self.L) + float(self.mu))

    def constant_factor(self, horizon: int) -> float:
        """F of the constant step 2/(L+μ): ((κ−1)/(κ+1))^T."""
        t = check_int("horizon", horizon, lo=1)
        kappa = self.condition_number
        return float(((kappa - 1) / (kappa + 1)) ** t)

    def objective_report(self, problem, controls) -> dict:
        """The exact worst-case factor F of the solved steps (the surrogate only approximates it) against the
        Chebyshev minimax F* = `chebyshev_factor` and the best constant step's factor."""
        import numpy as np

        steps = np.asarray(problem.expand(controls))[:, 0]
        exact, best = self.worst_case_factor(steps), self.chebyshev_factor(problem.steps)
        return {"worst_case_factor": exact, "chebyshev_factor": best, "factor_ratio": exact / best,
                "constant_step_factor": self.constant_factor(problem.steps)}

    # --- numerics, independent of the closed forms ----------------------------------------------------------

    def worst_case_factor(self, steps, points: int | None = None) -> float:
        """F(α) = max_{λ∈[μ,L]} |Π_k (1 − α_k λ)|, in float64: |p| on `points` uniform points (default
        400T + 2001), then every local maximum refined by golden section between its grid neighbours."""
        alpha = np.asarray(steps, dtype=np.float64).reshape(-1)
        if alpha.size < 1:
            raise InputError("steps must hold one or more finite numbers, got none.")
        if not np.all(np.isfinite(alpha)):
            raise InputError("steps must be finite numbers, got a NaN or inf value.")
        n = 400 * alpha.size + 2001 if points is None else check_int("points", points, lo=3)
        lam = np.linspace(float(self.mu), float(self.L), n)
        logp = _log_abs_poly(alpha, lam)
        inner = (logp[1:-1] >= logp[:-2]) & (logp[1:-1] >= logp[2:])
        i = np.flatnonzero(inner) + 1
        best = max(logp[0], logp[-1])
        if i.size:
            refined = golden_max(lambda x: _log_abs_poly(alpha, x), lam[i - 1], lam[i + 1])
            best = max(best, float(np.max(_log_abs_poly(alpha, refined))), float(np.max(logp[i])))
        return float(np.exp(best))


# --- Remez exchange (float64, numpy) -------------------------------------------------------------------------

def _log_abs_poly(alpha: np.ndarray, lam: np.ndarray, chunk: int = 4096) -> np.ndarray:
    # log|Π_k (1 − α_k λ)| at each λ, in chunks of λ (T × chunk at a time)
    lam = np.asarray(lam, dtype=np.float64)
    out = np.empty(lam.shape)
    flat, res = lam.reshape(-1), out.reshape(-1)
    with np.errstate(divide="ignore"):
        for s in range(0, flat.size, chunk):
            res[s:s + chunk] = np.sum(np.log(np.abs(1 - alpha[:, None] * flat[None, s:s + chunk])), axis=0)
    return out


def _spread_steps(mu, L, n: int) -> Array:
    # steps whose inverses sit at the midpoints of n equal parts of [μ, L]
    return 1 / (mu + (L - mu) * (jnp.arange(n) + 0.5) / n)
