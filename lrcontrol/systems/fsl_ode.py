"""The functional scaling law as a loss ODE: the FSL of Li et al. (arXiv 2509.19189, 2602.06797) in a continuous
step index z ∈ [0, N], with the learning rate η(z) a continuous control.

With the kernel as a sum of exponentials, K(u) ≈ Σ_j w_j e^{−x_j u} (`FSL.kernel_sum_of_exponentials`), the state
(t, S) — intrinsic time and one mode per node — obeys [D]

    dt/dz = η,    dS_j/dz = −x_j η S_j + η² g(t),    g = σ² (additive) or σ² + e(t) (multiplicative),

from t = S = 0, so that S_j(z) = ∫₀ᶻ η² g e^{−x_j (t(z) − t(z′))} dz′ and the loss "if training stopped at z" is

    E(z) = e(t(z)) + Σ_j w_j S_j(z),    E(N) = e(T) + ∫₀ᴺ η(z)² g(t(z)) K(T − t(z)) dz,

the continuous FSL functional (`FSL.continuous_final_loss`). Its optimum for the additive variant is
`fsl_laws.continuous_optimum` [D]; the discrete E_N of `FSL` differs from it by the sum-vs-integral error of the
last steps, which vanishes as N grows.

The ODE is stiff: mode j decays at the rate x_j η, up to e⁴·η_max ≈ 55·η_max per unit step, so an explicit
integrator needs steps h with 55·η_max·h inside its stability interval (`problem` picks RK4 substeps for that),
where an implicit one (`lrc.Diffrax.named("kvaerno5")`) does not. The discrete `FSL` sums the same modes exactly
step by step; this system is its continuum limit, for the ODE solvers (Direct through any integrator, Pontryagin
shooting with costates by autodiff).
"""

import math
from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array

from .._errors import InputError, NoClosedForm
from . import fsl_laws
from ._base import AbstractContinuousSystem
from .fsl import FSL

# RK4 is stable on the negative real axis for |λh| ≤ 2.78; `problem` keeps the fastest mode at |λh| ≤ 2.
_RK4_STABLE_STEP = 2.0
_MAX_SUBSTEPS = 100_000  # per cell: beyond this an explicit integrator is the wrong tool


class FSLLossODE(AbstractContinuousSystem):
    """The FSL as an ODE in the step index (time = steps), one continuous learning rate (module docstring).

    State: (t, S) — intrinsic time and the kernel's exponential modes. Loss: E(z) = e(t) + Σ_j w_j S_j, the FSL
    risk minus σ²/2 (and minus the M^{−sβ} floor), as in `FSL`.

    **Arguments** (those of `FSL`):

    - `source`: s > 0 (e(t) = (1 + t)^{−s}).
    - `capacity`: β > 1 (K(u) = (1 + u)^{−(2 − 1/β)}).
    - `noise`: σ²/B ≥ 0.
    - `eta_max`: the learning-rate cap η_max > 0 (`problem` puts it in the bounds and sizes RK4 substeps by it).

    `ControlProblem` on this system without an integrator gets RK4 with one substep per cell, which is unstable
    unless the cells are short (55·η_max·h ≤ 2.8): build problems with `problem`, or pass an integrator.
    - `variant`: "additive" or "multiplicative".
    """

    name: ClassVar[str] = "fsl_ode"
    closed_form_label: ClassVar[str] = "continuous optimum (fsl_laws.continuous_optimum)"
    parameters: ClassVar = FSL.parameters
    overflow: ClassVar = FSL.overflow

    law: FSL

    def __init__(self, source=1.0, capacity=2.0, noise=1.0, eta_max=1.0, variant: str = "additive"):
        self.law = FSL(source=source, capacity=capacity, noise=noise, eta_max=eta_max, variant=variant)

    variant = property(lambda self: self.law.variant)
    eta_max = property(lambda self: self.law.eta_max)

    def params(self):
        return self.law.params()

    def _forcing(self, t):
        law = self.law
        return law.noise + (law._decay(t) if law.variant == "multiplicative" else 0.0)

    def initial_state(self):
        return self.law.initial_state()

    def loss(self, state):
        return self.law.loss(state)

    def vector_field(self, t, state, controls):
        time, modes = state
        eta = controls[0]
        _, x = self.law.kernel_sum_of_exponentials()
        return eta, -x * eta * modes + eta**2 * self._forcing(time)

    # --- closed forms --------------------------------------------------------------------------------------

    def constant_rate_loss(self, rate, steps) -> Array:
        """E(N) under a constant rate η, additive variant [D]: e(ηN) + σ²η[(1 + ηN)^{1−α} − 1]/(1 − α), α = 2 − 1/β
        (the integral of η²σ²K(η(N − z)) over z, exactly; no kernel approximation)."""
        law = self.law
        if law.variant != "additive":
            raise NoClosedForm("the constant-rate loss is closed-form for the additive variant only.")
        a, total = law.kernel_exponent, rate * steps
        return law._decay(total) + law.noise * rate * jnp.expm1((1 - a) * jnp.log1p(total)) / (1 - a)

    def continuous_optimum(self, steps: float) -> dict:
        """The optimum of this functional over N steps, additive variant (`fsl_laws.continuous_optimum`) [D]."""
        return fsl_laws.continuous_optimum(self.law, steps)

    def optimal_rate(self, steps: float, z: Array) -> Array:
        """η*(z) = min{η_max, c[1 + c(N − z)/(2β)]^{2β−1}} with c from `continuous_optimum` [D]."""
        c, b = self.continuous_optimum(steps)["c"], self.law.capacity
        return jnp.minimum(self.law.eta_max, c * (1 + c * (steps - jnp.asarray(z)) / (2 * b)) ** (2 * b - 1))

    def optimal_schedule(self, problem):
        """`optimal_rate` at the cells' midpoints (the continuous optimum, which the piecewise-constant optimum
        approaches at second order in the cell length) [D]; `NoClosedForm` where it does not apply."""
        from .._schedule import Schedule

        self._check_closed_form(problem)
        grid = problem.grid()
        return Schedule(self.optimal_rate(problem.horizon, 0.5 * (grid[1:] + grid[:-1])), grid)

    def optimal_objective(self, problem) -> Array:
        """E* of the continuous optimum (a lower bound on every piecewise-constant schedule's E) [D]."""
        self._check_closed_form(problem)
        return jnp.asarray(self.continuous_optimum(problem.horizon)["loss"])

    def _check_closed_form(self, problem):
        from ..objectives import FinalLoss

        if self.law.variant != "additive":
            raise NoClosedForm("the continuous optimum is known for the additive variant only.")
        if not isinstance(problem.objective, FinalLoss) or problem.objective.discount_rate != 0:
            raise NoClosedForm("the continuous optimum is for the final-loss objective.")
        if (float(problem.lower[0]), float(problem.upper[0])) != (0.0, float(self.law.eta_max)):
            raise NoClosedForm(f"the continuous optimum is for rates in [0, eta_max] = "
                               f"[0, {float(self.eta_max):g}]; "
                               f"this problem's bounds are {problem.bounds}.")

    # --- convenience ---------------------------------------------------------------------------------------

    def stable_substeps(self, cell: float) -> int:
        """RK4 substeps per cell of `cell` steps that keep the fastest mode at |λh| ≤ 2 when η = η_max."""
        _, x = self.law.kernel_sum_of_exponentials()
        fastest = float(jnp.max(x))
        need = fastest * float(self.law.eta_max) * cell / _RK4_STABLE_STEP
        if not need <= _MAX_SUBSTEPS:
            limit = _MAX_SUBSTEPS * _RK4_STABLE_STEP / fastest
            raise InputError(f"eta_max × steps per cell must be at most {limit:.3g} "
                             f"for RK4 (got {float(self.law.eta_max):g} × {cell:g}): use more cells, a smaller "
                             f"eta_max, or an implicit integrator (lrc.Diffrax.named('kvaerno5')).")
        return max(1, math.ceil(need))

    def problem(self, steps: float, cells: int = 200, integrator=None):
        """`ControlProblem(self, FinalLoss(), horizon=steps, steps=cells, bounds={"lr": (0, eta_max)})`, integrated
        by RK4 with `stable_substeps` unless `integrator` is given."""
        from .._integrate import RK4
        from .._problem import ControlProblem
        from ..objectives import FinalLoss

        if integrator is None:
            integrator = RK4(self.stable_substeps(float(steps) / cells))
        return ControlProblem(self, FinalLoss(), horizon=steps, steps=cells,
                              bounds={"lr": (0.0, float(self.law.eta_max))}, integrator=integrator)
