"""Random features at scale: the optimal per-step schedule for T steps × N modes, solved whole.

Online SGD on power-law random features (Bordelon & Mori 2026); the GPU table issue #19 asks for (10⁴–10⁵ steps ×
10³–10⁴ modes).

Each case: a = b = 2, σ = 0.5, m = 1, η ≤ 2, one rate per step, minimise L_T (`lrc.solve`, Direct preconditioned
by the exact Hessian diagonal). Timed first: one forward pass and one value + gradient (compile apart). A solve
is started only when its projection — `--iterations` (default 80) iterations at 2.5 value-and-gradients each (the
Hessian-diagonal pass and the line search: 1.7–2.7 in the 2-core runs) plus compiles — fits in what is left of
`--budget` seconds; otherwise the row says so (cases run small to large). Peak device memory where
the backend reports it: the process's peak so far (cases run small to large, so a row's own unless an earlier one
used more). Results are written after every case.

    python benchmarks/random_features_scaling.py --name random_features_scaling_gpu   # on a GPU
    python benchmarks/random_features_scaling.py --sizes 1000x100,2000x200            # a CPU check of the script
"""

import argparse
import sys
import time
from pathlib import Path

import equinox as eqx
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import best_of, write  # noqa: E402

A, B, NOISE, BATCH, ETA_MAX = 2.0, 2.0, 0.5, 1.0, 2.0


def problem(steps, modes):
    system = lrc.systems.RandomFeatures(a=A, b=B, modes=modes, noise=NOISE, batch=BATCH)
    return lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=steps, bounds={"lr": (0.0, ETA_MAX)})


def timed(fn, *args):
    """(compile + first call, best of two further calls — one where a call takes over a second) in seconds."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    return first, best_of(lambda: jax.block_until_ready(fn(*args)), 2 if first < 1 else 1)[0]


def peak_memory_gib():
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**30


def case(steps, modes, remaining, iterations):
    p = problem(steps, modes)
    u = jnp.full((steps, 1), 0.5)
    forward_first, forward = timed(eqx.filter_jit(lambda p, u: p.cost(u)), p, u)
    row = {"steps": steps, "modes": modes, "forward_s": forward}
    floor = 2.5 * iterations * 5 * forward  # a value-and-gradient costs 5.6–15 forward passes in the 2-core runs
    if floor > remaining:
        row["skipped"] = f"projected over {floor:.0f} s > the {remaining:.0f} s left of the budget"
        return row
    vg_first, vg = timed(eqx.filter_jit(lambda p, u: jax.value_and_grad(p.cost)(u)), p, u)
    row.update({"value_and_grad_s": vg, "value_and_grad_compile_s": vg_first - vg,
                "value_and_grad_over_forward": vg / forward})
    projected = 2.5 * iterations * vg + 2 * (vg_first - vg)
    row["projected_solve_s"] = projected
    if projected > remaining:
        row["skipped"] = f"projected {projected:.0f} s > the {remaining:.0f} s left of the budget"
        return row
    sol = lrc.solve(p, progress=False)
    d = sol.diagnostics
    row.update({"converged": bool(d.converged), "message": d.message, "iterations": int(d.iterations),
                "evaluations": int(d.evaluations), "compile_s": d.compile_time, "run_s": d.run_time,
                "objective": float(sol.objective), "peak_memory_gib": peak_memory_gib()})
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000x1000,10000x10000,100000x1000,100000x10000",
                    help="comma-separated STEPSxMODES cases, small to large")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds for all cases")
    ap.add_argument("--iterations", type=int, default=80, help="iterations a solve is projected to take")
    ap.add_argument("--name", default="random_features_scaling",
                    help="results file name (random_features_scaling_gpu on a GPU)")
    args = ap.parse_args(argv)
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    started, rows = time.perf_counter(), []
    for steps, modes in sizes:
        row = case(steps, modes, args.budget - (time.perf_counter() - started), args.iterations)
        rows.append(row)
        what = row.get("skipped") or (f"{row['message']} in {row['iterations']} iterations, run {row['run_s']:.2f} s, "
                                      f"compile {row['compile_s']:.1f} s")
        cost = (f"value+grad {row['value_and_grad_s'] * 1e3:.1f} ms ({row['value_and_grad_over_forward']:.1f}x a "
                f"forward pass)" if "value_and_grad_s" in row else f"forward pass {row['forward_s'] * 1e3:.1f} ms")
        print(f"T = {steps}, {modes} modes: {cost}; {what}", flush=True)
        payload = {"description": __doc__.splitlines()[0],
                   "case": {"a": A, "b": B, "noise": NOISE, "batch": BATCH, "eta_max": ETA_MAX, "blocks": "steps"},
                   "budget_s": args.budget, "projection_iterations": args.iterations, "rows": rows}
        path = write(args.name, payload)  # after every case: a run stopped by its time limit keeps what it measured
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
