"""The output worker: a second process that draws a command's figure and formats the solve command's CSV. It must
make exactly what the command would make itself, and any failure of it must leave the command making them in its
own process."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lrcontrol as lrc
import numpy as np

from lrcontrol import _output_worker
from lrcontrol._cli_laws import _curve_spec
from lrcontrol._draw import draw, draw_solution, figure_png, schedules_spec
from lrcontrol._schedule_csv import schedule_csv
from lrcontrol.cli import main
from lrcontrol.plotting import solution_spec

DATA = Path(__file__).parents[1] / "problems" / "data" / "mpl" / "25"


@pytest.fixture(scope="module")
def spec():
    problem = lrc.ControlProblem(lrc.systems.LinearPerceptron(), lrc.objectives.Effort(effort_cost=0.5), horizon=2.0,
                                 steps=60)
    solution = lrc.solve(problem, progress=False)
    return solution_spec(solution, solution.schedule, reference_label="itself", title="worker test")


def test_worker_draws_the_same_png_as_this_process(spec):
    worker = _output_worker.OutputWorker()
    worker.send(spec)
    made = worker.receive()
    assert made is not None and made["png"] == figure_png(draw_solution(spec)) and made["csv"] is None


def test_worker_formats_the_same_csv_as_this_process(spec):
    grid, values = np.arange(6.0), np.array([0.1, 1 / 3, 2e-300, 7.0, np.pi])  # reprs of every length and range
    worker = _output_worker.OutputWorker()
    worker.send(spec, (grid, values, "lr"))
    made = worker.receive()
    assert made is not None and made["png"] == figure_png(draw_solution(spec))
    assert made["csv"] == schedule_csv(grid, values, "lr") == lrc.Schedule(values, grid).to_csv()
    rows = made["csv"].splitlines()
    assert rows[0] == "cell,t_start,t_end,lr" and [float(r.split(",")[3]) for r in rows[1:]] == values.tolist()


def test_worker_draws_the_law_commands_figures_as_this_process():
    # the schedules of `lrcontrol solve LAW` (thinned alike: 9000 cells > MAX_POINTS) and the curves of fit / predict
    t = np.arange(9001.0)
    schedules = schedules_spec(t, {"optimal": 1 - t[1:] / 9e3, "other": np.cos(t[1:] / 9e3)}, xlabel="step",
                               title="law")
    mid = schedules["mid"]
    assert len(mid) <= 4001 and all(len(v) == len(mid) for v in schedules["schedules"].values())
    curve = lrc.LossCurve.read(DATA / "wsd_20000_24000.csv")
    law = lrc.systems.MultiPowerLaw()
    band = lambda lr, steps: (None, law.predict(lr, steps) * 0.99, law.predict(lr, steps) * 1.01)  # noqa: E731
    for figure_spec in (schedules, _curve_spec(law, [curve], "predict"), _curve_spec(law, [curve], "fit", band)):
        worker = _output_worker.OutputWorker()
        worker.send(figure_spec)
        made = worker.receive()
        assert made is not None and made["png"] == figure_png(draw(figure_spec)) and made["csv"] is None


def test_a_failed_worker_gives_none_and_the_command_draws_itself(spec):
    worker = _output_worker.OutputWorker()
    assert worker.receive() is None  # nothing sent: nothing to receive (and no waiting)
    worker.close()
    worker.send(spec)  # to a worker that is gone: no exception
    assert worker.receive() is None
    worker = _output_worker.OutputWorker()
    worker.send({"not": "a spec"})  # the worker fails to draw it: None, not an exception or a broken PNG
    assert worker.receive() is None
    worker = _output_worker.OutputWorker()
    worker.send(spec, ("not", "columns", "lr"))  # the worker fails to format them: None
    assert worker.receive() is None


def test_a_worker_starts_only_for_commands_that_draw():
    for argv in ([], ["list"], ["compare", "perceptron"], ["solve", "--help"], ["solve", "fsl", "-h"], ["--version"]):
        assert _output_worker.start_for(argv) is None
    for argv in (["solve", "perceptron"], ["fit", "--law", "mpl"], ["predict", "--law", "f.json"],
                 ["evaluate", "fsl", "--schedule", "s.csv", "--out", "d"],
                 ["compare", "perceptron", "--out=d"]):  # compare and evaluate draw only with --out
        worker = _output_worker.start_for(argv)
        assert (worker is not None) == (_output_worker.os.cpu_count() >= 2)
        if worker is not None:
            worker.close()


def _console_and_main(tmp_path, args):
    """Run a command as the console does (with its output worker) into tmp_path/console and through `main` (no
    worker) into tmp_path/here; both must succeed silently. Returns the two folders."""
    console, here = tmp_path / "console", tmp_path / "here"
    proc = subprocess.run([sys.executable, "-m", "lrcontrol.cli", *args, "--out", str(console)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == ""
    assert main([*args, "--out", str(here)]) == 0
    return console, here


def test_the_console_command_writes_the_figure_and_csv_this_process_writes(tmp_path):
    # the fixture's problem: compiled here already
    console, here = _console_and_main(tmp_path, ["solve", "perceptron", "--set", "steps=60", "--quiet"])
    drawn = (console / "schedule.png").read_bytes()
    assert drawn[:4] == b"\x89PNG" and drawn == (here / "schedule.png").read_bytes()
    formatted = (console / "schedule.csv").read_text()
    assert formatted.count("\n") == 61 and formatted == (here / "schedule.csv").read_text()


def test_the_console_predict_writes_the_figure_this_process_writes(tmp_path):
    law = tmp_path / "law.json"
    law.write_text(json.dumps({"law": "mpl", "params": lrc.systems.MultiPowerLaw().params()}))
    console, here = _console_and_main(tmp_path, ["predict", "--law", str(law), "--curve",
                                                 str(DATA / "wsd_20000_24000.csv"), "--quiet"])
    drawn = (console / "prediction.png").read_bytes()
    assert drawn[:4] == b"\x89PNG" and drawn == (here / "prediction.png").read_bytes()
