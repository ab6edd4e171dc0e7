"""The one-dimensional searches of `_search`: Newton steps in log a against known minima and against the grid +
golden-section search they replace for the FSL's exact law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol._search import best_log_scale, newton_log_minimum
from lrcontrol.systems import fsl_laws

jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("star", [3.7e-11, 2.5e-5, 0.42])
def test_newton_finds_an_interior_minimum_to_round_off(star):
    # an asymmetric, non-quadratic cost in log a with its minimum at a* (curvature rising to the right, as the
    # hard-phase FSL's does)
    def cost(a):
        x = jnp.log(a / star)
        return jnp.exp(x) - x + 0.1 * x**4

    a, value = jax.jit(lambda: newton_log_minimum(cost, 1e-12, 1.0))()
    assert abs(float(a) / star - 1) < 1e-10 and float(value) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("sign, end", [(1.0, 1e-3), (-1.0, 1.0)])
def test_newton_closes_on_a_minimum_at_an_end(sign, end):
    a, value = newton_log_minimum(lambda a: sign * a, 1e-3, 1.0)
    assert float(a) == pytest.approx(end, rel=1e-9) and float(value) == pytest.approx(sign * end, rel=1e-9)


def test_newton_survives_costs_that_diverge_at_large_scales():
    # SGD diverging above a critical rate: +inf there (a flat slope, which the search must read as uphill)
    def cost(a):
        return jnp.where(a < 0.05, (jnp.log(a) - jnp.log(0.01)) ** 2, jnp.inf)

    a, value = newton_log_minimum(cost, 1e-6, 10.0)
    assert abs(float(a) / 0.01 - 1) < 1e-9 and float(value) < 1e-18


@pytest.mark.parametrize("params", [{}, dict(source=0.25, capacity=3.0, noise=0.2, eta_max=0.2)])
def test_fsl_exact_law_search_matches_the_golden_section(params):
    # the easy and the hard phase: the same minimum as the grid + golden-section search to its precision, and a
    # value no higher
    system, steps = lrc.systems.FSL(**params), 3000

    def cost(c):
        return system.final_loss(fsl_laws.exact_law(system, steps, c))

    golden_c, golden_value = best_log_scale(cost, 1e-12 * system.eta_max, system.eta_max)
    _, c, value = system.exact_optimum(steps)
    assert abs(float(c) / float(golden_c) - 1) < 1e-7
    assert float(value) <= float(golden_value) * (1 + 1e-14)
    slope = jax.grad(lambda x: cost(jnp.exp(x)))(jnp.log(c))  # stationary in log c
    assert abs(float(slope)) < 1e-12 * np.abs(float(value))
