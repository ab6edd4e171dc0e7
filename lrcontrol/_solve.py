"""Entry points: `solve` a problem, `evaluate` a given schedule, `simulate` a feedback policy."""

import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import lineax as lx
import numpy as np
import optimistix as optx

from ._cache import CompiledCache
from ._errors import InputError
from ._integrate import rk4_step
from ._problem import ControlProblem
from ._progress import PROGRESS
from ._schedule import Schedule
from ._memory import check_compiled_fits
from ._guess import initial_guess
from ._policy import FeedbackPolicy
from ._solution import Diagnostics, Solution, no_iterations
from ._structure import structure
from .solvers import Direct
from .solvers import _results as R
from .solvers._base import AbstractSolver, check_applies


# --- the pure core: traceable under jit / vmap / grad ------------------------------------------------------

def _primal(inputs):
    problem, solver, u0 = inputs
    u, info = solver.run(problem, u0)
    free = _free_mask(problem, u, info.grad)
    return u, (info, free, u)


def _rewrite(u, residual, inputs):
    # Stationarity of the discretised problem on the free set; active bounds pinned. Its Jacobian in u is
    # diag(H_FF, I): symmetric positive definite at a strict local minimum, so CG solves the IFT system.
    problem = inputs[0]
    _, free, u_star = residual
    u_eff = jnp.where(free, u, u_star)
    g = jax.grad(problem.cost)(u_eff)
    return jnp.where(free, g, u - u_star)


def _free_mask(problem, u, g):
    lo, hi = jnp.asarray(problem.lower), jnp.asarray(problem.upper)
    tol = 1e-10 * (1.0 + jnp.abs(u))
    return ~(((u <= lo + tol) & (g > 0)) | ((u >= hi - tol) & (g < 0)))


def _start(problem, u0):
    # u0 = None: start from `initial_guess`, inside the same compiled call.
    return jax.lax.stop_gradient(initial_guess(problem) if u0 is None else u0)


def _solve_core(problem: ControlProblem, solver: AbstractSolver, u0) -> Solution:
    u0 = _start(problem, u0)
    if solver.implicit:
        u, (info, _, _) = optx.internal.implicit_jvp(
            _primal, _rewrite, (problem, solver, u0),
            frozenset({lx.positive_semidefinite_tag, lx.symmetric_tag}), lx.CG(rtol=1e-10, atol=1e-14))
    else:
        # Shooting solves the continuous optimality conditions and HJB the discrete Bellman problem only up to
        # its grid error: neither answer is a stationary point of `problem.cost`, so the implicit-function
        # derivative does not apply. The controls (and diagnostics) are constants to differentiation; the
        # objective's derivative is then its partial derivative at the fixed schedule.
        u, info = jax.lax.stop_gradient(solver.run(problem, u0))
    return _assemble(problem, solver, u, info)


def _assemble(problem, solver, u, info) -> Solution:
    objective, final_state, losses = problem.trajectory(u)
    result, extras = _check_finite(info, u, objective, final_state, losses)
    diag = Diagnostics(result, info.iterations, info.evaluations, info.residual, info.initial_residual,
                       solver.residual_name, extras, tuple(problem.control_names))
    return Solution(problem, solver.name, u, objective, losses, final_state, diag, info.costates)


# The same solve in parts, for a progress line without host callbacks (`_solve_in_chunks`).

def _chunk_start(problem, solver, u0):
    return solver.start(problem, _start(problem, u0))


def _chunk_advance(problem, solver, state, until):
    state = solver.advance(problem, state, until)
    return state, solver.status(problem, state)


def _chunk_finish(problem, solver, state):
    return _assemble(problem, solver, *solver.finish(problem, state))


def _check_finite(info, u, objective, final_state, losses):
    """A non-finite control, state or objective at the answer ends as `NONFINITE`, naming which (and the
    iteration), whatever the solver concluded: never a NaN reported as converged."""
    extras = dict(info.extras)
    state_ok = jnp.all(jnp.isfinite(losses)) & jnp.all(jnp.stack(
        [jnp.all(jnp.isfinite(leaf)) for leaf in jtu.tree_leaves(final_state)] or [jnp.array(True)]))
    what = jnp.where(~jnp.all(jnp.isfinite(u)), 3,
                     jnp.where(~state_ok, 4, jnp.where(~jnp.isfinite(objective), 1, 0)))
    known = extras.get("nonfinite", jnp.array(0))
    extras["nonfinite"] = jnp.where((info.result == R.NONFINITE) & (known > 0), known, what)
    extras.setdefault("nonfinite_iteration", info.iterations)
    result = jnp.where(what > 0, R.NONFINITE, info.result)
    return result, extras


_solve_jit = eqx.filter_jit(_solve_core)
# The timed path's program returns the solution without its problem (`solve` puts the caller's back): rebuilding
# the problem from the program's outputs costs more than a small solve's iterations.
_solve_detached_jit = eqx.filter_jit(lambda p, s, u: dataclasses.replace(_solve_core(p, s, u), problem=None))
_start_jit, _finish_jit = eqx.filter_jit(_chunk_start), eqx.filter_jit(_chunk_finish)
# the state passed in is not used again: its buffers (the L-BFGS history, 2·m·n numbers) are reused for the output
_advance_jit = eqx.filter_jit(_chunk_advance, donate="all-except-first")


_DEFAULT_SOLVER = Direct()  # built once: an equinox module costs ~70 µs to build, a fifth of a small solve
_COMPILED = CompiledCache()
_LAST = CompiledCache()  # id(jitted) -> (the first argument, the rest's structure, the executable): repeat solves


def _compiled(jitted, *args):
    """The compiled executable of `jitted` for these arguments' structure, static values, shapes and dtypes.

    Explicit lowering lets us time compilation apart from running; caching it keeps repeated solves (sweeps,
    benchmarks, the CLI's comparisons) from paying for tracing again. The same first argument (the problem, an
    immutable module) as in the last call skips flattening it again.
    """
    rest = structure(*eqx.partition(args[1:], eqx.is_array))
    last = _LAST.get(id(jitted))
    if last is not None and last[0] is args[0] and last[1] == rest:
        return last[2]
    key = (id(jitted),) + structure(*eqx.partition(args[:1], eqx.is_array)) + rest
    if key not in _COMPILED:
        _COMPILED[key] = jitted.lower(*args).compile()
    _LAST[id(jitted)] = (args[0], rest, _COMPILED[key])
    return _COMPILED[key]


def _is_traced(tree) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jtu.tree_leaves(tree))


def solve(problem: ControlProblem, solver: AbstractSolver | None = None, *, u0=None,
          progress: bool | None = None) -> Solution:
    """Solve `problem` numerically.

    **Arguments:**

    - `solver`: `lrc.solvers.Direct()` (default), `lrc.solvers.Shooting()` or `lrc.solvers.HJB()`.
    - `u0`: initial controls, shape (blocks, controls); default the best constant learning rate.
    - `progress`: a progress line on stderr for solves longer than 2 s. True: iteration, objective and residual,
      drawn between compiled chunks of iterations (Direct; other solvers show the elapsed time). None (default):
      the same on a terminal; elsewhere (a notebook, a log) the elapsed time while the solve runs as one compiled
      call, which compiles faster than the chunks. False: nothing. Never under a trace.

    Composes with `jax.jit`, `jax.vmap` and `jax.grad` (for Direct; Shooting and HJB schedules are constants to
    differentiation, so d controls/d parameter is zero there): derivatives of the solution with respect to problem
    parameters use the implicit function theorem on the stationarity conditions of the discretised problem
    (so d objective*/d parameter obeys the envelope theorem). Under such a transformation no timings are taken.
    A solve that does not converge says so in `solution.diagnostics`; it is never reported as converged.
    """
    solver = _DEFAULT_SOLVER if solver is None else solver
    if not isinstance(problem, ControlProblem):
        raise InputError(f"problem must be an lrc.ControlProblem, got {type(problem).__name__}.")
    if not isinstance(solver, AbstractSolver):
        raise InputError(f"solver must be an lrcontrol solver (lrc.solvers.*), got {type(solver).__name__}.")
    check_applies(solver, problem)
    if u0 is not None:
        u0 = _check_u0(problem, u0)
    if _is_traced((problem, u0)):
        return _solve_jit(problem, solver, u0)  # one compiled call under an eager vmap, not op by op

    chunks = solver.chunked and (progress is True or (progress is None and sys.stderr.isatty()))
    progress = True if progress is None else bool(progress)
    label = f"{solver.name} ({problem.system.name}, {problem.blocks} blocks)"
    if chunks:
        return _solve_in_chunks(problem, solver, u0, label)
    # Compile first (compile time), then run (run time): the two are reported apart.
    t0 = time.perf_counter()
    compiled = _compiled(_solve_detached_jit, problem, solver, u0)
    check_compiled_fits(compiled, problem)  # a clear sentence, not an allocator error after a long wait
    t1 = time.perf_counter()
    if progress:
        PROGRESS.begin(label)
    try:
        with PROGRESS.ticking() if progress else contextlib.nullcontext():
            sol = compiled(problem, solver, u0)
            jax.block_until_ready(sol.controls)
    finally:
        PROGRESS.end()
    return _timed(sol, t1 - t0, time.perf_counter() - t1, problem)


def _timed(sol, compile_time, run_time, problem=None):
    # `problem`: the caller's, for a solution from the detached program (which returns none).
    diag = _replaced(sol.diagnostics, compile_time=compile_time, run_time=run_time)
    return _replaced(sol, diagnostics=diag, problem=sol.problem if problem is None else problem)


def _replaced(module: eqx.Module, **fields) -> eqx.Module:
    """A copy of `module` with `fields` replaced, built the way equinox unflattens a module (fields set on a new
    instance), so no `__init__` or check runs again: the values must already be valid. `dataclasses.replace` runs
    `__init__` (~70 µs a module) and `eqx.tree_at` flattens the whole tree, costs every small solve paid."""
    unknown = fields.keys() - vars(module).keys()
    assert not unknown, f"{type(module).__name__} has no field {unknown}"
    new = object.__new__(type(module))
    for name, value in {**vars(module), **fields}.items():
        object.__setattr__(new, name, value)
    return new


# Seconds of iterations per chunk: the progress line's refresh interval, long enough that a chunk's dispatch and
# the few numbers it reads back cost nothing beside it.
CHUNK_SECONDS = 0.25


def _solve_in_chunks(problem, solver, u0, label):
    """The solve as compiled parts — start, advance by chunks of iterations, finish — with the progress line
    drawn between chunks from numbers the advance returns: no host callback inside compiled code, so each part
    is stored in XLA's persistent cache like a quiet solve. Chunks grow to about `CHUNK_SECONDS` of iterations
    (the first is 8). A Ctrl-C lands between chunks."""
    t0 = time.perf_counter()
    start = _compiled(_start_jit, problem, solver, u0)
    t1 = time.perf_counter()
    state = start(problem, solver, u0)
    t2 = time.perf_counter()
    until = jnp.asarray(8, jnp.int32)
    advance = _compiled(_advance_jit, problem, solver, state, until)
    finish = _compiled(_finish_jit, problem, solver, state)
    for executable in (advance, finish):
        check_compiled_fits(executable, problem)
    t3 = time.perf_counter()
    PROGRESS.begin(label)
    try:
        done, chunk = 0, 8
        while True:
            tick = time.perf_counter()
            state, (it, f, residual, tol, running) = advance(problem, solver, state, until)
            it = int(it)  # waits for the chunk
            PROGRESS(it, f, residual, tol)
            if not bool(running) or it < int(until):
                break
            per_iteration = (time.perf_counter() - tick) / max(it - done, 1)
            chunk = int(min(max(CHUNK_SECONDS / max(per_iteration, 1e-9), 1), 8 * chunk))
            done, until = it, jnp.asarray(it + chunk, jnp.int32)
        sol = finish(problem, solver, state)
        jax.block_until_ready(sol.controls)
    finally:
        PROGRESS.end()
    return _timed(sol, (t1 - t0) + (t3 - t2), (t2 - t1) + (time.perf_counter() - t3))


def _check_u0(problem, u0):
    shape = (problem.blocks, len(problem.control_names))
    if (isinstance(u0, jax.Array) and u0.shape == shape and u0.dtype == jnp.result_type(float)
            and not u0.weak_type):
        return u0  # already what the solve takes (a repeated solve's start): no conversion to dispatch
    u0 = jnp.asarray(u0, float)
    if u0.ndim == 1 and len(problem.control_names) == 1:
        u0 = u0[:, None]
    if u0.shape != shape:
        raise InputError(f"u0 must have shape {shape} (blocks, controls), got {u0.shape}.")
    return u0


# --- evaluation of given schedules and policies ------------------------------------------------------------

def evaluate(problem: ControlProblem, schedule: Schedule | Any) -> Solution:
    """The loss trajectory and objective of a given schedule under the problem's model.

    `schedule` is a `Schedule` (resampled onto the problem's grid by time fraction when its length differs)
    or an array with one value per step (or per block).
    """
    problem, u = _schedule_controls(problem, schedule)
    objective, final_state, losses = _trajectory_jit(problem, u)
    return Solution(problem, "evaluate", u, objective, losses, final_state, no_iterations())


def evaluate_objective(problem: ControlProblem, schedule: Schedule | Any):
    """The objective of a given schedule (as `evaluate`), without recording its loss curve."""
    problem, u = _schedule_controls(problem, schedule)
    return _cost_jit(problem, u)


def _schedule_controls(problem, schedule):
    # (the problem, per step when the schedule is; its controls): the learning rate from the schedule, any other
    # control at the system's default.
    if isinstance(schedule, Schedule):
        k = np.arange(problem.steps)
        values = schedule.at_step(k, total_steps=problem.steps)
    else:
        values = jnp.asarray(schedule, float)
        if values.ndim != 1 or values.shape[0] not in (problem.steps, problem.blocks):
            raise InputError(f"schedule must have {problem.steps} values (one per step), got shape "
                             f"{values.shape}.")
    if not _is_traced(values) and not bool(jnp.all(jnp.isfinite(values))):
        raise InputError("schedule values must be finite numbers; got NaN or inf.")
    if values.shape[0] == problem.steps:
        problem = problem.per_step()
    m = len(problem.control_names)
    defaults = jnp.asarray(problem.system.control_defaults[:m], float)
    return problem, jnp.tile(defaults, (values.shape[0], 1)).at[:, 0].set(values)


# One compiled rollout (and one cost) per problem structure and size, reused by every schedule evaluated on it.
_trajectory_jit = eqx.filter_jit(lambda problem, u: problem.trajectory(u))
_cost_jit = eqx.filter_jit(lambda problem, u: problem.cost(u))


def simulate(problem: ControlProblem, policy: FeedbackPolicy, *, substeps: int = 4) -> Solution:
    """Run a feedback policy u(t, x) on a continuous system and record the schedule it produces.

    The closed-loop ODE ẋ = f(t, x, u(t, x)) is integrated by RK4 with `substeps` steps per grid cell, the
    policy re-evaluated at every stage (a true feedback law, not sample-and-hold). The schedule is the policy's
    value at each cell's midpoint; the objective is the running cost integrated along the same RK4 steps.
    """
    if problem.is_discrete:
        raise InputError("simulate needs a continuous-time system; for SGD recursions use evaluate.")
    if not (isinstance(substeps, int) and substeps >= 2 and substeps % 2 == 0):
        raise InputError(f"substeps must be an even whole number >= 2, got {substeps!r}.")
    return _simulate_jit(problem, policy, substeps)


@eqx.filter_jit
def _simulate_jit(problem: ControlProblem, policy: FeedbackPolicy, substeps: int) -> Solution:
    # One compiled rollout per problem structure, policy function and substeps: repeated runs of the same law
    # with other parameters (forecasts, effort costs) reuse it.
    system, obj = problem.system, problem.objective
    grid = problem.grid()
    h = (grid[1] - grid[0]) / substeps

    def rhs(t, y):
        x, _ = y
        u = policy(t, x)
        return system.vector_field(t, x, u), obj.running_cost(t, system.loss(x), u)

    def cell(y, t0):
        def sub(y, i):
            t = t0 + i * h
            return rk4_step(rhs, t, y, h), (t, y[0])

        y_end, (ts, xs) = jax.lax.scan(sub, y, jnp.arange(substeps))
        # Midpoint control: with an even number of substeps the state at t0 + dt/2 is a substep node.
        x_mid = jtu.tree_map(lambda a: a[substeps // 2], xs)
        return y_end, (policy(t0 + substeps * h / 2, x_mid), system.loss(y_end[0]))

    x0 = system.initial_state()
    (xT, cost), (u, losses) = jax.lax.scan(cell, (x0, jnp.zeros(())), grid[:-1])
    objective = cost + obj.terminal_cost(system.loss(xT))
    losses = jnp.concatenate([system.loss(x0)[None], losses])
    return Solution(problem.per_step(), "policy", u, objective, losses, xT, no_iterations())
