"""The command line: outputs and their JSON schema, exit codes, and bad input without partial files."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lrcontrol.cli import main

KEYS = {"system", "params", "objective_kind", "solver", "t", "controls", "loss", "objective", "analytic",
        "comparison", "diagnostics", "version"}


def test_list(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "perceptron" in text
    # a summary is the docstring's whole first paragraph, even where its first line breaks mid-sentence
    assert "`L0, A, alpha, C, decay` (λ, the annealing momentum's decay factor per step)." in text
    assert main(["list", "--json"]) == 0
    assert "effort_cost" in json.loads(capsys.readouterr().out)["perceptron"]["params"]


def test_solve_writes_solution_schedule_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", "perceptron", "--set", "steps=400", "--set", "effort_cost=0.25", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["schedule.csv", "schedule.png",
                                                                                  "solution.json"]
    data = json.loads((out / "solution.json").read_text())
    assert KEYS <= set(data)
    assert len(data["t"]) == 401 and len(data["controls"]["lr"]) == 400 and len(data["loss"]) == 401
    assert data["params"]["effort_cost"] == 0.25 and data["diagnostics"]["converged"] is True
    assert data["comparison"]["max_rel_error"] < 1e-4 and data["reward"] == -data["objective"]
    assert len(data["analytic"]["controls"]["lr"]) == 400
    assert (out / "schedule.png").read_bytes()[:4] == b"\x89PNG"
    # evaluate the written schedule: the same objective comes back
    capsys.readouterr()
    assert main(["evaluate", "perceptron", "--schedule", str(out / "schedule.csv"), "--set", "effort_cost=0.25"]) == 0
    assert f"{data['objective']:.10g}" in capsys.readouterr().out
    # evaluating into the solve's own folder replaces its files but the schedule it read
    assert main(["evaluate", "perceptron", "--schedule", str(out / "schedule.csv"), "--set", "effort_cost=0.25",
                 "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["schedule.csv", "schedule.png",
                                                                                  "solution.json"]
    assert "schedule.csv" in json.loads((out / ".lrcontrol-files").read_text())  # still listed: a later run removes it


def test_teacher_student_solve_carries_the_closed_loop_law_and_both_identities(tmp_path):
    # No open-loop closed form: the reference is the law √((L(t) − L(T))/β) on the solution's own loss curve.
    # The network of tests/test_shooting.py (erf, exact population loss, init_scale 0.5, T = 8, 200 steps; the loss
    # falls from 0.53 to 0.36), whose direct solve reuses this compiled one. Measured: law 4.0e-5, μ̇ identity
    # 5.7e-5 of the peak.
    out = tmp_path / "ts"
    assert main(["solve", "teacher_student", "--set", "steps=200", "--set", "horizon=8", "--set", "init_scale=0.5",
                 "--set", "samples=none", "--out", str(out), "--quiet", "--no-grid-check"]) == 0
    data = json.loads((out / "solution.json").read_text())
    assert data["params"]["activation"] == "erf" and data["params"]["samples"] is None
    assert len(data["analytic"]["closed_loop_law"]["lr"]) == 200 and len(data["loss"]) == 201
    assert data["comparison"]["closed_loop_max_rel_deviation"] < 1e-3
    assert data["comparison"]["gradient_norm_identity_max_rel_deviation"] < 1e-3


def test_discounted_solve_has_no_analytic_block(tmp_path):
    out = tmp_path / "d"
    assert main(["solve", "perceptron", "--set", "steps=200", "--set", "discount=1", "--out", str(out),
                 "--quiet"]) == 0
    data = json.loads((out / "solution.json").read_text())
    assert data["analytic"] is None and data["comparison"] is None and data["params"]["discount"] == 1.0
    # No closed form: the grid error is estimated by the same solve on 100 steps (measured 2.75e-5 of the peak:
    # piecewise-constant cells are O(h²) away from the continuous optimum at their midpoints).
    grid = data["grid_check"]
    assert grid["method"] == "solve at half the steps (100)" and 1e-6 < grid["max_rel_error"] < 1e-4


# The solver and compare tests run on the 1000-step grid of tests/test_shooting.py and tests/test_hjb.py, with the
# progress line on like the solves there: each compiled solve (direct, shooting, hjb) and the peak search is
# shared with those tests instead of compiled once more for the CLI.

@pytest.mark.parametrize("solver,residual", [("shooting", "shooting_residual"), ("hjb", "coarse_grid_change")])
def test_solve_with_other_solvers(tmp_path, solver, residual):
    out = tmp_path / solver
    assert main(["solve", "perceptron", "--solver", solver, "--set", "steps=1000", "--out", str(out)]) == 0
    data = json.loads((out / "solution.json").read_text())
    assert data["solver"] == solver and data["diagnostics"]["converged"] is True
    assert residual in data["diagnostics"] and data["comparison"]["max_rel_error"] < 1e-3
    if solver == "shooting":
        assert data["diagnostics"]["hamiltonian_drift"] < 1e-8
        assert np.shape(data["costates"]) == (1001, 1)


def test_compare_table(tmp_path, capsys):
    assert main(["compare", "perceptron", "--set", "steps=1000", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name in ("direct", "shooting", "hjb", "closed form", "constant", "cosine", "wsd"):
        assert name in text
    rows = json.loads((tmp_path / "compare.json").read_text())["rows"]
    assert min(r["gap"] for r in rows if "tuned" in r["method"]) > 0
    # The other solvers land on the direct optimum: objective gaps at round-off / discretisation level.
    assert max(abs(r["gap"]) for r in rows if r["method"] in ("shooting", "hjb")) < 1e-7


@pytest.mark.parametrize("args, message", [
    (["solve", "perceptron", "--set", "effort_cost=0"], "effort_cost must be a finite number > 0, got 0."),
    (["solve", "perceptron", "--set", "effort_cost=-2"], "effort_cost must be a finite number > 0, got -2."),
    (["solve", "perceptron", "--set", "horizon=0"], "horizon must be a finite number > 0, got 0."),
    (["solve", "perceptron", "--set", "horizon=nan"], "horizon must be a finite number > 0, got nan."),
    (["solve", "perceptron", "--set", "steps=0"], "steps must be a whole number >= 1, got '0'."),
    (["solve", "perceptron", "--set", "discount=-1"], "discount must be a finite number >= 0, got -1."),
    (["solve", "perceptron", "--set", "bogus=1"], "unknown parameter 'bogus' for system 'perceptron'"),
    (["solve", "nosuch"], "unknown system 'nosuch'; available: perceptron, teacher_student,"),
    (["solve", "perceptron", "--solver", "bogus"], "solver must be one of: direct, shooting, hjb; got 'bogus'."),
    (["solve", "teacher_student", "--solver", "hjb"], "solver hjb grids the state space, so it needs a state of at "
                                                      "most 3 numbers; 'teacher_student' has 22"),
    (["evaluate", "perceptron", "--schedule", "missing.csv"], "schedule file 'missing.csv' cannot be read"),
])
def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main(args + ["--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lrcontrol: error: ") and message in err and "\n" not in err
    assert not out.exists()


def test_console_script_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lrcontrol.cli", "solve", "perceptron", "--set", "steps=-3",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.strip() == "lrcontrol: error: steps must be a whole number >= 1, got '-3'."


def test_solution_json_reloads_into_the_same_objective(tmp_path):
    import lrcontrol as lrc

    out = tmp_path / "r"
    main(["solve", "perceptron", "--set", "steps=100", "--out", str(out), "--quiet"])
    data = json.loads((out / "solution.json").read_text())
    from lrcontrol import _registry

    problem, _ = _registry.build_problem(data["system"], [f"{k}={v}" for k, v in data["params"].items()])
    again = lrc.evaluate(problem, np.array(data["controls"]["lr"]))
    assert float(again.objective) == data["objective"]


def test_fsl_solve_is_checked_against_the_exact_finite_n_law(tmp_path):
    # Hard phase (s = 0.3 < 1 − 1/β = 2/3): a plateau at η_max, then the law's power-law decay.
    out = tmp_path / "fsl"
    assert main(["solve", "fsl", "--set", "horizon=300", "--set", "capacity=3", "--set", "source=0.3",
                 "--set", "noise=0.1", "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "solution.json").read_text())
    assert data["diagnostics"]["converged"]
    assert data["comparison"]["max_rel_error"] < 1e-2  # the acceptance: within 1% of the peak
    # the numerical optimum can only be at or below the law's objective (the law is optimal in continuous u)
    assert data["objective"] <= data["analytic"]["objective"] + 1e-12
    lr = np.asarray(data["controls"]["lr"])
    assert np.all(lr[:150] == 1.0) and lr[-1] < 0.1  # a plateau at η_max (law: 194 steps), then the decay
