"""Direct method: differentiate the discretised objective through the unrolled dynamics and minimise it."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import InputError, check_int, check_real
from .._hessian import MinKernelHessian
from .._hessian_products import HessianProducts
from . import _lbfgsb
from ._base import AbstractSolver


LARGE = 100_000  # controls from which the default L-BFGS history is 5 pairs, not 10


class Direct(AbstractSolver):
    """Gradient through the unrolled dynamics (`lax.scan`, checkpointed) + projected L-BFGS on the box (projected
    Newton where the problem hands over an exact structured Hessian: `newton`).

    The discretisation is piecewise-constant controls on the problem's grid with the system's exact flow (or
    RK4) per cell, so the answer is the exact optimum of that discrete problem; it converges to the
    continuous optimum as steps grow (at second order in the cell size for smooth optima: the
    midpoint-sampled continuous optimum is within O(h²) of the best piecewise-constant control).

    **Arguments:**

    - `rtol`, `atol`: stop when the sup-norm of the projected function-space gradient is at most
      atol + rtol × its value at the initial guess. The objective's round-off limits attainable
      stationarity to roughly √(ε·|J|·curvature) (about 1e-8 relative for the perceptron in float64, and
      for teacher–student at horizon 8 and 1600 steps). When the iterations stall or the line search fails
      before the tolerance, the stop is judged against that floor, measured at the answer (`_lbfgsb._Probes`:
      J's noise, max(spread under 4-ulp perturbations, ε·|J|·√n), against the decrease a Newton step along
      the projected gradient or the quasi-Newton direction would still make, from finite-difference
      curvatures): below it the solve reports "converged to <precision> round-off: projected gradient X,
      floor Y"; above it, not converged with the reason. The same probes report an objective that keeps
      decreasing as a control with no upper bound grows (not converged, "unbounded"), verify a start that was
      already stationary to round-off by trial steps (and name the controls the objective does not depend
      on), and name non-finite values. They cost 2 evaluations per control without an upper bound on a solve
      that reached its tolerance (8 more where a verdict needs them), made by the iteration loop's own call
      of the objective (no second copy of it is compiled).
    - `max_steps`: iteration cap (the solve then reports `converged = False`).
    - `history`: number of L-BFGS correction pairs; default (None) 10, or 5 for 10⁵ controls or more — there the
      pairs' passes over memory at every iteration (six of 2·history·n numbers) cost as much as an evaluation of an
      O(N) objective, and fewer pairs did not cost iterations on the large problems measured (README, Scale).
    - `precondition`: where the problem knows its Hessian's diagonal (`problem.value_grad_curvature` returns one:
      random features, the quadratic, the last-iterate bound, the multiplicative FSL and the loss-curve laws under
      the final loss), use it as the L-BFGS initial matrix. Long per-step random-features schedules converge in
      tens of iterations instead of thousands (benchmarks/random_features_peers.py); the answer is the same
      stationary point, only reached faster. Where the problem has no curvature (None) L-BFGS runs
      unpreconditioned; with `precondition=False` the gradient is `jax.grad` of `problem.cost` (and no Newton
      steps).
    - `newton`: where the problem hands over its exact Hessian in a structured form (`MinKernelHessian`: the FSL's
      two variants, per step or in control blocks), take projected Newton steps instead of L-BFGS ones — the Hessian
      restricted to the free controls solved in O(n) — wherever that restricted Hessian is positive definite, and
      diagonal Newton steps where it is not (on the FSL's early iterates, far from the optimum): the last steps
      converge quadratically (default True). False: L-BFGS preconditioned by that Hessian's diagonal (the same
      stationary point; benchmarks/fsl_scaling.py compares). Where it hands over only `HessianProducts` (the FSL
      law's schedule), the Newton step is solved by damped, truncated conjugate gradients on Hessian–vector
      products; False: L-BFGS preconditioned by its diagonal estimate.
    """

    name: ClassVar[str] = "direct"
    residual_name: ClassVar[str] = "projected_grad_norm"
    implicit: ClassVar[bool] = True
    chunked: ClassVar[bool] = True

    rtol: float = eqx.field(static=True, default=1e-8)
    atol: float = eqx.field(static=True, default=0.0)
    max_steps: int = eqx.field(static=True, default=5000)
    history: int | None = eqx.field(static=True, default=None)
    precondition: bool = eqx.field(static=True, default=True)
    newton: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        check_real("rtol", self.rtol, lo=0.0)
        check_real("atol", self.atol, lo=0.0)
        check_int("max_steps", self.max_steps, lo=1)
        if self.history is not None:
            check_int("history", self.history, lo=1)
        for name in ("precondition", "newton"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}.")

    def pairs(self, controls: int) -> int:
        """The number of L-BFGS correction pairs for a problem with `controls` controls (`history`)."""
        return self.history if self.history is not None else (10 if controls < LARGE else 5)

    def _minimiser(self, problem, shape, dtype):
        m = shape[1]
        lower = jnp.broadcast_to(jnp.asarray(problem.lower, dtype), shape).reshape(-1)
        upper = jnp.broadcast_to(jnp.asarray(problem.upper, dtype), shape).reshape(-1)
        # one control block per update of a discrete system: unit weights (None), no scaling passes
        unit = problem.is_discrete and problem.blocks == problem.steps
        weights = None if unit else jnp.repeat(problem.block_lengths(), m).astype(dtype)
        if self.precondition:
            def value_grad_curvature(x):
                f, g, h = problem.value_grad_curvature(x.reshape(shape))
                if isinstance(h, MinKernelHessian):  # the exact Hessian, over the flattened per-step controls
                    return f, g.reshape(-1), h if self.newton else h.diagonal()
                if isinstance(h, HessianProducts):  # Newton–CG on the Hessian's products, or its diagonal estimate
                    return f, g.reshape(-1), h.reshaped(-1) if self.newton else h.diagonal().reshape(-1)
                return f, g.reshape(-1), None if h is None else h.reshape(-1)
        else:
            def value_grad_curvature(x):
                f, g = jax.value_and_grad(lambda y: problem.cost(y.reshape(shape)))(x)
                return f, g, None
        return _lbfgsb.minimiser(value_grad_curvature, lower, upper, weights, rtol=self.rtol, atol=self.atol,
                                 max_steps=self.max_steps, history=self.pairs(shape[0] * m), columns=m,
                                 upper_infinite=tuple(bool(np.isinf(b)) for b in problem.upper))

    def run(self, problem, u0):
        # one minimiser for the three parts: building one traces the objective (for the curvature's shape)
        m = self._minimiser(problem, u0.shape, u0.dtype)
        return self._reshaped(problem, *m.finish(m.run(m.init(u0.reshape(-1)), self.max_steps)))

    # The same solve in parts (`lrc.solve` runs them in compiled chunks to show its progress line between them).

    def start(self, problem, u0):
        """The iteration state at the initial guess `u0` (shape (blocks, controls))."""
        return self._minimiser(problem, u0.shape, u0.dtype).init(u0.reshape(-1))

    def advance(self, problem, state, until):
        """The state after iterating while not stopped, up to iteration `until` (a traced integer is fine)."""
        return self._minimiser(problem, self._shape(problem), state.v.dtype).run(state, until)

    def finish(self, problem, state):
        """(controls, `Info`) from a final state: the stop judged against the objective's round-off."""
        return self._reshaped(problem, *self._minimiser(problem, self._shape(problem), state.v.dtype).finish(state))

    def _reshaped(self, problem, x, info):
        shape = self._shape(problem)
        return x.reshape(shape), info._replace(grad=info.grad.reshape(shape))

    def status(self, problem, state):
        """(iteration, objective, projected gradient norm, tolerance, still running) of a state."""
        return self._minimiser(problem, self._shape(problem), state.v.dtype).status(state)

    @staticmethod
    def _shape(problem):
        return problem.blocks, len(problem.control_names)
