"""Why the FSL law's schedule solve creeps: the law's per-update sum is non-convex at the scale of single updates.

Under the FSL practical form fitted to the 25M and the 100M curves (`problems/loss_curve_laws.py`'s fits), the
per-update schedule solve (`LawSchedule`, N = 24000, warm-up 2160, peak 3e-4, min 1e-10) stops at its Newton–CG cap
not converged, gaining ~1e-12 a step as one more decrement reaches zero. This script measures why, at the capped
solve's end:

1. the Hessian of the law's final loss in the decrements d_i = η_{i−1} − η_i (the linear, natural coordinates of a
   monotone schedule), dense on the non-zero decrements of the decay, under three pairings of a decrement with
   intrinsic time in the law's sum Σ_i d_i·(c3 + T_i^{−s})·[1 − (1 + c4(T(k) − T_i))^{−γ}]: T_i = T(i), inclusive of η_i
   (the law as implemented, checked equal to `FSLLaw.final_loss`), T_i = T(i − 1), and the midpoint of the two;
2. the law's final loss after regrouping the decrements: each group of k consecutive updates' total decrement put at
   the group's middle update;
3. what the pairing does to the fit: the law refitted with T(i) and with T(i − 1) by the same fitter (scipy's
   least_squares, Huber with f_scale 1e-3 on log residuals, positive parameters in logs, from the toolkit's fitted
   parameters), its fit loss on the published fit split and its mean PredE on the six held-out curves. Needs the
   shared curves (/work/shared/data/mpl); skipped without them.

Writes `microstructure.json` (one entry per model size) to --out.

    python problems/fsl_law_microstructure.py     # writes problems/results/loss_curve_laws/microstructure.json
"""

import argparse
import json
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol._fit import fit_loss  # noqa: E402
from lrcontrol.systems.law_schedule import NEWTON_CG_STEPS, LawSchedule  # noqa: E402

HERE = Path(__file__).resolve().parent
FIT = HERE / "results" / "loss_curve_laws" / "results.json"
N, W, PEAK, MIN_LR = 24000, 2160, 3e-4, 1e-10
PAIRINGS = ("T(i)", "T(i-1)", "midpoint")
CURVES = Path("/work/shared/data/mpl")
FIT_SPLIT = ("cosine_24000", "constant_24000", "wsdcon_9")
HELD_OUT = ("constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_18")
NAMES = ("L0", "c1", "s", "c2", "c3", "c4", "gamma")


def paired_time(t, pairing: str):
    """The intrinsic time paired with the decrement at each update i = 1 … n−1 (t = T(0) … T(n−1)): T(i), T(i − 1)
    or their midpoint. (T(0) = η_0 = 0 under a warm-up from zero: "T(i-1)" pairs the first decrement with T(1),
    which only moves a constant.)"""
    if pairing == "T(i)":
        return t[1:]
    if pairing == "T(i-1)":
        return jnp.concatenate([t[1:2], t[1:-1]])
    return 0.5 * (t[1:] + t[:-1])


def decrement_sum_loss(p: dict, rates, pairing: str):
    """The law's final loss with decrement i paired with intrinsic time `pairing` (written here from the formula,
    independently of `FSLLaw`'s chunked O(N) pass; "T(i)" is the law as implemented)."""
    t = jnp.cumsum(rates)
    d = rates[:-1] - rates[1:]  # the decrement at update i = 1 … k
    t_i = paired_time(t, pairing)
    weight = (p["c3"] + t_i ** -p["s"]) * (1 - (1 + p["c4"] * (t[-1] - t_i)) ** -p["gamma"])
    return p["L0"] + p["c1"] * t[-1] ** -p["s"] - p["c2"] * jnp.sum(d * weight)


def decrement_hessian(loss, rates, first: int):
    """Dense Hessian of loss(rates) in the decrements of updates first … N−1 (the rates before them held)."""
    top = rates[first - 1]
    d0 = rates[first - 1:-1] - rates[first:]

    def of_decrements(d):
        return loss(rates.at[first:].set(top - jnp.cumsum(d)))

    grad = jax.grad(of_decrements)
    columns = jax.jit(jax.vmap(lambda e: jax.jvp(grad, (d0,), (e,))[1]))
    eye = np.eye(d0.size)
    h = np.concatenate([np.asarray(columns(jnp.asarray(eye[k:k + 256]))) for k in range(0, d0.size, 256)])
    return 0.5 * (h + h.T), np.asarray(d0)


def curve_predictor(curve, pairing: str):
    """θ ↦ the law's loss at the curve's logged steps, decrement i paired with `pairing` (`paired_time`), the sum
    over the curve's non-zero decrements (written from the formula, like `decrement_sum_loss`)."""
    lr = np.asarray(curve.lr, float)
    t = np.cumsum(lr)
    d = lr[:-1] - lr[1:]
    t_i = np.asarray(paired_time(t, pairing))
    nonzero = np.nonzero(d != 0)[0]
    d, t_i, index = jnp.asarray(d[nonzero]), jnp.asarray(t_i[nonzero]), jnp.asarray(nonzero + 1)
    steps = jnp.asarray(curve.steps)
    t_k = jnp.asarray(t[np.asarray(curve.steps)])

    def predict(theta):
        l0, c1, s, c2, c3, c4, gamma = theta

        def at(args):
            k, tk = args
            weight = (c3 + t_i ** -s) * (1 - (1 + c4 * jnp.maximum(tk - t_i, 0.0)) ** -gamma)
            return l0 + c1 * tk ** -s - c2 * jnp.sum(jnp.where(index <= k, d * weight, 0.0))

        return jax.lax.map(at, (steps, t_k), batch_size=16)

    return predict


def refit(size: str, params: dict) -> dict | None:
    """Both pairings refitted by one fitter from the toolkit's fitted parameters: fit loss and held-out PredE."""
    folder = CURVES / size
    if not all((folder / f"{n}.csv").exists() for n in FIT_SPLIT + HELD_OUT):
        return None
    fit_curves = [lrc.LossCurve.read(folder / f"{n}.csv") for n in FIT_SPLIT]
    held_out = [lrc.LossCurve.read(folder / f"{n}.csv") for n in HELD_OUT]
    start = np.array([params[n] for n in NAMES])
    law = lrc.systems.FSLLaw(**params)
    mine = np.concatenate([np.asarray(curve_predictor(c, "T(i)")(jnp.asarray(start))) for c in fit_curves])
    theirs = np.concatenate([np.asarray(law.predict(jnp.asarray(c.lr), jnp.asarray(c.steps))) for c in fit_curves])
    if np.max(np.abs(mine / theirs - 1)) > 1e-12:
        raise RuntimeError("the curve predictor written here is not FSLLaw.predict")
    out = {"start": dict(zip(NAMES, start.tolist())), "toolkit_fit_loss": fit_loss(law, fit_curves)}

    def scores(theta, pairing):
        r = np.concatenate([np.log(c.losses) - np.log(np.asarray(curve_predictor(c, pairing)(jnp.asarray(theta))))
                            for c in fit_curves])
        a = np.abs(r)
        huber = float(np.sum(np.where(a <= 1e-3, 0.5 * r**2, 1e-3 * (a - 0.5e-3))))  # `lrc.fit`'s default loss
        prede = [float(np.mean(np.abs(c.losses - np.asarray(curve_predictor(c, pairing)(jnp.asarray(theta))))
                               / c.losses)) for c in held_out]
        return huber, float(np.mean(prede))

    for pairing in ("T(i)", "T(i-1)"):
        predictors = [curve_predictor(c, pairing) for c in fit_curves]
        observed = [jnp.log(jnp.asarray(c.losses)) for c in fit_curves]

        def residuals(z, predictors=predictors, observed=observed):
            theta = jnp.concatenate([z[:1], jnp.exp(z[1:])])  # L0 free, the others positive
            return jnp.concatenate([o - jnp.log(f(theta)) for f, o in zip(predictors, observed)])

        r, jac = jax.jit(residuals), jax.jit(jax.jacfwd(residuals))
        t0 = time.perf_counter()
        fitted = least_squares(lambda z: np.asarray(r(jnp.asarray(z))), np.r_[start[0], np.log(start[1:])],
                               jac=lambda z: np.asarray(jac(jnp.asarray(z))), loss="huber", f_scale=1e-3,
                               max_nfev=400, xtol=1e-15, ftol=1e-15, gtol=1e-15)
        theta = np.r_[fitted.x[0], np.exp(fitted.x[1:])]
        start_scores, end_scores = scores(start, pairing), scores(theta, pairing)
        out[pairing] = {"params": dict(zip(NAMES, theta.tolist())), "c2_c3": float(theta[3] * theta[4]),
                        "evaluations": int(fitted.nfev), "status": int(fitted.status),
                        "seconds": time.perf_counter() - t0,
                        "fit_loss_at_start": start_scores[0], "held_out_prede_at_start": start_scores[1],
                        "fit_loss": end_scores[0], "held_out_prede": end_scores[1]}
    return out


def measure(size: str) -> dict:
    """The capped solve's end under the FSL law fitted to the `size` (25 / 100) curves, and the measurements there."""
    params = json.loads(FIT.read_text())["sizes"][size]["laws"]["fsl_law (fitted here)"]["params"]
    law = lrc.systems.FSLLaw(**params)
    system = LawSchedule(law, W, PEAK, MIN_LR)
    t0 = time.perf_counter()
    sol = lrc.solve(system.problem(N), lrc.solvers.Direct(max_steps=NEWTON_CG_STEPS), progress=False)
    solve_s = time.perf_counter() - t0
    rates = jnp.asarray(system.rates(sol.controls)).reshape(-1)
    value = float(law.final_loss(rates))
    r = np.asarray(rates)
    below = np.nonzero(r < (1 - 1e-9) * PEAK)[0]
    first = int(below[below > W][0])  # the decay's first update
    out = {"law": f"fsl_law (fitted here), {size}M", "params": params, "horizon": N, "warmup": W, "peak": PEAK,
           "min_lr": MIN_LR, "solve": {"solver": f"Direct(max_steps={NEWTON_CG_STEPS})",
                                       "converged": bool(sol.diagnostics.converged), "message": sol.diagnostics.message,
                                       "final_loss": value, "seconds": solve_s},
           "decay_start": first, "pairings": {}, "regrouped": []}
    d0 = None
    for pairing in PAIRINGS:
        loss = lambda x, pairing=pairing: decrement_sum_loss(params, x, pairing)  # noqa: E731
        h, d0 = decrement_hessian(loss, rates, first)
        nonzero = np.nonzero(d0 > 0)[0]
        w, v = np.linalg.eigh(h[np.ix_(nonzero, nonzero)])
        lowest = v[:, 0]
        top = np.argsort(-np.abs(lowest))[:8]
        out["pairings"][pairing] = {
            "final_loss_at_the_end": float(loss(rates)), "free_decrements": int(nonzero.size),
            "negative_eigenvalues": int(np.sum(w < 0)), "lowest_eigenvalue": float(w[0]),
            "highest_eigenvalue": float(w[-1]),
            "lowest_eigenvector_updates": [int(first + nonzero[j]) for j in top],
            "lowest_eigenvector_signs": [int(np.sign(lowest[j])) for j in top]}
    written = out["pairings"]["T(i)"]["final_loss_at_the_end"]
    if abs(written - value) > 1e-12 * abs(value):  # the formula written here is the law as implemented
        raise RuntimeError(f"the T(i) pairing written here gives {written!r}, FSLLaw.final_loss {value!r}")
    out["zero_decrements_in_decay"] = int(np.sum(d0 == 0))
    for k in (2, 3, 4, 8, 16, 64):
        grouped = np.zeros_like(d0)
        for b in range(0, d0.size, k):
            grouped[min(b + k // 2, d0.size - 1)] += d0[b:b + k].sum()
        moved = r.copy()
        moved[first:] = r[first - 1] - np.cumsum(grouped)
        grouped_value = float(law.final_loss(jnp.asarray(moved)))
        out["regrouped"].append({"group": k, "final_loss": grouped_value, "change": grouped_value - value})
    out["refit"] = refit(size, params)
    return out


def report(out: dict):
    s = out["solve"]
    print(f"{out['law']}: capped solve {s['final_loss']:.10f} ({s['message']}; {s['seconds']:.0f} s), decay from "
          f"update {out['decay_start']}, {out['zero_decrements_in_decay']} zero decrements in it")
    print("| pairing | free decrements | negative eigenvalues | lowest | highest | "
          "lowest eigenvector (updates: signs) |")
    print("|---|---|---|---|---|---|")
    for name, p in out["pairings"].items():
        vec = ", ".join(f"{u}:{'+' if s > 0 else '−'}" for u, s in zip(p["lowest_eigenvector_updates"][:6],
                                                                       p["lowest_eigenvector_signs"][:6]))
        print(f"| {name} | {p['free_decrements']} | {p['negative_eigenvalues']} | {p['lowest_eigenvalue']:.3g} | "
              f"{p['highest_eigenvalue']:.3g} | {vec} |")
    print("| regrouped in k | " + " | ".join(str(g["group"]) for g in out["regrouped"]) + " |")
    print("| change of the final loss | " + " | ".join(f"{g['change']:+.2e}" for g in out["regrouped"]) + " |")
    if out["refit"] is not None:
        for pairing in ("T(i)", "T(i-1)"):
            f = out["refit"][pairing]
            print(f"refit, {pairing}: fit loss {f['fit_loss_at_start']:.4e} -> {f['fit_loss']:.4e}, held-out PredE "
                  f"{f['held_out_prede_at_start']:.5f} -> {f['held_out_prede']:.5f}, c2·c3 {f['c2_c3']:.4g}, c3 "
                  f"{f['params']['c3']:.3g} ({f['evaluations']} evaluations, {f['seconds']:.0f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "loss_curve_laws")
    args = parser.parse_args()
    results = {size: measure(size) for size in ("25", "100")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "microstructure.json").write_text(json.dumps(results, indent=1) + "\n")
    for out in results.values():
        report(out)


if __name__ == "__main__":
    main()
