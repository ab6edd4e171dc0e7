"""Bring your own model: gradient flow of a two-layer deep linear network as a user-defined continuous system.

Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of learning in deep linear neural networks"
(ICLR 2014). Whitened inputs (Σ₁₁ = I) and noise-free targets y = Sx with S = U diag(s) Vᵀ: the loss of
ŷ = W₂W₁x is L = ½‖S − W₂W₁‖²_F and the learning rate μ(t) scales gradient flow, Ẇ = −μ∇L. From the balanced,
aligned start W₁ = √a₀ Vᵀ, W₂ = √a₀ U each mode strength a_α = u_αᵀW₂W₁v_α obeys ȧ = 2μa(s_α − a) (Saxe et al.'s
τȧ = 2a(s − a) with τ = 1/μ), whose solution under a constant rate is the sigmoid

    a_α(t) = s_α e^{2s_α M} / (e^{2s_α M} − 1 + s_α/a₀),   M = ∫₀ᵗ μ dt′ = μt.

The system below is all a user writes (a state, a loss, a vector field); lrcontrol integrates it with diffrax,
solves the effort problem ∫₀ᵀ[L + βμ²]dt with Direct and with the Pontryagin forward–backward sweep, and
`closed_form_strengths` checks the integration (tests/test_deep_linear.py). Newton shooting (`Shooting()`) did not
converge on this problem (from a₀ = 1e-3 the state starts next to the saddle at the origin; measured: Newton's
iteration cap at 40 steps, a non-finite control at 160); HJB grids at most 3 state numbers and this state has 35.

    python problems/deep_linear.py [--out DIR]
"""

from typing import ClassVar

from _common import arguments, results_folder, write_json

import diffrax
import jax
import jax.numpy as jnp

import lrcontrol as lrc


class DeepLinear(lrc.systems.AbstractContinuousSystem):
    """ŷ = W₂W₁x under gradient flow on L = ½‖S − W₂W₁‖², S = U diag(strengths) Vᵀ (one hidden unit a mode)."""

    name: ClassVar[str] = "deep_linear"
    strengths: jax.Array  # s_α, (modes,)
    initial: jax.Array  # a₀, the initial strength of every mode
    U: jax.Array  # (outputs, modes), orthonormal columns
    V: jax.Array  # (inputs, modes), orthonormal columns

    def __init__(self, strengths=(3.0, 1.0, 0.3), inputs=5, outputs=4, initial=1e-3, seed=0):
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        r = len(strengths)
        self.strengths, self.initial = jnp.asarray(strengths, float), jnp.asarray(initial, float)
        self.U = jnp.linalg.qr(jax.random.normal(k1, (outputs, outputs)))[0][:, :r]
        self.V = jnp.linalg.qr(jax.random.normal(k2, (inputs, inputs)))[0][:, :r]

    def initial_state(self):
        return {"W1": jnp.sqrt(self.initial) * self.V.T, "W2": jnp.sqrt(self.initial) * self.U}

    def loss(self, state):
        target = (self.U * self.strengths) @ self.V.T
        return 0.5 * jnp.sum((target - state["W2"] @ state["W1"]) ** 2)

    def vector_field(self, t, state, controls):
        return jax.tree_util.tree_map(lambda g: -controls[0] * g, jax.grad(self.loss)(state))

    def mode_strengths(self, state):
        """a_α = u_αᵀW₂W₁v_α for every mode (works on states stacked on a leading axis)."""
        return jnp.einsum("oa,...oh,...hi,ia->...a", self.U, state["W2"], state["W1"], self.V)

    def closed_form_strengths(self, cumulative_rate):
        """Saxe et al.'s sigmoid a_α(M), M = ∫μ dt (any shape; modes on a new last axis)."""
        s, m = self.strengths, jnp.asarray(cumulative_rate)[..., None]
        grow = jnp.exp(2 * s * m)
        return s * grow / (grow - 1 + s / self.initial)


def problem(steps=100, horizon=4.0, effort_cost=0.05, integrator=None):
    return lrc.ControlProblem(DeepLinear(), lrc.objectives.Effort(effort_cost=effort_cost), horizon=horizon,
                              steps=steps, integrator=integrator or lrc.Diffrax(diffrax.Tsit5(), substeps=2))


def main(out=None, steps=100):
    p = problem(steps)
    direct = lrc.solve(p, progress=False)
    sweep = lrc.solve(p, lrc.solvers.Shooting(method="sweep"), progress=False)
    peak = float(jnp.max(direct.controls))
    # The integration itself, against the closed form: constant rate 1 over the horizon.
    u = jnp.ones((steps, 1))
    grid = p.grid()
    numeric = p.system.mode_strengths(p.states(u))
    closed = p.system.closed_form_strengths(grid)
    result = {
        "steps": steps, "horizon": float(p.horizon), "effort_cost": 0.05, "strengths": [3.0, 1.0, 0.3],
        "initial_strength": 1e-3,
        "trajectory_max_abs_error_vs_closed_form": float(jnp.max(jnp.abs(numeric - closed))),
        "direct": {"converged": bool(direct.diagnostics.converged), "objective": float(direct.objective),
                   "peak_rate": peak},
        "sweep": {"converged": bool(sweep.diagnostics.converged), "objective": float(sweep.objective),
                  "max_rel_diff_to_direct": float(jnp.max(jnp.abs(sweep.controls - direct.controls))) / peak}}
    if out is not None:
        write_json(results_folder(out) / "results.json", result)
    return result


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--out", default="problems/results/deep_linear")
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    print(main(args.out, args.steps))
