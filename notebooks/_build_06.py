"""Writes notebooks/06_schedules.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 06 · Window functions, linear decay, refinement, Chebyshev steps — and a training run

Three results about the *shape* of a learning-rate schedule, each checked here on real numbers:

1. **Window functions** (Somefun): a multiplier $F(t)$ with three-stage constraints on the time-normalised relative
   rate $\\bar\\gamma(t) = (1 - F(t))/(t F(t))$ — which of the note's schedules comply, and where the others fail.
2. **Linear decay and refinement** (Defazio, Cutkosky, Mehta, Mishchenko): the convex last-iterate bound is
   minimised by linear decay when only a bound on the gradient norms is known, and by the *refined* schedule
   $\\eta_t \\propto w_t\\sum_{p>t} w_p$, $w_t = \\hat g_t^{-2}$, when the norms of a previous run are known.
3. **Chebyshev steps**: gradient descent on a quadratic with spectrum in $[m, L]$ has a true analytic minimax
   schedule, whose inverse steps are a raised cosine.

Then a schedule leaves the toolkit: `Schedule.to_optax()` drives an optax SGD run of a small MLP on
scikit-learn's digits — the paper's workflow (constant-rate pilot run → gradient norms → `refine`) against optax's
cosine decay with the same peak grid — plus `to_torch_lambda()` and a CSV round trip. Defazio et al. (2023, arXiv
2310.07831) and Somefun; the full experiments are `problems/window_compliance.py`, `problems/last_iterate_refine.py`
and `problems/quadratic_chebyshev.py`."""),
    nbf.v4.new_code_cell("""import time
_start = time.perf_counter()
import tempfile
from pathlib import Path
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import lrcontrol as lrc
from lrcontrol import analysis, schedules
from lrcontrol.systems import LastIterateBound, Quadratic"""),
    nbf.v4.new_markdown_cell("""## 1 · Window functions and the γ̄ compliance check

$\\eta_t = \\text{peak}\\cdot F(t/\\tau)$ on $\\tau$ steps. The three stages (`lrc.analysis.compliance`): **early**
$F \\ge \\tfrac12$ for $t \\le \\tau/2$; **late** $F(\\tau-1) \\le 1/\\tau$ ($\\bar\\gamma \\ge 1$ at the end);
**smooth**: on $\\tau/2 \\le t \\le \\tau-1$, $\\bar\\gamma$ rises with no sharp transition. The note states the third
only qualitatively; the toolkit's number is the sharpness $S = -d\\ln\\bar\\gamma/d\\ln(\\tau - t)$, the exponent with
which $\\bar\\gamma$ grows as the remaining time shrinks, required to lie in $[0, 10]$ (linear decay: $S \\equiv 1$,
the gentlest rise the first two stages allow; the reasoning behind 10 is in `lrcontrol/_compliance.py`).
The note's schedules: cosine, linear, P2 $= (1 - x^{1.8})^2$, S4 (logistic, slope 4) comply; E0.05 (β-exponential,
β = 0.05) and S40 (logistic, slope 40) do not."""),
    nbf.v4.new_code_cell("""tau = 1000
note = {"cosine": ("cosine", {}), "linear": ("linear", {}), "P2": ("polynomial", {"i": 1.8, "n": 2}),
        "S4": ("logistic", {"i": 4}), "E0.05": ("exponential", {"beta": 0.05}), "S40": ("logistic", {"i": 40})}
verdicts = {}
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
x = np.arange(tau) / tau
for k, (name, (family, params)) in enumerate(note.items()):
    sched = schedules.window(family, tau, **params)
    c = analysis.compliance(sched)
    verdicts[name] = c
    where = c.first_violation()
    print(f"{name:7s} {'compliant' if c.passed else 'VIOLATES ' + ', '.join(c.failed_stages):18s}"
          + ("" if where is None else
             f" first violation: {where[0]} stage at t = {where[1]} (x = {where[1] / tau:.3f})")
          + f";  F(τ/2) = {float(sched.values[tau // 2]):.4f}, τF(τ−1) = {c.late_value * tau:.3g}, "
          f"max S = {c.sharpness_max:.3g} at x = {c.sharpness_argmax / tau:.3f}")
    style = "-" if c.passed else "--"
    g = analysis.gamma_bar(sched)
    ts, s = analysis.sharpness(sched)
    axes[0].plot(x, np.asarray(sched.values), style, color=f"C{k}", label=name)
    axes[1].semilogy(x[1:], tau * g[1:], style, color=f"C{k}", label=name)
    axes[2].plot(ts / tau, s, style, color=f"C{k}", label=name)
    if where is not None:  # mark the first violation
        t0 = where[1]
        axes[0].plot(x[t0], float(sched.values[t0]), "x", color=f"C{k}", ms=10, mew=2)
        axes[1].plot(x[t0], tau * g[t0], "x", color=f"C{k}", ms=10, mew=2)
print()
print(verdicts["S40"])
axes[0].axhline(0.5, color="k", lw=0.6, ls=":"); axes[0].axvline(0.5, color="k", lw=0.6, ls=":")
axes[0].set(xlabel="x = t/τ", ylabel="F", title=f"windows, τ = {tau} (dashed: violating, × first violation)")
axes[0].legend(fontsize=8)
axes[1].axhline(tau, color="k", lw=0.6, ls=":"); axes[1].axhline(2.0, color="grey", lw=0.6, ls=":")
axes[1].set(xlabel="x = t/τ", ylabel="τ·γ̄", ylim=(1e-2, 1e8),
            title="τγ̄: ≤ 2 at τ/2 (early), ≥ τ at the end (late)")
axes[2].axhline(verdicts["linear"].max_sharpness, color="r", lw=0.8, ls=":")
axes[2].set(xlabel="x = t/τ", ylabel="S", ylim=(0, 30), title="mid-to-late sharpness S (threshold 10)")
fig.tight_layout()
assert all(verdicts[n].passed for n in ("cosine", "linear", "P2", "S4"))
assert verdicts["E0.05"].failed_stages == ["early"] and verdicts["S40"].failed_stages == ["smooth"]
assert verdicts["S40"].smooth_reason == "too sharp" and verdicts["S40"].smooth_first == tau // 2"""),
    nbf.v4.new_markdown_cell("""E0.05 collapses early ($F(\\tau/2) = \\sqrt\\beta/(1 + \\sqrt\\beta) = 0.183$,
below ½ from $x = 0.216$ on) but its $\\bar\\gamma$ rises gently; S40 is flat, then drops from 0.9 to 0.1 within
$\\Delta x = 0.08$ around the middle: $S = 26.7$ there, against ≈ 2 for every compliant window. In the note
both lose in training (GPT-2 30M on Shakespeare: test loss 0.159–0.164 for the compliant schedules, 0.178 for
E0.05, 0.262 for S40).

## 2 · Linear decay from the last-iterate bound

`LastIterateBound` is the weighted last-iterate bound on $E[f(x_T) - f^*]$ for convex $f$ with $\\|g_t\\| \\le G_t$,
written as a function of the SGD steps (the best weights for given steps are found inside). `lrc.solve` minimises
it numerically, knowing nothing of the closed form. With constant norms the optimum must be linear decay
$\\eta_t = (D/(G\\sqrt T))(1 - t/T)$ with value $DG/\\sqrt T$ (tolerances as in `tests/test_refine.py`)."""),
    nbf.v4.new_code_cell("""T = 60  # norms per run; the bound's problem has T − 1 steps
solver = lrc.solvers.Direct(rtol=1e-6)  # above the bound's round-off floor (tests/test_refine.py)
STALLED = "not converged: objective stalled at round-off"

def solve_bound(system):  # the same u0 shape every time: one compiled solve for this whole section
    return lrc.solve(system.problem(), solver, u0=jnp.full((system.steps, 1), 0.05), progress=False)

flat = solve_bound(LastIterateBound(distance=1.0, gradient_bound=1.0, horizon=T - 1))
u = np.asarray(flat.controls[:, 0])
t = np.arange(1, T)
linear = (1 - t / T) / np.sqrt(T)
dev = np.max(np.abs(u - linear)) / linear.max()
print(f"{flat.diagnostics.message} ({int(flat.diagnostics.iterations)} iterations)")
print(f"max |numeric − linear decay| = {dev:.1e} of the peak; bound {float(flat.objective):.15f} vs DG/√T = "
      f"{1 / np.sqrt(T):.15f}")
assert flat.diagnostics.converged and dev < 1e-7 and abs(float(flat.objective) - 1 / np.sqrt(T)) < 1e-12"""),
    nbf.v4.new_markdown_cell("""**Refinement.** Given the gradient norms of a previous run of the same length,
`lrc.schedules.refine` median-filters them (10% of the run), sets $w_t = \\hat g_t^{-2}$ and returns
$\\eta_t \\propto w_t\\sum_{p>t}w_p$ — by Cauchy–Schwarz the exact optimum of the same bound with
$G_t = \\hat g_t$. A synthetic norm curve with large early norms (×5 at the start, decaying over ~6 steps, 10%
multiplicative noise): a warm-up emerges by itself. The check: `refine` against `lrc.solve` on `LastIterateBound`
with the smoothed norms (closed form vs numeric; the same compiled solve as above). Uniform weights — linear
decay — give the bound $D\\sqrt{\\sum G_t^2}/T$ instead of $D/\\sqrt{\\sum G_t^{-2}}$."""),
    nbf.v4.new_code_cell("""steps = np.arange(T)
norms = (1 + 4 * np.exp(-steps / 6.0)) * np.exp(0.1 * np.random.default_rng(0).standard_normal(T))
refined = schedules.refine(norms)  # peak 1
smooth, floored = schedules.smoothed_norms(norms)
num = solve_bound(LastIterateBound(smooth))
un = np.asarray(num.controls[:, 0])
r = np.asarray(refined.values)
gap = np.max(np.abs(un / un.max() - r[:-1] / r.max()))
closed = 1 / np.sqrt(np.sum(smooth**-2.0))
uniform = float(lrc.systems.last_iterate.bound_of_weights(np.ones(T), smooth))
print(f"{num.diagnostics.message} ({int(num.diagnostics.iterations)} iterations, compile "
      f"{num.diagnostics.compile_time:.2f} s: reused)")
print(f"max |numeric − refine| = {gap:.1e} of the peak; bound {float(num.objective):.12f} vs closed form "
      f"{closed:.12f}")
print(f"warm-up: η_0 = {r[0]:.3f}·peak, peak at step {int(np.argmax(r))} of {T}; the bound with uniform weights "
      f"(linear decay) is {uniform / closed:.2f}× the refined optimum")
settled = num.diagnostics.converged or num.diagnostics.message.startswith(STALLED)
assert settled and gap < 1e-6 and abs(float(num.objective) / closed - 1) < 1e-12 and r[-1] == 0.0
assert 5 < int(np.argmax(r)) < T // 2 and r[0] < 0.3  # a warm-up, then a decay
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(t, u, lw=3, alpha=0.5, label="lrc.solve, constant norms")
axes[0].plot(t, linear, "k--", lw=1, label="(D/(G√T))(1 − t/T)")
axes[0].set(xlabel="step t", ylabel="η_t", title=f"constant norms, T = {T}"); axes[0].legend(fontsize=8)
axes[1].plot(steps, norms / norms.max(), color="grey", lw=0.7, label="norms / max")
axes[1].plot(steps, smooth / norms.max(), color="grey", lw=1.5, label="median-filtered")
axes[1].plot(steps, r, lw=3, alpha=0.5, label="refine (closed form)")
axes[1].plot(t - 1, un / un.max(), "k--", lw=1, label="lrc.solve on the bound")
axes[1].set(xlabel="step", ylabel="η / peak", title="large early norms → warm-up")
axes[1].legend(fontsize=8);"""),
    nbf.v4.new_markdown_cell("""## 3 · Chebyshev steps: a true analytic optimum

Gradient descent on a quadratic with spectrum in $[m, L]$ for $T$ steps: the worst-case error factor
$\\max_{\\lambda}|\\prod_k(1 - \\alpha_k\\lambda)|$ is minimised by $\\alpha_k = 1/\\lambda_k$ at the roots of the
shifted Chebyshev polynomial, factor $2r^T/(1 + r^{2T})$, $r = (\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1)$.
`lrc.minimax(quad, T)` finds the steps numerically without the closed form (smooth surrogate of the max solved by
`lrc.solve` with continuation in its sharpness, then Remez exchange). Worked check $m = 1$, $L = 50$, $T = 10$:
0.1155881, against 0.670 for the best constant step $2/(L+m)$. The inverse steps, sorted, are a raised cosine with
floor $1/\\kappa$: $\\lambda_k = L[1/\\kappa + (1 - 1/\\kappa)\\cos^2(\\pi x_k/2)]$, $x_k = (2k-1)/(2T)$ — the
window family of section 1 with a floor."""),
    nbf.v4.new_code_cell("""quad = Quadratic(1.0, 50.0)
mm = lrc.minimax(quad, 10)
exact = quad.chebyshev_factor(10)
step_err = np.max(np.abs(mm.steps - np.sort(quad.chebyshev_steps(10)))) / mm.steps.max()
constant = quad.worst_case_factor(np.full(10, quad.constant_step()))
print(f"numerical minimax factor {mm.factor:.10f}, closed form {exact:.10f} "
      f"(rel. error {abs(mm.factor / exact - 1):.1e}); steps within {step_err:.1e} of the largest; "
      f"{mm.exchanges} Remez exchanges")
print(f"best constant step 2/(L+m): {constant:.4f};  surrogate stages (q: factor): "
      + ", ".join(f"{s['sharpness']:g}: {s['factor']:.7f}" for s in mm.stages))
assert abs(mm.factor - 0.1155881) < 5e-8 and abs(mm.factor / exact - 1) <= 1e-5 and step_err <= 1e-5
assert mm.converged and abs(constant - 0.670) < 5e-4
xk = (2 * np.arange(1, 11) - 1) / 20
xs = np.linspace(0, 1, 200)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(xk, np.sort(1 / mm.steps)[::-1] / 50, "o", label="numerical minimax, 1/(α_k L) sorted")
axes[0].plot(xs, 1 / 50 + (1 - 1 / 50) * np.cos(np.pi * xs / 2) ** 2, "k-", lw=0.8,
             label="1/κ + (1 − 1/κ)cos²(πx/2)")
axes[0].set(xlabel="x_k = (2k − 1)/(2T)", ylabel="inverse step / L", title="inverse steps: a raised cosine")
axes[0].legend(fontsize=8)
lam = np.linspace(1, 50, 2000)
for label, a in [("minimax steps", mm.steps), ("constant 2/(L+m)", np.full(10, quad.constant_step()))]:
    axes[1].plot(lam, np.prod(1 - a[:, None] * lam[None, :], axis=0), label=label)
axes[1].axhline(exact, color="k", lw=0.6, ls=":"); axes[1].axhline(-exact, color="k", lw=0.6, ls=":")
axes[1].set(xlabel="λ", ylabel="p(λ) = Π(1 − α_k λ)", ylim=(-0.8, 0.8), title="equioscillation at ±0.1156")
axes[1].legend(fontsize=8);"""),
    nbf.v4.new_markdown_cell("""## 4 · Export, and a real training run

A one-hidden-layer tanh MLP (32 units, `lrc.systems.MLP`) on scikit-learn's 8×8 digits (`MLP.digits`: 1797 images,
shuffled and split 1000 train / 397 validation / 400 test), minibatch SGD (batch 64, 400 steps), the training loop
one `lax.scan` under `jit`. The paper's workflow: a **pilot run** at a constant rate records the minibatch gradient
norms; `refine` turns them into a schedule, exported with `Schedule.to_optax(peak=…)`. Against it: optax's
`cosine_decay_schedule` and linear decay (`lrc.schedules.linear(…).to_optax()`).
Each schedule's peak is chosen from the **same grid** by the validation loss (mean over 3 seeds: initialisation and
minibatch order); the table reports train and test at that peak.

optax calls a schedule with the step count; every schedule below is such a function. Evaluating it on
$0 \\dots 399$ beforehand gives exactly the rates optax would ask for, and lets one compiled training loop serve every
schedule, peak and seed (checked against direct calls)."""),
    nbf.v4.new_code_cell("""STEPS, BATCH, HIDDEN, SEEDS = 400, 64, 32, (0, 1, 2)
PEAKS = (2.0, 4.0, 8.0, 16.0)
full = lrc.systems.MLP.digits(hidden=HIDDEN)  # pixels in [0, 1], centred per feature
order = np.random.default_rng(0).permutation(full.inputs.shape[0])
split = {"train": order[:1000], "val": order[1000:1397], "test": order[1397:]}
x_all, y_all = np.asarray(full.inputs), np.asarray(full.labels)  # split in numpy (no per-shape gathers to compile)
data = {k: (jnp.asarray(x_all[i]), jnp.asarray(y_all[i])) for k, i in split.items()}
init = {s: lrc.systems.MLP(*data["train"], hidden=HIDDEN, seed=s).initial_state() for s in SEEDS}  # N(0, 1/fan-in)

def cross_entropy(params, x, y):
    logp = jax.nn.log_softmax(full.logits(params, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

def accuracy(params, x, y):
    return jnp.mean(jnp.argmax(full.logits(params, x), axis=1) == y)

@jax.jit
def train(params, key, rates):
    \"\"\"SGD for STEPS minibatch steps at rates[count]; returns the final metrics and the gradient norms.\"\"\"
    opt = optax.sgd(lambda count: rates[count])
    x, y = data["train"]
    batches = jax.random.randint(key, (STEPS, BATCH), 0, x.shape[0])
    def step(carry, idx):
        params, state = carry
        grads = jax.grad(cross_entropy)(params, x[idx], y[idx])
        updates, state = opt.update(grads, state, params)
        grad_norm = jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(grads)))
        return (optax.apply_updates(params, updates), state), grad_norm
    (params, _), grad_norms = jax.lax.scan(step, (params, opt.init(params)), batches)
    metrics = {f"{k} {m.__name__}": m(params, *data[k]) for k in data for m in (cross_entropy, accuracy)}
    return metrics, grad_norms

def tabulate(schedule_fn):  # float64 numpy: the same argument type for every call of `train`, one compile
    return np.asarray(jax.vmap(schedule_fn)(jnp.arange(STEPS)), dtype=np.float64)

PILOT = PEAKS[0]  # pilot: constant rate (the grid's smallest), seed 0; its gradient norms are refine's input
pilot, pilot_norms = jax.device_get(train(init[0], jax.random.PRNGKey(0), np.full(STEPS, PILOT)))
print(f"pilot run (constant {PILOT:g}, one seed): train loss {pilot['train cross_entropy']:.4f}, "
      f"validation {pilot['val cross_entropy']:.4f}, test {pilot['test cross_entropy']:.4f}")
shape = schedules.refine(pilot_norms)  # median filter over 10% of the run, SGD weights ĝ^-2, peak 1
print(f"pilot gradient norms: {pilot_norms[:10].mean():.2f} (first 10 steps) → {pilot_norms[-40:].mean():.3f} "
      f"(last 40); refined schedule peaks at step {int(np.argmax(shape.values))}, η_0 = "
      f"{float(shape.values[0]):.3f}·peak")
families = {"optax cosine": lambda p: optax.cosine_decay_schedule(p, STEPS),
            "refine (to_optax)": lambda p: shape.to_optax(STEPS, peak=p),
            "linear (to_optax)": lambda p: schedules.linear(p, STEPS).to_optax()}
fn = families["refine (to_optax)"](2.0)
assert all(tabulate(fn)[k] == float(fn(k)) for k in (0, 17, STEPS - 1))  # the table is what optax calls"""),
    nbf.v4.new_code_cell("""results = {}  # family -> peak -> {metric: (mean, std) over seeds}
for name, family in families.items():
    results[name] = {}
    for peak in PEAKS:
        rates = tabulate(family(peak))
        runs = [jax.device_get(train(init[s], jax.random.PRNGKey(s), rates)[0]) for s in SEEDS]
        results[name][peak] = {m: (np.mean([r[m] for r in runs]), np.std([r[m] for r in runs])) for m in runs[0]}
print(f"{'validation loss, peak:':22s}" + "".join(f"{p:>8g}" for p in PEAKS) + "   (mean of 3 seeds)")
for name in families:
    print(f"  {name:20s}" + "".join(f"{results[name][p]['val cross_entropy'][0]:8.4f}" for p in PEAKS))
best = {name: min(PEAKS, key=lambda p: results[name][p]["val cross_entropy"][0]) for name in families}
print(f"\\n{'schedule':18s} {'peak':>4s} {'train loss':>16s} {'train acc':>9s} {'test loss':>16s} "
      f"{'test acc':>16s}")
for name, p in best.items():
    r = results[name][p]
    print(f"{name:18s} {p:4g} {r['train cross_entropy'][0]:8.4f} ± {r['train cross_entropy'][1]:.4f} "
          f"{r['train accuracy'][0]:9.4f} {r['test cross_entropy'][0]:8.4f} ± {r['test cross_entropy'][1]:.4f} "
          f"{r['test accuracy'][0]:8.4f} ± {r['test accuracy'][1]:.4f}")
ref, cos = results["refine (to_optax)"][best["refine (to_optax)"]], results["optax cosine"][best["optax cosine"]]
diff = ref["test cross_entropy"][0] - cos["test cross_entropy"][0]
spread = np.hypot(ref["test cross_entropy"][1], cos["test cross_entropy"][1])
print(f"\\nrefine − cosine, test loss at the chosen peaks: {diff:+.4f} (seed std of the difference {spread:.4f}); "
      f"train loss {ref['train cross_entropy'][0] - cos['train cross_entropy'][0]:+.4f}")
print("mean rate / peak: " + ", ".join(f"{n} {tabulate(f(1.0)).mean():.3f}" for n, f in families.items()))
assert all(np.isfinite(v[0]) for fam in results.values() for r in fam.values() for v in r.values())
# what the text below says: no winner beyond the seed spread; refine lowest train loss; the guard did not act
assert abs(diff) < spread and not schedules.smoothed_norms(pilot_norms)[1].any()
assert min(best, key=lambda n: results[n][best[n]]["train cross_entropy"][0]) == "refine (to_optax)"
assert all(results[n][best[n]]["test accuracy"][0] > 0.95 for n in families)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].semilogy(pilot_norms, color="grey", lw=0.6, label=f"pilot gradient norms (constant rate {PILOT:g})")
axes[0].semilogy(schedules.smoothed_norms(pilot_norms)[0], "k", lw=1.2, label="median-filtered")
axes[0].set(xlabel="step", ylabel="‖g‖", title="pilot run"); axes[0].legend(fontsize=8)
for name, family in families.items():
    axes[1].plot(tabulate(family(best[name])), label=f"{name}, peak {best[name]:g}")
axes[1].set(xlabel="step", ylabel="η", title="schedules at their chosen peaks"); axes[1].legend(fontsize=8);"""),
    nbf.v4.new_markdown_cell("""**Reading the table.** On this small problem the schedules end up level: the best validation losses are within a
few thousandths of each other, and the test losses at the chosen peaks differ by less than their spread over seeds
— no winner can be claimed in either direction. What refinement changes is the shape. The pilot's gradient norms
fall about twelvefold as the network fits the training set, so the weights $\\hat g_t^{-2}$ grow over a
hundredfold towards the end: the refined schedule is a long warm-up that peaks late and anneals fast. Its mean
rate is lower (0.37 of its peak against 0.5), so its best peak is larger, and it reaches the lowest training loss.
This is a mild form of the failure mode the paper flags — norms shrinking towards the end (overfitting) pull the
schedule's mass to the end — not far enough here for the collapse guard of `refine` to act.

**PyTorch and files.** `to_torch_lambda()` returns the multiplier `LambdaLR` expects: the optimiser's base
rate is the peak and the lambda returns η_step / peak (no torch import needed to build it). `save`/`load` write and
read CSV (or JSON, by suffix) with the floats written exactly."""),
    nbf.v4.new_code_cell("""peak = best["refine (to_optax)"]
sched = schedules.refine(pilot_norms, peak=peak)
multiplier = sched.to_torch_lambda()  # torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=multiplier)
print("LambdaLR multipliers at steps 0, 50, 100, 399:", [round(multiplier(k), 4) for k in (0, 50, 100, 399)])
assert all(np.isclose(peak * multiplier(k), float(sched.values[k]), rtol=1e-15, atol=0) for k in range(STEPS))
print(sched.to_csv().splitlines()[:3])
with tempfile.TemporaryDirectory() as tmp:
    for suffix in (".csv", ".json"):
        sched.save(Path(tmp) / f"schedule{suffix}")
        back = lrc.Schedule.load(Path(tmp) / f"schedule{suffix}")
        assert np.array_equal(np.asarray(back.values), np.asarray(sched.values))
        assert np.array_equal(np.asarray(back.grid), np.asarray(sched.grid))
print("CSV and JSON round trips are exact")
print(f"notebook ran in {time.perf_counter() - _start:.0f} s")"""),
]

nb = nbf.v4.new_notebook()
nb["cells"] = cells
nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
write(nb, "notebooks/06_schedules.ipynb")
