"""Three independent kinds of solver on the effort-cost perceptron (Njaradi et al. 2026): do they agree with each
other and with the closed forms?

- direct: projected L-BFGS through the unrolled exact flow;
- shooting: Pontryagin multiple shooting, Newton on the costates (RK4, costates from jax.grad of H);
- sweep: the damped forward–backward sweep on the same canonical equations;
- hjb: dynamic programming on a grid of the state e (semi-Lagrangian, cubic interpolation).

Undiscounted (K = 2 and the steep K = 33.9): each against the closed form θ tan(cθ(T − t)). Discounted (ρ = 1 and
ρ = 3, no closed form): μ*(0) from each, against the shooting costate's exact μ*(0) = c·d·λ(0)/(2β).

Writes `agreement.md` (README rows), `results.json` and `solvers.png` to --out.

    python problems/perceptron_solvers.py         # writes problems/results/perceptron_solvers/
"""

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import numpy as np

import lrcontrol as lrc

SOLVERS = {"direct": lrc.solvers.Direct(), "shooting": lrc.solvers.Shooting(),
           "sweep": lrc.solvers.Shooting(method="sweep"), "hjb": lrc.solvers.HJB()}
UNDISCOUNTED = {"K=2": 0.5, "K=33.9": 0.00174}  # c = d = 1, T = 2
DISCOUNTED = {"β=0.5, ρ=1": (0.5, 1.0), "β=0.2, ρ=3": (0.2, 3.0)}


def problem(effort_cost, discount, steps):
    system = lrc.systems.LinearPerceptron(input_variance=1.0, distance=1.0)
    return lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost, discount), horizon=2.0, steps=steps)


def mu0_extrapolated(sol):
    """μ*(0) from the first three cell values (midpoint samples at h/2, 3h/2, 5h/2; quadratic extrapolation)."""
    u = np.asarray(sol.controls[:3, 0])
    return float((15 * u[0] - 10 * u[1] + 3 * u[2]) / 8)


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/perceptron_solvers")
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()
    out = results_folder(args.out)
    results = {"steps": args.steps, "undiscounted": {}, "discounted": {}}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))

    for ax, (case, beta) in zip(axes[:2], UNDISCOUNTED.items()):
        p = problem(beta, 0.0, args.steps)
        ref = np.asarray(p.system.optimal_schedule(p).values)
        j_star = float(p.system.optimal_objective(p))
        t = np.asarray(p.grid())
        mid = 0.5 * (t[1:] + t[:-1])
        rows = {}
        for name, solver in SOLVERS.items():
            sol = lrc.solve(p, solver, progress=False)
            err = np.abs(np.asarray(sol.schedule.values) - ref) / ref.max()
            d = sol.diagnostics
            rows[name] = {"converged": d.converged, "max_rel_error": float(err.max()),
                          "objective_gap_to_J*": float(sol.objective) - j_star,
                          "compile_s": d.compile_time, "run_s": d.run_time, d.residual_name: float(d.residual),
                          **{k: float(v) for k, v in d.extras.items()}}
            ax.semilogy(mid, np.maximum(err, 1e-17), label=f"{name} (max {err.max():.1e})")
            print(f"{case:7s} {name:9s} converged={d.converged}  max err/peak {err.max():.2e}  "
                  f"J − J* {float(sol.objective) - j_star:+.2e}  run {d.run_time:.3f} s", flush=True)
        results["undiscounted"][case] = rows
        ax.set(title=f"{case}: |u − closed form| / peak ({args.steps} steps)", xlabel="t")
        ax.legend(fontsize=8)

    for case, (beta, rho) in DISCOUNTED.items():
        p = problem(beta, rho, args.steps)
        sols = {name: lrc.solve(p, solver, progress=False) for name, solver in SOLVERS.items()}
        exact = float(sols["shooting"].costates[0, 0]) / (2 * beta)  # c = d = 1
        rows = {name: {"converged": s.diagnostics.converged, "mu0": mu0_extrapolated(s),
                       "mu0_rel_diff": abs(mu0_extrapolated(s) / exact - 1), "first_cell": float(s.controls[0, 0])}
                for name, s in sols.items()}
        rows["shooting"]["mu0_costate"] = exact
        results["discounted"][case] = rows
        for name, s in sols.items():
            print(f"{case:11s} {name:9s} μ*(0) ≈ {rows[name]['mu0']:.7f} (costate {exact:.7f}), first cell "
                  f"{rows[name]['first_cell']:.7f}", flush=True)
            axes[2].plot(np.asarray(s.t[:-1]), np.asarray(s.schedule.values), lw=1, label=f"{case}, {name}")
    axes[2].set(title="discounted: all solvers (lines overlap)", xlabel="t", ylabel="μ(t)")
    axes[2].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "solvers.png", dpi=120)
    write_json(out / "results.json", results)

    lines = ["| solver | K = 2: max err / peak | K = 33.9: max err / peak | μ*(0), β=0.5 ρ=1 | μ*(0), β=0.2 ρ=3 |",
             "|---|---|---|---|---|"]
    for name in SOLVERS:
        u, d = results["undiscounted"], results["discounted"]
        lines.append(f"| {name} | {u['K=2'][name]['max_rel_error']:.1e} | {u['K=33.9'][name]['max_rel_error']:.1e} | "
                     f"{d['β=0.5, ρ=1'][name]['mu0']:.7f} | {d['β=0.2, ρ=3'][name]['mu0']:.7f} |")
    note = (f"{args.steps} steps, closed form sampled at cell midpoints. μ*(0) for ρ > 0 (no closed form): extrapolated "
            f"from the first three cells; the shooting costate gives it exactly: "
            f"{results['discounted']['β=0.5, ρ=1']['shooting']['mu0_costate']:.7f} and "
            f"{results['discounted']['β=0.2, ρ=3']['shooting']['mu0_costate']:.7f}. Shooting and the sweep use RK4 on "
            f"the canonical equations, HJB a 401-point grid of e; all four are independent routes to the optimum. "
            f"Direct and HJB solve the discrete problem (controls constant per cell), whose optimum is the closed "
            f"form at the midpoints only up to O(h²) (1.4e-4 at K = 33.9, 1000 steps): they agree with each other "
            f"there to 6e-6 of the peak. Newton shooting samples the continuous optimum itself, so only RK4's "
            f"O(h⁴) remains.")
    (out / "agreement.md").write_text("\n".join(lines) + "\n\n" + note + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
