"""Writes notebooks/02_solvers.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 02 · Three kinds of solver agree

The effort-cost problem $\\min_\\mu J = \\int_0^T e^{-\\rho t}[L(e) + \\beta\\mu^2]\\,dt$, $\\dot e = -c\\mu e$, can be
attacked in three independent ways, and lrcontrol implements all three:

- **Direct** (`lrc.solvers.Direct`): discretise — μ constant on each of N cells, the flow exact per cell — and
  minimise the resulting finite-dimensional cost with a quasi-Newton method.
- **Indirect / Pontryagin** (`lrc.solvers.Shooting`): solve the necessary conditions
  $\\dot e = \\partial H/\\partial\\lambda$, $\\dot\\lambda = -\\partial H/\\partial e$, $\\mu = \\arg\\min H$,
  $\\lambda(T) = 0$, with $H = e^{-\\rho t}(L + \\beta\\mu^2) - \\lambda c\\mu e$; either by Newton on the unknown
  costates (multiple shooting, `method="newton"`) or by a damped forward–backward sweep (`method="sweep"`).
- **Dynamic programming** (`lrc.solvers.HJB`): Bellman's recursion for the value function $V_k(e)$ on a grid of
  states, backwards in time; the schedule is its feedback policy run forwards from $e(0) = d$.

For the linear perceptron with ρ = 0 the optimum is known in closed form, $\\mu^*(t) = \\theta\\tan(c\\theta(T-t))$,
so all four numerical answers can be checked against it — and against each other where it is not (ρ > 0)."""),
    nbf.v4.new_code_cell("""import time
_start = time.perf_counter()
import jax
jax.config.update("jax_enable_x64", True)
import equinox as eqx
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import lrcontrol as lrc

system = lrc.systems.LinearPerceptron(input_variance=1.0, distance=1.0)
beta, T, steps = 0.5, 2.0, 400
problem = lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=beta), horizon=T, steps=steps)
t = np.asarray(problem.grid()); h = T / steps; mid = (t[1:] + t[:-1]) / 2"""),
    nbf.v4.new_markdown_cell("""## Four solves against the closed form

`system.optimal_schedule(problem)` samples the closed form at the cell midpoints. Direct and HJB answer the
*discretised* problem (one rate per cell, exact flow per cell), whose optimum equals the continuous $\\mu^*$ at
the cell midpoints up to $O(h^2)$; the sweep's fixed point lands on the same floor. Newton shooting integrates
the continuous conditions (RK4) and reports $u^*$ at each midpoint, so it matches the closed form to its
integration error. The *objective* of every answer is evaluated on the discrete problem, where all are within
$O(h^2)$ of its minimiser, so the objectives agree to second order in that: far below 1e-8.
Compile time (XLA) is reported apart from run time."""),
    nbf.v4.new_code_cell("""solvers = {"direct": lrc.solvers.Direct(), "shooting (Newton)": lrc.solvers.Shooting(),
           "shooting (sweep)": lrc.solvers.Shooting(method="sweep"), "HJB (201 points)": lrc.solvers.HJB(points=201)}
sols = {name: lrc.solve(problem, solver, progress=False) for name, solver in solvers.items()}

ref = system.optimal_schedule(problem)
u_ref = np.asarray(ref.values); peak = u_ref.max()
J_star = float(system.optimal_objective(problem))
J_direct = float(sols["direct"].objective)
rel_err = {name: np.abs(np.asarray(s.schedule.values) - u_ref) / peak for name, s in sols.items()}
print(f"{'solver':<19}{'converged':>10}{'max|u−ref|/peak':>17}{'objective J':>20}{'ΔJ/J vs direct':>16}"
      f"{'compile s':>11}{'run s':>9}")
for name, s in sols.items():
    d = s.diagnostics
    print(f"{name:<19}{str(d.converged):>10}{rel_err[name].max():>17.2e}{float(s.objective):>20.12f}"
          f"{abs(float(s.objective) - J_direct) / J_direct:>16.1e}{d.compile_time:>11.1f}{d.run_time:>9.3f}")
print(f"closed form J* (continuous problem) = {J_star:.12f}: the O(h²) gap of the discretisation is "
      f"{(J_direct - J_star) / J_star:.1e} relative")
print(f"HJB's own error estimate (change on the grid of half the resolution): "
      f"{float(sols['HJB (201 points)'].diagnostics.residual):.1e} of the peak")

for name, s in sols.items():
    assert s.diagnostics.converged, (name, s.diagnostics.message)
    assert rel_err[name].max() <= 1e-3, name
    assert abs(float(s.objective) - J_direct) <= 1e-8 * J_direct, name
assert 0 < J_direct - J_star <= 1e-5 * J_star  # the discrete optimum costs slightly more than the continuous one"""),
    nbf.v4.new_code_cell("""fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
styles = {"direct": "-", "shooting (Newton)": "--", "shooting (sweep)": "-.", "HJB (201 points)": ":"}
for name, s in sols.items():
    ax1.plot(mid, s.schedule.values, styles[name], lw=2, label=name)
    ax2.semilogy(mid, np.maximum(rel_err[name], 1e-16), styles[name], label=name)
ax1.plot(mid, u_ref, "k", lw=0.8, label="θ tan(cθ(T−t))")
ax1.set(xlabel="t", ylabel="μ(t)", title="optimal schedules"); ax1.legend(fontsize=8)
ax2.set(xlabel="t", ylabel="|u − ref| / peak", title="deviation from the closed form"); ax2.legend(fontsize=8)
fig.tight_layout()"""),
    nbf.v4.new_markdown_cell("""Direct and the sweep sit at the $O(h^2)$ floor of the discretisation (≈ 3e-6 here), Newton shooting at RK4's
error; HJB adds the error of its state grid (second order in Δe), which its coarse-grid estimate bounds.

## The Pontryagin view: costate and Hamiltonian

With ρ = 0 the problem is autonomous, so $H = L + \\beta\\mu^2 - \\lambda c\\mu e$ is constant along the optimum;
at $t = T$, $\\lambda = 0$ and $\\mu = 0$, so $H \\equiv L(T)$. Stationarity $\\partial H/\\partial\\mu = 0$ gives
$\\mu = c\\,e\\,\\lambda/(2\\beta)$: the costate is the shadow price of distance, and the rate is that price
times the gradient's size. Substituting back gives $H = L - \\beta\\mu^2 = L(T)$ — the closed-loop law
$\\mu = \\sqrt{(L - L(T))/\\beta}$ of the paper. Shooting reports the costates at the grid nodes and the drift
of H along its own integration. Below, H is recomputed from those costates and the loss of the evaluated
(piecewise-constant) schedule, so it varies by $O(h^2)$ instead of the solver's round-off."""),
    nbf.v4.new_code_cell("""sh = sols["shooting (Newton)"]
lam = np.asarray(sh.costates[:, 0])
e_nodes = np.sqrt(2 * np.asarray(sh.loss))  # L = c e²/2 with c = 1
mu_nodes = lam * e_nodes / (2 * beta)        # ∂H/∂μ = 0 at every node
H_nodes = e_nodes**2 / 2 - beta * mu_nodes**2  # H on the optimum, = L(T)
drift = float(sh.diagnostics.extras["hamiltonian_drift"])
mu_exact_nodes = np.asarray(system.effort_rate(t, beta, T))
node_vs_cell = np.abs(mu_nodes[:-1] - np.asarray(sh.schedule.values)).max() / peak
node_avg_vs_cell = np.abs((mu_nodes[:-1] + mu_nodes[1:]) / 2 - np.asarray(sh.schedule.values)).max() / peak
print(f"shooting residual {float(sh.diagnostics.residual):.1e}; Hamiltonian drift {drift:.1e} of max|H|")
print(f"λ(0) = {lam[0]:.8f}, λ(T) = {lam[-1]:.1e};  H along the optimum: {H_nodes.min():.8f} … {H_nodes.max():.8f}, "
      f"L(T) = {float(sh.loss[-1]):.8f}")
print(f"c·e·λ/(2β) at the nodes vs the closed form at the nodes: {np.abs(mu_nodes - mu_exact_nodes).max() / peak:.1e} of the peak")
print(f"  vs the schedule's cell values: {node_vs_cell:.1e} (O(h): node t_k vs midpoint), "
      f"node average: {node_avg_vs_cell:.1e} (O(h²))")
assert drift <= 1e-7 and abs(lam[-1]) <= 1e-8
assert np.abs(mu_nodes - mu_exact_nodes).max() <= 1e-5 * peak
assert node_avg_vs_cell <= 1e-4 < node_vs_cell  # the costate law reproduces the schedule at second order
assert np.ptp(H_nodes) <= 1e-5 * abs(H_nodes).max() and abs(H_nodes[-1] - float(sh.loss[-1])) <= 1e-6

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
ax1.plot(t, lam, label="costate λ(t)"); ax1.set(xlabel="t", ylabel="λ", title="costate from shooting")
ax1b = ax1.twinx()
ax1b.plot(t[:-1], mu_nodes[:-1], "C1", lw=2, label="c·e·λ/(2β) at nodes")
ax1b.plot(mid, sh.schedule.values, "k:", label="schedule (cells)"); ax1b.set_ylabel("μ")
ax1.legend(loc="upper left", fontsize=8); ax1b.legend(loc="upper right", fontsize=8)
ax2.plot(t, H_nodes - float(sh.loss[-1]))
ax2.set(xlabel="t", ylabel="H(t) − L(T)", title=f"H is conserved (solver drift {drift:.0e})")
fig.tight_layout()"""),
    nbf.v4.new_markdown_cell("""## HJB's feedback policy, the exact feedback law, and the closed-loop law

HJB yields more than a schedule: the policy $u_k(e)$ for *every* state, a feedback law. For the perceptron the
exact optimal feedback is known — by Bellman's principle it is the open-loop optimum of the remaining problem
(distance e, horizon T − t) at its start (`system.optimal_feedback`). The paper's closed-loop law
$\\mu = \\sqrt{(L(e) - L(T))/\\beta}$ is a different object: it is the conserved-Hamiltonian identity of **one**
optimal run, with $L(T)$ that run's final loss. From a state on the optimal trajectory $e^*(t)$ the remaining
optimum ends at the same $L(T)$, so the law is exact there; from any other state the optimal remaining run ends
at a different final loss (lower from a state that is ahead, higher from one that is behind), so the fixed
$L(T)$ is the wrong forecast and the law over- or under-drives. It is also blind to the time left: it gives the
same rate at $t = 0$ and $t = 1.9$ for the same loss."""),
    nbf.v4.new_code_cell("""hjb = lrc.solvers.HJB(points=101, domain=((0.0, 1.0),))  # the perceptron's own state domain, e ∈ [0, d]
# value_function and policy_table trace eagerly; jit them together (one compile, no per-op dispatch).
vf, table = eqx.filter_jit(lambda p: (lambda v: (v, v.policy_table()))(hjb.value_function(p)))(problem)
e_grid = np.asarray(vf.axes[0]); table = np.asarray(table)
print("policy table:", table.shape, "(cells × states)")

pol = system.optimal_feedback(problem)
law = jax.jit(jax.vmap(jax.vmap(lambda tt, e: pol(tt, e)[0])))  # pol(t, e) on arrays of shape (cells, states)
t_mesh = np.broadcast_to(mid[:, None], table.shape)
exact = np.asarray(law(t_mesh, np.broadcast_to(e_grid, table.shape)))
final_loss = float(system.effort_optimum(beta, T)["final_loss"])
closed = np.asarray(lrc.objectives.closed_loop_rate(e_grid**2 / 2, final_loss, beta))  # no t dependence

# Cell k from state e holds u over the cell: it equals the continuous law at the cell's midpoint state, to O(h²).
e_half = e_grid[None, :] * np.exp(-table * h / 2)
at_mid = np.asarray(law(t_mesh, e_half))
early = mid <= 0.9 * T
dev = np.abs(table - at_mid)[early].max() / table[early].max()
print(f"HJB table vs exact feedback at the cell midpoint, t ≤ 0.9T: max deviation {dev:.1e} of the table's max")
assert dev <= 1e-3

e_star = np.sqrt(2 * np.asarray(sols["direct"].loss))  # the optimal trajectory e*(t) at the nodes
u_dir = np.asarray(sols["direct"].schedule.values)
e_star_mid = e_star[:-1] * np.exp(-u_dir * h / 2)  # e*(t) at the cell midpoints, where u_ref is sampled
cl_on_traj = np.asarray(lrc.objectives.closed_loop_rate(e_star_mid**2 / 2, final_loss, beta))
on_traj = np.abs(cl_on_traj - u_ref)[mid <= 0.95 * T].max() / peak
k1 = np.searchsorted(mid, 1.0)
off = abs(closed[-1] - exact[k1, -1]) / exact[k1, -1]
print(f"closed-loop law on e*(t) (t ≤ 0.95T) vs the optimum: {on_traj:.1e} of the peak;  off it, at "
      f"t = 1, e = d: closed-loop {closed[-1]:.3f} vs exact feedback {exact[k1, -1]:.3f} ({off:.0%} apart)")
assert on_traj <= 1e-4 and off >= 0.1"""),
    nbf.v4.new_code_cell("""fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
vmax = table.max()
for ax, data, title in [(axes[0], table, "HJB policy u_k(e), 101 points"),
                        (axes[1], exact, "exact optimal feedback μ*(t, e)")]:
    im = ax.pcolormesh(mid, e_grid, data.T, shading="nearest", vmin=0, vmax=vmax, cmap="viridis")
    ax.plot(t, e_star, "w--", lw=1.5, label="optimal trajectory e*(t)")
    ax.set(xlabel="t", ylabel="e = ‖w − w*‖", title=title); ax.legend(loc="lower left", fontsize=8)
fig.colorbar(im, ax=axes[1], label="μ"); fig.get_layout_engine().set(wspace=0.06)
ax = axes[2]
for i, tt in enumerate([0.0, 0.5, 1.0, 1.5]):
    k = min(np.searchsorted(t, tt, side="right") - 1, steps - 1)
    ax.plot(e_grid, table[k], f"C{i}", lw=2.5, alpha=0.5, label=f"t = {tt}: HJB")
    ax.plot(e_grid, exact[k], f"C{i}--", lw=1)
    ax.plot(e_star[k], np.interp(e_star[k], e_grid, exact[k]), f"C{i}o")
ax.plot(e_grid, closed, "k:", lw=2, label="closed-loop √((L(e) − L(T))/β)")
ax.plot([], [], "k--", lw=1, label="exact feedback (dashed)"); ax.plot([], [], "ko", label="on e*(t)")
ax.set(xlabel="e", ylabel="μ", title="slices at fixed t", ylim=(0, 1.1 * vmax)); ax.legend(fontsize=7);"""),
    nbf.v4.new_markdown_cell("""The three laws meet at the dots — the optimal trajectory — and only there: the closed-loop curve is the
same at every t, while the true feedback rises as time runs out (less time to close the same gap).

## With discounting there is no closed form

For ρ > 0 the Hamiltonian is no longer conserved and the closed form is gone, so the solvers can only be checked
against each other. The discounted problem has the same shapes as before, so every solver reuses its compiled
code. The rate at $t = 0$ comes exactly from the shooting costate, $\\mu^*(0) = c\\,d\\,\\lambda(0)/(2\\beta)$; the
others' first cell is $\\mu^*(h/2)$, so they are extrapolated to $t = 0$ from the first three cell midpoints,
$\\mu(0) \\approx (15u_0 - 10u_1 + 3u_2)/8$ (the first cell alone is ≈ 2e-3 lower, since $\\dot\\mu^*(0) \\approx -0.46$).
The reference is $\\mu^*(0) = 0.5431677$ (β = 0.5, c = d = 1, T = 2, ρ = 1; see the README: the earlier reference
value 0.542711 is the first cell of a 1000-step grid, i.e. $\\mu^*(0.001)$)."""),
    nbf.v4.new_code_cell("""disc = lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=beta, discount=1.0), horizon=T, steps=steps)
dsols = {name: lrc.solve(disc, solvers[name], progress=False) for name in solvers}
c, d = 1.0, 1.0
mu0_costate = c * d * float(dsols["shooting (Newton)"].costates[0, 0]) / (2 * beta)  # μ*(0) = c·d·λ(0)/(2β)
u_first = {name: float(s.controls[0, 0]) for name, s in dsols.items()}
mu0 = {name: float((15 * s.controls[0, 0] - 10 * s.controls[1, 0] + 3 * s.controls[2, 0]) / 8) for name, s in dsols.items()}
print(f"μ*(0) from the shooting costate: {mu0_costate:.7f}   (reference 0.5431677)")
print(f"{'solver':<19}{'converged':>10}{'μ first cell':>14}{'μ(0) extrap.':>14}{'rel. to costate':>17}{'run s':>8}")
for name, s in dsols.items():
    print(f"{name:<19}{str(s.diagnostics.converged):>10}{u_first[name]:>14.7f}{mu0[name]:>14.7f}"
          f"{abs(mu0[name] - mu0_costate) / mu0_costate:>17.1e}{s.diagnostics.run_time:>8.3f}")
d_peak = float(jnp.max(dsols["direct"].controls))
spread = {n: float(jnp.max(jnp.abs(s.controls - dsols["direct"].controls))) / d_peak for n, s in dsols.items()}
print("max schedule difference to direct / peak:", {n: f"{v:.1e}" for n, v in spread.items()})
for name, s in dsols.items():
    assert s.diagnostics.converged, (name, s.diagnostics.message)
    assert abs(mu0[name] - mu0_costate) <= 2e-3 * mu0_costate and abs(mu0[name] - mu0_costate) <= 1e-5 * mu0_costate, name
    assert abs(u_first[name] - u_first["direct"]) <= 1e-5 * u_first["direct"] and spread[name] <= 1e-5, name
assert abs(mu0_costate - 0.5431677) <= 2e-7
plt.figure(figsize=(6, 3.5))
for name, s in dsols.items():
    plt.plot(mid, s.schedule.values, styles[name], lw=2, label=name)
plt.plot(mid, u_ref, "k", lw=0.8, label="ρ = 0 optimum, for contrast")
plt.xlabel("t"); plt.ylabel("μ(t)"); plt.title("discounted (ρ = 1): solvers agree"); plt.legend(fontsize=8)
print(f"notebook time so far: {time.perf_counter() - _start:.1f} s")"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
write(nb, "notebooks/02_solvers.ipynb")
