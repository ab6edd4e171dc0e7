"""Window functions (Somefun, "Annealing via Window Functions"): the three-stage γ̄ check on the
note's schedules, and how robust its verdicts are.

The note classifies cosine, linear, P2 = (1 − x^1.8)² and S4 (logistic, slope 4) as compliant and E0.05
(β-exponential, β = 0.05) and S40 (logistic, slope 40) as violating. The stored note states the constraints for a
general horizon τ (steps) and gives no τ for the classification, so it is checked at τ = 100, 1000 and 10 000.
Stages (lrcontrol/_compliance.py): early F ≥ ½ for t ≤ τ/2; late F(τ − 1) ≤ 1/τ; mid-to-late 0 ≤ S ≤ 10 with
S = −d ln γ̄/d ln(τ − t) (γ̄'s growth exponent against the remaining time; linear decay has S ≡ 1, the gentlest
rise the first two stages allow). Also: the band of thresholds for which the named verdicts hold, the family
boundaries (logistic and polynomial i) the threshold 10 implies, and a few variants (floor, full period,
coverage, WSD, Kronecker inputs).

Writes window_compliance.json and window_compliance.png to --out.

    python problems/window_compliance.py   # writes problems/results/window_compliance/window_compliance.{json,png}
"""

import json
import platform
import sys
import time

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import numpy as np

from lrcontrol import analysis, schedules

TAUS = (100, 1000, 10_000)
MAIN_TAU = 1000
# name: (window family or builder, params, the note's verdict)
NOTE = {"cosine": ("cosine", {}, "compliant"), "linear": ("linear", {}, "compliant"),
        "P2": ("polynomial", {"i": 1.8, "n": 2}, "compliant"), "S4": ("logistic", {"i": 4}, "compliant"),
        "E0.05": ("exponential", {"beta": 0.05}, "violating"), "S40": ("logistic", {"i": 40}, "violating"),
        "E0.99": ("exponential", {"beta": 0.99}, "≈ linear (β → 1); strictly misses F(τ/2) ≥ ½")}
EXTRA = {"S6": ("logistic", {"i": 6}, "edge of 'safe i < 6'"),
         "S8": ("logistic", {"i": 8}, "not stated"),
         "P10": ("polynomial", {"i": 10, "n": 2}, "edge of 'safe 1 < i < 10'"),
         "cosine, floor 0.01": ("cosine", {"floor": 0.01}, "not stated"),
         "cosine, full period": ("cosine", {"period": "full"}, "warm-up (not a cooldown)"),
         "cosine, coverage 0.3": ("cosine", {"coverage": 0.3}, "not stated"),
         "cosine, coverage 0.6": ("cosine", {"coverage": 0.6}, "not stated"),
         "cosine, Kronecker table": ("cosine", {"inputs": "kronecker"}, "as cosine"),
         "WSD 20% linear": ("wsd", {"decay": 0.2}, "not stated")}


def build(family, params, tau):
    if family == "wsd":
        return schedules.wsd(1.0, tau, **params)
    return schedules.window(family, tau, **params)


def where(c) -> str:
    """Where the first violation of each failing stage is, in steps and x = t/τ."""
    out = []
    if not c.early:
        out.append(f"early: F<½ from t={c.early_first} (x={c.early_first / c.tau:.3f}), min F={c.early_min:.4f}")
    if not c.late:
        out.append(f"late: τF(τ−1)={c.late_value * c.tau:.3g} > 1")
    if not c.smooth:
        out.append(f"smooth: {c.smooth_reason} at t={c.smooth_first} (x={c.smooth_first / c.tau:.3f})")
    return "; ".join(out) or "—"


def boundary(family, n_or_none, threshold, tau, lo, hi):
    """Smallest slope i at which the family's max S crosses `threshold` (bisection; S rises with i)."""
    def s_max(i):
        params = {"i": i} if n_or_none is None else {"i": i, "n": n_or_none}
        return analysis.compliance(schedules.window(family, tau, **params)).sharpness_max
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if s_max(mid) <= threshold else (lo, mid)
    return 0.5 * (lo + hi)


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/window_compliance")
    ap.add_argument("--taus", type=int, nargs="+", default=list(TAUS))
    args = ap.parse_args()
    out = results_folder(args.out)
    start = time.perf_counter()
    threshold = analysis.compliance(schedules.window("linear", 8)).max_sharpness
    results = {"machine": platform.platform(), "python": sys.version.split()[0], "jax": jax.__version__,
               "numpy": np.__version__, "taus": args.taus, "main_tau": MAIN_TAU,
               "criterion": {"early": "F(t) >= 1/2 for t <= tau/2", "late": "F(tau-1) <= 1/tau",
                             "smooth": "0 <= S(t) <= threshold for tau/2 <= t < t+1 <= tau-1, "
                                       "S = ln(gbar(t+1)/gbar(t)) / ln((tau-t)/(tau-t-1))",
                             "threshold": threshold},
               "cases": {}}

    print(f"{'schedule':24s} {'params':22s} {'τ':>6s} {'early':>5s} {'late':>5s} {'smooth':>6s} "
          f"{'max S (x)':>13s} {'F(τ/2)':>7s} {'τF(τ−1)':>9s}  note / where it fails")
    for name, (family, params, note) in {**NOTE, **EXTRA}.items():
        rec = {"family": family, "params": params, "note": note, "taus": {}}
        for tau in args.taus:
            c = analysis.compliance(build(family, params, tau))
            rec["taus"][str(tau)] = {**c.to_dict(), "where": where(c)}
            ok = lambda b: "pass" if b else "FAIL"  # noqa: E731
            f_half = float(np.asarray(build(family, params, tau).values)[tau // 2])
            print(f"{name:24s} {json.dumps(params)[:22]:22s} {tau:6d} {ok(c.early):>5s} {ok(c.late):>5s} "
                  f"{ok(c.smooth):>6s} {c.sharpness_max:6.3g} ({c.sharpness_argmax / tau:.3f}) {f_half:7.4f} "
                  f"{c.late_value * tau:9.3g}  {note if c.passed else where(c)}")
        verdicts = {v["passed"] for v in rec["taus"].values()}
        rec["same_verdict_all_taus"] = len(verdicts) == 1
        if note in ("compliant", "violating"):
            rec["agrees_with_note"] = all(v["passed"] == (note == "compliant") for v in rec["taus"].values())
        results["cases"][name] = rec

    # The band of thresholds for which the named verdicts hold, over every τ.
    s = {name: max(v["smooth"]["max_sharpness"] for v in results["cases"][name]["taus"].values())
         for name in ("cosine", "linear", "P2", "S4")}
    s40 = min(v["smooth"]["max_sharpness"] for v in results["cases"]["S40"]["taus"].values())
    results["threshold_band"] = {"max_S_compliant": max(s.values()), "by_family": s, "min_S_S40": s40,
                                 "threshold": threshold,
                                 "threshold_inside": max(s.values()) < threshold < s40}
    results["boundaries_at_threshold"] = {
        "logistic_i": boundary("logistic", None, threshold, MAIN_TAU, 4.0, 40.0),
        "polynomial_i_n2": boundary("polynomial", 2, threshold, MAIN_TAU, 2.0, 30.0),
        "polynomial_i_n1": boundary("polynomial", 1, threshold, MAIN_TAU, 2.0, 30.0),
        "note": "the note's safe ranges: logistic i < 6, polynomial 1 < i < 10 (n = 2)"}
    print(f"\nnamed verdicts hold for any threshold in ({max(s.values()):.3f}, {s40:.3f}); used: {threshold:g}")
    b = results["boundaries_at_threshold"]
    print(f"boundaries at {threshold:g}: logistic i = {b['logistic_i']:.2f}, polynomial i = "
          f"{b['polynomial_i_n2']:.2f} (n = 2), {b['polynomial_i_n1']:.2f} (n = 1); {b['note']}")
    results["wall_time_s"] = time.perf_counter() - start
    write_json(out / "window_compliance.json", results, ensure_ascii=False)
    verdicts = []
    for name in ("cosine", "linear", "P2", "S4", "E0.05", "S40", "E0.99"):
        taus = results["cases"][name]["taus"].values()
        failed = sorted({st for v in taus for st in v["failed_stages"]})
        verdicts.append(f"{name} {'fails ' + '/'.join(failed) if failed else 'compliant'}")
    (out / "agreement.md").write_text(
        f"| Window functions (Somefun), three-stage γ̄ check at τ = {', '.join(results['cases']['cosine']['taus'])} "
        f"| {'; '.join(verdicts)} (smoothness: sharpness S ≤ {threshold:g}; the note's verdicts hold for any "
        f"threshold in ({max(s.values()):.2f}, {s40:.2f})) | `python problems/window_compliance.py` |\n")

    # Figure: F, τγ̄ and S at τ = MAIN_TAU for the note's schedules, first violations marked.
    tau = MAIN_TAU
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.6))
    x = np.arange(tau) / tau
    for k, (name, (family, params, _)) in enumerate(NOTE.items()):
        sched = build(family, params, tau)
        c = analysis.compliance(sched)
        f = np.asarray(sched.values) / float(np.max(sched.values))
        g = analysis.gamma_bar(sched)
        ts, sh = analysis.sharpness(sched)
        color = f"C{k}"
        style = ":" if name == "E0.99" else ("-" if c.passed else "--")  # E0.99 lies on linear
        label = f"{name} ({'compliant' if c.passed else 'violates ' + ', '.join(c.failed_stages)})"
        axes[0].plot(x, f, style, color=color, label=label)
        axes[1].semilogy(x[1:], tau * g[1:], style, color=color, label=name)
        axes[2].plot(ts / tau, sh, style, color=color, label=name)
        if not c.early:
            t0 = c.early_first
            axes[0].plot(x[t0], f[t0], "x", color=color, ms=10, mew=2)
            axes[1].plot(x[t0], tau * g[t0], "x", color=color, ms=10, mew=2)
        if not c.smooth:
            t0 = c.smooth_first
            axes[2].plot(t0 / tau, sh[t0 - ts[0]], "x", color=color, ms=10, mew=2)
            axes[1].plot(x[t0], tau * g[t0], "o", mfc="none", color=color, ms=10, mew=2)
    axes[0].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[0].axvline(0.5, color="k", lw=0.8, ls=":")
    axes[0].set(xlabel="x = t/τ", ylabel="F", title=f"windows, τ = {tau} (× = first early violation)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(tau, color="k", lw=0.8, ls=":", label="γ̄ = 1 (late target)")
    axes[1].axhline(2.0, color="grey", lw=0.8, ls=":", label="tγ̄ = 1 at τ/2 (early bound)")
    axes[1].set(xlabel="x = t/τ", ylabel="τ·γ̄", ylim=(1e-2, 1e8),
                title="τ·γ̄(t) = (1 − F)/(xF)  (○ = first sharp rise)")
    axes[1].legend(fontsize=7)
    axes[2].axhline(threshold, color="r", lw=1, ls=":", label=f"threshold {threshold:g}")
    axes[2].axhline(1.0, color="grey", lw=0.8, ls=":", label="linear decay: S ≡ 1")
    axes[2].set(xlabel="x = t/τ", ylabel="S = −d ln γ̄ / d ln(τ − t)", ylim=(0, 30),
                title="mid-to-late sharpness (× = first violation)")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "window_compliance.png", dpi=110)
    print(f"wrote {out / 'window_compliance.json'} and {out / 'window_compliance.png'} "
          f"({results['wall_time_s']:.1f} s)")


if __name__ == "__main__":
    main()
