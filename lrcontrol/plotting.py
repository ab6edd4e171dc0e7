"""Figures: a schedule next to its reference and the loss it produces; sweeps of schedules.

The drawing itself lives in `_draw` (numpy and matplotlib only); this module turns solutions into the plain
arrays it draws."""

import numpy as np

from ._draw import MAX_POINTS, all_positive, drawable, figure_png, plot_schedules, thin
from ._solution import Solution

__all__ = ["MAX_POINTS", "figure_png", "plot_schedules", "plot_solution", "solution_spec"]


def solution_spec(solution, reference=None, *, reference_label: str = "closed form", extra=None,
                  title: str | None = None) -> dict:
    """What `plot_solution` draws, as plain thinned numpy arrays and strings (picklable, no JAX), for
    `_draw.draw_solution` in this process or in the output worker."""
    schedule = solution.schedule  # its grid is solution.t: one compiled call gives both
    t = np.asarray(schedule.grid, dtype=float)
    mid = 0.5 * (t[1:] + t[:-1])
    values = drawable(schedule.values)
    losses = [drawable(solution.loss)]
    spec = {"solver": str(solution.solver), "schedule": thin(t[:-1], values), "loss": thin(t, losses[0]),
            "ref": None, "ref_label": reference_label, "error": None, "error_log": False, "extra": [],
            "title": title}
    if reference is not None:
        ref = np.asarray(getattr(reference, "schedule", reference).values, dtype=float)
        err = np.abs(values - ref) / np.nanmax(np.abs(drawable(ref)))
        spec["ref"] = thin(mid, drawable(ref))
        spec["error"] = thin(mid, drawable(np.maximum(err, 1e-17)))
        spec["error_log"] = all_positive(drawable(err))
    for label, other in (extra or {}).items():
        sched = getattr(other, "schedule", other)
        loss = None
        if isinstance(other, Solution):
            losses.append(drawable(other.loss))
            loss = thin(t, losses[-1])
        spec["extra"].append({"label": label, "schedule": thin(mid, drawable(sched.values)), "loss": loss})
    spec["loss_log"] = all_positive(*losses)
    return spec


def plot_solution(solution, reference=None, *, reference_label: str = "closed form", extra=None,
                  title: str | None = None):
    """The learning-rate schedule (numeric as steps, reference as a line), the loss, and — when a reference
    is given — the error against it relative to its peak.

    `reference` is an `lrc.Schedule` (or `Solution`) on the same grid; `extra` maps labels to more
    schedules or solutions to draw (e.g. baselines). Non-finite values are left out of the drawing, and lines of
    more than `MAX_POINTS` points are thinned. Returns the matplotlib figure.
    """
    from ._draw import draw_solution

    return draw_solution(solution_spec(solution, reference, reference_label=reference_label, extra=extra,
                                       title=title))
