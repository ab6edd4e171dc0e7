"""Bordelon & Mori's published optimum (arXiv 2602.04774, [C]) reproduced, and checked by the discrete stationarity
condition and against scipy.

a = 1.5, b = 1.25 (easy phase, a > b), N = 500 modes, σ = 0.5, m = 1, T = 500 SGD steps, one rate per step in [0, 2],
minimise the final excess loss L_T. Published: L*_T = 0.2230562, η*[0] ≈ 0.163, η*[T−1] ≈ 0.0194.

- lrcontrol's direct solve (float64);
- the same schedule replayed through the recursion in float32 (the published digits are float32 arithmetic);
- scipy L-BFGS-B on the same objective (jax value-and-gradient), from a constant 0.1;
- the fixed-point residual of the discrete stationarity condition (`RandomFeatures.stationary_rates`).

Writes `results.json`, `agreement.md` (README rows) and `published.png` to --out.

    python problems/random_features_published.py    # writes problems/results/random_features_published/
"""

from _common import arguments, plt, results_folder, write_json  # first: float64 JAX, Agg
import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

import lrcontrol as lrc

PUBLISHED = {"final_loss": 0.2230562, "first_rate": 0.163, "last_rate": 0.0194}


def float32_replay(system, rates) -> float:
    lam = np.asarray(system.eigenvalues(), np.float32)
    c = np.asarray(system.initial_state(), np.float32)
    m, s2 = np.float32(system.batch), np.float32(system.noise) ** 2
    for eta in np.asarray(rates, np.float32):
        loss = np.sum(lam * c, dtype=np.float32)
        c = (1 - 2 * eta * lam + (1 + 1 / m) * (eta * lam) ** 2) * c + eta**2 / m * lam * (loss + s2)
    return float(np.sum(lam * c, dtype=np.float32))


def main():
    ap = arguments(__doc__)
    ap.add_argument("--out", default="problems/results/random_features_published")
    args = ap.parse_args()
    out = results_folder(args.out)
    system = lrc.systems.RandomFeatures(a=1.5, b=1.25, modes=500, noise=0.5, batch=1.0)
    problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=500, bounds={"lr": (0.0, 2.0)})
    sol = lrc.solve(problem, progress=False)
    u = np.asarray(sol.schedule.values)
    vg = jax.jit(jax.value_and_grad(problem.cost))
    res = scipy.optimize.minimize(lambda x: tuple(np.asarray(v, float).ravel() if i else float(v) for i, v in
                                                  enumerate(vg(jnp.asarray(x)[:, None]))),
                                  np.full(500, 0.1), jac=True, method="L-BFGS-B", bounds=[(0.0, 2.0)] * 500,
                                  options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 20000, "maxfun": 40000})
    stationary = np.asarray(system.stationary_rates(jnp.asarray(u)))
    results = {"published": PUBLISHED, "final_loss": float(sol.objective), "first_rate": float(u[0]),
               "last_rate": float(u[-1]), "float32_replay": float32_replay(system, u), "scipy_final_loss": res.fun,
               "stationarity_max_rel_residual": float(np.max(np.abs(u - stationary) / u)),
               "converged": sol.diagnostics.converged, "iterations": int(sol.diagnostics.iterations),
               "run_time_s": sol.diagnostics.run_time, "compile_time_s": sol.diagnostics.compile_time,
               "phase": system.phase()}
    for k, v in results.items():
        print(f"{k}: {v}")
    rows = ["| quantity | published [C] | lrcontrol (float64) | check |", "|---|---|---|---|",
            f"| L*_T | {PUBLISHED['final_loss']} | {results['final_loss']:.10f} | same schedule in float32: "
            f"{results['float32_replay']:.8f}; scipy L-BFGS-B: {results['scipy_final_loss']:.10f} |",
            f"| η*[0] | ≈ {PUBLISHED['first_rate']} | {results['first_rate']:.4f} | |",
            f"| η*[T−1] | ≈ {PUBLISHED['last_rate']} | {results['last_rate']:.5f} | |",
            f"| stationarity fixed point ([D]) | | max rel. residual "
            f"{results['stationarity_max_rel_residual']:.1e} | adjoint written by hand, not jax.grad |", "",
            f"a = 1.5, b = 1.25 ({results['phase']} phase), 500 modes, σ = 0.5, m = 1, T = 500 per-step rates in "
            f"[0, 2]. The published L*_T is the float32 value of the float64 optimum (difference "
            f"{results['final_loss'] - PUBLISHED['final_loss']:.1e} in float64)."]
    (out / "agreement.md").write_text("\n".join(rows) + "\n")
    write_json(out / "results.json", results)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    ax[0].plot(u, label="lrcontrol")
    ax[0].plot(stationary, "k--", lw=1, label="stationarity map")
    ax[0].set(xlabel="step t", ylabel="η*(t)", title="published case: optimal rates")
    ax[0].legend()
    ax[1].semilogy(np.asarray(sol.loss))
    ax[1].set(xlabel="step t", ylabel="excess loss L_t", title=f"L*_T = {results['final_loss']:.7f}")
    fig.tight_layout()
    fig.savefig(out / "published.png", dpi=110)


if __name__ == "__main__":
    main()
