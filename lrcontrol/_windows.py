"""Window-function learning-rate schedules (Somefun, "Annealing via Window Functions").

A window is a multiplier F(x) ∈ [0, 1] with F(0) = 1 on the normalised time x = t/τ ∈ [0, 1]; the learning rate
is η_t = peak·F(t/τ). The families (closed forms, each checked in tests/test_windows.py):

    raised cosine   F = l + (1 − l)cos²(πx/2)          F(½) = l + (1 − l)/2   (l = floor; l = 0: cosine
                                                                                 annealing, the Hann window)
    linear          F = 1 − x                            F(½) = ½
    β-exponential   F = (βˣ − β)/(1 − β), 0 < β < 1      F(½) = √β/(1 + √β)   (β = 0.99: 0.4987,
                                                                                 β = 0.05: 0.1827; β → 1: linear)
    polynomial      F = (1 − xⁱ)ⁿ, i, n > 0              F(½) = (1 − 2⁻ⁱ)ⁿ     (n = 2, i ≈ 1.8 ≈ cosine)
    logistic        F = [(1 + 2^{2i(x − ½)})⁻¹ − h̲]/(h̄ − h̲),  h̲ = (1 + 2ⁱ)⁻¹, h̄ = (1 + 2⁻ⁱ)⁻¹, slope i > 0;
                    h̄ + h̲ = 1 makes F(½) = ½ exactly, F(0) = 1, F(1) = 0.

Variants act on the input x before the family is applied, in this order:

- period "full" (warm-up + cooldown): x ← |2x − 1|, so F rises from F(1) to 1 at x = ½ and falls back
  (mirror-symmetric about x = ½);
- coverage e ∈ [0, 1): x ← max(0, (x − e)/(1 − e)), so F = 1 while x < e (flat, "stable" phase) and the whole
  window is compressed into the remaining fraction 1 − e (with period "full": a flat top where |2x − 1| < e,
  between the warm-up and the cooldown).

Inputs: "grid" evaluates F at x_k = k/steps, k = 0 … steps − 1 (left end of each step, so step 0 runs at the
peak, as everywhere in `lrcontrol.schedules`); "kronecker" uses the horizon-free inputs of `kronecker_inputs`.
"""

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import InputError, check_int, check_real
from ._schedule import Schedule, uniform

PHI = (math.sqrt(5.0) - 1.0) / 2.0  # golden-ratio conjugate φ = 0.618…, the Kronecker step
PERIODS = ("cooldown", "full")
INPUTS = ("grid", "kronecker")


# --- raw multipliers F(x): numpy in, numpy out (float64); JAX arrays and tracers in, jnp (jit/vmap/grad-safe) ----

def _xp(x):
    return jnp if isinstance(x, jax.Array) else np  # jax.Array covers tracers


def _arr(x):
    return np.asarray(x, dtype=np.float64) if _xp(x) is np else x


def cosine_window(x, floor: float = 0.0):
    """Raised cosine with floor l: F(x) = l + (1 − l)cos²(πx/2) = l + (1 − l)(1 + cos πx)/2."""
    check_real("floor", floor, lo=0.0, hi=1.0)
    return floor + (1.0 - floor) * _xp(x).cos(0.5 * math.pi * _arr(x)) ** 2


def linear_window(x):
    """Linear decay F(x) = 1 − x (the β → 1 limit of the β-exponential)."""
    return 1.0 - _arr(x)


def exponential_window(x, beta: float):
    """β-exponential F(x) = (βˣ − β)/(1 − β), 0 < β < 1: F(0) = 1, F(1) = 0, F(½) = √β/(1 + √β) < ½."""
    check_real("beta", beta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    return (beta ** _arr(x) - beta) / (1.0 - beta)


def polynomial_window(x, i: float, n: float = 2.0):
    """Polynomial window F(x) = (1 − xⁱ)ⁿ, i > 0, n > 0 (i → 0: early collapse; i → ∞: late collapse)."""
    check_real("i", i, lo=0.0, lo_open=True)
    check_real("n", n, lo=0.0, lo_open=True)
    return (1.0 - _arr(x) ** i) ** n


def logistic_window(x, i: float):
    """Logistic window of slope i > 0: F = [(1 + 2^{2i(x−½)})⁻¹ − h̲]/(h̄ − h̲), rescaled so F(0) = 1, F(1) = 0.

    h̲ = (1 + 2ⁱ)⁻¹ and h̄ = (1 + 2⁻ⁱ)⁻¹ are the raw logistic's values at x = 1 and x = 0. In logit form the raw
    curve is 1/h − 1 = 2^{2i(x−½)}: its log-odds fall at the constant rate 2i·ln 2 per unit x, so large i is a
    step at x = ½ (i = 40 drops from 0.9 to 0.1 within Δx = 0.08).
    """
    check_real("i", i, lo=0.0, lo_open=True)
    lo, hi = 1.0 / (1.0 + 2.0**i), 1.0 / (1.0 + 2.0**-i)
    h = 1.0 / (1.0 + 2.0 ** (2.0 * i * (_arr(x) - 0.5)))
    return (h - lo) / (hi - lo)


WINDOW_FAMILIES = {"cosine": (cosine_window, ("floor",)), "linear": (linear_window, ()),
                   "exponential": (exponential_window, ("beta",)), "polynomial": (polynomial_window, ("i", "n")),
                   "logistic": (logistic_window, ("i",))}


# --- input maps ------------------------------------------------------------------------------------------------

def full_period(x):
    """Warm-up + cooldown input map x ← |2x − 1| (peak at x = ½)."""
    return abs(2.0 * _arr(x) - 1.0)


def with_coverage(x, coverage: float):
    """Coverage input map: x ← max(0, (x − e)/(1 − e)), flat F = 1 for x < e."""
    check_real("coverage", coverage, lo=0.0, hi=1.0, hi_open=True)
    return _xp(x).maximum(0.0, (_arr(x) - coverage) / (1.0 - coverage))


def kronecker_inputs(steps: int):
    """The first `steps` points of the Kronecker sequence x_t = frac(φt), φ = (√5 − 1)/2, sorted ascending.

    What "horizon-free, sorted into a monotone table" means: the points x_0, x_1, … do not depend on the run
    length, and every prefix of n of them is spread almost evenly over [0, 1) — by the three-distance theorem
    the sorted prefix has at most three distinct gaps, and its discrepancy is O(log n / n) (random points:
    O(1/√n)). Evaluating a window at them and sorting gives a lookup table: entry k is F(x_(k)), the window at
    the k-th smallest point, monotone whenever F is (for a decreasing F this is the values F(x_t) sorted in
    decreasing order). The table is a quasi-random, equal-in-distribution stand-in for the direct grid
    F(k/n): |F(x_(k)) − F(k/n)| ≤ Lip(F)·max_k |x_(k) − k/n|, which tests/test_windows.py measures to be
    ≤ (1 + ln n)/n. Lengthening the run from n to n' steps keeps the first n points (the new table is the sorted
    merge of the old points with the new ones), so no point is recomputed when the horizon grows.
    The price of the jitter: windows that meet F(½) = ½ with equality (cosine, linear, every logistic) can land
    just below ½ at t = τ/2 in the table, so the strict early check fails them there; the mid-to-late sharpness
    is noisier but far from the threshold (problems/results/window_compliance has the numbers).
    """
    n = check_int("steps", steps, lo=1)
    t = np.arange(n, dtype=np.float64)
    return np.sort(np.mod(PHI * t, 1.0))


def window_inputs(steps: int, *, period: str = "cooldown", coverage: float = 0.0, inputs: str = "grid"):
    """The x at which a window is evaluated on each of `steps` steps, after the period and coverage maps."""
    n = check_int("steps", steps, lo=1)
    if period not in PERIODS:
        raise InputError(f"period must be one of {', '.join(PERIODS)}, got {period!r}.")
    if inputs not in INPUTS:
        raise InputError(f"inputs must be one of {', '.join(INPUTS)}, got {inputs!r}.")
    check_real("coverage", coverage, lo=0.0, hi=1.0, hi_open=True)
    x = np.arange(n) / n if inputs == "grid" else kronecker_inputs(n)
    if period == "full":
        x = full_period(x)
    return with_coverage(x, coverage) if coverage > 0.0 else x


def window(family: str, steps: int, *, peak: float = 1.0, period: str = "cooldown", coverage: float = 0.0,
           inputs: str = "grid", horizon=None, **params) -> Schedule:
    """A window-function schedule η_k = peak·F(x_k) on `steps` steps.

    `family`: "cosine" (param floor, default 0), "linear", "exponential" (beta, required), "polynomial"
    (i, required; n, default 2), "logistic" (i, required). `period`: "cooldown" (F from 1 down to F(1)) or
    "full" (warm-up + cooldown, x ← |2x − 1|). `coverage` e: flat at the peak for x < e, then the window on
    (x − e)/(1 − e). `inputs`: "grid" (x = k/steps) or "kronecker" (see `kronecker_inputs`). `horizon` puts the
    values on a time grid instead of step indices, as in `lrcontrol.schedules`.

    Example: `window("logistic", 1000, peak=3e-4, i=4)` is S4, compliant (`lrcontrol.analysis.compliance`).
    """
    if family not in WINDOW_FAMILIES:
        raise InputError(f"family must be one of {', '.join(WINDOW_FAMILIES)}, got {family!r}.")
    fn, names = WINDOW_FAMILIES[family]
    unknown = sorted(set(params) - set(names))
    if unknown:
        allowed = ", ".join(names) if names else "none"
        raise InputError(f"{unknown[0]} is not a parameter of the {family} window (allowed: {allowed}).")
    signature = inspect.signature(fn).parameters
    for name in names:  # the family's parameters without a default are required
        if name not in params and signature[name].default is inspect.Parameter.empty:
            raise InputError(f"the {family} window needs {name} (see lrcontrol.schedules.window).")
    check_real("peak", peak, lo=0.0)
    n = check_int("steps", steps, lo=1)
    values = peak * fn(window_inputs(n, period=period, coverage=coverage, inputs=inputs), **params)
    return uniform(values, n, horizon)
