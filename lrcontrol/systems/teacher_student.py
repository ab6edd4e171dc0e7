"""Two-layer teacher–student networks with smooth units: erf with the exact population loss, or any of erf/tanh
on a fixed sample of inputs; gradient flow.

Saad & Solla, "On-line learning in soft committee machines", Phys. Rev. E 52, 4225 (1995); used as the nonlinear
test bed of Njaradi, Carrasco-Davis, Latham & Saxe (2026, arXiv 2601.07830), its teacher–student experiments.

Inputs x ~ N(0, I_N). Student ŷ = Σ_i v_i g(λ_i), teacher y = Σ_n v*_n g(ρ_n), with g(x) = erf(x/√2) and
preactivations λ_i = w_i·x/√N, ρ_n = w*_n·x/√N (w_i, w*_n the rows of W, W*). The preactivations are jointly
Gaussian with covariances given by the order parameters

    Q = WWᵀ/N,   R = WW*ᵀ/N,   T = W*W*ᵀ/N,

and for centred Gaussians a, b: E[g(a)g(b)] = (2/π) arcsin(C_ab / √((1 + C_aa)(1 + C_bb))) =: I(C_ab; C_aa, C_bb).
So the population loss L = ½E(ŷ − y)² is exact (no sampling):

    L = ½[ Σ_ij v_i v_j I(Q_ij; Q_ii, Q_jj) − 2 Σ_in v_i v*_n I(R_in; Q_ii, T_nn)
           + Σ_nm v*_n v*_m I(T_nm; T_nn, T_mm) ].

The arcsin arguments stay strictly inside (−1, 1) (Cauchy–Schwarz, and Q_ii/(1 + Q_ii) < 1), so L is smooth
(analytic) in (W, v) everywhere: jax.grad of it can itself be differentiated, as the solvers need.

Dynamics: plain gradient flow of the state {"W", "v"} with learning rate μ = controls[0], ẇ = −μ∇L (no
preconditioning). Time scales: with this normalisation ∂L/∂W is O(1/N) per entry while ∂L/∂v is O(1), so the
readout moves on times of order 1/μ and the first layer (Q, R) on times of order N/μ. No exact flow: the problem
integrates with RK4.

Fixed sample (`samples=P`): the loss is instead the empirical ½·mean_p(ŷ(x_p) − y(x_p))² over P Gaussian inputs
drawn once from the seed, with g = erf(·/√2) or g = tanh (tanh has no closed-form Gaussian average). This is the
"tanh on a fixed sample" variant of Njaradi et al.'s teacher–student set-up: full-batch gradient flow on a training
set, the loss a user would see in practice.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
from jaxtyping import Array, PyTree, Scalar

from .._errors import InputError, Overflow, Param
from ._base import AbstractContinuousSystem

ACTIVATIONS = ("erf", "tanh")
DEFAULT_SAMPLES = 1000  # tanh without a given sample size


def erf_correlation(c: Array, a: Array, b: Array) -> Array:
    """E[g(u)g(w)] for g(x) = erf(x/√2) and centred Gaussians with Var u = a, Var w = b, Cov(u, w) = c."""
    return (2 / jnp.pi) * jnp.arcsin(c / jnp.sqrt((1 + a) * (1 + b)))


def _units(activation: str):
    """The hidden-unit nonlinearity g."""
    if activation == "erf":
        return lambda x: jax.scipy.special.erf(x / jnp.sqrt(2.0))
    return jnp.tanh


class TeacherStudent(AbstractContinuousSystem):
    """Gradient flow of a two-layer student learning a two-layer teacher of the same kind (soft committee).

    State: `{"W": (hidden, inputs) first-layer weights, "v": (hidden,) readout}`; ŷ = Σ_i v_i g(w_i·x/√N).
    With `samples=None` and erf units, L and ∇L are exact functions of the order parameters Q, R, T (module
    docstring; Saad & Solla 1995). With `samples=P`, L is the mean over a fixed sample of P Gaussian inputs.
    ẇ = −μ∇L with μ = controls[0].

    **Arguments:**

    - `inputs`: input dimension N ≥ 1.
    - `hidden`: student hidden units K ≥ 1.
    - `teacher_hidden`: teacher hidden units M ≥ 1 (default: `hidden`).
    - `init_scale`: std σ₀ > 0 of the entries of the student's initial W (small σ₀: Q ≈ σ₀², R ≈ 0, an
      unspecialised student that first learns towards the symmetric plateau, where all its units have nearly
      the same overlaps R with the teacher).
    - `readout_init`: the value v₀ ≥ 0 of every readout weight at t = 0 (default 1, Saad & Solla's committee).
      Small v₀ together with small σ₀ starts the student near the saddle at the origin, where both layers'
      gradients are small and grow as it escapes: the setting in which discounting produces a ramp-up.
    - `seed`: whole number ≥ 0; W*, W₀ (and the sample) come from `jax.random.PRNGKey(seed)` at construction.
    - `activation`: "erf" (g(x) = erf(x/√2)) or "tanh".
    - `samples`: None for the exact population loss (erf only), or a whole number P ≥ 1 of fixed Gaussian
      inputs for the empirical loss. Default: None for erf, 1000 for tanh.
    - `train_readout`: whether v is trained (default True); if False, v stays at v₀ (its vector field is 0).

    Teacher: W* entries i.i.d. N(0, 1) (so T_nn ≈ 1), v* = 1. Student: W₀ entries i.i.d. σ₀·N(0, 1) and
    v₀ = `readout_init`; with the defaults and `train_readout=False` exactly Saad & Solla's model.
    """

    name: ClassVar[str] = "teacher_student"

    parameters: ClassVar = (
        Param("inputs", "input dimension N >= 1", int),
        Param("hidden", "student hidden units >= 1", int),
        Param("teacher_hidden", "teacher hidden units >= 1 (default: = hidden)", int, optional=True),
        Param("init_scale", "std > 0 of the student's initial first-layer weights", lo=0.0, lo_open=True),
        Param("seed", "random seed >= 0 for teacher, initial student weights and sample", int, lo=0),
        Param("activation", "hidden-unit activation: erf or tanh", str, choices=ACTIVATIONS),
        Param("train_readout", "whether the second layer v is trained", bool),
        Param("readout_init", "initial value >= 0 of every readout weight v", lo=0.0),
        Param("samples", "fixed training inputs >= 1 (default: exact population loss for erf, 1000 for tanh)", int,
              optional=True))
    overflow: ClassVar = (
        Overflow(("init_scale",), "σ₀² (the student's initial overlaps Q)", lambda s: s**2),
        Overflow(("readout_init", "hidden"), "(K·v₀)² (the student's initial output variance)",
                 lambda v, k: (k * v) ** 2))

    inputs: int = eqx.field(static=True)
    hidden: int = eqx.field(static=True)
    teacher_hidden: int = eqx.field(static=True)
    seed: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    samples: int | None = eqx.field(static=True)
    train_readout: bool = eqx.field(static=True)
    init_scale: Array
    readout_init: Array
    teacher_weights: Array  # W*, (teacher_hidden, inputs)
    teacher_readout: Array  # v*, (teacher_hidden,)
    initial_weights: Array  # W₀, (hidden, inputs)
    initial_readout: Array  # v₀, (hidden,)
    sample_inputs: Array | None  # the fixed inputs x_p, (samples, inputs), or None (population loss)
    sample_targets: Array | None  # the teacher's outputs y(x_p), (samples,)

    def __init__(self, inputs: int = 10, hidden: int = 2, teacher_hidden: int | None = None,
                 init_scale=0.1, seed: int = 0, activation: str = "erf", train_readout: bool = True,
                 readout_init=1.0, samples: int | None = None):
        p = self._checked(activation=activation, train_readout=train_readout, inputs=inputs, hidden=hidden,
                          teacher_hidden=teacher_hidden, seed=seed, init_scale=init_scale,
                          readout_init=readout_init, samples=samples)
        self.inputs, self.hidden, self.seed = p["inputs"], p["hidden"], p["seed"]
        self.teacher_hidden = self.hidden if teacher_hidden is None else p["teacher_hidden"]
        # tanh has no closed-form Gaussian average: a fixed sample by default
        self.samples = DEFAULT_SAMPLES if p["samples"] is None and activation == "tanh" else p["samples"]
        self.activation = activation
        self.train_readout = p["train_readout"]
        self.init_scale = jnp.asarray(init_scale, dtype=float)
        self.readout_init = jnp.asarray(readout_init, dtype=float)
        key = jax.random.PRNGKey(self.seed)
        k_teacher, k_student = jax.random.split(key)
        k_sample = jax.random.fold_in(key, 1)  # a separate stream: W*, W₀ are the same with or without a sample
        dtype = self.init_scale.dtype
        self.teacher_weights = jax.random.normal(k_teacher, (self.teacher_hidden, self.inputs), dtype)
        self.teacher_readout = jnp.ones(self.teacher_hidden, dtype)
        self.initial_weights = self.init_scale * jax.random.normal(k_student, (self.hidden, self.inputs), dtype)
        self.initial_readout = jnp.full(self.hidden, self.readout_init, dtype)
        if self.samples is None:
            self.sample_inputs = self.sample_targets = None
        else:
            self.sample_inputs = jax.random.normal(k_sample, (self.samples, self.inputs), dtype)
            self.sample_targets = self.teacher_output(self.sample_inputs)

    def initial_state(self) -> dict[str, Array]:
        return {"W": self.initial_weights, "v": self.initial_readout}

    def order_parameters(self, state: PyTree[Array]) -> dict[str, Array]:
        """Q = WWᵀ/N, R = WW*ᵀ/N, T = W*W*ᵀ/N: the covariances of the preactivations λ, ρ."""
        w, ws, n = state["W"], self.teacher_weights, self.inputs
        return {"Q": w @ w.T / n, "R": w @ ws.T / n, "T": ws @ ws.T / n}

    def loss(self, state: PyTree[Array]) -> Scalar:
        """L = ½E(ŷ − y)²: exact over Gaussian inputs (erf, no sample) or the mean over the fixed sample."""
        if self.sample_inputs is not None:
            return 0.5 * jnp.mean((self.student_output(state, self.sample_inputs) - self.sample_targets) ** 2)
        return self.population_loss(state)

    def population_loss(self, state: PyTree[Array]) -> Scalar:
        """Exact population loss L = ½E(ŷ − y)² of erf units from the order parameters (Saad & Solla 1995).

        Computed as ½ aᵀ I(C) a with C = UUᵀ/N the joint covariance [[Q, R], [Rᵀ, T]] of (λ, ρ), U = [W; W*]
        and a = [v; −v*]: the three sums of the module docstring in one arcsin (one small graph to compile).
        """
        if self.activation != "erf":
            raise InputError("population_loss needs activation='erf' (tanh has no closed-form Gaussian average).")
        u = jnp.concatenate([state["W"], self.teacher_weights])
        a = jnp.concatenate([state["v"], -self.teacher_readout])
        c = u @ u.T / self.inputs
        d = jnp.diag(c)
        return 0.5 * a @ erf_correlation(c, d[:, None], d[None, :]) @ a

    def gradient(self, state: PyTree[Array]) -> PyTree[Array]:
        """∇L with respect to the trained parameters (the readout's entry is 0 when `train_readout=False`)."""
        g = jax.grad(self.loss)(state)
        if not self.train_readout:
            g = {"W": g["W"], "v": jnp.zeros_like(g["v"])}
        return g

    def vector_field(self, t, state, controls):
        return jtu.tree_map(lambda g: -controls[0] * g, self.gradient(state))

    def gradient_norm_sq(self, state: PyTree[Array]) -> Scalar:
        """‖∇L‖² over the trained parameters: along the undiscounted effort optimum μ̇* = −‖∇L‖²/(2β)."""
        return sum(jnp.sum(g**2) for g in jtu.tree_leaves(self.gradient(state)))

    # --- sampled forward passes (the fixed-sample loss and Monte Carlo checks) -------------------------

    def student_output(self, state: PyTree[Array], x: Array) -> Array:
        """ŷ(x) = Σ_i v_i g(w_i·x/√N) for a batch of inputs x."""
        lam = x @ state["W"].T / jnp.sqrt(self.inputs)
        return _units(self.activation)(lam) @ state["v"]

    def teacher_output(self, x: Array) -> Array:
        """y(x) = Σ_n v*_n g(w*_n·x/√N)."""
        return self.student_output({"W": self.teacher_weights, "v": self.teacher_readout}, x)

    def params(self):
        return {"inputs": self.inputs, "hidden": self.hidden, "teacher_hidden": self.teacher_hidden,
                "init_scale": float(self.init_scale), "readout_init": float(self.readout_init), "seed": self.seed,
                "activation": self.activation, "samples": self.samples, "train_readout": self.train_readout}
