import os

import jax

# Everything compared against a closed form runs in float64 (the library itself never flips this).
jax.config.update("jax_enable_x64", True)
# The CLI's persistent compilation cache stays off in tests: nothing written outside the test's folders, and
# every CLI test compiles what it runs (benchmarks/random_features_peers.py measures the cache).
os.environ["LRCONTROL_CACHE"] = "off"
