"""Writes notebooks/04_random_features.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 04 · Power-law random features under SGD

Bordelon & Mori (arXiv 2602.04774): online SGD on features with eigenvalues $\\lambda_k = k^{-b}$ and a target with
$\\lambda_k c_{0,k} = k^{-a}$. For Gaussian features the expected per-mode errors obey an exact recursion,

$$c_{t+1,k} = [1 - 2\\eta_t\\lambda_k + (1 + 1/m)\\eta_t^2\\lambda_k^2]\\,c_{t,k} + (\\eta_t^2/m)\\,\\lambda_k (L_t + \\sigma^2),
\\qquad L_t = \\sum_k \\lambda_k c_{t,k},$$

and the optimal schedule minimises $L_T$ over $0 \\le \\eta_t \\le \\eta_{max}$. Easy phase $a > b$: a power-law decay
$\\eta^* \\simeq C\\,T^{-\\xi}(1 - t/T)^{2b-1}$; hard phase $a < b$: warmup–stable–decay. This notebook reproduces the
authors' published optimum, shows both phases against tuned baselines, sweeps a parameter with `vmap`, and shows a
finding of the discrete problem: with weak gradient noise the per-step optimum alternates large and small steps.
The full experiments are `problems/random_features_*.py` and `benchmarks/random_features_peers.py`."""),
    nbf.v4.new_code_cell("""import time
_start = time.perf_counter()
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import lrcontrol as lrc
from lrcontrol import schedules
from lrcontrol.systems import RandomFeatures

def problem(T, blocks=None, eta_max=2.0, **system):
    return lrc.ControlProblem(RandomFeatures(**system), lrc.objectives.FinalLoss(), horizon=T, blocks=blocks,
                              bounds={"lr": (0.0, eta_max)})"""),
    nbf.v4.new_markdown_cell("""## 1 · The authors' published point

$a = 1.5$, $b = 1.25$, 500 modes, $\\sigma = 0.5$, $m = 1$, $T = 500$, $\\eta \\in [0, 2]$: $L^*_T = 0.2230562$,
$\\eta^*[0] \\approx 0.163$, $\\eta^*[T-1] \\approx 0.0194$. The direct solver differentiates the scanned recursion with
`jax.grad`; it preconditions L-BFGS with the Hessian's diagonal, which the adjoint gives exactly
(`RandomFeatures.rate_curvature`). The check is independent of both: the optimum must be a fixed point of the
discrete stationarity map, an adjoint recursion written by hand (`stationary_rates`)."""),
    nbf.v4.new_code_cell("""published = problem(500, a=1.5, b=1.25, modes=500, noise=0.5, batch=1.0)
sol = lrc.solve(published, progress=False)
eta = np.asarray(sol.schedule.values)
fixed_point = np.max(np.abs(eta - np.asarray(published.system.stationary_rates(jnp.asarray(eta)))) / eta)
print(f"L*_T = {float(sol.objective):.10f} (published 0.2230562), η*[0] = {eta[0]:.4f}, η*[T-1] = {eta[-1]:.5f}")
print(f"stationarity map residual {fixed_point:.1e}; {int(sol.diagnostics.iterations)} iterations "
      f"(plain L-BFGS needs 96: tests/test_random_features.py)")
assert abs(float(sol.objective) - 0.2230562) < 2e-7 and fixed_point < 1e-6"""),
    nbf.v4.new_markdown_cell("""## 2 · Easy and hard phase against tuned baselines

Each baseline's amplitude is tuned on the same model (`schedules.tune_peak`). In the easy phase the optimum is a
smooth power-law decay; in the hard phase it holds a plateau and anneals late (and opens with one large step, an
edge effect of the discrete problem). WSD is the best simple baseline in the hard phase."""),
    nbf.v4.new_code_cell("""fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (name, a, b) in zip(axes, [("easy", 2.5, 1.5), ("hard", 1.75, 3.0)]):
    p = problem(500, a=a, b=b, modes=200, noise=0.5, batch=1.0)
    opt = lrc.solve(p, progress=False)
    ax.plot(np.asarray(opt.schedule.values), "k", lw=2, label=f"optimum, L_T = {float(opt.objective):.4f}")
    for family in ("constant", "wsd"):
        sched, cost = schedules.tune_peak(p, family)
        ax.plot(np.asarray(sched.values), lw=1, label=f"{family} (tuned), ×{float(cost) / float(opt.objective):.3f}")
    ax.set(yscale="log", xlabel="step t", ylabel="η", title=f"{name} phase, a = {a}, b = {b}")
    ax.legend(fontsize=8)
    print(name, p.system.phase(), p.system.exponents())"""),
    nbf.v4.new_markdown_cell("""## 3 · `vmap` over a model parameter

`lrc.solve` composes with `jax.vmap`: one compiled call solves the problem for a batch of label-noise levels. (Horizons
are swept by a loop in `problems/random_features_sweeps.py`: a horizon is an array shape.)"""),
    nbf.v4.new_code_cell("""sigmas = jnp.array([0.1, 0.25, 0.5, 1.0])

def optimum(sigma):
    sol = lrc.solve(problem(100, a=2.5, b=1.5, modes=50, noise=sigma, batch=1.0), progress=False)
    return sol.objective, sol.controls[:, 0]

losses, rates = jax.vmap(optimum)(sigmas)
one = lrc.solve(problem(100, a=2.5, b=1.5, modes=50, noise=0.5, batch=1.0), progress=False)
print("L*_T:", np.asarray(losses), "; σ = 0.5 solved alone:", float(one.objective))
assert abs(float(losses[2]) - float(one.objective)) < 1e-9 * float(one.objective)
plt.figure(figsize=(5, 3.5))
for s, r in zip(sigmas, rates):
    plt.plot(np.asarray(r), label=f"σ = {float(s)}")
plt.yscale("log"); plt.xlabel("step t"); plt.ylabel("η*"); plt.legend(); plt.title("more noise: smaller, earlier-decaying rates");"""),
    nbf.v4.new_markdown_cell("""## 4 · A finding: with weak noise the per-step optimum alternates

At batch $m = 5$ (weak gradient noise) the per-step optimum of the discrete problem is not smooth. It alternates
large and small steps, up to $\\eta_{max}$ — beyond the stability limit $2/(1 + 1/m)$ of the fastest mode taken
alone — like Chebyshev steps for gradient descent: the small steps keep the fast modes in check while the large
ones speed up the slow modes. It beats the best smooth (20-block) schedule. The landscape is then non-convex:
which steps are large is nearly arbitrary, and different starts find different alternating schedules of almost
equal loss. At the paper's $m = 1$ the optimum is smooth (section 2)."""),
    nbf.v4.new_code_cell("""fig, ax = plt.subplots(figsize=(7, 3.5))
for label, kw in [("per step, m = 5", dict(batch=5.0)), ("20 blocks, m = 5", dict(batch=5.0, blocks=20))]:
    blocks = kw.pop("blocks", None)
    s = lrc.solve(problem(200, blocks=blocks, a=2.0, b=2.0, modes=50, noise=0.5, **kw), progress=False)
    ax.plot(np.asarray(s.schedule.values), lw=1, label=f"{label}: L_T = {float(s.objective):.5f}")
ax.set(xlabel="step t", ylabel="η", title="a = b = 2, 50 modes, T = 200"); ax.legend(fontsize=8)
print(f"notebook ran in {time.perf_counter() - _start:.0f} s")"""),
]

nb = nbf.v4.new_notebook()
nb["cells"] = cells
nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
write(nb, "notebooks/04_random_features.ipynb")
