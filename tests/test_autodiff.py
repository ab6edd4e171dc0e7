"""jit, vmap and grad: gradients against finite differences, implicit derivatives against re-solves."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc

from helpers import perceptron_problem

# Costs, gradients and loss curves compiled once per problem structure. Run eagerly, every primitive of the
# rollout (and of its gradient) is compiled and dispatched on its own: the same numbers, seconds slower per test.
_cost = eqx.filter_jit(lambda problem, u: problem.cost(u))
_grad = eqx.filter_jit(lambda problem, u: jax.grad(problem.cost)(u))
_losses = eqx.filter_jit(lambda problem, u: problem.trajectory(u)[2])


@pytest.mark.parametrize("discount", [0.0, 1.0])
def test_objective_gradient_matches_finite_differences(discount):
    problem = perceptron_problem(steps=60, discount=discount)
    u = 0.3 + 0.2 * jax.random.uniform(jax.random.PRNGKey(0), (60, 1))
    g = _grad(problem, u)
    for seed in range(3):
        v = jax.random.normal(jax.random.PRNGKey(seed + 1), u.shape)
        h = 1e-6
        fd = (_cost(problem, u + h * v) - _cost(problem, u - h * v)) / (2 * h)
        assert float(jnp.vdot(g, v)) == pytest.approx(float(fd), rel=1e-7, abs=1e-12)


def test_parallel_and_sequential_exact_flows_agree():
    # The perceptron's closed-form trajectory (prefix sums) against scanning its per-cell flow.
    parallel = perceptron_problem(steps=300, discount=0.7)
    sequential = perceptron_problem(steps=300, discount=0.7, integrator=lrc.ExactFlow(parallel=False))
    u = 0.5 + 0.3 * jnp.sin(jnp.linspace(0, 6, 300))[:, None]
    assert float(_cost(parallel, u)) == pytest.approx(float(_cost(sequential, u)), rel=1e-13)
    assert np.allclose(_grad(parallel, u), _grad(sequential, u), rtol=1e-11, atol=1e-16)
    assert np.allclose(_losses(parallel, u), _losses(sequential, u), rtol=1e-13)


def test_checkpointed_rollout_gives_same_cost_and_gradient():
    sequential = lrc.ExactFlow(parallel=False)  # the scan path, where checkpointing applies
    plain = perceptron_problem(steps=100, integrator=sequential)
    chunked = perceptron_problem(steps=100, checkpoint_every=7, integrator=sequential)  # 15 chunks, last padded
    u = jnp.linspace(1.0, 0.0, 100)[:, None]
    assert float(_cost(chunked, u)) == pytest.approx(float(_cost(plain, u)), rel=1e-14)
    assert np.allclose(_grad(chunked, u), _grad(plain, u), rtol=1e-12, atol=1e-16)


def test_long_horizon_gradient_runs_with_checkpointing():
    problem = perceptron_problem(steps=100_000, integrator=lrc.RK4())  # scanned, chunked at √n above 4096
    u = jnp.full((100_000, 1), 0.4)
    g = jax.jit(jax.grad(problem.cost))(u)
    assert g.shape == u.shape and bool(jnp.all(jnp.isfinite(g)))


# The vmap and grad tests below wrap the transformed solve in jax.jit: one compiled program for the whole
# transformed solve. The same transformation run eagerly dispatches every primitive of the solver's loops on its
# own (about 20 s of compilation per test on 2 cores, for the same computation); jit is also the stricter
# check (any Python branch on a traced value inside lrc.solve fails under it).

def test_jit_of_solve_matches_eager():
    eager = lrc.solve(perceptron_problem(steps=200))
    jitted = jax.jit(lambda b: lrc.solve(perceptron_problem(effort_cost=b, steps=200)).objective)(0.5)
    assert float(jitted) == pytest.approx(float(eager.objective), rel=1e-12)


def test_vmap_over_effort_cost_matches_individual_solves():
    betas = jnp.array([0.2, 0.5, 1.3])
    batched = jax.jit(jax.vmap(lambda b: lrc.solve(perceptron_problem(effort_cost=b, steps=200)).controls))(betas)
    for i, b in enumerate(betas):
        single = lrc.solve(perceptron_problem(effort_cost=float(b), steps=200)).controls
        assert np.max(np.abs(batched[i] - single)) < 1e-7 * float(single.max())


def test_grad_of_optimal_objective_obeys_envelope_theorem():
    # dJ*/dβ = ∫ μ*² dt for the cost J = ∫[L + βμ²] (the paper's reward: dR*/dβ = −∫μ*²). 200 steps, the grid of
    # the tests above (their compiled solve is reused); measured 7e-10 (envelope) and 1.2e-8 (re-solves) relative.
    steps, T = 200, 2.0
    grad = jax.jit(jax.grad(lambda b: lrc.solve(perceptron_problem(effort_cost=b, steps=steps)).objective))(0.5)
    mu = lrc.solve(perceptron_problem(steps=steps)).schedule.values
    envelope = float(jnp.sum(mu**2) * T / steps)
    h = 1e-4
    fd = (lrc.solve(perceptron_problem(effort_cost=0.5 + h, steps=steps)).objective
          - lrc.solve(perceptron_problem(effort_cost=0.5 - h, steps=steps)).objective) / (2 * h)
    # The identity holds to first order in the stationarity residual left by the solver's stopping rule
    # (projected gradient ≤ 1e-8 × its initial value, ~1e-8 here; times ‖dμ/dβ‖·T ≈ 2 gives ~2e-8 absolute,
    # ~1e-7 relative; 1e-6 leaves room for a coarser start).
    assert float(grad) == pytest.approx(envelope, rel=1e-6)
    assert float(grad) == pytest.approx(float(fd), rel=1e-6)


def test_implicit_derivative_of_optimal_schedule_matches_resolves():
    # d μ*(0)/dβ through the implicit function theorem vs re-solving at β ± h, and vs the closed form. Measured at
    # 200 steps: 3.7e-9 relative to the re-solves, 3.5e-5 to the closed form at the first cell midpoint (O(h²)).
    steps = 200
    system = lrc.systems.LinearPerceptron()
    mu0 = lambda b: lrc.solve(perceptron_problem(effort_cost=b, steps=steps)).controls[0, 0]  # noqa: E731
    grad = jax.jit(jax.grad(mu0))(0.5)
    h = 1e-5
    fd = (lrc.solve(perceptron_problem(effort_cost=0.5 + h, steps=steps)).controls[0, 0]
          - lrc.solve(perceptron_problem(effort_cost=0.5 - h, steps=steps)).controls[0, 0]) / (2 * h)
    analytic = jax.grad(lambda b: system.effort_rate(1.0 / steps, b, 2.0))(0.5)  # first cell midpoint
    assert float(grad) == pytest.approx(float(fd), rel=1e-6)
    assert float(grad) == pytest.approx(float(analytic), rel=1e-3)
