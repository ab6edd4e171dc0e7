"""The time-normalised relative rate γ̄ and the three-stage compliance check (Somefun, "Annealing via Window
Functions").

For a multiplier F(t) = η_t / max η on steps t = 0, 1, …, τ − 1 (τ = number of steps),

    γ̄(t) = (1 − F(t)) / (t·F(t)),   t > 0,

the average slope of 1/F since the start: 1/F(t) = 1 + t·γ̄(t). Three stages (the paper's, with this toolkit's
number for the third):

1. early, t ≤ τ/2: F(t) ≥ ½ (equivalently t·γ̄(t) ≤ 1);
2. late, t ≥ τ − 1: F(t) ≤ 1/τ (equivalently γ̄(τ − 1) ≥ 1; on τ steps the last one is t = τ − 1);
3. mid-to-late, τ/2 ≤ t ≤ τ − 1: γ̄ rises smoothly, with no sharp transition. The paper states this only
   qualitatively; the number used here is the **sharpness**

       S(t) = −d ln γ̄ / d ln(τ − t),

   the exponent with which γ̄ grows as the remaining time τ − t shrinks (locally γ̄ ∝ (τ − t)^(−S)), taken as
   the secant between consecutive steps, S(t) = ln(γ̄(t+1)/γ̄(t)) / ln((τ − t)/(τ − t − 1)). The stage passes
   iff 0 ≤ S(t) ≤ max_sharpness (default 10) for every pair τ/2 ≤ t < t + 1 ≤ τ − 1.

Why this variable. (i) The first two stages force γ̄ to rise: γ̄(τ/2) ≤ 2/τ and γ̄(τ − 1) ≥ 1, a factor ≥ τ/2,
while the remaining time falls from τ/2 to 1, by the same factor; so the average of S (over ln of the remaining
time) is ≥ 1 for every schedule passing stages 1 and 2. Linear decay has γ̄(t) = 1/(τ − t) exactly, S ≡ 1: it
meets both bounds with equality, the gentlest compliant rise. (ii) It is a property of the shape, not of τ:
γ̄ = g(t/τ)/τ, so S changes with τ only through O(1/τ) discretisation. (iii) It does not punish the rise that
stage 2 demands: a window vanishing like (1 − x)^p at the end has S → p (linear 1, cosine and (1 − x^i)² 2),
whereas the log-derivative in t, d ln γ̄/d ln t, diverges like τ at the end for every compliant window (cosine's
reaches ≈ 2τ, far above a mid-course step's) and cannot separate them. (iv) A transition in the middle is
weighted by how much time is left: the logistic window's log-odds fall at the constant rate 2i·ln 2, which gives
S(½) = i·ln 2/(h̄ − h̲) − 1 (= 26.7 for i = 40, 2.14 for i = 4; cosine: S(½) = π − 1 = 2.14 — closed forms
tests/test_windows.py checks).

Why 10. The threshold lets γ̄ rise locally an order of magnitude faster than the average rate 1 that stages 1
and 2 together force (linear decay): at most 2¹⁰ ≈ 10³-fold per halving of the remaining time. It was not fitted
to a case: cosine (2.14), linear (1), P2 = (1 − x^1.8)² (2.0), S4 (2.14), E0.05 (1.36) and E0.99 (1.00) lie
below it and S40 (26.7) above it, so the note's classification comes out for any threshold in [2.15, 26.7).
With 10 the family boundaries are logistic i ≈ 15.9 and polynomial i ≈ 11 (any n): consistent with the note's
safe ranges (logistic i < 6; polynomial 1 < i < 10), and looser than its "safe" for logistic 6 ≤ i < 15.9,
where the note gives no verdict. Consequences to know: γ̄ leaving exactly 0 inside the stage (a flat top reaching
past τ/2: coverage e ≥ ½, WSD with a decay shorter than half the run) is S = ∞, a sharp transition; γ̄ falling
(a schedule held at a floor, a restart) is S < 0, not a rise.

Rounding: values meeting a bound with equality (linear at t = τ/2 and t = τ − 1, every logistic at t = τ/2)
are compared with an absolute slack of 4 machine epsilons of their dtype, nothing more (8.9e-16 in float64;
E0.99's F(τ/2) = 0.4987 is 1.3e-3 below ½ and fails).
"""

import math

import equinox as eqx
import numpy as np

from ._errors import InputError, check_real
from ._schedule import Schedule

MAX_SHARPNESS = 10.0


def _multiplier(schedule) -> tuple[np.ndarray, float]:
    """F = values / max values as float64, and the rounding slack (4 eps of the input's dtype)."""
    values = np.asarray(schedule.values if isinstance(schedule, Schedule) else schedule)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.dtype(np.float64)
    v = values.astype(np.float64)
    if v.ndim != 1 or v.shape[0] < 4:
        raise InputError(f"the schedule must be a 1-D array of at least 4 steps, got shape {v.shape}.")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise InputError("the schedule's values must be finite and >= 0.")
    top = v.max()
    if top == 0.0:
        raise InputError("the schedule is all zero, so its multiplier F = η/max η is undefined.")
    return v / top, 4.0 * float(np.finfo(dtype).eps)


def gamma_bar(schedule) -> np.ndarray:
    """γ̄(t) = (1 − F(t))/(t·F(t)) on steps t = 0 … τ − 1, F = η/max η; γ̄(0) is NaN (defined for t > 0).

    `schedule`: an `lrc.Schedule` or a 1-D array of learning rates (one per step). Units: per step; τ·γ̄ is a
    function of t/τ alone. Closed forms (tested): linear decay 1/(τ − t); cosine tan²(πx/2)/t.
    """
    return _gamma_bar(_multiplier(schedule)[0])


def _gamma_bar(f: np.ndarray) -> np.ndarray:
    t = np.arange(f.shape[0], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1.0 - f) / (t * f)
    g[0] = np.nan
    return g


def sharpness(schedule) -> tuple[np.ndarray, np.ndarray]:
    """(t, S(t)) on the mid-to-late stage: S(t) = ln(γ̄(t+1)/γ̄(t)) / ln((τ − t)/(τ − t − 1)), t = ⌈τ/2⌉ … τ − 2.

    γ̄ constant at 0 or at ∞ counts as S = 0 (no rise); leaving 0, or reaching ∞ (F = 0 before the last step),
    is S = ∞. See the module docstring for why this measures "no sharp transition".
    """
    return _sharpness(_gamma_bar(_multiplier(schedule)[0]))


def _sharpness(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tau = g.shape[0]
    t = np.arange(math.ceil(tau / 2), tau - 1)
    a, b = g[t], g[t + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.log(b / a) / np.log((tau - t) / (tau - t - 1.0))
    s = np.where(a == b, 0.0, s)  # 0 → 0 and ∞ → ∞: no change
    s = np.where((a == 0.0) & (b > 0.0), np.inf, s)
    s = np.where(np.isinf(b) & np.isfinite(a), np.inf, s)
    return t, s


class Compliance(eqx.Module):
    """Result of `compliance`: pass/fail per stage, the first violating step of each, and the measured values.

    - `early`: F(t) ≥ ½ for t ≤ τ/2; `early_first` the first step where it is not (None if none),
      `early_min` = min F on the stage (at `early_argmin`).
    - `late`: F(τ − 1) ≤ 1/τ; `late_value` = F(τ − 1), `late_first` = τ − 1 when it fails.
    - `smooth`: 0 ≤ S ≤ `max_sharpness` on the mid-to-late stage; `smooth_first` the first pair's start t where
      not, `smooth_reason` ("too sharp" or "γ̄ falls"), `sharpness_max` = max S (at `sharpness_argmax`).
    """

    tau: int
    early: bool
    late: bool
    smooth: bool
    early_first: int | None
    early_min: float
    early_argmin: int
    late_value: float
    smooth_first: int | None
    smooth_reason: str
    sharpness_max: float
    sharpness_argmax: int
    max_sharpness: float

    @property
    def late_first(self) -> int | None:
        """τ − 1 when the late stage fails (its only step), else None."""
        return None if self.late else self.tau - 1

    @property
    def passed(self) -> bool:
        return self.early and self.late and self.smooth

    @property
    def failed_stages(self) -> list[str]:
        return [name for name, ok in (("early", self.early), ("late", self.late), ("smooth", self.smooth))
                if not ok]

    def first_violation(self) -> tuple[str, int] | None:
        """(stage, step) of the earliest violation in time, or None if compliant."""
        hits = [(step, name) for name, step in (("early", self.early_first), ("smooth", self.smooth_first),
                                                ("late", self.late_first)) if step is not None]
        return None if not hits else (min(hits)[1], min(hits)[0])

    def to_dict(self) -> dict:
        def num(v):
            return v if v is None or math.isfinite(v) else ("inf" if v > 0 else "-inf")
        return {"tau": self.tau, "passed": self.passed, "failed_stages": self.failed_stages,
                "early": {"pass": self.early, "first_step": self.early_first,
                          "first_x": None if self.early_first is None else self.early_first / self.tau,
                          "min_F": self.early_min, "argmin_step": self.early_argmin},
                "late": {"pass": self.late, "step": self.tau - 1, "F": self.late_value, "bound": 1.0 / self.tau,
                         "tau_F": self.late_value * self.tau},
                "smooth": {"pass": self.smooth, "first_step": self.smooth_first,
                           "first_x": None if self.smooth_first is None else self.smooth_first / self.tau,
                           "reason": self.smooth_reason, "max_sharpness": num(self.sharpness_max),
                           "argmax_step": self.sharpness_argmax, "argmax_x": self.sharpness_argmax / self.tau,
                           "threshold": self.max_sharpness}}

    def __str__(self) -> str:
        tau, mark = self.tau, (lambda ok: "pass" if ok else "FAIL")
        head = "compliant" if self.passed else f"VIOLATES {', '.join(self.failed_stages)}"
        e = (f"min F = {self.early_min:.4f} at t = {self.early_argmin} (x = {self.early_argmin / tau:.3f})"
             if self.early else f"F < 1/2 first at t = {self.early_first} (x = {self.early_first / tau:.3f}); "
             f"min F = {self.early_min:.4f} at t = {self.early_argmin}")
        lt = f"F(τ−1) = {self.late_value:.3g} {'<=' if self.late else '>'} 1/τ = {1 / tau:.3g}"
        k = self.sharpness_argmax
        sm = f"max S = {self.sharpness_max:.3g} at t = {k} (x = {k / tau:.3f})"
        if not self.smooth:
            sm = (f"{self.smooth_reason} first at t = {self.smooth_first} (x = {self.smooth_first / tau:.3f}); "
                  + sm)
        rows = [("early  (t ≤ τ/2: F ≥ 1/2)", self.early, e), ("late   (t = τ−1: F ≤ 1/τ)", self.late, lt),
                (f"smooth (τ/2…τ−1: 0 ≤ S ≤ {self.max_sharpness:g})", self.smooth, sm)]
        width = max(len(r[0]) for r in rows)
        return "\n".join([f"window compliance, τ = {tau}: {head}"]
                         + [f"  {label.ljust(width)}  {mark(ok)}  {text}" for label, ok, text in rows])


def compliance(schedule, *, max_sharpness: float = MAX_SHARPNESS) -> Compliance:
    """Check the three-stage constraints on a schedule (an `lrc.Schedule` or 1-D array, one rate per step).

    τ is the number of steps and F = η/max η (the framework's F(0) = 1 for a cooldown; a warm-up fails the early
    stage at t = 0, as it should: check a full-period window's cooldown half on its own). The stages, the
    sharpness S and the default threshold 10 are defined and justified in this module's docstring.
    """
    check_real("max_sharpness", max_sharpness, lo=0.0, lo_open=True)
    f, slack = _multiplier(schedule)
    tau = f.shape[0]
    early_f = f[: tau // 2 + 1]  # t ≤ τ/2
    bad = np.flatnonzero(early_f < 0.5 - slack)
    late_value = float(f[tau - 1])
    late_ok = late_value <= 1.0 / tau + slack
    t, s = _sharpness(_gamma_bar(f))
    viol = np.flatnonzero((s > max_sharpness) | (s < 0.0))
    j = int(np.argmax(s))
    first = None if viol.size == 0 else int(t[viol[0]])
    reason = "" if first is None else ("γ̄ falls" if s[viol[0]] < 0 else "too sharp")
    k = int(np.argmin(early_f))
    return Compliance(tau=tau, early=bad.size == 0, late=bool(late_ok), smooth=viol.size == 0,
                      early_first=None if bad.size == 0 else int(bad[0]), early_min=float(early_f[k]),
                      early_argmin=k, late_value=late_value,
                      smooth_first=first, smooth_reason=reason, sharpness_max=float(s[j]),
                      sharpness_argmax=int(t[j]), max_sharpness=float(max_sharpness))
