"""The README's main job runs (at small sizes); the notebooks are run by tests/test_notebooks_[abc].py."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_main_job_quick(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "problems" / "perceptron_effort.py"), "--quick", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert all(c["max_rel_error"] < 1e-3 and c["converged"] for c in results["cases"].values())
    assert all(1.8 < c["order"] < 2.2 for c in results["convergence"].values())
    assert results["sweeps"]["paper_finding_holds"]
    for name in ("perceptron_optimum.png", "perceptron_sweeps.png", "agreement.md"):
        assert (tmp_path / name).stat().st_size > 0
