"""Writes notebooks/03_effort.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 03 · Effort vs performance beyond the perceptron

Njaradi et al. (arXiv 2601.07830) let a learner choose its learning rate μ(t) to minimise
$J = \\int_0^T e^{-\\rho t}[L(w) + \\beta\\mu^2]\\,dt$ under gradient flow $\\dot w = -\\mu\\nabla L$. Without discount
the Hamiltonian is conserved, which gives, for **any** smooth loss,

$$\\mu^*(t) = \\sqrt{(L(t) - L(T))/\\beta}, \\qquad \\dot\\mu^* = -\\|\\nabla L\\|^2/(2\\beta) \\le 0 .$$

This notebook checks both identities on a nonlinear network, runs the law online as an optax optimiser on real
digits, and forecasts the unknown $L(T)$ from an episodic memory of past runs. The full experiments (ramp-up under
discount, the digits optimum against tuned baselines, memory sweeps) are the scripts `problems/effort_*.py`."""),
    nbf.v4.new_code_cell("""import time
_start = time.perf_counter()
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import lrcontrol as lrc
from lrcontrol.analysis import closed_loop_deviation, gradient_norm_identity"""),
    nbf.v4.new_markdown_cell("""## 1 · The two identities along a numerically optimised schedule

A two-layer erf teacher–student with the exact population loss (Saad & Solla's order parameters). The direct
solver knows nothing of the law; we check it afterwards. The law reads only the loss curve, the μ̇ identity only
the gradients at the states — two independent checks."""),
    nbf.v4.new_code_cell("""net = lrc.systems.TeacherStudent(inputs=10, hidden=2, seed=0)
problem = lrc.ControlProblem(net, lrc.objectives.Effort(effort_cost=0.5), horizon=2.0, steps=100)
sol = lrc.solve(problem, progress=False)
law, ident = closed_loop_deviation(sol), gradient_norm_identity(sol)
print(sol.diagnostics.message)
print(f"closed-loop law deviation {law['max_rel_deviation']:.1e} of peak, "
      f"μ̇ identity deviation {ident['max_rel_deviation']:.1e}")
assert sol.diagnostics.converged and law["max_rel_deviation"] < 1e-3 and ident["max_rel_deviation"] < 1e-3
t = np.asarray(sol.t); mid = (t[1:] + t[:-1]) / 2
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
ax[0].plot(mid, law["rate"], lw=3, alpha=0.5, label="numeric optimum")
ax[0].plot(mid, law["law"], "k--", label="√((L(t) − L(T))/β)")
ax[0].set(xlabel="t", ylabel="μ", title="closed-loop law"); ax[0].legend()
ax[1].plot(t[1:-1], ident["slope"], lw=3, alpha=0.5, label="dμ/dt of the optimum")
ax[1].plot(t[1:-1], ident["predicted"], "k--", label="−‖∇L‖²/2β")
ax[1].set(xlabel="t", title="μ̇ identity"); ax[1].legend();"""),
    nbf.v4.new_markdown_cell("""## 2 · The law as an optax optimiser, on real digits

`lrc.controllers.closed_loop` is an optax `GradientTransformationExtraArgs`: pass the current loss as `value=` and
it applies $\\mu = \\sqrt{\\max(L - \\hat L(T), 0)/\\beta}$. The forecast $\\hat L(T)$ comes from a pilot run; here
the pilot is the controller itself, re-run with its own final loss (two rounds). An MLP with tanh units on 300 of
scikit-learn's bundled 8×8 digits, full batch, step Δt = 0.1 over T = 20."""),
    nbf.v4.new_code_cell("""mlp = lrc.systems.MLP.digits(samples=300, hidden=8, seed=0)
beta, dt, n_steps = 0.05, 0.1, 200

@jax.jit  # one compiled training run: each round below only passes a new forecast
def train(forecast):
    opt = lrc.controllers.closed_loop(effort_cost=beta, final_loss=forecast, time_step=dt)
    def step(carry, _):
        params, state = carry
        loss, grads = jax.value_and_grad(mlp.loss)(params)
        updates, state = opt.update(grads, state, params, value=loss)
        return (optax.apply_updates(params, updates), state), (loss, state.rate)
    params0 = mlp.initial_state()
    (params, _), (losses, rates) = jax.lax.scan(step, (params0, opt.init(params0)), None, length=n_steps)
    return params, losses, rates

forecast = 0.2  # a first guess
for round_ in range(3):
    params, losses, rates = train(forecast)
    reward = -dt * float(np.sum(losses + beta * rates**2))
    print(f"round {round_}: forecast L̂(T) = {forecast:.4f} → final loss {float(mlp.loss(params)):.4f}, "
          f"accuracy {float(mlp.accuracy(params)):.3f}, reward {reward:.4f}")
    forecast = float(mlp.loss(params))
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
ax[0].plot(np.arange(n_steps) * dt, rates); ax[0].set(xlabel="t", ylabel="μ", title="closed-loop rate")
ax[1].semilogy(np.arange(n_steps) * dt, losses); ax[1].set(xlabel="t", ylabel="cross-entropy", title="loss");"""),
    nbf.v4.new_markdown_cell("""## 3 · Forecasting L(T) from an episodic memory

The law needs the final loss before training ends. `lrc.episodic.EpisodicMemory` stores the loss curves of past
runs and forecasts $\\hat L(T)$ as the Gaussian-kernel (Nadaraya–Watson) average of their final losses, weighted
by how close each stored curve is to the current one so far (log-losses; kernel width by leave-one-out). The exact
form is this project's reconstruction of the paper's mechanism. Tasks: perceptrons with random input variance c
and difficulty d, learned optimally (closed form)."""),
    nbf.v4.new_code_cell("""steps, T, beta_p = 200, 2.0, 0.5

def optimal_curve(task):
    p = lrc.ControlProblem(lrc.systems.LinearPerceptron(input_variance=task[0], distance=task[1]),
                           lrc.objectives.Effort(beta_p), horizon=T, steps=steps)
    grid = p.grid()
    u = p.system.effort_rate((grid[1:] + grid[:-1]) / 2, beta_p, T)[:, None]
    return p.trajectory(u)[2]

draw = lambda key, n: jnp.exp(jax.random.uniform(key, (n, 2), minval=jnp.log(0.5), maxval=jnp.log(2.0)))
k1, k2 = jax.random.split(jax.random.PRNGKey(0))
curves = jax.jit(jax.vmap(optimal_curve))(jnp.concatenate([draw(k1, 300), draw(k2, 100)]))  # one compiled batch
stored, new = curves[:300], curves[300:]
memory = lrc.episodic.EpisodicMemory(stored)
print(f"kernel width by leave-one-out: {float(memory.bandwidth):.3g}")
fractions = [0.0, 0.1, 0.2, 0.5, 0.9]
errors = [float(jnp.mean(jnp.abs(jax.vmap(lambda c: memory.forecast(c, int(f * steps)))(new) - new[:, -1])
                          / new[:, -1])) for f in fractions]
for f, e in zip(fractions, errors):
    print(f"observed {f:.0%} of the run: mean relative error of L̂(T) {e:.3f}")
assert errors[0] > errors[2] > errors[-1]
plt.figure(figsize=(5, 3.5)); plt.semilogy(fractions, errors, "o-")
plt.xlabel("fraction of the run observed"); plt.ylabel("|L̂(T) − L(T)| / L(T)"); plt.title("memory of 300 runs");"""),
    nbf.v4.new_markdown_cell("""## 4 · Over- and under-confidence

A forecast that is too optimistic ($\\hat L(T)$ too low) keeps the learner engaged harder and longer; a
pessimistic one makes it stop early, once it believes it has reached what it can. One perceptron task, the
controller run online with forecasts $(1 + b)L^*(T)$. Run `problems/effort_episodic.py` for the statistics over
200 tasks (engagement, regret, early stopping)."""),
    nbf.v4.new_code_cell("""c, d = 1.0, 1.0
opt_T = lrc.systems.LinearPerceptron(input_variance=c, distance=d).effort_optimum(beta_p, T)
w_star = jnp.zeros(2); loss_fn = lambda w: 0.5 * c * jnp.sum((w - w_star) ** 2)
plt.figure(figsize=(6, 3.5))
for b in (-0.5, 0.0, 0.5):
    opt = lrc.controllers.closed_loop(beta_p, (1 + b) * float(opt_T["final_loss"]), time_step=T / steps)
    def step(carry, _):
        w, state = carry
        loss, g = jax.value_and_grad(loss_fn)(w)
        updates, state = opt.update(g, state, w, value=loss)
        return (optax.apply_updates(w, updates), state), state.rate
    w0 = jnp.array([d, 0.0])
    _, rates = jax.lax.scan(step, (w0, opt.init(w0)), None, length=steps)
    plt.plot(np.arange(steps) * T / steps, rates, label=f"b = {b:+.1f}")
plt.xlabel("t"); plt.ylabel("μ"); plt.legend(); plt.title("forecast (1 + b)·L*(T)")
print(f"notebook time: {time.perf_counter() - _start:.1f} s")"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
write(nb, "notebooks/03_effort.ipynb")
