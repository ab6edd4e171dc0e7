"""Where the multi-power law fitted from scratch loses to the published parameters, and whether a rule that sees
only the fit curves can choose a better-predicting fit (issue 16's acceptance asks for held-out PredE no worse than
published; `problems/mpl_fit_diagnosis.py` shows the published values are not a minimum of their own objective).

1. Held-out PredE per curve, published parameters against `lrc.fit`'s (cap 200 is its default), grouped by
   horizon: the fit split has runs of 24000 updates (cosine, constant) and 16000 (a two-stage step); the held-out
   runs are two of each of 16000 (two-stage steps), 24000 (WSD) and 72000 updates (constant and cosine: three
   times the longest fit run, an extrapolation in the horizon).
2. Early stopping as the selection: `lrc.fit` with its Levenberg–Marquardt stages capped at 5 … 200 steps (the
   published fit stops AdamW early too). The cap is chosen by leave-one-curve-out on the fit split only (fit two
   curves, PredE on the third, mean of the three folds); the held-out curves are scored afterwards, never used to
   choose.

Data: /work/shared/data/mpl (25M and 100M; the held-out curves are not all in the shipped copy).

    python problems/mpl_fit_selection.py     # ~8 min; writes problems/results/mpl_fit_selection/
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

from loss_curve_laws import FIT, HELD_OUT, PUBLISHED, curves, data_dir  # noqa: E402

CAPS = (5, 10, 20, 40, 80, 200)
LAW = lrc.systems.MultiPowerLaw


def horizon_means(metrics: dict, held) -> dict:
    """Mean PredE over all held-out curves and over each horizon's."""
    by = {"all": [m["PredE"] for m in metrics.values()]}
    for c in held:
        by.setdefault(f"{c.horizon} updates", []).append(metrics[c.name]["PredE"])
    return {k: float(np.mean(v)) for k, v in by.items()}


def one_cap(fit_curves, held, cap: int) -> dict:
    law, report = lrc.fit(LAW, fit_curves, max_steps=cap)
    folds = []
    for j, left in enumerate(fit_curves):  # leave one fit curve out: fit the others, score the one left out
        law_j, _ = lrc.fit(LAW, [c for i, c in enumerate(fit_curves) if i != j], max_steps=cap)
        folds.append(evaluate_law(law_j, [left])[left.name]["PredE"])
    metrics = evaluate_law(law, held)
    return {"cap": cap, "converged": report.converged, "iterations": report.iterations,
            "fit_loss": fit_loss(law, fit_curves), "loco_PredE": float(np.mean(folds)), "loco_folds": folds,
            "held_out": horizon_means(metrics, held), "per_curve": {k: v["PredE"] for k, v in metrics.items()},
            "params": law.params()}


def table(results: dict) -> str:
    sizes = results["sizes"]
    groups = sorted({g for r in sizes.values() for g in r["published"]["held_out"] if g != "all"},
                    key=lambda g: int(g.split()[0]))
    lines = ["| model | fit | Huber fit loss | leave-one-curve-out PredE (fit split) | "
             + " | ".join(f"held-out PredE, {g}" for g in groups) + " | all six |",
             "|---|---|---|---|" + "---|" * (len(groups) + 1)]

    def cells(h):
        return " | ".join(f"{h[g]:.5f}" for g in groups + ["all"])

    for size, r in sizes.items():
        pub = r["published"]
        lines.append(f"| {size}M | published parameters | {pub['fit_loss']:.3e} | — | {cells(pub['held_out'])} |")
        for row in r["caps"]:
            mark = " ← chosen" if row["cap"] == r["chosen_cap"] else ""
            stop = "converged" if row["converged"] else "stopped"
            lines.append(f"| {size}M | lrc.fit, cap {row['cap']} ({stop}, {row['iterations']} steps){mark} | "
                         f"{row['fit_loss']:.3e} | {row['loco_PredE']:.5f} | {cells(row['held_out'])} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "mpl_fit_selection"))
    args = ap.parse_args()
    results = {"caps": CAPS, "sizes": {}}
    for size in ("25", "100"):
        folder = data_dir(size)
        if folder is None or not all((folder / f"{n}.csv").exists() for n in HELD_OUT):
            print(f"{size}M: skipped (its six held-out curves are not here; the shared data has them)")
            continue
        fit_curves, held = curves(folder, FIT), curves(folder, HELD_OUT)
        published = LAW(*PUBLISHED[size]["params"])
        pub_metrics = evaluate_law(published, held)
        row = {"published": {"fit_loss": fit_loss(published, fit_curves),
                             "held_out": horizon_means(pub_metrics, held),
                             "per_curve": {k: v["PredE"] for k, v in pub_metrics.items()}}}
        t0 = time.perf_counter()
        row["caps"] = []
        for cap in CAPS:
            row["caps"].append(one_cap(fit_curves, held, cap))
            r = row["caps"][-1]
            print(f"{size}M cap {cap}: fit loss {r['fit_loss']:.4e}, LOCO {r['loco_PredE']:.5f}, "
                  f"held-out {r['held_out']}", flush=True)
        row["chosen_cap"] = min(row["caps"], key=lambda r: r["loco_PredE"])["cap"]
        row["wall_s"] = time.perf_counter() - t0
        results["sizes"][size] = row
    if not results["sizes"]:  # nothing measured: the committed results stay as they are
        raise SystemExit("no size has its fit and held-out curves here (/work/shared/data/mpl): nothing written.")
    results["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "agreement.md").write_text(table(results))
    print(table(results))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
