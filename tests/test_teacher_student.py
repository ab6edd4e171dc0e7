"""The erf soft-committee teacher–student (Njaradi et al. 2026): exact loss, its derivatives, and the closed-loop
law."""

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol.systems import TeacherStudent


def _random_state(system, key, scale=1.0):
    kw, kv = jax.random.split(key)
    return {"W": scale * jax.random.normal(kw, (system.hidden, system.inputs)),
            "v": jax.random.normal(kv, (system.hidden,))}


def _dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jtu.tree_leaves(a), jtu.tree_leaves(b)))


@pytest.mark.parametrize("which", ["initial", "random"])
def test_exact_loss_matches_monte_carlo(which):
    # Order-parameter formula against ½(ŷ − y)² averaged over 2·10⁵ Gaussian inputs. The standard error is
    # the sample std of the per-input losses / √n. Measured: −0.40 (initial) and +0.65 (random) standard
    # errors; over 20 other input draws for the random state z had mean −0.28 and std 1.08, as N(0, 1) should.
    system = TeacherStudent(inputs=10, hidden=3, teacher_hidden=2, seed=3)
    state = system.initial_state() if which == "initial" else _random_state(system, jax.random.PRNGKey(7))
    x = jax.random.normal(jax.random.PRNGKey(11), (200_000, system.inputs))
    per_input = 0.5 * (system.student_output(state, x) - system.teacher_output(x)) ** 2
    mean, se = float(per_input.mean()), float(per_input.std(ddof=1) / np.sqrt(per_input.size))
    exact = float(system.loss(state))
    assert abs(exact - mean) <= 4 * se, (exact, mean, se)
    assert se < 1e-2 * exact  # the check has teeth: a 4-standard-error band is a few % of the loss at most


def test_student_equal_to_teacher_has_zero_loss_and_gradient():
    system = TeacherStudent(inputs=10, hidden=2, seed=1)
    state = {"W": system.teacher_weights, "v": system.teacher_readout}
    assert abs(float(system.loss(state))) < 1e-14
    g = jax.jit(jax.grad(system.loss))(state)
    assert max(float(jnp.max(jnp.abs(leaf))) for leaf in jtu.tree_leaves(g)) < 1e-14
    assert float(system.gradient_norm_sq(state)) < 1e-28
    # A permuted student is the same network: also a global minimum.
    perm = {"W": state["W"][::-1], "v": state["v"][::-1]}
    assert abs(float(system.loss(perm))) < 1e-14


def test_vector_field_is_minus_rate_times_gradient_and_gradient_is_right():
    system = TeacherStudent(inputs=10, hidden=2, seed=0)
    state = _random_state(system, jax.random.PRNGKey(2), scale=0.7)
    mu = 0.37
    f = system.vector_field(0.0, state, jnp.array([mu]))
    g = jax.grad(system.loss)(state)
    for a, b in zip(jtu.tree_leaves(f), jtu.tree_leaves(g)):
        np.testing.assert_allclose(np.asarray(a), -mu * np.asarray(b), rtol=0, atol=1e-15)
    assert float(system.gradient_norm_sq(state)) == pytest.approx(float(_dot(g, g)), rel=1e-14)

    # Central difference in a random direction: truncation O(ε²) ≈ 1e-10 and round-off ε_mach/ε ≈ 1e-11.
    direction = _random_state(system, jax.random.PRNGKey(5))
    eps = 1e-5
    shift = lambda s: jtu.tree_map(lambda x, d: x + s * eps * d, state, direction)  # noqa: E731
    fd = (float(system.loss(shift(1.0))) - float(system.loss(shift(-1.0)))) / (2 * eps)
    assert fd == pytest.approx(float(_dot(g, direction)), rel=1e-8)

    # Fixed readout: v does not move, W's field is unchanged.
    frozen = TeacherStudent(inputs=10, hidden=2, seed=0, train_readout=False)
    ff = frozen.vector_field(0.0, state, jnp.array([mu]))
    assert float(jnp.max(jnp.abs(ff["v"]))) == 0.0
    np.testing.assert_array_equal(np.asarray(ff["W"]), np.asarray(f["W"]))


def test_hamiltonian_is_twice_differentiable_forward_and_reverse():
    # Solvers differentiate H(x, u, λ) = L + βμ² + λ·f(x, u): second derivatives of L through jax.grad.
    system = TeacherStudent(inputs=6, hidden=2, seed=0)
    state = _random_state(system, jax.random.PRNGKey(4), scale=0.5)
    costate = _random_state(system, jax.random.PRNGKey(6))

    def hamiltonian(x, u):
        return system.loss(x) + 0.5 * u[0] ** 2 + _dot(costate, system.vector_field(0.0, x, u))

    u = jnp.array([0.8])
    rev = jax.jit(jax.grad(hamiltonian, argnums=(0, 1)))(state, u)
    fwd = jax.jit(jax.jacfwd(hamiltonian, argnums=(0, 1)))(state, u)
    for a, b in zip(jtu.tree_leaves(rev), jtu.tree_leaves(fwd)):
        assert bool(jnp.all(jnp.isfinite(a)))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)
    # ∂H/∂u = βμ·2 + λ·(−∇L): linear in μ.
    assert float(rev[1][0]) == pytest.approx(float(u[0] - _dot(costate, jax.grad(system.loss)(state))), rel=1e-12)
    # ∂H/∂x against a central difference (checks the Hessian–vector product inside it).
    direction = _random_state(system, jax.random.PRNGKey(9))
    eps = 1e-5
    shift = lambda s: jtu.tree_map(lambda x, d: x + s * eps * d, state, direction)  # noqa: E731
    fd = (float(hamiltonian(shift(1.0), u)) - float(hamiltonian(shift(-1.0), u))) / (2 * eps)
    assert fd == pytest.approx(float(_dot(rev[0], direction)), rel=1e-7)


@pytest.mark.parametrize("kwargs, name", [({"activation": "relu"}, "activation"), ({"hidden": 0}, "hidden"),
                                          ({"init_scale": -1.0}, "init_scale"), ({"inputs": 2.5}, "inputs"),
                                          ({"teacher_hidden": 0}, "teacher_hidden"), ({"seed": -1}, "seed")])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(lrc.InputError, match=rf"^{name} must ") as err:
        TeacherStudent(**kwargs)
    assert err.value.args[0].endswith(".") and "\n" not in err.value.args[0]


def test_activation_message_names_the_choices():
    with pytest.raises(lrc.InputError, match=r"^activation must be 'erf' or 'tanh', got 'relu'\.$"):
        TeacherStudent(activation="relu")


def test_construction_is_deterministic_and_params_are_public():
    a, b = TeacherStudent(seed=4), TeacherStudent(seed=4)
    np.testing.assert_array_equal(np.asarray(a.teacher_weights), np.asarray(b.teacher_weights))
    np.testing.assert_array_equal(np.asarray(a.initial_weights), np.asarray(b.initial_weights))
    assert not np.array_equal(np.asarray(a.teacher_weights), np.asarray(TeacherStudent(seed=5).teacher_weights))
    assert a.params() == {"inputs": 10, "hidden": 2, "teacher_hidden": 2, "init_scale": 0.1, "readout_init": 1.0,
                          "seed": 4, "activation": "erf", "samples": None, "train_readout": True}
    # A pytree: vmap over the initial scale (the random draws are fixed by the seed).
    losses = jax.vmap(lambda s: TeacherStudent(init_scale=s).loss(TeacherStudent(init_scale=s).initial_state()))(
        jnp.array([0.1, 0.5]))
    assert np.allclose(np.asarray(losses), [float(TeacherStudent(init_scale=v).loss(
        TeacherStudent(init_scale=v).initial_state())) for v in (0.1, 0.5)], rtol=1e-14)


def test_registry_entry():
    from lrcontrol import _registry

    entry = _registry.lookup("teacher_student")
    problem, params = _registry.build_problem("teacher_student", ["seed=0", "hidden=3", "train_readout=false"])
    assert params["seed"] == 0 and problem.system.teacher_hidden == 3 and not problem.system.train_readout
    assert problem.steps == 800 and float(problem.horizon) == 4.0 and isinstance(problem.integrator, lrc.RK4)
    # The system's own params round-trip through --set (what the CLI's JSON output relies on).
    again, _ = _registry.build_problem("teacher_student", [f"{k}={v}" for k, v in problem.params().items()])
    assert again.params() == problem.params()
    for bad, message in (("activation=relu", "activation must be 'erf' or 'tanh', got 'relu'."),
                         ("seed=-1", "seed must be a whole number >= 0, got '-1'."),
                         ("train_readout=maybe", "train_readout must be true or false, got 'maybe'.")):
        with pytest.raises(lrc.InputError) as err:
            _registry.parse_settings(entry, [bad])
        assert str(err.value) == message
    # The perceptron's whole-number parameters still start at 1.
    with pytest.raises(lrc.InputError, match="steps must be a whole number >= 1"):
        _registry.parse_settings(_registry.lookup("perceptron"), ["steps=0"])
