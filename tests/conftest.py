import os

# Under pytest-xdist two workers share CI's two cores: one XLA thread each, so they do not fight over them.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                               "intra_op_parallelism_threads=1").strip()

# One XLA compilation cache for the whole run, in a temporary folder removed at its end (`pytest_unconfigure`):
# the workers, the notebook kernels and the CLI subprocesses share what each compiled (most of the suite's time
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

# Everything compared against a closed form runs in float64 (the library itself never flips this).
jax.config.update("jax_enable_x64", True)
# The CLI's own persistent cache (~/.cache/lrcontrol) stays off in tests: nothing is written outside the run's
# folders (CLI subprocesses use the run's shared cache above; benchmarks/random_features_peers.py measures the
# CLI's cache).
os.environ["LRCONTROL_CACHE"] = "off"


# Scheduling: with `--dist loadfile` each file runs whole on one worker, and files are handed out in collection
# order (`--no-loadscope-reorder`). Handing out the longest first (longest-processing-time-first) keeps the two
# workers busy to the end instead of leaving one to finish a long file alone. Seconds per file on 2 cores, from
# `python -m pytest --durations=0` (rough weights: only the order matters; unlisted files come after, as found).
_SECONDS = {
    "test_conformance.py": 129, "test_cli_hardening.py": 88, "test_cli.py": 85, "test_notebooks_a.py": 76,
    "test_notebooks_b.py": 104, "test_diffrax.py": 70, "test_sweep.py": 67, "test_effort.py": 67,
    "test_shooting.py": 67, "test_laws.py": 63, "test_stopping.py": 60, "test_hjb.py": 60, "test_train.py": 60,
    "test_random_features.py": 58, "test_fsl.py": 52, "test_notebooks_c.py": 49, "test_fsl_ode.py": 40,
    "test_autodiff.py": 38, "test_main_job.py": 34, "test_perceptron.py": 32, "test_solver.py": 27,
    "test_random_features_controls.py": 26, "test_deep_linear.py": 6, "test_laws_other.py": 21,
    "test_train_digits.py": 22, "test_teacher_student.py": 16, "test_schedule.py": 15, "test_quadratic.py": 12, "test_refine.py": 11,
}


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(sorted(_SECONDS, key=_SECONDS.get, reverse=True))}
    # A stable sort: tests keep their order within a file; unlisted files keep theirs after the listed ones.
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_unconfigure(config):
    if _CACHE is not None:
        import shutil

        shutil.rmtree(_CACHE, ignore_errors=True)
