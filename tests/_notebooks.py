"""Running a notebook top to bottom: shared by the test_notebooks_*.py files, which split the notebooks in three
so that pytest-xdist (one file per worker, `--dist loadfile`) runs them on both workers instead of one after another.

A notebook's code cells run in this process, in an IPython shell with a fresh namespace for each notebook, rather
than in a Jupyter kernel of its own: a kernel starts a new Python and imports jax, lrcontrol and matplotlib again
for every notebook, and cannot reuse what the worker has compiled. The cells run as written (IPython's display and
magics included) and a cell that raises fails the test, naming the notebook and the cell.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def part(i: int, parts: int = 3) -> list[Path]:
    """Every `parts`-th notebook from the i-th: the three files together run each notebook once."""
    return NOTEBOOKS[i::parts]


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # nothing written to ~/.ipython's history database
    config.InteractiveShell.colors = "NoColor"  # tracebacks readable in a CI log
    return InteractiveShell.instance(config=config)


def run(path: Path) -> None:
    import matplotlib.pyplot as plt
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    shell = _shell()
    shell.reset(new_session=False)  # a fresh namespace: nothing carries over from the previous notebook
    cwd = os.getcwd()
    os.chdir(ROOT)  # notebooks read problems/results/... relative to the repository, as in Jupyter from the root
    try:
        for number, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            result = shell.run_cell(cell.source, store_history=False)
            error = result.error_before_exec or result.error_in_exec
            assert error is None, f"{path.name}, cell {number}: {type(error).__name__}: {error}"
    finally:
        os.chdir(cwd)
        plt.close("all")
