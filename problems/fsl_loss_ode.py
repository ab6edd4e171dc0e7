"""The FSL as a loss ODE (`lrc.systems.FSLLossODE`): its optimum against the continuous optimum of `fsl_laws` as
the control cells shrink, by Direct, by the Pontryagin sweep and by Newton shooting, in both phases; and against
the discrete FSL's exact finite-N optimum as N grows.

Newton shooting integrates the 161 mode costates forward, where they grow as e^(x_j η z): from its default start
(the costates of the best constant rate) it does not converge, so it starts from Direct's schedule (`u0`). The
start only brings Newton near the root; the root is Pontryagin's conditions on the canonical equations (RK4 with
the stable substeps), and its schedule is u* at the cell midpoints — the continuous optimum itself, not a
piecewise-constant approximation, so its error does not shrink with the cells the way Direct's does.

Easy: s = 1, β = 2, σ²/B = 1, η_max = 0.5, N = 100. Hard: s = 0.25, β = 3, σ²/B = 0.2, η_max = 0.2, N = 200 (the cap
binds first). Cells 25, 50, 100 (and 200 in the hard phase); RK4 with the system's stable substeps. The error is
max |η(cell) − η*(cell midpoint)| / max η*; its order is fitted over the ladder. Then the continuous optimum's E*
against the discrete E_N of the exact finite-N law (`FSL.exact_optimum`) for N = 10², 10³, 10⁴, 10⁵.

Writes `results.json`, `agreement.md` (README rows) and `fsl_loss_ode.png` to --out.

    python problems/fsl_loss_ode.py   # writes problems/results/fsl_loss_ode/
"""

import time

from _common import RESULTS, arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import numpy as np

import lrcontrol as lrc
from lrcontrol.systems import FSLLossODE

PHASES = {"easy": (dict(source=1.0, capacity=2.0, noise=1.0, eta_max=0.5), 100, (25, 50, 100)),
          "hard": (dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2), 200, (25, 50, 100, 200))}


def midpoint_error(system, n, controls):
    cells = controls.shape[0]
    reference = np.asarray(system.optimal_rate(n, (np.arange(cells) + 0.5) * n / cells))
    return float(np.max(np.abs(np.asarray(controls[:, 0]) - reference)) / reference.max())


def agreement(results) -> str:
    """The README rows: per phase and grid, both solvers' distance to the continuous optimum, and the orders."""
    rows = ["| phase, N | cells | Direct: max \\|η − η*\\| / peak | sweep | Newton (from Direct) "
            "| J / E* − 1 (Direct) |",
            "|---|---|---|---|---|---|"]
    for phase, r in results["phases"].items():
        for row in r["ladder"]:
            nw = row["newton"]
            newton = f"{nw['error']:.1e} ({nw['iterations']} it.)" if nw["converged"] else "not converged"
            rows.append(f"| {phase}, {r['steps']} | {row['cells']} | {row['direct']['error']:.1e} | "
                        f"{row['sweep']['error']:.1e} | {newton} | {row['direct']['objective_gap']:.1e} |")
    orders = "; ".join(f"{p}: {r['order']['direct']:.2f} (Direct), {r['order']['sweep']:.2f} (sweep)"
                       for p, r in results["phases"].items())
    gaps = "; ".join(f"{p}: " + ", ".join(f"N = {n}: {g:.1e}" for n, g in gap.items())
                     for p, gap in results["discrete_gap"].items())
    return "\n".join(rows) + (f"\n\nOrder in the cell length: {orders}. Continuous E* / discrete exact E_N − 1: "
                              f"{gaps}.\n")


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default=str(RESULTS / "fsl_loss_ode"))
    out = results_folder(ap.parse_args().out)
    results = {"phases": {}, "discrete_gap": {}}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    for ax, (phase, (params, n, ladder)) in zip(axes, PHASES.items()):
        system = FSLLossODE(**params)
        optimum = system.continuous_optimum(n)
        rows = []
        for cells in ladder:
            problem = system.problem(n, cells)
            row = {"cells": cells, "substeps": problem.integrator.substeps}
            even = 2 * -(-problem.integrator.substeps // 2)
            for name, solver in (("direct", lrc.solvers.Direct(rtol=1e-6)),
                                 ("sweep", lrc.solvers.Shooting(method="sweep", substeps=even)),
                                 ("newton", lrc.solvers.Shooting(substeps=even))):
                t = time.perf_counter()
                start = row_direct.controls if name == "newton" else None
                sol = lrc.solve(problem, solver, u0=start, progress=False)
                if name == "direct":
                    row_direct = sol
                row[name] = {"converged": bool(sol.diagnostics.converged), "message": sol.diagnostics.message,
                             "iterations": int(sol.diagnostics.iterations),
                             "error": midpoint_error(system, n, sol.controls),
                             "objective_gap": float(sol.objective) / optimum["loss"] - 1,
                             "seconds": time.perf_counter() - t}
            rows.append(row)
            print(f"{phase} {cells:4d} cells: direct {row['direct']['error']:.2e} (J gap "
                  f"{row['direct']['objective_gap']:.1e}), sweep {row['sweep']['error']:.2e}, newton "
                  f"{row['newton']['error']:.2e} ({row['newton']['message']})", flush=True)
            if cells == ladder[-1]:
                z = np.linspace(0, n, 2001)
                ax.plot(z, np.asarray(system.optimal_rate(n, z)), "k--", label="continuous optimum")
                ax.step(np.arange(cells + 1) * n / cells, np.append(sol.controls[:, 0], sol.controls[-1, 0]),
                        where="post", label=f"sweep, {cells} cells")
        order = {k: float(np.polyfit(np.log(ladder), np.log([r[k]["error"] for r in rows]), 1)[0] * -1)
                 for k in ("direct", "sweep")}
        results["phases"][phase] = {"params": params, "steps": n, "branch": optimum["branch"], "ladder": rows,
                                    "order": order}
        print(f"{phase}: order in the cell length, direct {order['direct']:.2f}, sweep {order['sweep']:.2f}")
        ax.set(title=f"{phase} phase, N = {n}", xlabel="step z", ylabel="learning rate η")
        ax.legend()
        gaps = {}
        for big in (100, 1_000, 10_000, 100_000):
            _, _, discrete = system.law.exact_optimum(big)
            gaps[big] = system.continuous_optimum(big)["loss"] / float(discrete) - 1
        results["discrete_gap"][phase] = gaps
        print(f"{phase}: continuous E* / discrete E_N − 1: " + ", ".join(f"N={k}: {v:.1e}" for k, v in gaps.items()))
    fig.savefig(out / "fsl_loss_ode.png", dpi=120)
    write_json(out / "results.json", results)
    (out / "agreement.md").write_text(agreement(results))
    print(f"wrote {out}/results.json, agreement.md, fsl_loss_ode.png")


if __name__ == "__main__":
    main()
