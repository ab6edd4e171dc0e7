"""What a learning system supplies: a state, its dynamics under the controls, and its loss."""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree, Scalar

from .._scan import default_chunk, scan
from .._errors import NoClosedForm, Overflow, Param, check_parameters, with_defaults
from .._hessian import MinKernelHessian
from .._hessian_products import HessianProducts


def positive_power(base: Array, exponent) -> Array:
    """base^exponent for base > 0 as exp(exponent·log base): a general `**` costs about a log and an exp more on
    CPU, which at N = 10⁶ rates is a pass over memory per power (the closed-form losses of FSL and the laws)."""
    return jnp.exp(exponent * jnp.log(base))


class AbstractSystem(eqx.Module):
    """A learning system whose training is steered by one or more controls (the learning rate first).

    Subclasses set `name` (the CLI's name), `control_names` (the first is the learning rate),
    `control_defaults` (used for the initial guess of controls other than the first) and `parameters` (one `Param`
    per constructor argument: allowed range and one-line doc; the default lives in the constructor's signature),
    and implement `initial_state` and `loss`. The constructor checks its arguments with `_checked`; the CLI's
    registry and `lrcontrol list` read the same specs (`parameter_specs`).
    """

    name: ClassVar[str]
    control_names: ClassVar[tuple[str, ...]] = ("lr",)
    control_defaults: ClassVar[tuple[float, ...]] = (0.0,)
    parameters: ClassVar[tuple[Param, ...]] = ()
    overflow: ClassVar[tuple[Overflow, ...]] = ()  # derived quantities that must stay finite float64

    @classmethod
    def parameter_specs(cls) -> tuple[Param, ...]:
        """`parameters` with their defaults (read from the constructor's signature)."""
        return with_defaults(cls, cls.parameters)

    @classmethod
    def _checked(cls, **values) -> dict:
        """The constructor's arguments checked against `parameters` and `overflow` (whole numbers as int): one
        sentence naming the first bad parameter. Traced values (jit/vmap/grad) pass unchecked."""
        return check_parameters(cls.parameters, values, cls.overflow)

    @abc.abstractmethod
    def initial_state(self) -> PyTree[Array]:
        """The state at t = 0."""

    @abc.abstractmethod
    def loss(self, state: PyTree[Array]) -> Scalar:
        """The loss L(x) that training lowers (performance P = -L)."""

    def params(self) -> dict[str, float]:
        """Public parameters, by their unambiguous names (for JSON output)."""
        return {}

    def prepare_controls(self, u: Float[Array, "n m"]) -> Float[Array, "n m"]:
        """The per-cell controls the dynamics receive, from those a solver chooses, all n cells at once.

        The identity, except for a system whose controls are coupled across cells (a data budget Σ_t m_t held by
        a softmax over the steps: `RandomFeaturesBatch`). `ControlProblem` applies it after expanding blocks to
        cells and before rolling out; the objective's control cost sees the chosen controls.
        """
        return u

    # --- closed forms: each raises NoClosedForm unless a system knows one ----------------------------------

    closed_form_label: ClassVar[str] = "closed form"  # what `optimal_objective` is, for tables and figures

    def optimal_schedule(self, problem):
        """The known optimal schedule (an `lrc.Schedule` on the problem's grid); raises `NoClosedForm` if none."""
        raise NoClosedForm(f"no closed-form optimum is known for the system '{self.name}'.")

    def optimal_objective(self, problem) -> Scalar:
        """The known optimal objective J*; raises `NoClosedForm` if none."""
        raise NoClosedForm(f"no closed-form optimum is known for the system '{self.name}'.")

    def optimal(self, problem):
        """(`optimal_schedule`, `optimal_objective`) together; a system overrides it where both share one costly
        computation (FSL's search for c)."""
        return self.optimal_schedule(problem), self.optimal_objective(problem)

    def initial_controls(self, problem):
        """Where solvers start, shape (blocks, controls); None (the default): the best constant learning rate
        (`lrcontrol._guess.initial_guess`). A system overrides it where that start is poor (a symmetric objective
        whose constant schedules are stationary points: `Quadratic`)."""
        return None

    def objective_report(self, problem, controls) -> dict:
        """Numbers that say what solved controls achieve where the problem's objective is only a surrogate of the
        quantity of interest (the quadratic's exact worst-case factor beside its closed-form minimax). Default:
        nothing to add."""
        return {}

    def state_domain(self) -> tuple[tuple[float, float], ...] | None:
        """A box (lo, hi) per state coordinate (state flattened) that optimal trajectories stay in, for solvers
        that grid the state space (HJB). None when the system does not know one."""
        return None


class AbstractContinuousSystem(AbstractSystem):
    """Gradient-flow systems: dx/dt = f(t, x, u), with `horizon` a time T."""

    @abc.abstractmethod
    def vector_field(self, t: Scalar, state: PyTree[Array], controls: Float[Array, " m"]) -> PyTree[Array]:
        """dx/dt with the controls held at `controls`."""

    def flow(self, state: PyTree[Array], controls: Float[Array, " m"], dt: Scalar,
             discount: Scalar) -> tuple[PyTree[Array], Scalar] | None:
        """Exact flow over one cell of length dt with constant controls.

        Returns the state at the end of the cell and ∫₀^dt e^{-discount·s} L(x(s)) ds; None (the default) where
        the system has none: its default integrator is then RK4 (`lrcontrol._integrate.default_integrator`).
        """
        return None

    def parallel_flow(self, u: Float[Array, "n m"], dts: Float[Array, " n"], discount: Scalar
                      ) -> tuple[PyTree[Array], Float[Array, " n"]] | None:
        """The exact flow over all cells at once, for systems whose trajectory is a closed-form function of
        the cumulative controls; None (the default) where the system has none (cells are then scanned).

        Returns the states at the n+1 grid nodes (stacked on a leading axis) and, per cell,
        ∫₀^dt e^{-discount·s} L(x(s)) ds from the cell's start (as `flow` does). Same numbers as scanning
        `flow`, in O(n log n) vectorised work instead of n sequential steps.
        """
        return None


class AbstractDiscreteSystem(AbstractSystem):
    """SGD recursions: x_{k+1} = F(x_k, u_k, k), with `horizon` the number of steps."""

    @abc.abstractmethod
    def step(self, state: PyTree[Array], controls: Float[Array, " m"], k: Array) -> PyTree[Array]:
        """One training step with controls `controls` at step index k."""

    def final_loss(self, controls: Float[Array, "n m"]) -> Scalar:
        """The loss after all n steps as a function of every step's controls (after `prepare_controls`).

        The default unrolls `step` from `initial_state` (`lax.scan`, checkpointed in chunks of ~√n above 4096
        steps, as `ControlProblem` unrolls). A system overrides it with a closed form (FSL: O(n) prefix/suffix
        sums; the loss-curve laws); `ControlProblem` computes a final-loss objective through it.
        """
        def body(state, inputs):
            k, u = inputs
            return self.step(state, u, k), None

        n = controls.shape[0]
        xs = (jnp.arange(n, dtype=jnp.int32), controls)
        xT, _ = scan(body, self.initial_state(), xs, n, default_chunk(n))
        return self.loss(xT)

    def final_loss_grad_curvature(
            self, controls: Float[Array, "n m"]
    ) -> tuple[Scalar, Float[Array, "n m"], Float[Array, "n m"] | MinKernelHessian | HessianProducts | None]:
        """(L_N, ∂L_N/∂u, curvature) in the chosen per-step controls u (before `prepare_controls`); the curvature is
        diag ∂²L_N/∂u², the whole Hessian as a `MinKernelHessian`, or None.

        What `ControlProblem.value_grad_curvature` asks of a discrete system under a final-loss objective. The
        default: `jax.value_and_grad` of `final_loss ∘ prepare_controls`, and curvature None (unknown: the solver
        does not precondition). A one-control system overrides it to hand over the exact Hessian diagonal (its
        `rate_curvature`: random features, the quadratic, the last-iterate bound) or value, gradient and diagonal
        in one fused pass (the loss-curve laws); such an override may return arrays of shape (n,) for u of shape
        (n, 1). Where the whole Hessian is a diagonal plus a matrix whose (j, l) entry depends on min(j, l) only
        (FSL's additive variant), returning it as a `MinKernelHessian` makes `Direct` take Newton steps; returning a
        diagonal estimate as `HessianProducts` makes it take Newton–CG steps on Hessian–vector products instead
        (`LawSchedule` under the FSL law).
        """
        value, grad = jax.value_and_grad(lambda c: self.final_loss(self.prepare_controls(c)))(controls)
        return value, grad, None

    def loss_curve(self, controls: Float[Array, "n m"]) -> tuple[PyTree[Array], Float[Array, " n+1"]]:
        """(state after all n steps, the loss at the n+1 nodes: before any step, after step 1, …, after step n).

        The default unrolls `step` from `initial_state` with `lax.scan`. `ControlProblem` records a final-loss
        solve's curve through it; a system overrides it with a closed form or a parallel scan (the loss-curve
        laws, whose prediction needs the whole schedule rather than a finite state).
        """
        def body(state, inputs):
            k, u = inputs
            new = self.step(state, u, k)
            return new, self.loss(new)

        x0 = self.initial_state()
        xT, losses = jax.lax.scan(body, x0, (jnp.arange(controls.shape[0]), controls))
        return xT, jnp.concatenate([jnp.reshape(self.loss(x0), (1,)), losses])
