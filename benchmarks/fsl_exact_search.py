"""The search for c in the FSL's exact finite-N law (`fsl_laws.exact_optimum`, the closed-form check of `lrcontrol
solve fsl`): Newton steps in log c after two log grids (`_search.newton_log_minimum`, the toolkit's) against the
61-point grid + 40 golden-section steps it replaced (`_search.best_log_scale`), on the same O(N) E_N, easy and hard
phase, N = 10³ and 10⁶. Compile (first call, minus the best run) and run (best of 3) apart; c and E_N of both.

    python benchmarks/fsl_exact_search.py        # writes benchmarks/results/fsl_exact_search.json
"""

import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol._search import best_log_scale, newton_log_minimum  # noqa: E402
from lrcontrol.systems import fsl_laws  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _harness import best_of, write  # noqa: E402

PHASES = {"easy (defaults)": {}, "hard (s = 0.25, β = 3, σ² = 0.2, η_max = 0.2)":
          dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2)}
SEARCHES = {"newton_log_minimum": newton_log_minimum, "best_log_scale (grid 61 + golden 40)": best_log_scale}


def main():
    rows = []
    for phase, params in PHASES.items():
        system = lrc.systems.FSL(**params)
        for steps in (1000, 1_000_000):
            ones = jnp.ones(steps)
            for name, search in SEARCHES.items():
                run = jax.jit(lambda s, o, search=search: search(
                    lambda c: s.final_loss(fsl_laws.exact_law(s, o.shape[0], c)), 1e-12 * s.eta_max, s.eta_max))

                def call(run=run, system=system, ones=ones):
                    c, value = run(system, ones)
                    return float(c), float(value)

                t0 = time.perf_counter()
                call()
                first = time.perf_counter() - t0
                best, (c, value) = best_of(call, 3)
                rows.append({"phase": phase, "steps": steps, "search": name, "c": c, "E_N": value,
                             "compile_s": first - best, "run_s": best})
                print(f"{phase}, N = {steps}: {name}: run {best:.3f} s, compile {first - best:.2f} s, c {c!r}, "
                      f"E_N {value!r}")
    write("fsl_exact_search", {"description": __doc__.split("\n\n")[0], "rows": rows})


if __name__ == "__main__":
    main()
