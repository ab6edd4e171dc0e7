"""Episodic memory forecasts for the effort closed-loop law (Njaradi et al. 2026): how well does a Gaussian-kernel
(Nadaraya–Watson) recall of past learning curves estimate the final loss L(T), and how much reward does the
closed-loop learner μ = √(max(L(t) − L̂(T), 0)/β) collect with it?

Tasks: linear perceptrons (β = 0.5, T = 2, 200 cells) with random difficulty d = ‖w₀ − w*‖ and input variance c,
both log-uniform on [0.5, 2] (a seed fixes every draw). L(0) = c d²/2 does not identify the task, the curve's
shape does: the estimate should improve as more of the curve is seen. The memory stores the loss curves of
past tasks learned optimally (the closed-form optimum, sampled on the grid, exact flow); a new task is learned
online by the closed-loop law, the forecast recomputed every step from its own curve so far. Every run is
integrated exactly per cell and scored by the same discretised objective J = ∫[L + βμ²]dt (lower is better;
the paper's reward is −J).

Measured:
- forecast error |L̂(T) − L*(T)|/L*(T) on held-out tasks against the observed fraction (memory 300) and the
  memory size (fraction 0.2), the current curve being the optimal one (isolates the estimator); the kernel width
  is chosen by leave-one-out on each memory;
- cost regret (J − J*)/J* of: the closed-loop law with the oracle forecast, with the episodic forecast, the best
  constant rate per task (tuned knowing the task) and the one best constant for the whole family;
- over- and under-confident forecasts L̂ = (1 + b)·L*(T): engagement ∫μ dt, regret, and how often the learner
  stops early (μ = 0 before T because it believes it is done).

Writes `results.json`, `agreement.md` (README rows) and `episodic.png` to --out.

    python problems/effort_episodic.py            # writes problems/results/effort_episodic/
"""

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import jax.numpy as jnp
import numpy as np

import lrcontrol as lrc
from lrcontrol._search import best_log_scale
from lrcontrol.objectives import closed_loop_rate

EFFORT_COST, HORIZON, STEPS = 0.5, 2.0, 200
FRACTIONS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
MEMORY_SIZES = [10, 30, 100, 300, 1000]
BIASES = [-0.5, -0.25, 0.0, 0.25, 0.5]


def draw_tasks(key, n):
    """(c, d) pairs, each log-uniform on [0.5, 2]."""
    return jnp.exp(jax.random.uniform(key, (n, 2), minval=jnp.log(0.5), maxval=jnp.log(2.0)))


def problem(task):
    system = lrc.systems.LinearPerceptron(input_variance=task[0], distance=task[1])
    return lrc.ControlProblem(system, lrc.objectives.Effort(EFFORT_COST), horizon=HORIZON, steps=STEPS)


@jax.jit
@jax.vmap
def oracle(task):
    """The closed-form optimum on the grid: its loss curve at the nodes, cost J* and rates."""
    p = problem(task)
    grid = p.grid()
    u = p.system.effort_rate(0.5 * (grid[1:] + grid[:-1]), EFFORT_COST, HORIZON)[:, None]
    cost, _, losses = p.trajectory(u)
    return losses, cost, u[:, 0]


def closed_loop_run(task, forecast):
    """Learn the task online with μ_k = √(max(L_k − forecast(history, k), 0)/β), exact flow per cell.
    Returns the cost J (the problem's own discretised objective), the rates and the loss curve."""
    p = problem(task)
    c, h = task[0], HORIZON / STEPS

    def step(carry, k):
        e, history = carry
        loss = p.system.loss(e)
        history = history.at[k].set(loss)
        mu = closed_loop_rate(loss, forecast(history, k), EFFORT_COST)
        return (e * jnp.exp(-c * mu * h), history), mu

    history0 = jnp.ones(STEPS + 1)
    (_, history), mu = jax.lax.scan(step, (p.system.initial_state(), history0), jnp.arange(STEPS))
    cost, _, losses = p.trajectory(mu[:, None])
    return cost, mu, losses


def constant_cost(task, rate):
    p = problem(task)
    return p.cost(jnp.full((STEPS, 1), rate))


def agreement(results: dict) -> str:
    """README rows: forecast error against observed fraction and memory size; cost regret of each learner."""
    f, m = results["error_vs_fraction"], results["error_vs_memory"]
    lines = ["| forecast of L(T) | " + " | ".join(f"{x:.0%}" for x in f["fractions"]) + " |",
             "|---|" + "---|" * len(f["fractions"]),
             "| mean relative error, memory 300 | " + " | ".join(f"{e:.3f}" for e in f["mean"]) + " |", "",
             "| episodes in memory (20% observed) | " + " | ".join(str(x) for x in m["sizes"]) + " |",
             "|---|" + "---|" * len(m["sizes"]),
             "| mean relative error | " + " | ".join(f"{e:.3f}" for e in m["mean"]) + " |", "",
             "| learner | mean (J − J*)/J* | max |", "|---|---|---|"]
    lines += [f"| {name} | {r['mean']:.2e} | {r['max']:.2e} |" for name, r in results["regret"].items()]
    lines += ["", f"{results['test_tasks']} held-out perceptron tasks (c, d log-uniform on [0.5, 2]), β = "
              f"{results['effort_cost']}, T = {results['horizon']}, {results['steps']} cells; kernel width by "
              "leave-one-out. Over-/under-confident forecasts (1 ± 0.5)L*(T): engagement ∫μ "
              + " / ".join(f"{r['engagement_mean']:.3f}" for r in results["bias"])
              + " for b = " + " / ".join(f"{r['bias']:+.2f}" for r in results["bias"])
              + " (the pessimists stop early)."]
    return "\n".join(lines) + "\n"


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/effort_episodic")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-tasks", type=int, default=200)
    args = ap.parse_args()
    out = results_folder(args.out)
    k_mem, k_test = jax.random.split(jax.random.PRNGKey(args.seed))
    memory_tasks = draw_tasks(k_mem, max(MEMORY_SIZES))
    test_tasks = draw_tasks(k_test, args.test_tasks)
    mem_curves, _, _ = oracle(memory_tasks)
    test_curves, test_cost, test_rates = oracle(test_tasks)
    final = test_curves[:, -1]
    results = {"seed": args.seed, "effort_cost": EFFORT_COST, "horizon": HORIZON, "steps": STEPS,
               "test_tasks": args.test_tasks, "bandwidth_by_memory_size": {}}

    def forecast_errors(size, fraction):
        memory = lrc.episodic.EpisodicMemory(mem_curves[:size])  # bandwidth by leave-one-out
        results["bandwidth_by_memory_size"][size] = float(memory.bandwidth)
        k = int(round(fraction * STEPS))
        est = jax.vmap(lambda curve: memory.forecast(curve, k))(test_curves)
        return np.asarray(jnp.abs(est - final) / final)

    by_fraction = [forecast_errors(300, f) for f in FRACTIONS]
    by_size = [forecast_errors(m, 0.2) for m in MEMORY_SIZES]
    results["error_vs_fraction"] = {"fractions": FRACTIONS, "memory": 300,
                                    "median": [float(np.median(e)) for e in by_fraction],
                                    "mean": [float(np.mean(e)) for e in by_fraction]}
    results["error_vs_memory"] = {"sizes": MEMORY_SIZES, "fraction": 0.2,
                                  "median": [float(np.median(e)) for e in by_size],
                                  "mean": [float(np.mean(e)) for e in by_size]}
    for f, e in zip(FRACTIONS, by_fraction):
        print(f"forecast error, memory 300, fraction {f:.2f}: median {np.median(e):.2e}, mean {np.mean(e):.2e}")
    for m, e in zip(MEMORY_SIZES, by_size):
        print(f"forecast error, fraction 0.2, memory {m}: median {np.median(e):.2e}, mean {np.mean(e):.2e}")

    # --- reward: online closed-loop learners against the oracle and constant rates -------------------------
    memory = lrc.episodic.EpisodicMemory(mem_curves[:300])
    runs = {"closed loop, oracle L*(T)": jax.jit(jax.vmap(
                lambda task, fT: closed_loop_run(task, lambda hist, k: fT)))(test_tasks, final),
            "closed loop, episodic L̂(T)": jax.jit(jax.vmap(
                lambda task, mem: closed_loop_run(task, mem.forecast), in_axes=(0, None)))(test_tasks, memory)}
    per_task_best = jax.jit(jax.vmap(lambda task: best_log_scale(lambda a: constant_cost(task, a), 1e-3, 1e2)[1]))
    family_rate, _ = best_log_scale(lambda a: jnp.mean(jax.vmap(constant_cost, (0, None))(memory_tasks[:300], a)),
                                    1e-3, 1e2)
    costs = {name: r[0] for name, r in runs.items()}
    costs["best constant per task (tuned on the task)"] = per_task_best(test_tasks)
    costs[f"one constant for the family (μ = {float(family_rate):.3f}, tuned on the memory)"] = jax.vmap(
        constant_cost, (0, None))(test_tasks, family_rate)
    results["regret"] = {}
    for name, cost in costs.items():
        regret = np.asarray((cost - test_cost) / test_cost)
        results["regret"][name] = {"mean": float(regret.mean()), "median": float(np.median(regret)),
                                   "max": float(regret.max())}
        print(f"regret (J − J*)/J*, {name}: mean {regret.mean():.2e}, median {np.median(regret):.2e}, "
              f"max {regret.max():.2e}")

    # --- biased forecasts: over-confident (b < 0) engage harder, under-confident (b > 0) quit early -----------
    h = HORIZON / STEPS
    results["bias"] = []
    bias_runs = {}
    for b in BIASES:
        cost, mu, _ = jax.jit(jax.vmap(lambda task, fT: closed_loop_run(task, lambda hist, k: (1 + b) * fT)))(
            test_tasks, final)
        engagement = np.asarray(jnp.sum(mu, axis=1) * h)
        quits = np.asarray(jnp.any(mu[:, : int(0.9 * STEPS)] == 0.0, axis=1))
        regret = np.asarray((cost - test_cost) / test_cost)
        row = {"bias": b, "engagement_mean": float(engagement.mean()),
               "oracle_engagement_mean": float(jnp.mean(jnp.sum(test_rates, axis=1) * h)),
               "regret_mean": float(regret.mean()), "stops_before_0.9T": float(quits.mean())}
        results["bias"].append(row)
        bias_runs[b] = mu
        print(f"bias {b:+.2f}: engagement ∫μ {row['engagement_mean']:.3f} (oracle {row['oracle_engagement_mean']:.3f}),"
              f" regret {row['regret_mean']:.2e}, stops before 0.9T in {100 * row['stops_before_0.9T']:.0f}% of tasks")

    fig, axes = plt.subplots(1, 4, figsize=(20, 4))
    axes[0].semilogy(FRACTIONS, results["error_vs_fraction"]["median"], "o-", label="median")
    axes[0].semilogy(FRACTIONS, results["error_vs_fraction"]["mean"], "s--", label="mean")
    axes[0].set(xlabel="fraction of the curve observed", ylabel="|L̂(T) − L*(T)| / L*(T)", title="memory of 300")
    axes[1].loglog(MEMORY_SIZES, results["error_vs_memory"]["median"], "o-", label="median")
    axes[1].loglog(MEMORY_SIZES, results["error_vs_memory"]["mean"], "s--", label="mean")
    axes[1].set(xlabel="episodes in memory", ylabel="relative forecast error", title="20% of the curve observed")
    names = list(results["regret"])
    axes[2].barh(range(len(names)), [results["regret"][n]["mean"] for n in names])
    axes[2].set_yticks(range(len(names)), [n.split(" (")[0] for n in names], fontsize=7)
    axes[2].set(xscale="log", xlabel="mean (J − J*)/J*", title="cost regret (lower is better)")
    t = np.asarray(problem(test_tasks[0]).grid())
    axes[3].plot(t[:-1], np.asarray(test_rates[0]), "k--", lw=2, label="optimum")
    for b, mu in bias_runs.items():
        axes[3].plot(t[:-1], np.asarray(mu[0]), label=f"L̂ = (1{b:+.2f})L*(T)")
    axes[3].set(xlabel="t", ylabel="learning rate", title="biased forecasts (one task)")
    for ax in (axes[0], axes[1], axes[3]):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "episodic.png", dpi=110)
    write_json(out / "results.json", results)
    (out / "agreement.md").write_text(agreement(results))


if __name__ == "__main__":
    main()
