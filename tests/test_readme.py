"""The README's Python examples run as written (from the repository root, each in a fresh process); the one that
reads a CLI command's output (out/…) is covered by tests/test_laws.py::test_cli_fit_predict_solve instead."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
STANDALONE = [b for b in BLOCKS if '"out/' not in b]


def test_the_readme_has_its_examples():
    assert len(STANDALONE) >= 2 and len(BLOCKS) > len(STANDALONE)


@pytest.mark.parametrize("code", STANDALONE, ids=[f"block{i}" for i in range(len(STANDALONE))])
def test_readme_example_runs(code):
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if "optimise(system" in code:  # the law path: the optimum's predicted final loss is below the tuned WSD's
        optimum, wsd = map(float, proc.stdout.strip().splitlines()[-1].split())
        assert optimum < wsd
    if "lrc.compare" in code:  # the API example: converged, and within its stated error of the closed form
        assert proc.stdout.startswith("converged") and float(proc.stdout.split()[-1]) < 1e-6
