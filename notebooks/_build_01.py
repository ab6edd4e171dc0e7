"""Writes notebooks/01_perceptron.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 01 · The effort-cost perceptron

Njaradi et al. (2026) ask how fast a learner should learn when learning costs effort: maximise
$\\int_0^T [P(w) - \\beta\\mu^2]\\,dt$ under gradient flow $\\dot w = \\mu\\nabla P$. For the linear perceptron the
optimum has a closed form, $\\mu^*(t) = \\theta\\tan(c\\theta(T-t))$, and for any model it obeys the closed-loop law
$\\mu^* = \\sqrt{(P(T) - P(t))/\\beta}$. Here lrcontrol solves the problem numerically and checks both."""),
    nbf.v4.new_code_cell("""import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import lrcontrol as lrc

system = lrc.systems.LinearPerceptron(input_variance=1.0, distance=1.0)
problem = lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=0.5), horizon=2.0, steps=400)
sol = lrc.solve(problem)
print(sol.diagnostics.message, "| iterations:", int(sol.diagnostics.iterations))"""),
    nbf.v4.new_markdown_cell("## Numeric optimum vs the open-loop closed form"),
    nbf.v4.new_code_cell("""ref = system.optimal_schedule(problem)
report = lrc.compare(sol, ref)
print(f"max error {report.max_rel_error:.2e} of the peak; J = {report.objective:.8f}, J* = {report.analytic_objective:.8f}")
assert report.max_rel_error < 1e-4
fig = lrc.plotting.plot_solution(sol, ref, reference_label="θ tan(cθ(T−t))")"""),
    nbf.v4.new_markdown_cell("""## The closed-loop law, as a feedback controller

The law needs the final performance $P(T)$. With the oracle value, simulating the feedback law reproduces the
open-loop optimum; a biased forecast changes how hard the learner engages."""),
    nbf.v4.new_code_cell("""final = float(system.effort_optimum(0.5, 2.0)["final_loss"])
t = np.asarray(problem.grid()); mid = (t[1:] + t[:-1]) / 2
for label, forecast in [("oracle L(T)", final), ("over-confident (0.5·L(T))", 0.5 * final),
                        ("under-confident (1.5·L(T))", 1.5 * final)]:
    sim = lrc.simulate(problem, system.closed_loop_policy(problem, final_loss=forecast))
    plt.plot(mid, sim.schedule.values, label=f"{label}: reward {float(sim.reward):.5f}")
plt.plot(mid, ref.values, "k--", lw=1, label="closed-form optimum")
plt.xlabel("t"); plt.ylabel("μ(t)"); plt.legend(fontsize=8);"""),
    nbf.v4.new_markdown_cell("""## Sweeps with `vmap`: cheaper effort and harder tasks call for higher rates

`jax.jit` around the `vmap` compiles the batched solve once; without it JAX would compile and dispatch each
operation of the solver's loops on its own (the same numbers, several times slower)."""),
    nbf.v4.new_code_cell("""betas = jnp.array([0.1, 0.25, 0.5, 1.0, 2.0])
solve_for = lambda b: lrc.solve(lrc.ControlProblem(system, lrc.objectives.Effort(b), horizon=2.0, steps=200)).schedule.values
rates = jax.jit(jax.vmap(solve_for))(betas)
print("μ*(0) by effort cost:", dict(zip(betas.tolist(), np.round(rates[:, 0], 3).tolist())))
assert np.all(np.diff(rates[:, 0]) < 0)"""),
    nbf.v4.new_markdown_cell("""## Sensitivity of the optimum: `grad` through the solve

By the envelope theorem $dJ^*/d\\beta = \\int_0^T \\mu^{*2}\\,dt$; lrcontrol differentiates through the solve
with the implicit function theorem."""),
    nbf.v4.new_code_cell("""dJ = jax.jit(jax.grad(lambda b: lrc.solve(lrc.ControlProblem(system, lrc.objectives.Effort(b), horizon=2.0, steps=400)).objective))(0.5)
print(f"dJ*/dβ = {float(dJ):.8f};  ∫μ*² dt = {float(jnp.sum(sol.schedule.values**2) * 2.0 / 400):.8f}")"""),
    nbf.v4.new_markdown_cell("## Hand the schedule to optax"),
    nbf.v4.new_code_cell("""opt = optax.sgd(sol.schedule.to_optax(total_steps=1000, peak=0.1))  # the shape, with a tuned peak
state = opt.init(jnp.zeros(3))
lrs = [float(sol.schedule.to_optax(total_steps=1000, peak=0.1)(k)) for k in (0, 500, 999)]
print("learning rate at steps 0, 500, 999:", np.round(lrs, 5))"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
write(nb, "notebooks/01_perceptron.ipynb")
