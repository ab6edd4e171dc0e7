"""Closed forms of the FSL schedule problem (Li et al. 2025, 2026, arXiv 2509.19189, 2602.06797): phases,
exponents, the exact finite-N optimum of the additive form, the paper's power-decay form, the continuous
semi-analytic optimum, and capacity saturation of shape-fixed schedules. `FSL`'s methods of the same names call
these.

Tags: [P] stated by Li et al., [D] derived for this project, [?] unverified.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._errors import NoClosedForm, check_int, check_real
from .._search import newton_log_minimum


def _floats(system) -> tuple[float, float, float, float]:
    return float(system.source), float(system.capacity), float(system.noise), float(system.eta_max)


def phase(source: float, capacity: float) -> str:
    """'easy' (s > 1 − 1/β), 'hard' (s < 1 − 1/β) or 'boundary' (s = 1 − 1/β) [P]."""
    edge = 1 - 1 / capacity
    return "easy" if source > edge else "hard" if source < edge else "boundary"


def nu(source: float, capacity: float) -> float:
    """ν = (s − 1 + 1/β)/(s + 1/β): the easy-phase peak η_peak ≂ N^{−ν} [P]."""
    return (source - 1 + 1 / capacity) / (source + 1 / capacity)


def exponents(source: float, capacity: float) -> dict[str, float]:
    """Predicted exponents (Li et al. 2025, arXiv 2509.19189; 2026, arXiv 2602.06797).

    Easy [P]: schedule (1 − z/N)^{2β−1} ('shape' = 2β − 1), peak N^{−ν}, loss E* ≂ N^{−sβ/(1+sβ)}.
    Hard [P, D]: loss E* ≂ N^{−s}; decay length D ∝ N^{β(s+1)/(2β−1)} [D], fraction D/N ∝ N^{−(1−1/β−s)/(2−1/β)}.
    Returned as positive numbers: 'loss' is the rate in E* ∝ N^{−loss}, 'peak' in η_peak ∝ N^{−peak}.
    """
    s, b = source, capacity
    out = {"shape": 2 * b - 1}
    if phase(s, b) == "hard":
        out.update(loss=s, decay_length=b * (s + 1) / (2 * b - 1), decay_fraction=-(1 - 1 / b - s) / (2 - 1 / b))
    else:
        out.update(loss=s * b / (1 + s * b), peak=nu(s, b))
    return out


# --- the exact finite-N optimum of the additive form [D] ------------------------------------------------------

def exact_law(system, steps: int, c) -> Array:
    """η*(z) = min{η_max, c·[1 + c(N − z)/(2β)]^{2β−1}}, z = 1…N (z = N the last step, where η* = c) [D].

    The stationary schedule of the additive FSL in remaining intrinsic time u, γ(u) = min{η_max, √(μ/K(u))},
    mapped back to steps; c = η*(N) is fixed by `exact_optimum`.
    """
    _additive_only(system)
    b = system.capacity
    z = jnp.arange(1, steps + 1, dtype=jnp.result_type(float))
    return jnp.minimum(system.eta_max, c * (1 + c * (steps - z) / (2 * b)) ** (2 * b - 1))


def exact_optimum(system, steps: int) -> tuple[Array, Array, Array]:
    """(rates, c, E_N): the exact law with c chosen by a 1-D search on the discrete E_N (log grids, then Newton
    steps in log c: `newton_log_minimum`, c ∈ [10⁻¹²·η_max, η_max]). O(N) per evaluation, jit-able."""
    _additive_only(system)
    steps = check_int("steps", steps, lo=1)
    c, loss = _best_c(system, steps)
    return exact_law(system, steps, c), c, loss


@jax.jit
def _search_c(system, shape_ones):
    steps = shape_ones.shape[0]
    return newton_log_minimum(lambda c: system.final_loss(exact_law(system, steps, c)),
                              1e-12 * system.eta_max, system.eta_max)


def _best_c(system, steps):
    return _search_c(system, jnp.ones(steps))


def _additive_only(system):
    if system.variant != "additive":
        raise NoClosedForm("the exact finite-N law holds for the additive FSL only; the multiplicative variant "
                           "has no known closed form (solve it numerically).")


def paper_schedule(system, steps: int, peak) -> Array:
    """The paper's easy-phase shape η_peak(1 − z/N)^{2β−1}, z = 0…N−1 (the first step at the peak, as
    `schedules.power_decay`) [P]. The peak is ≂ N^{−ν} only up to a constant: tune it (`schedules.tune_peak`)."""
    z = jnp.arange(steps, dtype=jnp.result_type(float))
    return peak * (1 - z / steps) ** (2 * system.capacity - 1)


def decay_length(rates, eta_max: float, rtol: float = 1e-3) -> int:
    """Number of final steps whose rate is below (1 − rtol)·η_max: the hard phase's decay length D."""
    rates = np.asarray(rates).reshape(-1)
    capped = np.nonzero(rates >= (1 - rtol) * eta_max)[0]
    return int(rates.size if capped.size == 0 else rates.size - 1 - capped[-1])


def phase_order_parameter(rates_short, rates_long, eta_max: float, rtol: float = 1e-3) -> float:
    """φ = d log(peak rate)/d log N − d log(decay fraction)/d log N between two horizons' optimal schedules.

    Detects the phase from numerical optima alone [D]. Easy phase: the optimum is a power decay whose peak falls
    like N^{−ν} (ν > 0) and never touches the cap, so φ = −ν < 0. Hard phase: the unconstrained peak would grow
    like N^{|ν|} (ν < 0) until it reaches η_max, after which the schedule is warmup–stable–decay with a decay
    fraction D/N shrinking like N^{−(1−1/β−s)/(2−1/β)}; either way φ > 0. φ changes sign at s = 1 − 1/β. The
    decay fraction counts the final steps below (1 − rtol)·η_max (`decay_length`). Measured on the exact law at
    N = 10³, 10⁴ (σ² = η_max = 1): φ within 0.02 of −ν away from the cap and +0.002…+0.003 exactly on the
    boundary — a finite-N offset of the boundary of ~0.002 in s.
    """
    short, long_ = np.asarray(rates_short).reshape(-1), np.asarray(rates_long).reshape(-1)
    decades = math.log10(long_.size / short.size)
    peak_slope = math.log10(long_.max() / short.max()) / decades
    def fraction(r):  # at least one step: the last rate is below the cap unless the whole run sits on it
        return max(decay_length(r, eta_max, rtol), 1) / r.size

    frac_slope = math.log10(fraction(long_) / fraction(short)) / decades
    return peak_slope - frac_slope


# --- the continuous semi-analytic optimum [D] ----------------------------------------------------------------

def _log_argmin(f, lo: float, hi: float, points: int = 400) -> float:
    # Minimise f on [lo, hi] (log variables): a grid, then Brent in the bracket of the best grid point.
    xs = np.linspace(lo, hi, points)
    fs = np.array([f(x) for x in xs])
    fs[~np.isfinite(fs)] = np.inf
    i = int(np.argmin(fs))
    a, b = xs[max(i - 1, 0)], xs[min(i + 1, points - 1)]
    from scipy.optimize import minimize_scalar  # here, not at import: scipy.optimize takes ~0.5 s to load

    res = minimize_scalar(f, bounds=(a, b), method="bounded", options={"xatol": 1e-13 * max(1.0, abs(xs[i]))})
    return float(res.x) if res.fun <= fs[i] else float(xs[i])


def continuous_optimum(system, steps: float) -> dict:
    """The continuous optimum of the additive FSL over N steps (N up to 10¹² and beyond: O(1) cost) [D].

    Easy branch (cap inactive): E*(N) = min_T {(1+T)^{−s} + (σ²/N)(2β)²[(1+T)^{1/(2β)} − 1]²}, c = 2β[(1+T)^{1/(2β)}
    − 1]/N, peak c(1+T)^{1−1/(2β)} (valid while ≤ η_max). Hard branch (cap active for N − D steps): over c ∈ (0, η_max),
    u₀ = (η_max/c)^{2β/(2β−1)} − 1, D = (2β/c)[(1+u₀)^{1/(2β)} − 1], T = η_max(N − D) + u₀,
    E(c) = (1+T)^{−s} + σ²{c²D + η_max[(1+u₀)^{−(1−1/β)} − (1+T)^{−(1−1/β)}]/(1 − 1/β)}.
    The better feasible branch wins. Returns {'loss', 'total_time', 'c', 'peak', 'decay_steps', 'branch'}.
    """
    _additive_only(system)
    check_real("steps", steps, lo=0.0, lo_open=True)
    s, b, sig, cap = _floats(system)
    n = float(steps)
    q = 1 / (2 * b)

    def easy(log1t):
        return (math.exp(-s * log1t) + sig / n * (2 * b) ** 2 * math.expm1(q * log1t) ** 2)

    best = None
    log1t = _log_argmin(easy, 1e-12, math.log1p(cap * n))
    c = 2 * b * math.expm1(q * log1t) / n
    peak = c * math.exp((1 - q) * log1t)
    if peak <= cap:
        best = {"loss": easy(log1t), "total_time": math.expm1(log1t), "c": c, "peak": peak, "decay_steps": n,
                "branch": "easy"}

    def hard_parts(logc):
        c = math.exp(logc)
        log1u = (2 * b / (2 * b - 1)) * (math.log(cap) - logc)
        d = (2 * b / c) * math.expm1(q * log1u)
        t_total = cap * (n - d) + math.expm1(log1u)
        p = 1 - 1 / b
        loss = (1 + t_total) ** -s + sig * (c * c * d + cap * (math.exp(-p * log1u) - (1 + t_total) ** -p) / p)
        return loss, d, t_total, c

    def hard(logc):
        loss, d, _, _ = hard_parts(logc)
        return loss if d <= n else 1e300 * (1 + d / n)  # infeasible (decay longer than training)

    logc = _log_argmin(hard, math.log(cap) - 60.0, math.log(cap))
    loss, d, t_total, c = hard_parts(logc)
    if best is None or loss < best["loss"]:
        best = {"loss": loss, "total_time": t_total, "c": c, "peak": cap, "decay_steps": d, "branch": "hard"}
    return best


# --- shape-fixed schedules, peak tuned [P claim, D rates] -------------------------------------------------------

def shape_capacity(capacity: float, tail: float) -> float:
    """α = min{β, γ + 1}: a shape with tail (1 − x)^γ behaves as if the capacity were α (capacity saturation)."""
    return min(capacity, tail + 1)


def shape_loss_exponent(source: float, capacity: float, tail: float) -> float:
    """Rate of a peak-tuned shape with tail (1 − x)^γ: E ≂ N^{−sα/(1+sα)} if s ≥ 1 − 1/α, else N^{−s}."""
    a = shape_capacity(capacity, tail)
    return source * a / (1 + source * a) if source >= 1 - 1 / a else source
