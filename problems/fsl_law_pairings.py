"""The FSL practical form's two pairings side by side on the real 25M and 100M curves (README, loss-curve laws):
`fsl_law` pairs each decrement with T(i), `fsl_law_before` with T(i − 1) (lrcontrol/systems/fsl_law.py).

For each size and pairing: `lrc.fit` on the published fit split with its default cap of 200 Levenberg–Marquardt
steps (what `lrcontrol fit` and the table in problems/loss_curve_laws.py give) and with 800 (enough for every fit
here to stop on its own tolerance), the held-out PredE, and the monotone schedule solved under each fitted law as
the table solves it (N = 24000, warm-up 2160, peak 3e-4, min 1e-10; both starts): its final loss, whether it
converged, its Newton–CG steps and run time.

    python problems/fsl_law_pairings.py     # ~10 min on 2 cores → problems/results/fsl_law_pairings/
                                            #   results.json, agreement.md (the README's pairing table)
"""

import argparse
import json
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol._fit import evaluate_law, fit_loss  # noqa: E402
from lrcontrol.systems.fsl_law import FSLLaw, FSLLawBefore  # noqa: E402

from loss_curve_laws import FIT, HELD_OUT, curves, data_dir, optimise  # noqa: E402

CAPS = (200, 800)


def one(cls, fit_curves, held, max_steps: int) -> dict:
    t0 = time.perf_counter()
    law, report = lrc.fit(cls, fit_curves, max_steps=max_steps)
    fit_time = time.perf_counter() - t0
    schedule = optimise(law)
    diag = schedule["diagnostics"]
    return {"params": law.params(), "fit_loss": fit_loss(law, fit_curves),
            "mean_PredE": float(np.mean([m["PredE"] for m in evaluate_law(law, held).values()])),
            "fit_converged": report.converged, "fit_iterations": report.iterations, "fit_time_s": fit_time,
            "optimum": schedule["final_loss"], "solve_converged": diag["converged"],
            "solve_steps": diag["iterations"], "solve_run_time_s": diag["run_time_s"],
            "end_values_by_start": schedule["end_values_by_start"], "shape": schedule["shape"],
            "best_baseline": min((v["final_loss"], k) for k, v in schedule["baselines"].items()
                                 if k != "published optimised")}


def table(results: dict) -> str:
    """The README's pairing table (markdown) from `results`: per size and pairing, each cap's fit and the schedule
    solve under it."""
    lines = ["| model | law | " + " | ".join(f"fit ({cap} steps): loss / PredE" for cap in results["caps"]) + " | "
             + " | ".join(f"schedule solve under the {cap}-step fit" for cap in results["caps"]) + " |",
             "|---" * (2 + 2 * len(results["caps"])) + "|"]
    for size, rows in results["sizes"].items():
        for name, pairing in (("fsl_law", "T(i)"), ("fsl_law_before", "T(i − 1)")):
            runs = [rows[f"{name}, {cap} steps"] for cap in results["caps"]]
            fits = [f"{r['fit_loss']:.4e} / {r['mean_PredE']:.5f}, "
                    + (f"converged ({r['fit_iterations']})" if r["fit_converged"] else "stopped") for r in runs]
            solves = [(f"**converged, {r['solve_steps']} steps, {r['solve_run_time_s']:.1f} s**" if r["solve_converged"]
                       else f"capped at {r['solve_steps']} steps, {r['solve_run_time_s']:.1f} s") for r in runs]
            lines.append(f"| {size}M | {name} ({pairing}) | " + " | ".join(fits + solves) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "fsl_law_pairings"))
    args = ap.parse_args()
    results = {"caps": CAPS, "sizes": {}}
    for size in ("25", "100"):
        folder = data_dir(size)
        if folder is None or not (folder / f"{HELD_OUT[0]}.csv").exists():
            continue
        fit_curves, held = curves(folder, FIT), curves(folder, HELD_OUT)
        rows = {}
        for cls in (FSLLaw, FSLLawBefore):
            for cap in CAPS:
                row = one(cls, fit_curves, held, cap)
                rows[f"{cls.name}, {cap} steps"] = row
                print(f"{size}M {cls.name} cap {cap}: fit loss {row['fit_loss']:.4e} "
                      f"({'converged' if row['fit_converged'] else 'stopped'}, {row['fit_iterations']} steps), "
                      f"PredE {row['mean_PredE']:.5f}; optimum {row['optimum']:.10f} "
                      f"({'converged' if row['solve_converged'] else 'capped'}, {row['solve_steps']} steps, "
                      f"{row['solve_run_time_s']:.1f} s)", flush=True)
        results["sizes"][size] = rows
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    (out / "agreement.md").write_text(table(results))


if __name__ == "__main__":
    main()
