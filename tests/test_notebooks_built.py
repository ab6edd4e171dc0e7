"""Every committed notebook is exactly what its builder (notebooks/_build_NN.py) writes: a change to a builder that was
not rebuilt, or a notebook edited by hand, fails here. The builders only assemble cells (nothing is executed), with
stable cell ids (notebooks/_write.py)."""

import runpy
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BUILDERS = sorted(NOTEBOOKS.glob("_build_*.py"))


def test_every_notebook_has_a_builder():
    built = {p.name.removeprefix("_build_")[:2] for p in BUILDERS}
    assert BUILDERS and {p.name[:2] for p in NOTEBOOKS.glob("*.ipynb")} == built


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda p: p.name)
def test_committed_notebook_is_its_builders_output(builder, tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)  # the builders write to notebooks/NN_name.ipynb under the working directory
    monkeypatch.setattr(sys, "path", [str(NOTEBOOKS), *sys.path])  # for `from _write import write`
    runpy.run_path(str(builder), run_name="__main__")
    (written,) = (tmp_path / "notebooks").glob("*.ipynb")
    assert written.read_bytes() == (NOTEBOOKS / written.name).read_bytes(), (
        f"{written.name} differs from what {builder.name} writes: run `python notebooks/{builder.name}`")
