"""What every problems/ script shares: float64 JAX, headless matplotlib, the command line, results folder and JSON.

Importing this module turns JAX's float64 on (the scripts compare against closed forms: DESIGN.md, Numerics) and
selects matplotlib's Agg backend (no display), so a script imports it before lrcontrol and before anything that
creates arrays or figures:

    from _common import arguments, plt, results_folder, write_json

The scripts run as `python problems/NAME.py`, which puts problems/ on sys.path; tests load them as modules through
`tests/helpers.problem_script`, which does the same.
"""

import argparse
import json
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402, F401  (re-exported: the scripts' pyplot, after the backend is set)

RESULTS = Path(__file__).resolve().parent / "results"  # the committed results, one folder per script


def arguments(doc: str) -> argparse.ArgumentParser:
    """The script's parser, described by the first line of its docstring `doc`; the script adds its own flags."""
    return argparse.ArgumentParser(description=doc.splitlines()[0])


def results_folder(path) -> Path:
    """`path` as a Path, created with its parents if missing (the script's --out)."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path, obj, *, newline: bool = False, indent: int | None = 1, **options) -> str:
    """Write `obj` to `path` as JSON, indented by one space unless `indent` says otherwise (the results files'
    format), with a final newline if `newline`; `options` go to `json.dumps`. Returns the text written."""
    text = json.dumps(obj, indent=indent, **options) + ("\n" if newline else "")
    Path(path).write_text(text)
    return text
