"""Will a solve fit in memory? An estimate from the problem's sizes, checked before any array is allocated.

The estimate counts float64 numbers (8 bytes each):

- controls and the optimiser's vectors: blocks × controls × (2·history + 12) — L-BFGS keeps `history` pairs of
  vectors (counted as 10: the default below 10⁵ controls, 5 above) plus a dozen work vectors (iterate, gradient,
  bounds, trial point, preconditioner);
- per step: the grid, the recorded loss curve and the per-step controls: 6 × steps × controls;
- states kept for the reverse pass: the unroll stores one state per step (up to 4096 steps) or the checkpoint
  boundaries plus one chunk (~2√steps), and an RK4 cell keeps its four stages for each of its substeps. Counted for
  every system alike: a closed-form final loss (FSL, the laws) keeps fewer, and their small states make the excess
  small. A diffrax cell (`lrc.Diffrax`) keeps one checkpoint per substep (fixed steps) or, adaptive, a guess
  of 16.

A problem whose estimate exceeds the memory the machine has free is refused with one sentence naming the sizes, in
place of an allocator error after a long wait. The estimate is a floor (XLA's temporaries come on top), so a
problem near the limit may still fail; its purpose is to turn impossible sizes into a clear message.
"""

import math
import os

import jax
import numpy as np

from ._cache import CompiledCache
from ._errors import InputError
from ._diffrax import Diffrax
from ._integrate import RK4

_HISTORY = 10


def available_bytes() -> int | None:
    """Memory the machine has free now (MemAvailable on Linux; None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def state_size(system) -> int:
    """Numbers in the system's state (from shapes alone: nothing is computed)."""
    shapes = jax.eval_shape(system.initial_state)
    return int(sum(np.prod(leaf.shape, dtype=np.int64) for leaf in jax.tree_util.tree_leaves(shapes)))


def estimate_bytes(problem) -> int:
    """A floor on the memory a solve of `problem` needs (module docstring)."""
    n, m, b = problem.steps, len(problem.control_names), problem.blocks
    numbers = b * m * (2 * _HISTORY + 12) + 6 * n * m
    chunk = problem.checkpoint_every or (n if n <= 4096 else math.ceil(math.sqrt(n)))
    stored = n if chunk >= n else (n // chunk + chunk)
    rk4 = isinstance(problem.integrator, RK4)  # keeps 4 stages per substep; an exact flow, one state per cell
    per_state = 4 * problem.integrator.substeps if rk4 else 1
    if isinstance(problem.integrator, Diffrax):
        per_state = 16 if problem.integrator.adaptive else problem.integrator.substeps
    numbers += stored * state_size(problem.system) * (1 + per_state)
    return 8 * int(numbers)


def check_fits(problem) -> None:
    """Raise `InputError` if `estimate_bytes(problem)` exceeds the memory free now."""
    free = available_bytes()
    if free is None:
        return
    need = estimate_bytes(problem)
    if need > free:
        size = "horizon" if problem.is_discrete else "steps"
        raise InputError(f"{size} = {problem.steps} with a state of {state_size(problem.system)} numbers needs at "
                         f"least {need / 2**30:.1f} GiB, more than the {free / 2**30:.1f} GiB of memory free; lower "
                         f"{size} (or blocks) or the system's size.")


# id(compiled) → (compiled, bytes or None): XLA's analysis takes ~20 ms, once per executable
_COMPILED_BYTES = CompiledCache()


def compiled_bytes(compiled) -> int | None:
    """XLA's account of a compiled solve's memory (arguments, outputs and temporaries), or None where the backend
    has no analysis; computed once per executable (a repeated solve reuses its executable)."""
    entry = _COMPILED_BYTES.get(id(compiled))
    if entry is None or entry[0] is not compiled:
        try:
            analysis = compiled.compiled.memory_analysis()  # an equinox Compiled wraps jax's
            need = analysis.temp_size_in_bytes + analysis.argument_size_in_bytes + analysis.output_size_in_bytes
        except (AttributeError, TypeError, NotImplementedError):  # a backend without the analysis
            need = None
        entry = _COMPILED_BYTES[id(compiled)] = (compiled, need)
    return entry[1]


def check_compiled_fits(compiled, problem) -> None:
    """Raise `InputError` if XLA's own account of a compiled solve (arguments, outputs and temporaries) exceeds
    the memory free now: exact where `estimate_bytes` is a floor, known after compiling and before running."""
    need = compiled_bytes(compiled)
    if need is None:
        return
    free = available_bytes()
    if free is not None and need > free:
        size = "horizon" if problem.is_discrete else "steps"
        raise InputError(f"this solve ({size} = {problem.steps}, a state of {state_size(problem.system)} numbers) "
                         f"needs {need / 2**30:.1f} GiB by XLA's account, more than the {free / 2**30:.1f} GiB of "
                         f"memory free; lower {size} (or blocks) or the system's size.")
