"""Batch size as a second control of SGD on power-law random features, under an exact data budget (Bordelon & Mori
2026, arXiv 2602.04774).

Same model as `RandomFeatures`; step t uses batch m_t, so the expected per-mode error obeys ([C, D])

    c_{t+1,k} = [1 − 2η_tλ_k + (1 + 1/m_t)η_t²λ_k²] c_{t,k} + (η_t²/m_t) λ_k (L_t + σ²).

Data budget: over T steps the batches use Σ_t m_t = T·m̄ samples (m̄ = `budget`), held exactly for every value of
the controls by the parametrisation

    m_t = 1 + T(m̄ − 1)·softmax(z)_t,        z = the "batch_logit" control,

so m_t > 1 and Σ_t m_t = T + T(m̄ − 1) = T·m̄ to round-off. Constant z gives the constant batch m̄
(`RandomFeatures` with batch = m̄); the logits are free (no bounds) and only their differences matter (a constant
shift is a flat direction of the objective). The softmax couples all steps, so the map from logits to batches is
applied to the whole schedule at once (`prepare_controls`, which `ControlProblem` calls before rolling out): `step` itself
receives (η_t, m_t), the batch size, not the logit. The batch schedule of a solution is
`system.batch_schedule(sol.schedules["batch_logit"].values)`.

Bordelon & Mori [P, D]: to leading order in η only η/m matters (a degenerate optimality condition), so under a
budget the optimum is a one-parameter family; a batch ramp m*(t) ∝ (1 − t/T)^{1/(2b)−1} is proposed for the fewest
steps [?: not derived here; problems/random_features_momentum_batch.py reports what the solver finds].
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import Param
from ._base import AbstractDiscreteSystem
from .random_features import RandomFeatures


class RandomFeaturesBatch(AbstractDiscreteSystem):
    """Expected per-mode errors of SGD on power-law random features with a batch-size schedule under a data budget.

    State: c, shape (modes,). Loss: L = Σ_k λ_k c_k. Controls: the learning rate η ("lr") and the batch logit z
    ("batch_logit", default 0: the constant batch m̄), m_t = 1 + T(m̄ − 1)·softmax(z)_t.

    **Arguments:**

    - `a`, `b`, `modes`, `noise`, `normalise`: as `RandomFeatures`.
    - `budget`: the average batch m̄ ≥ 1; the whole run uses T·m̄ samples (T the problem's horizon).

    `self.sgd` is plain SGD at the constant batch m̄ (eigenvalues and initial errors come from it).
    """

    name: ClassVar[str] = "random_features_batch"
    control_names: ClassVar[tuple[str, ...]] = ("lr", "batch_logit")
    control_defaults: ClassVar[tuple[float, ...]] = (0.0, 0.0)

    parameters: ClassVar = (
        *(p for p in RandomFeatures.parameters if p.name not in ("batch", "normalise")),
        Param("budget", "average batch m̄ >= 1 (the run uses T·m̄ samples)", lo=1.0),
        *(p for p in RandomFeatures.parameters if p.name == "normalise"))
    overflow: ClassVar = RandomFeatures.overflow

    sgd: RandomFeatures

    def __init__(self, a=2.0, b=2.0, modes: int = 500, noise=0.5, budget=1.0, normalise: bool = False):
        self._checked(a=a, b=b, modes=modes, noise=noise, budget=budget, normalise=normalise)
        self.sgd = RandomFeatures(a=a, b=b, modes=modes, noise=noise, batch=budget, normalise=normalise)

    @property
    def budget(self) -> Array:
        return self.sgd.batch

    def eigenvalues(self) -> Array:
        return self.sgd.eigenvalues()

    def initial_state(self) -> Array:
        return self.sgd.initial_state()

    def loss(self, state: Array) -> Array:
        return self.sgd.loss(state)

    def batch_schedule(self, logits: Float[Array, " T"]) -> Float[Array, " T"]:
        """m_t = 1 + T(m̄ − 1)·softmax(z)_t for the logits of all T steps (Σ_t m_t = T·m̄)."""
        logits = jnp.asarray(logits)
        return 1 + logits.shape[0] * (self.budget - 1) * jax.nn.softmax(logits)

    def batch_logits(self, batch: Float[Array, " T"]) -> Float[Array, " T"]:
        """Logits z with `batch_schedule(z) = batch`, for a schedule with every m_t > 1 and Σ_t m_t = T·m̄
        (z_t = log(m_t − 1), up to the irrelevant constant): to start a solve from a given batch schedule."""
        return jnp.log(jnp.asarray(batch) - 1)

    def prepare_controls(self, u: Float[Array, "T 2"]) -> Float[Array, "T 2"]:
        """(η_t, z_t) for all steps → (η_t, m_t): what `step` receives."""
        return u.at[:, 1].set(self.batch_schedule(u[:, 1]))

    def step(self, state, controls, k):
        """One SGD step with controls (η_t, m_t): the batch size itself, after `prepare_controls`."""
        return self.sgd.sgd_step(state, controls[0], controls[1])

    def params(self):
        out = self.sgd.params()
        del out["batch"]
        return {**out, "budget": float(self.budget)}

    def phase(self) -> str:
        return self.sgd.phase()
