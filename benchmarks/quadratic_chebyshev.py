"""Time of the numerical minimax over T step sizes (`lrc.minimax`, κ = 50) for T = 10, 50, 200.

The first call compiles the surrogate solve (one compile per T: every sharpness stage reuses it); later calls
run only. Reported: compile time, the surrogate stages' L-BFGS iterations and run time (best of k warm calls),
and the rest (Remez exchange and the fine-grid worst-case evaluations, numpy) as warm wall time minus the
stages' run time. Writes benchmarks/results/quadratic_chebyshev.json.

    python benchmarks/quadratic_chebyshev.py
"""

import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, str(Path(__file__).parent))
from _harness import best_of, write  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol.systems import Quadratic  # noqa: E402

HORIZONS = (10, 50, 200)


def main():
    system = Quadratic(1.0, 50.0)
    rows = []
    for t in HORIZONS:
        start = time.perf_counter()
        first = lrc.minimax(system, t)
        first_wall = time.perf_counter() - start
        warm, result = best_of(lambda: lrc.minimax(system, t), repeats=3 if t < 200 else 2)  # noqa: B023
        stage_run = sum(s["run_s"] for s in result.stages)
        row = {"horizon": t, "compile_s": sum(s["compile_s"] for s in first.stages), "first_call_s": first_wall,
               "warm_call_s": warm, "surrogate_run_s": stage_run, "remez_and_checks_s": warm - stage_run,
               "lbfgs_iterations": [s["iterations"] for s in result.stages],
               "remez_exchanges": result.exchanges,
               "factor_rel_error": abs(result.factor / system.chebyshev_factor(t) - 1)}
        rows.append(row)
        print(f"T = {t:3d}: compile {row['compile_s']:.2f} s, warm {warm:.2f} s (surrogate {stage_run:.2f} s, "
              f"L-BFGS iterations {row['lbfgs_iterations']}; Remez {result.exchanges} exchanges + checks "
              f"{row['remez_and_checks_s']:.2f} s), factor rel. error {row['factor_rel_error']:.1e}")
    path = write("quadratic_chebyshev", {"mu": 1.0, "L": 50.0, "sharpness": [4.0, 16.0, 64.0, 256.0],
                                         "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
