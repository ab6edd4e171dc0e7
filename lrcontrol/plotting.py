"""Figures: a schedule next to its reference and the loss it produces; sweeps of schedules."""

import numpy as np


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def plot_solution(solution, reference=None, *, reference_label: str = "closed form", extra=None,
                  title: str | None = None):
    """The learning-rate schedule (numeric as steps, reference as a line), the loss, and — when a reference
    is given — the error against it relative to its peak.

    `reference` is an `lrc.Schedule` (or `Solution`) on the same grid; `extra` maps labels to more
    schedules or solutions to draw (e.g. baselines). Returns the matplotlib figure.
    """
    plt = _pyplot()
    panels = 3 if reference is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.8), constrained_layout=True)
    ax_lr, ax_loss = axes[0], axes[1]
    t = np.asarray(solution.t)
    mid = 0.5 * (t[1:] + t[:-1])
    ax_lr.step(t[:-1], np.asarray(solution.schedule.values), where="post", lw=2.2,
               label=f"numeric ({solution.solver})")
    if reference is not None:
        ref = getattr(reference, "schedule", reference)
        ax_lr.plot(mid, np.asarray(ref.values), "--", color="k", lw=1.2, label=reference_label)
        err = np.abs(np.asarray(solution.schedule.values) - np.asarray(ref.values)) / np.max(np.abs(ref.values))
        axes[2].semilogy(mid, np.maximum(err, 1e-17), lw=1.2)
        axes[2].set(xlabel="t", ylabel="|numeric − reference| / peak", title=f"error vs {reference_label}")
    ax_loss.plot(t, np.asarray(solution.loss), lw=2.2, label=f"numeric ({solution.solver})")
    for label, other in (extra or {}).items():
        sched = getattr(other, "schedule", other)
        ax_lr.plot(mid, np.asarray(sched.values), lw=1, alpha=0.8, label=label)
        if hasattr(other, "loss"):
            ax_loss.plot(t, np.asarray(other.loss), lw=1, alpha=0.8, label=label)
    ax_lr.set(xlabel="t", ylabel="learning rate", title="schedule")
    ax_loss.set(xlabel="t", ylabel="loss", title="loss", yscale="log")
    ax_lr.legend(fontsize=8)
    ax_loss.legend(fontsize=8)
    if title:
        fig.suptitle(title)
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

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    _pyplot().close(fig)
    return buf.getvalue()
