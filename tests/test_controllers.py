"""The closed-loop effort controller as an optax transformation, in an ordinary training loop on the linear
perceptron (parameters in R³), against the closed-form optimum."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrcontrol as lrc

BETA, T, D = 0.5, 2.0, 1.0
SYSTEM = lrc.systems.LinearPerceptron(input_variance=1.0, distance=D)
OPTIMUM = SYSTEM.effort_optimum(BETA, T)
W_STAR = jnp.array([1.0, -2.0, 0.5])
W0 = W_STAR + D * jnp.array([0.6, 0.0, 0.8])  # ‖w0 − w*‖ = d


def loss_fn(w):
    return 0.5 * jnp.sum((w - W_STAR) ** 2)  # c = σ² = 1


def train(opt, steps):
    def step(carry, _):
        w, state = carry
        loss, grads = jax.value_and_grad(loss_fn)(w)
        updates, state = opt.update(grads, state, w, value=loss)
        return (optax.apply_updates(w, updates), state), (state.rate, loss)

    (w, _), (rates, losses) = jax.lax.scan(step, (W0, opt.init(W0)), None, length=steps)
    return w, np.asarray(rates), np.asarray(losses)


def test_oracle_controller_follows_the_optimum_at_first_order():
    final = float(OPTIMUM["final_loss"])
    errors = []
    for steps in (2000, 4000):
        dt = T / steps
        w, rates, losses = train(lrc.controllers.closed_loop(BETA, final, time_step=dt), steps)
        ref = np.asarray(SYSTEM.effort_rate(np.arange(steps) * dt, BETA, T))
        errors.append(np.max(np.abs(rates - ref)) / ref.max())
        assert float(loss_fn(w)) == pytest.approx(final, rel=1e-5)
        cost = np.sum(losses + BETA * rates**2) * dt  # left-point rule for ∫[L + βμ²]dt
        assert cost == pytest.approx(float(OPTIMUM["cost"]), rel=3e-4)
    # Explicit Euler on the closed-loop flow; measured 1.55e-3 and 7.7e-4 of the peak (order 1; the law's
    # √(L − L(T)) vanishes at T with an infinite slope, which costs accuracy in the last steps).
    assert errors[1] <= 1e-3
    assert errors[0] / errors[1] >= 1.7


def test_biased_forecasts_change_engagement():
    final = float(OPTIMUM["final_loss"])
    steps = 1000
    _, oracle, oracle_loss = train(lrc.controllers.closed_loop(BETA, final, time_step=T / steps), steps)
    _, eager, eager_loss = train(lrc.controllers.closed_loop(BETA, 0.5 * final, time_step=T / steps), steps)
    _, shy, shy_loss = train(lrc.controllers.closed_loop(BETA, 1.5 * final, time_step=T / steps), steps)
    assert eager[0] > oracle[0] > shy[0]  # over-confident engages harder, under-confident less
    assert eager_loss[-1] < oracle_loss[-1] < shy_loss[-1]
    # A callable forecast (e.g. an estimator) is used the same way as a number.
    _, same, _ = train(lrc.controllers.closed_loop(BETA, lambda count, loss: final, time_step=T / steps), steps)
    np.testing.assert_allclose(same, oracle, rtol=1e-14)


def test_controller_bad_input():
    with pytest.raises(lrc.InputError, match="effort_cost must be a finite number > 0"):
        lrc.controllers.closed_loop(0.0, 0.1)
    with pytest.raises(lrc.InputError, match="time_step must be a finite number > 0"):
        lrc.controllers.closed_loop(0.5, 0.1, time_step=-1.0)
    with pytest.raises(lrc.InputError, match="final_loss must be a finite number"):
        lrc.controllers.closed_loop(0.5, float("nan"))
