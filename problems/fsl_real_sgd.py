"""Does the FSL predict real SGD? One-pass SGD on power-law linear regression against the functional scaling law
(Li et al. 2025, 2026), and the FSL-optimal schedule against tuned cosine and WSD on the real loss.

The learner: Gaussian features x = Λ^{1/2}z over M modes, λ_k = k^{−β}, teacher with λ_k w*_k² = k^{−(sβ+1)} (so
gradient flow's signal term decays like t^{−s}: source s, capacity β), labels y = w*·x + σε, batch 1, w₀ = 0,
loss L = Σ_k λ_k (w_k − w*_k)² (the excess risk). Simulated by Monte Carlo over `seeds` runs, and checked against
the exact expected-loss recursion (`systems.RandomFeatures` with a = sβ + 1, b = β — the same learner).

1. Schedules: constant, cosine and WSD (20% linear decay), each with its peak tuned on the exact expected final
   loss (the only knob a practitioner tunes).
2. Fit: the FSL with free prefactors and a time scale, L(k) ≈ c₀ + c₁ e(t_k/τ) + c₂ Σ_{i≤k} η_i² K((t_k − t_i)/τ)
   (e(t) = (1+t)^{−s}, K(u) = (1+u)^{−(2−1/β)}, t_k = Σ_{i≤k} η_i; c's by weighted linear least squares on the
   relative error, τ by a 1-D search), on the Monte Carlo mean loss curves of TWO schedules (constant and
   cosine). A multiplicative variant adds c₃ Σ η_i² K(·) e(t_{i−1}/τ) (SGD's gradient noise grows with the loss).
3. Predict: the other schedules' whole loss curves (WSD, the FSL-optimal schedule, and the true optimum of the
   exact recursion); report the relative prediction error along the curve and at the end.
4. Optimise: the fitted additive FSL is an `FSL(source=s, capacity=β, noise=c₂τ²/c₁, eta_max=η_max/τ)` in
   rescaled rates η/τ; its numerical optimum (Direct) is run on real SGD *without* retuning, against the tuned
   cosine and WSD and against the true optimum (Direct on the exact recursion).

Writes `results.json`, `agreement.md` (README rows) and `fsl_real_sgd.png` to --out.

    python problems/fsl_real_sgd.py           # M = 1000 modes, N = 10⁴ steps, 256 runs per schedule
    python problems/fsl_real_sgd.py --quick   # M = 200, N = 1000, 64 runs (a smoke run)
"""

import os
import platform
import time
from pathlib import Path

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import jax.numpy as jnp
import numpy as np

import lrcontrol as lrc
from lrcontrol import schedules
from lrcontrol.systems import FSL, RandomFeatures

PHASES = {"easy": dict(source=1.0, capacity=2.0), "hard": dict(source=0.25, capacity=2.0)}
NOISE = 0.5  # label-noise std σ


# --- real SGD ----------------------------------------------------------------------------------------------

def simulate(rates, source, capacity, modes, seeds, key, noise):
    """Monte Carlo one-pass SGD: (mean loss curve [N+1], its standard error [N+1]) over `seeds` runs."""
    k = jnp.arange(1, modes + 1, dtype=float)
    lam = k ** -capacity
    w_star = k ** ((capacity - (source * capacity + 1)) / 2)  # λ w*² = k^{−(sβ+1)}

    def loss(w):
        return jnp.sum(lam * (w - w_star) ** 2)

    def run(key):
        def step(w, inputs):
            eta, key = inputs
            kz, ke = jax.random.split(key)
            x = jnp.sqrt(lam) * jax.random.normal(kz, (modes,))
            y = x @ w_star + noise * jax.random.normal(ke)
            w = w + eta * (y - x @ w) * x
            return w, loss(w)

        keys = jax.random.split(key, rates.shape[0])
        w0 = jnp.zeros(modes)
        _, losses = jax.lax.scan(step, w0, (rates, keys))
        return jnp.concatenate([loss(w0)[None], losses])

    curves = jax.vmap(run)(jax.random.split(key, seeds))
    return curves.mean(0), curves.std(0, ddof=1) / np.sqrt(seeds)


_simulate = jax.jit(simulate, static_argnums=(3, 4))


# --- the FSL fit ---------------------------------------------------------------------------------------------

def fsl_features(rates, points, source, capacity, tau):
    """Columns [1, e(t_k/τ), Σ_{i≤k} η_i² K((t_k − t_i)/τ), Σ η_i² K(·) e(t_{i−1}/τ)] at the steps `points`."""
    rates = np.asarray(rates)
    t = np.concatenate([[0.0], np.cumsum(rates)])
    alpha = 2 - 1 / capacity
    cols = []
    for k in points:
        u = (t[k] - t[1:k + 1]) / tau
        kern = rates[:k] ** 2 * (1 + u) ** -alpha
        cols.append([1.0, (1 + t[k] / tau) ** -source, kern.sum(), (kern * (1 + t[:k] / tau) ** -source).sum()])
    return np.array(cols)


def fit(curves, points, source, capacity, multiplicative):
    """(coefficients, τ) minimising the relative squared error of the FSL on the given (rates, loss) curves."""
    ncol = 4 if multiplicative else 3

    def solve_at(log_tau):
        a = np.vstack([fsl_features(r, points, source, capacity, np.exp(log_tau))[:, :ncol] / y[points, None]
                       for r, y in curves])
        coef, *_ = np.linalg.lstsq(a, np.ones(a.shape[0]), rcond=None)
        return float(np.sum((a @ coef - 1) ** 2)), coef

    grid = np.linspace(np.log(1e-2), np.log(1e2), 81)
    best = grid[int(np.argmin([solve_at(g)[0] for g in grid]))]
    fine = np.linspace(best - 0.06, best + 0.06, 25)
    log_tau = fine[int(np.argmin([solve_at(g)[0] for g in fine]))]
    return solve_at(log_tau)[1], float(np.exp(log_tau))


def predict(rates, points, source, capacity, coef, tau):
    return fsl_features(rates, points, source, capacity, tau)[:, :coef.size] @ coef


# --- one phase -----------------------------------------------------------------------------------------------

def run_phase(name, source, capacity, modes, steps, seeds, key, cap=1.0, noise=NOISE):
    # The cap: SGD's stability edge (the FSL knows nothing about stability: its cap is a parameter, and in the
    # hard phase its optimum sits on it).
    rf = RandomFeatures(a=source * capacity + 1, b=capacity, modes=modes, noise=noise, batch=1.0)
    eta_max = cap * rf.stability_edge()
    problem = lrc.ControlProblem(rf, lrc.objectives.FinalLoss(), steps, bounds={"lr": (0.0, eta_max)})
    tuned = {"constant": schedules.tune_peak(problem, "constant"),
             "cosine": schedules.tune_peak(problem, "cosine"),
             "WSD (20% linear)": schedules.tune_peak(problem, "wsd", decay=0.2)}
    rates = {k: np.asarray(s.values) for k, (s, _) in tuned.items()}
    true_opt = lrc.solve(problem, progress=False)
    rates["true optimum"] = np.asarray(true_opt.controls[:, 0])

    points = np.unique(np.geomspace(1, steps, 60).astype(int))
    sims = {}
    for i, (label, r) in enumerate(rates.items()):
        sims[label] = _simulate(jnp.asarray(r), source, capacity, modes, seeds, jax.random.fold_in(key, i), noise)

    fits = {}
    for variant, mult in (("additive", False), ("multiplicative", True)):
        coef, tau = fit([(rates[s], np.asarray(sims[s][0])) for s in ("constant", "cosine")], points, source,
                        capacity, mult)
        fits[variant] = dict(coef=coef, tau=tau)

    coef, tau = fits["additive"]["coef"], fits["additive"]["tau"]
    fsl = FSL(source=source, capacity=capacity, noise=coef[2] * tau**2 / coef[1], eta_max=eta_max / tau)
    fsl_opt = lrc.solve(fsl.problem(steps), progress=False)  # rates η/τ ∈ [0, η_max/τ]
    rates["FSL optimum"] = tau * np.asarray(fsl_opt.controls[:, 0])
    sims["FSL optimum"] = _simulate(jnp.asarray(rates["FSL optimum"]), source, capacity, modes, seeds,
                                    jax.random.fold_in(key, 99), noise)

    out = dict(source=source, capacity=capacity, phase=fsl.phase(), eta_max=eta_max, a=source * capacity + 1, b=capacity,
               fits={v: dict(coef=f["coef"].tolist(), tau=f["tau"]) for v, f in fits.items()}, schedules={})
    for label, r in rates.items():
        exact = np.asarray(lrc.evaluate(problem, jnp.asarray(r)).loss)
        mean, se = (np.asarray(x) for x in sims[label])
        entry = dict(peak=float(r.max()), final_exact=float(exact[-1]), final_mc=float(mean[-1]),
                     final_mc_se=float(se[-1]),
                     mc_vs_exact_max_z=float(np.max(np.abs(mean[points] - exact[points]) / se[points])),
                     fitted_on=label in ("constant", "cosine"))
        for variant, f in fits.items():
            pred = predict(r, points, source, capacity, f["coef"], f["tau"])
            rel = np.abs(pred / mean[points] - 1)
            entry[f"{variant}_max_rel_error"] = float(rel.max())
            entry[f"{variant}_late_max_rel_error"] = float(rel[points >= steps // 10].max())
            entry[f"{variant}_final_rel_error"] = float(rel[-1])
        out["schedules"][label] = entry
        out["schedules"][label]["_curves"] = (mean, exact, r)
    return out


def agreement_rows(results: dict) -> str:
    """README rows from a results.json (also used to re-render rows of a run made elsewhere)."""
    rows = []
    cap = "η ≤ stability edge" if results["cap"] == 1 else f"η ≤ {results['cap']:g} × stability edge"
    for name, ph in results["phases"].items():
        predicted = [e for e in ph["schedules"].values() if not e["fitted_on"]]
        curve = max(e["multiplicative_max_rel_error"] for e in predicted)
        end = max(e["multiplicative_final_rel_error"] for e in predicted)
        rows.append(f"| FSL vs real SGD, {name} phase (s = {ph['source']:g}, β = {ph['capacity']:g}), "
                    f"M = {results['modes']}, N = {results['steps']}, {cap}; fit on constant + cosine | "
                    f"predicting WSD, FSL optimum, true optimum: final loss within {end:.1%}, whole curve "
                    f"{curve:.0%}; FSL optimum {ph['fsl_optimum_vs_best_tuned_baseline']:.3f}× the best tuned "
                    f"cosine/WSD, {ph['fsl_optimum_vs_true_optimum']:.3f}× the true optimum | "
                    f"`python problems/fsl_real_sgd.py{'' if results['cap'] == 1 else ' --cap ' + str(results['cap'])}` |")
    return "\n".join(rows) + "\n"


def main(argv=None):
    parser = arguments(__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--cap", type=float, default=1.0, help="η_max as a fraction of the stability edge")
    parser.add_argument("--noise", type=float, default=NOISE, help="label-noise std σ")
    parser.add_argument("--out", type=Path, default=None,
                        help="default problems/results/fsl_real_sgd (cap 1) or fsl_real_sgd_cap<cap>")
    args = parser.parse_args(argv)
    modes, steps, seeds = (200, 1000, 64) if args.quick else (1000, 10_000, 256)
    if args.out is None:
        folder = "fsl_real_sgd" if args.cap == 1 else f"fsl_real_sgd_cap{args.cap:g}"
        args.out = Path(__file__).parent / "results" / folder

    start = time.perf_counter()
    phases = {name: run_phase(name, p["source"], p["capacity"], modes, steps, seeds, jax.random.PRNGKey(i),
                            args.cap, args.noise)
              for i, (name, p) in enumerate(PHASES.items())}
    seconds = time.perf_counter() - start

    for name, ph in phases.items():
        print(f"{name} phase (s = {ph['source']}, β = {ph['capacity']}; FSL says {ph['phase']}): "
              f"τ = {ph['fits']['additive']['tau']:.3g}")
        best_baseline = min(ph["schedules"][k]["final_exact"] for k in ("cosine", "WSD (20% linear)"))
        for label, e in ph["schedules"].items():
            print(f"  {label:18s} peak {e['peak']:.3f}  final L exact {e['final_exact']:.5g}, SGD "
                  f"{e['final_mc']:.5g} ± {e['final_mc_se']:.2g} (max |z| {e['mc_vs_exact_max_z']:.1f})  "
                  f"FSL {'fit' if e['fitted_on'] else 'prediction'} error: additive max "
                  f"{e['additive_max_rel_error']:.1%} late {e['additive_late_max_rel_error']:.1%} end {e['additive_final_rel_error']:.1%}, multiplicative "
                  f"max {e['multiplicative_max_rel_error']:.1%} late {e['multiplicative_late_max_rel_error']:.1%} end {e['multiplicative_final_rel_error']:.1%}")
        f, t = ph["schedules"]["FSL optimum"], ph["schedules"]["true optimum"]
        ph["fsl_optimum_vs_best_tuned_baseline"] = f["final_exact"] / best_baseline
        ph["fsl_optimum_vs_true_optimum"] = f["final_exact"] / t["final_exact"]
        print(f"  FSL optimum / best tuned of cosine & WSD: {ph['fsl_optimum_vs_best_tuned_baseline']:.4f}; "
              f"/ true optimum: {ph['fsl_optimum_vs_true_optimum']:.4f}")
    print(f"{seconds:.0f} s")

    results_folder(args.out)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for col, (name, ph) in enumerate(phases.items()):
        f = ph["fits"]["multiplicative"]
        for label, e in ph["schedules"].items():
            mean, exact, r = e["_curves"]
            line, = axes[0, col].plot(np.arange(r.size), r, lw=1.2, label=label)
            k = np.arange(mean.size)
            axes[1, col].plot(k, mean, color=line.get_color(), lw=1.2, label=f"{label} (SGD)")
            pts = np.unique(np.geomspace(1, r.size, 40).astype(int))
            axes[1, col].plot(pts, predict(r, pts, ph["source"], ph["capacity"], np.asarray(f["coef"]), f["tau"]),
                              "o" if e["fitted_on"] else "x", color=line.get_color(), ms=3)
        axes[0, col].set(yscale="log", xlabel="step", ylabel="η", title=f"{name}: s = {ph['source']}, "
                         f"β = {ph['capacity']}")
        axes[1, col].set(xscale="log", yscale="log", xlabel="step", ylabel="loss (SGD mean; o fit, x predicted)")
        axes[0, col].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "fsl_real_sgd.png", dpi=120)
    for ph in phases.values():
        for e in ph["schedules"].values():
            e.pop("_curves")
    results = dict(machine=dict(cpus=os.cpu_count(), platform=platform.platform(), jax=jax.__version__,
                                device=str(jax.devices()[0].device_kind)),
                   modes=modes, steps=steps, seeds=seeds, noise=args.noise, cap=args.cap, seconds=seconds,
                   phases=phases)
    write_json(args.out / "results.json", results)
    (args.out / "agreement.md").write_text(agreement_rows(results))
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
