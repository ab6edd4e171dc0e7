"""The command line never ends in a traceback: bad input is exit 2 with one sentence and nothing written; a failed
solve or a diverging run is exit 3 with files that say converged = false; interrupts and closed pipes end quietly.

Cases the issue reported are reproduced one by one; a property test then feeds extreme values to every parameter
of every system. `main()` in-process catches everything a console run would show as a traceback, so a test that
gets an exit code from it has shown there is none; the entry point itself is run in a subprocess where the exit
code or signal handling is the point.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lrcontrol import _registry
from lrcontrol._output import finite_json, write_all
from lrcontrol.cli import main

CLI = [sys.executable, "-m", "lrcontrol.cli"]
ENV = {**os.environ, "LRCONTROL_CACHE": "off", "PYTHONWARNINGS": "ignore"}


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _run(args, out, capsys):
    code = main(args + ["--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    return code, err


# --- non-finite results end as exit 3 with files, never as a crash ------------------------------------------

@pytest.mark.parametrize("args", [
    ["solve", "teacher_student", "--set", "init_scale=1e10", "--set", "steps=20", "--no-grid-check"],
    ["solve", "random_features", "--set", "eta_max=1e10", "--set", "blocks=100", "--set", "modes=50"],
])
def test_non_finite_solves_exit_3_with_converged_false(tmp_path, capsys, args):
    out = tmp_path / "o"
    code, err = _run(args, out, capsys)
    assert code == 3 and "did not converge" in err
    data = json.loads((out / "solution.json").read_text())  # valid JSON: non-finite numbers are null
    assert data["diagnostics"]["converged"] is False and data["diagnostics"]["message"]
    assert (out / "schedule.png").read_bytes()[:4] == b"\x89PNG"


def test_fsl_with_huge_noise_writes_its_figure(tmp_path, capsys):
    # Once an OverflowError inside matplotlib; now the figure is drawn from the finite values.
    code, _ = _run(["solve", "fsl", "--set", "noise=1e300", "--set", "horizon=50"], tmp_path / "o", capsys)
    assert code in (0, 3) and (tmp_path / "o" / "schedule.png").read_bytes()[:4] == b"\x89PNG"


def test_finite_json_writes_null_for_every_non_finite_number():
    text = finite_json({"a": [1.0, float("nan"), float("inf")], "b": np.array([-np.inf, 2.0]), "c": np.float64(np.nan),
                        "d": {"e": (float("-inf"),)}, "f": [1, "x", None]})
    assert json.loads(text) == {"a": [1.0, None, None], "b": [None, 2.0], "c": None, "d": {"e": [None]},
                                "f": [1, "x", None]}


# --- sizes: one sentence before any allocation --------------------------------------------------------------

@pytest.mark.parametrize("args, size", [
    (["solve", "perceptron", "--set", "steps=1000000000"], "steps = 1000000000"),
    (["solve", "random_features", "--set", "modes=10000000"], "horizon = 1000"),
])
def test_sizes_beyond_memory_are_refused_up_front(tmp_path, capsys, args, size):
    t0 = time.perf_counter()
    code, err = _run(args, tmp_path / "o", capsys)
    assert code == 2 and size in err and "GiB of memory free" in err and err.count("\n") == 1
    assert time.perf_counter() - t0 < 20 and not (tmp_path / "o").exists()


# --- steps = 1 with every solver ----------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["direct", "shooting", "hjb"])
def test_one_step_runs_with_every_solver(tmp_path, capsys, solver):
    code, err = _run(["solve", "perceptron", "--set", "steps=1", "--solver", solver], tmp_path / "o", capsys)
    assert code in (0, 3) and "Traceback" not in err
    data = json.loads((tmp_path / "o" / "solution.json").read_text())
    assert len(data["controls"]["lr"]) == 1 and data["diagnostics"]["converged"] is (code == 0)
    if code == 0:  # (Newton shooting on one cell does not converge, and says so)
        # One cell cannot follow μ*(t) = θ tan(cθ(T − t)): the error says so, and so does a warning.
        assert data["grid_check"]["method"] == "closed form"
        assert data["grid_check"]["max_rel_error"] > 0.1 and "grid looks too coarse" in err


def test_a_coarse_grid_for_a_long_horizon_is_flagged(tmp_path, capsys):
    code, err = _run(["solve", "perceptron", "--set", "horizon=1000", "--set", "steps=200"], tmp_path / "o", capsys)
    data = json.loads((tmp_path / "o" / "solution.json").read_text())
    assert code == 0 and data["comparison"]["max_rel_error"] > 1e-3 and "raise steps" in err


# --- output folders -----------------------------------------------------------------------------------------

def test_out_that_is_a_file_or_cannot_be_made_is_refused_before_work(tmp_path, capsys):
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    code, err = _run(["solve", "perceptron"], afile, capsys)
    assert code == 2 and "is an existing file" in err and afile.read_text() == "x"
    code, err = _run(["solve", "perceptron"], afile / "sub", capsys)
    assert code == 2 and "cannot be created" in err
    code, err = _run(["solve", "perceptron"], "", capsys)  # not the current folder
    assert code == 2 and "--out must name a folder, got an empty string." in err
    # an option of another kind of command, refused rather than ignored
    code, err = _run(["solve", "perceptron", "--law", str(afile)], tmp_path / "never", capsys)
    assert code == 2 and "perceptron takes no law file" in err and not (tmp_path / "never").exists()


def test_default_folders_name_the_command_and_system(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["solve", "perceptron", "--set", "steps=50", "--quiet"]) == 0
    norms = tmp_path / "n.txt"
    norms.write_text("\n".join(["1.0"] * 30))
    assert main(["refine", "--grad-norms", str(norms), "--quiet"]) == 0
    assert _files(tmp_path / "out") == ["refine", "solve-perceptron"]
    assert "solution.json" in _files(tmp_path / "out" / "solve-perceptron")


def test_a_folder_never_mixes_two_runs(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # not lrcontrol's: never touched
    assert main(["solve", "perceptron", "--set", "steps=50", "--out", str(out), "--quiet"]) == 0
    norms = tmp_path / "n.txt"
    norms.write_text("\n".join(["1.0"] * 30))
    assert main(["refine", "--grad-norms", str(norms), "--out", str(out), "--quiet"]) == 0
    assert _files(out) == [".lrcontrol-files", "notes.txt", "schedule.csv", "schedule.json", "schedule.png"]
    assert len((out / "schedule.csv").read_text().splitlines()) == 31  # refine's, not the solve's 50 rows


def test_write_all_replaces_only_its_own_earlier_files(tmp_path):
    write_all(tmp_path, {"a.txt": "1", "b.txt": "2"})
    (tmp_path / "c.txt").write_text("user")
    write_all(tmp_path, {"a.txt": "3"})
    assert _files(tmp_path) == [".lrcontrol-files", "a.txt", "c.txt"] and (tmp_path / "a.txt").read_text() == "3"


# --- evaluate and refine refuse what they cannot mean --------------------------------------------------------

def _column(path, values):
    path.write_text("lr\n" + "\n".join(repr(float(v)) for v in values) + "\n")
    return str(path)


def test_evaluate_refuses_a_schedule_of_another_length_grid_or_sign(tmp_path, capsys):
    solved = tmp_path / "s"
    assert main(["solve", "perceptron", "--set", "steps=60", "--out", str(solved), "--quiet"]) == 0
    capsys.readouterr()
    cases = [
        (["--schedule", str(solved / "schedule.csv"), "--set", "steps=30"], "has 60 values but the problem has 30"),
        (["--schedule", str(solved / "schedule.csv"), "--set", "horizon=5"], "the problem's grid runs from 0 to "
                                                                             "horizon = 5"),
        (["--schedule", _column(tmp_path / "neg.csv", [-0.5] + [1.0] * 59)], "value 0 is -0.5, outside"),
        (["--schedule", _column(tmp_path / "nan.csv", [np.nan] * 60)], "finite"),
    ]
    for extra, message in cases:
        code = main(["evaluate", "perceptron", *extra, "--out", str(tmp_path / "never")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and "\n" not in err, (extra, err)
        assert not (tmp_path / "never").exists()
    # the solved schedule itself on its own problem: accepted, the same objective
    assert main(["evaluate", "perceptron", "--schedule", str(solved / "schedule.csv")]) == 0
    objective = json.loads((solved / "solution.json").read_text())["objective"]
    assert f"{objective:.10g}" in capsys.readouterr().out


def test_evaluate_says_when_a_run_diverges(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["evaluate", "perceptron", "--schedule", _column(tmp_path / "big.csv", [1e308] * 40),
                 "--out", str(out)])
    assert code == 3 and "failed" in capsys.readouterr().err
    assert json.loads((out / "solution.json").read_text())["diagnostics"]["converged"] is False


def test_refine_refuses_norms_that_make_a_non_finite_schedule(tmp_path, capsys):
    norms = tmp_path / "n.txt"
    norms.write_text("1e308\n1e308\n1e308\n1e-308\n")
    code, err = _run(["refine", "--grad-norms", str(norms)], tmp_path / "o", capsys)
    assert code == 2 and "non-finite schedule" in err and not (tmp_path / "o").exists()


# --- the command surface ------------------------------------------------------------------------------------

def test_a_parameter_set_twice_is_an_error(tmp_path, capsys):
    code, err = _run(["solve", "perceptron", "--set", "effort_cost=0.1", "--set", "effort_cost=0.9"],
                     tmp_path / "o", capsys)
    assert code == 2 and "'effort_cost' is set twice" in err and not (tmp_path / "o").exists()


def test_help_lists_systems_solvers_files_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["solve", "--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0
    for word in ("perceptron", "teacher_student", "random_features", "fsl", "quadratic", "shooting", "hjb",
                 "out/solve-SYSTEM/", "130 interrupted", "3 not converged"):
        assert word in text, word
    for command, words in (("fit", ("mpl", "fsl_law_before", "L0, A, alpha, B, C, beta, gamma", "repeat for each",
                                    "3 not converged")),
                           ("predict", ("a schedule to predict", "step,lr", "2 bad input"))):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
        for word in words:
            assert word in text, (command, word)


def test_entry_point_version_pipe_and_argparse_errors(tmp_path):
    run = lambda args, **kw: subprocess.run(CLI + args, capture_output=True, text=True, env=ENV, **kw)  # noqa: E731
    proc = run(["--version"])
    assert proc.returncode == 0 and proc.stdout.startswith("lrcontrol ")
    proc = run(["solve"])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    # A closed pipe (`lrcontrol list --json | head -1`) ends quietly.
    pipe = subprocess.Popen(CLI + ["list", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    pipe.stdout.readline()
    pipe.stdout.close()
    assert pipe.wait(timeout=120) == 0 and b"Traceback" not in pipe.stderr.read()


def test_ctrl_c_mid_solve_exits_130_with_one_line_and_no_files(tmp_path):
    out = tmp_path / "o"
    # FSL over 2·10⁶ steps: ~1 s of import, ~3 s of compilation (a signal there is handled when XLA returns), then
    # seconds of solving, so the interrupt lands late in the compile or in the solve without a long wait.
    proc = subprocess.Popen(CLI + ["solve", "fsl", "--set", "horizon=2000000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True)
    time.sleep(4)  # in the import, the compile or the solve: each ends the same way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "lrcontrol: interrupted; nothing was written."
    assert not out.exists()


# --- property: extreme values for every parameter of every system --------------------------------------------

EXTREMES = ["0", "-0.0", "1e-300", "1e300", "nan", "inf", "-inf", "-1", "abc", "[1, 2]", "", "none", "true"]
SMALL = {"perceptron": ["steps=20"], "teacher_student": ["steps=20", "horizon=1"],
         "random_features": ["modes=20", "horizon=40"], "fsl": ["horizon=40"], "quadratic": ["horizon=4"],
         "random_features_momentum": ["modes=20", "horizon=40"], "random_features_batch": ["modes=20", "horizon=40"],
         "last_iterate": ["horizon=20"], "mlp": ["steps=10", "hidden=4", "samples=50"],
         "fsl_ode": ["horizon=20", "steps=10", "eta_max=0.5"]}


def _cases(count=40, seed=0):
    rng = np.random.default_rng(seed)
    names = sorted(_registry.SYSTEMS)
    for _ in range(count):
        system = names[rng.integers(len(names))]
        params = [p.name for p in _registry.SYSTEMS[system].params]
        yield system, params[rng.integers(len(params))], EXTREMES[rng.integers(len(EXTREMES))]


def test_extreme_values_end_in_0_2_or_3_never_a_traceback(tmp_path, capsys):
    for i, (system, name, value) in enumerate(_cases()):
        base = [s for s in SMALL.get(system, []) if not s.startswith(name + "=")]
        out = tmp_path / str(i)
        code = main(["solve", system, *(f"--set={s}" for s in base), f"--set={name}={value}", "--out", str(out),
                     "--quiet", "--no-grid-check"])
        err = capsys.readouterr().err
        where = f"{system} {name}={value}: exit {code}, {err!r}"
        assert code in (0, 2, 3), where
        if code == 2:
            assert err.startswith("lrcontrol: error: ") and err.count("\n") == 1 and not out.exists(), where
        else:
            data = json.loads((out / "solution.json").read_text())
            assert data["diagnostics"]["converged"] is (code == 0), where
