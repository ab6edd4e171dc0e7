"""MinKernelHessian (a diagonal plus F_min(j,l), optionally plus G_max(j,l)) against dense linear algebra, and
the projected Newton iteration `Direct` runs with it on box-constrained quadratics whose answer is known."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import check_box_quadratic_answer

from lrcontrol._hessian import MinKernelHessian
from lrcontrol.solvers import _lbfgsb


def _random(n, seed, indefinite=False):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.1, 2.0, n)
    f = np.cumsum(rng.uniform(0.0, 0.1, n)) + rng.normal(0.0, 0.01, n)  # mostly increasing: positive definite
    if indefinite:
        f[n // 3] -= 5.0  # one large negative step of F: a negative eigenvalue
    dense = np.diag(d) + f[np.minimum.outer(np.arange(n), np.arange(n))]
    return MinKernelHessian(jnp.asarray(d), jnp.asarray(f)), dense, rng


_solve = eqx.filter_jit(lambda h, q, free, method="sequential": h.solve(q, free, method))


def test_matvec_and_diagonal_are_the_dense_matrix():
    h, dense, rng = _random(200, 0)
    x = rng.normal(size=200)
    np.testing.assert_allclose(h.matvec(jnp.asarray(x)), dense @ x, rtol=0, atol=1e-12 * np.abs(dense @ x).max())
    np.testing.assert_allclose(h.diagonal(), np.diag(dense), rtol=1e-15)


@pytest.mark.parametrize("method", ["sequential", "parallel"])
@pytest.mark.parametrize("fraction", [1.0, 0.6, 0.05])
def test_solve_on_a_free_subset_is_the_dense_principal_solve(fraction, method):
    h, dense, rng = _random(300, 1)
    free = rng.uniform(size=300) < fraction
    free[0] = fraction == 1.0 or free[0]  # both a leading free index and (for 0.6) leading fixed ones occur
    q = rng.normal(size=300)
    x, positive = _solve(h, jnp.asarray(q), jnp.asarray(free), method)
    sub = dense[np.ix_(free, free)]
    expected = np.zeros(300)
    expected[free] = np.linalg.solve(sub, q[free])
    assert bool(positive) and np.linalg.eigvalsh(sub).min() > 0
    # the O(n) LDLᵀ against LAPACK: round-off of a well-conditioned system (measured ~1e-15)
    assert np.max(np.abs(np.asarray(x) - expected)) < 1e-12 * np.max(np.abs(expected))
    assert np.all(np.asarray(x)[~free] == 0)


@pytest.mark.parametrize("method", ["sequential", "parallel"])
def test_solve_edge_cases(method):
    # no free index, one free index, trailing fixed indices, and D = 0 entries (a noiseless FSL has D ≡ 0)
    h, dense, rng = _random(40, 5)
    q = rng.normal(size=40)
    x, positive = _solve(h, jnp.asarray(q), jnp.zeros(40, bool), method)
    assert bool(positive) and np.all(np.asarray(x) == 0)
    for free in (np.arange(40) == 17, np.arange(40) < 25):
        x, positive = _solve(h, jnp.asarray(q), jnp.asarray(free), method)
        expected = np.zeros(40)
        expected[free] = np.linalg.solve(dense[np.ix_(free, free)], q[free])
        assert bool(positive) and np.max(np.abs(np.asarray(x) - expected)) < 1e-12 * np.max(np.abs(expected))
    d = np.asarray(h.diagonal_part).copy()
    d[::3] = 0.0
    f = np.asarray(h.min_part)
    zeroed = MinKernelHessian(jnp.asarray(d), jnp.asarray(f))
    dense0 = np.diag(d) + f[np.minimum.outer(np.arange(40), np.arange(40))]
    x, positive = _solve(zeroed, jnp.asarray(q), jnp.ones(40, bool), method)
    assert bool(positive) == (np.linalg.eigvalsh(dense0).min() > 0)
    if bool(positive):
        expected = np.linalg.solve(dense0, q)
        assert np.max(np.abs(np.asarray(x) - expected)) < 1e-9 * np.max(np.abs(expected))


@pytest.mark.parametrize("method", ["sequential", "parallel"])
def test_solve_flags_an_indefinite_matrix(method):
    h, dense, rng = _random(120, 2, indefinite=True)
    assert np.linalg.eigvalsh(dense).min() < 0
    _, positive = _solve(h, jnp.asarray(rng.normal(size=120)), jnp.ones(120, bool), method)
    assert not bool(positive)
    # on a free set that leaves the offending step out (F restricted to it increases again) it is definite
    free = np.ones(120, bool)
    free[:41] = False
    assert np.linalg.eigvalsh(dense[np.ix_(free, free)]).min() > 0
    _, positive = _solve(h, jnp.asarray(rng.normal(size=120)), jnp.asarray(free), method)
    assert bool(positive)


@pytest.mark.parametrize("method", ["sequential", "parallel"])
def test_max_part_matvec_solve_and_definiteness_against_dense(method):
    # H = D + F_min + G_max on 300 random small cases, a fifth of them with some negative D (so that M = D +
    # (F − G)_min or H itself is indefinite) and G from small to dominant; random free sets. The flag must be
    # exactly "H_FF is positive definite" (Haynsworth's count, checked against eigvalsh), and where it holds the
    # Woodbury solve is LAPACK's to round-off times cond(H_FF) times its own amplification κ = 1 + |F|·max|G_F|·
    # ‖M_FF⁻¹‖ (large where M = D + (F − G)_min is nearly singular while H is not; measured ≤ 4.4e-15 · cond · κ).
    rng = np.random.default_rng(7)
    flags, solved = [], 0
    for _ in range(300):
        n = int(rng.choice([1, 4, 9]))  # three sizes: three compilations
        d = rng.uniform(0.1, 2.0, n) * (1.0 if rng.uniform() < 0.8 else rng.choice([-1.0, 1.0], n))
        f, g = rng.normal(size=n), rng.normal(size=n) * rng.choice([0.1, 1.0, 3.0])
        idx = np.arange(n)
        dense = np.diag(d) + f[np.minimum.outer(idx, idx)] + g[np.maximum.outer(idx, idx)]
        h = MinKernelHessian(jnp.asarray(d), jnp.asarray(f), jnp.asarray(g))
        x = rng.normal(size=n)
        np.testing.assert_allclose(h.matvec(jnp.asarray(x)), dense @ x, rtol=0, atol=1e-12 * np.abs(dense).max() * n)
        np.testing.assert_allclose(h.diagonal(), np.diag(dense), rtol=1e-14, atol=1e-14)
        free = rng.uniform(size=n) > 0.25
        q = rng.normal(size=n)
        sub = dense[np.ix_(free, free)]
        definite = bool(not free.any() or np.linalg.eigvalsh(sub).min() > 0)
        x, positive = _solve(h, jnp.asarray(q), jnp.asarray(free), method)
        flags.append(bool(positive) == definite)
        if definite and free.any():
            expected = np.zeros(n)
            expected[free] = np.linalg.solve(sub, q[free])
            err = np.max(np.abs(np.asarray(x) - expected)) / np.max(np.abs(expected))
            m = (np.diag(d) + (f - g)[np.minimum.outer(idx, idx)])[np.ix_(free, free)]
            kappa = 1 + free.sum() * np.abs(g[free]).max() * np.linalg.norm(np.linalg.inv(m), 2)
            assert err < 1e-13 * np.linalg.cond(sub) * kappa
            assert np.all(np.asarray(x)[~free] == 0)
            solved += 1
    assert all(flags) and 30 < solved < 250  # both kinds occur: 43 definite cases with a free index here


@pytest.mark.parametrize("blocks", [4, 5, 13])
def test_block_sum_and_scale_are_the_dense_congruences(blocks):
    # PᵀHP over contiguous blocks (13 steps: blocks of equal and of unequal lengths, and one step each), with and
    # without a max part, then rescaled S(PᵀHP)S: every entry, the diagonal and the solve against dense algebra
    # (round-off: measured ≤ 4e-16 of the largest entry).
    rng = np.random.default_rng(blocks)
    n = 13
    idx = np.arange(n)
    d, f, g = rng.uniform(0.5, 2.0, n), np.cumsum(rng.uniform(0.0, 0.3, n)), rng.uniform(0.0, 0.05, n)
    of_step = (idx * blocks) // n
    p = np.zeros((n, blocks))
    p[idx, of_step] = 1.0
    s = rng.uniform(0.5, 2.0, blocks)
    for max_part in (None, g):
        dense = np.diag(d) + f[np.minimum.outer(idx, idx)]
        dense = dense if max_part is None else dense + g[np.maximum.outer(idx, idx)]
        h = MinKernelHessian(jnp.asarray(d), jnp.asarray(f), None if max_part is None else jnp.asarray(g))
        expected = np.diag(s) @ p.T @ dense @ p @ np.diag(s)
        hb = h.block_sum(of_step, blocks).scaled(jnp.asarray(s))
        got = np.asarray(jax.vmap(hb.matvec)(jnp.eye(blocks)))
        assert np.max(np.abs(got - expected)) < 1e-14 * np.max(np.abs(expected))
        np.testing.assert_allclose(hb.diagonal(), np.diag(expected), rtol=1e-14)
        free = np.arange(blocks) != 1
        q = rng.normal(size=blocks)
        want = np.zeros(blocks)
        want[free] = np.linalg.solve(expected[np.ix_(free, free)], q[free])
        for method in ("sequential", "parallel"):
            x, positive = _solve(hb, jnp.asarray(q), jnp.asarray(free), method)
            assert bool(positive) and np.max(np.abs(np.asarray(x) - want)) < 1e-12 * np.max(np.abs(want))


def test_parallel_solve_agrees_with_sequential_on_fsl_hessians():
    # The accelerator form (associative scans, Möbius products) against the CPU form on the FSL's own Hessians at
    # its optimum, N = 2000, both phases, with a gappy free set: round-off apart (measured ≤ 1e-14 relative at
    # N = 10⁴ and 10⁶).
    import lrcontrol as lrc
    from lrcontrol.systems import FSL

    rng = np.random.default_rng(4)
    for params in (dict(source=1.0, capacity=2.0, noise=1.0, eta_max=1.0),
                   dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2),
                   dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2, variant="multiplicative")):
        system = FSL(**params)
        eta = lrc.solve(system.problem(2000), progress=False).controls[:, 0]
        h = system.final_loss_grad_curvature(eta)[2]
        free = jnp.asarray(rng.uniform(size=2000) < 0.7)
        q = jnp.asarray(rng.normal(size=2000))
        xs, ps = _solve(h, q, free, "sequential")
        xp, pp = _solve(h, q, free, "parallel")
        assert bool(ps) and bool(pp)
        assert float(jnp.max(jnp.abs(xs - xp))) < 1e-12 * float(jnp.max(jnp.abs(xs)))


def test_solve_method_is_checked():
    h, _, _ = _random(5, 0)
    with pytest.raises(ValueError, match="method must be one of"):
        h.solve(jnp.ones(5), jnp.ones(5, bool), "fast")


def _quadratic(h, q):
    def value_grad_hessian(x):
        hx = h.matvec(x)
        return 0.5 * jnp.dot(x, hx) - jnp.dot(q, x), hx - q, h
    return value_grad_hessian


@pytest.mark.parametrize("indefinite", [False, True])
def test_projected_newton_solves_a_box_constrained_quadratic(indefinite):
    # ½xᵀHx − qᵀx on [0, 1]ⁿ, by the minimiser with the exact Hessian (Newton steps; diagonal Newton steps where H on
    # the free set is not positive definite). The answer must satisfy the KKT conditions exactly: on its free set
    # the dense reduced system's solution, at each bound a gradient pushing outward, and (nonconvex case) H
    # positive definite on the free set, a local minimum. Beside it scipy's L-BFGS-B from the same start.
    n = 150
    h, dense, rng = _random(n, 3, indefinite)
    q = dense @ rng.uniform(-0.3, 1.3, n)  # the unconstrained stationary point: about 60 % of it inside the box
    fgh = _quadratic(h, jnp.asarray(q))
    x, info = jax.jit(lambda x0: _lbfgsb.minimise(fgh, x0, jnp.zeros(n), jnp.ones(n), None, rtol=1e-12, atol=0.0,
                                                  max_steps=200, history=5))(jnp.full(n, 0.5))
    assert int(info.result) == 0
    # the value: measured lower than scipy's by 6e-11 (convex) and 1e-11
    ref = check_box_quadratic_answer(dense, q, x, free_between=(50, 120), atol=1e-10)
    assert int(info.iterations) < ref.nit  # measured 18 vs 129 (convex), 41 vs 118


def test_bad_curvature_entries_fall_back_and_vmap_agrees():
    # A Hessian-diagonal estimate with a negative and a NaN entry (the guard puts the median of the good entries of a
    # strided sample there): L-BFGS still reaches the minimiser b/a of a separable quadratic, and a vmapped batch (where
    # the guard's cond runs both branches) gives each row's own answer. The stop is judged against the objective's
    # round-off (a stall there counts as converged), so the check is the exact identity x − b/a = g/a: each error
    # within the reported projected gradient over the smallest curvature.
    a = jnp.linspace(1.0, 50.0, 40)
    h = a.at[3].set(-1.0).at[7].set(jnp.nan)

    def solve(b):
        fgh = lambda x: (0.5 * jnp.sum(a * x**2) - jnp.dot(b, x), a * x - b, h)  # noqa: E731
        return _lbfgsb.minimise(fgh, jnp.zeros(40), jnp.full(40, -10.0), jnp.full(40, 10.0), None, rtol=1e-12,
                                atol=0.0, max_steps=200, history=5)

    bs = jnp.stack([jnp.linspace(-3.0, 3.0, 40), jnp.linspace(2.0, -1.0, 40)])
    batched, info = jax.jit(jax.vmap(solve))(bs)
    assert np.all(np.asarray(info.result) == 0)
    for row, b, residual in zip(batched, bs, info.residual):
        assert float(residual) < 1e-7  # measured 1e-8 and 6e-11: round-off of J ≈ −5 at curvatures 1…50
        assert float(jnp.max(jnp.abs(row - b / a))) <= float(residual) / float(a.min()) * (1 + 1e-6)
        # the row alone: the same stop, the same bound (a batched row may round differently near round-off)
        single, single_info = jax.jit(solve)(b)
        assert int(single_info.result) == 0
        bound = float(single_info.residual) / float(a.min()) * (1 + 1e-6)
        assert float(jnp.max(jnp.abs(single - b / a))) <= bound
