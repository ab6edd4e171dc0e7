"""Refinement from gradient norms and the convex last-iterate bound (Defazio et al. 2023, arXiv 2310.07831).

Closed forms checked: linear decay from constant norms (exact), the bound's optimum D/√(Σ G⁻²) = DG/√T, and the
refined schedule against `lrc.solve` on `LastIterateBound` (closed form vs numeric solve).
"""

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol.cli import main
from lrcontrol.schedules import RefineWarning, refine, smoothed_norms
from lrcontrol.systems import LastIterateBound
from lrcontrol.systems.last_iterate import _phi, bound_of_steps, bound_of_weights, steps_of_weights

T = 60  # norms per run; the bound's problem has T − 1 steps
BOUND = jax.jit(bound_of_steps)  # one compile for every evaluation below (same shapes)
STEPS = np.arange(T)
# The bound's round-off floor: the projected gradient cannot go below ~√(ε·B·curvature), and the curvature in the
# tiny late steps is large (~1/s). With Direct's default rtol 1e-8 the warm-up case ends "stalled at round-off" at
# ~8e-8; 1e-6 is above the floor there. In the late-rise case (last steps ~1e-4 of the first) the floor is ~1e-5
# relative and the solve ends stalled at round-off — with the schedule within 1e-9 of the closed form. Both
# outcomes are accepted below; the agreement with the closed form is the check.
SOLVER = lrc.solvers.Direct(rtol=1e-6)
STALLED = "not converged: objective stalled at round-off"


def _settled(diagnostics):
    return diagnostics.converged or diagnostics.message.startswith(STALLED)


def _solve(system):
    u0 = jnp.full((system.steps, 1), 0.05)  # the same u0 shape for every solve: one compile for the whole file
    return lrc.solve(system.problem(), SOLVER, u0=u0, progress=False)


def warmup_norms():
    return 1.0 + 4.0 * np.exp(-STEPS / 6.0)


def late_rise_norms():
    return 1.0 + np.where(STEPS > 40, (STEPS - 40) / 5.0, 0.0)


def collapse_norms():
    return np.where(STEPS < 48, 1.0, np.exp(-(STEPS - 48) / 2.0))


# --- refine ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_constant_norms_give_exact_linear_decay(optimizer):
    sched = refine(np.full(T, 3.7), optimizer=optimizer, peak=0.5)
    linear = 0.5 * (T - 1 - STEPS) / (T - 1)
    assert np.max(np.abs(np.asarray(sched.values) - linear)) <= 1e-16
    assert sched.values[-1] == 0.0 and sched.steps == T
    assert np.array_equal(np.asarray(sched.grid), np.arange(T + 1))


def test_large_early_norms_give_warmup():
    v = np.asarray(refine(warmup_norms()).values)
    top = int(np.argmax(v))
    assert 5 < top < T // 2
    assert np.all(np.diff(v[: top + 1]) > 0) and np.all(np.diff(v[top:]) < 0)  # rises, then decays
    assert v[0] < 0.3


def test_rising_late_norms_give_sharper_anneal():
    v = np.asarray(refine(late_rise_norms()).values)
    linear = (T - 1 - STEPS) / (T - 1)
    assert np.argmax(v) == 0 and np.all(np.diff(v) <= 0)
    late = STEPS >= 45
    assert np.all(v[late][:-1] < 0.5 * linear[late][:-1])  # far below linear decay where the norms rose
    assert np.argmax(v <= 0.5) < np.argmax(linear <= 0.5)  # reaches half the peak earlier


def test_collapse_guard_detects_floors_and_warns():
    g = collapse_norms()
    with pytest.warns(RefineWarning, match="norm_floor"):
        guarded = np.asarray(refine(g).values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning with the guard off
        raw = np.asarray(refine(g, norm_floor=0.0).values)
    smooth, floored = smoothed_norms(g)
    assert floored.any() and np.all(smooth >= 0.1 * np.median(smooth[~floored]) - 1e-15)
    # Unguarded, the late weights explode: the schedule's start is ~10⁻⁴ of its late peak; the floor bounds the
    # blow-up (weights ≤ 100× the median weight) though the refined schedule still rises where the norms fell.
    assert raw[0] < 1e-3 and guarded[0] > 10 * raw[0]


def test_window_is_a_median_filter():
    g = np.ones(T)
    g[10] = 1e3  # a one-step spike: the median filter removes it, so the schedule stays linear decay
    v = np.asarray(refine(g, window=0.1).values)
    assert np.max(np.abs(v - (T - 1 - STEPS) / (T - 1))) <= 1e-15
    assert np.isclose(refine(g, window=1e-3).values[10], 0.0, atol=1e-5)  # width 1: no smoothing


@pytest.mark.parametrize("kwargs, message", [
    (dict(grad_norms=[1.0, -1.0, 2.0]), "grad_norms must be finite numbers > 0, got -1 at step 1"),
    (dict(grad_norms=[1.0, float("nan"), 2.0]), "grad_norms must be finite numbers > 0, got nan"),
    (dict(grad_norms=[1.0, 0.0, 2.0]), "grad_norms must be finite numbers > 0, got 0"),
    (dict(grad_norms=[1.0]), "grad_norms must hold at least 2 values"),
    (dict(grad_norms=[[1.0, 2.0]]), "grad_norms must be a 1-D sequence"),
    (dict(grad_norms=[1.0, 2.0, 3.0], window=0.0), "window must be a finite number > 0 and < 1, got 0"),
    (dict(grad_norms=[1.0, 2.0, 3.0], window=1.0), "window must be a finite number > 0 and < 1, got 1"),
    (dict(grad_norms=[1.0, 2.0, 3.0], optimizer="rmsprop"), "optimizer must be 'sgd' or 'adam'"),
    (dict(grad_norms=[1.0, 2.0, 3.0], peak=0.0), "peak must be a finite number > 0"),
    (dict(grad_norms=[1.0, 2.0, 3.0], norm_floor=1.0), "norm_floor must be a finite number >= 0 and < 1"),
])
def test_bad_input_names_the_parameter(kwargs, message):
    norms = kwargs.pop("grad_norms")
    with pytest.raises(lrc.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        refine(norms, **kwargs)


# --- the bound system ------------------------------------------------------------------------------------------

def test_bound_closed_forms():
    d, g = 2.0, 3.0
    system = LastIterateBound(distance=d, gradient_bound=g, horizon=T - 1)
    t = np.arange(1, T)
    linear = d / (g * np.sqrt(T)) * (1 - t / T)
    assert np.max(np.abs(np.asarray(system.optimal_steps()) - linear)) < 1e-16
    assert abs(float(BOUND(linear, system.grad_norms, d)) - d * g / np.sqrt(T)) < 1e-14
    assert abs(float(system.optimal_value()) - d * g / np.sqrt(T)) < 1e-15
    # (★★) inverts the weights' step map: φ at the family member v_w = w_T/√κ (κ = w_{1:T}/η) equals (★) at w,
    # for any positive weights and norms, and B = min over the family is no larger.
    rng = np.random.default_rng(0)
    w, norms = rng.uniform(0.2, 3.0, T), rng.uniform(0.5, 2.0, T)
    steps = steps_of_weights(w, norms, d)
    eta = d / np.sqrt(np.sum(w**2 * norms**2))
    log_vw = np.log(w[-1] / np.sqrt(w.sum() / eta))
    at_w = float(bound_of_weights(w, norms, d))
    assert np.isclose(float(_phi(jnp.asarray(log_vw), steps, norms[:-1] ** 2, norms[-1] ** 2, d)), at_w, rtol=1e-12)
    assert float(BOUND(steps, norms, d)) < at_w
    # With no step taken V_1 = v, so B = min_v D²/(2v²) + ½G_T²v² = D·G_T (the loss curve's first point is this
    # with G_1 in the last slot: D·G₁).
    assert np.isclose(float(BOUND(jnp.zeros(T - 1), norms, d)), d * norms[-1], rtol=1e-12)


def test_bound_gradient_matches_finite_differences():
    norms = late_rise_norms()
    x = jnp.asarray(np.random.default_rng(1).uniform(0.01, 0.1, T - 1))
    grad = jax.jit(jax.grad(bound_of_steps))(x, norms, 1.0)
    for k in (0, 20, T - 2):
        e = jnp.zeros(T - 1).at[k].set(1e-6)
        fd = (BOUND(x + e, norms, 1.0) - BOUND(x - e, norms, 1.0)) / 2e-6
        assert abs(float(grad[k] - fd)) < 1e-8 * max(1.0, abs(float(fd)))


def test_numeric_optimum_is_linear_decay():
    system = LastIterateBound(horizon=T - 1)
    sol = _solve(system)
    u = np.asarray(sol.controls[:, 0])
    ref = np.asarray(system.optimal_steps())
    assert sol.diagnostics.converged
    assert np.max(np.abs(u - ref)) / ref.max() < 1e-7
    assert abs(float(sol.objective) - 1 / np.sqrt(T)) < 1e-12
    assert np.isclose(float(sol.loss[0]), 1.0) and np.isclose(float(sol.loss[-1]), float(sol.objective))


@pytest.mark.filterwarnings("ignore::lrcontrol.schedules.RefineWarning")
@pytest.mark.parametrize("case", [warmup_norms, late_rise_norms, collapse_norms])
def test_refine_equals_numeric_optimum_of_the_bound(case):
    """Closed form (refine on the smoothed norms) against lrc.solve on the bound with those norms."""
    norms = case()
    smooth, _ = smoothed_norms(norms)
    sol = _solve(LastIterateBound(smooth))
    u = np.asarray(sol.controls[:, 0])
    r = np.asarray(refine(norms).values)
    assert _settled(sol.diagnostics) and r[-1] == 0.0
    assert np.max(np.abs(u / u.max() - r[:-1] / r.max())) < 1e-6  # measured: 9e-9, 5e-10, 1.6e-7
    assert np.isclose(float(sol.objective), 1 / np.sqrt(np.sum(smooth**-2.0)), rtol=1e-12)


def test_bound_bad_input():
    with pytest.raises(lrc.InputError, match="horizon .* is required when grad_norms is None"):
        LastIterateBound()
    with pytest.raises(lrc.InputError, match="grad_norms must be finite numbers > 0"):
        LastIterateBound([1.0, 0.0])
    with pytest.raises(lrc.InputError, match="distance must be a finite number > 0"):
        LastIterateBound([1.0, 2.0], distance=-1.0)
    with pytest.raises(lrc.InputError, match="horizon must be len\\(grad_norms\\) - 1 = 2"):
        LastIterateBound([1.0, 2.0, 3.0]).final_loss(jnp.ones(5))


# --- the command line ------------------------------------------------------------------------------------------

def test_cli_refine_writes_schedule(tmp_path, capsys):
    src = tmp_path / "norms.csv"
    src.write_text("grad_norm\n" + "\n".join(repr(float(x)) for x in warmup_norms()) + "\n")
    out = tmp_path / "out"
    assert main(["refine", "--grad-norms", str(src), "--peak", "0.3", "--out", str(out)]) == 0
    assert "peak at step" in capsys.readouterr().out
    for name in ("schedule.csv", "schedule.json", "schedule.png"):
        assert (out / name).stat().st_size > 0
    expected = np.asarray(refine(warmup_norms(), peak=0.3).values)
    for name in ("schedule.csv", "schedule.json"):
        assert np.array_equal(np.asarray(lrc.Schedule.load(out / name).values), expected)
    # JSON input (a list, or an object with "grad_norms") and the adam variant
    (tmp_path / "n.json").write_text(json.dumps({"grad_norms": list(np.full(T, 2.0))}))
    assert main(["refine", "--grad-norms", str(tmp_path / "n.json"), "--optimizer", "adam", "--quiet",
                 "--out", str(tmp_path / "o2")]) == 0
    v = np.asarray(lrc.Schedule.load(tmp_path / "o2" / "schedule.csv").values)
    assert np.max(np.abs(v - (T - 1 - STEPS) / (T - 1))) <= 1e-16


def test_cli_refine_rejects_a_nested_json_list(tmp_path, capsys):
    src = tmp_path / "norms.json"
    src.write_text(json.dumps([[1.0, 2.0], [3.0, 4.0]]))  # not one norm per step: no silent flattening
    assert main(["refine", "--grad-norms", str(src), "--out", str(tmp_path / "out")]) == 2
    assert "grad_norms must be a 1-D sequence of numbers, got shape (2, 2)." in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, args, message", [
    ("1\n-2\n3\n", [], "grad_norms must be finite numbers > 0"),
    ("1\n2\n3\n", ["--window", "1.5"], "window must be a finite number > 0 and < 1"),
    ("1\n2\n3\n", ["--optimizer", "lion"], "optimizer must be 'sgd' or 'adam'"),
    ("1\n2\n3\n", ["--peak", "-1"], "peak must be a finite number > 0"),
    ("1,2\n3,4\n", [], "must have one number per line"),
    ("norm\n1\nabc\n", [], "line 3 is not a number"),
    ("5\n", [], "at least 2 values"),
    (None, [], "cannot be read"),
])
def test_cli_refine_bad_input(tmp_path, capsys, content, args, message):
    src = tmp_path / "norms.txt"
    if content is not None:
        src.write_text(content)
    out = tmp_path / "out"
    assert main(["refine", "--grad-norms", str(src), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0 and err.startswith("lrcontrol: error:")
    assert not out.exists() or not any(out.iterdir())
