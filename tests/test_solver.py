"""The direct solver on its own terms: bounds, blocks, a discrete system, and honest failure reports."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc

from helpers import perceptron_problem


def test_active_upper_bound_matches_scipy_lbfgsb():
    # Cap the rate below the unconstrained μ*(0) ≈ 0.857: the optimum rides the cap, then leaves it (the cap of
    # tests/test_hjb.py's bound test, whose compiled direct solve this reuses; measured: 61 cells on the cap).
    # scipy's L-BFGS-B (a different optimiser) on the same discretised objective must agree.
    from scipy.optimize import minimize

    problem = perceptron_problem(steps=200, bounds={"lr": (0.0, 0.5)})
    sol = lrc.solve(problem)
    assert sol.diagnostics.converged
    u = np.asarray(sol.schedule.values)
    assert np.sum(u >= 0.5 - 1e-12) >= 10 and u.max() <= 0.5
    vg = jax.jit(jax.value_and_grad(lambda x: problem.cost(x[:, None])))
    res = minimize(lambda x: tuple(np.asarray(a) for a in vg(jnp.asarray(x))), np.full(200, 0.3), jac=True,
                   method="L-BFGS-B", bounds=[(0.0, 0.5)] * 200, options={"ftol": 1e-15, "gtol": 1e-12,
                                                                          "maxiter": 5000})
    assert np.max(np.abs(res.x - u)) < 1e-5
    assert float(sol.objective) <= res.fun + 1e-13


def test_blocks_are_piecewise_constant_and_cost_more():
    fine = lrc.solve(perceptron_problem(steps=200))
    coarse = lrc.solve(perceptron_problem(steps=200, blocks=8))
    v = np.asarray(coarse.schedule.values)
    assert coarse.controls.shape == (8, 1) and len(np.unique(v)) == 8
    assert np.all(v.reshape(8, 25) == v.reshape(8, 25)[:, :1])
    assert float(coarse.objective) > float(fine.objective)


class TwoModeGD(lrc.systems.AbstractDiscreteSystem):
    """GD on the quadratic ½(x₁² + 10x₂²): each step multiplies mode i by (1 − η hᵢ)."""

    name: ClassVar[str] = "two_mode_gd"
    curvature: jax.Array = eqx.field(converter=jnp.asarray, default=(1.0, 10.0))

    def initial_state(self):
        return jnp.ones(2)

    def loss(self, x):
        return 0.5 * jnp.sum(self.curvature * x**2)

    def step(self, x, u, k):
        return (1 - u[0] * self.curvature) * x


def test_discrete_system_two_steps_find_the_exact_annihilating_steps():
    # Two steps with η ∈ {1/1, 1/10} zero both modes: the final loss can reach 0.
    problem = lrc.ControlProblem(TwoModeGD(), lrc.objectives.FinalLoss(), horizon=2, bounds={"lr": (0.0, 1.5)})
    sol = lrc.solve(problem, u0=jnp.array([[0.8], [0.2]]))
    assert sorted(np.asarray(sol.schedule.values).round(5).tolist()) == [0.1, 1.0]
    assert float(sol.loss[-1]) < 1e-12
    assert len(sol.t) == 3 and float(sol.t[-1]) == 2.0


def test_discrete_horizon_must_be_whole_steps():
    with pytest.raises(lrc.InputError, match="horizon must be a whole number >= 1"):
        lrc.ControlProblem(TwoModeGD(), lrc.objectives.FinalLoss(), horizon=2.5)


def test_iteration_cap_is_reported_not_hidden():
    sol = lrc.solve(perceptron_problem(steps=100, effort_cost=0.01), lrc.solvers.Direct(max_steps=2))
    assert not sol.diagnostics.converged
    assert "max_steps" in sol.diagnostics.message
    assert sol.to_dict()["diagnostics"]["converged"] is False


def test_impossible_tolerance_ends_on_the_reported_round_off_floor():
    # A tolerance below the objective's round-off ends where no step can show a decrease: converged to round-off,
    # with the floor in the message (tests/test_stopping.py has the real stall above the floor). rtol 1e-15 was
    # reached outright (1.4e-15 ≤ 1.7e-15) once the two-loop recursion ran as matrix products; 1e-16 is not.
    sol = lrc.solve(perceptron_problem(steps=100), lrc.solvers.Direct(rtol=1e-16))
    assert sol.diagnostics.converged and "round-off" in sol.diagnostics.message
    assert int(sol.diagnostics.iterations) < 200  # detected, not ground out to max_steps


@pytest.mark.parametrize("kwargs, message", [
    ({"horizon": 0.0}, "horizon must be a finite number > 0, got 0"),
    ({"steps": 0}, "steps must be a whole number >= 1"),
    ({"blocks": 500, "steps": 100}, "blocks must be a whole number from 1 to steps"),
    ({"bounds": {"lr": (1.0, 0.5)}}, "bounds\\['lr'\\] must have lo <= hi"),
    ({"bounds": {"momentum": (0, 1)}}, "unknown control 'momentum'"),
    ({"horizon": float("nan")}, "horizon must be a finite number > 0, got nan"),
])
def test_bad_problem_input_is_one_sentence(kwargs, message):
    with pytest.raises(lrc.InputError, match=message):
        perceptron_problem(**kwargs)


@pytest.mark.parametrize("make, message", [
    (lambda: lrc.objectives.Effort(effort_cost=0.0), "effort_cost must be a finite number > 0"),
    (lambda: lrc.objectives.Effort(effort_cost=-1.0), "effort_cost must be a finite number > 0, got -1"),
    (lambda: lrc.objectives.Effort(effort_cost=1.0, discount=-1.0), "discount must be a finite number >= 0"),
    (lambda: lrc.systems.LinearPerceptron(input_variance=float("nan")), "input_variance must be a finite"),
    (lambda: lrc.solvers.Direct(max_steps=0), "max_steps must be a whole number >= 1"),
    (lambda: lrc.solvers.Direct(history=0), "history must be a whole number >= 1"),
    (lambda: lrc.solve(perceptron_problem(steps=10), u0=jnp.ones(3)), "u0 must have shape \\(10, 1\\)"),
])
def test_bad_component_input_is_one_sentence(make, message):
    with pytest.raises(lrc.InputError, match=message):
        make()


def test_direct_history_default_depends_on_the_number_of_controls():
    # 10 pairs below 10⁵ controls, 5 from there (each pair costs passes over memory at every iteration); a
    # history given is kept whatever the size
    assert lrc.solvers.Direct().pairs(99_999) == 10 and lrc.solvers.Direct().pairs(100_000) == 5
    assert lrc.solvers.Direct(history=7).pairs(10**6) == 7 and lrc.solvers.Direct(history=3).pairs(10) == 3


def test_xla_memory_analysis_runs_once_per_executable():
    # It takes ~20 ms; run on every solve it made a repeated 500-step perceptron solve 27 ms instead of 1.5 ms
    # (benchmarks/perceptron_direct.py had gone from 3.8x faster than scipy to 3x slower unnoticed).
    from types import SimpleNamespace

    from lrcontrol import _memory

    calls = []

    def memory_analysis():
        calls.append(1)
        return SimpleNamespace(temp_size_in_bytes=1, argument_size_in_bytes=2, output_size_in_bytes=3)

    executable = SimpleNamespace(compiled=SimpleNamespace(memory_analysis=memory_analysis))
    problem = perceptron_problem(steps=10)
    for _ in range(3):
        _memory.check_compiled_fits(executable, problem)
    assert len(calls) == 1 and _memory.compiled_bytes(executable) == 6
