"""A batch of FSL solves: a Python loop of `lrc.solve` against `lrc.sweep` on one and on four devices, each
vectorised (vmap) and not (vectorize=False). Compile and run time apart; the answers compared with the loop's.

The device count of JAX's CPU backend is fixed when JAX starts, so each configuration runs in its own process
(this script with --worker); the four devices are *forced host devices*
(XLA_FLAGS=--xla_force_host_platform_device_count=4), which share the machine's cores. On a 2-core machine that
measures correctness and the overhead of sharding, not a speed-up: real speed-ups need real devices (GPUs, or
hosts joined by `jax.distributed`).

The problems: additive FSL (σ²/B = 1, η_max = 1, rate cap 1) under the final loss, horizon N, on a grid of
(s, β) pairs spanning both phases (s in 0.1…1.2, β in 1.5…4).

    python benchmarks/sweep.py                     # 64 problems, N = 1000
    python benchmarks/sweep.py --batch 1024 --horizon 10000 --modes map --one-device
        # writes benchmarks/results/sweep_1024x10000.json: the loop against lrc.sweep(vectorize=False) on one
        # device (the vmapped batch of 1024 runs every row to the slowest row's iteration count: timed by
        # benchmarks/sweep_throughput.py; with L-BFGS, 1024 histories at once, over 11 min and 8 GB on 2 cores)
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

NOTE = (
    "the 4 devices are forced host devices (XLA_FLAGS=--xla_force_host_platform_device_count=4) "
    "sharing this machine's {cores} cores: this measures correctness and the overhead of sharding, "
    "not a speed-up. vmap: each device's rows as one batched while loop (lrc.sweep's default); map: "
    "rows one after another (vectorize=False). Loop run time = the loop's wall time minus its "
    "compile time (per-solve host overhead included); sweep run time from a second call of the same "
    "shapes (the compiled program reused). Timings from one run each on a shared machine are noisy.")
ROOT = Path(__file__).resolve().parents[1]


def grid(batch: int):
    import numpy as np

    side = int(np.ceil(np.sqrt(batch)))
    s, b = np.meshgrid(np.linspace(0.1, 1.2, side), np.linspace(1.5, 4.0, side))
    return {"s": s.ravel()[:batch], "b": b.ravel()[:batch]}


def make_problem(horizon: int):
    """`make(p)`: the problem of one grid point p = {"s", "b"} (the module docstring's), for `lrc.sweep`."""
    import lrcontrol as lrc  # imported here: a worker sets its device count before JAX starts
    from lrcontrol.systems import FSL

    def make(p):
        system = FSL(source=p["s"], capacity=p["b"], noise=1.0, eta_max=1.0)
        return lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon, bounds={"lr": (0.0, 1.0)})
    return make


def worker(args) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    import lrcontrol as lrc

    make = make_problem(args.horizon)
    params = grid(args.batch)
    out = {"devices": args.devices, "jax_devices": len(jax.devices())}
    if args.loop:
        start = time.perf_counter()
        sols = [lrc.solve(make({k: v[i] for k, v in params.items()}), progress=False) for i in range(args.batch)]
        wall = time.perf_counter() - start
        compile_s = sum(s.diagnostics.compile_time for s in sols)
        out["loop"] = {"compile_s": compile_s, "run_s": sum(s.diagnostics.run_time for s in sols),
                       "wall_s": wall, "wall_minus_compile_s": wall - compile_s,
                       "converged": int(sum(s.diagnostics.converged for s in sols)),
                       "objective": [float(s.objective) for s in sols],
                       "controls": [np.asarray(s.controls[:, 0]).tolist() for s in sols]}
    for vectorize in [mode == "vmap" for mode in args.modes.split(",")]:
        start = time.perf_counter()
        r = lrc.sweep(make, params, devices=args.devices, vectorize=vectorize)
        wall = time.perf_counter() - start
        # A second sweep of the same shapes reuses the compiled program: its time is the run alone.
        again = lrc.sweep(make, params, devices=args.devices, vectorize=vectorize)
        out["sweep_vmap" if vectorize else "sweep_map"] = {
            "compile_s": r.compile_time, "run_s": r.run_time, "wall_s": wall,
            "second_call_compile_s": again.compile_time, "second_call_run_s": again.run_time, "padded": r.padded,
            "converged": int(r.converged.sum()), "max_iterations": int(np.max(r.solution.diagnostics.iterations)),
            "objective": np.asarray(r.objective).tolist(), "controls": np.asarray(r.controls[:, :, 0]).tolist()}
    return out


def run_worker(devices: int, loop: bool, args) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, __file__, "--worker", "--devices", str(devices), "--batch", str(args.batch),
           "--horizon", str(args.horizon), "--modes", args.modes] + (["--loop"] if loop else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"worker with {devices} device(s) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--devices", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    parser.add_argument("--modes", default="vmap,map", help="sweep modes to time: vmap, map or both (vmap,map)")
    parser.add_argument("--one-device", action="store_true", help="skip the run on 4 forced host devices")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return None

    import numpy as np

    runs = [("1_device", run_worker(1, True, args))]
    if not args.one_device:
        runs.append(("4_forced_host_devices", run_worker(4, False, args)))
    loop = runs[0][1].pop("loop")
    ref_obj, ref_u = np.array(loop.pop("objective")), np.array(loop.pop("controls"))
    configs = {"loop_1_device": loop}
    for devices, out in runs:
        for mode in args.modes.split(","):
            configs[f"sweep_{mode}_{devices}"] = out[f"sweep_{mode}"]
    for name, c in configs.items():
        if name == "loop_1_device":
            continue
        obj, u = np.array(c.pop("objective")), np.array(c.pop("controls"))
        c["max_rel_objective_diff_vs_loop"] = float(np.max(np.abs(obj - ref_obj) / np.abs(ref_obj)))
        diff = np.max(np.abs(u - ref_u), axis=1) / np.max(np.abs(ref_u), axis=1)  # per problem, over its peak
        c["max_control_diff_vs_loop_over_peak"] = float(np.max(diff))
        c["problems_with_control_diff_above_1e-13_of_peak"] = int(np.sum(diff > 1e-13))
        c["loop_run_over_sweep_run"] = loop["wall_minus_compile_s"] / c["second_call_run_s"]
    payload = {"problem": f"FSL additive, sigma2/B = 1, eta_max = 1, final loss, horizon {args.horizon}",
               "batch": args.batch, "configurations": configs,
               "note": NOTE.format(cores=os.cpu_count())}
    sys.path.insert(0, str(Path(__file__).parent))
    import jax

    jax.config.update("jax_enable_x64", True)
    from _harness import RESULTS, write

    name = "sweep" if (args.batch, args.horizon) == (64, 1000) else f"sweep_{args.batch}x{args.horizon}"
    path = write(name, payload, args.out or RESULTS)
    for name, c in configs.items():
        run = c.get("second_call_run_s", c.get("wall_minus_compile_s"))
        print(f"{name:34s} compile {c['compile_s']:6.2f} s  run {run:7.3f} s  converged {c['converged']}/"
              f"{args.batch}  control diff {c.get('max_control_diff_vs_loop_over_peak', 0):.1e} of the peak")
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
