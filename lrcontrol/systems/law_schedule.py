"""A schedule under a fitted loss-curve law, with the constraints practitioners use: a fixed linear warm-up over W
updates from 0 to the peak (η_s = peak·s/(W − 1), the shared curves' convention), then rates in [min_lr, peak],
optionally monotone non-increasing.

The system's controls are one per update s = 0 … N−1 (`ControlProblem(..., horizon=N)`); `prepare_controls` turns
the chosen controls into the rates the law sees:

- free (monotone = False): the chosen value is the rate for s ≥ W (bounds [min_lr, peak]);
- monotone: the chosen values are log-decrements w_s ∈ [0, 60] (`MAX_LOG_DECREMENT`) and
  η_s = min_lr + (peak − min_lr)·exp(−Σ_{W≤j≤s} w_j) for s ≥ W: monotone non-increasing, inside (min_lr, peak],
  smooth. (Luo et al., arXiv 2503.12811 §5, use additive decrements η = peak − Σδ clipped at the minimum; in
  additive decrements the toolkit's L-BFGS stalled (3000 iterations, not converged, above the published schedule's
  value); log-decrements suit rates that span decades.) With `max_fall` = f < 1 each update sheds at most the
  fraction f of the rate above min_lr: w_s ≤ −log(1 − f), a box bound. Under MPL the unconstrained optimum is a
  staircase (falls of most of the rate in one update, `law_staircase`), which real training did not reward
  (README); f bounds how abrupt a fall may be.

The warm-up controls are ignored (the warm-up overwrites them; their gradient is 0). For a law with a fused
`final_loss_grad_curvature` (MPL), the same is given in the chosen controls by the chain rule (reversed cumulative
sums for the log-decrements; the curvature there is an estimate: |diagonal| terms plus the S1 term's rank-one part), so
`Direct` preconditions L-BFGS with it, as for the laws' per-step rates. For a law with `schedule_newton` (the FSL law,
whose log-decrement diagonal steered L-BFGS to its iteration cap) the estimate comes as `HessianProducts`: `Direct`
then takes projected Newton–CG steps on Hessian–vector products, the estimate preconditioning them.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._errors import InputError, Param, check_int, check_real
from .._hessian_products import HessianProducts
from ._base import AbstractDiscreteSystem
from ._law import AbstractLossCurveLaw
# the log-decrement bound and the warm-up live in law_staircase (which this module imports, not the reverse)
from .law_staircase import FALLS, MAX_LOG_DECREMENT, best_staircase, supported, warmup_rates


class LawSchedule(AbstractDiscreteSystem):
    """A law's final loss as a function of the post-warm-up schedule (see the module docstring).

    **Arguments:** `law` (a fitted `AbstractLossCurveLaw`), `warmup` W ≥ 0 updates, `peak` > 0, `min_lr` in
    (0, peak) ((0, peak] if not monotone), `monotone` (decrement parametrisation), `max_fall` in (0, 1]: the largest
    fraction of the rate above min_lr that one update may shed (1: no limit; monotone only).
    """

    name: ClassVar[str] = "law_schedule"

    law: AbstractLossCurveLaw
    warmup: int = eqx.field(static=True)
    peak: float = eqx.field(static=True)
    min_lr: float = eqx.field(static=True)
    monotone: bool = eqx.field(static=True)
    max_fall: float = eqx.field(static=True)

    parameters: ClassVar = (
        Param("law", "the fitted law whose final loss is minimised", "a loss-curve law (lrc.systems.MultiPowerLaw, "
              "MomentumLaw, FSLLaw or BoundLaw)"),
        Param("warmup", "warm-up updates W >= 0 (linear from 0 to peak, fixed)", int, lo=0),
        Param("peak", "peak learning rate > 0 (the rate at the end of the warm-up)", lo=0.0, lo_open=True),
        Param("min_lr", "smallest rate after the warm-up, in (0, peak), or (0, peak] if not monotone", lo=0.0,
              lo_open=True),
        Param("monotone", "non-increasing rates after the warm-up (decrement parametrisation)", bool),
        Param("max_fall", "largest fraction of the rate above min_lr one update may shed, in (0, 1] (1: no limit; "
              "monotone only)", lo=0.0, lo_open=True, hi=1.0))

    def __init__(self, law, warmup: int = 0, peak: float = 3e-4, min_lr: float = 1e-10, monotone: bool = True,
                 max_fall: float = 1.0):
        if not isinstance(law, AbstractLossCurveLaw):
            raise InputError(f"law must be a loss-curve law such as lrc.systems.MultiPowerLaw, got "
                             f"{type(law).__name__}.")
        self._checked(warmup=warmup, peak=peak, min_lr=min_lr, monotone=monotone, max_fall=max_fall)
        # its upper end is `peak`, open for a monotone schedule: the decrements scale with peak − min_lr
        try:
            check_real("min_lr", min_lr, lo=0.0, hi=float(peak), lo_open=True, hi_open=bool(monotone))
        except InputError as err:
            if float(peak) <= 1e-10:  # the default min_lr, which the caller may not have set
                raise InputError(f"{str(err)[:-1]} (min_lr defaults to 1e-10: set a smaller one for a peak this "
                                 f"low).") from None
            raise
        if max_fall < 1 and not monotone:
            raise InputError("max_fall < 1 needs monotone = true (it bounds the log-decrements).")
        self.law = law
        self.warmup = check_int("warmup", warmup, lo=0)
        self.peak, self.min_lr, self.monotone = float(peak), float(min_lr), bool(monotone)
        self.max_fall = float(max_fall)

    def bounds(self) -> dict:
        if not self.monotone:
            return {"lr": (self.min_lr, self.peak)}
        return {"lr": (0.0, MAX_LOG_DECREMENT if self.max_fall == 1 else min(MAX_LOG_DECREMENT,
                                                                              -float(np.log1p(-self.max_fall))))}

    def problem(self, horizon: int):
        """`ControlProblem(self, FinalLoss(), horizon, bounds=self.bounds())`, checking warmup < horizon."""
        from .._problem import ControlProblem
        from ..objectives import FinalLoss

        horizon = check_int("horizon", horizon, lo=1)
        if self.warmup >= horizon:
            raise InputError(f"warmup must be smaller than horizon ({horizon}), got {self.warmup}.")
        return ControlProblem(self, FinalLoss(), horizon, bounds=self.bounds())

    def params(self) -> dict:
        return {"law": self.law.name, **self.law.params(), "warmup": self.warmup, "peak": self.peak,
                "min_lr": self.min_lr, "monotone": self.monotone, "max_fall": self.max_fall}

    # --- controls → rates ----------------------------------------------------------------------------------

    def rates(self, u) -> Array:
        """The per-update rates (N,) from the chosen controls (N,) or (N, 1)."""
        u = jnp.reshape(u[:, 0] if u.ndim == 2 else u, (-1,))
        w = self.warmup
        post = u[w:]
        if self.monotone:
            post = self.min_lr + (self.peak - self.min_lr) * jnp.exp(-jax.lax.cumsum(post))
        return jnp.concatenate([warmup_rates(w, self.peak).astype(u.dtype), post])

    def controls_for(self, rates) -> Array:
        """The chosen controls (N, 1) that give `rates` after the warm-up (rates must be monotone for a monotone
        schedule): the inverse of `rates` on the post-warm-up part. A rate at min_lr is a log-decrement plateau (no
        gradient: a solve started there keeps it); `optimise` lifts its starts off it (`FLOOR_LIFT`)."""
        rates = jnp.asarray(rates, float)
        w = self.warmup
        post = rates[w:]
        if self.monotone:
            z = jnp.log(jnp.maximum(post - self.min_lr, 1e-300) / (self.peak - self.min_lr))
            post = jnp.maximum(-jnp.diff(jnp.concatenate([jnp.zeros(1), z])), 0.0)
        return jnp.concatenate([jnp.zeros(w), post])[:, None]

    def schedule(self, u):
        """The per-update rates of the chosen controls `u` (e.g. `solution.controls`) as an `lrc.Schedule`, one
        cell per update — what to export (`to_optax`, `to_torch_lambda`, `to_csv`); `solution.schedule` holds the
        same rates (the solver's own controls, `solution.controls`, are log-decrements when monotone)."""
        from .._schedule import Schedule

        return Schedule(self.rates(u), name="lr")

    def prepare_controls(self, u):
        return self.rates(u)[:, None]

    def initial_controls(self, problem):
        """A WSD start: the peak, then a linear decay to min_lr over the last 20 % of the updates after warm-up.
        `optimise` also starts from the best tuned baseline and keeps the better end point."""
        n, w = problem.steps, self.warmup
        m = n - w
        x = np.clip((np.arange(m) - 0.8 * m) / (0.2 * m), 0.0, 1.0)
        per_step = self.controls_for(jnp.concatenate([warmup_rates(w, self.peak),
                                                      jnp.asarray(self.peak + (self.min_lr - self.peak) * x)]))
        if problem.blocks == problem.steps:
            return per_step
        # one control per block: the block's mean (for log-decrements the rates at block ends are then the same)
        counts = jnp.asarray(np.bincount(problem.block_of_step(), minlength=problem.blocks), per_step.dtype)
        return jax.ops.segment_sum(per_step, jnp.asarray(problem.block_of_step()), problem.blocks) / counts[:, None]

    # --- the law -------------------------------------------------------------------------------------------

    def final_loss(self, controls):
        return self.law.final_loss(jnp.reshape(controls[:, 0] if controls.ndim == 2 else controls, (-1,)))

    curve_nodes: ClassVar[int] = 512

    def loss_curve(self, controls):
        """(S1, the loss at the n+1 nodes) for the solution's record: the law at ≤ `curve_nodes` evenly spaced
        updates (the last included), interpolated linearly between them — a law's whole curve costs O(N·K) under a
        trace (N = 24000: 576M kernel terms), its sampled curve O(512·K). Exact values: `law.predict`. Node 0 and
        the nodes where S1 = 0 (the law is undefined there) repeat the first defined value."""
        lr = jnp.reshape(controls[:, 0] if controls.ndim == 2 else controls, (-1,))
        n = lr.shape[0]
        if n <= self.curve_nodes:
            curve = self.law.loss_curve(lr)[1][1:]
        else:
            at = np.unique(np.linspace(1, n - 1, self.curve_nodes).round().astype(int))
            curve = jnp.interp(jnp.arange(n), jnp.asarray(at), self.law.predict(lr, jnp.asarray(at)))
        # the law is undefined before any update and while S1 = 0 (a warm-up from rate 0): those nodes repeat the
        # first defined value, so that the record is finite (a solver reads a non-finite curve as a failed solve)
        first = curve[jnp.argmax(jnp.isfinite(curve))]
        curve = jnp.where(jnp.isfinite(curve), curve, first)
        return jnp.sum(lr), jnp.concatenate([first[None], curve])

    def initial_state(self):
        return self.law.initial_state()

    def step(self, state, controls, k):
        return self.law.step(state, controls, k)

    def loss(self, state):
        return self.law.loss(state)

    def final_loss_grad_curvature(self, u):
        """(L, ∂L/∂u, an estimate of diag ∂²L/∂u²) in the chosen controls u (not the rates: `ControlProblem`
        hands the chosen controls to this method), by the chain rule through `rates`."""
        u = jnp.reshape(u, (-1,))
        eta = self.rates(u)
        value, g, h = self.law.final_loss_grad_curvature(eta)
        if h is None:  # a law without a fused pass (autodiff): a neutral diagonal (|h| = 1 per rate)
            h = jnp.ones_like(eta)
        w = self.warmup
        gp, hp = g[w:], h[w:]
        if self.monotone:
            # η_i = m + (P − m)e^{−Σ_{j≤i} w_j}: ∂η_i/∂w_j = −e_i (i ≥ j), e_i = η_i − m; ∂²η_i/∂w_j² = e_i
            e = eta[w:] - self.min_lr
            suffix = lambda a: jax.lax.cumsum(a, reverse=True)  # noqa: E731
            # diag of Jᵀ H J + Σ g ∂²η, keeping |H_ii| and, where the law says it, the rank-one S1 part c·11ᵀ
            c = self.law.s1_curvature(eta)
            hp = suffix(jnp.abs(hp) * e * e) + c * suffix(e) ** 2 + suffix(gp * e)
            gp = -suffix(gp * e)
        zeros = jnp.zeros(w, eta.dtype)
        curvature = jnp.concatenate([jnp.ones(w, eta.dtype), hp])
        return (value, jnp.concatenate([zeros, gp]),
                HessianProducts(curvature) if self.law.schedule_newton else curvature)

    def rate_curvature(self, u):
        curvature = self.final_loss_grad_curvature(u)[2]
        return curvature.diagonal() if isinstance(curvature, HessianProducts) else curvature


FLOOR_LIFT = 1e-6  # `optimise`'s starts: rates at least min_lr + FLOOR_LIFT·(peak − min_lr) after the warm-up
# `optimise`'s iteration cap per start for a law solved by Newton–CG steps (`schedule_newton`, the FSL law): its solve
# gets close to its best end in a few hundred steps, then creeps on by refining a microstructure of the decay worth
# far less than any prediction's error, one control a step (README, loss-curve laws); it then reports not converged
NEWTON_CG_STEPS = 200


def optimise(system: "LawSchedule", horizon: int, solver=None, *, progress: bool | None = False,
             guard: bool | None = None):
    """The schedule minimising the law's final loss by `lrc.solve` (the per-update solve) from up to two starts,
    keeping the lower end: the best tuned baseline (`baselines`) and, where the law has a continuous-time staircase
    (`staircase_final_loss`, MPL) and the schedule is monotone, the best staircase (`law_staircase.best_staircase`:
    positions and levels of a few clean falls, found in milliseconds), else the system's own start
    (`initial_controls`). Under the published 25M MPL the staircase start ends below every end the per-update solve
    reaches from smooth starts, which differ by start (`law_staircase`); the baseline start stays as a guard for a law
    whose optimum is smooth. The starts' rates after the warm-up are lifted off the floor, to at least min_lr +
    `FLOOR_LIFT`·(peak − min_lr): at min_lr the log-decrements have no gradient, and a start there (a baseline's
    last update) stays there. The solver only descends, so the answer is never worse than the lifted best tuned
    baseline (the decrement parametrisation represents every monotone baseline), unless `guard` is False; how far
    the lift moves a baseline's value under the fitted laws is in the README.

    `solver`: default `Direct()`, with `NEWTON_CG_STEPS` iterations for a law solved by Newton–CG steps.

    `guard`: whether the best tuned baseline start runs. None (default): always after the system's own start, and
    after the staircase start only if the staircase's end is not below the best tuned baseline — from a smooth
    start the per-update solve takes thousands of iterations to a staircase of its own and, in every MPL row of
    `problems/loss_curve_laws.py`'s table, ends higher (README). True: always (the table runs it, to show that);
    False: never.

    Returns (the solution, {"start": which start won, "final_loss": each start's end value (the starts that ran),
    "baselines": the tuned baselines' values and rates as `baselines` returns them, "staircase": the staircase
    search's report, or None}).
    """
    import lrcontrol as lrc
    from lrcontrol._memory import check_fits

    problem = system.problem(horizon)
    check_fits(problem)  # before the baselines' and starts' arrays: an impossible horizon is one sentence
    if solver is None:
        solver = lrc.solvers.Direct(max_steps=NEWTON_CG_STEPS if system.law.schedule_newton else 5000)
    base = baselines(system.law, horizon, system.warmup, system.peak, system.min_lr)
    rates = base["_rates"]
    tuned = {k: v for k, v in base.items() if k != "_rates" and np.isfinite(v["final_loss"])}
    stairs, best, values = None, None, {}

    def start(per_update):
        # the start's rates lifted off the floor: at min_lr the log-decrements have no gradient (∂η_i/∂u_j ∝ η_i −
        # min_lr), so the solve could not raise a rate from there — a baseline's last rate is there, and the bound
        # law, whose optimum ends above it, then stopped at round-off on that plateau
        r = jnp.asarray(per_update)
        lifted = jnp.maximum(r, system.min_lr + FLOOR_LIFT * (system.peak - system.min_lr))
        return system.controls_for(r.at[system.warmup:].set(lifted[system.warmup:]))

    def run(label, u0):
        nonlocal best
        sol = lrc.solve(problem, solver, u0=u0, progress=progress)
        value = float(system.law.final_loss(system.rates(sol.controls)))
        values[label] = value
        if best is None or (np.isfinite(value) and not value >= best[1]):
            best = (sol, value, label)

    if supported(system) and horizon - system.warmup > FALLS + 1:
        stair_rates, stairs = best_staircase(system, horizon)
        run(f"best staircase ({stairs['falls']} falls)", start(stair_rates))
    else:
        # given explicitly (the same numbers `lrc.solve` would take by default): both starts then share one
        # compiled solve instead of compiling a second one for u0=None
        run("wsd (linear, 20 %)", jnp.asarray(system.initial_controls(problem)))
    if tuned and guard is not False:
        name = min(tuned, key=lambda k: tuned[k]["final_loss"])
        # a staircase end below the best tuned baseline already keeps the promise the guard is for
        if stairs is None or guard or not best[1] < tuned[name]["final_loss"]:
            run(f"best tuned baseline: {name}", start(rates[name]))
    return best[0], {"start": best[2], "final_loss": values, "baselines": base, "staircase": stairs}


# --- baselines under the law ---------------------------------------------------------------------------------

COOLDOWNS = ("linear", "1-sqrt", "cosine")


def _cooldown(x, shape):
    if shape == "linear":
        return 1 - x
    if shape == "1-sqrt":
        return 1 - np.sqrt(x)
    if shape == "cosine":
        return 0.5 * (1 + np.cos(np.pi * x))
    raise InputError(f"cooldown shape must be one of {', '.join(COOLDOWNS)}, got {shape!r}.")


def baseline_rates(kind: str, horizon: int, warmup: int, peak: float, min_lr: float, *, fraction: float = 0.2,
                   shape: str = "linear") -> np.ndarray:
    """Per-update rates of a baseline after the same warm-up: 'cosine' or 'linear' from peak to min_lr, 'constant',
    or 'wsd' (peak, then the last `fraction` of the post-warm-up updates cool down to min_lr with `shape`)."""
    m = horizon - warmup
    x = np.arange(m) / max(m - 1, 1)
    if kind == "cosine":
        post = min_lr + (peak - min_lr) * 0.5 * (1 + np.cos(np.pi * x))
    elif kind == "linear":
        post = peak + (min_lr - peak) * x
    elif kind == "constant":
        post = np.full(m, peak)
    elif kind == "wsd":
        k = max(int(round(fraction * m)), 1)
        xd = np.arange(1, k + 1) / k
        post = np.concatenate([np.full(m - k, peak), min_lr + (peak - min_lr) * _cooldown(xd, shape)])
    else:
        raise InputError(f"baseline must be cosine, linear, constant or wsd, got {kind!r}.")
    return np.concatenate([np.asarray(warmup_rates(warmup, peak)), post])


# one compiled final loss per law type and horizon, cached across calls (a jit made inside `baselines` was a new
# function on every call, so every `optimise` compiled it again)
_final_loss = jax.jit(lambda law, r: law.final_loss(r))


def baselines(law, horizon: int, warmup: int, peak: float, min_lr: float, extra: dict | None = None, *,
              coarse: bool = False) -> dict:
    """The law's predicted final loss for cosine and linear to min_lr and for WSD with its decay fraction tuned
    (a grid of 0.01 … 0.6, then a finer grid around the best) for each cooldown shape; `extra` adds named rate
    arrays (e.g. a published schedule); `coarse` tunes on fewer fractions (0.02 … 0.6 by 0.02, then ±0.01 by
    0.0025). Returns {name: {"final_loss", "fraction"?}} and the rates under "_rates"."""
    f = lambda r: _final_loss(law, r)  # noqa: E731
    out, rates = {}, {}
    for kind in ("cosine", "linear"):
        r = baseline_rates(kind, horizon, warmup, peak, min_lr)
        out[kind] = {"final_loss": float(f(jnp.asarray(r)))}
        rates[kind] = r
    for shape in COOLDOWNS:
        def value(fr, shape=shape):
            return float(f(jnp.asarray(baseline_rates("wsd", horizon, warmup, peak, min_lr, fraction=fr,
                                                      shape=shape))))
        grid = np.linspace(0.02, 0.6, 30) if coarse else np.linspace(0.01, 0.6, 60)
        vals = [value(fr) for fr in grid]
        best = float(grid[int(np.argmin(vals))])
        fine = np.linspace(max(best - 0.01, 0.001), min(best + 0.01, 1.0), 9 if coarse else 41)
        vals = [value(fr) for fr in fine]
        fr = float(fine[int(np.argmin(vals))])
        name = f"wsd ({shape})"
        out[name] = {"final_loss": float(np.min(vals)), "fraction": fr}
        rates[name] = baseline_rates("wsd", horizon, warmup, peak, min_lr, fraction=fr, shape=shape)
    for name, r in (extra or {}).items():
        out[name] = {"final_loss": float(f(jnp.asarray(r)))}
        rates[name] = np.asarray(r)
    out["_rates"] = rates
    return out


def describe(rates, warmup: int, peak: float) -> dict:
    """The shape of a post-warm-up schedule: where it first falls 1 % below the peak, the decay as a fraction of
    the post-warm-up updates, where it reaches half the peak, the final rate, the largest fall in one update and
    the number of updates that fall by more than 1 % of the peak, both after the warm-up (a smooth cooldown over
    D updates falls ~1/D of the peak per update; a staircase falls in a few big steps), and the exponent p of the
    best fit η ≈ min + (peak − min)(1 − x)^p over the decay (x from decay start to the end)."""
    r = np.asarray(rates, float)
    n = r.size
    post = r[warmup:]
    below = np.nonzero(post < 0.99 * peak)[0]
    start = warmup + (int(below[0]) if below.size else n - warmup)
    half = np.nonzero(post < 0.5 * peak)[0]
    falls = -np.diff(r[max(warmup - 1, 0):]) / peak
    largest = float(max(np.max(falls, initial=0.0), 0.0)) + 0.0  # + 0.0: never −0.0 (shown as "-0%")
    out = {"decay_start": start, "decay_fraction": (n - start) / (n - warmup),
           "half_peak_step": warmup + int(half[0]) if half.size else None, "final_lr": float(r[-1]),
           "largest_fall": largest, "falls_over_1pct": int(np.sum(falls > 0.01))}
    if n - start > 3:
        seg = r[start - 1:] if start > 0 else r[start:]
        x = np.arange(seg.size) / (seg.size)
        y = (seg - r[-1]) / (seg[0] - r[-1])
        ok = (y > 1e-3) & (y < 1) & (x > 0)
        if ok.sum() > 2:
            out["cooldown_exponent"] = float(np.sum(np.log(y[ok]) * np.log1p(-x[ok])) /
                                             np.sum(np.log1p(-x[ok]) ** 2))
    return out
