"""The functional scaling law (Li et al. 2025, 2026): the O(N) objective against the state recursion and finite
differences, the numerical optimum against the exact finite-N law, the continuous optimum against the discrete one,
rate exponents, shape-fixed baselines and the multiplicative-noise variant."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol import schedules
from lrcontrol._errors import InputError, NoClosedForm
from lrcontrol.systems import FSL, fsl_laws

EASY = dict(source=1.0, capacity=2.0, noise=1.0, eta_max=1.0)  # s = 1 > 1 − 1/β = 0.5
HARD = dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2)  # s = 0.25 < 2/3; the cap binds
N = 1000


@pytest.fixture(scope="module")
def optima():
    out = {}
    for name, params in (("easy", EASY), ("hard", HARD)):
        system = FSL(**params)
        sol = lrc.solve(system.problem(N), progress=False)
        assert sol.diagnostics.converged, sol.diagnostics.message
        out[name] = (system, sol)
    return out


def _random_rates(n, seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(0.05, 0.9, n))


@pytest.mark.parametrize("variant", ["additive", "multiplicative"])
def test_closed_form_final_loss_is_the_state_recursion(variant):
    # Two independent evaluations of E_N: O(N) suffix sums vs the sum-of-exponentials scan (ControlProblem's
    # recorded trajectory). Tolerance 1e-8 relative: the kernel quadrature's error (measured 2e-10 here).
    system = FSL(**EASY, variant=variant)
    rates = _random_rates(60)
    objective, final_state, losses = system.problem(60).trajectory(rates[:, None])
    exact = system.final_loss(rates)
    assert abs(float(system.loss(final_state) / exact) - 1) < 1e-8
    assert float(objective) == pytest.approx(float(exact), rel=1e-14)  # the objective is the closed form
    assert float(losses[0]) == pytest.approx(1.0, abs=1e-12)  # E_0 = e(0) = 1, no noise yet


def test_sum_of_exponentials_kernel_is_accurate_to_1e13():
    # K(u) = (1+u)^{−α} against its 161-term exponential sum on u ∈ {0} ∪ [10⁻⁶, 10¹³]; the trapezoid rule's
    # error is ~e^{−π²/h} (h = 0.4). Measured max 1.7e-9 relative at β = 2, bound 1e-8.
    for capacity in (1.2, 2.0, 5.0):
        system = FSL(capacity=capacity)
        w, x = system.kernel_sum_of_exponentials()
        u = jnp.concatenate([jnp.zeros(1), jnp.logspace(-6, 13, 300)])
        approx = jnp.exp(-x[None, :] * u[:, None]) @ w
        assert float(jnp.max(jnp.abs(approx / system.kernel(u) - 1))) < 1e-8


@pytest.mark.parametrize("variant", ["additive", "multiplicative"])
def test_gradient_and_curvature_by_hand_match_autodiff_and_finite_differences(variant):
    system = FSL(**HARD, variant=variant)
    rates = _random_rates(40, seed=1)
    by_hand = system.final_loss_grad(rates)
    scale = float(jnp.max(jnp.abs(by_hand)))
    # Hand-written suffix/prefix sums vs reverse-mode autodiff: identical up to round-off (measured 2e-16).
    assert float(jnp.max(jnp.abs(by_hand - jax.grad(system.final_loss)(rates)))) < 1e-12 * scale
    # Central differences, h = 1e-6: truncation O(h²·E''') ~ 1e-12, round-off ~ε/h ~ 1e-10; bound 1e-7 of the scale.
    h = 1e-6
    fd = np.array([(float(system.final_loss(rates.at[j].add(h))) - float(system.final_loss(rates.at[j].add(-h))))
                   / (2 * h) for j in range(0, 40, 7)])
    assert np.max(np.abs(fd - np.asarray(by_hand)[::7])) < 1e-7 * scale
    # The Hessian's diagonal (the L-BFGS preconditioner) vs jax.hessian: round-off only (measured 4e-16).
    hess = jax.hessian(system.final_loss)(rates)
    curvature = system.rate_curvature(rates)
    assert float(jnp.max(jnp.abs(jnp.diag(hess) - curvature))) < 1e-12 * float(jnp.max(curvature))
    assert bool(jnp.all(curvature > 0))
    # the whole Hessian (what Direct's Newton steps solve with), every entry, also without noise (rank one there
    # for the additive variant): measured 4e-16 of the largest entry
    for noisy in (system, FSL(**{**HARD, "noise": 0.0, "variant": variant})):
        full = noisy.final_loss_grad_curvature(rates)[2]
        dense = jax.vmap(full.matvec)(jnp.eye(40))
        exact = jax.hessian(noisy.final_loss)(rates)
        assert float(jnp.max(jnp.abs(dense - exact))) < 1e-12 * float(jnp.max(jnp.abs(exact)))
    # final_loss_grad and rate_curvature are parts of the one-pass final_loss_grad_curvature that Direct runs, so
    # the checks above are its checks; its value is the separately written final_loss.
    value = system.final_loss_grad_curvature(rates)[0]
    assert abs(float(value - system.final_loss(rates))) < 1e-15 * float(value)


def test_one_pass_preconditioned_solve_matches_the_separate_passes():
    # Direct takes the fused value/gradient/Hessian the problem hands it; blocks sum it exactly (block_sum).
    system = FSL(**HARD)
    problem = system.problem(400, blocks=40)
    u = jnp.asarray(_random_rates(40, seed=2))[:, None]
    value, grad, curv = problem.value_grad_curvature(u)
    assert curv is not None
    assert abs(float(value - problem.cost(u))) < 1e-15 * float(value)
    assert float(jnp.max(jnp.abs(grad - jax.grad(problem.cost)(u)))) < 1e-13 * float(jnp.max(jnp.abs(grad)))
    # Summed over the blocks exactly: every entry of the block Hessian against jax.hessian of the cost.
    cost = lambda x: problem.cost(x[:, None])  # noqa: E731
    exact = jax.hessian(cost)(u[:, 0])
    dense = jax.vmap(curv.matvec)(jnp.eye(40))
    assert float(jnp.max(jnp.abs(dense - exact))) < 1e-12 * float(jnp.max(jnp.abs(exact)))
    # The solve itself: the fused pass against autodiff of the cost plus a separate curvature pass, both solved
    # to rtol 1e-11, reach the same point. Their iterates differ at round-off and the tail of a solve near
    # round-off amplifies it, so the iteration counts differ, and each stops where its projected gradient is below
    # its tolerance: the answers may differ by what those residual gradients allow, ‖Δx‖ <= (‖g₁‖ + ‖g₂‖)/λ_min on
    # the free controls (measured: 1.2e-10, the Newton step H⁻¹(g₁ − g₂) to 5 digits), and not at the bounds.
    from lrcontrol.solvers import _lbfgsb

    x0, lower, upper = jnp.full(40, 0.05), jnp.zeros(40), jnp.full(40, float(system.eta_max))
    weights = problem.block_lengths().astype(float)

    def separate(x):  # the block Hessian's diagonal by autodiff (40 controls: the dense Hessian is cheap)
        f, g = jax.value_and_grad(cost)(x)
        return f, g, jnp.diag(jax.hessian(cost)(x))

    def fused(x):
        f, g, h = problem.value_grad_curvature(x[:, None])
        return f, g[:, 0], h.diagonal()

    kw = dict(rtol=1e-11, atol=0.0, max_steps=500, history=10)
    two_pass, info_s = jax.jit(lambda x: _lbfgsb.minimise(separate, x, lower, upper, weights, **kw))(x0)
    one_pass, info_f = jax.jit(lambda x: _lbfgsb.minimise(fused, x, lower, upper, weights, **kw))(x0)
    assert int(info_s.result) == int(info_f.result) == 0
    top = float(system.eta_max)
    free = np.asarray((two_pass > 0) & (two_pass < top) & (one_pass > 0) & (one_pass < top))
    assert np.array_equal(np.asarray(two_pass)[~free], np.asarray(one_pass)[~free])
    lam_min = np.linalg.eigvalsh(np.asarray(jax.hessian(cost)(two_pass))[np.ix_(free, free)]).min()
    residual = sum(np.linalg.norm(np.asarray(jax.grad(cost)(x))[free]) for x in (two_pass, one_pass))
    assert lam_min > 0
    assert np.linalg.norm(np.asarray(two_pass - one_pass)[free]) <= residual / lam_min
    assert abs(float(cost(two_pass) - cost(one_pass))) <= 4e-16 * float(cost(two_pass))


@pytest.mark.parametrize("phase", ["easy", "hard"])
def test_newton_steps_reach_the_lbfgs_optimum_in_fewer_iterations(optima, phase):
    # The additive FSL hands Direct its exact Hessian (a MinKernelHessian): projected Newton by default, L-BFGS
    # preconditioned by the Hessian's diagonal with newton=False. Same stationary point; Newton converges
    # quadratically, far below the tolerance where L-BFGS stops just under it (measured at N = 1000: easy 8 vs 13
    # iterations, hard 7 vs 44; the controls differ by 2e-11 easy, 2.6e-8 hard: L-BFGS's remaining gradient).
    system, newton = optima[phase]
    lbfgs = lrc.solve(system.problem(N), lrc.solvers.Direct(newton=False), progress=False)
    assert newton.diagnostics.converged and lbfgs.diagnostics.converged
    assert float(newton.diagnostics.residual) < 1e-3 * float(newton.diagnostics.extras["tolerance"])
    assert int(newton.diagnostics.iterations) <= int(lbfgs.diagnostics.iterations)
    if phase == "hard":  # the badly conditioned annealing tail, where L-BFGS creeps
        assert 3 * int(newton.diagnostics.iterations) <= int(lbfgs.diagnostics.iterations)
    assert float(jnp.max(jnp.abs(newton.controls - lbfgs.controls))) < 1e-6 * float(system.eta_max)
    assert float(newton.objective) <= float(lbfgs.objective) * (1 + 1e-14)


@pytest.mark.parametrize("blocks", [None, 97])
def test_multiplicative_newton_steps_reach_the_lbfgs_optimum(blocks):
    # The multiplicative variant's Hessian has a max part too (a rank-two update of the min-kernel form): Newton
    # steps reach the L-BFGS optimum, hard phase, N = 1000, per step and in 97 blocks (lengths 10 and 11: the
    # Hessian summed over them exactly, MinKernelHessian.block_sum, rescaled by the block weights). Measured: 10
    # iterations against 35 per step, 7 against 25 in blocks; the controls differ by 2e-7 and 3e-7 of η_max
    # (L-BFGS's remaining gradient).
    problem = FSL(**HARD, variant="multiplicative").problem(N, blocks=blocks)
    newton = lrc.solve(problem, progress=False)
    lbfgs = lrc.solve(problem, lrc.solvers.Direct(newton=False), progress=False)
    assert newton.diagnostics.converged and lbfgs.diagnostics.converged
    assert 2 * int(newton.diagnostics.iterations) <= int(lbfgs.diagnostics.iterations)
    assert float(jnp.max(jnp.abs(newton.controls - lbfgs.controls))) < 1e-5 * float(HARD["eta_max"])
    assert float(newton.objective) <= float(lbfgs.objective) * (1 + 1e-14)


@pytest.mark.parametrize("phase", ["easy", "hard"])
def test_numerical_optimum_is_the_exact_finite_n_law(optima, phase):
    system, sol = optima[phase]
    assert system.phase() == phase
    law, c, law_loss = system.exact_optimum(N)
    rates = np.asarray(sol.controls[:, 0])
    # Direct (projected Newton on E_N) vs the exact law min{η_max, c[1 + c(N − z)/(2β)]^{2β−1}} with c from a 1-D
    # search: acceptance 1% of the peak; measured 5.0e-4 (easy), 5.4e-4 (hard): the law is the continuum
    # stationary schedule, off the discrete one by O(1/N).
    assert np.max(np.abs(rates - np.asarray(law))) < 0.01 * rates.max()
    # The law is one point of the feasible set, so the optimum's objective cannot be above it (round-off slack
    # 1e-12); and it is below only by the law's O(1/N) shape error (measured 4e-8 relative).
    assert float(sol.objective) <= float(law_loss) * (1 + 1e-12)
    assert float(law_loss) - float(sol.objective) < 1e-6 * float(sol.objective)
    # The last rate is c > 0 (the law ends at c, not at zero): within 1% (measured 0.2%).
    assert rates[-1] == pytest.approx(float(c), rel=0.01)
    if phase == "hard":
        # The hard phase is WSD-shaped: the cap binds for the first N − D steps. D from the numerical optimum vs
        # the continuous optimum's decay length: within 5% (measured 188 vs 185.0; steps are whole numbers and
        # the continuum misses O(1) steps at both ends).
        assert rates[0] == pytest.approx(HARD["eta_max"])
        d = fsl_laws.decay_length(rates, HARD["eta_max"])
        assert d == pytest.approx(system.continuous_optimum(N)["decay_steps"], rel=0.05)
    else:
        assert rates.max() < 0.5 * EASY["eta_max"]  # the cap does not bind in this easy case (peak 0.084)


@pytest.mark.parametrize("phase", ["easy", "hard"])
def test_optimum_beats_every_peak_tuned_shape_fixed_schedule(optima, phase):
    system, sol = optima[phase]
    problem = system.problem(N)
    b = float(system.capacity)
    baselines = {"constant": {}, "linear": {}, "cosine": {},
                 "power_decay": {"exponent": 2 * b - 1},
                 "wsd": {"decay": 0.2, "shape": "linear"}}
    for family, kwargs in baselines.items():
        _, cost = schedules.tune_peak(problem, family, **kwargs)
        # Every shape-fixed schedule is feasible, so it cannot beat the optimum; it must lose by more than the
        # solver's tolerance. Measured excess: easy — linear 2.7%, cosine 7.9%, WSD 14%, (1 − x)^3 20%, constant
        # 28%; hard — WSD 0.32%, linear 10.7%, cosine 10.8%, constant 11.4%, (1 − x)^5 43%.
        assert float(cost) > float(sol.objective) * (1 + 1e-4), family


def test_continuous_optimum_matches_the_discrete_exact_law_at_large_n():
    # The continuous semi-analytic optimum (O(1), both branches) vs the discrete exact law's 1-D search on the
    # O(N) E_N at N = 10⁵: measured relative loss gap 3.0e-5 (easy) and 1.5e-5 (hard), bound 2e-4 (the continuum
    # misses the sum-vs-integral error of the last steps).
    n = 100_000
    for params, branch in ((EASY, "easy"), (HARD, "hard")):
        system = FSL(**params)
        cont = system.continuous_optimum(n)
        _, c, loss = system.exact_optimum(n)
        assert cont["branch"] == branch
        assert abs(cont["loss"] / float(loss) - 1) < 2e-4
        assert abs(cont["c"] / float(c) - 1) < 2e-3  # end rate c: measured 7e-6 (easy), 4.3e-4 (hard)


def test_continuous_optimum_formula_matches_quadrature_of_its_schedule():
    # The semi-analytic E* (integrals done by hand) vs the trapezoid rule on the continuous FSL functional of the
    # same schedule η(z) = min{η_max, c[1 + c(N − z)/(2β)]^{2β−1}}, z ∈ [0, N] on 2·10⁵ points: the quadrature's
    # error is O(Δz²); bound 1e-6 relative (measured 3e-11 easy, 7e-11 hard).
    for params in (EASY, HARD):
        system = FSL(**params)
        n = 10_000
        cont = system.continuous_optimum(n)
        z = jnp.linspace(0.0, n, 200_001)
        b, c = system.capacity, cont["c"]
        rates = jnp.minimum(system.eta_max, c * (1 + c * (n - z) / (2 * b)) ** (2 * b - 1))
        assert abs(float(system.continuous_final_loss(rates, z)) / cont["loss"] - 1) < 1e-6


def test_rate_exponents_of_the_continuous_optimum_at_1e11_to_1e12():
    # Local slopes between N = 10¹¹ and 10¹² against Li et al.'s exponents [P, D]; acceptance 0.02. Measured: easy
    # loss 0.6628 (theory 2/3), peak 0.3324 (ν = 1/3); hard loss 0.2505 (s = 0.25), decay length 0.7577
    # (β(s+1)/(2β−1) = 0.75).
    def slope(system, key):
        lo, hi = system.continuous_optimum(1e11), system.continuous_optimum(1e12)
        return math.log(hi[key] / lo[key]) / math.log(10.0)

    easy, hard = FSL(**EASY), FSL(**HARD)
    assert -slope(easy, "loss") == pytest.approx(easy.exponents()["loss"], abs=0.02)
    assert -slope(easy, "peak") == pytest.approx(easy.exponents()["peak"], abs=0.02)
    assert -slope(hard, "loss") == pytest.approx(hard.exponents()["loss"], abs=0.02)
    assert slope(hard, "decay_steps") == pytest.approx(hard.exponents()["decay_length"], abs=0.02)


def test_multiplicative_variant_optimum_warms_up():
    # Keeping e(t) in the noise makes early large steps costly: the numerical optimum rises before it decays
    # (a warm-up), which the additive law never does. Measured at N = 1000: first rate 0.84 of the peak, peak at
    # step 47; bounds: first rate < 0.9·peak and the peak after step 1.
    system = FSL(**EASY, variant="multiplicative")
    sol = lrc.solve(system.problem(N), progress=False)
    assert sol.diagnostics.converged, sol.diagnostics.message
    rates = np.asarray(sol.controls[:, 0])
    assert rates[0] < 0.9 * rates.max() and int(np.argmax(rates)) > 0
    # Stationarity checked by the hand-written gradient (not the one the solver used): free rates have
    # |∂E/∂η| ≤ 1e-6 of the gradient's scale at a constant schedule (measured 7e-10).
    g = np.asarray(system.final_loss_grad(sol.controls[:, 0]))
    g0 = np.asarray(system.final_loss_grad(jnp.full(N, float(rates.mean()))))
    assert np.max(np.abs(g)) < 1e-6 * np.max(np.abs(g0))
    with pytest.raises(NoClosedForm):
        system.exact_optimum(N)


def test_phases_exponents_and_capacity_saturation():
    assert FSL(source=0.5, capacity=2.0).phase() == "boundary"
    assert fsl_laws.nu(1.0, 2.0) == pytest.approx(1 / 3)
    # α = min{β, γ + 1}: linear (γ = 1) saturates at β = 2, cosine (γ = 2) at β = 3, (1 − x)^{2β−1} never.
    assert fsl_laws.shape_capacity(4.0, 1.0) == 2.0 and fsl_laws.shape_capacity(4.0, 2.0) == 3.0
    assert fsl_laws.shape_capacity(4.0, 7.0) == 4.0
    assert fsl_laws.shape_loss_exponent(1.0, 4.0, 7.0) == pytest.approx(0.8)  # the optimum's sβ/(1+sβ)
    assert fsl_laws.shape_loss_exponent(0.2, 2.0, 0.0) == pytest.approx(0.2 / 1.2)  # constant: α = 1, easy


@pytest.mark.parametrize("kwargs, name", [(dict(source=0.0), "source"), (dict(capacity=1.0), "capacity"),
                                          (dict(noise=-1.0), "noise"), (dict(eta_max=0.0), "eta_max"),
                                          (dict(variant="both"), "variant")])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(InputError, match=name):
        FSL(**kwargs)


@pytest.mark.parametrize("source", [0.35, 0.45, 0.55, 0.65])
def test_phase_order_parameter_changes_sign_at_the_boundary(source):
    # β = 2: boundary s = 1/2. On the exact law at N = 300 and 3000, φ ≈ −ν (the peak's log-slope), closer near
    # the boundary (measured |φ + ν| = 0.015, 0.001, 0.010, 0.018 for these s: finite-N slopes), so its sign is
    # the phase. Uncapped here: the hard-phase peak grows with N but stays below η_max = 1 at these N (σ² = 1).
    system = FSL(source=source, capacity=2.0, noise=1.0, eta_max=1.0)
    short, long_ = (system.exact_optimum(n)[0] for n in (300, 3000))
    phi = fsl_laws.phase_order_parameter(short, long_, 1.0)
    assert (phi > 0) == (system.phase() == "hard")
    assert abs(phi + fsl_laws.nu(source, 2.0)) < 0.02


def test_phase_order_parameter_is_positive_where_the_cap_binds():
    # The other half of φ: in the hard phase with the cap binding at both N (HARD: η_max = 0.2), the peak is pinned
    # (slope 0) and φ = −slope of the decay fraction D/N > 0. Measured φ = 0.062 at N = 300/3000 (decay over 59 and
    # 511 steps); the asymptotic (1 − 1/β − s)/(2 − 1/β) = 0.25 is approached slowly from below (0.16 at 10⁴/10⁵).
    system = FSL(**HARD)
    short, long_ = (system.exact_optimum(n)[0] for n in (300, 3000))
    assert all(fsl_laws.decay_length(r, HARD["eta_max"]) < r.size for r in (short, long_))
    phi = fsl_laws.phase_order_parameter(short, long_, HARD["eta_max"])
    assert 0 < phi < -fsl_laws.exponents(HARD["source"], HARD["capacity"])["decay_fraction"]
