"""Writes notebooks/08_bring_your_own_model.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 08 · Bring your own model: a deep linear network

A continuous-time model is three things for lrcontrol: an initial state, a loss, and a vector field
$\\dot x = f(t, x, \\mu)$ with the learning rate $\\mu$ as the control. Here the model is the gradient flow of a
two-layer linear network $\\hat y = W_2 W_1 x$ (Saxe, McClelland & Ganguli, ICLR 2014) on whitened inputs with
targets $y = Sx$, $S = U\\,\\mathrm{diag}(s)\\,V^\\top$, loss $L = \\tfrac12\\|S - W_2W_1\\|_F^2$. From a balanced start
aligned with the modes, each mode strength $a_\\alpha = u_\\alpha^\\top W_2 W_1 v_\\alpha$ obeys
$\\dot a = 2\\mu a(s_\\alpha - a)$, so under any rate

$$a_\\alpha(t) = \\frac{s_\\alpha e^{2s_\\alpha M}}{e^{2s_\\alpha M} - 1 + s_\\alpha/a_0}, \\qquad M = \\int_0^t \\mu\\,dt',$$

the sigmoidal learning curves of the paper. The network is written once, with full weight matrices; diffrax
integrates it; the closed form checks the integration; three kinds of solver find the effort-optimal schedule."""),
    nbf.v4.new_code_cell("""import diffrax
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import lrcontrol as lrc


class DeepLinear(lrc.systems.AbstractContinuousSystem):
    name = "deep_linear"
    strengths: jax.Array; initial: jax.Array; U: jax.Array; V: jax.Array

    def __init__(self, strengths=(3.0,), inputs=3, outputs=2, initial=0.05, seed=0):
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        r = len(strengths)
        self.strengths, self.initial = jnp.asarray(strengths, float), jnp.asarray(initial, float)
        self.U = jnp.linalg.qr(jax.random.normal(k1, (outputs, outputs)))[0][:, :r]
        self.V = jnp.linalg.qr(jax.random.normal(k2, (inputs, inputs)))[0][:, :r]

    def initial_state(self):                      # balanced, aligned: W1 = √a0 Vᵀ, W2 = √a0 U
        return {"W1": jnp.sqrt(self.initial) * self.V.T, "W2": jnp.sqrt(self.initial) * self.U}

    def loss(self, state):                        # ½‖S − W2 W1‖²
        return 0.5 * jnp.sum(((self.U * self.strengths) @ self.V.T - state["W2"] @ state["W1"]) ** 2)

    def vector_field(self, t, state, controls):   # gradient flow at rate μ = controls[0]
        return jax.tree_util.tree_map(lambda g: -controls[0] * g, jax.grad(self.loss)(state))


def mode_strengths(system, states):               # a_α = u_αᵀ W2 W1 v_α at every grid node
    return jnp.einsum("oa,noh,nhi,ia->na", system.U, states["W2"], states["W1"], system.V)


def sigmoid(system, cumulative_rate):             # Saxe et al.'s closed form
    s, m = system.strengths, jnp.asarray(cumulative_rate)[:, None]
    return s * jnp.exp(2 * s * m) / (jnp.exp(2 * s * m) - 1 + s / system.initial)


integrator = lrc.Diffrax(diffrax.Tsit5(), substeps=2)
problem = lrc.ControlProblem(DeepLinear(), lrc.objectives.Effort(effort_cost=0.05), horizon=4.0, steps=100,
                             integrator=integrator)   # one mode (a rank-1 target), s = 3, from a0 = 0.05"""),
    nbf.v4.new_markdown_cell("""## The integration against the closed form

Any schedule will do: the closed form depends on the rate only through its integral $M(t)$."""),
    nbf.v4.new_code_cell("""t = np.asarray(problem.grid())
rates = 0.5 + jnp.abs(jnp.sin(3 * jnp.asarray(t[:-1])))[:, None]      # piecewise constant, not constant
numeric = mode_strengths(problem.system, problem.states(rates))
closed = sigmoid(problem.system, jnp.concatenate([jnp.zeros(1), jnp.cumsum(rates[:, 0] * jnp.diff(problem.grid()))]))
error = float(jnp.max(jnp.abs(numeric - closed)))
print(f"largest |a_numeric − a_closed| over the grid: {error:.1e}")
assert error < 1e-6
for i, s in enumerate(problem.system.strengths):
    plt.plot(t, closed[:, i], "k", lw=3, alpha=0.3)
    plt.plot(t, numeric[:, i], label=f"mode s = {float(s):g} (diffrax; grey: closed form)")
plt.xlabel("t"); plt.ylabel("mode strength a(t)"); plt.legend();"""),
    nbf.v4.new_markdown_cell("""## The effort-optimal schedule: Direct and the Pontryagin sweep

The objective is $\\int_0^T [L + \\beta\\mu^2]\\,dt$ (β = 0.05). Direct descends the discretised problem with
gradients through the diffrax solves; the forward–backward sweep (`Shooting(method="sweep")`) solves Pontryagin's
conditions with the costates from autodiff of the vector field. They are two discretisations of one optimum, so
they agree to the grid's accuracy, not to round-off."""),
    nbf.v4.new_code_cell("""direct = lrc.solve(problem, progress=False)
sweep = lrc.solve(problem, lrc.solvers.Shooting(method="sweep"), progress=False)
peak = float(jnp.max(direct.controls))
gap = float(jnp.max(jnp.abs(sweep.controls - direct.controls))) / peak
print("direct:", direct.diagnostics.message, f"| J = {float(direct.objective):.6f}")
print("sweep: ", sweep.diagnostics.message, f"| J = {float(sweep.objective):.6f}")
print(f"largest difference of the schedules: {gap:.1e} of the peak")
assert direct.diagnostics.converged and sweep.diagnostics.converged and gap < 0.02
mid = (t[1:] + t[:-1]) / 2
plt.plot(mid, direct.schedule.values, label="Direct")
plt.plot(mid, sweep.schedule.values, "--", label="forward–backward sweep")
plt.xlabel("t"); plt.ylabel("μ*(t)"); plt.legend();"""),
    nbf.v4.new_markdown_cell(r"""The optimum pushes hardest at the start, to get the modes off the saddle at the origin while the loss
they would accumulate there is largest, and then eases off as the loss falls. Njaradi et al.'s closed-loop law
says by how much, for any model trained by gradient flow under this effort cost (the Hamiltonian is conserved
and $\dot x = -\mu\nabla L$): $\mu^*(t) = \sqrt{(L(t) - L(T))/\beta}$. It is not used by either solver, so it
is an independent check. L(t) at each cell's midpoint comes from the closed form; the law is a statement about
the continuous optimum, so the piecewise-constant schedule departs from it where μ* changes fast within a cell."""),
    nbf.v4.new_code_cell("""mu = np.asarray(direct.schedule.values)
h = float(problem.horizon) / problem.steps
M_mid = np.concatenate([[0.0], np.cumsum(mu * h)])[:-1] + mu * h / 2     # ∫μ up to each cell's midpoint
a_mid = np.asarray(sigmoid(problem.system, jnp.asarray(M_mid)))          # the strengths there (closed form)
L_mid = 0.5 * np.sum((np.asarray(problem.system.strengths) - a_mid) ** 2, axis=1)
law = np.sqrt((L_mid - float(direct.loss[-1])) / 0.05)
err = np.abs(mu - law) / mu.max()
print(f"|μ* − law| / peak: first 4 cells (t < 0.16, where μ* falls to about a quarter of its peak) at most "
      f"{err[:4].max():.1e}; the other 96 at most {err[4:].max():.1e}")
assert err[:4].max() < 0.05 and err[4:].max() < 1e-3
plt.plot(mid, mu, label="Direct")
plt.plot(mid, law, "--", label="closed-loop law √((L(t) − L(T))/β)")
plt.yscale("log"); plt.xlabel("t"); plt.ylabel("μ*(t)"); plt.legend();"""),
    nbf.v4.new_markdown_cell("""## A third solver: HJB, through the model's exact reduction

HJB grids the state space, so it needs a state of at most 3 numbers; the network's weights are 3 + 2 = 5
numbers (2·(inputs + outputs) per mode in general). The reduction above is exact, so the same problem can be
written in the mode strength itself — a second user-defined system of a few lines, whose state is one number.
The value function on a grid of strengths gives the optimum independently of any gradient, and must agree with
Direct on the network."""),
    nbf.v4.new_code_cell("""class ModeStrength(lrc.systems.AbstractContinuousSystem):
    name = "mode_strength"
    strength: float; initial: float

    def initial_state(self):
        return jnp.asarray([self.initial])

    def loss(self, a):
        return 0.5 * jnp.sum((self.strength - a) ** 2)

    def vector_field(self, t, a, controls):
        return 2 * controls[0] * a * (self.strength - a)


reduced = lrc.ControlProblem(ModeStrength(3.0, 0.05), lrc.objectives.Effort(effort_cost=0.05), horizon=4.0,
                             steps=100, integrator=integrator)
on_network = direct
by_hjb = lrc.solve(reduced, lrc.solvers.HJB(points=401, control_points=32, refine=20, domain=((0.0, 3.0),)), progress=False)
peak = float(jnp.max(on_network.controls))
gap = float(jnp.max(jnp.abs(by_hjb.controls - on_network.controls))) / peak
print("HJB:", by_hjb.diagnostics.message)
print(f"J: Direct on the network {float(on_network.objective):.6f}, HJB on the mode strength {float(by_hjb.objective):.6f}")
print(f"largest difference of the schedules: {gap:.1e} of the peak")
assert by_hjb.diagnostics.converged and gap < 2e-3
plt.plot(mid, on_network.schedule.values, label="Direct, the network")
plt.plot(mid, by_hjb.schedule.values, "--", label="HJB, mode-strength model")
plt.xlabel("t"); plt.ylabel("μ*(t)"); plt.legend();"""),
    nbf.v4.new_markdown_cell("""HJB's own error estimate is the change of its schedule between this grid and one of half the points
(at 201 points it exceeds the default tolerance, 1e-2 of the peak, and the solve says it is not converged). The
agreement with Direct checks the solvers and the reduction at once; what is left is the two models'
discretisations (Tsit5 on the weights vs on the strength). Newton shooting (`Shooting()`) does not converge on this model:
from a small $a_0$ the state starts next to the saddle at the origin, and Newton's steps on the initial costate
leave the region where the flow is tame (measured: a non-finite control after a few iterations, also from
Direct's schedule as the start).

## Use it

The schedule is an `lrc.Schedule`: export it to optax, PyTorch's `LambdaLR` or CSV."""),
    nbf.v4.new_code_cell("""schedule = direct.schedule
lr = schedule.to_optax(total_steps=1000, peak=0.1)   # the optimal shape, at a peak you choose
print("learning rate at steps 0, 250, 500, 999:", [round(float(lr(k)), 5) for k in (0, 250, 500, 999)])"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
write(nb, "notebooks/08_bring_your_own_model.ipynb")
