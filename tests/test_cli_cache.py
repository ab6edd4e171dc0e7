"""The command's persistent compilation cache keeps every compiled program, the small ones too: a repeated command
then loads its closed-form check's programs instead of compiling each again (README: whole commands, warm)."""

import json
import os
import subprocess
import sys


def test_a_repeated_command_compiles_nothing_new(tmp_path):
    cache = tmp_path / "xla"
    env = {**os.environ, "LRCONTROL_CACHE": str(cache), "PYTHONWARNINGS": "ignore"}
    args = [sys.executable, "-m", "lrcontrol.cli", "solve", "perceptron", "--set", "steps=40", "--quiet"]
    first = subprocess.run([*args, "--out", str(tmp_path / "a")], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    stored = set(os.listdir(cache))
    assert len(stored) > 10  # the solve, and the closed-form check's small programs one by one
    second = subprocess.run([*args, "--out", str(tmp_path / "b")], capture_output=True, text=True, env=env)
    assert second.returncode == 0, second.stderr
    assert set(os.listdir(cache)) == stored  # everything it ran was loaded: nothing new was compiled and stored
    a, b = (json.loads((tmp_path / d / "solution.json").read_text()) for d in "ab")
    assert a["controls"] == b["controls"] and a["objective"] == b["objective"]
