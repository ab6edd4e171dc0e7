"""Notebooks run top to bottom (part 1 of 3; see tests/_notebooks.py)."""

import pytest

from _notebooks import part, run


@pytest.mark.parametrize("path", part(0), ids=lambda p: p.name)
def test_notebook_executes(path):
    run(path)
