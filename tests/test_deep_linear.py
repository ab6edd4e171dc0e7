"""The bring-your-own-model example (problems/deep_linear.py): a user-defined continuous system integrated by
diffrax against Saxe et al.'s closed-form sigmoidal mode strengths. Its solves (Direct against the sweep, the
closed-loop law, HJB on the one-mode reduction) are checked where a user reads them: notebooks/08, run by
tests/test_notebooks_b.py."""

import diffrax
import jax.numpy as jnp

import lrcontrol as lrc
from helpers import problem_script

deep_linear = problem_script("deep_linear")


def test_trajectory_matches_closed_form_constant_and_piecewise_rates():
    p = deep_linear.problem(steps=40, integrator=lrc.Diffrax(diffrax.Tsit5(), substeps=4))
    grid = p.grid()
    for u in (jnp.ones((40, 1)), 0.5 + jnp.abs(jnp.sin(jnp.arange(40.0)))[:, None]):
        numeric = p.system.mode_strengths(p.states(u))  # full matrices W₁, W₂ integrated by diffrax
        cumulative = jnp.concatenate([jnp.zeros(1), jnp.cumsum(u[:, 0] * jnp.diff(grid))])
        closed = p.system.closed_form_strengths(cumulative)
        assert float(jnp.max(jnp.abs(numeric - closed))) < 1e-6
        # the modes really move: from a₀ = 1e-3 to near s for the strongest mode
        assert float(closed[-1, 0]) > 2.9 and float(closed[0, 0]) == 1e-3
