"""Figures: a schedule next to its reference and the loss it produces; sweeps of schedules."""

import numpy as np

from ._solution import Solution


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


# Lines drawn with more points than this are thinned to it (every k-th point): a 10⁶-step solve draws in a blink.
MAX_POINTS = 4000


def _thin(*arrays):
    """Every k-th point of aligned arrays so that at most MAX_POINTS remain (the last point kept)."""
    n = len(arrays[0])
    if n <= MAX_POINTS:
        return arrays
    keep = np.unique(np.r_[np.arange(0, n, -(-n // MAX_POINTS)), n - 1])
    return tuple(np.asarray(a)[keep] for a in arrays)


def _drawable(y):
    """float64 values with non-finite ones and those beyond matplotlib's range (|y| > 1e300) masked as NaN."""
    y = np.asarray(y, dtype=float).copy()
    y[~np.isfinite(y) | (np.abs(y) > 1e300)] = np.nan
    return y


def _log_if_positive(ax, *curves) -> None:
    # A log axis where every drawable value is positive (losses); a linear one otherwise (a log-factor can be < 0).
    values = np.concatenate([np.ravel(c) for c in curves]) if curves else np.array([])
    values = values[np.isfinite(values)]
    if values.size and np.all(values > 0) and values.max() > 0:
        ax.set_yscale("log")


def plot_solution(solution, reference=None, *, reference_label: str = "closed form", extra=None,
                  title: str | None = None):
    """The learning-rate schedule (numeric as steps, reference as a line), the loss, and — when a reference
    is given — the error against it relative to its peak.

    `reference` is an `lrc.Schedule` (or `Solution`) on the same grid; `extra` maps labels to more
    schedules or solutions to draw (e.g. baselines). Non-finite values are left out of the drawing, and lines of
    more than `MAX_POINTS` points are thinned. Returns the matplotlib figure.
    """
    plt = _pyplot()
    panels = 3 if reference is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.2), constrained_layout=True)
    ax_lr, ax_loss = axes[0], axes[1]
    t = np.asarray(solution.t, dtype=float)
    mid = 0.5 * (t[1:] + t[:-1])
    values = _drawable(solution.schedule.values)
    ax_lr.step(*_thin(t[:-1], values), where="post", lw=2.2, label=f"numeric ({solution.solver})")
    if reference is not None:
        ref = np.asarray(getattr(reference, "schedule", reference).values, dtype=float)
        err = np.abs(values - ref) / np.nanmax(np.abs(_drawable(ref)))
        ax_lr.plot(*_thin(mid, _drawable(ref)), "--", color="k", lw=1.2, label=reference_label)
        axes[2].plot(*_thin(mid, _drawable(np.maximum(err, 1e-17))), lw=1.2)
        _log_if_positive(axes[2], _drawable(err))
        axes[2].set(xlabel="t", ylabel="|numeric − reference| / peak", title=f"error vs {reference_label}")
    losses = [_drawable(solution.loss)]
    ax_loss.plot(*_thin(t, losses[0]), lw=2.2, label=f"numeric ({solution.solver})")
    for label, other in (extra or {}).items():
        sched = getattr(other, "schedule", other)
        ax_lr.plot(*_thin(mid, _drawable(sched.values)), lw=1, alpha=0.8, label=label)
        if isinstance(other, Solution):
            losses.append(_drawable(other.loss))
            ax_loss.plot(*_thin(t, losses[-1]), lw=1, alpha=0.8, label=label)
    ax_lr.set(xlabel="t", ylabel="learning rate", title="schedule")
    ax_loss.set(xlabel="t", ylabel="loss", title="loss")
    _log_if_positive(ax_loss, *losses)
    for ax in (ax_lr, ax_loss):
        ax.legend(fontsize=7, framealpha=0.6)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_schedules(t, schedules: dict, *, ax=None, xlabel="t", ylabel="learning rate", title=None):
    """Several schedules (label -> values per cell) on one axis."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    t = np.asarray(t)
    mid = 0.5 * (t[1:] + t[:-1])
    for label, values in schedules.items():
        ax.plot(mid, np.asarray(values), label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return ax


def figure_png(fig) -> bytes:
    """PNG bytes of a figure (so output files are written only once everything is ready)."""
    import io

    plt = _pyplot()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=120)
    except (OverflowError, ValueError) as err:  # values matplotlib cannot place: say so in the picture
        plt.close(fig)
        fig = plt.figure(figsize=(6, 2))
        fig.text(0.5, 0.5, f"figure not drawn: {err}"[:120], ha="center", va="center", wrap=True)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()
