"""Every public constructor validates its arguments: one sentence (`InputError`) naming the parameter, never
another exception type; traced values (jit/vmap/grad) pass. The CLI's registry is derived from the classes'
specs."""

import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol import _registry
from lrcontrol.cli import main
from lrcontrol.systems import FSL, LinearPerceptron

SYSTEM_CLASSES = [getattr(lrc.systems, n) for n in lrc.systems.__all__ if not n.startswith("Abstract")]

# The smallest valid construction of each class, the parameter under test then replaced by a bad value.
BASE = {"MLP": dict(inputs=np.zeros((4, 3)), labels=np.arange(4) % 2), "LastIterateBound": dict(horizon=3),
        "TeacherStudent": dict(inputs=3), "RandomFeatures": dict(modes=5), "RandomFeaturesBatch": dict(modes=5),
        "RandomFeaturesMomentum": dict(modes=5), "Quadratic": dict(grid=11),
        "LawSchedule": dict(law=lrc.systems.MultiPowerLaw())}
BAD = [np.nan, np.inf, -np.inf, -1.0, 0.0, 1e300, -1e300, "2", "abc", np.array([1.0, 2.0]), jnp.array([[1.0]]),
       None, True, 1 + 2j, [1.0, 2.0]]


def _one_sentence(message: str) -> None:
    assert message.endswith(".") and "\n" not in message and ". " not in message.rstrip(".")


def _construct(cls, **kwargs):
    base = dict(BASE.get(cls.__name__, {}))
    if "grad_norms" in kwargs:
        base.pop("horizon")  # given norms fix the horizon
    return cls(**{**base, **kwargs})


# --- the reported cases (issue 14 item 7) ---------------------------------------------------------------------


@pytest.mark.parametrize("make, name", [
    (lambda: LinearPerceptron(distance=np.array([1.0, -1.0])), "distance"),
    (lambda: LinearPerceptron(distance=jnp.array([1.0, 2.0])), "distance"),
    (lambda: LinearPerceptron(distance="2"), "distance"),
    (lambda: LinearPerceptron(input_variance=1e300), "input_variance"),
    (lambda: lrc.ControlProblem(LinearPerceptron(), lrc.objectives.Effort(0.5), horizon="abc"), "horizon"),
    (lambda: lrc.ControlProblem(FSL(), lrc.objectives.FinalLoss(), horizon="abc"), "horizon"),
    (lambda: lrc.objectives.Effort(effort_cost="abc"), "effort_cost"),
    (lambda: lrc.objectives.Effort(0.5, discount=np.array([0.0, 1.0])), "discount"),
    (lambda: lrc.Schedule([np.nan, 1.0]), "values"),
    (lambda: lrc.Schedule([1.0, np.inf]), "values"),
    (lambda: lrc.Schedule(["a", "b"]), "values"),
    (lambda: lrc.Schedule([1.0, 2.0], [0.0, 1.0, 1.0]), "grid"),
    (lambda: lrc.Schedule([1.0, 2.0], [0.0, 2.0, 1.0]), "grid"),
    (lambda: lrc.Schedule([1.0, 2.0], [0.0, np.nan, 1.0]), "grid"),
    (lambda: lrc.Schedule([1.0, 2.0], name=3), "name"),
    (lambda: lrc.Schedule([1.0, 2.0]).to_optax(peak=0), "peak"),
    (lambda: lrc.Schedule([1.0, 2.0]).to_optax(peak=-1.0), "peak"),
    (lambda: lrc.Schedule([1.0, 2.0]).to_optax(peak="1"), "peak"),
])
def test_reported_cases_name_the_parameter(make, name):
    with pytest.raises(lrc.InputError) as err:
        make()
    assert str(err.value).startswith(name), str(err.value)
    _one_sentence(str(err.value))


def test_cli_overflowing_parameter_is_named_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["solve", "perceptron", "--set", "input_variance=1e300", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lrcontrol: error: input_variance ") and "\n" not in err and not out.exists()


def test_valid_values_still_construct():
    assert float(LinearPerceptron(distance=np.float64(2.0)).distance) == 2.0
    assert float(LinearPerceptron(distance=jnp.asarray(3.0)).initial_state()) == 3.0
    assert lrc.Schedule([1.0, 2.0], [0.0, 0.5, 2.0]).to_optax(peak=4.0)(1) == 4.0


# --- traced values pass: jit, vmap (deliberate batches of parameters), grad --------------------------------------


def test_traced_parameters_pass_the_checks():
    batch = jax.vmap(lambda d: LinearPerceptron(distance=d))(jnp.array([1.0, 2.0]))
    assert batch.distance.shape == (2,)
    losses = jax.vmap(lambda s: s.loss(s.initial_state()))(batch)
    np.testing.assert_allclose(np.asarray(losses), [0.5, 2.0])
    assert float(jax.jit(lambda d: LinearPerceptron(distance=d).initial_state())(2.5)) == 2.5
    assert float(jax.grad(lambda c: LinearPerceptron(input_variance=c).loss(1.0))(2.0)) == 0.5
    fsl = jax.vmap(lambda s: FSL(source=s).final_loss(jnp.ones(4)))(jnp.array([1.0, 2.0]))
    assert np.all(np.isfinite(np.asarray(fsl)))
    rf = jax.vmap(lambda a: lrc.systems.RandomFeatures(a=a, modes=5).loss(
        lrc.systems.RandomFeatures(a=a, modes=5).initial_state()))(jnp.array([1.5, 3.0]))
    assert np.all(np.isfinite(np.asarray(rf)))
    effort = jax.vmap(lambda b: lrc.objectives.Effort(b).control_cost(jnp.ones(1)))(jnp.array([0.5, 1.0]))
    np.testing.assert_allclose(np.asarray(effort), [0.5, 1.0])
    values = jax.jit(lambda v: lrc.Schedule(v).values)(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(np.asarray(values), [1.0, 2.0])


# --- every parameter of every system class and objective, fed bad values -----------------------------------------


def _cases():
    out = []
    for cls in [*SYSTEM_CLASSES, lrc.objectives.Effort]:
        for p in cls.parameter_specs():
            out += [pytest.param(cls, p, bad, id=f"{cls.__name__}.{p.name}={i}") for i, bad in enumerate(BAD)]
    return out


@pytest.mark.parametrize("cls, spec, bad", _cases())
def test_bad_values_raise_input_error_naming_the_parameter_or_construct(cls, spec, bad):
    kwargs = {"effort_cost": 0.5} if cls is lrc.objectives.Effort else {}
    try:
        _construct(cls, **{**kwargs, spec.name: bad})
    except lrc.InputError as err:
        assert spec.name in str(err), str(err)
        _one_sentence(str(err))
    except Exception as err:  # noqa: BLE001 -- the point of the test
        pytest.fail(f"{cls.__name__}({spec.name}={bad!r}) raised {type(err).__name__}: {err}")


def test_every_system_class_declares_its_parameters():
    for cls in SYSTEM_CLASSES:
        names = [p.name for p in cls.parameters]
        signature = [n for n in inspect.signature(cls).parameters]
        assert names and sorted(names) == sorted(signature), cls.__name__
        for p in cls.parameter_specs():
            assert p.doc and p.allowed()


# --- the registry is derived from the classes --------------------------------------------------------------------


def test_list_json_lists_every_system_class_with_its_parameters(capsys):
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    by_class = {entry["class"]: entry for entry in listing.values()}
    assert set(by_class) == {cls.__name__ for cls in SYSTEM_CLASSES}
    for cls in SYSTEM_CLASSES:
        entry = by_class[cls.__name__]
        specs = {s["name"]: s for s in entry["param_specs"]}
        assert {p.name for p in cls.parameters} <= set(specs)
        for p in cls.parameter_specs():
            assert specs[p.name]["doc"] == p.doc and specs[p.name]["allowed"] == p.allowed()
        assert entry["buildable"] or entry["note"]


def test_registry_defaults_are_the_class_defaults():
    for entry in _registry.SYSTEMS.values():
        signature = inspect.signature(entry.system).parameters
        for p in entry.system_params:
            expected = entry.defaults_override.get(p.name, signature[p.name].default)
            assert p.default == expected, (entry.name, p.name)
    # One FSL default: s = 1, β = 2 (the easy phase; s = 1/2 would sit on the boundary 1 − 1/β).
    assert FSL().params()["source"] == 1.0 and _registry.lookup("fsl").defaults()["source"] == 1.0
    assert _registry.lookup("fsl").defaults()["capacity"] == 2.0


@pytest.mark.parametrize("name", list(_registry.SYSTEMS))
def test_every_cli_parameter_refuses_bad_text_naming_itself(name):
    entry = _registry.lookup(name)
    for p in entry.params:
        bad = ("nan", "abc", "[1, 2]") + (("-1e300",) if p.lo is not None or p.kind is not float else ())
        for raw in bad:  # (-1e300 is allowed where a real has no lower end, as the bound law's offset L0)
            try:
                value = _registry.parse_settings(entry, [f"{p.name}={raw}"])[p.name]
            except lrc.InputError as err:
                assert str(err).startswith(p.name), str(err)
                _one_sentence(str(err))
            else:
                pytest.fail(f"{name}: {p.name}={raw} parsed as {value!r}")


def test_array_parameters_are_refused_on_the_command_line_with_the_reason():
    with pytest.raises(lrc.InputError, match="^grad_norms is an array"):
        _registry.parse_settings(_registry.lookup("last_iterate"), ["grad_norms=1"])
