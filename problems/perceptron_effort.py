"""The effort-cost perceptron (Njaradi et al. 2026, THEORY.md §1), end to end — the README's main job.

1. Solve the optimal learning rate numerically (direct solver) and check it against both closed forms: the
   open-loop law θ·tan(cθ(T − t)) and the closed-loop law √((L(t) − L(T))/β), simulated as a feedback policy.
2. Measure the order of convergence as the number of steps doubles.
3. Sweep effort cost and task difficulty (paper: cheaper effort and harder tasks give higher rates).
4. Compare with peak-tuned constant, linear, cosine and WSD schedules.

Writes figures, `results.json` and `agreement.md` (the README's agreement rows) to --out.

    python problems/perceptron_effort.py            # writes problems/results/perceptron_effort/
"""

import argparse
import json
import platform
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol.analysis import closed_loop_deviation, convergence_order  # noqa: E402
from lrcontrol.plotting import plot_schedules, plot_solution  # noqa: E402


def problem(effort_cost=0.5, input_variance=1.0, distance=1.0, horizon=2.0, steps=2000):
    system = lrc.systems.LinearPerceptron(input_variance=input_variance, distance=distance)
    return lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost), horizon=horizon, steps=steps)


CASES = {"K=0.25": (1.0, 0.5, 1.0, 1.0), "K=2 (THEORY worked check)": (0.5, 1.0, 1.0, 2.0),
         "K=6.3": (0.05, 1.0, 1.0, 2.0), "K=23.7": (0.002, 1.0, 1.0, 1.5), "K=33.9": (0.5, 2.0, 3.0, 4.0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="problems/results/perceptron_effort")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="small sizes (used by the test suite)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = 500 if args.quick else args.steps
    results = {"machine": platform.platform(), "jax": jax.__version__, "steps": steps, "cases": {}}

    # 1. Numeric vs both closed forms over a range of steepness K.
    print(f"{'case':28s} {'K':>6s} {'max err/peak':>13s} {'closed-loop dev':>16s} {'feedback sim err':>17s} "
          f"{'J numeric':>12s} {'J* exact':>12s} {'iters':>6s} {'run s':>7s}")
    for name, (beta, c, d, T) in CASES.items():
        p = problem(beta, c, d, T, steps)
        sol = lrc.solve(p)
        ref = p.system.optimal_schedule(p)
        cmp = lrc.compare(sol, ref)
        dev = closed_loop_deviation(sol)["max_rel_deviation"]
        sim = lrc.simulate(p, p.system.closed_loop_policy(p))
        sim_err = lrc.compare(sim, ref).max_rel_error
        K = float(p.system.steepness(beta, T))
        row = {"params": {"effort_cost": beta, "input_variance": c, "distance": d, "horizon": T}, "K": K,
               "max_rel_error": cmp.max_rel_error, "l2_rel_error": cmp.l2_rel_error,
               "closed_loop_deviation": dev, "feedback_simulation_error": sim_err,
               "objective": cmp.objective, "analytic_objective": cmp.analytic_objective,
               "objective_gap_vs_sampled_closed_form": cmp.objective_gap,
               "converged": sol.diagnostics.converged, "iterations": int(sol.diagnostics.iterations),
               "run_time_s": sol.diagnostics.run_time}
        results["cases"][name] = row
        print(f"{name:28s} {K:6.2f} {cmp.max_rel_error:13.2e} {dev:16.2e} {sim_err:17.2e} {cmp.objective:12.8f} "
              f"{cmp.analytic_objective:12.8f} {row['iterations']:6d} {row['run_time_s']:7.3f}")
        if name.startswith("K=2 "):
            fig = plot_solution(sol, ref, reference_label="θ tan(cθ(T−t))",
                                extra={"feedback law (simulated)": sim},
                                title=f"perceptron, β={beta}, c={c}, d={d}, T={T} ({steps} steps)")
            fig.savefig(out / "perceptron_optimum.png", dpi=120)
            plt.close(fig)

    # 2. Order of convergence in the number of steps. (Solved like the cases above, so a grid of the same size
    # reuses their compiled solve.)
    ladder = [250, 500, 1000] if args.quick else [250, 500, 1000, 2000, 4000, 8000]
    conv = {}
    for name in ("K=2 (THEORY worked check)", "K=33.9"):
        beta, c, d, T = CASES[name]
        errs = []
        for n in ladder:
            p = problem(beta, c, d, T, n)
            errs.append(lrc.compare(lrc.solve(p), p.system.optimal_schedule(p)).max_rel_error)
        conv[name] = {"steps": ladder, "max_rel_error": errs, "order": convergence_order(ladder, errs)}
        print(f"order of convergence, {name}: {conv[name]['order']:.3f}  errors {['%.2e' % e for e in errs]}")
    results["convergence"] = conv

    # 3. Sweeps: effort cost (d = 1) and task difficulty (β = 0.5), in one vmap over (β, d): one compiled solve.
    sweep_steps = 200 if args.quick else 500
    betas = np.array([0.05, 0.1, 0.25, 0.5, 1.0, 2.0])
    dists = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    sweep = jax.jit(jax.vmap(lambda b, d: lrc.solve(problem(b, distance=d, steps=sweep_steps)).schedule.values))
    rates = sweep(np.concatenate([betas, np.full(len(dists), 0.5)]), np.concatenate([np.ones(len(betas)), dists]))
    by_beta, by_dist = rates[:len(betas)], rates[len(betas):]
    results["sweeps"] = {"effort_cost": betas.tolist(), "mu0_by_effort_cost": np.asarray(by_beta[:, 0]).tolist(),
                         "distance": dists.tolist(), "mu0_by_distance": np.asarray(by_dist[:, 0]).tolist()}
    monotone = bool(np.all(np.diff(by_beta[:, 0]) < 0) and np.all(np.diff(by_dist[:, 0]) > 0))
    results["sweeps"]["paper_finding_holds"] = monotone
    print(f"sweeps: μ(0) falls with effort cost {np.round(by_beta[:, 0], 3)}; rises with difficulty "
          f"{np.round(by_dist[:, 0], 3)} -> paper's finding {'holds' if monotone else 'FAILS'}")
    t = np.asarray(problem(steps=sweep_steps).grid())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    plot_schedules(t, {f"β = {b:g}": v for b, v in zip(betas, by_beta)}, ax=axes[0], ylabel="μ*(t)",
                   title="lower effort cost → higher rates (d = 1)")
    plot_schedules(t, {f"d = {d:g}": v for d, v in zip(dists, by_dist)}, ax=axes[1], ylabel="μ*(t)",
                   title="harder task → higher rates (β = 0.5)")
    axes[0].set_yscale("log")
    fig.savefig(out / "perceptron_sweeps.png", dpi=120)
    plt.close(fig)

    # 4. Tuned baselines.
    p = problem(steps=steps)
    best = float(lrc.solve(p).objective)  # the cases' compiled solve (same size and settings)
    base = {}
    for fam in ("constant", "linear", "cosine", "wsd"):
        sched, cost = lrc.schedules.tune_peak(p, fam)
        base[fam] = {"objective": float(cost), "excess_over_optimum": float(cost) - best,
                     "peak": float(sched.values.max())}
    results["baselines"] = {"optimum": best, **base}
    print("tuned baselines (excess cost over the optimum): "
          + ", ".join(f"{k} {v['excess_over_optimum']:.2e}" for k, v in base.items()))

    (out / "results.json").write_text(json.dumps(results, indent=1))
    rows = ["| case | K | max error / peak | closed-loop law deviation | feedback-law simulation | J numeric | J* |",
            "|---|---|---|---|---|---|---|"]
    for name, r in results["cases"].items():
        rows.append(f"| {name} | {r['K']:.2f} | {r['max_rel_error']:.1e} | {r['closed_loop_deviation']:.1e} | "
                    f"{r['feedback_simulation_error']:.1e} | {r['objective']:.8f} | {r['analytic_objective']:.8f} |")
    orders = ", ".join(f"{k.split(' ')[0]}: {v['order']:.2f}" for k, v in conv.items())
    rows.append(f"\nObserved order of convergence in the number of steps ({ladder[0]}…{ladder[-1]}): {orders}.")
    (out / "agreement.md").write_text("\n".join(rows) + "\n")
    print(f"wrote {out}/perceptron_optimum.png, perceptron_sweeps.png, results.json, agreement.md")


if __name__ == "__main__":
    main()
