"""Schedules: families, evaluation, optax and torch export, CSV/JSON round trips."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrcontrol as lrc
from lrcontrol import schedules

from helpers import perceptron_problem


def test_family_values_and_endpoints():
    n = 100
    assert np.allclose(schedules.constant(0.3, n).values, 0.3)
    lin = schedules.linear(2.0, n).values
    assert float(lin[0]) == 2.0 and float(lin[-1]) == pytest.approx(2.0 / n)
    cos = schedules.cosine(1.0, n, floor=0.1).values
    assert float(cos[0]) == 1.0 and float(cos[n // 2]) == pytest.approx(0.55)
    assert float(cos[-1]) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * (n - 1) / n)))
    pw = schedules.power_decay(1.0, n, exponent=3.0).values
    assert float(pw[10]) == pytest.approx(0.9**3)
    ex = schedules.exponential(1.0, n, final=0.01).values
    assert float(ex[50]) == pytest.approx(0.1)


@pytest.mark.parametrize("family", ["linear", "cosine", "power_decay", "exponential"])
def test_decaying_families_are_monotone(family):
    v = np.asarray(schedules.FAMILIES[family](1.0, 64).values)
    assert np.all(np.diff(v) < 0) and v[0] == 1.0 and v[-1] >= 0


@pytest.mark.parametrize("shape", schedules.DECAY_SHAPES)
def test_wsd_phases(shape):
    v = np.asarray(schedules.wsd(1.0, 100, warmup=0.1, decay=0.3, shape=shape, floor=0.05).values)
    assert np.allclose(v[:10], np.arange(1, 11) / 10)  # linear warm-up reaching the peak
    assert np.all(v[10:70] == 1.0)  # stable
    assert v[70] == pytest.approx(1.0) and np.all(np.diff(v[70:]) < 0) and v[-1] > 0.05  # decay to the floor


def test_bad_family_arguments_are_one_sentence():
    with pytest.raises(lrc.InputError, match="warmup \\+ decay must be <= 1"):
        schedules.wsd(1.0, 10, warmup=0.6, decay=0.6)
    with pytest.raises(lrc.InputError, match="shape must be one of"):
        schedules.wsd(1.0, 10, shape="square")
    with pytest.raises(lrc.InputError, match="steps must be a whole number >= 1"):
        schedules.cosine(1.0, 0)
    with pytest.raises(lrc.InputError, match="peak must be a finite number >= 0"):
        schedules.linear(float("nan"), 10)


def test_call_and_at_step():
    s = lrc.Schedule([3.0, 2.0, 1.0], [0.0, 0.5, 1.0, 2.0])
    assert [float(s(t)) for t in (0.0, 0.49, 0.5, 1.5, 2.0, 5.0)] == [3.0, 3.0, 2.0, 1.0, 1.0, 1.0]
    assert [float(s.at_step(k, total_steps=6)) for k in range(6)] == [3.0, 3.0, 2.0, 2.0, 1.0, 1.0]


def test_to_optax_inside_jitted_update_gives_the_same_values():
    sol = lrc.solve(perceptron_problem(steps=200))  # a grid size other tests solve too: the compiled solve is reused
    sched = sol.schedule
    opt = optax.sgd(sched.to_optax())
    params = jnp.zeros(3)
    grads = jnp.ones(3)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    lrs = []
    for _ in range(200):
        new, state = step(params, state)
        lrs.append(float(params[0] - new[0]))
        params = new
    assert np.allclose(lrs, np.asarray(sched.values), rtol=1e-12)
    # A longer run resamples by time fraction; `peak` hands over the shape only.
    long = sched.to_optax(total_steps=800, peak=1.0)
    assert float(long(0)) == pytest.approx(1.0) and float(long(799)) == pytest.approx(
        float(sched.values[-1] / sched.values[0]))


def test_torch_lambda_multiplier():
    s = schedules.linear(2.0, 4)
    f = s.to_torch_lambda(total_steps=8)
    assert [f(k) for k in range(8)] == [1.0, 1.0, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_save_load_round_trip_is_exact(tmp_path, suffix):
    # 300 cells: grid times k/150 with no short decimal form (as 77 cells had).
    sol = lrc.solve(perceptron_problem(steps=300))
    path = tmp_path / f"s{suffix}"
    sol.schedule.save(path)
    back = lrc.Schedule.load(path)
    assert np.array_equal(np.asarray(back.values), np.asarray(sol.schedule.values))
    assert np.array_equal(np.asarray(back.grid), np.asarray(sol.schedule.grid))
    assert back.name == "lr"


def test_csv_text_is_the_csv_modules_rows_of_reprs():
    # to_csv formats its rows itself (fast at a million rows): the same text csv.writer gives for the reprs
    import csv
    import io

    s = lrc.Schedule(jnp.asarray([0.1, 1 / 3, 2.5e-7]), jnp.asarray([0.0, 1 / 7, 0.3, 1.0]), name="lr")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["cell", "t_start", "t_end", "lr"])
    for k in range(3):
        w.writerow([k, repr(float(s.grid[k])), repr(float(s.grid[k + 1])), repr(float(s.values[k]))])
    assert s.to_csv() == out.getvalue()


def test_load_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("cell,t_start,t_end,lr\n0,0,1,nan\n")
    with pytest.raises(lrc.InputError, match="finite"):
        lrc.Schedule.load(bad)
    with pytest.raises(lrc.InputError, match="cannot be read"):
        lrc.Schedule.load(tmp_path / "missing.csv")


def test_tuned_baselines_never_beat_the_optimum():
    problem = perceptron_problem(steps=1000)  # the grid of tests/test_cli.py's compare: its peak search is reused
    best = float(lrc.solve(problem).objective)
    for family in ("constant", "linear", "cosine", "wsd"):
        sched, cost = schedules.tune_peak(problem, family)
        assert float(cost) >= best
        assert float(cost) == pytest.approx(float(lrc.evaluate(problem, sched).objective), rel=1e-12)
    # linear decay is the small-K limit of the optimum, so it is nearly optimal at K = 2.
    _, lin = schedules.tune_peak(problem, "linear")
    _, const = schedules.tune_peak(problem, "constant")
    assert float(lin) - best < float(const) - best


def test_inverse_power_and_tune_shape_input():
    s = schedules.inverse_power(2.0, 4, exponent=0.5)
    np.testing.assert_allclose(np.asarray(s.values), 2.0 / np.sqrt([1.0, 2.0, 3.0, 4.0]), rtol=1e-15)
    with pytest.raises(lrc.InputError, match=r"^exponent must "):
        schedules.inverse_power(1.0, 4, exponent=-1.0)
    with pytest.raises(lrc.InputError, match=r"^values must hold at least one value of decay\.$"):
        schedules.tune_shape(None, "wsd", "decay", [])


def test_load_reads_one_row_per_update(tmp_path):
    # `lrcontrol solve LAW` writes step,lr; a dense loss curve step,lr,loss reads the same way. Sparse steps are
    # not a schedule (one sentence, not the step column read as rates).
    path = tmp_path / "s.csv"
    path.write_text("step,lr\n0,0.0\n1,0.5\n2,1.0\n3,0.25\n")
    s = lrc.Schedule.load(path)
    assert s.values.tolist() == [0.0, 0.5, 1.0, 0.25] and s.grid.tolist() == [0, 1, 2, 3, 4] and s.name == "lr"
    path.write_text("step,lr,loss\n0,0.1,3.0\n1,0.2,\n2,0.3,2.5\n")
    assert lrc.Schedule.load(path).values.tolist() == [0.1, 0.2, 0.3]
    path.write_text("\ufeffStep, LR\n0,0.1\n1,0.2\n")  # a spreadsheet's byte-order mark, case and spaces
    assert lrc.Schedule.load(path).values.tolist() == [0.1, 0.2]
    path.write_text("momentum,step,lr\n0.9,0,0.1\n0.9,1,0.2\n")  # columns found by name, in any order
    assert lrc.Schedule.load(path).values.tolist() == [0.1, 0.2] and not lrc.Schedule.has_time_grid(path)
    path.write_text('"Cell","t_start","t_end","lr"\n0,0.0,1.0,0.5\n')  # its own time grid, however quoted
    assert lrc.Schedule.has_time_grid(path) and lrc.Schedule.load(path).grid.tolist() == [0.0, 1.0]
    for text, words in (("step,lr\n0,0.1\n2,0.2\n", "one row per update"), ("step,lr\n", "at least one row"),
                        ("step,lr\n0,nan\n", "finite"), ("step,lr\n5,0.1\n6,0.2\n", "from update 0"),
                        ("step,loss\n0,3.0\n1,2.9\n", "needs an lr column"),
                        ("lr,step\n0.1,0\n0.2,7\n", "one row per update"),  # the step column is checked anywhere
                        ("0,0.0\n1,1e-4\n", "needs a header"),  # which column holds the rates?
                        ("step,lr\n0," + "1" * 200_000 + "\n", "is not a schedule CSV")):  # beyond csv's field limit
        path.write_text(text)
        with pytest.raises(lrc.InputError, match=words):
            lrc.Schedule.load(path)


def test_load_says_why_a_file_cannot_be_read(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"step,lr\n0,0.1\n" + b"1,0.2\xff\n")  # not UTF-8
    with pytest.raises(lrc.InputError, match="cannot be read"):
        lrc.Schedule.load(path)
