"""Running a notebook top to bottom: shared by the test_notebooks_*.py files, which split the notebooks in three
so that pytest-xdist (one file per worker, `--dist loadfile`) runs them on both workers instead of one after another."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def part(i: int, parts: int = 3) -> list[Path]:
    """Every `parts`-th notebook from the i-th: the three files together run each notebook once."""
    return NOTEBOOKS[i::parts]


def run(path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
