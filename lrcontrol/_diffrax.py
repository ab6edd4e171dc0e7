"""Per-cell integration through `diffrax.diffeqsolve`: any diffrax solver, fixed substeps or adaptive steps.

The controls are piecewise constant on the problem's grid, so each control cell is one initial-value problem with
constant controls and no discontinuity inside it; `rollout` (lrcontrol/_integrate.py) scans these cells in order.
The running cost is integrated in the same solve as an augmented state, q̇ = e^{-ρt} L(x), q(t₀) = 0, so the
objective's quadrature has the solver's order.
"""

from typing import ClassVar

import diffrax
import equinox as eqx
import numpy as np
import optimistix as optx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu

from ._errors import InputError, check_int, check_real

IMPLICIT = (diffrax.AbstractImplicitSolver,)


class Diffrax(eqx.Module):
    """Integrate each control cell with `diffrax.diffeqsolve`.

    **Arguments:**

    - `solver`: any diffrax ODE solver (default `diffrax.Tsit5()`): explicit (Euler, Heun, Ralston, Midpoint,
      Bosh3, Tsit5, Dopri5, Dopri8) or implicit (ImplicitEuler, Kvaerno3/4/5).
    - `substeps`: equal steps per cell when no tolerance is given (fixed-step; the global error is
      O(h^order) in h = cell length / substeps).
    - `rtol`, `atol`: tolerances of an adaptive solve (a `diffrax.PIDController` restarted in every cell, so
      each cell ends exactly on the grid); setting either makes the solve adaptive (the other defaults to
      `rtol`; `substeps` is then ignored).
    - `max_steps`: the most steps one cell may take when adaptive. A cell that needs more ends the solve with a
      non-finite state (the solvers then report the objective as non-finite rather than crash).
    - `adjoint`: how reverse mode differentiates through an adaptive cell's `diffeqsolve`; default
      `diffrax.RecursiveCheckpointAdjoint()` (reverse mode only; `diffrax.ForwardMode()` for forward mode).
      Fixed steps call the solver's `step` in a `lax.scan` (the same steps as `diffeqsolve` with `StepTo`); across
      cells `rollout`'s checkpointed chunks bound reverse-mode memory. A Runge–Kutta `step` loops over its stages
      with diffrax's `scan_kind`: the default carries a custom VJP (reverse mode only: `jax.jvp`/`jax.jacfwd`
      fail), `"lax"` is forward mode only, `"bounded"` (e.g. `diffrax.Tsit5(scan_kind="bounded")`) both, at a
      higher compile and run cost (README, diffrax section). `lrc.RK4` differentiates in both modes at the
      default's speed, which is why it stays hand-written.
    - `loop`: True runs fixed steps through `diffeqsolve` (`StepTo`, with `adjoint`) as well: the same numbers,
      slower (benchmarks/diffrax_vs_rk4.py).

    Implicit solvers at fixed steps need their root finder's tolerances (diffrax takes them from an adaptive
    controller otherwise): pass e.g. `diffrax.Kvaerno5(root_finder=optimistix.Newton(rtol=1e-10, atol=1e-10))`,
    or use `Diffrax.named("kvaerno5")`, which does so. (diffrax's default `VeryChord` reported "diverged" on the
    perceptron's linear ODE at fixed steps, where Newton converges.)
    """

    solver: diffrax.AbstractSolver = diffrax.Tsit5()
    substeps: int = eqx.field(static=True, default=1)
    rtol: float | None = eqx.field(static=True, default=None)
    atol: float | None = eqx.field(static=True, default=None)
    max_steps: int = eqx.field(static=True, default=4096)
    adjoint: diffrax.AbstractAdjoint = diffrax.RecursiveCheckpointAdjoint()
    loop: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if not isinstance(self.solver, diffrax.AbstractSolver):
            raise InputError(f"solver must be a diffrax solver (diffrax.Tsit5(), …), got {self.solver!r}.")
        check_int("substeps", self.substeps, lo=1)
        check_int("max_steps", self.max_steps, lo=1)
        for name in ("rtol", "atol"):
            if getattr(self, name) is not None:
                check_real(name, getattr(self, name), lo=0.0, lo_open=True)

    @property
    def adaptive(self) -> bool:
        return self.rtol is not None or self.atol is not None

    @classmethod
    def named(cls, name: str, **kwargs) -> "Diffrax":
        """The integrator for diffrax's solver of lower-case class name `name` ("tsit5", "kvaerno5", …); an
        implicit solver at fixed steps gets a Newton root finder with tolerances 1e-10 (relative and absolute)."""
        solver_cls = solver_classes().get(name)
        if solver_cls is None:
            raise InputError(f"integrator must be one of {', '.join(sorted(solver_classes()))}, got {name!r}.")
        adaptive = kwargs.get("rtol") is not None or kwargs.get("atol") is not None
        if issubclass(solver_cls, IMPLICIT) and not adaptive:
            solver = solver_cls(root_finder=optx.Newton(rtol=1e-10, atol=1e-10))
        else:
            solver = solver_cls()
        return cls(solver, **kwargs)

    def cell(self, system, state, u, t0, dt, discount):
        """(state at t₀ + dt, ∫_{t₀}^{t₀+dt} e^{-ρt} L(x(t)) dt) with the controls held at u."""

        def rhs(t, y, args):
            x, _ = y
            return system.vector_field(t, x, u), jnp.exp(-discount * t) * system.loss(x)

        zero = jnp.zeros((), jnp.result_type(dt))
        term = diffrax.ODETerm(rhs)
        if not self.adaptive and not self.loop:
            return self._fixed_steps(term, (state, zero), t0, dt)
        if self.adaptive:
            if isinstance(self.solver, ClassicalRK4):
                raise InputError("ClassicalRK4 has no error estimate: use it at fixed steps (no rtol/atol).")
            rtol = self.rtol if self.rtol is not None else self.atol
            atol = self.atol if self.atol is not None else self.rtol
            controller, max_steps = diffrax.PIDController(rtol=rtol, atol=atol), self.max_steps
        else:
            controller = diffrax.StepTo(ts=t0 + dt * jnp.linspace(0.0, 1.0, self.substeps + 1))
            max_steps = self.substeps
        sol = diffrax.diffeqsolve(term, self.solver, t0, t0 + dt, None, (state, zero),
                                  stepsize_controller=controller, saveat=diffrax.SaveAt(t1=True),
                                  max_steps=max_steps, adjoint=self.adjoint, throw=False)
        ok = sol.result == diffrax.RESULTS.successful
        x, q = jtu.tree_map(lambda a: jnp.where(ok, a[0], jnp.nan), sol.ys)
        return x, q

    def _fixed_steps(self, term, y0, t0, dt):
        # `substeps` equal steps of the diffrax solver's own `step`, scanned: the same steps diffeqsolve takes with
        # StepTo, without its per-step loop machinery (step-size control, SaveAt, event checks), which made the
        # per-cell diffeqsolve up to ~3x slower than RK4 on the teacher–student solve (diffrax_vs_rk4 benchmark).
        # Reverse mode then goes through the scan; `rollout`'s chunked checkpointing bounds memory across cells.
        ts = t0 + dt * jnp.linspace(0.0, 1.0, self.substeps + 1)
        solver_state = self.solver.init(term, ts[0], ts[1], y0, None)

        def substep(carry, i):
            y, s, ok = carry
            y, _, _, s, result = self.solver.step(term, ts[i], ts[i + 1], y, None, s, made_jump=False)
            return (y, s, ok & (result == diffrax.RESULTS.successful)), None

        (y, _, ok), _ = jax.lax.scan(substep, (y0, solver_state, jnp.array(True)), jnp.arange(self.substeps))
        x, q = jtu.tree_map(lambda a: jnp.where(ok, a, jnp.nan), y)
        return x, q


class ClassicalRK4(diffrax.AbstractERK):
    """The classical fourth-order Runge–Kutta method as a diffrax solver (diffrax ships none): the same Butcher
    tableau as the hand-written `lrc.RK4`, so `Diffrax(ClassicalRK4(), substeps=k)` gives its numbers through
    diffrax. No embedded error estimate (b_error = 0): fixed steps only."""

    tableau: ClassVar[diffrax.ButcherTableau] = diffrax.ButcherTableau(
        c=np.array([0.5, 0.5, 1.0]), b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]), b_error=np.zeros(4),
        a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])))
    interpolation_cls: ClassVar = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def order(self, terms):
        return 4


def solver_classes() -> dict[str, type]:
    """diffrax's ODE solvers by lower-case class name (those a `Diffrax` integrator accepts by name)."""
    names = ("Euler", "Heun", "Midpoint", "Ralston", "Bosh3", "Tsit5", "Dopri5", "Dopri8",
             "ImplicitEuler", "Kvaerno3", "Kvaerno4", "Kvaerno5")
    return {**{n.lower(): getattr(diffrax, n) for n in names}, "classicalrk4": ClassicalRK4}


def order(solver: diffrax.AbstractSolver) -> int:
    """The solver's order for ODEs (diffrax's own `order`)."""
    return int(solver.order(diffrax.ODETerm(lambda t, y, a: y)))

