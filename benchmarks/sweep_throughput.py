"""Sweep throughput: time per problem of a vectorised `lrc.sweep` against the batch size, beside a loop.

The loop is a Python loop of `lrc.solve` on the same device(s); the table is the one issue #19 asks of a GPU.

The problems are those of benchmarks/sweep.py (additive FSL, σ²/B = 1, η_max = 1, rate cap 1, final loss, horizon
N, (s, β) spanning both phases). For each batch size: one sweep (compile + run) and a second of the same shapes
(its run time alone: the compiled program reused); per problem = second run time / batch. Beside it a loop solves
the batch's first `--loop` problems one by one after a warm-up solve that compiles (per problem: the loop's wall
time, problem construction included). Results are written after every batch. A vectorised batch runs every row
until the slowest row stops, so a row's cost is the slowest row's iteration count: `max_iterations` beside the
mean.
Batch sizes are tried from small to large and stop when the time spent passes `--budget` seconds.

    python benchmarks/sweep_throughput.py --name sweep_throughput_gpu     # on a GPU: 16 … 1024 problems, N = 10⁴
    python benchmarks/sweep_throughput.py --batches 4,16 --horizon 1000   # a CPU check of the script
"""

import argparse
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import write  # noqa: E402
from sweep import grid, make_problem  # noqa: E402


def loop_row(make, params, count):
    rows = [{k: v[i] for k, v in params.items()} for i in range(count)]
    warm = lrc.solve(make(rows[0]), progress=False)  # compiles (and pays every first-call cost) once
    start = time.perf_counter()
    sols = [lrc.solve(make(p), progress=False) for p in rows]
    wall = time.perf_counter() - start
    return {"problems": count, "compile_s": warm.diagnostics.compile_time, "wall_s": wall,
            "per_problem_s": wall / count, "converged": int(sum(s.diagnostics.converged for s in sols)),
            "objective": [float(s.objective) for s in sols]}


def sweep_row(make, params, batch):
    first = lrc.sweep(make, params)
    again = lrc.sweep(make, params)
    iterations = np.asarray(again.solution.diagnostics.iterations)
    return {"batch": batch, "compile_s": first.compile_time, "first_run_s": first.run_time,
            "run_s": again.run_time, "per_problem_s": again.run_time / batch, "padded": again.padded,
            "converged": int(np.sum(again.converged)), "mean_iterations": float(iterations.mean()),
            "max_iterations": int(iterations.max()), "objective": np.asarray(again.objective).tolist()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="16,64,256,1024", help="comma-separated batch sizes, small to large")
    ap.add_argument("--horizon", type=int, default=10_000)
    ap.add_argument("--loop", type=int, default=16, help="problems the Python loop solves one by one")
    ap.add_argument("--budget", type=float, default=240.0, help="seconds after which no larger batch is started")
    ap.add_argument("--name", default="sweep_throughput", help="results file name (sweep_throughput_gpu on a GPU)")
    args = ap.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    make = make_problem(args.horizon)
    started = time.perf_counter()
    payload = {"description": __doc__.splitlines()[0], "horizon": args.horizon, "rows": [],
               "skipped_batches_over_budget": [], "budget_s": args.budget}
    for batch in batches:
        if time.perf_counter() - started > args.budget:
            payload["skipped_batches_over_budget"].append(batch)
            continue
        params = grid(batch)
        row = sweep_row(make, params, batch)
        # the loop on this batch's first rows (the grid depends on the batch size): the same problems, whose
        # answers agree to the solver's tolerance (sweep's docstring)
        loop = row["loop"] = loop_row(make, params, min(batch, args.loop))
        shared = loop["problems"]
        row["max_relative_objective_difference_vs_loop"] = float(np.max(
            np.abs(np.subtract(row["objective"][:shared], loop["objective"])) / np.abs(loop["objective"])))
        row["speedup_per_problem_vs_loop"] = loop["per_problem_s"] / row["per_problem_s"]
        payload["rows"].append(row)
        write(args.name, payload)  # after every batch: a run stopped by its time limit keeps what it measured
        print(f"batch {batch}: run {row['run_s']:.2f} s ({row['per_problem_s'] * 1e3:.2f} ms a problem; the loop "
              f"{loop['per_problem_s'] * 1e3:.2f} ms, {row['speedup_per_problem_vs_loop']:.1f}x), compile "
              f"{row['compile_s']:.1f} s, iterations mean {row['mean_iterations']:.0f} max {row['max_iterations']}, "
              f"{row['converged']}/{batch} converged", flush=True)
    print(f"wrote {write(args.name, payload)}")


if __name__ == "__main__":
    main()
