"""Projected Newton–CG (`HessianProducts`: the solver takes Hessian–vector products of its own gradient, with a
diagonal estimate as preconditioner): on box-constrained quadratics whose answer is known from dense linear algebra,
and on the FSL law's schedule, whose second-order conditions are checked with the dense Hessian."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import check_box_quadratic_answer

import lrcontrol as lrc
from lrcontrol import HessianProducts
from lrcontrol.solvers import _lbfgsb
from lrcontrol.systems.law_schedule import LawSchedule


def _quadratic(dense, q, diagonal):
    a = jnp.asarray(dense)

    def value_grad_products(x):
        ax = a @ x
        return 0.5 * jnp.dot(x, ax) - jnp.dot(q, x), ax - q, HessianProducts(diagonal)
    return value_grad_products


@pytest.mark.parametrize("indefinite", [False, True])
def test_newton_cg_solves_a_box_constrained_quadratic(indefinite):
    # ½xᵀAx − qᵀx on [0, 1]ⁿ with a dense A (no structure: products only), its diagonal off by a random factor of up
    # to 3 (an estimate, as a system hands over). The answer must satisfy the KKT conditions: on its free set the
    # dense reduced system's solution, at each bound a gradient pushing outward, and A positive definite on the free
    # set (a local minimum also where A is indefinite). Beside it scipy's L-BFGS-B from the same start.
    n = 120
    rng = np.random.default_rng(7)
    basis = np.linalg.qr(rng.standard_normal((n, n)))[0]
    eig = np.geomspace(1e-2, 1e2, n)
    if indefinite:
        eig[:3] = -1.0
    dense = (basis * eig) @ basis.T
    q = dense @ rng.uniform(-0.3, 1.3, n)
    diagonal = jnp.asarray(np.diag(dense) * rng.uniform(1 / 3, 3, n))
    fgh = _quadratic(dense, jnp.asarray(q), diagonal)
    x, info = jax.jit(lambda x0: _lbfgsb.minimise(fgh, x0, jnp.zeros(n), jnp.ones(n), None, rtol=1e-12, atol=0.0,
                                                  max_steps=300, history=5))(jnp.full(n, 0.5))
    assert int(info.result) == 0, int(info.result)
    ref = check_box_quadratic_answer(dense, q, x, free_between=(10, n - 10), atol=1e-8)
    assert int(info.iterations) < ref.nit / 3, (int(info.iterations), ref.nit)


def test_newton_cg_under_vmap_gives_each_rows_answer():
    n = 40
    rng = np.random.default_rng(3)
    basis = np.linalg.qr(rng.standard_normal((n, n)))[0]
    dense = (basis * np.geomspace(0.1, 10.0, n)) @ basis.T
    diagonal = jnp.asarray(np.diag(dense))

    def solve(q):
        return _lbfgsb.minimise(_quadratic(dense, q, diagonal), jnp.zeros(n), jnp.full(n, -1.0), jnp.ones(n), None,
                                rtol=1e-12, atol=0.0, max_steps=200, history=5)

    qs = jnp.asarray(rng.standard_normal((3, n)) * 3)
    batched, info = jax.jit(jax.vmap(solve))(qs)
    assert np.all(np.asarray(info.result) == 0)
    for row, q in zip(batched, qs):
        one, _ = jax.jit(solve)(q)
        np.testing.assert_allclose(np.asarray(row), np.asarray(one), rtol=0, atol=1e-12)


def test_fsl_law_schedule_takes_newton_cg_steps_to_a_local_minimum():
    # The FSL law hands `HessianProducts` for its schedule (`schedule_newton`). At N = 240 Newton–CG converges in a
    # small fraction of L-BFGS's iterations (measured 107 against 4233 with `Direct(newton=False)`); the law's
    # landscape in the log-decrements is nonconvex and the two stop at different local minima (measured: L-BFGS's
    # 4.2e-8 lower, 1.2e-8 relative). Newton–CG's end is checked as a local minimum: a KKT point whose dense Hessian
    # on the free controls is positive semi-definite.
    law = lrc.systems.FSLLaw(2.9, 0.6, 0.45, 0.7, 0.3, 1.7, 0.6)
    system = LawSchedule(law, 24, 1.0, 1e-4, monotone=True)
    problem = system.problem(240)
    _, _, curvature = problem.value_grad_curvature(jnp.asarray(system.initial_controls(problem)))
    assert isinstance(curvature, HessianProducts)
    newton = lrc.solve(problem, lrc.solvers.Direct(max_steps=2000), progress=False)
    assert newton.diagnostics.converged
    assert int(newton.diagnostics.iterations) < 400  # L-BFGS's 4233 (not run here: the suite's time)

    u = newton.controls[:, 0]
    cost = lambda v: problem.cost(v[:, None])  # noqa: E731
    g = np.asarray(jax.jit(jax.grad(cost))(u))
    x = np.asarray(u)
    post = np.arange(240) >= 24
    lo, hi = 0.0, float(problem.upper[0])
    assert np.all(g[post & (x == lo)] >= 0) and np.all(g[post & (x == hi)] <= 0)
    free = post & (x > lo) & (x < hi)
    assert np.max(np.abs(g[free])) < 1e-8
    hessian = np.asarray(jax.jit(jax.hessian(cost))(u))[np.ix_(free, free)]
    assert np.linalg.eigvalsh(hessian).min() > -1e-10 * np.abs(hessian).max()
