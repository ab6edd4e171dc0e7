"""Train a task's model under a learning-rate schedule: (config, schedule, seed) → the run's curves.

The task (`config.task`, `tasks.py`) is the character transformer on Shakespeare or the cheaper digits MLP; the
run, the file and the resumption below are the same for both.

**The run.** AdamW from optax (β = (0.9, 0.95), decoupled weight decay on the ≥ 2-D weights, gradients clipped at
global norm `clip`) wrapped in `optax.inject_hyperparams`, so the rate of update s is `rates[s]`, set from the
schedule before every update. Update s uses the minibatch of (seed, s) (the task's `sample`), so runs
with one seed see the same data in the same order whatever their schedule. The model's initial parameters come
from PRNGKey(seed) too. Updates run in a jitted `lax.scan` over `eval_every` of them at a time; after updates
k−1, 2k−1, …, N−1 the validation loss (mean cross-entropy in nats on the task's fixed validation set) is measured.

**The file** (`out`, a CSV in the `lrc.LossCurve` format, read back with `lrc.LossCurve.read`): one row per update
s = 0 … N−1 with `step,lr,loss,train_loss,grad_l2,grad_l1` — `lr` the rate of update s, `loss` the validation
loss after update s (blank where not measured), `train_loss` the minibatch loss that update's gradient was
taken at (before the update), `grad_l2`/`grad_l1` that gradient's ℓ2 and ℓ1 norms (before clipping; the ℓ1
norms are what `lrc.schedules.refine(..., optimizer="adam")` takes). Beside it, `<out>.json` records the run
(config, seed, a hash of the rates, times) and, while the run is unfinished, `<out>.ckpt` the model and optimiser
state after the last measured step: calling `train` again with the same arguments resumes from there and gives
the same curve as an uninterrupted run; a finished file is read back without training.

**Reproducibility.** A run is bit-for-bit repeatable on one machine with one jax version and one setting of JAX's
float64 mode: with `jax_enable_x64` on (as the problems/ scripts set it) the initial weights are drawn in float64
and cast to float32 and the batch offsets are drawn as int64, so the curves differ from a float32-mode run with the
same seed (equally valid, not identical). The `.json` beside the file records the mode (`x64`).

**Schedules** (`schedule_rates`): an `lrc.Schedule` with one value per update, a family name of
`lrc.schedules.FAMILIES` (with `peak`, after a linear warm-up of `warmup` updates from 0, as
`lrc.systems.law_schedule.warmup_rates`), a CSV path (a `LossCurve` CSV's `lr` column or a `Schedule` file), or
an array of per-update rates.
"""

import functools
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._curves import LossCurve
from .._errors import InputError, check_int, check_real
from .._schedule import Schedule
from .model import count_parameters
from .tasks import get_task

_norm = getattr(getattr(optax, "tree", None), "norm", None) or optax.global_norm  # optax.global_norm before 0.2.5
COLUMNS = ("step", "lr", "loss", "train_loss", "grad_l2", "grad_l1")


@dataclass(frozen=True)
class TrainConfig:
    """A training run's settings (all but the schedule and the seed).

    `task` what is trained (`tasks.TASKS`: "shakespeare", the character transformer, or "digits", an MLP on 8×8
    digits), `size` the model (`model.SIZES`; for digits the hidden width, `tasks.DIGITS_WIDTHS`), `steps` N
    updates, `batch` examples per update, `eval_every` k updates between validation measurements (and the scan
    length), `val_windows` the validation set's size (windows of the model's context; for digits, held-out
    images), AdamW's `weight_decay`, `b1`, `b2`, `clip` (global-norm clipping; 0 turns it off),
    `val_fraction` of each play held out.
    """

    size: str = "quick"
    steps: int = 1000
    batch: int = 16
    eval_every: int = 50
    val_windows: int = 64
    weight_decay: float = 0.1
    b1: float = 0.9
    b2: float = 0.95
    clip: float = 1.0
    val_fraction: float = 0.1
    task: str = "shakespeare"

    def __post_init__(self):
        get_task(self.task, self.size, self.val_fraction)  # a clear error for an unknown task or size
        check_int("steps", self.steps, lo=1)
        check_int("batch", self.batch, lo=1)
        check_int("eval_every", self.eval_every, lo=1)
        check_int("val_windows", self.val_windows, lo=1)
        check_real("weight_decay", self.weight_decay, lo=0.0)
        check_real("b1", self.b1, lo=0.0, hi=1.0, hi_open=True)
        check_real("b2", self.b2, lo=0.0, hi=1.0, hi_open=True)
        check_real("clip", self.clip, lo=0.0)
        check_real("val_fraction", self.val_fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)

    @property
    def logged_steps(self) -> np.ndarray:
        """The updates after which the validation loss is measured: k−1, 2k−1, …, and N−1."""
        s = np.arange(self.eval_every - 1, self.steps, self.eval_every)
        return s if s.size and s[-1] == self.steps - 1 else np.append(s, self.steps - 1)


def schedule_rates(schedule, steps: int, *, peak: float | None = None, warmup: int = 0) -> np.ndarray:
    """The per-update rates (steps,) of `schedule` (see the module docstring for what it may be)."""
    from ..schedules import FAMILIES
    from ..systems.law_schedule import warmup_rates

    steps = check_int("steps", steps, lo=1)
    warmup = check_int("warmup", warmup, lo=0, hi=steps - 1)
    if isinstance(schedule, Schedule):
        rates = np.asarray(schedule.values, float)
    elif isinstance(schedule, str) and schedule in FAMILIES:
        if peak is None:
            raise InputError(f"a family schedule ('{schedule}') needs peak, the rate after the warm-up (> 0).")
        check_real("peak", peak, lo=0.0, lo_open=True)
        post = np.asarray(FAMILIES[schedule](peak, steps - warmup).values, float)
        rates = np.concatenate([np.asarray(warmup_rates(warmup, peak)), post])
    elif isinstance(schedule, (str, Path)):
        path = Path(schedule)
        if path.suffix.lower() not in (".csv", ".json") or not path.exists():
            raise InputError(f"schedule must be an lrc.Schedule, a family ({', '.join(FAMILIES)}), a CSV/JSON "
                             f"file of rates, or an array; got {str(schedule)!r}.")
        try:
            rates = LossCurve.read(path).lr
        except InputError:
            rates = np.asarray(Schedule.load(path).values, float)
    else:
        try:
            rates = np.asarray(schedule, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(f"schedule must be an lrc.Schedule, a family name, a CSV file or an array of rates, "
                             f"got {type(schedule).__name__}.") from None
    if rates.size != steps:
        raise InputError(f"schedule must give one rate per update ({steps}), got {rates.size}.")
    if not np.all(np.isfinite(rates)) or np.any(rates < 0):
        i = int(np.argmax(~np.isfinite(rates) | (rates < 0)))
        raise InputError(f"schedule rates must be finite and >= 0, got {rates[i]:g} at update {i}.")
    return rates


@dataclass
class TrainResult:
    """A finished run: `curve` (validation losses, a `LossCurve`), per-update `train_loss`, `grad_l2`, `grad_l1`,
    the file it lives in, and `timing` (compile and run seconds of this call; 0 when read back)."""

    curve: LossCurve
    train_loss: np.ndarray
    grad_l2: np.ndarray
    grad_l1: np.ndarray
    path: Path | None
    timing: dict = field(default_factory=dict)

    @property
    def final_val_loss(self) -> float:
        return float(self.curve.losses[-1])


# --- the compiled pieces ---------------------------------------------------------------------------------------

def make_optimizer(config: TrainConfig):
    """AdamW (optax) with an injected learning rate (set per update), decay on ≥ 2-D weights, optional clipping."""
    def build(learning_rate):
        adam = optax.adamw(learning_rate, b1=config.b1, b2=config.b2, weight_decay=config.weight_decay,
                           mask=lambda p: jax.tree_util.tree_map(lambda a: a.ndim >= 2, p))
        return optax.chain(optax.clip_by_global_norm(config.clip), adam) if config.clip > 0 else adam

    return optax.inject_hyperparams(build)(learning_rate=jnp.float32(0.0))


def make_update(static, optimizer, task, batch: int):
    """One update: (params, opt_state, data, key, lr, step) → (params, opt_state, loss, |g|₂, |g|₁)."""
    def update(params, opt_state, data, key, lr, step):
        x, y = task.sample(data, key, step, batch)
        loss, grads = jax.value_and_grad(lambda p: task.loss(eqx.combine(p, static), x, y))(params)
        opt_state.hyperparams["learning_rate"] = lr.astype(jnp.float32)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        l1 = sum(jnp.sum(jnp.abs(g)) for g in jax.tree_util.tree_leaves(grads))
        return params, opt_state, loss, _norm(grads), l1

    return update


def make_chunk(static, optimizer, task, batch: int):
    """`len(lrs)` updates in one `lax.scan` (jitted): returns params, opt_state and per-update loss, |g|₂, |g|₁."""
    update = make_update(static, optimizer, task, batch)

    @jax.jit
    def chunk(params, opt_state, data, key, lrs, steps):
        def body(carry, xs):
            p, o, loss, g2, g1 = update(*carry, data, key, *xs)
            return (p, o), (loss, g2, g1)

        (params, opt_state), out = jax.lax.scan(body, (params, opt_state), (lrs, steps))
        return params, opt_state, out

    return chunk


def make_eval(static, task):
    @jax.jit
    def evaluate(params, x, y):
        return task.loss(eqx.combine(params, static), x, y)

    return evaluate


def _optimizer_key(config: TrainConfig) -> TrainConfig:
    # the settings the compiled update depends on (steps, eval_every, val_windows do not change the compilation)
    return TrainConfig(config.size, 1, config.batch, 1, 1, config.weight_decay, config.b1, config.b2, config.clip,
                       config.val_fraction, config.task)


@functools.lru_cache(maxsize=8)
def _compiled(config: TrainConfig, task):
    """(static part of the model, optimizer, chunk, evaluate), built once per setting so that runs in one process
    (seeds, schedules, peaks) share one compilation."""
    _, static = eqx.partition(task.init(0), eqx.is_inexact_array)
    optimizer = make_optimizer(config)
    return static, optimizer, make_chunk(static, optimizer, task, config.batch), make_eval(static, task)


# --- files -------------------------------------------------------------------------------------------------------

def _fmt(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v))


def _rows_text(rows) -> str:
    return "".join(f"{int(r[0])}," + ",".join(_fmt(v) for v in r[1:]) + "\n" for r in rows)


def _read_rows(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    if not lines or lines[0].split(",") != list(COLUMNS):
        raise InputError(f"out '{path}' is not a training file of this harness (header {','.join(COLUMNS)}).")
    return np.array([[float(c) if c else np.nan for c in ln.split(",")] for ln in lines[1:] if ln],
                    dtype=float).reshape(-1, len(COLUMNS))


def _result(rows: np.ndarray, name: str, path, timing) -> TrainResult:
    logged = ~np.isnan(rows[:, 2])
    curve = LossCurve(rows[:, 1], rows[logged, 0].astype(int), rows[logged, 2], name=name,
                      metadata={"source": str(path) if path else None})
    return TrainResult(curve, rows[:, 3], rows[:, 4], rows[:, 5], path, timing)


def _fingerprint(config: TrainConfig, seed: int, rates: np.ndarray) -> dict:
    digest = hashlib.sha256(np.asarray(rates, np.float64).tobytes()).hexdigest()[:16]
    settings = asdict(config)
    if settings["task"] == "shakespeare":  # the field came later: files written before it still match
        del settings["task"]
    return {"config": settings, "seed": int(seed), "rates_sha256": digest}


class _Bar:
    """A one-line progress display on stderr (redrawn on a terminal; a line every 10 s in a log)."""

    def __init__(self, label: str, total: int, enabled: bool):
        self.label, self.total, self.enabled = label, total, enabled
        self.t0, self.last = time.perf_counter(), -1e9

    def __call__(self, done: int, val: float, final: bool = False):
        if not self.enabled:
            return
        now = time.perf_counter() - self.t0
        tty = sys.stderr.isatty()
        if not (tty or final or now - self.last >= 10.0):
            return
        self.last = now
        width = 24
        fill = int(width * done / self.total)
        line = (f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{self.total}  val {val:.4f}  "
                f"{now:6.1f}s")
        sys.stderr.write(("\r" + line + ("\n" if final else "")) if tty else line + "\n")
        sys.stderr.flush()


# --- the run -----------------------------------------------------------------------------------------------------

def train(config: TrainConfig, schedule, seed: int = 0, out=None, *, peak: float | None = None, warmup: int = 0,
          name: str | None = None, progress: bool = True, stop_after: int | None = None,
          replace_stale: bool = False) -> TrainResult:
    """Train under `schedule` with `seed`; write (or resume, or read back) the curve file `out` (optional).

    `stop_after` (a number of updates) ends the call early after the first measured step at or past it, leaving
    a resumable file (for tests and for splitting long runs). A file at `out` that holds a different run (config,
    seed or schedule) is refused, unless `replace_stale` (for callers that keep `out` as a cache of their own
    runs: a schedule re-derived to another round-off is then trained again). Returns a `TrainResult` (`curve`
    holds only the updates done so far when stopped early).
    """
    if not isinstance(config, TrainConfig):
        raise InputError(f"config must be an lrcontrol.train.TrainConfig, got {type(config).__name__}.")
    seed = check_int("seed", seed, lo=0)
    if not isinstance(replace_stale, bool):
        raise InputError(f"replace_stale must be True or False, got {replace_stale!r}.")
    rates = schedule_rates(schedule, config.steps, peak=peak, warmup=warmup)
    name = name or (Path(out).stem if out is not None else "run")
    path = Path(out) if out is not None else None
    fp = _fingerprint(config, seed, rates)
    rows_done = np.zeros((0, len(COLUMNS)))
    meta_path = path.with_name(path.name + ".json") if path else None
    ckpt_path = path.with_name(path.name + ".ckpt") if path else None
    meta = None
    if path is not None and path.exists():
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
        stale = meta is None or meta.get("run") != fp
        if stale and not replace_stale:
            raise InputError(f"out '{path}' holds a different run (config, seed or schedule differ, or its "
                             f".json is missing): remove it or choose another path.")
        if stale:  # a cache's outdated entry: trained again from the start
            for old in (path, meta_path, ckpt_path):
                old.unlink(missing_ok=True)
            meta = None
        elif meta.get("finished"):  # read back before loading the data or compiling anything
            return _result(_read_rows(path), name, path, {"compile_s": 0.0, "run_s": 0.0, "resumed": "finished"})
    task = get_task(config.task, config.size, config.val_fraction)
    vx, vy = task.validation(config.val_windows)  # before anything is written: a too large set is an input error
    params, _ = eqx.partition(task.init(seed), eqx.is_inexact_array)
    static, optimizer, chunk, evaluate = _compiled(_optimizer_key(config), task)
    opt_state = optimizer.init(params)
    if meta is not None:  # an unfinished run: resume from its checkpoint
        rows_done = _read_rows(path)
        if len(rows_done) and ckpt_path.exists():
            params, opt_state = eqx.tree_deserialise_leaves(ckpt_path, (params, opt_state))
        else:
            rows_done = np.zeros((0, len(COLUMNS)))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if len(rows_done) == 0:
            path.write_text(",".join(COLUMNS) + "\n")

    data = task.train_data()
    key = jax.random.PRNGKey(seed)
    lr32 = np.asarray(rates, np.float32)
    logged = config.logged_steps
    start = len(rows_done)
    bar = _Bar(name, config.steps, progress)
    compile_s, run_s = 0.0, 0.0
    rows = [r for r in rows_done]
    val = float("nan")
    for end in logged[logged >= start]:
        t0 = time.perf_counter()
        steps = np.arange(start, end + 1)
        params, opt_state, (loss, g2, g1) = chunk(params, opt_state, data, key, jnp.asarray(lr32[steps]),
                                                  jnp.asarray(steps, jnp.int32))
        val = float(evaluate(params, vx, vy))
        loss, g2, g1 = np.asarray(loss), np.asarray(g2), np.asarray(g1)
        dt = time.perf_counter() - t0
        if compile_s == 0.0:
            compile_s = dt  # the first chunk includes compilation (a shorter last chunk compiles again)
        else:
            run_s += dt
        new = [(s, rates[s], val if s == end else float("nan"), loss[i], g2[i], g1[i])
               for i, s in enumerate(steps)]
        rows.extend(new)
        if not np.isfinite(val):
            raise InputError(f"the run diverged at update {end} (validation loss {val}); lower the peak rate.")
        if path is not None:
            with path.open("a") as f:
                f.write(_rows_text(new))
        start = int(end) + 1
        finished = bool(start >= config.steps)
        bar(start, val, final=finished)
        if path is not None:
            if not finished:
                eqx.tree_serialise_leaves(ckpt_path, (params, opt_state))
            meta_path.write_text(json.dumps({"run": fp, "finished": finished, "parameters": count_parameters(
                eqx.combine(params, static)), "jax": jax.__version__, "backend": jax.default_backend(),
                "x64": bool(jax.config.jax_enable_x64)}, indent=1))
        if not finished and stop_after is not None and start >= stop_after:
            break
    if path is not None and start >= config.steps and ckpt_path.exists():
        ckpt_path.unlink()
    return _result(np.asarray(rows, float).reshape(-1, len(COLUMNS)), name, path,
                   {"compile_s": compile_s, "run_s": run_s, "updates": len(rows) - len(rows_done)})
