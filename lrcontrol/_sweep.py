"""`sweep`: a batch of control problems solved as one vmapped program, sharded over a device mesh.

Design. `lrc.solve` is a thin host-side shell (argument checks, a compiled-executable cache, timings, a progress
line drawn between compiled chunks) around a pure, traceable core (`_solve._solve_core`: initial guess, solver
loop, finiteness verdict), and every solver's inner loop is a `lax.while_loop`, so the core vmaps: a batched while loop
runs until its slowest member stops, the finished members held by a select. `sweep` builds on that core, not on
`lrc.solve`:

1. `make_problem` is called on the host once per slice of `params`, with concrete values, so every problem is
   checked by its constructors like any other (a bad slice fails with its index, before anything compiles).
2. The problems must share one structure (system and objective classes, static fields such as `steps`, `blocks`
   and bounds); their array leaves are stacked on a leading batch axis.
3. The batch is padded to a multiple of the device count with copies of its last problem, laid out over a
   one-axis `jax.sharding.Mesh` ("batch") by `NamedSharding`, and solved by `jax.shard_map` of `jax.vmap` of the
   core (or of `jax.lax.map`, `vectorize=False`): each device runs its own slice of the batch in its own loop
   (no collective inside the solve, so a device whose problems converge early is not held by another's). A
   program that does not trace inside `shard_map` (an implicit diffrax integrator: lineax's linear solves in its
   Newton iterations fail there) is partitioned by XLA instead (GSPMD, `jax.jit` with the batch's
   `NamedSharding` on inputs and outputs); a batched while loop then stops when the slowest problem of the whole
   batch does.
4. The padded rows are dropped (masked out) and the results gathered to the host (on several processes,
   `multihost_utils.process_allgather`), returned as one `Sweep`: a batched `Solution` plus the timings.

No progress line is shown (a host callback inside a sharded program would serialise the devices), and the
compiled program is kept per structure, shapes, solver and devices, so a second sweep of the same shapes pays no
compilation.

Multi-host launch (JAX's own distributed runtime; no job system of ours). On every host, with the same script and
the same `params`:

    import jax
    jax.distributed.initialize(coordinator_address="HOST0:1234", num_processes=P, process_id=i)
    # CPU hosts only: jax.config.update("jax_cpu_collectives_implementation", "gloo") before initialize
    import lrcontrol as lrc
    result = lrc.sweep(make_problem, params)   # devices=None: every device of every process

Each process builds all the problems (cheap: construction is host-side bookkeeping), keeps the rows that fall on
its own devices, and after the solve every process holds every result. On a cluster manager that JAX knows (SLURM,
Open MPI, Cloud TPU) `jax.distributed.initialize()` needs no arguments.
"""

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._cache import CompiledCache
from ._errors import InputError
from ._problem import ControlProblem
from ._solution import Solution
from ._solve import _DEFAULT_SOLVER, _solve_core
from ._structure import structure
from .solvers._base import AbstractSolver, check_applies

_AXIS = "batch"


class Sweep(eqx.Module):
    """The solutions of a sweep, in the order of `params`' leading axis.

    - `solution`: one `Solution` whose array leaves all carry a leading batch axis (`solution.objective` has shape
      (batch,), `solution.controls` (batch, blocks, controls), `solution.diagnostics.result` (batch,), ...).
    - `sweep[i]` is the i-th problem's `Solution`, as `lrc.solve` would return it (without its own timings);
      `len(sweep)` is the batch size and iterating yields the solutions in order.
    - `compile_time`, `run_time`: seconds to compile the whole sharded program and to run it (the run includes
      gathering the results); `devices`: how many devices the batch was spread over; `padded`: rows added to
      make the batch a multiple of the device count (solved, then dropped); `partition`: "shard_map", or "gspmd"
      where the program does not trace inside `shard_map` (module docstring).
    """

    solution: Solution
    size: int = eqx.field(static=True)
    devices: int = eqx.field(static=True)
    padded: int = eqx.field(static=True)
    partition: str = eqx.field(static=True, default="shard_map")
    compile_time: float = eqx.field(static=True, default=math.nan)
    run_time: float = eqx.field(static=True, default=math.nan)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> Solution:
        if not isinstance(i, int | np.integer) or not -self.size <= i < self.size:
            raise InputError(f"a sweep index must be a whole number from {-self.size} to {self.size - 1}, "
                             f"got {i!r}.")
        return jtu.tree_map(lambda x: x[i] if eqx.is_array(x) else x, self.solution)

    def __iter__(self):
        return (self[i] for i in range(self.size))

    @property
    def objective(self):
        return self.solution.objective

    @property
    def controls(self):
        return self.solution.controls

    @property
    def converged(self) -> np.ndarray:
        """One bool per problem: `diagnostics.result == 0`."""
        return np.asarray(self.solution.diagnostics.result) == 0


def sweep(make_problem: Callable[[Any], ControlProblem], params, solver: AbstractSolver | None = None,
          devices: Sequence | int | None = None, *, vectorize: bool = True) -> Sweep:
    """Solve `make_problem(p)` for every slice `p` of `params` as one vmapped program sharded over devices.

    **Arguments:**

    - `make_problem`: a function from one slice of `params` (the same pytree with the leading axis removed, leaves
      as NumPy arrays) to an `lrc.ControlProblem`. Every slice must give a problem of the same structure: the
      same system and objective classes and the same static settings (horizon steps, blocks, bounds, variant);
      only array parameters may vary.
    - `params`: a pytree of arrays that all share a leading batch axis of length ≥ 1.
    - `solver`: any `lrc.solvers` solver (default `Direct()`); the same for every problem.
    - `devices`: the devices to spread the batch over: a sequence of `jax.Device`, a count (the first that many of
      `jax.devices()`), or None for all of `jax.devices()` (on several processes, every device of every process).
    - `vectorize`: True (default): each device solves its rows as one batched (`jax.vmap`) while loop, which a GPU
      runs in parallel; every row then iterates until the slowest row of its device stops (finished rows held).
      False: each device solves its rows one after another (`jax.lax.map`), no row waiting for another: the
      better choice on CPU cores, where a batch gains little from vectorising.

    Returns a `Sweep` (a batched `Solution`, indexable per problem). The answers are those of `lrc.solve` on each
    problem one by one to within the solver's own tolerance, not always to round-off: the same core runs, but
    batched arithmetic (`vectorize=True`, as under a plain `jax.vmap` of `lrc.solve`) and a sharded compilation
    can round differently from a lone solve, and a row then takes another path to the same optimum (other
    iteration counts; the objective, stationary there, agrees to round-off, the controls to the tolerance). Rows
    that follow the same path agree to round-off; benchmarks/sweep.py counts them. HJB's batched controls differ in
    the same way (~1e-7 of the peak, far inside its own grid-error estimate). See the module docstring for the
    design and the multi-host launch recipe; on several processes pass `devices=None` (or devices of every
    process).
    """
    solver = _DEFAULT_SOLVER if solver is None else solver
    if not isinstance(vectorize, bool):
        raise InputError(f"vectorize must be True or False, got {vectorize!r}.")
    if not isinstance(solver, AbstractSolver):
        raise InputError(f"solver must be an lrcontrol solver (lrc.solvers.*), got {type(solver).__name__}.")
    if not callable(make_problem):
        raise InputError(f"make_problem must be a function from one slice of params to a ControlProblem, got "
                         f"{type(make_problem).__name__}.")
    slices, size = _slices(params)
    devs = _devices(devices)

    dynamic, static = _stack([_build(make_problem, p, i, solver) for i, p in enumerate(slices)])
    n = len(devs)
    padded = -size % n
    if padded:
        dynamic = jtu.tree_map(lambda a: np.concatenate([a, np.repeat(a[-1:], padded, axis=0)]), dynamic)

    mesh = Mesh(np.asarray(devs), (_AXIS,))
    sharding = NamedSharding(mesh, PartitionSpec(_AXIS))
    inputs = jtu.tree_map(lambda a: jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx]), dynamic)

    t0 = time.perf_counter()
    compiled, out_static, mode = _compiled(inputs, static, solver, mesh, vectorize)
    t1 = time.perf_counter()
    out = compiled(inputs)
    out = _gather(out)
    t2 = time.perf_counter()

    out = jtu.tree_map(lambda a: jnp.asarray(a[:size]), out)
    solution = eqx.combine(out, out_static)
    return Sweep(solution, size, n, padded, mode, t1 - t0, t2 - t1)


# --- pieces ------------------------------------------------------------------------------------------------

def _slices(params):
    leaves, treedef = jtu.tree_flatten(params)
    if not leaves:
        raise InputError("params must be a pytree with at least one array (a leading batch axis of length >= 1).")
    arrays = []
    for leaf in leaves:
        try:
            arrays.append(np.asarray(leaf))
        except Exception:
            raise InputError(f"params must hold arrays of numbers, got a leaf of type "
                             f"{type(leaf).__name__}.") from None
    sizes = {a.shape[0] if a.ndim else None for a in arrays}
    if None in sizes or len(sizes) != 1 or 0 in sizes:
        shapes = sorted({a.shape for a in arrays}, key=str)
        raise InputError(f"every array in params must have the same leading batch axis of length >= 1, got shapes "
                         f"{', '.join(map(str, shapes))}.")
    size = sizes.pop()
    return [jtu.tree_unflatten(treedef, [a[i] for a in arrays]) for i in range(size)], size


def _devices(devices):
    available = jax.devices()
    if devices is None:
        return list(available)
    if isinstance(devices, int | np.integer) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise InputError(f"devices must be a count from 1 to {len(available)} (the devices JAX sees), got "
                             f"{devices}.")
        return list(available[:devices])
    devs = list(devices) if isinstance(devices, Sequence) else None
    if not devs or not all(isinstance(d, jax.Device) for d in devs) or len(set(devs)) != len(devs):
        raise InputError("devices must be None, a count, or a non-empty sequence of distinct jax.Device objects "
                         f"(jax.devices()), got {devices!r}.")
    return devs


def _build(make_problem, p, i, solver):
    try:
        problem = make_problem(p)
    except InputError as e:
        raise InputError(f"make_problem failed on params slice {i}: {e}") from None
    if not isinstance(problem, ControlProblem):
        raise InputError(f"make_problem must return an lrc.ControlProblem, got {type(problem).__name__} for "
                         f"params slice {i}.")
    try:
        check_applies(solver, problem)
    except InputError as e:
        raise InputError(f"params slice {i}: {e}") from None
    return problem


def _stack(problems):
    """(stacked array leaves as NumPy arrays with a leading batch axis, the shared static part)."""
    parts = [eqx.partition(p, eqx.is_array) for p in problems]
    dyn0, static0 = parts[0]
    key0 = structure(dyn0, static0)
    for i, (dyn, static) in enumerate(parts[1:], start=1):
        if structure(dyn, static) != key0:
            raise InputError(f"make_problem must give problems of one structure (the same system and objective "
                             f"classes, steps, blocks, bounds and other non-array settings, and arrays of the "
                             f"same shapes); params slice {i} differs from slice 0.")
    stacked = jtu.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *[d for d, _ in parts])
    return stacked, static0


_CACHE = CompiledCache()


def _compiled(inputs, static, solver, mesh, vectorize):
    """(the compiled sharded program for these inputs' shapes, the static part of its output `Solution`)."""
    solver_key = structure(*eqx.partition(solver, eqx.is_array))
    if jtu.tree_leaves(eqx.filter(solver, eqx.is_array)):  # a solver holding arrays: compiled per object
        solver_key += (id(solver),)
    key = (structure(inputs, static), solver_key, tuple(d.id for d in mesh.devices.flat), jax.process_count(),
           vectorize)
    if key not in _CACHE:
        out_static = []

        def one(dyn):
            sol = _solve_core(eqx.combine(dyn, static), solver, None)
            d, s = eqx.partition(sol, eqx.is_array)
            out_static.append(s)
            return d

        # Each device: its rows of the batch, as one batched while loop (vmap) or one after another (lax.map).
        local = jax.vmap(one) if vectorize else (lambda rows: jax.lax.map(one, rows))
        spec = PartitionSpec(_AXIS)
        try:
            program = jax.jit(jax.shard_map(local, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False))
            lowered, mode = program.lower(inputs), "shard_map"
        except ValueError:
            # A program whose linear solves (lineax, in an implicit integrator's Newton) do not trace inside shard_map: the same
            # vmapped program partitioned by XLA (GSPMD) from the batch sharding of its inputs and outputs.
            out_static.clear()
            sharding = NamedSharding(mesh, spec)
            program = jax.jit(local, in_shardings=(sharding,), out_shardings=sharding)
            lowered, mode = program.lower(inputs), "gspmd"
        _CACHE[key] = (lowered.compile(), out_static[0], mode)
    return _CACHE[key]


def _gather(out):
    """Every row of the output on the host, from every process."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(out, tiled=True)
    return jtu.tree_map(np.asarray, out)
