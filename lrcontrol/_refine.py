"""Schedule refinement from a previous run's gradient norms — Defazio, Cutkosky, Mehta & Mishchenko (arXiv 2310.07831).

Defazio, Cutkosky, Mehta & Mishchenko 2023, arXiv 2310.07831 [P, C]. Given the norms ĝ_1…ĝ_T logged during a run of
the same length T:

1. median-filter them over a window of a fraction τ of the run (`window`, 10% in the authors' deep-learning runs);
2. weights w_t = ĝ_t^{−2} for SGD (ℓ2 norms), w_t = ĝ_t^{−1} for Adam (ℓ1 norms of the gradient);
3. η_t ∝ w_t Σ_{p>t} w_p (t = 1…T; η_T = 0), normalised to peak 1, times `peak`.

For SGD step 3 is, up to its scale, the minimiser of the weighted last-iterate bound (★) of
`lrc.systems.LastIterateBound` with G_t = ĝ_t (by Cauchy–Schwarz; tests/test_refine.py checks it against
`lrc.solve` on that system). Constant norms give linear decay η_t = peak·(T − t)/(T − 1) exactly; large early norms a
warm-up; norms rising late a sharper final anneal.

**Collapse guard [D].** The paper's failure mode [P]: norms collapsing to ≈ 0 at the end of the run (overfitting,
ViT and RCNN in the paper) make the final weights explode, so the schedule puts its mass — and its peak — at the
end. We floor the smoothed norms at `norm_floor` × their median before forming weights (default 0.1, i.e. a weight
at most 100× the median weight for SGD, 10× for Adam) and warn when that happens (`RefineWarning`, naming how many
steps were floored). Why this is principled: the bound (★) holds for any *upper* bounds G_t on the gradient norms,
and raising a norm estimate keeps it an upper bound, so the floored schedule is still the exact optimum of a valid
(more conservative) bound; it gives up only the part of the refinement that trusts a near-zero norm, which the
re-run does not reproduce once the schedule changes. `norm_floor=0` turns the guard off.
"""

import math
import warnings

import numpy as np

from ._errors import InputError, check_real
from ._schedule import Schedule

OPTIMIZERS = ("sgd", "adam")


class RefineWarning(UserWarning):
    """The collapse guard of `refine` raised some smoothed gradient norms to its floor."""


def _check_norms(grad_norms) -> np.ndarray:
    try:
        g = np.asarray(grad_norms, dtype=float)
    except (TypeError, ValueError):
        raise InputError("grad_norms must be a 1-D sequence of numbers.") from None
    if g.ndim != 1:
        raise InputError(f"grad_norms must be a 1-D sequence of numbers, got shape {g.shape}.")
    if g.shape[0] < 2:
        raise InputError(f"grad_norms must hold at least 2 values (one per training step), got {g.shape[0]}.")
    bad = ~np.isfinite(g) | (g <= 0)
    if np.any(bad):
        k = int(np.argmax(bad))
        raise InputError(f"grad_norms must be finite numbers > 0, got {g[k]:g} at step {k}.")
    return g


def _window_steps(window: float, n: int) -> int:
    """The median filter's width: the odd number of steps nearest window·n (at least 1)."""
    return max(1, 2 * int(math.floor(window * n / 2)) + 1)


def smoothed_norms(grad_norms, *, window: float = 0.1, norm_floor: float = 0.1):
    """The norms `refine` forms its weights from: (smoothed, floored), with `floored` a boolean mask of the steps
    the collapse guard raised.

    Median filter of width `_window_steps(window, T)` (odd, centred), the ends padded with the end values
    (scipy's mode="nearest"); then ĝ_t ← max(ĝ_t, norm_floor · median(ĝ)).
    """
    from scipy.ndimage import median_filter

    g = _check_norms(grad_norms)
    check_real("window", window, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    check_real("norm_floor", norm_floor, lo=0.0, hi=1.0, hi_open=True)
    smooth = median_filter(g, size=_window_steps(window, g.shape[0]), mode="nearest")
    floor = norm_floor * float(np.median(smooth))
    floored = smooth < floor
    return np.where(floored, floor, smooth), floored


def refine_weights(norms, optimizer: str = "sgd") -> np.ndarray:
    """w_t = ĝ_t^{−2} (SGD) or ĝ_t^{−1} (Adam, ℓ1 norms), divided by their largest (no overflow)."""
    if optimizer not in OPTIMIZERS:
        raise InputError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}.")
    g = np.asarray(norms, float)
    power = 2.0 if optimizer == "sgd" else 1.0
    return (g / g.min()) ** -power


def refine(grad_norms, *, window: float = 0.1, optimizer: str = "sgd", peak: float = 1.0,
           norm_floor: float = 0.1) -> Schedule:
    """The refined schedule from a previous run's gradient norms (Defazio et al. 2023; see the module docstring).

    **Arguments:**

    - `grad_norms`: ĝ_1…ĝ_T > 0, one per step of the previous run (ℓ2 norms for SGD, ℓ1 norms for Adam), T ≥ 2.
    - `window`: the median filter's width as a fraction of the run, 0 < window < 1 (the width in steps is the
      odd number nearest window·T, at least 1: a width of 1 is no smoothing).
    - `optimizer`: "sgd" (w = ĝ^{−2}) or "adam" (w = ĝ^{−1}).
    - `peak`: the largest learning rate (> 0); the shape has peak 1 before scaling.
    - `norm_floor`: the collapse guard, 0 ≤ norm_floor < 1: smoothed norms below norm_floor × their median are
      raised to it (with a `RefineWarning`); 0 turns it off.

    Returns an `lrc.Schedule` of T values on step indices 0…T (cell t − 1 holds η_t), the last value 0.
    """
    check_real("peak", peak, lo=0.0, lo_open=True)
    norms, floored = smoothed_norms(grad_norms, window=window, norm_floor=norm_floor)
    w = refine_weights(norms, optimizer)
    if floored.any():
        warnings.warn(f"refine: {int(floored.sum())} of {floored.size} smoothed gradient norms fell below "
                      f"norm_floor ({norm_floor:g}) × their median and were raised to {float(norms[floored][0]):.3g} "
                      f"(collapse guard; norm_floor=0 turns it off).", RefineWarning, stacklevel=2)
    tail = np.cumsum(w[::-1])[::-1]  # Σ_{p≥t} w_p, summed from the end
    shape = w * np.append(tail[1:], 0.0)  # w_t Σ_{p>t} w_p; η_T = 0
    return Schedule(peak * shape / shape.max())
