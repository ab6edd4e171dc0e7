"""Training throughput: `lrcontrol.train.train` (scan of updates, validation every k updates, CSV and checkpoint
written at each measurement) against a bare jitted optax loop of the same model, optimiser, batches and schedule
(one jitted update per Python iteration, nothing logged). Target: the harness adds < 5 % per update.

Both are timed after compilation (the harness's first chunk, which compiles, is excluded; the bare loop is compiled
and run once before timing), best of `--repeats`. Run: `python benchmarks/train_overhead.py [--size mini]
[--steps 300] [--task digits]` (writes `train_overhead.json`, or `train_overhead_digits.json`). Needs the extra
`[train]` (Shakespeare) or scikit-learn (digits).
"""

import argparse
import tempfile
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from _harness import write
from lrcontrol.train import TrainConfig, schedule_rates, train
from lrcontrol.train.tasks import get_task


def bare_loop(config: TrainConfig, rates: np.ndarray, seed: int):
    """The reference: optax AdamW (same settings) with the rates as an optax schedule, a jitted update per step."""
    task = get_task(config.task, config.size, config.val_fraction)
    params, static = eqx.partition(task.init(seed), eqx.is_inexact_array)
    table = jnp.asarray(rates, jnp.float32)
    adam = optax.adamw(lambda count: table[count], b1=config.b1, b2=config.b2, weight_decay=config.weight_decay,
                       mask=lambda p: jax.tree_util.tree_map(lambda a: a.ndim >= 2, p))
    opt = optax.chain(optax.clip_by_global_norm(config.clip), adam)
    data = task.train_data()
    key = jax.random.PRNGKey(seed)

    @jax.jit
    def step(params, state, s):
        x, y = task.sample(data, key, s, config.batch)
        loss, grads = jax.value_and_grad(lambda p: task.loss(eqx.combine(p, static), x, y))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    def run(n):
        p, s = params, opt.init(params)
        for i in range(n):
            p, s, loss = step(p, s, i)
        return float(loss)

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="shakespeare", choices=("shakespeare", "digits"))
    ap.add_argument("--size", default="mini")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    config = TrainConfig(size=args.size, steps=args.steps, eval_every=args.eval_every, task=args.task,
                         **({"val_windows": 180} if args.task == "digits" else {}))
    rates = schedule_rates("cosine", args.steps, peak=3e-3, warmup=args.eval_every)
    run = bare_loop(config, rates, 0)
    t0 = time.perf_counter()
    run(2)
    bare_compile = time.perf_counter() - t0
    timed = args.steps - args.eval_every  # the harness's timed updates (its first chunk compiles)
    bare, harness, nofile, harness_compile = [], [], [], None
    for _ in range(args.repeats):  # interleaved, so load changes hit both alike
        t0 = time.perf_counter()
        run(timed)
        bare.append((time.perf_counter() - t0) / timed)
        with tempfile.TemporaryDirectory() as tmp:
            res = train(config, rates, 0, Path(tmp) / "run.csv", progress=False)
        harness.append(res.timing["run_s"] / timed)
        nofile.append(train(config, rates, 0, None, progress=False).timing["run_s"] / timed)
        harness_compile = harness_compile or res.timing["compile_s"]
    b, h, hn = min(bare), min(harness), min(nofile)
    payload = {"task": args.task, "size": args.size, "steps": args.steps, "eval_every": args.eval_every, "batch": config.batch,
               "val_windows": config.val_windows, "repeats": args.repeats,
               "bare_s_per_update": b, "harness_s_per_update": h, "overhead_fraction": h / b - 1,
               "median_bare_s_per_update": float(np.median(bare)),
               "median_harness_s_per_update": float(np.median(harness)),
               "median_harness_no_file_s_per_update": float(np.median(nofile)),
               "median_overhead_fraction": float(np.median(harness) / np.median(bare) - 1),
               "harness_no_file_s_per_update": hn, "overhead_fraction_no_file": hn / b - 1,
               "bare_all": bare, "harness_all": harness, "harness_no_file_all": nofile,
               "bare_compile_s": bare_compile,
               "harness_first_chunk_s (compile + 1 chunk)": harness_compile,
               "one_2000_update_run_estimate_s": 2000 * h,
               "note": "harness time includes its validation every eval_every updates and the CSV/checkpoint "
                       "writes (no_file: validation only, out=None); best of repeats; bare and harness "
                       "interleaved"}
    path = write("train_overhead" + ("" if args.task == "shakespeare" else f"_{args.task}"), payload)
    print(f"bare {1e3 * b:.2f} ms/update, harness {1e3 * h:.2f} ms/update ({100 * (h / b - 1):+.1f} %), without "
          f"its file {1e3 * hn:.2f} ms/update ({100 * (hn / b - 1):+.1f} %) -> {path}")


if __name__ == "__main__":
    main()
