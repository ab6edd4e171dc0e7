"""Writes notebooks/05_fsl.ipynb (kept as code so the notebook's source is reviewable)."""

import nbformat as nbf
from _write import write

cells = [
    nbf.v4.new_markdown_cell("""# 05 · The functional scaling law (FSL)

Li et al. (2025, 2026; arXiv 2509.19189, 2602.06797): for one-pass SGD on power-law kernel regression with source
$s$ and capacity $\\beta$ the loss is a functional of the schedule [P]. For schedule design we use its discrete
additive form [D]: steps $k = 1\\ldots N$, $\\eta_k \\in [0, \\eta_{max}]$, $T = \\sum_k \\eta_k$,
$R_k = \\sum_{i>k}\\eta_i$ (intrinsic time left after step $k$),

$$E_N(\\eta) = e(T) + \\sigma^2\\sum_{k=1}^{N}\\eta_k^2\\,K(R_k),\\qquad e(t) = (1+t)^{-s},\\quad
K(u) = (1+u)^{-(2-1/\\beta)}.$$

Phases [P]: easy $s > 1 - 1/\\beta$ (a power decay $\\eta_{peak}(1 - z/N)^{2\\beta-1}$, peak $\\propto N^{-\\nu}$,
$E^* \\propto N^{-s\\beta/(1+s\\beta)}$), hard $s < 1 - 1/\\beta$ (warmup–stable–decay, $E^* \\propto N^{-s}$). This
notebook checks the numerical optimum against the exact finite-$N$ law, against peak-tuned shapes, maps the phase
diagram with a `vmap`ped solve, takes the continuous optimum to $N = 10^{12}$, solves the multiplicative-noise
variant, and reports what happens on real SGD. Tags: [P] stated by Li et al., [D] derived for this project,
[?] unverified. The full experiments are `problems/fsl_*.py`."""),
    nbf.v4.new_code_cell("""import time
_start = time.perf_counter()
import json
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display
import lrcontrol as lrc
from lrcontrol import schedules
from lrcontrol.systems import FSL, RandomFeatures, fsl_laws

PHASES = {"easy": dict(source=1.0, capacity=2.0, noise=1.0, eta_max=1.0),
          "hard": dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2)}
N = 1000"""),
    nbf.v4.new_markdown_cell("""## 1 · The numerical optimum against the exact finite-N law

`lrc.solve` minimises $E_N$ over all $N$ rates (Direct: projected Newton steps on the $O(N)$ closed-form $E_N$
with its exact Hessian, a diagonal plus a matrix whose $(j, l)$ entry depends on $\\min(j, l)$ only, solved in
$O(N)$). In remaining intrinsic time the problem is separable, which gives the
exact optimum in both phases [D]:

$$\\eta^*(z) = \\min\\{\\eta_{max},\\ c\\,[1 + c(N - z)/(2\\beta)]^{2\\beta-1}\\},\\qquad c = \\eta^*(N)\\ \\text{(one 1-D
search)}$$

(`system.exact_optimum(N)`). It is a power law in $N - z + 2\\beta/c$ ending at $c > 0$; the paper's
$(1 - z/N)^{2\\beta-1}$ [P] is its $2\\beta/(cN) \\to 0$ limit, reached only slowly, so even with its peak tuned it is
visibly off at $N = 10^3$ (it decays to zero, so it leaves the plot at the end). In the hard phase the cap binds: the law is flat at $\\eta_{max}$, then decays (WSD)."""),
    nbf.v4.new_code_cell("""fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
optima = {}
for ax, (name, params) in zip(axes, PHASES.items()):
    system = FSL(**params)
    problem = system.problem(N)
    sol = lrc.solve(problem, progress=False)
    rates = np.asarray(sol.controls[:, 0])
    law, c, law_loss = system.exact_optimum(N)
    law = np.asarray(law)
    dev = np.max(np.abs(rates - law)) / rates.max()
    paper, paper_loss = schedules.tune_peak(problem, "power_decay", exponent=2 * params["capacity"] - 1)
    optima[name] = dict(system=system, problem=problem, rates=rates, objective=float(sol.objective),
                        paper=float(paper_loss))
    print(f"{name} ({system.phase()}): E* = {float(sol.objective):.7f}, exact law E = {float(law_loss):.7f} "
          f"(c = {float(c):.4g}); max |numeric − law| / peak = {dev:.1e}; converged {sol.diagnostics.converged}, "
          f"{int(sol.diagnostics.iterations)} iterations")
    assert sol.diagnostics.converged and dev < 1e-2
    to_go = N - np.arange(1, N + 1) + 1
    ax.loglog(to_go, rates, "k-", lw=3, alpha=0.4, label="numerical optimum")
    ax.loglog(to_go, law, "r--", label="exact law min{η_max, c[1 + c(N − z)/(2β)]^{2β−1}}")
    ax.loglog(to_go, np.asarray(fsl_laws.paper_schedule(system, N, float(paper.values[0]))), "b:",
              label=f"paper η_peak(1 − z/N)^{2 * params['capacity'] - 1:g}, peak tuned")
    ax.set(xlabel="steps to go, N − z + 1", ylabel="η", ylim=(0.2 * law.min(), 2 * law.max()),
           title=f"{name}: s = {params['source']}, β = {params['capacity']}, σ² = {params['noise']}, "
                 f"η_max = {params['eta_max']}")
    ax.legend(fontsize=7)"""),
    nbf.v4.new_markdown_cell("""## 2 · Shape-fixed schedules with only the peak tuned

A practitioner fixes a shape and tunes its peak (`schedules.tune_peak`, on the same $E_N$). Theory [P claim, D
rates]: a shape with tail $(1 - x)^\\gamma$ behaves as if the capacity were $\\min\\{\\beta, \\gamma + 1\\}$, so linear
and cosine lose ground to the optimum as $N$ grows once $\\beta$ exceeds 2 or 3 (capacity saturation, measured to
$N = 10^6$ in `problems/fsl_exact_law.py`). At $N = 10^3$ the easy phase's best shape is linear and the paper's
power form is ~20% worse; in the hard phase WSD is within a fraction of a percent."""),
    nbf.v4.new_code_cell("""families = {"constant": {}, "linear": {}, "cosine": {}, "WSD (20% linear)": dict(decay=0.2)}
print(f"{'E_shape / E*':18s}" + "".join(f"{f:>18s}" for f in [*families, "paper form"]))
for name, o in optima.items():
    ratios = []
    for family, kw in families.items():
        _, cost = schedules.tune_peak(o["problem"], "wsd" if family.startswith("WSD") else family, **kw)
        ratios.append(float(cost) / o["objective"])
    ratios.append(o["paper"] / o["objective"])
    print(f"{name:18s}" + "".join(f"{r:18.4f}" for r in ratios))
    assert all(r > 1 for r in ratios)  # the optimum is below every peak-tuned shape"""),
    nbf.v4.new_markdown_cell("""## 3 · The phase diagram from numerical optima, with `jax.vmap`

One compiled `jax.vmap` of `lrc.solve` solves the additive FSL ($\\sigma^2 = \\eta_{max} = 1$) for every $(s, \\beta)$
on a grid, once per horizon. The phase is read off the two optima by `fsl_laws.phase_order_parameter` [D]:
$\\varphi = d\\log(\\text{peak})/d\\log N - d\\log(\\text{decay fraction})/d\\log N$. Easy: the peak falls like
$N^{-\\nu}$ and the decay spans the run, $\\varphi = -\\nu < 0$. Hard: the peak grows to the cap, then the decay
fraction shrinks, $\\varphi > 0$. Theory puts the boundary at $s = 1 - 1/\\beta$ [P]. (Inside the vmapped function
the problem is built with a constant bound, and convergence is read as `result == 0`: a traced value.)"""),
    nbf.v4.new_code_cell("""capacities, s_values, horizons = np.array([1.5, 2.0, 3.0]), np.round(np.linspace(0.1, 1.0, 6), 4), (300, 3000)
ss, bb = np.meshgrid(s_values, capacities)  # rows: β, columns: s

def solve_grid(horizon):
    @jax.jit
    def batch(s, b):
        def one(s, b):
            system = FSL(source=s, capacity=b, noise=1.0, eta_max=1.0)
            problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon, bounds={"lr": (0.0, 1.0)})
            sol = lrc.solve(problem, progress=False)
            return sol.controls[:, 0], sol.diagnostics.result == 0
        return jax.vmap(one)(s, b)
    return batch(jnp.asarray(ss.ravel()), jnp.asarray(bb.ravel()))

grid = {}
for n in horizons:
    t0 = time.perf_counter()
    rates, converged = jax.block_until_ready(solve_grid(n))
    grid[n] = np.asarray(rates)
    print(f"N = {n}: {ss.size} problems in one vmapped solve, {time.perf_counter() - t0:.1f} s (incl. compile), "
          f"all converged: {bool(np.all(converged))}")
    assert np.all(converged)
phi = np.array([fsl_laws.phase_order_parameter(a, b, 1.0)
                for a, b in zip(grid[horizons[0]], grid[horizons[1]])]).reshape(ss.shape)
detected = np.where(phi > 0, "hard", "easy")
theory = np.vectorize(fsl_laws.phase)(ss, bb)
off = np.abs(ss - (1 - 1 / bb)) > 1e-9
print("φ (rows β = " + ", ".join(f"{b:g}" for b in capacities) + "; columns s = " + ", ".join(map(str, s_values))
      + "):\\n", np.round(phi, 3))
print(f"detected phase = theory at {int(np.sum((detected == theory) & off))} of {int(off.sum())} points")
assert np.all((detected == theory)[off])

fig, ax = plt.subplots(figsize=(5.5, 3.8))
lim = np.max(np.abs(phi))
mesh = ax.pcolormesh(s_values, capacities, phi, cmap="coolwarm", vmin=-lim, vmax=lim, shading="nearest")
fig.colorbar(mesh, ax=ax, label="φ  (> 0 hard / WSD, < 0 easy)")
bs = np.linspace(capacities.min(), capacities.max(), 50)
ax.plot(1 - 1 / bs, bs, "k-", label="theory s = 1 − 1/β")
ax.set(xlabel="source s", ylabel="capacity β", title=f"φ from numerical optima, N = {horizons[0]}, {horizons[1]}")
ax.legend(fontsize=8, loc="lower right");"""),
    nbf.v4.new_markdown_cell("""The full-size run (`python problems/fsl_phase_diagram.py`: a 14 × 6 grid, $N = 10^3$ and $10^4$) locates
the boundary as the zero of $\\varphi$ in $s$ for each $\\beta$; its figure and numbers, read from
`problems/results/fsl_phase_diagram/results.json`:"""),
    nbf.v4.new_code_cell("""display(Image(filename="problems/results/fsl_phase_diagram/fsl_phase_diagram.png"))
pd = json.loads(open("problems/results/fsl_phase_diagram/results.json").read())
print(f"{len(pd['sources'])} × {len(pd['capacities'])} grid, N = {pd['horizons']}, on {pd['machine']['cpus']} CPU "
      f"cores; vmapped solves " + ", ".join(f"N = {n}: {t:.0f} s" for n, t in pd["vmapped_solve_seconds"].items())
      + f"; all converged: {pd['all_converged']}")
print(f"phase agreement off the boundary: {pd['agreement_off_boundary']:.0%}; max |φ + ν| in the easy region "
      f"{pd['max_abs_phi_plus_nu_easy']:.3f}; max |numeric − exact law| / peak: "
      + ", ".join(f"N = {n}: {e:.1e}" for n, e in pd["max_error_vs_law"].items()))
print(f"{'β':>5s} {'theory 1 − 1/β':>15s} {'detected':>10s} {'error':>8s}")
for row in pd["boundaries"]:
    print(f"{row['capacity']:5g} {row['theory']:15.4f} {row['detected']:10.4f} {row['error']:+8.4f}")"""),
    nbf.v4.new_markdown_cell("""## 4 · The continuous optimum to N = 10¹²

For a continuous step index the optimum is semi-analytic [D] (`continuous_optimum`, $O(1)$ cost): easy branch
$E^*(N) = \\min_T\\{(1+T)^{-s} + (\\sigma^2/N)(2\\beta)^2[(1+T)^{1/(2\\beta)} - 1]^2\\}$, hard branch a 1-D search over
the final rate $c$ with the cap active for $N - D$ steps. Local exponents between $N = 10^{11}$ and $10^{12}$ against
the theory (`fsl_laws.exponents`): the easy-phase loss and peak rates [P], the hard-phase loss [P] and decay length
$D \\propto N^{\\beta(s+1)/(2\\beta-1)}$ [D] (so the decay fraction $D/N$ vanishes). They converge slowly: at
$10^{11\\ldots12}$ they are still ~1% off."""),
    nbf.v4.new_code_cell("""print(f"{'phase':6s} {'quantity':28s} {'theory':>8s} {'measured':>9s}")
for name, params in PHASES.items():
    system = FSL(**params)
    lo, hi = system.continuous_optimum(1e11), system.continuous_optimum(1e12)
    assert lo["branch"] == hi["branch"] == name
    th = system.exponents()
    slope = lambda key: float(np.log10(hi[key] / lo[key]))  # noqa: E731  (one decade)
    rows = [("loss: E* ∝ N^−x", th["loss"], -slope("loss"))]
    if name == "easy":
        rows.append(("peak: η_peak ∝ N^−x", th["peak"], -slope("peak")))
    else:
        rows += [("decay length: D ∝ N^x", th["decay_length"], slope("decay_steps")),
                 ("decay fraction: D/N ∝ N^x", th["decay_fraction"], slope("decay_steps") - 1)]
    for label, t, m in rows:
        print(f"{name:6s} {label:28s} {t:8.4f} {m:9.4f}")
        assert abs(t - m) < 0.02
    print(f"{'':6s} E*(10¹²) = {hi['loss']:.4g}, total intrinsic time {hi['total_time']:.3g}")"""),
    nbf.v4.new_markdown_cell("""## 5 · Multiplicative noise: the optimum warms up

Keeping the FSL's $e(z)$ inside the noise integral, $\\sigma^2 \\to \\sigma^2 + e(t_{k-1})$ [D form], the noise is
largest at the start. There is no closed form; the numerical optimum no longer starts at its peak: it warms up,
then decays. The additive law's schedule, used on this variant, does slightly worse."""),
    nbf.v4.new_code_cell("""mult = FSL(**PHASES["easy"], variant="multiplicative")
sol = lrc.solve(mult.problem(N), progress=False)
r = np.asarray(sol.controls[:, 0])
additive_law = np.asarray(optima["easy"]["system"].exact_optimum(N)[0])
additive_loss = float(mult.final_loss(additive_law))
print(f"first rate {r[0] / r.max():.2f} of the peak, peak {r.max():.4f} at step {int(np.argmax(r)) + 1}; "
      f"E* = {float(sol.objective):.6f} against {additive_loss:.6f} for the additive law's schedule")
assert sol.diagnostics.converged and r[0] < 0.95 * r.max() and np.argmax(r) > 0
assert float(sol.objective) < additive_loss
plt.figure(figsize=(5.5, 3.5))
z = np.arange(1, N + 1)
plt.loglog(z, r, "k-", label="multiplicative: numerical optimum")
plt.loglog(z, additive_law, "r--", label="additive exact law")
plt.xlabel("step z"); plt.ylabel("η"); plt.legend(fontsize=8)
plt.title(f"multiplicative noise, s = 1, β = 2, N = {N}");"""),
    nbf.v4.new_markdown_cell("""## 6 · Does the FSL optimum help real SGD?

`problems/fsl_real_sgd.py` runs one-pass SGD on power-law linear regression (Gaussian features, $M = 1000$ modes,
$\\lambda_k = k^{-\\beta}$, source $s$; $N = 10^4$ steps, 256 Monte Carlo runs; label noise $\\sigma = 0.5$), fits the FSL's
prefactors and time scale on the loss curves of two schedules (constant, cosine), predicts the others, and runs the
fitted FSL's optimum on SGD *without retuning* against peak-tuned cosine and WSD and against the true optimum
(Direct on the exact expected-loss recursion). The rates are capped at SGD's stability edge, or at half of it.
Figures from the stored runs (cap = the edge, then half the edge):"""),
    nbf.v4.new_code_cell("""display(Image(filename="problems/results/fsl_real_sgd/fsl_real_sgd.png"))
display(Image(filename="problems/results/fsl_real_sgd_cap0.5/fsl_real_sgd.png"))"""),
    nbf.v4.new_code_cell("""runs = {cap: json.loads(open(f"problems/results/{folder}/results.json").read())
        for cap, folder in (("edge", "fsl_real_sgd"), ("edge/2", "fsl_real_sgd_cap0.5"))}
print(f"{'cap':7s}{'phase':6s}{'pred. err end':>14s}{'whole curve':>12s}{'FSL opt L_N':>12s}"
      f"{'best tuned cos/WSD':>26s}{'true opt L_N':>13s}{'FSL/best':>9s}{'FSL/true':>9s}{'FSL peak/cap':>13s}")
ratio = {}
for cap, res in runs.items():
    for name, ph in res["phases"].items():
        sch = ph["schedules"]
        predicted = [e for e in sch.values() if not e["fitted_on"]]
        best = min(("cosine", "WSD (20% linear)"), key=lambda k: sch[k]["final_exact"])
        f, t = sch["FSL optimum"]["final_exact"], sch["true optimum"]["final_exact"]
        ratio[cap, name] = f / sch[best]["final_exact"]
        print(f"{cap:7s}{name:6s}{max(e['multiplicative_final_rel_error'] for e in predicted):14.1%}"
              f"{max(e['multiplicative_max_rel_error'] for e in predicted):12.0%}{f:12.5f}"
              f"{best + ' ' + format(sch[best]['final_exact'], '.5f'):>26s}"
              f"{t:13.5f}{ratio[cap, name]:9.3f}{f / t:9.3f}{sch['FSL optimum']['peak'] / ph['eta_max']:13.3f}")
assert ratio["edge", "easy"] < 1 and ratio["edge/2", "easy"] < 1  # easy: the FSL optimum beats tuned cosine/WSD
assert ratio["edge", "hard"] > 2  # hard, at the edge: the FSL optimum rides the cap and fails
assert 1 < ratio["edge/2", "hard"] < 1.03  # hard, half the edge: within ~2% of WSD, not better

# a live check: the stability edge the runs capped at (the exact recursion's, for the easy phase's learner)
res = runs["edge"]
edge = RandomFeatures(a=3.0, b=2.0, modes=res["modes"], noise=res["noise"], batch=1.0).stability_edge()
print(f"stability edge (M = {res['modes']}, b = 2): {edge:.6f}; the runs' caps: "
      + ", ".join(f"{cap}: {r['phases']['easy']['eta_max']:.6f}" for cap, r in runs.items()))
assert abs(edge - res["phases"]["easy"]["eta_max"]) < 1e-9 * edge"""),
    nbf.v4.new_markdown_cell("""**The honest finding.** The FSL fitted on two schedules predicts the others' loss curves up to constants in
the easy phase, and there its optimum, run on real SGD without retuning, beats the best peak-tuned cosine and WSD
and comes within ~1% of the true optimum. In the hard phase the FSL's optimum rides the rate cap for most of the run
(the FSL knows nothing about stability: the cap is just a parameter to it): at SGD's stability edge that schedule
blows up the loss many times over. At half the edge it is stable and within ~2% of WSD, but does not beat it. The
FSL is a surrogate of the expected loss away from the stability edge [P, measured here]."""),
    nbf.v4.new_code_cell("""print(f"notebook ran in {time.perf_counter() - _start:.0f} s")"""),
]

nb = nbf.v4.new_notebook()
nb["cells"] = cells
nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
write(nb, "notebooks/05_fsl.ipynb")
