"""FSL phase diagram (Li et al. 2025, 2026) from numerical optima: power decay (easy) against WSD (hard) over an
(s, β) grid, and the boundary s = 1 − 1/β recovered.

For every (s, β) on the grid the additive FSL (σ²/B = 1, η_max = 1) is solved numerically — one `lrc.sweep` (a
vmapped solve sharded over JAX's devices) over the whole grid, once per horizon N = 10³ and 10⁴ — and the phase is
read off the two optima by `fsl_laws.phase_order_parameter`: φ = slope of log(peak) − slope of log(decay fraction)
in log N; φ < 0 is a power decay whose peak falls with N (easy), φ > 0 a peak that grows to the cap and then a
decay over a shrinking fraction (hard, WSD). For each β the boundary is the zero of φ in s (linear interpolation
between the two grid points around the sign change) and is compared with s = 1 − 1/β. The numerical optima are also
checked against the exact finite-N law (max error relative to the peak), and φ against its theory value −ν away
from the cap.

Writes `results.json`, `agreement.md` (README rows) and `fsl_phase_diagram.png` to --out.

    python problems/fsl_phase_diagram.py            # 14 × 6 grid, N = 10³ and 10⁴ (~1 min on 2 cores)
    python problems/fsl_phase_diagram.py --quick    # 7 × 3 grid, N = 300 and 3000 (a smoke run)
"""

import os
import platform
import time
from pathlib import Path

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import numpy as np

import lrcontrol as lrc
from lrcontrol.systems import FSL, fsl_laws

NOISE, ETA_MAX = 1.0, 1.0


def solve_grid(sources, capacities, horizon: int):
    """Numerical optima for every (s, β) pair, one `lrc.sweep` over all of JAX's devices: (rates [n, N],
    objective [n], converged [n], iterations [n], the sweep's compile and run seconds)."""

    def problem(p):
        system = FSL(source=p["s"], capacity=p["b"], noise=NOISE, eta_max=ETA_MAX)
        return lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon, bounds={"lr": (0.0, ETA_MAX)})

    result = lrc.sweep(problem, {"s": np.asarray(sources), "b": np.asarray(capacities)})
    sol = result.solution
    return (sol.controls[:, :, 0], sol.objective, result.converged, sol.diagnostics.iterations,
            dict(compile=result.compile_time, run=result.run_time, devices=result.devices))


def law_errors(sources, capacities, horizon, rates):
    """Max |numeric − exact law| / peak for every pair (the law is per-system: a loop of O(N) 1-D searches)."""
    errors = []
    for s, b, r in zip(sources, capacities, np.asarray(rates)):
        law, _, _ = FSL(source=float(s), capacity=float(b), noise=NOISE, eta_max=ETA_MAX).exact_optimum(horizon)
        errors.append(float(np.max(np.abs(r - np.asarray(law))) / np.max(np.asarray(law))))
    return np.array(errors)


def boundary(s_values, phi_row):
    """Zero of φ(s) for one β: linear interpolation at the last sign change from + (hard) to − (easy)."""
    for i in range(len(s_values) - 1):
        if phi_row[i] > 0 >= phi_row[i + 1]:
            w = phi_row[i] / (phi_row[i] - phi_row[i + 1])
            return float(s_values[i] + w * (s_values[i + 1] - s_values[i]))
    return None


def main(argv=None):
    parser = arguments(__doc__)
    parser.add_argument("--quick", action="store_true", help="small grid and horizons (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fsl_phase_diagram")
    args = parser.parse_args(argv)

    if args.quick:
        capacities, horizons = np.array([1.5, 2.0, 3.0]), (300, 3000)
        s_values = np.round(np.linspace(0.1, 1.0, 7), 4)
    else:
        capacities, horizons = np.array([1.25, 1.5, 2.0, 2.5, 3.0, 4.0]), (1_000, 10_000)
        s_values = np.round(np.linspace(0.05, 1.2, 14), 4)
    ss, bb = np.meshgrid(s_values, capacities)  # rows: β, columns: s
    flat_s, flat_b = ss.ravel(), bb.ravel()

    solves = {}
    for n in horizons:
        start = time.perf_counter()
        rates, objective, converged, iterations, timing = solve_grid(flat_s, flat_b, n)
        seconds = time.perf_counter() - start
        errors = law_errors(flat_s, flat_b, n, rates)
        solves[n] = dict(rates=np.asarray(rates), converged=np.asarray(converged), errors=errors)
        print(f"N = {n}: {flat_s.size} problems in one lrc.sweep over {timing['devices']} device(s), {seconds:.1f} s "
              f"(compile {timing['compile']:.1f} s, run {timing['run']:.1f} s); "
              f"all converged: {bool(np.all(converged))}, max iterations {int(np.max(iterations))}; "
              f"max error vs the exact law {errors.max():.2e} of the peak")
        solves[n]["seconds"] = seconds
        solves[n]["timing"] = timing

    short, long_ = horizons
    phi = np.array([fsl_laws.phase_order_parameter(a, b, ETA_MAX)
                    for a, b in zip(solves[short]["rates"], solves[long_]["rates"])]).reshape(ss.shape)
    nu = np.vectorize(fsl_laws.nu)(ss, bb)
    detected = np.where(phi > 0, "hard", "easy")
    theory = np.vectorize(fsl_laws.phase)(ss, bb)
    off_boundary = np.abs(ss - (1 - 1 / bb)) > 1e-9
    agree = float(np.mean((detected == theory)[off_boundary]))
    rows = []
    for i, b in enumerate(capacities):
        s_c = boundary(s_values, phi[i])
        rows.append(dict(capacity=float(b), theory=1 - 1 / b, detected=s_c,
                         error=None if s_c is None else s_c - (1 - 1 / b)))
        print(f"β = {b:g}: boundary s = {s_c if s_c is None else round(s_c, 4)} (theory 1 − 1/β = {1 - 1 / b:.4f})")
    # −ν is φ's value only where neither optimum touches the cap (decay fraction 1 at both N)
    uncapped = np.array([fsl_laws.decay_length(a, ETA_MAX) == a.size and fsl_laws.decay_length(b, ETA_MAX) == b.size
                         for a, b in zip(solves[short]["rates"], solves[long_]["rates"])]).reshape(ss.shape)
    easy_uncapped = (phi < 0) & uncapped
    nu_gap = float(np.max(np.abs(phi[easy_uncapped] + nu[easy_uncapped]))) if easy_uncapped.any() else None
    print(f"phase agreement off the boundary: {agree:.3f} of {int(off_boundary.sum())} points; "
          f"max |φ + ν| in the uncapped easy region {'n/a' if nu_gap is None else f'{nu_gap:.3f}'}")

    results_folder(args.out)
    results = dict(machine=dict(cpus=os.cpu_count(), platform=platform.platform(), jax=jax.__version__,
                                device=str(jax.devices()[0]), devices=len(jax.devices())),
                   noise=NOISE, eta_max=ETA_MAX, horizons=list(horizons), sources=s_values.tolist(),
                   capacities=capacities.tolist(), phi=phi.tolist(), nu=nu.tolist(),
                   detected=detected.tolist(), theory=theory.tolist(), agreement_off_boundary=agree,
                   max_abs_phi_plus_nu_easy=nu_gap, boundaries=rows,
                   max_error_vs_law={str(n): float(solves[n]["errors"].max()) for n in horizons},
                   all_converged=bool(all(np.all(solves[n]["converged"]) for n in horizons)),
                   vmapped_solve_seconds={str(n): solves[n]["seconds"] for n in horizons},
                   sweep_compile_run_seconds={str(n): solves[n]["timing"] for n in horizons})
    write_json(args.out / "results.json", results)
    errs = [abs(r["error"]) for r in rows if r["error"] is not None]
    (args.out / "agreement.md").write_text(
        f"| FSL phase diagram, {ss.size} (s, β) points, N = {short}/{long_}, one lrc.sweep per N | boundary "
        f"s = 1 − 1/β from the sign of φ: max error {max(errs):.3f} over {len(errs)} β; phase agreement off the "
        f"boundary {agree:.0%} | `python problems/fsl_phase_diagram.py` |\n")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    lim = np.max(np.abs(phi))
    mesh = ax.pcolormesh(s_values, capacities, phi, cmap="coolwarm", vmin=-lim, vmax=lim, shading="nearest")
    fig.colorbar(mesh, ax=ax, label="φ  (> 0 hard / WSD, < 0 easy / power decay)")
    bs = np.linspace(capacities.min(), capacities.max(), 100)
    ax.plot(1 - 1 / bs, bs, "k-", label="theory s = 1 − 1/β")
    ax.plot([r["detected"] for r in rows if r["detected"]], [r["capacity"] for r in rows if r["detected"]], "wo",
            mec="k", label="detected (zero of φ)")
    ax.set(xlabel="source s", ylabel="capacity β", title=f"phase from numerical optima (N = {short}, {long_})")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[1]
    i_b = int(np.argmin(np.abs(capacities - 2.0)))
    for j in (0, len(s_values) // 2, len(s_values) - 1):
        r = solves[long_]["rates"][i_b * len(s_values) + j]
        ax.plot(np.arange(1, r.size + 1), r, label=f"s = {s_values[j]:g} ({detected[i_b, j]})")
    ax.set(xscale="log", yscale="log", xlabel="step", ylabel="η*",
           title=f"optima at β = {capacities[i_b]:g}, N = {long_}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "fsl_phase_diagram.png", dpi=120)
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
