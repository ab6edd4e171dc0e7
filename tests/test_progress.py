"""The progress line without host callbacks (issue 19): `lrc.solve` advances Direct in compiled chunks and draws
the line between them; the answer is the one a quiet solve gives, and no compiled part calls back to Python."""

import io
import sys
import time
from pathlib import Path

import jax
import numpy as np

import lrcontrol as lrc
from lrcontrol import _progress, _solve


def _problem(steps=200):
    system = lrc.systems.LinearPerceptron(input_variance=2.0, distance=1.0)
    return lrc.ControlProblem(system, lrc.objectives.Effort(0.1), horizon=10.0, steps=steps)


class _Terminal(io.StringIO):
    def isatty(self):  # a terminal gets every line (a log gets one every 5 s)
        return True


def _terminal(monkeypatch):
    # set inside the test: pytest puts its own capture back on sys.stderr between a fixture's setup and the call
    buffer = _Terminal()
    monkeypatch.setattr(sys, "stderr", buffer)
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0.0)
    return buffer


def test_chunked_solve_is_the_quiet_solve(monkeypatch):
    problem = _problem()
    stderr_progress = _terminal(monkeypatch)
    quiet = lrc.solve(problem, progress=False)
    assert int(quiet.diagnostics.iterations) > 8  # more than the first chunk
    monkeypatch.setattr(_solve, "CHUNK_SECONDS", 0.0)  # then one iteration per chunk
    shown = lrc.solve(problem, progress=True)
    # the same iterations; the parts are compiled apart, so XLA may order a sum differently: equal to round-off
    # (measured 3e-16 of the peak)
    peak = float(np.max(np.asarray(quiet.controls)))
    np.testing.assert_allclose(np.asarray(shown.controls), np.asarray(quiet.controls), rtol=0, atol=1e-13 * peak)
    assert shown.diagnostics.converged and quiet.diagnostics.converged
    assert abs(int(shown.diagnostics.iterations) - int(quiet.diagnostics.iterations)) <= 1
    lines = [line for line in stderr_progress.getvalue().split("\r") if line.strip()]
    # the first chunk (8 iterations), then one line per iteration to the end
    iterations = [int(line.split("iter")[1].split()[0]) for line in lines]
    assert iterations == list(range(8, int(shown.diagnostics.iterations) + 1)), lines


def test_no_compiled_part_calls_back():
    problem = _problem()
    solver = lrc.solvers.Direct()
    state = _solve._start_jit(problem, solver, None)
    until = jax.numpy.asarray(8, jax.numpy.int32)
    parts = [_solve._compiled(_solve._start_jit, problem, solver, None),
             _solve._compiled(_solve._advance_jit, problem, solver, state, until),
             _solve._compiled(_solve._finish_jit, problem, solver, state),
             _solve._compiled(_solve._solve_jit, problem, solver, None)]  # the quiet solve
    for part in parts:
        assert "callback" not in part.compiled.as_text().lower()


def test_solver_without_chunks_shows_elapsed_time(monkeypatch):
    # HJB and Shooting run as one compiled call; a host thread draws the elapsed time while it runs
    stderr_progress = _terminal(monkeypatch)
    _progress.PROGRESS.begin("hjb (perceptron, 100 blocks)")
    with _progress.PROGRESS.ticking(every=0.01):
        time.sleep(0.2)
    _progress.PROGRESS.end()
    lines = [line for line in stderr_progress.getvalue().split("\r") if line.strip()]
    assert len(lines) >= 3 and all(line.startswith("hjb (perceptron, 100 blocks): running") for line in lines)
    assert stderr_progress.getvalue().endswith("\n")  # the line is closed when the solve ends


def test_no_callbacks_in_the_package():
    # every solver (HJB and Shooting included) compiles without host callbacks, so XLA's persistent cache can
    # store it; the compiled parts of Direct are checked above
    root = Path(lrc.__file__).parent
    found = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py")
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if any(name in line for name in ("debug.callback", "io_callback", "pure_callback"))]
    assert found == []


def test_default_progress_chunks_on_a_terminal_only(monkeypatch):
    # progress=None: the iteration line (compiled chunks) on a terminal; elsewhere one compiled call, elapsed time
    problem = _problem()
    terminal = _terminal(monkeypatch)
    lrc.solve(problem)
    assert "iter" in terminal.getvalue()
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    lrc.solve(problem)
    assert "iter" not in log.getvalue()
