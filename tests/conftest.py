import os

# Under pytest-xdist two workers share CI's two cores: one XLA thread each, so they do not fight over them.
# XLA's older CPU emitters (--xla_cpu_use_fusion_emitters=false) compile a solve's ~170-730 fused kernels faster:
# measured compile of the Direct program, default -> this: quadratic 1.4 -> 0.8 s, perceptron 2000 1.7 -> 1.2 s,
# teacher-student 4.4 -> 4.1 s; run times: perceptron the same, teacher-student 55-59 -> 67-72 ms, an FSL 10^6
# solve 5-35 % slower, so the library keeps XLA's default. Full suite here 642-664 s -> 610 s (one run), same
# results.
# Tried, not kept: adding --xla_backend_optimization_level=1 (640 s) or --xla_llvm_disable_expensive_passes (no
# change).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                               "--xla_cpu_use_fusion_emitters=false").strip()

# One XLA compilation cache for the whole run, in a temporary folder removed at its end (`pytest_unconfigure`):
# the workers and the CLI and multi-process subprocesses share what each compiled (most of the suite's time
# is compilation, and many tests solve the same problem structures). Set by the controller before the workers
# start, so they inherit it.
if not os.environ.get("PYTEST_XDIST_WORKER") and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    import tempfile

    _CACHE = tempfile.mkdtemp(prefix="lrcontrol-test-xla-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
else:
    _CACHE = None

import jax  # noqa: E402
import pytest  # noqa: E402

# Everything compared against a closed form runs in float64 (the library itself never flips this).
jax.config.update("jax_enable_x64", True)
# The CLI's own persistent cache (~/.cache/lrcontrol) stays off in tests: nothing is written outside the run's
# folders (CLI subprocesses use the run's shared cache above; benchmarks/random_features_peers.py measures the
# CLI's cache).
os.environ["LRCONTROL_CACHE"] = "off"


# Scheduling: with `--dist loadfile` each file runs whole on one worker, and files are handed out in collection
# order (`--no-loadscope-reorder`). Handing out the longest first (longest-processing-time-first) keeps the two
# workers busy to the end instead of leaving one to finish a long file alone. Seconds per file on 2 cores, from
# `python -m pytest --durations=0` (2026-12-06; rough weights: only the order matters; unlisted files come after,
# as found).
_SECONDS = {
    "test_conformance.py": 161, "test_cli_hardening.py": 100, "test_notebooks_b.py": 83, "test_cli.py": 81,
    "test_diffrax.py": 78, "test_effort.py": 71, "test_laws.py": 71, "test_shooting.py": 56, "test_sweep.py": 55,
    "test_stopping.py": 53, "test_notebooks_a.py": 52, "test_random_features.py": 50, "test_hjb.py": 48,
    "test_fsl.py": 42, "test_train.py": 41, "test_autodiff.py": 34, "test_fsl_ode.py": 32, "test_main_job.py": 32,
    "test_notebooks_c.py": 31, "test_random_features_controls.py": 31, "test_law_staircase.py": 29,
    "test_perceptron.py": 22, "test_laws_other.py": 19, "test_solver.py": 16, "test_schedule.py": 14,
    "test_teacher_student.py": 14, "test_train_digits.py": 12, "test_progress.py": 7, "test_quadratic.py": 6,
    "test_refine.py": 5,
}


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(sorted(_SECONDS, key=_SECONDS.get, reverse=True))}
    # A stable sort: tests keep their order within a file; unlisted files keep theirs after the listed ones.
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


# A worker's memory maps past which it drops its executables: the kernel's limit is 65530 (`vm.max_map_count`), and
# the file that compiles most (test_conformance.py) adds ~14,000; a lower mark drops more that later files reuse.
MAX_MAPS = 32000


def _memory_maps() -> int | None:
    try:
        with open("/proc/self/maps") as maps:
            return sum(1 for _ in maps)
    except OSError:  # no /proc (macOS): unknown
        return None


@pytest.fixture(autouse=True, scope="module")
def _release_executables():
    """After a test file, drop every executable compiled so far (lrcontrol's and JAX's caches) once the worker
    holds more than MAX_MAPS memory maps. Each executable keeps its machine code in ~18 maps on CPU; a worker that
    kept every executable of half the suite reached 54,000 (measured), near the kernel's limit of 65,530, past
    which XLA aborts the worker mid-compilation (CI, stop 30) and xdist hangs. Kept below that, files that share
    compiled solves keep sharing them; what is dropped and needed again loads from the run's persistent cache."""
    yield
    maps = _memory_maps()
    if maps is None or maps > MAX_MAPS:
        from lrcontrol._cache import clear_compiled

        clear_compiled()
        jax.clear_caches()


def pytest_unconfigure(config):
    if _CACHE is not None:
        import shutil

        shutil.rmtree(_CACHE, ignore_errors=True)
