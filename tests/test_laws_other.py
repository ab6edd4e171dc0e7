"""The momentum law, the FSL practical form (both pairings) and the convex-bound law (lrcontrol/systems/
momentum_law.py, fsl_law.py, bound_law.py): predict against direct O(N·M) numpy sums written from the formulas,
the one-pass final-loss gradient and Hessian diagonal against autodiff and finite differences, vmap over
parameters, input errors.
Small N throughout (a few seconds in all)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrcontrol._errors import InputError
from lrcontrol.systems.bound_law import BoundLaw
from lrcontrol.systems.fsl_law import FSLLaw, FSLLawBefore
from lrcontrol.systems.last_iterate import arbitrary_step_bound, arbitrary_step_bound_prefixes
from lrcontrol.systems.momentum_law import MomentumLaw


def _schedule(n=60, start=0.0):
    # warm-up (from `start`), a constant stage (zero decrements), a cosine-like decay, a small rise, a flat tail
    w = 8
    lr = np.empty(n)
    lr[:w] = np.linspace(start, 1.0, w)
    lr[w:w + 10] = 1.0
    m = n - w - 10
    lr[w + 10:] = 0.1 + 0.45 * (1 + np.cos(np.pi * np.arange(m) / m))
    lr[n - 12:n - 9] += 0.05  # a rise: negative decrements
    lr[n - 5:] = lr[n - 5]
    return lr


# --- direct sums, straight from the formulas (0-based: loss after update s from η_0 … η_s) --------------------


def naive_momentum(p, lr, steps):
    L0, A, alpha, C, lam = p
    out = []
    for s in steps:
        m, s2 = 0.0, 0.0
        for k in range(s + 1):
            d = lr[k - 1] - lr[k] if k >= 1 else 0.0
            m = lam * m + d
            s2 += m
        out.append(L0 + A * np.sum(lr[:s + 1]) ** (-alpha) - C * s2)
    return np.array(out)


def naive_fsl(p, lr, steps, before=False):
    # decrement i paired with T(i), or with `before` T(i − 1) (T(i) where T(i − 1) = 0: the first rise from zero)
    L0, c1, s_, c2, c3, c4, g = p
    out = []
    for k in steps:
        t = np.cumsum(lr[:k + 1])
        acc = 0.0
        for i in range(1, k + 1):
            if lr[i - 1] == lr[i]:  # a zero decrement adds nothing (and T = 0 after zero rates alone)
                continue
            ti = t[i - 1] if before and t[i - 1] > 0 else t[i]
            acc += (lr[i - 1] - lr[i]) * (c3 + ti ** (-s_)) * (1 - (1 + c4 * (t[k] - ti)) ** (-g))
        out.append(L0 + c1 * t[k] ** (-s_) - c2 * acc)
    return np.array(out)


def naive_fsl_before(p, lr, steps):
    return naive_fsl(p, lr, steps, before=True)


def naive_bound(p, lr, steps):
    # Ω_T = [D² + Σ η²]/(2 Σ η) + ½ Σ_{k<T} η_k/(η_{k+1:T} η_{k:T}) Σ_{t≥k} η_t² (G = 1), T = s + 1 rates
    L0, M, D = p
    out = []
    for s in steps:
        e = lr[:s + 1]
        T = len(e)
        om = (D**2 + np.sum(e**2)) / (2 * np.sum(e))
        for k in range(T - 1):
            om += 0.5 * e[k] / (np.sum(e[k + 1:]) * np.sum(e[k:])) * np.sum(e[k:] ** 2)
        out.append(L0 + M * om)
    return np.array(out)


LAWS = [
    (MomentumLaw, (2.9, 0.6, 0.45, 0.8, 0.9), naive_momentum),
    (FSLLaw, (2.9, 0.6, 0.45, 0.7, 0.3, 1.7, 0.6), naive_fsl),
    (BoundLaw, (2.9, 0.4, 1.3), naive_bound),
    (FSLLawBefore, (2.9, 0.6, 0.45, 0.7, 0.3, 1.7, 0.6), naive_fsl_before),
]
IDS = ["momentum", "fsl", "bound", "fsl_before"]
FSL_LAWS = [(FSLLaw, naive_fsl), (FSLLawBefore, naive_fsl_before)]


@pytest.mark.parametrize("cls,theta,naive", LAWS, ids=IDS)
def test_predict_matches_the_direct_sums(cls, theta, naive):
    # The warm-up starts at 0 for the momentum and FSL laws (step 0 is then S1 = 0: not evaluated); the bound
    # needs η_0 > 0 at step 0. Includes a constant stage (pruned decrements), a rise and a flat tail.
    start = 0.05 if cls is BoundLaw else 0.0
    first = 0 if cls is BoundLaw else 1
    lr = _schedule(start=start)
    steps = np.array([first, 3, 7, 12, 17, 18, 30, 47, 50, 59])
    law = cls(*theta)
    r, st = jnp.asarray(lr), jnp.asarray(steps)
    # rates concrete at trace time (zero decrements pruned), then traced (nothing pruned)
    got = np.asarray(jax.jit(lambda: law.predict(r, st))())
    np.testing.assert_allclose(got, naive(theta, lr, steps), rtol=1e-12)
    traced = jax.jit(lambda x: law.predict(x, st))(r)
    np.testing.assert_allclose(np.asarray(traced), got, rtol=1e-12)
    # the base's final_loss and loss_curve (node 0 undefined)
    final, curve = jax.jit(lambda x: (law.final_loss(x), law.loss_curve(x[:, None])[1]))(r)
    assert np.isclose(float(final), naive(theta, lr, [59])[0], rtol=1e-12)
    assert np.isnan(curve[0]) and np.isclose(float(curve[-1]), got[-1], rtol=1e-12)


def test_bound_law_plan_gives_the_prediction_and_its_jacobian():
    # the fit's form: Ω = D²/(2·η_{1:T}) + (the bound at D = 0), planned once per curve; equal to `predict`, and
    # its one-pass Jacobian to autodiff's
    lr, steps = _schedule(start=0.05), np.array([0, 3, 17, 30, 59])
    law = BoundLaw(2.9, 0.4, 1.3)
    arrays, static = BoundLaw.plan(lr, steps)
    pred, jac = law.predict_planned(arrays, static, jac=True)
    direct = law.predict(jnp.asarray(lr), jnp.asarray(steps))
    np.testing.assert_allclose(pred, direct, rtol=1e-14)
    np.testing.assert_allclose(pred, naive_bound((2.9, 0.4, 1.3), lr, steps), rtol=1e-12)
    auto = jax.jacfwd(lambda th: BoundLaw.from_vector(th).predict(jnp.asarray(lr), jnp.asarray(steps)))(
        law.to_vector())
    np.testing.assert_allclose(jac, auto, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [1, 127, 128, 129, 700])
def test_momentum_in_blocks_is_the_recursion(n):
    # `_momentum` works in blocks of 128 (within: a product with λ^(a−b); across: a carry): one block, exactly
    # one, one and one step, several with a padded last; decays from fast to near 1 (no power overflows)
    from lrcontrol.systems.momentum_law import _momentum

    d = np.random.default_rng(n).standard_normal(n) * 1e-4
    for lam in (0.5, 0.999, 1 - 1e-9):
        m, ref = 0.0, np.empty(n)
        for k in range(n):
            m = lam * m + d[k]
            ref[k] = m
        got = np.asarray(jax.jit(_momentum)(jnp.asarray(d), jnp.asarray(lam)))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * np.max(np.abs(ref)))


@pytest.mark.parametrize("cls,naive", FSL_LAWS, ids=["T(i)", "T(i-1)"])
def test_fsl_predict_in_chunks_matches_the_direct_sums(cls, naive):
    # ~2600 non-zero decrements: one chunk at 4 steps; at every step (2²²/N decrements a chunk) two chunks, each
    # from the first step it reaches.
    n = 2600
    lr = np.concatenate([np.linspace(0.0, 1.0, 100), 0.05 + 0.95 * np.cos(0.5 * np.pi * np.arange(n - 100) / n)])
    steps = np.array([150, 1200, 2300, n - 1])
    theta = (2.9, 0.6, 0.45, 0.7, 0.3, 1.7, 0.6)
    got = np.asarray(cls(*theta).predict(jnp.asarray(lr), jnp.asarray(steps)))
    np.testing.assert_allclose(got, naive(theta, lr, steps), rtol=1e-11)
    # every step at once
    full = np.asarray(cls(*theta).predict(jnp.asarray(lr), jnp.arange(n)))
    np.testing.assert_allclose(full[steps], got, rtol=1e-12)


@pytest.mark.parametrize("cls,naive", FSL_LAWS, ids=["T(i)", "T(i-1)"])
def test_fsl_one_pass_jacobian_and_the_chunk_layouts(monkeypatch, cls, naive):
    # predict_jacobian (the fit's one pass) against autodiff of predict and against central differences in θ;
    # steps unsorted with a repeat (the plan sorts and maps back); the same values when the chunks are stacked
    # and mapped over every step (the layout for many chunks) and when the rates are traced
    from lrcontrol.systems import fsl_law

    lr = jnp.asarray(_schedule(n=90))
    steps = jnp.asarray([89, 3, 40, 40, 17, 60, 8])
    theta = jnp.asarray(LAWS[1][1])
    pred, jac = cls.from_vector(theta).predict_jacobian(lr, steps)
    np.testing.assert_allclose(np.asarray(pred), naive(LAWS[1][1], np.asarray(lr), np.asarray(steps)),
                               rtol=1e-12)
    auto = jax.jacfwd(lambda th: cls.from_vector(th).predict(lr, steps))(theta)
    np.testing.assert_allclose(np.asarray(jac), np.asarray(auto), rtol=1e-11, atol=1e-13)
    h = 1e-6
    for j in range(7):
        e = jnp.zeros(7).at[j].set(h * theta[j])
        fd = (naive(np.asarray(theta + e), np.asarray(lr), np.asarray(steps))
              - naive(np.asarray(theta - e), np.asarray(lr), np.asarray(steps))) / (2 * h * float(theta[j]))
        np.testing.assert_allclose(np.asarray(jac[:, j]), fd, rtol=1e-6, atol=1e-9)
    monkeypatch.setattr(fsl_law, "_CHUNK", 16)  # chunks of the smallest size (64 decrements: two here) ...
    monkeypatch.setattr(fsl_law, "_UNROLLED", 1)  # ... stacked and mapped
    arrays, static = cls.plan(np.asarray(lr), np.asarray(steps))
    assert static is None and arrays["chunks"]["k"].shape[0] == 2
    stacked = cls.from_vector(theta).predict_planned(arrays, static, jac=True)
    np.testing.assert_allclose(np.asarray(stacked[0]), np.asarray(pred), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(stacked[1]), np.asarray(jac), rtol=1e-12, atol=1e-14)
    traced = jax.jit(lambda x: cls.from_vector(theta).predict(x, steps))(lr)
    np.testing.assert_allclose(np.asarray(traced), np.asarray(pred), rtol=1e-12)
    # one update: no decrement at all (the plan's padding only), L0 + c1·η_0^−s
    one = cls.from_vector(theta).predict(jnp.asarray([0.3]), jnp.asarray([0]))
    assert np.isclose(float(one[0]), float(theta[0] + theta[1] * 0.3 ** -theta[2]), rtol=1e-14)


def test_bound_prefixes_in_batches_and_the_full_bound():
    # Several lax.map batches with a remainder (7 ends, 3 per batch), per-step norms; the full bound is the last
    # prefix, and equals the formula as it stood before the prefix refactor.
    rng = np.random.default_rng(1)
    eta, g = rng.uniform(0.1, 1.0, 40), rng.uniform(0.5, 2.0, 40)
    ends = np.array([0, 1, 5, 17, 30, 38, 39])
    got = arbitrary_step_bound_prefixes(eta, ends, g, 1.3, chunk_elements=3 * 40)
    g2 = g**2
    want = []
    for end in ends:  # the bound of each prefix, by direct sums
        e, gg = eta[:end + 1], g2[:end + 1]
        om = (1.3**2 + np.sum(gg * e**2)) / (2 * np.sum(e))
        for k in range(end):
            om += 0.5 * e[k] / (np.sum(e[k + 1:]) * np.sum(e[k:])) * np.sum(gg[k:] * e[k:] ** 2)
        want.append(om)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13)
    e2 = eta**2
    tail, tail_sq = np.cumsum(eta[::-1])[::-1], np.cumsum((g2 * e2)[::-1])[::-1]
    t3 = 0.5 * np.sum(eta[:-1] * tail_sq[:-1] / (tail[:-1] * tail[1:]))
    old = (1.3**2 + np.sum(g2 * e2)) / (2 * np.sum(eta)) + t3
    assert np.isclose(float(arbitrary_step_bound(eta, g, 1.3)), old, rtol=1e-14)


@pytest.mark.parametrize("cls,theta", [(MomentumLaw, LAWS[0][1]), (FSLLaw, LAWS[1][1]), (FSLLawBefore, LAWS[1][1])],
                         ids=IDS[:2] + ["fsl_before"])
def test_one_pass_gradient_and_curvature(cls, theta):
    # value = final_loss; gradient = jax.grad = central differences; diagonal = diag(jax.hessian) = second
    # central differences. Rates from zero (warm-up), a constant stage and a rise included. FSLLawBefore pairs the
    # warm-up's first rise with T(1) only while η_0 = 0: a difference that lifts η_0 crosses that switch (the law
    # jumps there), so its differences start at j = 1 (autodiff, on the branch taken, still checks j = 0).
    law = cls(*theta)
    lr = jnp.asarray(_schedule(n=40))
    fl = lambda r: law.final_loss(r)  # noqa: E731
    value, grad, curv = jax.jit(lambda r: law.final_loss_grad_curvature(r))(lr)
    assert np.isclose(float(value), float(jax.jit(fl)(lr)), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(jax.jit(jax.grad(fl))(lr)), rtol=1e-10, atol=1e-12)
    hess = np.diag(np.asarray(jax.jit(jax.hessian(fl))(lr)))
    np.testing.assert_allclose(np.asarray(curv), hess, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda r: law.rate_curvature(r))(lr)), np.asarray(curv))
    h, js = 1e-5, np.array([1, 9, 20, 39] if cls is FSLLawBefore else [0, 1, 9, 20, 39])
    e = jnp.zeros((len(js), lr.shape[0])).at[np.arange(len(js)), js].set(h)
    up, down = jax.jit(jax.vmap(fl))(lr + e), jax.jit(jax.vmap(fl))(lr - e)
    mid = float(jax.jit(fl)(lr))
    np.testing.assert_allclose(np.asarray(up - down) / (2 * h), np.asarray(grad[js]), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(np.asarray(up - 2 * mid + down) / h**2, np.asarray(curv[js]), rtol=1e-3, atol=1e-3)
    if cls in (FSLLaw, FSLLawBefore):
        # three zero rates first: FSLLawBefore's fallback pairs the first rise (update 3) with T(3), later decrements
        # with T(i − 1) — the mask is not only at i = 1 (against autodiff on the branch taken, and the direct sums)
        lr3 = jnp.asarray(np.r_[0.0, 0.0, 0.0, _schedule(n=38)[1:]])  # 40 rates
        value, grad, curv = jax.jit(lambda r: law.final_loss_grad_curvature(r))(lr3)
        naive = naive_fsl if cls is FSLLaw else naive_fsl_before
        assert np.isclose(float(value), naive(theta, np.asarray(lr3), [39])[0], rtol=1e-12)
        np.testing.assert_allclose(np.asarray(grad), np.asarray(jax.jit(jax.grad(fl))(lr3)), rtol=1e-10, atol=1e-12)
        hess = np.diag(np.asarray(jax.jit(jax.hessian(fl))(lr3)))
        np.testing.assert_allclose(np.asarray(curv), hess, rtol=1e-9, atol=1e-10)
        steps = np.array([3, 4, 9, 20, 39])
        np.testing.assert_allclose(np.asarray(law.predict(lr3, jnp.asarray(steps))),
                                   naive(theta, np.asarray(lr3), steps), rtol=1e-12)


def test_momentum_law_hessian_is_its_rank_one_s1_part():
    # S2 is linear in the rates, so the whole Hessian of the final loss is s1_curvature·11ᵀ (what LawSchedule's
    # preconditioner adds in the log-decrements), against jax.hessian of the final loss.
    law = MomentumLaw(*LAWS[0][1])
    lr = jnp.asarray(_schedule(n=40))
    hess = np.asarray(jax.jit(jax.hessian(lambda r: law.final_loss(r)))(lr))
    c = float(jax.jit(lambda r: law.s1_curvature(r))(lr))
    assert c > 0
    np.testing.assert_allclose(hess, np.full_like(hess, c), rtol=1e-10, atol=0)


@pytest.mark.parametrize("start", [0.0, 0.05])
def test_bound_law_curvature_is_the_hessian_diagonal(start):
    # the hand-written O(N) diagonal against jax.hessian of the final loss: the test schedule (a warm-up from 0 or
    # from 0.05, a rise, a flat tail) and one whose tail falls geometrically to 1e-10 of its peak (φ_j's own term
    # where η_j ≪ S_{j+1})
    law = BoundLaw(*LAWS[2][1])
    falling = np.concatenate([_schedule(n=30, start=start), np.geomspace(0.5, 5e-11, 12)])
    for lr in (jnp.asarray(_schedule(n=40, start=start)), jnp.asarray(falling)):
        value, grad, curv = jax.jit(lambda r: law.final_loss_grad_curvature(r))(lr)
        hess = np.diag(np.asarray(jax.jit(jax.hessian(lambda r: law.final_loss(r)))(lr)))
        np.testing.assert_allclose(np.asarray(curv), hess, rtol=1e-10, atol=0)
        assert float(value) == float(law.final_loss(lr))
        np.testing.assert_allclose(np.asarray(grad), np.asarray(jax.grad(lambda r: law.final_loss(r))(lr)), rtol=1e-14)


def test_bound_law_schedule_solve_converges_from_every_start():
    # the schedule under the 25M bound law (problems/loss_curve_laws.py's fit) at a tenth of its horizon: with the
    # exact diagonal the per-update solve converges (it ran 20000 iterations unconverged with none); from the WSD
    # start and from the best tuned baseline, whose last rate sits at min_lr, where the log-decrements have no
    # gradient (optimise lifts it off): the same end
    from lrcontrol.systems.law_schedule import LawSchedule, optimise

    law = BoundLaw(L0=3.1910220034255707, M=91.08736227133795, distance=0.08624664236065974)
    system = LawSchedule(law, 216, 3e-4, 1e-10, monotone=True)
    sol, how = optimise(system, 2400, guard=True)
    assert sol.diagnostics.converged and len(how["final_loss"]) == 2
    ends = list(how["final_loss"].values())
    assert abs(ends[0] - ends[1]) < 1e-11 * ends[0]
    base = min(v["final_loss"] for k, v in how["baselines"].items() if k != "_rates")
    assert max(ends) < base - 1e-5


def test_bound_law_gradient_matches_finite_differences():
    law = BoundLaw(*LAWS[2][1])
    lr = jnp.asarray(_schedule(n=40, start=0.05))
    fl = lambda r: law.final_loss(r)  # noqa: E731
    grad = jax.jit(jax.grad(fl))(lr)
    h, js = 1e-6, np.array([0, 1, 9, 20, 38, 39])
    e = jnp.zeros((len(js), lr.shape[0])).at[np.arange(len(js)), js].set(h)
    fd = (jax.jit(jax.vmap(fl))(lr + e) - jax.jit(jax.vmap(fl))(lr - e)) / (2 * h)
    np.testing.assert_allclose(np.asarray(fd), np.asarray(grad[js]), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("cls,theta,naive", LAWS, ids=IDS)
def test_parameter_gradient_and_vmap(cls, theta, naive):
    # What a fit needs: the predicted curve's gradient in the parameters (central differences of the direct sums)
    # and vmap over stacked parameter vectors (traced values skip validation).
    lr = _schedule(n=40, start=0.05)
    steps = np.array([3, 12, 25, 39])
    theta = np.asarray(theta, float)
    f = lambda th: jnp.sum(cls.from_vector(th).predict(jnp.asarray(lr), jnp.asarray(steps)))  # noqa: E731
    g = np.asarray(jax.jit(jax.grad(f))(jnp.asarray(theta)))
    for i in range(len(theta)):
        h = 1e-6 * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        fd = (np.sum(naive(up, lr, steps)) - np.sum(naive(down, lr, steps))) / (2 * h)
        assert np.isclose(g[i], fd, rtol=1e-6, atol=1e-8), cls.param_names[i]
    batch = np.stack([theta, theta * 1.1, theta * 0.9])
    curves = jax.vmap(lambda th: cls.from_vector(th).predict(jnp.asarray(lr), jnp.asarray(steps)))
    out = jax.jit(curves)(jnp.asarray(batch))
    for row, th in zip(np.asarray(out), batch):
        np.testing.assert_allclose(row, naive(th, lr, steps), rtol=1e-12)
    assert cls.from_vector(jnp.asarray(theta)).params() == pytest.approx(dict(zip(cls.param_names, theta)))


@pytest.mark.parametrize("cls,name,value", [
    (MomentumLaw, "decay", 1.0), (MomentumLaw, "alpha", -0.1), (MomentumLaw, "C", float("nan")),
    (FSLLaw, "gamma", 0.0), (FSLLaw, "c4", -1.0), (FSLLaw, "s", float("inf")),
    (BoundLaw, "distance", 0.0), (BoundLaw, "M", -2.0), (BoundLaw, "L0", float("nan")),
])
def test_bad_parameter_is_named(cls, name, value):
    with pytest.raises(InputError, match=f"^{name} must be a finite number"):
        cls(**{name: value})


def test_cli_says_why_a_capped_fsl_law_solve_stops(tmp_path, capsys, monkeypatch):
    # The FSL law's schedule solve stops at its Newton–CG cap by design (its per-update sum is non-convex at the
    # scale of single updates: README, problems/fsl_law_microstructure.py); the CLI's not-converged warning says so
    import json

    from lrcontrol import cli
    from lrcontrol.systems import law_schedule

    monkeypatch.setattr(law_schedule, "NEWTON_CG_STEPS", 2)  # capped long before it converges
    law = FSLLaw(2.9, 0.6, 0.45, 0.7, 0.3, 1.7, 0.6)
    path = tmp_path / "law.json"
    path.write_text(json.dumps({"law": "fsl_law", "params": law.params()}))
    out = tmp_path / "sol"
    code = cli.main(["solve", "fsl_law", "--law", str(path), "--set", "horizon=240", "--set", "warmup=24",
                     "--set", "peak=1", "--set", "min_lr=1e-4", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "reached max_steps" in err and "non-convex at the scale of single updates" in err
    assert "fsl_law_before" in err  # the pairing without the creep
    assert json.loads((out / "solution.json").read_text())["diagnostics"]["converged"] is False
    # the explanation is the FSL law's own (measured there); a capped fsl_law_before solve gets the generic warning
    from lrcontrol._cli_laws import _CAPPED

    assert set(_CAPPED) == {"fsl_law"}


def test_fsl_law_before_schedule_solve_converges():
    # The 25M curves' FSL-law fit (problems/fsl_law_pairings.py, 200 steps) at a tenth of the horizon: paired with
    # T(i) the per-update solve stops at its Newton–CG cap here, its two starts 3e-8 apart (the law's
    # single-update non-convexity); paired with T(i − 1), same parameters, it converges from both starts to one end.
    from lrcontrol.systems.law_schedule import LawSchedule, optimise

    law = FSLLawBefore(L0=2.601573767417058, c1=0.5623120853097026, s=0.5075746959115239, c2=101.64057723991706,
                       c3=3.595705595895164, c4=135.92424929078226, gamma=0.5319322441015525)
    sol, how = optimise(LawSchedule(law, 216, 3e-4, 1e-10, monotone=True), 2400, guard=True)
    assert sol.diagnostics.converged and int(sol.diagnostics.iterations) < 100
    ends = list(how["final_loss"].values())
    assert len(ends) == 2 and abs(ends[0] - ends[1]) < 1e-12 * ends[0]
    base = min(v["final_loss"] for k, v in how["baselines"].items() if k != "_rates")
    assert max(ends) < base
