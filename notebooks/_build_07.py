"""Writes notebooks/07_loss_curve_laws.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 07 · From real loss curves to a schedule: loss-curve laws

A practitioner has loss curves, not a model of learning. A *loss-curve law* predicts the whole loss curve of any
learning-rate schedule from a few parameters fitted to two or three pilot runs; the toolkit then optimises the
schedule under the fitted law. This notebook uses the shipped 25M-parameter LLM pretraining curves of Luo et al.
("A Multi-Power Law for Loss Curve Prediction Across Learning Rate Schedules", ICLR 2025, arXiv 2503.12811; MIT
licence, `problems/data/mpl/`) and the results of `problems/loss_curve_laws.py` (every law fitted on 25M and
100M; minutes of work, so read here from `results.json`, not recomputed). It runs in seconds:

1. curves as data (`lrc.LossCurve`) and the multi-power law (MPL) with the published parameters on a held-out run;
2. the fitted laws against each other and against the published numbers — and why a tighter fit is not a better
   prediction here;
3. the schedule under the law: tuned baselines, the authors' optimised schedule, and an optimum at a short
   horizon, exported to optax, PyTorch `LambdaLR` and CSV."""),
    nbf.v4.new_code_cell("""import time
_start = time.perf_counter()
import json
from pathlib import Path
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import lrcontrol as lrc
from lrcontrol._fit import evaluate_law, fit_loss
from lrcontrol.systems.law_schedule import LawSchedule, baselines, describe

DATA = Path("problems/data/mpl/25")
RESULTS = Path("problems/results/loss_curve_laws/results.json")"""),
    nbf.v4.new_markdown_cell("""## 1 · Curves and the multi-power law

A `LossCurve` holds the rate of every update and the losses at the logged steps (here every 128). The MPL
predicts the loss after update $s$ as $L_0 + A\\,S_1(s)^{-\\alpha} - LD(s)$ with $S_1$ the summed rates and $LD$ a
loss drop driven by every decrease of the rate. With the published 25M parameters it predicts the held-out
WSD run (never used in the fit) to about 0.1 % (PredE = mean |L − L̂|/L)."""),
    nbf.v4.new_code_cell("""fit_names = ("cosine_24000", "constant_24000", "wsdcon_9")
fit_curves = [lrc.LossCurve.read(DATA / f"{n}.csv") for n in fit_names]
held = lrc.LossCurve.read(DATA / "wsd_20000_24000.csv")
published = lrc.systems.MultiPowerLaw(3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812,
                                      0.58279013, 0.64142257)
m = evaluate_law(published, [held])["wsd_20000_24000"]
print({k: (round(v, 6) if isinstance(v, float) else v) for k, v in m.items()})
print(f"fit loss of the published parameters on the fit split: {fit_loss(published, fit_curves):.3e}")
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
for c in fit_curves + [held]:
    pred = np.asarray(published.predict(jnp.asarray(c.lr), jnp.asarray(c.steps)))
    axes[0].plot(c.steps, c.losses, ".", ms=2)
    axes[0].plot(c.steps, pred, "-", lw=1, label=c.name)
    axes[1].plot(np.arange(c.horizon), c.lr, lw=1, label=c.name)
axes[0].set(xlabel="step", ylabel="loss", ylim=(3.2, 4.2), title="observed (dots) and MPL (published parameters)")
axes[0].legend(fontsize=7)
axes[1].set(xlabel="step", ylabel="lr", title="schedules")
plt.show()"""),
    nbf.v4.new_markdown_cell("""## 2 · The laws fitted from scratch (`lrc.fit`)

`lrc.fit(lrc.systems.MultiPowerLaw, fit_curves)` minimises the published loss — Huber (δ = 1e-3) on log
residuals over the fit split — from a grid of round-number starts (never the published values), by
Levenberg–Marquardt in float64. The table is read from `problems/loss_curve_laws.py`'s results: the fit loss on
the fit split and the mean held-out PredE over the six held-out runs. The FSL practical form appears twice:
`fsl_law` pairs each decrement with the intrinsic time T(i) (the formula as the issue writes it), `fsl_law_before`
with T(i − 1), under which the schedule solve converges; both rows are fits stopped at 200 steps, and fitted to
convergence the two predict alike (README: the pairing table, `problems/fsl_law_pairings.py`)."""),
    nbf.v4.new_code_cell("""results = json.loads(RESULTS.read_text())
print(f"{'model':6s} {'law':30s} {'fit loss':>10s} {'held-out PredE':>15s} {'optimum':>10s} {'best baseline':>14s}")
for size, entry in results["sizes"].items():
    for label, row in entry["laws"].items():
        sch = row.get("schedule", {})
        base = {k: v["final_loss"] for k, v in sch.get("baselines", {}).items() if k != "published optimised"}
        best = min(base.values()) if base else float("nan")
        pe = row["mean_PredE"] if row["mean_PredE"] is not None else float("nan")
        print(f"{size + 'M':6s} {label:30s} {row.get('fit_loss', float('nan')):10.3e} {pe:15.5f} "
              f"{sch.get('final_loss', float('nan')):10.6f} {best:14.6f}")"""),
    nbf.v4.new_markdown_cell("""**Reading the MPL rows.** The fit from scratch reaches a fit loss about half the published parameters' on
the same points and the same loss — the published values are not the minimum of the published objective (they
come from a short Adam run with early stopping; Levenberg–Marquardt started *at* the published values goes to the
same minimum as the fit from the grid). Yet its held-out PredE is worse than the published one: the tighter fit of
the three fit runs extrapolates less well to the held-out schedules (small β, large B and γ near 1 — a direction
the three fit schedules do not pin down). The fit objective alone does not identify the better predictor here; the
published numbers are reproduced exactly by the published parameters (section 1, and `tests/test_laws.py`)."""),
    nbf.v4.new_markdown_cell("""## 3 · The schedule under the law

`LawSchedule(law, warmup, peak, min_lr, monotone=True)` is a control problem over the rates after a fixed linear
warm-up, monotone through log-decrements. Under the published 25M parameters: tuned baselines (WSD with its decay
fraction tuned per cooldown shape), the authors' optimised schedule, and the optimum from the results file."""),
    nbf.v4.new_code_cell("""N, W, PEAK, MIN_LR = 24000, 2160, 3e-4, 1e-10
pub = np.concatenate([PEAK * np.arange(W) / (W - 1), np.load(DATA / "optimized_schedule.npy")])
base = baselines(published, N, W, PEAK, MIN_LR, extra={"published optimised": pub}, coarse=True)
rates = base.pop("_rates")
for name, b in sorted(base.items(), key=lambda kv: kv[1]["final_loss"]):
    print(f"{name:22s} {b['final_loss']:.6f}" + (f"  (decay fraction {b['fraction']:.3f})" if "fraction" in b else ""))
row = results["sizes"]["25"]["laws"]["mpl (published parameters)"]["schedule"]
print(f"optimum (results.json)  {row['final_loss']:.6f}, shape {row['shape']}")"""),
    nbf.v4.new_markdown_cell("""A full solve at N = 24000 is the benchmark's job (`benchmarks/mpl_schedule.py`). Here the same problem at a
twentieth of the horizon (N = 1200, warm-up 108) runs in seconds, started from the best tuned baseline (the solver
only descends, so the optimum cannot lose to it; `law_schedule.optimise` also tries a WSD start and keeps the
better end point). The solver's controls are log-decrements; `system.schedule(controls)` gives the rates, which
is what to export."""),
    nbf.v4.new_code_cell("""n, w = 1200, 108
system = LawSchedule(published, w, PEAK, MIN_LR, monotone=True)
short = baselines(published, n, w, PEAK, MIN_LR, coarse=True)
short_rates = short.pop("_rates")
best_name = min(short, key=lambda k: short[k]["final_loss"])
print("best tuned baseline:", best_name, short[best_name])
sol = lrc.solve(system.problem(n), lrc.solvers.Direct(), u0=system.controls_for(jnp.asarray(short_rates[best_name])),
                progress=False)
print(sol.diagnostics.message)
opt = np.asarray(system.rates(sol.controls))
print("optimum:", round(float(published.final_loss(jnp.asarray(opt))), 6), describe(opt, w, PEAK))
sched = system.schedule(sol.controls)
to_optax = sched.to_optax()                  # optax: count -> lr
multiplier = sched.to_torch_lambda()         # torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=multiplier), base lr = peak
assert all(abs(float(to_optax(k)) - opt[k]) <= 1e-12 * PEAK for k in (0, w, n // 2, n - 1))
assert all(abs(PEAK * multiplier(k) - opt[k]) <= 1e-12 * PEAK for k in (0, w, n // 2, n - 1))
print(sched.to_csv().splitlines()[:2])
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(opt, label="optimum under the law")
ax.plot(short_rates[best_name], "--", label=best_name)
ax.set(xlabel="step", ylabel="lr", title=f"N = {n}: optimal monotone schedule under the MPL")
ax.legend()
plt.show()
print(f"notebook ran in {time.perf_counter() - _start:.0f} s")"""),
    nbf.v4.new_markdown_cell("""## 4 · What training says, and a smooth optimum

At N = 24000 the optimum under the published parameters is a staircase: the peak held to 93 % of the run, then four
falls of most of the rate, each in one update (`law_staircase`; README). Trained on two small tasks
(`problems/staircase_training.py`: the digits MLP and the character-level transformer, paired seeds), the
staircase loses to the authors' smooth optimum and to WSD — the law's reward for abrupt falls is not what training
shows there. `LawSchedule(..., max_fall=f)` (`--set max_fall=f` on `lrcontrol solve mpl`) limits each update's fall
to the fraction f of the rate above the minimum; with f = 0.1 the optimum at N = 24000 is the smooth, WSD-like
cooldown the paper describes (the last 10 % of the run, exponent ≈ 1.6) and is still below the published schedule
under the law (`benchmarks/mpl_schedule.py`). A law fitted with a parameter on the edge of its range
(`FitReport.at_bounds`, a warning from `lrcontrol fit`) is at its limit: a schedule derived from it, especially at
a peak no pilot ran, is an extrapolation to check by training."""),
]

nb = nbf.v4.new_notebook()
nb["cells"] = cells
nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
write(nb, "notebooks/07_loss_curve_laws.ipynb")
