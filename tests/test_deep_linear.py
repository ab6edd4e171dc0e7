"""The bring-your-own-model example (problems/deep_linear.py): a user-defined continuous system integrated by
diffrax against Saxe et al.'s closed-form sigmoidal mode strengths, and solved."""

import diffrax
import jax.numpy as jnp
import numpy as np

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


def test_direct_and_sweep_agree():
    r = deep_linear.main(steps=40)
    assert r["direct"]["converged"] and r["sweep"]["converged"]
    assert r["trajectory_max_abs_error_vs_closed_form"] < 1e-6
    # Two discretisations of one optimum (piecewise-constant controls vs the sweep's PMP control): measured 2.6e-2
    # of the peak at 40 steps and 3.3e-3 at 160.
    assert r["sweep"]["max_rel_diff_to_direct"] < 0.04
    assert np.isfinite(r["direct"]["objective"])
