"""Fit a loss-curve law to training runs: `lrc.fit(law_class, curves)` → (fitted law, `FitReport`).

Loss (Luo et al., arXiv 2503.12811 §4, the convention of the shared curves): Σ over every logged point of every
curve of Huber_δ(log L − log L̂), δ = 1e-3. Parameters stay in their valid ranges (`law_class.param_ranges`,
open intervals) through a transformation: θ = lo + (hi − lo)·sigmoid(z) on a bounded interval, lo + e^z or
hi − e^z on a half-line, z itself on the line. The fit minimises over z in float64 with optimistix's
Levenberg–Marquardt (the Huber loss written as least squares, ½Σφ(r)²; a law with `predict_jacobian` gives the
Jacobian in one pass), deterministically:

1. a grid of starting points (`law_class.initial_grid(curves)` where the law has one, else 3 points per parameter
   across its range, a fixed subset of at most 128 combinations) — never published parameters;
2. the loss at every grid point (on every 4th logged point, one vmapped pass), then Levenberg–Marquardt from the
   best `starts` of them on every 4th logged point (where at least 4 per parameter remain);
3. Levenberg–Marquardt on all the points from the end point with the lowest loss (on all points).

Uncertainty (Gauss–Newton, delta method): with r the log residuals, J = ∂r/∂z and s² = Σr²/(n − p),
Cov(z) ≈ s²(JᵀJ)⁻¹, Cov(θ) = D Cov(z) D with D = dθ/dz; a prediction's variance is ∇_z L̂ᵀ Cov(z) ∇_z L̂
(`FitReport.band`). The residuals of a training curve are correlated along the run, so these errors are a lower
bound on the real uncertainty [?]: read them as the local sensitivity of the fit, not a calibrated interval.

Metrics per curve (data/README.md): MAE, RMSE, R², PredE = mean |L − L̂|/L, WorstE = max |L − L̂|/L.
"""

import functools
import itertools
import time
from dataclasses import dataclass, field

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._cache import register
from ._curves import LossCurve, check_curves
from ._errors import InputError, check_int, check_real
import optimistix as optx


# --- the parametrisation ------------------------------------------------------------------------------------

def _to_theta(law_class, z):
    out = []
    for i, n in enumerate(law_class.param_names):
        lo, hi = law_class.param_ranges[n]
        if lo is not None and hi is not None:
            t = lo + (hi - lo) * jax.nn.sigmoid(z[i])
        elif lo is not None:
            t = lo + jnp.exp(z[i])
        elif hi is not None:
            t = hi - jnp.exp(z[i])
        else:
            t = z[i]
        # A far-out z rounds onto an end of the open interval (sigmoid(40) == 1, e^-800 == 0, e^800 == inf), which
        # the law rejects: keep θ a step inside (a fit that drove the momentum law's decay to z ≈ -800 ended in an
        # InputError instead of a report). The step: ε relative, at least the smallest normal number (XLA on a
        # CPU flushes subnormals to 0).
        fi = jnp.finfo(t.dtype)
        inside_lo = -float(fi.max) if lo is None else lo + max(abs(lo) * float(fi.eps), float(fi.tiny))
        inside_hi = float(fi.max) if hi is None else hi - max(abs(hi) * float(fi.eps), float(fi.tiny))
        out.append(jnp.clip(t, inside_lo, inside_hi))
    return jnp.stack(out)


def _to_z(law_class, theta):
    out = []
    for i, n in enumerate(law_class.param_names):
        lo, hi = law_class.param_ranges[n]
        t = float(theta[i])
        if lo is not None and hi is not None:
            f = (t - lo) / (hi - lo)
            out.append(np.log(f) - np.log1p(-f))
        elif lo is not None:
            out.append(np.log(t - lo))
        elif hi is not None:
            out.append(np.log(hi - t))
        else:
            out.append(t)
    return np.asarray(out, dtype=float)


def default_grid(law_class, curves) -> dict[str, list[float]]:
    """Three starting values per parameter across its valid range (the generic grid)."""
    grid = {}
    for n in law_class.param_names:
        lo, hi = law_class.param_ranges[n]
        if lo is not None and hi is not None:
            grid[n] = [lo + f * (hi - lo) for f in (0.2, 0.5, 0.8)]
        elif lo is not None:
            grid[n] = [lo + v for v in (0.1, 1.0, 10.0)]
        elif hi is not None:
            grid[n] = [hi - v for v in (0.1, 1.0, 10.0)]
        else:
            grid[n] = [-1.0, 0.0, 1.0]
    return grid


def _grid_points(law_class, curves, max_points=128, fixed=None) -> np.ndarray:
    grid = law_class.initial_grid(curves)  # a law's own starting values; None: the generic grid
    grid = default_grid(law_class, curves) if grid is None else grid
    grid = {**grid, **{n: [v] for n, v in (fixed or {}).items()}}  # a fixed parameter: its one value
    combos = np.asarray(list(itertools.product(*(grid[n] for n in law_class.param_names))), dtype=float)
    if len(combos) > max_points:  # a fixed, spread subset
        combos = combos[np.random.default_rng(0).permutation(len(combos))[:max_points]]
    return combos


# --- the objective --------------------------------------------------------------------------------------------

def huber(r, delta):
    """Huber_δ(r) = r²/2 for |r| ≤ δ, δ(|r| − δ/2) beyond."""
    a = jnp.abs(r)
    return jnp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _curve_data(law_class, lr, steps):
    """(arrays, key) of one curve for the fit's programs: the law's `plan` of it (MPL: the schedule-only work,
    done once) or its rates and steps, as arrays to pass to `jit` as arguments — as closure constants XLA would
    fold the law's sums and scans of the data at compile time; `key`, hashable, is the rest of what the compiled
    program depends on (with the arrays' shapes)."""
    planned = law_class.plan(lr, steps)
    if planned is not None:
        arrays, static = planned
        return jax.tree_util.tree_map(jnp.asarray, arrays), ("planned", static)
    return (jnp.asarray(lr), jnp.asarray(steps)), ("direct",)


@functools.lru_cache(maxsize=64)
def _predictor(law_class, key):
    """(θ, arrays) ↦ the predicted losses of one curve (`_curve_data`); differentiated through the law's one-pass
    Jacobian where it has one (`predict_jacobian`, or the planned form's: MPL), else by autodiff of `predict`."""
    if key[0] == "planned":
        def value(theta, d, jac=False):
            return law_class.from_vector(theta).predict_planned(d, key[1], jac=jac)

        value_jacobian = functools.partial(value, jac=True)
    else:
        value = lambda theta, d: law_class.from_vector(theta).predict(*d)  # noqa: E731
        value_jacobian = lambda theta, d: law_class.from_vector(theta).predict_jacobian(*d)  # noqa: E731
        dtype = jnp.zeros(()).dtype
        shapes = (jax.ShapeDtypeStruct((len(law_class.param_names),), dtype),
                  (jax.ShapeDtypeStruct((2,), dtype), jax.ShapeDtypeStruct((1,), jnp.int32)))
        if jax.eval_shape(value_jacobian, *shapes) is None:  # no one-pass Jacobian: autodiff of predict
            return value

    @jax.custom_jvp
    def g(theta, d):
        return value(theta, d)

    @g.defjvp
    def g_jvp(primals, tangents):
        pred, jac = value_jacobian(*primals)
        return pred, jac @ tangents[0]

    return g


@functools.lru_cache(maxsize=64)
def _residuals(law_class, keys):
    preds = [_predictor(law_class, k) for k in keys]

    def residuals(theta, data):
        return jnp.concatenate([logl - jnp.log(pred(theta, arrays)) for pred, (arrays, logl) in zip(preds, data)])

    return residuals


def _residual_fn(law_class, curves, thin: int = 1):
    """(residuals(θ, data), data): the log residuals of every curve's logged points (every `thin`-th), with the
    curves' arrays in `data` (pass it through `jit` as an argument). The same function for curves that differ
    only in their values (`_curve_data`), so its compiled programs are reused."""
    keys, data = [], []
    for c in curves:
        arrays, key = _curve_data(law_class, c.lr, c.steps[::thin])
        keys.append(key)
        data.append((arrays, jnp.log(jnp.asarray(c.losses[::thin]))))
    return _residuals(law_class, tuple(keys)), data


def _huber_root(r, delta):
    # φ with φ²/2 = Huber_δ: r inside, sign(r)·√(2δ|r| − δ²) outside (C¹): the Huber loss as least squares
    a = jnp.abs(r)
    return jnp.where(a <= delta, r, jnp.sign(r) * jnp.sqrt(jnp.maximum(2 * delta * a - delta * delta, 0.0)))


def metrics(losses, predicted) -> dict[str, float]:
    """MAE, RMSE, R², PredE = mean |L − L̂|/L, WorstE = max |L − L̂|/L over a curve's logged points."""
    L, P = np.asarray(losses, float), np.asarray(predicted, float)
    err = L - P
    ss = float(np.sum((L - L.mean()) ** 2))
    return {"points": int(L.size), "MAE": float(np.mean(np.abs(err))), "RMSE": float(np.sqrt(np.mean(err**2))),
            "R2": float(1 - np.sum(err**2) / ss) if ss > 0 else float("nan"),
            "PredE": float(np.mean(np.abs(err) / L)), "WorstE": float(np.max(np.abs(err) / L))}


@eqx.filter_jit  # one compiled call per curve shape: eager, MPL's planned sums would compile op by op
def _jitted_predict(law, lr, steps):
    return law.predict(lr, steps)


def _predict(law, lr, steps):
    return _jitted_predict(law, jnp.asarray(lr), jnp.asarray(steps))


def fit_loss(law, curves, delta: float = 1e-3) -> float:
    """The fit's loss for any law: Σ over the curves' logged points of Huber_δ(log L − log L̂) (what `fit`
    minimises; compare a fitted law with published parameters on the same curves)."""
    curves = check_curves(curves, 1)
    r = np.concatenate([np.log(c.losses) - np.log(np.asarray(_predict(law, c.lr, c.steps))) for c in curves])
    return float(jnp.sum(huber(jnp.asarray(r), delta)))


def evaluate_law(law, curves) -> dict[str, dict]:
    """Metrics of a law on each curve, by name."""
    curves = check_curves(curves, 1)
    return {c.name: metrics(c.losses, _predict(law, c.lr, c.steps)) for c in curves}


# --- the report -------------------------------------------------------------------------------------------------

@dataclass
class FitReport:
    """How a fit went: parameters, their standard errors, the loss, the starts, per-curve metrics."""

    law: str
    params: dict
    standard_errors: dict
    objective: float
    converged: bool
    message: str
    iterations: int
    starts: list
    metrics: dict
    wall_time_s: float
    z: np.ndarray = field(repr=False)
    cov_z: np.ndarray = field(repr=False)
    law_class: type = field(repr=False)
    at_bounds: tuple = ()  # parameters fitted onto an edge of their range (`at_bounds`)
    pilots: dict = field(default_factory=dict)  # the fit curves' peaks and lengths (`pilot_range`)
    fixed: dict = field(default_factory=dict)  # parameters held at given values, not fitted
    template: tuple | None = field(default=None, repr=False)  # every parameter's (z, θ), read for the fixed ones

    @property
    def unexplained(self) -> tuple[str, ...]:
        """The fit curves the law does not follow: R² below 0, i.e. the fitted law describes the curve worse than
        the curve's own mean loss does (a curve without an R², one logged point or a flat one, is not named). What
        the law predicts for schedules like such a curve is not supported by the fit (README: pilots at several
        peaks, where a constant run at a too-high rate whose loss rose was such a curve for every law)."""
        return tuple(name for name, m in self.metrics.items() if m["R2"] < 0.0)

    def band(self, lr, steps, level: float = 1.96):
        """(prediction, lower, upper): L̂ ± level·se at `steps` under the rates `lr`, se by the delta method
        from the Gauss–Newton covariance of the fitted parameters (a lower bound on the real uncertainty)."""
        lr, steps = jnp.asarray(lr), jnp.asarray(steps)
        names = self.law_class.param_names
        free = tuple(i for i, n in enumerate(names) if n not in self.fixed)
        template = self.template or (jnp.asarray(self.z), _to_theta(self.law_class, jnp.asarray(self.z)))
        theta_of = _theta_of(self.law_class, free)
        f = lambda z: self.law_class.from_vector(theta_of(z, template)).predict(lr, steps)  # noqa: E731
        z = jnp.asarray(self.z)
        pred = f(z)
        jac = jax.jacfwd(f)(z)
        se = jnp.sqrt(jnp.maximum(jnp.einsum("mi,ij,mj->m", jac, jnp.asarray(self.cov_z), jac), 0.0))
        return pred, pred - level * se, pred + level * se

    def to_dict(self) -> dict:
        return {"law": self.law, "params": self.params, "standard_errors": self.standard_errors,
                "objective": self.objective, "converged": self.converged, "message": self.message,
                "iterations": self.iterations, "starts": self.starts, "metrics": self.metrics,
                "wall_time_s": self.wall_time_s, "at_bounds": list(self.at_bounds), "pilots": self.pilots,
                "unexplained": list(self.unexplained), "fixed": self.fixed}


# --- the fit ------------------------------------------------------------------------------------------------------

def _huber_sum(r, delta):
    return jnp.sum(jnp.where(jnp.isfinite(r), huber(r, delta), jnp.inf))


def _theta_of(law_class, free):
    """(z, (z0, θ0)) ↦ θ: the free parameters' z (`free`, a tuple of indices) written into z0 and mapped to their
    ranges; the fixed parameters' values are θ0's, exactly (not through z and back)."""
    index = np.asarray(free, dtype=int)
    is_free = np.isin(np.arange(len(law_class.param_names)), index)

    def theta(z, template):
        z0, theta0 = template
        return jnp.where(is_free, _to_theta(law_class, z0.at[index].set(z)), theta0)
    return theta


@functools.lru_cache(maxsize=16)
def _programs(law_class, residuals, coarse, delta, max_steps, rtol, free):
    """The fit's compiled programs, made once per law, residual functions (`_residual_fn`: the curves' structure),
    settings and free parameters, so that a repeated fit (other curves of the same shapes, other starts, other
    values of the fixed parameters) compiles nothing again. `z` is the free parameters' (indices `free`); the data
    argument `d` is (curves' data, (z, θ) of every parameter — the fixed ones' values read from it):

    - residuals_jacobian(z, d): the log residuals on every point and their Jacobian in z, in one call (each start's
      end is judged by it; the standard errors and metrics come from it);
    - screen(zs, d): the Huber loss at a batch of starts (vmapped);
    - run_coarse, run_all (z0, d) → (z, converged, steps): Levenberg–Marquardt on the thinned and on all points.
    """
    z_of = _theta_of(law_class, free)

    @jax.jit
    def residuals_jacobian(zz, d):
        return residuals(z_of(zz, d[1]), d[0]), jax.jacfwd(lambda y: residuals(z_of(y, d[1]), d[0]))(zz)

    screen = jax.jit(jax.vmap(lambda z, d: _huber_sum(coarse(z_of(z, d[1]), d[0]), delta), in_axes=(0, None)))
    solver = optx.LevenbergMarquardt(rtol=rtol, atol=1e-12)

    def levenberg_marquardt(res):
        def run(z0, d):
            sol = optx.least_squares(lambda z, dd: _huber_root(res(z_of(z, dd[1]), dd[0]), delta), solver, z0,
                                     args=d, max_steps=max_steps, throw=False)
            return sol.value, sol.result == optx.RESULTS.successful, sol.stats["num_steps"]
        return jax.jit(run)

    run_coarse = levenberg_marquardt(coarse)
    run_all = run_coarse if coarse is residuals else levenberg_marquardt(residuals)
    return residuals_jacobian, screen, run_coarse, run_all


for _cache in (_predictor, _residuals, _programs):
    register(_cache.cache_clear)


def _checked_fixed(law_class, fixed) -> dict[str, float]:
    """`fixed` ({name: value}) checked against the law's parameters and their ranges (one sentence naming the
    parameter otherwise); at least one parameter must stay free."""
    if fixed is None:
        return {}
    if not isinstance(fixed, dict):
        raise InputError(f"fixed must be a dict of parameter values, got {type(fixed).__name__}.")
    names = law_class.param_names
    for name in fixed:
        if name not in names:
            raise InputError(f"fixed: '{name}' is not a parameter of {law_class.name} (its parameters: "
                             f"{', '.join(names)}).")
    if len(fixed) == len(names):
        raise InputError(f"fixed: every parameter of {law_class.name} is fixed; leave at least one to fit.")
    law_class(**fixed)  # the law's own check of each value's range (others at their defaults)
    return {name: float(fixed[name]) for name in names if name in fixed}


def fit(law_class, curves, *, fixed: dict | None = None, delta: float = 1e-3, starts: int = 3, max_steps: int = 200,
        rtol: float = 1e-8, grid_points: int = 128):
    """Fit `law_class` (a subclass of `AbstractLossCurveLaw`) to `curves` (one or more `LossCurve`).

    `fixed` ({name: value}) holds parameters at given values (the momentum law's decay at the paper's 0.999, say);
    the others are fitted, and only they count towards the points a fit needs and the standard errors (a fixed
    parameter's is 0). Returns (the fitted law, `FitReport`). See the module docstring for the loss, the
    parametrisation, the starts and the standard errors. Deterministic: the same curves give the same fit.
    """
    from .systems._law import AbstractLossCurveLaw

    if not (isinstance(law_class, type) and issubclass(law_class, AbstractLossCurveLaw)):
        raise InputError(f"law_class must be a loss-curve law class (e.g. lrc.systems.MultiPowerLaw), "
                         f"got {law_class!r}.")
    fixed = _checked_fixed(law_class, fixed)
    free = tuple(i for i, n in enumerate(law_class.param_names) if n not in fixed)
    p = len(free)
    curves = check_curves(curves, p)
    check_real("delta", delta, lo=0.0, lo_open=True)
    starts = check_int("starts", starts, lo=1)
    check_int("max_steps", max_steps, lo=1)
    t0 = time.perf_counter()
    residuals, curve_data = _residual_fn(law_class, curves)
    total = sum(len(c) for c in curves)
    thin = 4 if total >= 16 * p else 1  # the starts run on every 4th logged point where enough remain
    coarse, coarse_curves = _residual_fn(law_class, curves, thin=thin) if thin > 1 else (residuals, curve_data)

    programs = _programs(law_class, residuals, coarse, delta, max_steps, rtol, free)
    residuals_jacobian, screen, run_coarse, run_all = programs

    # 1. the grid, screened on the thinned points (one vmapped pass); fixed parameters at their values
    grid = _grid_points(law_class, curves, grid_points, fixed)
    z_grid = np.stack([_to_z(law_class, g) for g in grid])
    # every parameter's z and θ at the first start: the fixed ones' values (the free ones are overwritten)
    template = (jnp.asarray(z_grid[0]), jnp.asarray(grid[0]))
    data, coarse_data = (curve_data, template), (coarse_curves, template)
    z_of = lambda z: _theta_of(law_class, free)(z, template)  # noqa: E731
    zs = jnp.asarray(z_grid[:, list(free)])

    def loss_z(z):
        return float(_huber_sum(residuals_jacobian(z, data)[0], delta))

    values = np.asarray(screen(zs, coarse_data))
    values = np.where(np.isfinite(values), values, np.inf)
    order = np.argsort(values, kind="stable")[:starts]

    # 2. Levenberg–Marquardt from the best starts on the thinned points, in z (unbounded) ...
    tried, best = [], None
    for i in order:
        z, ok, steps = run_coarse(zs[i], coarse_data)
        value, ok, steps = loss_z(z), bool(ok), int(steps)
        tried.append({"start": {n: float(v) for n, v in zip(law_class.param_names, grid[i]) if n not in fixed},
                      "start_objective_screen": float(values[i]), "objective": value,
                      "iterations": steps, "converged": ok, "points": "every 4th" if thin > 1 else "all"})
        if np.isfinite(value) and (best is None or value < best[0]):
            best = (value, z, ok, steps)
    if best is None:
        raise InputError(f"the fit of {law_class.name} found no finite loss from any start: check the curves.")
    value, z, ok, iterations = best
    # ... 3. and from the best end point on all points
    note = ""
    if thin > 1:
        z_all, ok_all, steps_all = run_all(z, data)
        value_all = loss_z(z_all)
        # Levenberg–Marquardt on the Huber roots can leave through a flat direction into overflow (non-finite or
        # higher loss); then the thinned points' end, already judged on all points, is the better answer
        if np.isfinite(value_all) and value_all <= value:
            z, value, ok, iterations = z_all, value_all, bool(ok_all), int(steps_all)
        else:
            ok, iterations = False, int(steps_all)
            note = (f" (on all points it ended at a loss of {value_all:.4g}, above {value:.4g} where it started: "
                    "that start, the end point on every 4th point, is kept)")
    message = ("converged" if ok else f"not converged in {iterations} Levenberg–Marquardt steps") + note
    theta = z_of(z)
    law = law_class.from_vector(theta)

    # 3. uncertainty (Gauss–Newton on the log residuals)
    r, jac = residuals_jacobian(z, data)
    n = int(r.size)
    s2 = float(jnp.sum(r * r)) / max(n - p, 1)
    jtj = np.asarray(jac.T @ jac)
    try:  # an end point far along a flat direction (a parameter run off to ∞) can have an overflowed Jacobian
        cov_z = s2 * np.linalg.pinv(jtj) if np.all(np.isfinite(jtj)) else np.full_like(jtj, np.inf)
    except np.linalg.LinAlgError:
        cov_z = np.full_like(jtj, np.inf)
    dtheta = np.asarray(jax.jacfwd(z_of)(z))
    # A parameter the curves do not determine (a flat direction: a huge cov_z) can overflow here; its standard
    # error is then infinite, which is the honest answer, not a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        var = np.diag(dtheta @ cov_z @ dtheta.T)
    se = np.where(np.isnan(var), np.inf, np.sqrt(np.maximum(var, 0.0)))
    se[[i for i in range(len(se)) if i not in free]] = 0.0  # a fixed parameter: no uncertainty from the fit
    # per-curve metrics from the same residuals: L̂ = L·e^(−r)
    ends = np.cumsum([len(c) for c in curves])[:-1]
    fitted = {c.name: metrics(c.losses, c.losses * np.exp(-rc))
              for c, rc in zip(curves, np.split(np.asarray(r), ends))}
    report = FitReport(
        law=law_class.name, params=dict(zip(law_class.param_names, map(float, theta))),
        standard_errors=dict(zip(law_class.param_names, map(float, se))), objective=value,
        converged=bool(ok), message=message, iterations=iterations, starts=tried, metrics=fitted,
        wall_time_s=time.perf_counter() - t0, z=np.asarray(z), cov_z=cov_z, law_class=law_class,
        at_bounds=tuple(n for n in at_bounds(law_class, np.asarray(theta)) if n not in fixed),
        pilots=pilot_range(curves), fixed=fixed, template=template)
    return law, report


EDGE = 1e-4  # an interval parameter this close to an end, relative to its width, counts as on that end
RUNAWAY = 1e20  # a half-line parameter this far from its end counts as gone to infinity (no law needs such values)


def at_bounds(law_class, theta) -> tuple[str, ...]:
    """The parameters of `theta` (in `param_names` order) on an edge of their open range: on an interval within
    EDGE of its width from an end, on a half-line within 1e-10·max(1, |end|) of its end or beyond RUNAWAY·max(1,
    |end|) from it (run off toward the open end at infinity). A fit that ends there has
    pushed the law to its limit (the data ask for a value the law's form does not allow, or do not determine it):
    its predictions near the fitted runs may still be good, but away from them — another peak, a longer horizon, a
    schedule optimised under the law — they are not to be trusted [?]."""
    out = []
    for n, t in zip(law_class.param_names, map(float, theta)):
        lo, hi = law_class.param_ranges[n]
        if lo is not None and hi is not None:
            f = (t - lo) / (hi - lo)
            edge = min(f, 1.0 - f) < EDGE
        else:
            end = lo if lo is not None else hi
            edge = end is not None and not abs(t - end) < RUNAWAY * max(1.0, abs(end))
            edge = edge or any(b is not None and abs(t - b) < 1e-10 * max(1.0, abs(b)) for b in (lo, hi))
        if edge:
            out.append(n)
    return tuple(out)


def pilot_range(curves) -> dict:
    """What the fit curves cover: {"peak": [lowest, highest] of the curves' largest rates, "updates": [shortest,
    longest] run length}."""
    peaks = [float(np.max(c.lr)) for c in curves]
    lengths = [int(len(c.lr)) for c in curves]
    return {"peak": [min(peaks), max(peaks)], "updates": [min(lengths), max(lengths)]}


def outside_pilots(pilots: dict, horizon: int, peak: float) -> list[str]:
    """Where a schedule of `horizon` updates at `peak` leaves what the fit curves covered (`pilot_range`), one
    phrase each; empty inside. A law fitted at one peak and length says little about another [?]: in training
    checks (problems/staircase_training.py) schedules derived at 4–8× the pilots' peak lost to tuned cosine."""
    notes = []
    lo, hi = pilots["peak"]
    if hi <= 0:  # curves that never had a rate: no peak to compare with
        notes.append(f"the fit curves have no positive rate to compare peak {peak:g} with")
    elif peak > hi * (1 + 1e-9):
        notes.append(f"peak {peak:g} is {peak / hi:.3g}× the highest peak of the fit curves ({hi:g})")
    elif lo > 0 and peak < lo * (1 - 1e-9):
        notes.append(f"peak {peak:g} is {lo / peak:.3g}× below the lowest peak of the fit curves ({lo:g})")
    longest = pilots["updates"][1]
    if horizon > longest:
        notes.append(f"{horizon} updates are {horizon / longest:.3g}× the longest fit curve ({longest})")
    return notes


PROFILE_POINTS = 256  # a schedule's profile: its mean rate over this many equal parts of the run


def schedule_profile(lr, points: int = PROFILE_POINTS) -> np.ndarray:
    """The mean rate over each of `points` equal parts of a run (relative time: part i covers updates
    [i·N/points, (i+1)·N/points), split updates counted pro rata), so runs of different lengths compare; the
    profile's mean is the run's mean rate."""
    lr = np.asarray(lr, dtype=float).reshape(-1)
    cumulative = np.concatenate([[0.0], np.cumsum(lr)])
    at_edges = np.interp(np.linspace(0.0, lr.size, points + 1), np.arange(lr.size + 1), cumulative)
    return np.diff(at_edges) * points / lr.size


def nearest_schedule(lr, profiles: dict) -> tuple[str, float]:
    """The named profile (`schedule_profile`, `PROFILE_POINTS` values) nearest to the run `lr`, and the distance
    Σ|p − q| / max(Σp, Σq): 0 for the same schedule, up to 2 for disjoint ones; an L1 distance of the rates
    themselves, so time spent at a high rate weighs most. A law's prediction for a schedule is only as good as its fit to the run nearest to it
    (README: pilots at several peaks)."""
    p = schedule_profile(lr)
    dist = {name: float(np.abs(p - np.asarray(q)).sum() / max(p.sum(), float(np.sum(q))))
            for name, q in profiles.items()}
    name = min(dist, key=dist.get)
    return name, dist[name]


__all__ = ["LossCurve", "FitReport", "fit", "fit_loss", "metrics", "evaluate_law", "huber", "at_bounds",
           "pilot_range", "outside_pilots", "schedule_profile", "nearest_schedule"]
