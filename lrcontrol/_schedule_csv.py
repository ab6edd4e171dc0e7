"""A schedule's CSV text from plain arrays (numpy only, no JAX), so that the output worker can format it too."""

import csv
import io

import numpy as np


def schedule_csv(grid, values, name: str) -> str:
    """CSV text with columns cell, t_start, t_end, <name>: one row per cell k, [grid[k], grid[k+1]) holding
    values[k]; floats written exactly (their repr, which reads back to the same float)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["cell", "t_start", "t_end", name])
    # rows formatted from Python floats directly: the same text as csv.writer's rows of reprs, 2× faster
    # (a million rows, the FSL command's schedule, took ~3.5 s that way)
    g, v = np.asarray(grid, float).tolist(), np.asarray(values, float).tolist()
    out.write("".join(f"{k},{a!r},{b!r},{x!r}\n" for k, a, b, x in zip(range(len(v)), g, g[1:], v)))
    return out.getvalue()


def csv_header(row) -> list[str]:
    """A CSV header row as the readers compare it: each name without surrounding spaces, a byte-order mark or case
    (`Step`, ` lr`, a BOM written by a spreadsheet all match)."""
    return [c.replace("\ufeff", "").strip().lower() for c in row]
