"""The functional scaling law (FSL) of Li et al. (arXiv 2509.19189, 2602.06797) as a discrete control problem.

Steps k = 1…N with rates η_k ∈ [0, η_max], intrinsic time t_k = Σ_{i≤k} η_i, T = t_N, remaining intrinsic time
after step k R_k = Σ_{i>k} η_i, e(t) = (1 + t)^{−s}, K(u) = (1 + u)^{−α}, α = 2 − 1/β:

    additive       [D]  E_N(η) = e(T) + σ² Σ_k η_k² K(R_k)
    multiplicative [D]  E_N(η) = e(T) + Σ_k η_k² [σ² + e(t_{k−1})] K(R_k)

(σ² stands for σ²/B; the additive form drops the FSL's e(z) inside the noise integral, the multiplicative form
keeps it.) Both, their gradients and the diagonal of their Hessians are O(N) suffix/prefix sums (`final_loss`;
all three in one pass, `final_loss_grad_curvature`): that is the path `lrc.solve` takes
(`ControlProblem.value_grad_curvature`). The additive form's whole Hessian is a diagonal plus a matrix whose
(j, l) entry depends on min(j, l) only (`MinKernelHessian`), the multiplicative form's adds one whose entry depends
on max(j, l) only; so per-step solves take Newton steps in O(N).

As a state recursion — for the loss curve E_k ("if training stopped after step k") and for any solver that unrolls
steps — the kernel is written as a sum of exponentials, K(u) ≈ Σ_j w_j e^{−x_j u}, from the trapezoid rule on
K(u) = Γ(α)^{−1} ∫ e^{αy − e^y(1+u)} dy (x_j = e^{y_j}); then with state (t, S) ∈ ℝ × ℝ^J

    S_{j,k} = e^{−x_j η_k} S_{j,k−1} + η_k² g_k,  t_k = t_{k−1} + η_k,  E_k = e(t_k) + Σ_j w_j S_{j,k}

(g_k = σ² or σ² + e(t_{k−1})). 160 nodes, y ∈ [−60, 4], cover 0 ≤ u ≤ 10¹³ to ~10⁻¹⁰ relative [D, measured in
tests/test_fsl.py]. The exact O(N) final loss and this recursion are two independent evaluations of E_N.

The continuous-time form (`continuous_final_loss`) is the same functional for a schedule η(z) of a continuous step
index z ∈ [0, N]: E = e(T) + ∫₀ᴺ η(z)² g(t(z)) K(T − t(z)) dz, t(z) = ∫₀ᶻ η.

Closed forms live in `lrcontrol.systems.fsl_laws`.
"""

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jaxtyping import Array

from .._errors import NoClosedForm, Overflow, Param
from .._hessian import MinKernelHessian
from . import fsl_laws
from ._base import AbstractDiscreteSystem, positive_power

VARIANTS = ("additive", "multiplicative")
_NODES = jnp.linspace(-60.0, 4.0, 161)  # log of the exponential rates x_j (trapezoid nodes, spacing 0.4)


def _suffix_exclusive(a: Array) -> Array:
    # Σ_{i>k} a_i, summed from the end (accurate where the remainder is small); lax's reversed scan makes no
    # flipped copies (at N = 10⁶ each copy is a pass over memory)
    return jax.lax.cumsum(a, reverse=True) - a


def _prefix_exclusive(a: Array) -> Array:
    # Σ_{i<k} a_i
    return jax.lax.cumsum(a) - a


class FSL(AbstractDiscreteSystem):
    """The discrete functional scaling law of Li et al. (2025, arXiv 2509.19189; 2026, arXiv 2602.06797), one
    learning rate per step.

    State: (t, S) — intrinsic time and the sum-of-exponentials modes of the noise term (see the module docstring).
    Loss: E_k = e(t_k) + Σ_j w_j S_{j,k}, the FSL risk minus σ²/2 (and minus the M^{−sβ} floor).

    **Arguments:**

    - `source`: s > 0 (the paper's source exponent s; default 1, the easy phase at β = 2).
    - `capacity`: β > 1 (the paper's capacity exponent β; λ_j ≍ j^{−β}).
    - `noise`: σ²/B ≥ 0 (noise variance over batch size).
    - `eta_max`: the learning-rate cap η_max > 0 (`problem` puts it in the bounds; the closed forms use it).
    - `variant`: "additive" (σ² alone drives the noise term) or "multiplicative" (σ² + e(t)).
    """

    name: ClassVar[str] = "fsl"
    closed_form_label: ClassVar[str] = "exact finite-N law (c by 1-D search)"

    parameters: ClassVar = (
        Param("source", "source exponent s > 0 (e(t) = (1+t)^-s)", lo=0.0, lo_open=True),
        Param("capacity", "capacity exponent β > 1 (K(u) = (1+u)^-(2-1/β))", lo=1.0, lo_open=True),
        Param("noise", "noise level σ²/B >= 0", lo=0.0),
        Param("eta_max", "largest learning rate η_max > 0", lo=0.0, lo_open=True),
        Param("variant", "noise term: additive or multiplicative", str, choices=VARIANTS))
    overflow: ClassVar = (
        Overflow(("source",), "s(s+1) (the curvature of e(t) = (1+t)^-s)", lambda s: s * (s + 1)),
        Overflow(("noise", "eta_max"), "η_max²(σ²/B + 1) (the noise term of one step)",
                 lambda n, e: e**2 * (n + 1)))

    variant: str = eqx.field(static=True)
    source: Array
    capacity: Array
    noise: Array
    eta_max: Array

    def __init__(self, source=1.0, capacity=2.0, noise=1.0, eta_max=1.0, variant: str = "additive"):
        p = self._checked(source=source, capacity=capacity, noise=noise, eta_max=eta_max, variant=variant)
        self.variant = p["variant"]
        self.source, self.capacity = jnp.asarray(source, dtype=float), jnp.asarray(capacity, dtype=float)
        self.noise, self.eta_max = jnp.asarray(noise, dtype=float), jnp.asarray(eta_max, dtype=float)

    # --- kernel and forcing -------------------------------------------------------------------------------

    @property
    def kernel_exponent(self) -> Array:
        """α = 2 − 1/β, K(u) = (1 + u)^{−α}."""
        return 2 - 1 / self.capacity

    def kernel(self, u: Array, derivative: int = 0) -> Array:
        """K(u) = (1 + u)^{−α} or its first or second derivative."""
        a = self.kernel_exponent
        coef = (1.0, -a, a * (a + 1))[derivative]
        return coef * positive_power(1 + u, -a - derivative)

    def _decay(self, t: Array, derivative: int = 0) -> Array:
        # e(t) = (1 + t)^{−s} and its derivatives
        s = self.source
        coef = (1.0, -s, s * (s + 1))[derivative]
        return coef * positive_power(1 + t, -s - derivative)

    def kernel_sum_of_exponentials(self) -> tuple[Array, Array]:
        """(w_j, x_j) with K(u) ≈ Σ_j w_j e^{−x_j u} for 0 ≤ u ≤ 10¹³ (trapezoid rule in log x) [D]."""
        a, h = self.kernel_exponent, _NODES[1] - _NODES[0]
        return h * jnp.exp(a * _NODES - jnp.exp(_NODES) - gammaln(a)), jnp.exp(_NODES)

    # --- the state recursion ------------------------------------------------------------------------------

    def initial_state(self):
        return jnp.zeros((), self.source.dtype), jnp.zeros(_NODES.shape, self.source.dtype)

    def step(self, state, controls, k):
        t, modes = state
        eta = controls[0]
        _, x = self.kernel_sum_of_exponentials()
        forcing = self.noise + (self._decay(t) if self.variant == "multiplicative" else 0.0)
        return t + eta, jnp.exp(-x * eta) * modes + eta**2 * forcing

    def loss(self, state):
        t, modes = state
        w, _ = self.kernel_sum_of_exponentials()
        return self._decay(t) + w @ modes

    def loss_curve(self, controls):
        """(final state, E_k at every node k = 0…N): the recursion of `step`, in two levels of √N sequential steps.

        S_k = d_k ⊙ S_{k−1} + b_k with d_k = e^{−xη_k}, b_k = η_k²g_k is linear, so the N steps split into √N
        chunks: a scan along the chunks' positions (all chunks at once) gives each chunk's own contribution, a scan
        over the chunks carries the state across chunk boundaries, and a second scan along the positions adds the
        carried state's decay. Same numbers as unrolling `step` (to rounding: every term is positive), with about
        2√N sequential steps instead of N.
        """
        eta = jnp.reshape(controls[:, 0] if controls.ndim == 2 else controls, (-1,))
        n = eta.shape[0]
        t = jnp.cumsum(eta)
        before = t - eta
        forcing = self.noise + (self._decay(before) if self.variant == "multiplicative" else 0.0)
        w, x = self.kernel_sum_of_exponentials()
        length = max(1, int(math.ceil(math.sqrt(n))))
        chunks = -(-n // length)
        pad = chunks * length - n  # padded steps: η = 0, b = 0, so the state stands still
        grid = lambda a: jnp.pad(a, (0, pad)).reshape(chunks, length).T  # (position, chunk)  # noqa: E731
        eta_g, b_g = grid(eta), grid(eta**2 * forcing)

        def along(carry, inputs):  # one position of every chunk at once
            e, b = inputs
            carry = jnp.exp(-e[:, None] * x) * carry + b[:, None]
            return carry, carry @ w

        zeros = jnp.zeros((chunks, x.shape[0]), eta.dtype)
        local_end, local = jax.lax.scan(along, zeros, (eta_g, b_g))
        span = jnp.sum(eta_g, axis=0)  # intrinsic time of each chunk

        def across(state, inputs):  # the state at each chunk's start
            s, end = inputs
            return jnp.exp(-s * x) * state + end, state

        final, starts = jax.lax.scan(across, zeros[0], (span, local_end))
        _, carried = jax.lax.scan(lambda c, e: along(c, (e, jnp.zeros_like(e))), starts, eta_g)
        noise_term = (local + carried).T.reshape(-1)[:n]
        losses = self._decay(t) + noise_term
        x0 = self.initial_state()
        return (t[-1], final), jnp.concatenate([jnp.reshape(self.loss(x0), (1,)), losses])

    def params(self):
        return {"source": float(self.source), "capacity": float(self.capacity), "noise": float(self.noise),
                "eta_max": float(self.eta_max), "variant": self.variant}

    # --- the O(N) closed-form objective ---------------------------------------------------------------------

    def _terms(self, rates):
        eta = jnp.reshape(rates, (-1,))
        before = _prefix_exclusive(eta)  # t_{k−1}
        remaining = _suffix_exclusive(eta)  # R_k
        total = jnp.sum(eta)
        if self.variant == "multiplicative":
            forcing = self.noise + self._decay(before)
        else:
            forcing = jnp.broadcast_to(self.noise, eta.shape)
        return eta, before, remaining, total, forcing

    def final_loss(self, rates: Array) -> Array:
        """E_N(η) in O(N): e(T) + Σ_k η_k² g_k K(R_k), g_k = σ² (+ e(t_{k−1}) for the multiplicative variant).

        `rates` has shape (N,) or (N, 1). Its jax.grad is O(N) too (cumsum transposes to a reversed cumsum).
        """
        eta, _, remaining, total, forcing = self._terms(rates)
        return self._decay(total) + jnp.sum(eta**2 * forcing * self.kernel(remaining))

    def final_loss_grad(self, rates: Array) -> Array:
        """∂E_N/∂η_j by hand, O(N) [D]:

            −s(1+T)^{−s−1} + 2η_j g_j K(R_j) + Σ_{k<j} η_k² g_k K′(R_k) + Σ_{k>j} η_k² g′(t_{k−1}) K(R_k)

        (R_k depends on η_j iff j > k; t_{k−1} iff j < k; g′ = e′ for the multiplicative variant, else 0).
        An independent check of jax.grad of `final_loss` (computed by `final_loss_grad_curvature`).
        """
        return self.final_loss_grad_curvature(rates)[1]

    def rate_curvature(self, rates: Array) -> Array:
        """The diagonal of the Hessian of E_N in the per-step rates, exact and O(N) [D]:

            s(s+1)(1+T)^{−s−2} + 2g_j K(R_j) + Σ_{k<j} η_k² g_k K″(R_k) + Σ_{k>j} η_k² g″(t_{k−1}) K(R_k),

        every term positive (computed by `final_loss_grad_curvature`, as the diagonal of its exact Hessian).
        """
        curv = self.final_loss_grad_curvature(rates)[2]
        return curv.diagonal() if isinstance(curv, MinKernelHessian) else curv

    def final_loss_grad_curvature(self, rates: Array) -> tuple[Array, Array, Array | MinKernelHessian]:
        """(E_N, ∂E_N/∂η, curvature) in one O(N) pass — the formulas of `final_loss`, `final_loss_grad` and
        `rate_curvature` sharing one power of 1 + R_k (K′ = −αK/(1+R), K″ = α(α+1)K/(1+R)²). What `Direct` runs.

        The curvature is the whole Hessian, exact, as a `MinKernelHessian` [D]. Of the additive variant: for j < l
        only steps k ≤ j have both R_k and (for k = j) the weight η_j² depend on both rates, so

            ∂²E_N/∂η_j∂η_l = F_min(j,l),  F_m = e″(T) + 2η_m σ² K′(R_m) + Σ_{k<m} η_k² σ² K″(R_k),
            ∂²E_N/∂η_j² = D_j + F_j,  D_j = 2σ²(K(R_j) − η_j K′(R_j)) > 0,

        and `Direct` takes projected Newton steps with it, solved in O(N). The multiplicative variant's forcing
        g_k = σ² + e(P_k), P_k = t_{k−1}, couples every step to the steps before it too, which adds G_max(j,l) [D]:
        with A_m = Σ_{k<m} η_k² e′(P_k)K′_k, a_m = η_m² e′(P_m)K′_m and B_m = Σ_{k>m} η_k² e″(P_k)K_k,

            F_m = e″(T) + 2η_m g_m K′(R_m) + Σ_{k<m} η_k² g_k K″(R_k) − A_m − a_m,
            G_m = A_m + 2η_m e′(P_m) K(R_m) + B_m,
            D_j = 2g_j(K(R_j) − η_j K′(R_j)) + a_j − 2η_j e′(P_j) K(R_j) > 0.

        Checked against jax.grad, jax.hessian and finite differences of `final_loss` (tests/test_fsl.py)."""
        eta, before, remaining, total, forcing = self._terms(rates)
        a = self.kernel_exponent
        k0 = positive_power(1 + remaining, -a)
        inv = 1 / (1 + remaining)
        k1, k2 = -a * k0 * inv, a * (a + 1) * k0 * inv * inv
        weight = eta**2 * forcing
        value = self._decay(total) + jnp.sum(weight * k0)
        grad = self._decay(total, 1) + 2 * eta * forcing * k0 + _prefix_exclusive(weight * k1)
        nested = self._decay(total, 2) + _prefix_exclusive(weight * k2)  # e″(T) + Σ_{k<j} η_k² g_k K″(R_k)
        if self.variant == "multiplicative":
            e1 = self._decay(before, 1)
            grad = grad + _suffix_exclusive(eta**2 * e1 * k0)
            later = _suffix_exclusive(eta**2 * self._decay(before, 2) * k0)  # B_m = Σ_{k>m} η_k² e″(t_{k−1}) K_k
            cross = eta**2 * e1 * k1  # η_k² e′(t_{k−1}) K′_k
            earlier = _prefix_exclusive(cross)  # A_m
            min_part = nested + 2 * eta * forcing * k1 - earlier - cross
            max_part = earlier + 2 * eta * e1 * k0 + later
            # D_j = H_jj − F_j − G_j with H_jj = e″(T) + 2g_jK_j + C_j + B_j, written without the cancellation
            diagonal = 2 * forcing * (k0 - eta * k1) + cross - 2 * eta * e1 * k0
            return value, grad, MinKernelHessian(diagonal, min_part, max_part)
        return value, grad, MinKernelHessian(2 * forcing * (k0 - eta * k1), nested + 2 * eta * forcing * k1)

    # --- the continuous-time form -------------------------------------------------------------------------

    def continuous_final_loss(self, rates: Array, z: Array) -> Array:
        """E for a schedule η(z) sampled at increasing points z (z₀ = 0, z_end = N), by the trapezoid rule:
        t(z) = ∫₀ᶻ η, T = t(N), E = e(T) + ∫₀ᴺ η(z)² g(t(z)) K(T − t(z)) dz.

        It differs from the discrete E_N by the sum-vs-integral error of one step in remaining intrinsic time,
        relatively O(η/(1 + R)) near the end of training, which vanishes as N grows at a fixed shape.
        """
        rates, z = jnp.asarray(rates, float), jnp.asarray(z, float)
        dz = jnp.diff(z)
        pieces = 0.5 * (rates[1:] + rates[:-1]) * dz  # ∫ η over each interval
        t = jnp.concatenate([jnp.zeros(1), jnp.cumsum(pieces)])
        total = t[-1]
        remaining = jnp.concatenate([jnp.cumsum(pieces[::-1])[::-1], jnp.zeros(1)])  # T − t, summed from the end
        g = self.noise + (self._decay(t) if self.variant == "multiplicative" else 0.0)
        f = rates**2 * g * self.kernel(remaining)
        return self._decay(total) + jnp.sum(0.5 * (f[1:] + f[:-1]) * dz)

    # --- closed forms (lrcontrol.systems.fsl_laws) ------------------------------------------------------------

    def phase(self) -> str:
        """'easy' (s > 1 − 1/β), 'hard' (s < 1 − 1/β) or 'boundary' [P]."""
        return fsl_laws.phase(float(self.source), float(self.capacity))

    def exponents(self) -> dict[str, float]:
        """Predicted exponents of the optimum (`fsl_laws.exponents`)."""
        return fsl_laws.exponents(float(self.source), float(self.capacity))

    def exact_law(self, steps: int, c) -> Array:
        """min{η_max, c[1 + c(N − z)/(2β)]^{2β−1}}, z = 1…N [D] (`fsl_laws.exact_law`)."""
        return fsl_laws.exact_law(self, steps, c)

    def exact_optimum(self, steps: int):
        """(rates, c, E_N) of the exact finite-N law with c from a 1-D search [D] (`fsl_laws.exact_optimum`)."""
        return fsl_laws.exact_optimum(self, steps)

    def continuous_optimum(self, steps: float) -> dict:
        """The continuous semi-analytic optimum, both branches [D] (`fsl_laws.continuous_optimum`)."""
        return fsl_laws.continuous_optimum(self, steps)

    def optimal_schedule(self, problem):
        """The exact finite-N law on the problem's grid (one rate per step) [D], for the CLI's closed-form check.

        Raises `NoClosedForm` for the multiplicative variant, for control blocks longer than one step (the law
        is per step), for objectives other than the final loss and for bounds other than [0, η_max]."""
        from .._schedule import Schedule

        rates, _, _ = self._exact_for(problem)
        return Schedule(rates, problem.grid())

    def optimal_objective(self, problem) -> Array:
        """E_N at the exact finite-N law (the discrete optimum's value, not a continuum limit)."""
        return self._exact_for(problem)[2]

    def optimal(self, problem):
        """(`optimal_schedule`, `optimal_objective`) from one search for c."""
        from .._schedule import Schedule

        rates, _, value = self._exact_for(problem)
        return Schedule(rates, problem.grid()), value

    def _exact_for(self, problem):
        from ..objectives import FinalLoss

        if not isinstance(problem.objective, FinalLoss) or problem.blocks != problem.steps:
            raise NoClosedForm("the exact finite-N law is per step, for the final-loss objective: use one block "
                               "per step.")
        if (float(problem.lower[0]), float(problem.upper[0])) != (0.0, float(self.eta_max)):
            raise NoClosedForm(f"the exact finite-N law is for rates in [0, eta_max] = "
                               f"[0, {float(self.eta_max):g}]; this problem's bounds are {problem.bounds}.")
        return fsl_laws.exact_optimum(self, problem.steps)

    # --- convenience ------------------------------------------------------------------------------------

    def problem(self, horizon: int, blocks: int | None = None):
        """`ControlProblem(self, FinalLoss(), horizon, blocks, bounds={"lr": (0, eta_max)})`."""
        from .._problem import ControlProblem
        from ..objectives import FinalLoss

        return ControlProblem(self, FinalLoss(), horizon, blocks=blocks,
                              bounds={"lr": (0.0, float(self.eta_max))})
