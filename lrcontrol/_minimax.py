"""Chebyshev's steps found numerically: the minimax of gradient descent's worst-case factor on a quadratic.

`minimax(Quadratic(mu, L), T)` minimises F(α) = max_{λ∈[μ,L]} |Π_k (1 − α_k λ)| over T steps without the closed
form: the toolkit's L-BFGS (`lrc.solve`) on the system's smooth surrogate at increasing sharpness, each stage's
spectrum points placed between the current inverse steps, then a Remez exchange on the roots (the equioscillation
characterisation of the minimax polynomial), then `Quadratic.worst_case_factor`. The closed forms
(`Quadratic.chebyshev_steps`, `chebyshev_factor`) are for checking its answer, never used by it.
"""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp as np_logsumexp

from ._errors import check_int
from ._problem import ControlProblem
from ._search import golden_max
from ._solve import solve
from .objectives import FinalLoss
from .solvers import Direct
from .systems.quadratic import Quadratic, _log_abs_poly, _spread_steps


class Minimax(NamedTuple):
    """`minimax`'s answer. `steps` sorted increasing; `factor` = `worst_case_factor(steps)`; `level` the
    Remez levelled error E; `deviation` = max|p| / E − 1 at the last exchange (inf where the exchange broke down:
    a reference that lost its order); `converged`: deviation <= remez_tol; `surrogate_steps` and `stages` the
    continuation's result and per-stage record (q, F of its steps, L-BFGS iterations, converged, times)."""

    steps: np.ndarray
    factor: float
    level: float
    exchanges: int
    deviation: float
    converged: bool
    surrogate_steps: np.ndarray
    stages: list


def minimax(system: Quadratic, horizon: int, *, sharpness=(4.0, 16.0, 64.0, 256.0), per_interval: int = 8,
        rtol: float = 1e-6, max_steps: int = 1000, remez_tol: float = 1e-13, max_exchanges: int = 60) -> Minimax:
    """The numerical minimax steps over T = `horizon` steps (module docstring: surrogate continuation with
    `lrc.solve`, then Remez exchange, then `worst_case_factor`). Never uses the closed forms.

    `sharpness`: the q of each continuation stage. Each stage's spectrum points are `per_interval` uniform
    points in each gap between μ, the current inverse steps (sorted) and L, so that the surrogate sees every
    oscillation of p. `rtol`, `max_steps`: `Direct`'s per stage (a stage only has to be a good start: an
    unconverged stage is recorded as such, not an error). `remez_tol`: stop when max|p|/E − 1 is below it.
    """
    t = check_int("horizon", horizon, lo=1)
    per = check_int("per_interval", per_interval, lo=1)
    mu, L = float(system.mu), float(system.L)
    u = np.asarray(_spread_steps(mu, L, t), dtype=np.float64)  # = initial_controls: distinct steps
    stages = []
    for q in sharpness:
        system = Quadratic(mu, L, sharpness=q, points=_points_between(1 / u, mu, L, per))
        problem = ControlProblem(system, FinalLoss(), horizon=t)
        solver = Direct(rtol=rtol, max_steps=max_steps)
        sol = solve(problem, solver, u0=jnp.asarray(u)[:, None], progress=False)
        u = np.asarray(sol.controls[:, 0], dtype=np.float64)
        d = sol.diagnostics
        stages.append({"sharpness": float(q), "factor": system.worst_case_factor(u),
                       "iterations": int(d.iterations), "converged": d.converged, "message": d.message,
                       "compile_s": d.compile_time, "run_s": d.run_time})
    roots, level, exchanges, deviation = _remez(np.sort(1 / u), mu, L, remez_tol, max_exchanges)
    steps = np.sort(1 / roots)
    factor = system.worst_case_factor(steps) if np.all(np.isfinite(steps)) else float("nan")
    converged = bool(deviation <= remez_tol)
    return Minimax(steps, factor, level, exchanges, deviation, converged, np.sort(u), stages)


# --- Remez exchange (float64, numpy) -------------------------------------------------------------------------

def _points_between(roots: np.ndarray, mu: float, L: float, per: int) -> np.ndarray:
    # `per` uniform points in each gap of μ ≤ sorted roots ≤ L, and L: per·(T + 1) + 1 points
    edges = np.concatenate([[mu], np.sort(np.clip(roots, mu, L)), [L]])
    frac = np.arange(per) / per
    return np.append((edges[:-1, None] + np.diff(edges)[:, None] * frac).reshape(-1), L)


def _bisect(f, lo: np.ndarray, hi: np.ndarray, iterations: int = 100) -> np.ndarray:
    # a sign change of f in each [lo_i, hi_i], all intervals at once
    a, b = np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)
    fa = np.sign(f(a))
    for _ in range(iterations):
        m = 0.5 * (a + b)
        same = np.sign(f(m)) == fa
        a, b = np.where(same, m, a), np.where(same, b, m)
    return 0.5 * (a + b)


def _reference_polynomial(nodes: np.ndarray):
    """For the reference ξ_0 < … < ξ_T: q = p/E as a function (p of degree T, p(0) = 1, p(ξ_i) = (−1)^i E, by the
    barycentric formula) and log E."""
    d = nodes[:, None] - nodes[None, :]
    np.fill_diagonal(d, 1.0)
    log_w = -np.sum(np.log(np.abs(d)), axis=1)  # barycentric weights w_i = 1/Π_{j≠i}(ξ_i − ξ_j), sign (−1)^{T−i}
    t = nodes.size - 1
    signs = (-1.0) ** (t - np.arange(t + 1))
    # p(0) = E Σ_i (−1)^i ℓ_i(0) = E Πξ Σ_i |w_i|/ξ_i: all terms positive
    log_level = -np.sum(np.log(nodes)) - np_logsumexp(log_w - np.log(nodes))
    w = signs * np.exp(log_w - log_w.max())
    values = (-1.0) ** np.arange(t + 1)

    def q(lam):
        lam = np.asarray(lam, dtype=np.float64)
        diff = lam[..., None] - nodes
        hit = diff == 0
        c = w / np.where(hit, 1.0, diff)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sum(c * values, axis=-1) / np.sum(c, axis=-1)
        at_node = np.where(hit.any(axis=-1), values[np.argmax(hit, axis=-1)], out)
        return at_node

    return q, log_level


def _remez(roots: np.ndarray, mu: float, L: float, tol: float, max_exchanges: int):
    """Remez exchange from approximate roots (inverse steps). Returns (roots, E, exchanges, max|p|/E − 1)."""
    t = roots.size
    r = np.clip(roots, mu, L)
    if t == 1:
        nodes = np.array([mu, L])
    else:  # first reference: μ, the maxima of |p| between consecutive approximate roots, L
        nodes = np.concatenate([[mu], golden_max(lambda x: _log_abs_poly(1 / r, x), r[:-1], r[1:]), [L]])
    deviation, exchanges, log_level = np.inf, 0, np.nan
    while exchanges < max_exchanges:
        if not (np.all(np.isfinite(nodes)) and np.all(np.diff(nodes) > 0)):
            deviation = np.inf
            break
        q, log_level = _reference_polynomial(nodes)
        roots = _bisect(q, nodes[:-1], nodes[1:])
        exchanges += 1
        if t == 1:
            deviation = 0.0
            break
        peaks = golden_max(lambda x: np.abs(q(x)), roots[:-1], roots[1:])
        deviation = float(np.max(np.abs(q(peaks)))) - 1.0
        nodes = np.concatenate([[mu], peaks, [L]])
        if deviation <= tol:
            break
    return roots, float(np.exp(log_level)), exchanges, deviation
