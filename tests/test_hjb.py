"""HJB (dynamic programming on a state grid) against the perceptron's closed forms and the direct solver:
accuracy, time, grid convergence order, the feedback policy, control bounds, bad input."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import perceptron_problem

import lrcontrol as lrc


def test_hjb_matches_closed_form_fast():
    problem = perceptron_problem(steps=1000)
    t0 = time.perf_counter()
    sol = lrc.solve(problem, lrc.solvers.HJB())
    elapsed = time.perf_counter() - t0
    assert sol.diagnostics.converged, sol.diagnostics.message
    ref = np.asarray(problem.system.optimal_schedule(problem).values)
    err = np.max(np.abs(np.asarray(sol.schedule.values) - ref)) / ref.max()
    # Issue target 2e-2 of the peak in under 30 s on 2 cores. Measured 8.0e-7 in ~1.2 s run + ~7 s compile
    # (401 states, 64 + 30 golden controls per state and cell, plus the coarse-grid repeat).
    assert err <= 2e-2
    assert err <= 5e-6
    assert elapsed < 30.0
    # The reported error estimate (coarse-grid change, 3.4e-6) bounds the actual grid error from above.
    assert float(sol.diagnostics.residual) >= err


def test_hjb_grid_convergence_order():
    """HJB and Direct solve the same discrete problem, so their difference is HJB's grid error alone."""
    problem = perceptron_problem(steps=200)
    direct = lrc.solve(problem, lrc.solvers.Direct())
    peak = float(jnp.max(direct.controls))
    errors = []
    for points in (51, 101, 201):  # (each grid size compiles its own solve: three keep the test short)
        sol = lrc.solve(problem, lrc.solvers.HJB(points=points, estimate_error=False))
        errors.append(float(jnp.max(jnp.abs(sol.controls - direct.controls))) / peak)
    # Measured 5.4e-5, 1.3e-5, 3.7e-6 (and 1.96e-4 at 27 points): order 1.96 in the grid spacing.
    order = lrc.analysis.convergence_order([50, 100, 200], errors)
    assert 1.7 <= order <= 2.5, (order, errors)


def test_hjb_policy_is_the_optimal_feedback_law():
    problem = perceptron_problem(steps=200)
    vf = lrc.solvers.HJB(points=101).value_function(problem)
    table = vf.policy_table()  # (cells, states)
    grid, e = problem.grid(), vf.axes[0]
    h = grid[1] - grid[0]
    exact = problem.system.optimal_feedback(problem)
    cells = jnp.arange(180)  # t ≤ 0.9 T (the law's horizon singularity τ → 0 is not the point here)
    # The discrete optimum for cell k from state e is the continuous law at the cell's midpoint, reached by
    # holding that control for h/2 (an O(h²) match; at the cell's start it would be O(h): measured 5.9e-3).
    law = jax.vmap(lambda t, row: jax.vmap(lambda ee, u: exact(t + h / 2, ee * jnp.exp(-u * h / 2))[0])(e, row))(
        grid[cells], table[cells])
    dev = float(jnp.max(jnp.abs(table[cells] - law)) / jnp.max(table))
    assert dev <= 1e-4, dev  # measured 1.25e-5 over the whole (t, e) grid
    # The policy simulated in continuous time (RK4, policy at every stage) follows the optimum to O(h): within a
    # cell it answers "the control to hold for a whole cell from here", a half-cell lag. Measured 5.2e-3 of the
    # peak at h = 0.01 (the discrete rollout `vf.open_loop()` has no such lag: see the first test).
    sim = lrc.simulate(problem, vf.policy())
    ref = np.asarray(problem.system.optimal_schedule(problem).values)
    lag = np.max(np.abs(np.asarray(sim.schedule.values) - ref)) / ref.max()
    assert lag <= 1e-2, lag


def test_hjb_respects_an_active_upper_bound():
    problem = perceptron_problem(steps=200, bounds={"lr": (0.0, 0.5)})
    direct = lrc.solve(problem, lrc.solvers.Direct())
    sol = lrc.solve(problem, lrc.solvers.HJB(points=201))
    assert sol.diagnostics.converged
    assert float(jnp.max(sol.controls)) <= 0.5
    assert float(jnp.mean(direct.controls >= 0.5 - 1e-9)) > 0.1  # the bound is active on a stretch
    assert float(jnp.max(jnp.abs(sol.controls - direct.controls))) <= 1e-4


def test_hjb_bad_input():
    with pytest.raises(lrc.InputError, match="points must be an odd"):
        lrc.solvers.HJB(points=100)
    with pytest.raises(lrc.InputError, match="interpolation must be"):
        lrc.solvers.HJB(interpolation="spline")
    with pytest.raises(lrc.InputError, match="domain must give a finite"):
        lrc.solve(perceptron_problem(steps=50), lrc.solvers.HJB(domain=((0.0, 1.0), (0.0, 1.0))))
    with pytest.raises(lrc.InputError, match="stored values"):
        lrc.solve(perceptron_problem(steps=200_000), lrc.solvers.HJB(points=401))


def test_hjb_reports_an_unresolved_or_unverified_grid_as_not_converged():
    problem = perceptron_problem(steps=200)  # the grid-order test's problem: its 101-point solve is reused
    coarse = lrc.solve(problem, lrc.solvers.HJB(points=5))
    # 5 vs 3 grid points: the schedule moves by far more than rtol = 1e-2 of its peak between the grids.
    assert not coarse.diagnostics.converged and "use more points" in coarse.diagnostics.message
    assert float(coarse.diagnostics.residual) > 1e-2
    unverified = lrc.solve(problem, lrc.solvers.HJB(points=101, estimate_error=False))
    assert not unverified.diagnostics.converged and "not verified" in unverified.diagnostics.message
    with pytest.raises(lrc.InputError, match="control_max must be greater than the lr lower bound"):
        lrc.solve(perceptron_problem(steps=50, bounds={"lr": (1.0, None)}), lrc.solvers.HJB(control_max=0.5))
