"""Power-law random features under SGD (Bordelon & Mori 2026): the recursion against simulated SGD, the
authors' published optimum, and the discrete stationarity condition."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from helpers import problem_script
from lrcontrol.cli import main
from lrcontrol.systems import RandomFeatures

PUBLISHED = dict(a=1.5, b=1.25, modes=500, noise=0.5, batch=1.0)  # Bordelon & Mori 2026 [C]


@pytest.fixture(scope="module")
def published_solution():
    problem = lrc.ControlProblem(RandomFeatures(**PUBLISHED), lrc.objectives.FinalLoss(), horizon=500,
                                 bounds={"lr": (0.0, 2.0)})
    sol = lrc.solve(problem, progress=False)
    assert sol.diagnostics.converged, sol.diagnostics.message
    return sol


def test_recursion_is_the_expected_loss_of_simulated_sgd():
    # Online SGD with batch m on Gaussian features x ~ N(0, diag λ), y = w*·x + σε, w₀ = 0, over 40 000 seeds.
    # The recursion must sit within the Monte Carlo error at every step (4 standard errors; measured max 1.6).
    system = RandomFeatures(a=2.0, b=1.5, modes=10, noise=0.5, batch=2.0)
    lam, m, steps, eta = system.eigenvalues(), 2, 30, 0.6
    w_star = jnp.sqrt(system.initial_state())

    def run(key):
        def step(w, k):
            kx, ke = jax.random.split(k)
            x = jax.random.normal(kx, (m, system.modes)) * jnp.sqrt(lam)
            y = x @ w_star + system.noise * jax.random.normal(ke, (m,))
            w = w + eta * x.T @ (y - x @ w) / m
            return w, jnp.sum(lam * (w - w_star) ** 2)

        _, losses = jax.lax.scan(step, jnp.zeros(system.modes), jax.random.split(key, steps))
        return losses

    samples = jax.jit(jax.vmap(run))(jax.random.split(jax.random.PRNGKey(0), 40_000))
    mean, se = np.asarray(samples.mean(0)), np.asarray(samples.std(0, ddof=1)) / np.sqrt(samples.shape[0])
    c, exact = system.initial_state(), []
    for k in range(steps):
        c = system.step(c, jnp.array([eta]), k)
        exact.append(float(system.loss(c)))
    z = np.abs(mean - np.asarray(exact)) / se
    assert z.max() < 4.0, z.max()
    assert exact[-1] < 0.5 * float(system.loss(system.initial_state()))  # it does learn: the check has teeth


def test_published_optimum_is_reproduced(published_solution):
    # Authors' point [C]: L*_T = 0.2230562, η*[0] ≈ 0.163, η*[T−1] ≈ 0.0194 (a = 1.5, b = 1.25, N = 500, σ = 0.5,
    # m = 1, T = 500, η ∈ [0, 2]). Our float64 optimum is 0.2230563132 (scipy L-BFGS-B on the same objective
    # agrees to 1e-10). The 1.1e-7 gap is float32 arithmetic: the same schedule run through the recursion in
    # float32 gives 0.22305623, the published 7 digits.
    sol = published_solution
    u = np.asarray(sol.schedule.values)
    assert round(u[0], 3) == 0.163 and round(u[-1], 4) == 0.0194
    assert abs(float(sol.objective) - 0.2230562) < 2e-7
    assert abs(problem_script("random_features_published").float32_replay(sol.problem.system, u) - 0.2230562) < 5e-8


def test_optimum_satisfies_the_discrete_stationarity_condition(published_solution):
    # [D]: the interior optimum is a fixed point of the stationarity map (RandomFeatures.
    # stationary_rates, an adjoint recursion written out by hand; the solver only sees jax.grad of L_T). Measured
    # max relative deviation 1.2e-7 (the solver's stopping tolerance; the bounds are inactive: η* ∈ [0.019,
    # 0.237]). A non-optimal schedule (constant) is far from a fixed point: the check has teeth.
    sol = published_solution
    system = sol.problem.system
    u = np.asarray(sol.schedule.values)
    predicted = np.asarray(system.stationary_rates(jnp.asarray(u)))
    assert np.max(np.abs(u - predicted) / u) < 1e-6
    const = jnp.full(500, 0.1)
    assert float(jnp.max(jnp.abs(system.stationary_rates(const) - const) / const)) > 0.1


def test_phases_and_exponents():
    easy, hard = RandomFeatures(a=2.0, b=1.5), RandomFeatures(a=1.75, b=3.0)
    assert easy.phase() == "easy" and hard.phase() == "hard" and RandomFeatures(a=2, b=2).phase() == "boundary"
    e = easy.exponents()
    assert e["xi"] == pytest.approx(0.25) and e["delta"] == pytest.approx(2.0) and e["kappa"] == pytest.approx(2 / 3)
    assert e["optimal_loss"] == pytest.approx(0.5) and e["constant_loss"] == pytest.approx(1 / 2.5)
    h = hard.exponents()
    assert h["optimal_loss"] == pytest.approx(0.25) and h["annealed_fraction"] == pytest.approx(0.25)
    assert float(RandomFeatures(a=2.0, b=1.5, normalise=True).loss(
        RandomFeatures(a=2.0, b=1.5, normalise=True).initial_state())) == pytest.approx(1.0, rel=1e-14)


@pytest.mark.parametrize("kwargs, name", [({"a": 1.0}, "a"), ({"b": 0.5}, "b"), ({"modes": 0}, "modes"),
                                          ({"noise": -1.0}, "noise"), ({"batch": 0.5}, "batch"),
                                          ({"normalise": "yes"}, "normalise")])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(lrc.InputError, match=rf"^{name} must ") as err:
        RandomFeatures(**kwargs)
    assert err.value.args[0].endswith(".") and "\n" not in err.value.args[0]


def test_cli_solves_block_controls_within_eta_max(tmp_path):
    out = tmp_path / "rf"
    assert main(["solve", "random_features", "--set", "modes=50", "--set", "horizon=200", "--set", "blocks=20",
                 "--set", "eta_max=0.3", "--set", "batch=5", "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "solution.json").read_text())
    lr = np.asarray(data["controls"]["lr"])
    assert data["diagnostics"]["converged"] and data["objective_kind"] == "final_loss"
    assert data["params"]["blocks"] == 20 and data["params"]["batch"] == 5.0 and len(lr) == 200
    assert lr.min() >= 0.0 and lr.max() <= 0.3 and len(np.unique(lr)) <= 20  # piecewise constant on 20 blocks
    assert data["loss"][-1] < data["loss"][0] and data["objective"] == pytest.approx(data["loss"][-1])


def test_blocks_beyond_the_horizon_name_the_horizon():
    with pytest.raises(lrc.InputError, match=r"^blocks must be a whole number from 1 to horizon \(50\), got 60\.$"):
        lrc.ControlProblem(RandomFeatures(modes=5), lrc.objectives.FinalLoss(), horizon=50, blocks=60)


def test_optimum_beats_every_baseline_tuned_within_its_family():
    # Small hard-phase case (50 modes, T = 100); measured ratios L_T / L*_T: constant 1.31, power law (χ = 0.3)
    # 1.21, (1 − t/T)^δ 1.35, WSD (decay 0.3) 1.04. The full comparison is problems/random_features_baselines.py.
    rfb = problem_script("random_features_baselines")
    problem = lrc.ControlProblem(RandomFeatures(a=1.75, b=3.0, modes=50), lrc.objectives.FinalLoss(), horizon=100,
                                 bounds={"lr": (0.0, 2.0)})
    sol = lrc.solve(problem, progress=False)
    assert sol.diagnostics.converged, sol.diagnostics.message
    base = rfb.baselines(problem, 3.0, exponents=(0.3,), decays=(0.3,))  # shape grids of one: time
    ratios = {k: c / float(sol.objective) for k, (_, c, _) in base.items()}
    assert all(r > 1.0 for r in ratios.values()), ratios
    assert min(ratios, key=ratios.get) == "WSD, linear decay", ratios  # hard phase: WSD is the best baseline


def test_rate_curvature_is_the_exact_hessian_diagonal_and_splits_the_gradient():
    # η_t enters only c_{t+1} and L_T is affine in c_{t+1} for fixed later rates, so the hand-written adjoint's
    # 2[(1+1/m)Σλ²pc + (L+σ²)P/m] is the exact diagonal of ∇²L_T, and ∂L_T/∂η_t = −2Σλpc + η_t·curvature.
    # Checked against jax.hessian and jax.grad of the scanned recursion (a different method).
    system = RandomFeatures(a=2.0, b=1.5, modes=30, noise=0.5, batch=3.0)
    problem = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=25)
    eta = 0.4 + 0.2 * jnp.sin(jnp.arange(25.0))
    cost = lambda e: problem.cost(e[:, None])  # noqa: E731
    curvature = system.rate_curvature(eta)
    np.testing.assert_allclose(curvature, jnp.diag(jax.hessian(cost)(eta)), rtol=1e-12)
    pull = system.stationary_rates(eta) * curvature / 2
    np.testing.assert_allclose(-2 * pull + eta * curvature, jax.grad(cost)(eta), rtol=1e-11, atol=1e-16)
    assert float(curvature.max() / curvature.min()) > 10  # it spans scales: why it is worth preconditioning


def test_preconditioned_solve_reaches_the_same_optimum_in_fewer_iterations(published_solution):
    # Direct preconditions by default where the problem knows its Hessian's diagonal. Same stationary point as
    # plain L-BFGS (measured: 15 vs 96 iterations, objectives equal to 1e-13, schedules to 1e-7).
    plain = lrc.solve(published_solution.problem, lrc.solvers.Direct(precondition=False), progress=False)
    pre = published_solution
    assert plain.diagnostics.converged and pre.diagnostics.converged
    assert float(pre.objective) == pytest.approx(float(plain.objective), rel=1e-11)
    np.testing.assert_allclose(pre.schedule.values, plain.schedule.values, rtol=1e-5)
    assert int(pre.diagnostics.iterations) * 3 < int(plain.diagnostics.iterations)


def test_per_step_optimum_alternates_when_noise_is_weak():
    # A finding beyond the paper: with batch m = 5 (weak gradient noise) the per-step optimum of the discrete
    # problem is not smooth: it alternates between large and small steps (period 2, up to η_max), a
    # Chebyshev-like acceleration that a stable smooth schedule cannot match: the curvature λ = 1 mode is held
    # in check by the small steps while the large ones speed up the slow modes. Measured at 50 modes, T = 200:
    # L_T = 0.038986 against 0.039329 for the best 20-block schedule (smooth, max rate 1.26 < 2/(1+1/m)), total
    # variation 31 ranges. At m = 1 (the paper's batch) the same solve is smooth (variation 1.2 ranges).
    # The landscape is then non-convex (which steps are large is nearly arbitrary), so solves from different
    # starts reach different alternating schedules of almost equal loss; block controls remove the effect.
    def solve(batch, blocks=None):
        problem = lrc.ControlProblem(RandomFeatures(a=2.0, b=2.0, modes=50, batch=batch), lrc.objectives.FinalLoss(),
                                     horizon=200, blocks=blocks, bounds={"lr": (0.0, 2.0)})
        sol = lrc.solve(problem, progress=False)
        assert sol.diagnostics.converged, sol.diagnostics.message
        u = np.asarray(sol.schedule.values)
        return float(sol.objective), np.abs(np.diff(u)).sum() / np.ptp(u), u

    per_step, variation, u = solve(5.0)
    smooth, block_variation, _ = solve(5.0, blocks=20)
    assert per_step < smooth * (1 - 5e-3) and variation > 10 and block_variation < 1.5
    assert u.max() > 2 / (1 + 1 / 5)  # steps beyond the stability limit of the top mode, taken alone
    assert solve(1.0)[1] < 1.5


def test_horizon_sweep_approaches_the_easy_phase_exponents():
    # Bordelon & Mori 2026, easy phase a = 2.5, b = 1.5: L*_T ~ T^−0.6, rate scale T^−ξ (ξ = 0.4), η ∝ τ^κ (κ =
    # 2/3). At 100 modes and T = 100, 400 (measured): loss slope −0.656 (finite T: steeper; −0.626 between T = 300
    # and 1000 at 200 modes, the full sweep in problems/random_features_sweeps.py goes to 10⁴), rate scale −0.388,
    # κ 0.547 → 0.627 (0.635 at T = 1000). The best constant falls behind as T grows (×1.25 → ×1.45), its own
    # exponent −(a−1)/(a+b−1) = −0.5 being smaller.
    sweeps = problem_script("random_features_sweeps")
    rows = sweeps.sweep(2.5, 1.5, (100, 400), 100)
    fits = sweeps.fits(rows, RandomFeatures(a=2.5, b=1.5, modes=100))
    loss, _, theory = fits["optimal_loss"]
    assert theory - 0.08 < loss < theory
    rate, _, theory = fits["rate scale η*(T/2)"]
    assert abs(rate - theory) < 0.03
    kappa = [r["kappa"] for r in rows]
    assert kappa[0] < kappa[1] and abs(kappa[1] - 2 / 3) < 0.05
    ratios = [r["constant"] / r["optimum"] for r in rows]
    assert 1.0 < ratios[0] < ratios[1]


@pytest.mark.parametrize("batch", [1.0, 4.0])
def test_stability_edge_is_where_the_recursion_matrix_reaches_spectral_radius_one(batch):
    system = RandomFeatures(a=2.0, b=2.0, modes=100, noise=0.5, batch=batch)
    edge = system.stability_edge()
    lam = np.asarray(system.eigenvalues())

    def radius(eta):  # the exact recursion's matrix, built densely: diag + (η²/m) λλᵀ
        a = np.diag(1 - 2 * eta * lam + (1 + 1 / batch) * (eta * lam) ** 2) + (eta**2 / batch) * np.outer(lam, lam)
        return np.max(np.abs(np.linalg.eigvals(a)))

    assert radius(0.999 * edge) < 1 < radius(1.001 * edge)
    assert abs(radius(edge) - 1) < 1e-9
