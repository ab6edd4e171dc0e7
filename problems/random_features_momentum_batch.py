"""Random features (Bordelon & Mori 2026): second controls. Momentum β_t jointly with η_t, and the batch
size m_t jointly with η_t under an exact data budget, each against the best η-schedule alone.

Momentum (`RandomFeaturesMomentum`, EMA: w' = w − ηv, v' = (1 − β)v + β·g(w')). For each horizon T: SGD's per-step
optimum (`RandomFeatures`, η ≤ 2, the preconditioned solve) and the best joint per-step (η_t, β_t) schedule found
(η ≤ 2, β ∈ [0, 1]; `momentum_case` says where each solve starts). Hard phase a = 1.75, b = 3 (and the same with
η ≤ 50); easy phase a = 2.5, b = 1.5; σ = 0.5, m = 1. Exponents of L_T against T (least squares over all T, and
between the two largest) against theory: SGD T^{−(a−1)/b} (hard) and T^{−(a−1)/a} (easy) [P, D]; momentum, hard:
≈ T^{−1.5(a−1)/b} from the authors' plots [P, C], easy: no exponent gain [P, C].

What a bound on η implies [D, our derivation]: for the mean of one mode under constant (η, β) the step matrix
[[1, −η], [βλ, 1 − β − βηλ]] has determinant 1 − β and, at critical damping (β ≈ 4ηλ for small ηλ), a decay
rate per step of ≈ 2ηλ; no β does better, against ηλ for SGD. So under η ≤ η_max momentum can rescale the slow
modes' intrinsic time only by a bounded factor (η_max = 2 against SGD's noise-limited plateau ≈ 0.6), which cannot
change the asymptotic exponent; the heavy-ball acceleration (rate ∝ √λ) needs η ≳ 1/√λ, an unbounded rate with
β ∝ 1/η. The η ≤ 50 rows let the solver use it (it does: η up to ≈ 18 with β ≈ 10⁻³ at T = 3000).

The joint landscape is non-convex and stiff (the hard-phase optimum runs in cycles: bursts at η = 2 with β ≈ 10⁻³
to 10⁻², then a reset): Direct stops at `max_steps` or when the objective stalls at round-off, before its gradient
tolerance. Each row says so; its loss is the best found, an upper bound on the joint optimum and never above SGD's.
Continuing from the previous horizon's optimum matters (hard, T = 3000: 0.1311 against 0.1396 from SGD's).

Batch (`RandomFeaturesBatch`, m_t = 1 + T(m̄ − 1)·softmax(z)_t, Σ_t m_t = T·m̄ exactly): the best η-schedule at the
constant batch m̄ against the joint (η_t, m_t) optimum from two starts with (to leading order) the same η/m: the
constant batch (z = 0, SGD's η), and the proposed ramp m(t) ∝ (1 − t/T)^{1/(2b)−1} [?] (at cell midpoints, scaled
to the budget) with η_t = η*_t·m_t/m̄. Reported: the gain, the batch schedule (does it grow towards the end? the
log-log slope of m against 1 − t/T over t/T ∈ [0.1, 0.9], against the proposed 1/(2b) − 1 [?]), the degeneracy (how
far the two solves' m_t and η_t/m_t are apart at nearly the same loss) and the flatness along the degenerate
direction (`tilt`).

Writes `results.json`, `agreement.md` (README rows) and `momentum_batch.png` to --out.

    python problems/random_features_momentum_batch.py --jobs 7   # T = 100…3000, 500 modes (6 min on 16 cores)
    python problems/random_features_momentum_batch.py --quick    # T = 50, 100, 200; 100 modes (~35 s, 2 cores)

Without --jobs the full run is sequential (~35 core-minutes: about 20 min on 2 free cores).
"""

import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import jax.numpy as jnp
import numpy as np

import lrcontrol as lrc
from lrcontrol.systems import RandomFeatures, RandomFeaturesBatch, RandomFeaturesMomentum

PHASES = {"hard": (1.75, 3.0), "easy": (2.5, 1.5)}
NOISE, ETA_MAX = 0.5, 2.0


def slope(x, y):
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _solve(problem, u0=None, max_steps=5000):
    t0 = time.perf_counter()
    sol = lrc.solve(problem, lrc.solvers.Direct(max_steps=max_steps), u0=u0, progress=False)
    d = sol.diagnostics
    return sol, {"objective": float(sol.objective), "converged": d.converged, "message": d.message,
                 "iterations": int(d.iterations), "seconds": time.perf_counter() - t0}


def sgd_optimum(a, b, modes, horizon, batch=1.0):
    """SGD's per-step optimum, η ≤ 2 (preconditioned Direct; its status is recorded, * in the table if not
    converged)."""
    problem = lrc.ControlProblem(RandomFeatures(a=a, b=b, modes=modes, noise=NOISE, batch=batch),
                                 lrc.objectives.FinalLoss(), horizon=horizon, bounds={"lr": (0.0, ETA_MAX)})
    return _solve(problem)


def momentum_case(phase, horizon, modes, eta_max=ETA_MAX, max_steps=3000, previous=None):
    """SGD's optimum and the joint (η, β) optimum for one phase and horizon.

    The joint solve continues from `previous` (a shorter horizon's joint row, interpolated in t/T): that start is
    often worse than SGD's optimum but lies in a better basin (hard phase, T = 3000, 2000 iterations: 0.1341 from
    T = 1000's optimum against 0.1411 from SGD's). Without `previous`, or if that solve ends above SGD's optimum,
    it starts from SGD's optimum with β ≡ 1 (a monotone solve: it never ends above SGD).
    """
    a, b = PHASES[phase]
    sgd, sgd_info = sgd_optimum(a, b, modes, horizon)
    problem = lrc.ControlProblem(RandomFeaturesMomentum(a=a, b=b, modes=modes, noise=NOISE),
                                 lrc.objectives.FinalLoss(), horizon=horizon,
                                 bounds={"lr": (0.0, eta_max), "momentum": (0.0, 1.0)})
    starts = {}
    if previous is not None:
        x, n = (np.arange(horizon) + 0.5) / horizon, previous["horizon"]
        old = (np.arange(n) + 0.5) / n
        starts[f"joint optimum at T = {n}"] = jnp.stack(
            [jnp.asarray(np.interp(x, old, previous["momentum"][k])) for k in ("eta", "beta")], 1)
    starts["SGD's optimum, β ≡ 1"] = jnp.stack([sgd.controls[:, 0], jnp.ones(horizon)], 1)
    for start, u0 in starts.items():
        joint, info = _solve(problem, u0, max_steps)
        if info["objective"] <= sgd_info["objective"]:
            break
    u = np.asarray(joint.controls)
    info.update(start=start, start_cost=float(problem.cost(starts[start])), eta=u[:, 0].tolist(),
                beta=u[:, 1].tolist(), min_beta=float(u[:, 1].min()),
                at_eta_max=float(np.mean(u[:, 0] >= eta_max * (1 - 1e-6))))
    return {"phase": phase, "horizon": horizon, "eta_max": eta_max, "modes": modes, "sgd": sgd_info,
            "sgd_eta": np.asarray(sgd.controls[:, 0]).tolist(), "sgd_max_eta": float(sgd.controls.max()),
            "momentum": info, "ratio": info["objective"] / sgd_info["objective"]}


def momentum_chain(phase, horizons, modes, eta_max=ETA_MAX, max_steps=3000):
    """`momentum_case` over increasing horizons, each continuing from the last."""
    rows = []
    for horizon in horizons:
        rows.append(momentum_case(phase, horizon, modes, eta_max, max_steps, rows[-1] if rows else None))
    return rows


def theory_ramp(system, horizon, b):
    """The proposed batch ramp m(t) ∝ (1 − t/T)^{1/(2b)−1} [?] at cell midpoints, m − 1 scaled to the budget."""
    x = (np.arange(horizon) + 0.5) / horizon
    shape = (1 - x) ** (1 / (2 * b) - 1)
    return 1 + horizon * (float(system.budget) - 1) * shape / shape.sum()


def batch_case(phase, horizon, modes, budget=4.0, max_steps=3000):
    """The best η at constant batch m̄ against the joint (η, m) optimum from two starts of equal η/m."""
    a, b = PHASES[phase]
    sgd, sgd_info = sgd_optimum(a, b, modes, horizon, batch=budget)
    system = RandomFeaturesBatch(a=a, b=b, modes=modes, noise=NOISE, budget=budget)
    problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=horizon,
                                 bounds={"lr": (0.0, ETA_MAX)})
    eta = np.asarray(sgd.controls[:, 0])
    ramp = theory_ramp(system, horizon, b)
    starts = {"constant batch": np.stack([eta, np.zeros(horizon)], 1),
              "proposed ramp": np.stack([np.clip(eta * ramp / budget, 0, ETA_MAX),
                                       np.asarray(system.batch_logits(ramp))], 1)}
    x = (np.arange(horizon) + 0.5) / horizon
    mid = (x >= 0.1) & (x <= 0.9)
    out = {"phase": phase, "horizon": horizon, "budget": budget, "modes": modes, "sgd": sgd_info,
           "theory_ramp_exponent": 1 / (2 * b) - 1, "solves": {}}
    for name, u0 in starts.items():
        start = float(problem.cost(jnp.asarray(u0)))
        sol, info = _solve(problem, jnp.asarray(u0), max_steps)
        u = np.asarray(sol.controls)
        m = np.asarray(system.batch_schedule(u[:, 1]))
        quarter = horizon // 4
        info.update(start_objective=start, eta=u[:, 0].tolist(), batch=m.tolist(),
                    budget_error=float(abs(m.sum() - horizon * budget) / (horizon * budget)),
                    gain=1 - info["objective"] / sgd_info["objective"],
                    last_over_first_quarter=float(m[-quarter:].mean() / m[:quarter].mean()),
                    ramp_slope=slope(1 - x[mid], m[mid]), peak_batch_at=float(x[np.argmax(m)]))
        out["solves"][name] = info
    out["tilt"] = tilt(problem, out["solves"]["constant batch"])
    s1, s2 = (out["solves"][k] for k in starts)
    m1, m2 = np.asarray(s1["batch"]), np.asarray(s2["batch"])
    r1, r2 = np.asarray(s1["eta"]) / m1, np.asarray(s2["eta"]) / m2
    rel_m, rel_r = np.abs(m1 - m2) / m1, np.abs(r1 - r2) / np.maximum(r1, 1e-300)
    out["degeneracy"] = {"objective_rel_diff": abs(s1["objective"] - s2["objective"]) / s1["objective"],
                         "batch_rel_diff": {"median": float(np.median(rel_m)), "max": float(rel_m.max())},
                         "eta_over_m_rel_diff": {"median": float(np.median(rel_r)), "max": float(rel_r.max())}}
    return out


def tilt(problem, solved, size=0.2):
    """How flat the joint optimum is along Bordelon & Mori's degenerate direction [P, D]. A step (η, m) is, to
    leading order in η, m steps (η/m, 1): only the per-sample rate as a function of the samples used, r(s) =
    η_t/m_t for s in [S_t, S_t + m_t), S_t = Σ_{u<t} m_u, matters. Tilt m_t − 1 by ±`size` along a linear ramp
    (renormalised to the budget) and either keep r(s) (η'_t = ∫ r over the new step's samples) or keep η_t.
    Relative loss increases."""
    system, T = problem.system, problem.steps
    eta, m = np.asarray(solved["eta"]), np.asarray(solved["batch"])
    x = (np.arange(T) + 0.5) / T
    knots = np.concatenate([[0.0], np.cumsum(m)])
    drift = np.concatenate([[0.0], np.cumsum(eta)])  # ∫ r(s) ds up to each knot
    out = {}
    for sign in (1, -1):
        tilted = (m - 1) * (1 + sign * size * (2 * x - 1))
        tilted = 1 + tilted * (m - 1).sum() / tilted.sum()
        same_rate = np.diff(np.interp(np.concatenate([[0.0], np.cumsum(tilted)]), knots, drift))
        for key, new_eta in (("per_sample_rate_held", np.clip(same_rate, 0, ETA_MAX)), ("eta_held", eta)):
            u = jnp.stack([jnp.asarray(new_eta), system.batch_logits(tilted)], 1)
            out.setdefault(key, []).append(float(problem.cost(u)) / solved["objective"] - 1)
    return {k: max(v) for k, v in out.items()}


def _run(task):
    kind, kwargs = task
    return (momentum_chain if kind == "momentum" else batch_case)(**kwargs)


def tasks(horizons, modes, batch_horizons, momentum_steps, batch_steps, high_bound):
    """Independent jobs: one momentum chain per phase (and bound), one batch case per phase and horizon."""
    out = [("momentum", dict(phase=p, horizons=horizons, modes=modes, max_steps=momentum_steps)) for p in PHASES]
    if high_bound:
        out.append(("momentum", dict(phase="hard", horizons=horizons, modes=modes, eta_max=50.0,
                                     max_steps=momentum_steps)))
    out += [("batch", dict(phase=p, horizon=T, modes=modes, max_steps=batch_steps))
            for p in PHASES for T in batch_horizons]
    return out


def exponents(rows):
    """Fitted loss exponents (−slope of log L*_T against log T) for SGD and momentum, all T and the last two."""
    T = np.array([r["horizon"] for r in rows])
    out = {}
    for key, get in (("sgd", lambda r: r["sgd"]["objective"]), ("momentum", lambda r: r["momentum"]["objective"])):
        L = np.array([get(r) for r in rows])
        out[key] = {"all": -slope(T, L), "last_two": -slope(T[-2:], L[-2:])}
    return out


def theory(phase):
    a, b = PHASES[phase]
    sgd = (a - 1) / b if a < b else (a - 1) / a
    return {"sgd": sgd, "momentum": 1.5 * (a - 1) / b if a < b else sgd}


def compact(results):
    """results for the JSON file: schedules kept for the largest horizon of each momentum chain (the figure's),
    every number to 6 significant digits."""
    def trim(obj, keep=True):
        if isinstance(obj, dict):
            return {k: trim(v, keep) for k, v in obj.items()
                    if keep or k not in ("eta", "beta", "sgd_eta")}
        if isinstance(obj, list):
            return [trim(v, keep) for v in obj]
        return float(f"{obj:.6g}") if isinstance(obj, float) else obj

    out = trim({k: v for k, v in results.items() if k != "momentum"})
    out["momentum"] = {key: {**trim({k: v for k, v in group.items() if k != "rows"}),
                             "rows": [trim(r, i == len(group["rows"]) - 1) for i, r in enumerate(group["rows"])]}
                       for key, group in results["momentum"].items()}
    return out


def _relative(x):
    return f"{x:.1e}" if x < 1 else "> 1 (unstable)"


def write_outputs(results, out: Path):
    rows = ["| case | T | SGD L*_T | joint (η, β) L_T | ratio | min β | steps at η_max | joint solve (start) |",
            "|---|---|---|---|---|---|---|---|"]
    for key, group in results["momentum"].items():
        for r in group["rows"]:
            m = r["momentum"]
            begin = "SGD" if m["start"].startswith("SGD") else "T = " + m["start"].rsplit(" ", 1)[-1]
            status = "converged" if m["converged"] else ("max_steps" if "max_steps" in m["message"] else "stalled")
            star = "" if r["sgd"]["converged"] else "*"
            rows.append(f"| {key} | {r['horizon']} | {r['sgd']['objective']:.5f}{star} | {m['objective']:.5f} | "
                        f"{r['ratio']:.3f} | {m['min_beta']:.3f} | {100 * m['at_eta_max']:.0f}% | "
                        f"{status}, {m['iterations']} it (from {begin}) |")
    rows += ["", "| case | fitted exponent SGD (all T / last two) | momentum (all T / last two) | theory SGD | "
                 "theory momentum |", "|---|---|---|---|---|"]
    for key, group in results["momentum"].items():
        e, t = group["exponents"], group["theory"]
        rows.append(f"| {key} | {e['sgd']['all']:.3f} / {e['sgd']['last_two']:.3f} | {e['momentum']['all']:.3f} / "
                    f"{e['momentum']['last_two']:.3f} | {t['sgd']:.3f} | {t['momentum']:.3f} |")
    rows += ["", "| batch, m̄ = 4 | T | constant m̄ L*_T | joint from constant | from proposed ramp | gain | "
                 "m last/first quarter | slope of m vs 1 − t/T ([?]) | ΔL/L | rel. diff m, median (max) | "
                 "rel. diff η/m, median (max) | ±20% tilt of m: ΔL/L at fixed per-sample rate, at fixed η |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["batch"]:
        key = r["phase"]
        s1, s2, d = r["solves"]["constant batch"], r["solves"]["proposed ramp"], r["degeneracy"]
        star = "" if r["sgd"]["converged"] else "*"
        rows.append(f"| {key} | {r['horizon']} | {r['sgd']['objective']:.6f}{star} | {s1['objective']:.6f} | "
                    f"{s2['objective']:.6f} | {100 * s1['gain']:.2f}% / {100 * s2['gain']:.2f}% | "
                    f"{s1['last_over_first_quarter']:.2f} / {s2['last_over_first_quarter']:.2f} | "
                    f"{s1['ramp_slope']:.2f} / {s2['ramp_slope']:.2f} ({r['theory_ramp_exponent']:.2f}) | "
                    f"{d['objective_rel_diff']:.1e} | "
                    f"{d['batch_rel_diff']['median']:.2f} ({d['batch_rel_diff']['max']:.2f}) | "
                    f"{d['eta_over_m_rel_diff']['median']:.2f} ({d['eta_over_m_rel_diff']['max']:.2f}) | "
                    f"{_relative(r['tilt']['per_sample_rate_held'])}, {_relative(r['tilt']['eta_held'])} |")
    p = results["settings"]
    rows += ["", f"{p['modes']} modes, σ = 0.5, m = 1 (momentum), η ≤ 2 unless stated, per-step controls. Joint "
             "momentum solves continue from the previous horizon's joint optimum (from SGD's optimum with "
             "β ≡ 1 at the first horizon, or if the continuation ends above SGD); batch solves from SGD's "
             "optimum at m̄ (logits 0) or the proposed ramp with the same η/m. They stop at "
             f"{p['momentum_steps']} (momentum) / {p['batch_steps']} (batch) iterations or when the objective "
             "stalls at round-off, short of the gradient tolerance: the landscape is non-convex, so joint losses "
             "are the best found, upper bounds on the joint optimum (* an SGD solve that also stalled at "
             "round-off). "
             "Theory momentum exponent: read off the authors' plots [P, C]; under a bound on η, momentum can only "
             "rescale the slow modes' time by a bounded factor [D] (module docstring). Batch: same data T·m̄ and "
             "steps; the ramp exponent 1/(2b) − 1 is unverified [?]; the tilt is the degenerate direction (same "
             "per-sample rate as a function of samples used) against a plain tilt at fixed η. "
             f"Computed with JAX {jax.__version__} (CPU) on a {os.cpu_count()}-core machine."]
    (out / "agreement.md").write_text("\n".join(rows) + "\n")
    figure(results).savefig(out / "momentum_batch.png", dpi=90)
    write_json(out / "results.json", compact(results), indent=None, separators=(",", ":"))
    return rows


def figure(results):
    fig, axes = plt.subplots(2, 3, figsize=(17, 9))
    ax = axes[0, 0]
    for key, group in results["momentum"].items():
        T = [r["horizon"] for r in group["rows"]]
        ax.loglog(T, [r["momentum"]["objective"] for r in group["rows"]], "o-", label=f"joint (η, β), {key}")
        if "η ≤ 50" not in key:
            ax.loglog(T, [r["sgd"]["objective"] for r in group["rows"]], "s--", label=f"SGD, {key}")
    ax.set(xlabel="T", ylabel="L_T", title="best L_T found")
    ax.legend(fontsize=7)
    for ax, key in zip(axes[0, 1:], [k for k in results["momentum"] if "η ≤ 50" not in k]):
        r = results["momentum"][key]["rows"][-1]
        ax.semilogy(r["momentum"]["eta"], label="η (joint)")
        ax.semilogy(r["momentum"]["beta"], label="β (joint)")
        ax.semilogy(r["sgd_eta"], "k--", lw=1, label="η (SGD alone)")
        ax.set(xlabel="step t", title=f"{key}, T = {r['horizon']}: ratio {r['ratio']:.3f}")
        ax.legend(fontsize=7)
    last = {r["phase"]: r for r in results["batch"]}  # the largest horizon of each phase
    for ax, (key, r) in zip(axes[1, :2], last.items()):
        T = r["horizon"]
        x = (np.arange(T) + 0.5) / T
        for name, s in r["solves"].items():
            ax.plot(x, s["batch"], label=f"m_t from {name} (L = {s['objective']:.5g})")
            ax.plot(x, np.asarray(s["eta"]) / np.asarray(s["batch"]) * r["budget"] / max(
                np.asarray(s["eta"]) / np.asarray(s["batch"])), ":", lw=1, label=f"η/m (scaled), {name}")
        a, b = PHASES[key]
        shape = (1 - x) ** (1 / (2 * b) - 1)
        ax.plot(x, 1 + T * (r["budget"] - 1) * shape / shape.sum(), "k--", lw=1, label="proposed ramp [?]")
        ax.set(xlabel="t/T", ylabel="batch m_t", ylim=(0, 4 * r["budget"]),
               title=f"batch, {key}, m̄ = {r['budget']:g}, T = {T}: constant m̄ {r['sgd']['objective']:.5g}")
        ax.legend(fontsize=7)
    ax = axes[1, 2]
    for key, group in results["momentum"].items():
        ax.semilogx([r["horizon"] for r in group["rows"]], [r["ratio"] for r in group["rows"]], "o-", label=key)
    ax.axhline(1, color="k", lw=0.5)
    ax.set(xlabel="T", ylabel="L_T joint (η, β) / L*_T SGD", title="momentum gain")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/random_features_momentum_batch")
    ap.add_argument("--quick", action="store_true", help="T = 50, 100, 200 and 100 modes (about a minute)")
    ap.add_argument("--jobs", type=int, default=1, help="solves run in parallel processes (default 1)")
    args = ap.parse_args()
    out = results_folder(args.out)
    if args.quick:
        settings = dict(horizons=(50, 100, 200), modes=100, batch_horizons=(100,), momentum_steps=300,
                        batch_steps=500, high_bound=False)
    else:
        settings = dict(horizons=(100, 300, 1000, 3000), modes=500, batch_horizons=(300, 1000),
                        momentum_steps=3000, batch_steps=3000, high_bound=True)
    todo = tasks(**settings)
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            done = list(pool.map(_run, todo))
    else:
        done = [_run(t) for t in todo]
    results = {"settings": settings, "momentum": {}, "batch": []}
    for (kind, kw), r in zip(todo, done):
        if kind == "batch":
            results["batch"].append(r)
            continue
        key = kw["phase"] + (" (η ≤ 50)" if kw.get("eta_max", ETA_MAX) != ETA_MAX else "")
        results["momentum"][key] = {"rows": r, "theory": theory(kw["phase"])}
    for group in results["momentum"].values():
        group["exponents"] = exponents(group["rows"])
    for line in write_outputs(results, out):
        print(line)


if __name__ == "__main__":
    main()
