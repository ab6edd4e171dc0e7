import os

# Under pytest-xdist two workers share CI's two cores: one XLA thread each, so they do not fight over them.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                               "intra_op_parallelism_threads=1").strip()

import jax  # noqa: E402

# Everything compared against a closed form runs in float64 (the library itself never flips this).
jax.config.update("jax_enable_x64", True)
# The CLI's persistent compilation cache stays off in tests: nothing written outside the test's folders, and
# every CLI test compiles what it runs (benchmarks/random_features_peers.py measures the cache).
os.environ["LRCONTROL_CACHE"] = "off"
