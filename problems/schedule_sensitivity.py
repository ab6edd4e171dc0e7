"""How far does a round-off change of the schedule move a trained model's final loss? The noise floor of a paired
comparison between schedules.

problems/pilot_peaks.py found (README, Real training) that re-solving the MPL law's optimum after a change of the
L-BFGS arithmetic — no rate moved by more than 2.3e-5 of itself — lowered the digits MLP's final loss on all eight
final seeds (mean −0.0063), turning a tie with the tuned baseline into a "win" that sixteen fresh seeds did not
confirm, while the same schedule retrains bit for bit. This script measures that sensitivity directly, on the same
task and seeds (transformer_schedules.py's digits quick setting, final seeds 1–8):

- four schedules: cosine to 0 at P0 (a low peak), at 8·P0 (the best tuned baseline of both pilot_peaks digits
  runs) and pilot_peaks' MPL-derived schedules at 16·P0 from one-stage and from two-stage pilots (the schedules
  those verdicts were about; read from pilot_peaks' run files when present, and kept in this script's results as
  `derived_*.csv`, which a rerun without those runs reads);
- each trained unperturbed and under `--draws` perturbations of two kinds for each ε in `--eps`: *independent*,
  every rate multiplied by 1 + ε z_k (z_k independent standard normal), and *uniform*, the whole schedule multiplied
  by 1 + ε z (one z); a draw's z is shared by the seeds;
- reported per schedule, kind and ε: d = perturbed − unperturbed final loss per (draw, seed); its standard deviation
  beside the seed-to-seed standard deviation of the unperturbed final loss; the spread over draws of the seed-mean
  of d (the round-off floor of a mean over the seeds); how many draws move all seeds the same way;
- the *ensemble* comparison: each derived schedule against the baseline at 8·P0 with every seed's final loss
  averaged over all its perturbed runs (a quantity no round-off change of the schedule can move), beside the
  unperturbed paired comparison pilot_peaks reports; and each schedule's *luck*, its unperturbed seed-mean minus its
  ensemble mean.

Training is float32 (lrcontrol.train): ε = 1e-7 is about one float32 ulp of a rate, 1e-5 some 170.

Writes `results.json`, `README.md` (generated from it), `sensitivity.png` and the derived schedules' copies; no run
files (a run takes a fraction of a second). ~6 min on 2 cores with the defaults.
"""

import time
from pathlib import Path

from _common import arguments, plt, results_folder, write_json

import numpy as np  # noqa: E402

import transformer_schedules as ts  # noqa: E402
from lrcontrol.train import TrainConfig, train  # noqa: E402

HERE = Path(__file__).resolve().parent
BASELINE = "cosine 0 @8P0"
# name: (pilot_peaks' run file of the schedule, the copy kept in this script's results folder)
DERIVED = {"derived (mpl) @16P0": (HERE / "results" / "digits_pilot_peaks" / "runs" / "derived_(mpl)_at16P0_seed1.csv",
                                   "derived_one_stage.csv"),
           "derived two-stage (mpl) @16P0": (
               HERE / "results" / "digits_pilot_peaks_two_stage" / "runs" / "derived_(mpl)_at16P0_seed1.csv",
               "derived_two_stage.csv")}
# the seed-mean change of the MPL-derived schedule's final loss when the re-solve after the two-loop change moved
# its rates by ≤ 2.3e-5 relative (pilot_peaks results.json before and at commit 7db2cfd: all eight seeds lower)
RESOLVE_SHIFT = -0.0063
SEEDS = tuple(range(1, 9))  # transformer_schedules' digits final seeds


def derived_rates(source: Path, kept: Path, steps: int) -> tuple[np.ndarray, Path]:
    """A derived schedule and the file it was read from: the `lr` column of pilot_peaks' run file `source`, else of
    the copy `kept`, else of the copy committed in this script's results folder; `kept` (columns step,lr) is
    written from whichever was read, unless it is that file."""
    committed = HERE / "results" / "schedule_sensitivity" / kept.name
    path = next((f for f in (source, kept, committed) if f.exists()), None)
    if path is None:
        raise SystemExit(f"neither {source} nor {committed} exists: run `python problems/pilot_peaks.py` (with "
                         "--two-stage for the two-stage schedule) first: it derives the schedule.")
    table = np.genfromtxt(path, delimiter=",", names=True)
    rates = np.asarray(table["lr"], float)
    if rates.size != steps:
        raise SystemExit(f"{path} holds {rates.size} updates, this setting trains {steps}.")
    if path.resolve() != kept.resolve():
        np.savetxt(kept, np.column_stack([np.arange(steps), rates]), delimiter=",", header="step,lr",
                   comments="", fmt=("%d", "%.17g"))
    return rates, path


KINDS = ("independent", "uniform")


def perturbed(rates: np.ndarray, kind: str, eps: float, draw: int) -> np.ndarray:
    """rates · (1 + eps·z): z standard normal from a generator seeded by `draw` (the same z at every eps), one per
    rate ("independent") or one for the whole schedule ("uniform")."""
    z = np.random.default_rng(draw).standard_normal(rates.size if kind == "independent" else 1)
    return rates * (1 + eps * z)


def run(out: Path, eps=(1e-7, 1e-5, 1e-3), draws: int = 16, seeds=SEEDS, progress: bool = True, mode: str = "quick",
        derived: dict | None = None, derived_from: dict | None = None):
    """The experiment on the digits `mode` setting; `derived` ({name: per-update rates}, names starting with
    "derived") are compared with the baseline (`main` passes pilot_peaks' schedules, and in `derived_from` the
    files they were read from)."""
    size, n, batch, k, vw, w, p0, _, vf = ts.SETTINGS["digits"][mode]
    config = TrainConfig(size=size, steps=n, batch=batch, eval_every=k, val_windows=vw, val_fraction=vf,
                         task="digits")
    schedules = {"cosine 0 @1P0": ts.base_rates("cosine 0", n, w, p0),
                 BASELINE: ts.base_rates("cosine 0", n, w, 8 * p0)}
    schedules.update(derived or {})
    t0 = time.perf_counter()

    def final(rates, seed):
        return train(config, rates, seed, progress=False).final_val_loss

    res = {}
    for name, rates in schedules.items():
        base = np.array([final(rates, s) for s in seeds])
        again = final(rates, seeds[0])  # the harness is deterministic: the same schedule and seed retrain exactly
        entry = {"unperturbed": base.tolist(), "retrained_seed_equal": bool(again == base[0]),
                 "seed_sd": float(np.std(base, ddof=1)), "cases": {}}
        for kind in KINDS:
            for e in eps:
                d = np.array([[final(perturbed(rates, kind, e, draw), s) for s in seeds]
                              for draw in range(draws)]) - base
                means = d.mean(axis=1)
                case = {"kind": kind, "eps": e, "differences": d.tolist(), "sd": float(np.std(d, ddof=1)),
                        "seed_mean_by_draw": means.tolist(), "seed_mean_sd": float(np.std(means, ddof=1)),
                        "seed_mean_largest_abs": float(np.max(np.abs(means))),
                        "draws_all_same_sign": int(np.sum(np.all(d < 0, axis=1) | np.all(d > 0, axis=1)))}
                entry["cases"][f"{kind} {e:g}"] = case
                if progress:
                    print(f"{name}, {kind} ε = {e:g}: s.d. of d {case['sd']:.2e}, of its {len(seeds)}-seed mean "
                          f"{case['seed_mean_sd']:.2e} ({time.perf_counter() - t0:.0f} s)", flush=True)
        res[name] = entry
    results = {"setup": {"task": "digits", "mode": mode, "steps": n, "warmup": w, "P0": p0, "seeds": list(seeds),
                         "eps": list(eps), "kinds": list(KINDS), "draws": draws,
                         "derived_from": dict(derived_from or {})},
               "machine": ts.machine(), "wall_s": time.perf_counter() - t0, "schedules": res,
               "ensemble": ensemble(res)}
    write_json(out / "results.json", results, newline=True)
    figure(out, results)
    (out / "README.md").write_text(table(results))
    return results


def ensemble(res: dict) -> dict:
    """Each schedule's ensemble (every perturbed run) against its unperturbed runs, and each derived schedule against
    the baseline: per seed the mean over the perturbed runs, then the paired mean and standard error over seeds."""
    per_seed, out = {}, {"luck": {}, "against_baseline": {}}
    for name, entry in res.items():
        base = np.array(entry["unperturbed"])
        runs = np.concatenate([np.array(c["differences"]) + base for c in entry["cases"].values()])
        per_seed[name] = runs.mean(axis=0)
        out["luck"][name] = {"unperturbed_mean": float(base.mean()), "ensemble_mean": float(runs.mean()),
                             "luck": float(base.mean() - runs.mean()), "runs_per_seed": int(runs.shape[0]),
                             "ensemble_per_seed": per_seed[name].tolist()}
    for name in res:
        if name.startswith("derived"):
            unperturbed = ts.paired(res[name]["unperturbed"], res[BASELINE]["unperturbed"])
            averaged = ts.paired(per_seed[name], per_seed[BASELINE])
            out["against_baseline"][name] = {
                "baseline": BASELINE, "unperturbed": dict(zip(("mean_difference", "standard_error"), unperturbed)),
                "unperturbed_verdict": ts.verdict(*unperturbed),
                "ensemble": dict(zip(("mean_difference", "standard_error"), averaged)),
                "ensemble_verdict": ts.verdict(*averaged)}
    return out


def figure(out, res):
    """Left: the s.d. of d against ε, by schedule (colour) and kind (line style), the seed-to-seed s.d. dashed.
    Right: every perturbed draw's seed-mean final loss (dots) against the unperturbed seed-mean (bar)."""
    s = res["setup"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    eps = s["eps"]
    for i, (name, entry) in enumerate(res["schedules"].items()):
        base = np.mean(entry["unperturbed"])
        for j, (kind, style) in enumerate(zip(s["kinds"], ("-o", ":s"))):
            ax.plot(eps, [entry["cases"][f"{kind} {e:g}"]["sd"] for e in eps], style, color=f"C{i}",
                    label=f"{name}, {kind}")
            means = np.concatenate([base + np.array(entry["cases"][f"{kind} {e:g}"]["seed_mean_by_draw"])
                                    for e in eps])
            bx.plot(np.full(len(means), i + 0.15 * (2 * j - 1)), means, style[1], color=f"C{i}", alpha=0.35, ms=4)
        bx.plot([i - 0.35, i + 0.35], [base, base], "k-", lw=2)
        ax.axhline(entry["seed_sd"], color=f"C{i}", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("ε (relative perturbation of the rates)")
    ax.set_ylabel("s.d. of perturbed − unperturbed final loss")
    ax.set_title("dashed: seed-to-seed s.d. of the unperturbed final loss", fontsize=9)
    ax.legend(fontsize=6)
    names = list(res["schedules"])
    bx.set_xticks(range(len(names)), [nm.replace(" @", "\n@") for nm in names], fontsize=7)
    bx.set_ylabel(f"final loss, mean over {len(s['seeds'])} seeds")
    bx.set_title("perturbed draws (circles independent, squares uniform); bar: unperturbed", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "sensitivity.png", dpi=110)
    plt.close(fig)


def table(res) -> str:
    s, m = res["setup"], res["machine"]
    lines = ["# Schedule sensitivity (digits)", "",
             f"Generated by `problems/schedule_sensitivity.py` from `results.json`: {s['steps']} updates, seeds "
             f"{s['seeds']}, {s['draws']} perturbation draws per kind and ε"
             + ("; the derived schedules read from " + ", ".join(f"`{v}`" for v in s["derived_from"].values())
                + " (copies kept here)" if s["derived_from"] else "") + ". Machine: "
             f"{m['platform']}, {m['cpus']} CPUs, jax {m['jax']}, finished {m['finished_utc']}; "
             f"{res['wall_s'] / 60:.1f} min.", "",
             "d = perturbed − unperturbed final validation loss, per draw and seed; *independent*: every rate × "
             "(1 + ε z_k); *uniform*: the schedule × (1 + ε z).", "",
             "| schedule | seed-to-seed s.d. | perturbation | s.d. of d | s.d. of the seed-mean of d | largest "
             "\\|seed-mean of d\\| | draws moving all seeds one way |", "|---|---|---|---|---|---|---|"]
    for name, entry in res["schedules"].items():
        for label, v in entry["cases"].items():
            lines.append(f"| {name} | {entry['seed_sd']:.4f} | {label} | {v['sd']:.2e} | {v['seed_mean_sd']:.2e} | "
                         f"{v['seed_mean_largest_abs']:.2e} | {v['draws_all_same_sign']} of {s['draws']} |")
    ens = res["ensemble"]
    lines += ["", "Each schedule's unperturbed seed-mean against its ensemble mean (all perturbed runs; luck = the "
              "difference):", "", "| schedule | unperturbed | ensemble (runs per seed) | luck |", "|---|---|---|---|"]
    for name, v in ens["luck"].items():
        lines.append(f"| {name} | {v['unperturbed_mean']:.4f} | {v['ensemble_mean']:.4f} ({v['runs_per_seed']}) | "
                     f"{v['luck']:+.4f} |")
    lines += ["", f"Derived schedules against {BASELINE} (paired over the seeds; negative = derived better):", "",
              "| derived | unperturbed runs | verdict | ensemble means | verdict |", "|---|---|---|---|---|"]
    for name, v in ens["against_baseline"].items():
        u, e = v["unperturbed"], v["ensemble"]
        lines.append(f"| {name} | {u['mean_difference']:+.4f} ± {u['standard_error']:.4f} | "
                     f"{v['unperturbed_verdict']} | {e['mean_difference']:+.4f} ± {e['standard_error']:.4f} | "
                     f"{v['ensemble_verdict']} |")
    same = all(e["retrained_seed_equal"] for e in res["schedules"].values())
    lines += ["", f"Same schedule and seed retrained: {'identical' if same else 'DIFFERENT'} final loss. The "
              f"re-solve's shift in pilot_peaks (MPL one-stage, eight seeds): {RESOLVE_SHIFT:+.4f}, all eight "
              "seeds lower.", "", "![sensitivity](sensitivity.png)"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = arguments(__doc__)
    ap.add_argument("--eps", type=float, nargs="+", default=[1e-7, 1e-5, 1e-3],
                    help="relative perturbation sizes in (0, 0.01] (default 1e-7 ≈ one float32 ulp, 1e-5 ≈ the "
                         "re-solve's, 1e-3)")
    ap.add_argument("--draws", type=int, default=16, help="perturbations per kind and size (default 16)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.draws < 2:
        ap.error("--draws must be at least 2 (a spread over draws is reported).")
    if any(not 0 < e <= 0.01 for e in args.eps):
        ap.error("--eps values must lie in (0, 0.01]: round-off-sized perturbations (a larger one changes the "
                 "schedule, and at 16·P0 can make a run diverge).")
    out = results_folder(args.out or HERE / "results" / "schedule_sensitivity")
    steps = ts.SETTINGS["digits"]["quick"][1]
    read = {name: derived_rates(source, out / kept, steps) for name, (source, kept) in DERIVED.items()}
    derived = {name: rates for name, (rates, _) in read.items()}
    where = {name: str(path.relative_to(HERE)) if path.is_relative_to(HERE) else str(path)
             for name, (_, path) in read.items()}
    print(table(run(out, tuple(args.eps), args.draws, progress=not args.no_progress, derived=derived,
                    derived_from=where)))


if __name__ == "__main__":
    main()
