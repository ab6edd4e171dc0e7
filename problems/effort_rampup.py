"""Discounting and ramp-up (Njaradi et al. 2026): a network that starts on a plateau ramps its optimal learning
rate up under discount; the linear perceptron never does.

With discount ρ the optimum obeys μ(t) = (1/2β)∫ₜᵀ e^{−ρ(s−t)}‖∇L(s)‖² ds, so μ rises exactly while the discounted
future squared gradient norm exceeds the present one. A two-layer erf teacher–student started near the saddle at
the origin (first-layer scale σ₀ and readout v₀ both small) has tiny gradients that grow as it escapes: its
discounted optimum ramps up towards the escape. In the perceptron ‖∇L‖ only falls, so μ* only falls, at any ρ.

Sweep: ρ ∈ {0, 0.25, 0.5, 1} × σ₀ = v₀ ∈ {0.05, 0.2}, effort cost β = 0.001, T = 10, 200 steps (direct method,
relative tolerance 1e-6). The problem is not convex: escaping the plateau pays only if μ is large enough, and
with a larger effort cost (β = 0.01, T = 10) L-BFGS from the default initial guess (the best constant on a decade
grid) stayed at μ ≈ 0.1, "barely learn", a local optimum of higher cost than the escape (3.6 vs 2.5). So every
solve here starts from the constant μ = 8, which escapes, and the solve from the default guess is reported beside
it (`default_start_objective`) as a check that no better basin was missed.
Ramp measure: peak μ / μ(0) (1 = no ramp-up) and the time of the peak.

Writes `results.json`, `agreement.md` (README rows) and `rampup.png` to --out.

    python problems/effort_rampup.py            # writes problems/results/effort_rampup/
    python problems/effort_rampup.py --quick    # ρ ∈ {0, 0.5}, σ₀ = 0.05, 100 steps
"""

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax.numpy as jnp
import numpy as np

import lrcontrol as lrc

EFFORT_COST, HORIZON, START_RATE = 0.001, 10.0, 8.0


def network_optimum(init_scale: float, discount: float, steps: int, default_start: bool = True):
    """The optimum from the escaping start μ = 8, and (if `default_start`) the solve from the default guess."""
    system = lrc.systems.TeacherStudent(inputs=10, hidden=2, seed=0, init_scale=init_scale, readout_init=init_scale)
    problem = lrc.ControlProblem(system, lrc.objectives.Effort(EFFORT_COST, discount), horizon=HORIZON, steps=steps)
    solver = lrc.solvers.Direct(rtol=1e-6)
    escaped = lrc.solve(problem, solver, u0=jnp.full((steps, 1), START_RATE), progress=False)
    return escaped, (lrc.solve(problem, solver, progress=False) if default_start else None)


def perceptron_optimum(discount: float, steps: int):
    problem = lrc.ControlProblem(lrc.systems.LinearPerceptron(), lrc.objectives.Effort(0.5, discount), horizon=2.0,
                                 steps=steps)
    return lrc.solve(problem, progress=False)


def ramp(sol) -> dict:
    mu = np.asarray(sol.schedule.values)
    k = int(np.argmax(mu))
    return {"ramp_ratio": float(mu[k] / mu[0]), "peak_time": float(0.5 * (sol.t[k] + sol.t[k + 1])),
            "rate_at_0": float(mu[0]), "peak_rate": float(mu[k]), "objective": float(sol.objective),
            "final_loss": float(sol.loss[-1]), "converged": sol.diagnostics.converged,
            "message": sol.diagnostics.message}


def agreement(results: dict) -> str:
    """README rows: peak μ / μ(0) (1 = no ramp-up) and the peak time, network by initial scale, and perceptron."""
    discounts = sorted({r["discount"] for r in results["network"]})
    lines = ["| optimum, ramp ratio peak μ / μ(0) (peak time) | " + " | ".join(f"ρ = {d}" for d in discounts) + " |",
             "|---|" + "---|" * len(discounts)]
    for scale in sorted({r["init_scale"] for r in results["network"]}):
        cells = {r["discount"]: r for r in results["network"] if r["init_scale"] == scale}
        lines.append(f"| teacher–student, σ₀ = v₀ = {scale} | " + " | ".join(
            f"{cells[d]['ramp_ratio']:.2f} ({cells[d]['peak_time']:.2f})" for d in discounts) + " |")
    cells = {r["discount"]: r for r in results["perceptron"]}
    lines.append("| linear perceptron (β = 0.5, T = 2) | " + " | ".join(
        f"{cells[d]['ramp_ratio']:.2f} ({cells[d]['peak_time']:.2f})" if d in cells else "–" for d in discounts)
        + " |")
    lines += ["", f"Teacher–student: erf, 10 inputs, 2 hidden units, β = {results['effort_cost']}, T = "
              f"{results['horizon']}, {results['steps']} steps (direct). Ramp-up grows with the discount and with a "
              "smaller start (a longer plateau); never without discount, never in the perceptron."]
    return "\n".join(lines) + "\n"


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/effort_rampup")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    out = results_folder(args.out)
    discounts = [0.0, 0.5] if args.quick else [0.0, 0.25, 0.5, 1.0]
    scales = [0.05] if args.quick else [0.05, 0.2]
    steps = 100 if args.quick else 200
    results = {"effort_cost": EFFORT_COST, "horizon": HORIZON, "steps": steps, "network": [], "perceptron": []}
    fig, axes = plt.subplots(1, len(scales) + 1, figsize=(5 * (len(scales) + 1), 3.8))
    for ax, scale in zip(axes, scales):
        for rho in discounts:
            sol, default_start = network_optimum(scale, rho, steps)
            row = {"init_scale": scale, "discount": rho, **ramp(sol),
                   "default_start_objective": float(default_start.objective),
                   "default_start_final_loss": float(default_start.loss[-1])}
            results["network"].append(row)
            print(f"network σ₀ = v₀ = {scale}, ρ = {rho}: μ(0) {row['rate_at_0']:.3g}, peak {row['peak_rate']:.3g} "
                  f"at t = {row['peak_time']:.2f} (ratio {row['ramp_ratio']:.2f}), L(T) {row['final_loss']:.4f}, "
                  f"J {row['objective']:.5f} (from the default start: J {row['default_start_objective']:.5f}, "
                  f"L(T) {row['default_start_final_loss']:.4f}); {row['message']}", flush=True)
            ax.plot(0.5 * (np.asarray(sol.t[1:]) + np.asarray(sol.t[:-1])), sol.schedule.values, label=f"ρ = {rho}")
        ax.set(xlabel="t", ylabel="optimal learning rate", title=f"teacher–student, σ₀ = v₀ = {scale}")
        ax.legend(fontsize=8)
    for rho in discounts:
        sol = perceptron_optimum(rho, 400)
        row = {"discount": rho, **ramp(sol),
               "monotone_decreasing": bool(np.all(np.diff(np.asarray(sol.schedule.values)) <= 0))}
        results["perceptron"].append(row)
        print(f"perceptron ρ = {rho}: μ(0) {row['rate_at_0']:.4g}, ramp ratio {row['ramp_ratio']:.3f}, "
              f"monotone decreasing: {row['monotone_decreasing']}", flush=True)
        axes[-1].plot(0.5 * (np.asarray(sol.t[1:]) + np.asarray(sol.t[:-1])), sol.schedule.values, label=f"ρ = {rho}")
    axes[-1].set(xlabel="t", ylabel="optimal learning rate", title="linear perceptron (β = 0.5): no ramp-up")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "rampup.png", dpi=110)
    write_json(out / "results.json", results)
    (out / "agreement.md").write_text(agreement(results))


if __name__ == "__main__":
    main()
