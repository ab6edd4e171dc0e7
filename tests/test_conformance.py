"""Every system the registry knows, through the same checks (a new system joins by being exported from\nlrcontrol.systems).

At a small size each system's problem must have: a gradient that agrees with central finite differences; where
it declares one, a Hessian diagonal (the preconditioner) equal to `jax.hessian`'s; where its final loss has a
closed form, that form and its loss curve equal to unrolling `step`; parameters that survive the JSON round trip
(`problem.params()` → `--set` → the same problem); and a solve with every applicable solver that converges, the
solvers agreeing with each other. (Bad input is checked for every parameter in tests/test_validation.py and
tests/test_cli_hardening.py.)
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol import _registry
from lrcontrol._hessian import MinKernelHessian
from lrcontrol._memory import state_size
from lrcontrol.systems._base import AbstractDiscreteSystem

# Small sizes for the systems whose CLI defaults are sized for a real run; any other system (a new one joins by being
# exported from lrcontrol.systems) is checked at its registry defaults.
SMALL = {"perceptron": ["steps=40"], "teacher_student": ["steps=16", "horizon=1"],
         "random_features": ["modes=20", "horizon=30"], "fsl": ["horizon=30"], "quadratic": ["horizon=4"],
         "random_features_momentum": ["modes=20", "horizon=30"], "random_features_batch": ["modes=20", "horizon=30",
                                                                                          "budget=2"],
         "last_iterate": ["horizon=20"], "mlp": ["steps=10", "hidden=4", "samples=40"],
         "fsl_ode": ["horizon=20", "steps=10", "eta_max=0.5"]}
BUILDABLE = sorted(name for name, e in _registry.SYSTEMS.items() if e.build is not None)


def test_every_exported_system_is_listed_and_the_runnable_ones_are_checked():
    listed = {e.system for e in _registry.SYSTEMS.values()}
    exported = {getattr(lrc.systems, n) for n in lrc.systems.__all__ if not n.startswith("Abstract")}
    assert exported == listed
    assert set(SMALL) <= set(BUILDABLE)


@functools.cache
def _problem(name):
    return _registry.build_problem(name, SMALL.get(name, []))


_SOLVERS = {"direct": lrc.solvers.Direct, "shooting": lrc.solvers.Shooting, "hjb": lrc.solvers.HJB}


@functools.cache
def _solution(name, solver_name):
    return lrc.solve(_problem(name)[0], _SOLVERS[solver_name](), progress=False)


@functools.cache
def _interior(name, seed=0):
    # A point inside the bounds where every control matters: Direct's answer (the solve test's, computed once),
    # perturbed by ±10%, with the learning rate kept clear of 0 and of its upper bound.
    problem, _ = _problem(name)
    u = np.asarray(_solution(name, "direct").controls, float)
    rng = np.random.default_rng(seed)
    u = u * (1 + 0.1 * rng.uniform(-1, 1, u.shape)) + 0.01 * rng.uniform(-1, 1, u.shape) * (u == 0)
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    span = np.where(np.isfinite(hi - lo), hi - lo, np.abs(u) + 1)
    return jnp.asarray(np.clip(u, lo + 0.05 * span, hi - 0.05 * span))


def _directions(u):
    rng = np.random.default_rng(1)
    return jnp.asarray(rng.standard_normal((2,) + u.shape))


@eqx.filter_jit
def _evaluations(problem, u, directions, h):
    # Everything the checks below evaluate at one point, in one compiled call per system (equinox caches it on the
    # problem's structure, so the JSON round trip's rebuilt problem reuses it): the cost, its central differences
    # along two directions, jax.grad, and the problem's value_grad_curvature.
    # The five costs (the point and its four neighbours) are one vmapped call: one compiled copy of the cost.
    shifts = (h[:, None, None] * directions)
    points = jnp.concatenate([u[None], u + shifts, u - shifts])
    costs = jax.vmap(problem.cost)(points)
    steps = (costs[1:3], costs[3:5])
    return costs[0], steps, jax.grad(problem.cost)(u), problem.value_grad_curvature(u)


_hessian = eqx.filter_jit(lambda p, u: jax.hessian(lambda v: p.cost(v[:, None]))(u[:, 0]))


@functools.cache
def _evaluated(name):
    problem, _ = _problem(name)
    u = _interior(name)
    directions = _directions(u)
    h = 1e-5 * jnp.max(jnp.abs(u)) / jnp.max(jnp.abs(directions), axis=(1, 2))
    return u, directions, h, _evaluations(problem, u, directions, h)


@pytest.mark.parametrize("name", BUILDABLE)
def test_gradient_agrees_with_finite_differences(name):
    u, directions, h, (_, (plus, minus), grad, _) = _evaluated(name)
    for i in range(2):
        fd = (plus[i] - minus[i]) / (2 * h[i])
        # central differences: O(h²) truncation plus round-off |J|·eps/h; measured agreement 1e-8…1e-11 relative
        slope = jnp.vdot(grad, directions[i])
        assert abs(float(fd - slope)) <= 1e-6 * (abs(float(fd)) + float(jnp.linalg.norm(grad))), name


@pytest.mark.parametrize("name", BUILDABLE)
def test_value_grad_curvature_is_the_cost_its_gradient_and_hessian_diagonal(name):
    problem, _ = _problem(name)
    assert problem.blocks == problem.steps  # the curvature is exact for one control per step (an estimate for blocks)
    u, _, _, (cost, _, grad_of_cost, (value, grad, curv)) = _evaluated(name)
    np.testing.assert_allclose(value, cost, rtol=1e-13)
    np.testing.assert_allclose(grad, grad_of_cost, rtol=1e-10, atol=1e-13 * float(jnp.max(jnp.abs(grad))))
    if curv is None:
        return  # no Hessian diagonal declared: the solver does not precondition
    hessian = _hessian(problem, u)
    exact = jnp.diagonal(hessian)
    if isinstance(curv, MinKernelHessian):  # the whole Hessian (Direct's Newton steps): every entry, by its matvec
        dense = jax.vmap(curv.matvec)(jnp.eye(exact.shape[0]))
        scale = float(jnp.max(jnp.abs(hessian)))
        np.testing.assert_allclose(dense, hessian, rtol=0, atol=1e-11 * scale)
        curv = curv.diagonal()[:, None]
    np.testing.assert_allclose(curv[:, 0], exact, rtol=1e-9, atol=1e-12 * float(jnp.max(exact)))


@pytest.mark.parametrize("name", BUILDABLE)
def test_closed_form_final_loss_and_curve_equal_the_unroll(name):
    problem, _ = _problem(name)
    system = problem.system
    if not problem.is_discrete or (type(system).final_loss is AbstractDiscreteSystem.final_loss
                                   and type(system).loss_curve is AbstractDiscreteSystem.loss_curve):
        pytest.skip(f"{name} keeps the default unroll (nothing to compare)")
    cells = system.prepare_controls(problem.expand(_interior(name)))
    state, unrolled = AbstractDiscreteSystem.loss_curve(system, cells)  # the base's scan of `step`
    np.testing.assert_allclose(system.final_loss(cells), unrolled[-1], rtol=1e-10)
    np.testing.assert_allclose(AbstractDiscreteSystem.final_loss(system, cells), unrolled[-1], rtol=1e-12)
    np.testing.assert_allclose(system.loss_curve(cells)[1], unrolled, rtol=1e-10)


@pytest.mark.parametrize("name", BUILDABLE)
def test_parameters_survive_the_json_round_trip(name):
    problem, _ = _problem(name)
    params = problem.params()
    settings = [f"{k}={'none' if v is None else v}" for k, v in params.items()
                if k in {p.name for p in _registry.SYSTEMS[name].params}]
    again, _ = _registry.build_problem(name, settings)
    assert again.params() == params
    u, directions, h, (cost, *_) = _evaluated(name)
    assert float(_evaluations(again, u, directions, h)[0]) == float(cost)


# Pontryagin shooting on the networks (22 to 300 numbers of state) compiles for a minute and more: the
# teacher–student network's direct-vs-shooting agreement is tests/test_shooting.py's; here the other solvers run
# where the state is small.
def _solvers(name):
    entry = _registry.SYSTEMS[name]
    small_state = state_size(_problem(name)[0].system) <= 3
    return [s for s in entry.solvers if s == "direct" or small_state]


@pytest.mark.parametrize("name", BUILDABLE)
def test_every_applicable_solver_converges_and_they_agree(name):
    solutions = {}
    for solver_name in _solvers(name):
        sol = _solution(name, solver_name)
        assert sol.diagnostics.converged, (name, solver_name, sol.diagnostics.message)
        solutions[solver_name] = sol
    direct = solutions["direct"]
    for other, sol in solutions.items():
        # Shooting solves the continuous optimality conditions and HJB the Bellman equation on a state grid: each
        # lands within its own discretisation error of the discrete optimum (measured ≤ 3e-6 relative at these
        # sizes), never below it beyond round-off.
        gap = float(sol.objective - direct.objective) / abs(float(direct.objective))
        assert -1e-9 <= gap <= 1e-4, (name, other, gap)
