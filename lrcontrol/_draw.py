"""Drawing from plain arrays: numpy and matplotlib only, never JAX, so that a separate process can draw a
command's figure (`_output_worker`) without importing JAX. `plotting` builds the specs from solutions."""

import numpy as np

# Lines drawn with more points than this are thinned to it (every k-th point): a 10⁶-step solve draws in a blink.
MAX_POINTS = 4000


def pyplot():
    import matplotlib.pyplot as plt

    return plt


def thin(*arrays):
    """Every k-th point of aligned arrays so that at most MAX_POINTS remain (the last point kept)."""
    n = len(arrays[0])
    if n <= MAX_POINTS:
        return tuple(np.asarray(a) for a in arrays)
    keep = np.unique(np.r_[np.arange(0, n, -(-n // MAX_POINTS)), n - 1])
    return tuple(np.asarray(a)[keep] for a in arrays)


def drawable(y):
    """float64 values with non-finite ones and those beyond matplotlib's range (|y| > 1e300) masked as NaN."""
    y = np.asarray(y, dtype=float).copy()
    y[~np.isfinite(y) | (np.abs(y) > 1e300)] = np.nan
    return y


def all_positive(*curves) -> bool:
    """Whether a log axis suits these curves: every finite value positive (losses); a linear axis otherwise (a
    log-factor can be < 0). Decided on the whole curves, before thinning."""
    values = np.concatenate([np.ravel(c) for c in curves]) if curves else np.array([])
    values = values[np.isfinite(values)]
    return bool(values.size and np.all(values > 0) and values.max() > 0)


def draw_solution(spec: dict):
    """The figure of `plotting.plot_solution` from its spec (a dict of thinned arrays and labels, made by
    `plotting.solution_spec`): schedule, loss and, with a reference, the error against it. Returns the figure."""
    plt = pyplot()
    panels = 3 if spec["ref"] is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.2), constrained_layout=True)
    ax_lr, ax_loss = axes[0], axes[1]
    ax_lr.step(*spec["schedule"], where="post", lw=2.2, label=f"numeric ({spec['solver']})")
    if spec["ref"] is not None:
        ax_lr.plot(*spec["ref"], "--", color="k", lw=1.2, label=spec["ref_label"])
        axes[2].plot(*spec["error"], lw=1.2)
        if spec["error_log"]:
            axes[2].set_yscale("log")
        axes[2].set(xlabel="t", ylabel="|numeric − reference| / peak", title=f"error vs {spec['ref_label']}")
    ax_loss.plot(*spec["loss"], lw=2.2, label=f"numeric ({spec['solver']})")
    for extra in spec["extra"]:
        ax_lr.plot(*extra["schedule"], lw=1, alpha=0.8, label=extra["label"])
        if extra["loss"] is not None:
            ax_loss.plot(*extra["loss"], lw=1, alpha=0.8, label=extra["label"])
    ax_lr.set(xlabel="t", ylabel="learning rate", title="schedule")
    ax_loss.set(xlabel="t", ylabel="loss", title="loss")
    if spec["loss_log"]:
        ax_loss.set_yscale("log")
    for ax in (ax_lr, ax_loss):
        ax.legend(fontsize=7, framealpha=0.6)
    if spec["title"]:
        fig.suptitle(spec["title"], fontsize=10)
    return fig


def plot_schedules(t, schedules: dict, *, ax=None, xlabel="t", ylabel="learning rate", title=None):
    """Several schedules (label -> values per cell) on one axis."""
    if ax is None:
        _, ax = pyplot().subplots(figsize=(5, 3.6), constrained_layout=True)
    t = np.asarray(t)
    _schedule_lines(ax, 0.5 * (t[1:] + t[:-1]), schedules, xlabel, ylabel, title)
    return ax


def _schedule_lines(ax, mid, schedules, xlabel, ylabel, title):
    for label, values in schedules.items():
        ax.plot(mid, np.asarray(values), label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)


def schedules_spec(t, schedules: dict, *, xlabel="t", title=None) -> dict:
    """The spec of a `plot_schedules` figure for `draw` (here or in the output worker): plain arrays, the cells'
    midpoints and values thinned alike."""
    t = np.asarray(t, float)
    labels = list(schedules)
    mid, *values = thin(0.5 * (t[1:] + t[:-1]), *(np.asarray(schedules[k], float) for k in labels))
    return {"kind": "schedules", "mid": mid, "schedules": dict(zip(labels, values)), "xlabel": xlabel,
            "title": title}


def draw_curves(spec: dict):
    """Loss curves against a law (`lrcontrol fit` and `predict`): logged losses as dots, the law's prediction as
    lines (with its band where given), and the relative residuals; a schedule without losses (`losses` None) as its
    predicted curve alone (dashed). Returns the figure."""
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for c in spec["curves"]:
        if c["losses"] is None:  # a schedule without losses (`lrcontrol predict`): its predicted curve only
            axes[0].plot(c["steps"], c["predicted"], "--", lw=1, label=f"{c['name']} (predicted)")
            continue
        line, = axes[0].plot(c["steps"], c["losses"], ".", ms=3, label=c["name"])
        axes[0].plot(c["steps"], c["predicted"], "-", lw=1, color=line.get_color())
        if c["lo"] is not None:
            axes[0].fill_between(c["steps"], c["lo"], c["hi"], color=line.get_color(), alpha=0.2)
        axes[1].plot(c["steps"], (c["losses"] - c["predicted"]) / c["losses"], "-", lw=1, color=line.get_color())
    tops = [np.max(c["predicted"][len(c["predicted"]) // 20:]) for c in spec["curves"] if c["losses"] is None]
    if tops:  # a schedule's predicted curve starts at the law's singularity T = 0 (a warm-up from 0): from 5 % on
        values = [c["predicted"] for c in spec["curves"]] + [c["losses"] for c in spec["curves"] if c["losses"]
                                                             is not None]
        low = min(float(np.min(v[np.isfinite(v)], initial=np.inf)) for v in values)
        top = max([float(t) for t in tops] + [float(np.max(c["losses"])) for c in spec["curves"]
                                               if c["losses"] is not None])
        if np.isfinite(low) and np.isfinite(top) and top > low:
            axes[0].set_ylim(low - 0.05 * (top - low), top + 0.05 * (top - low))
    axes[0].set(xlabel="step", ylabel="loss", title=f"{spec['title']}: data (dots), law (lines)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].set(xlabel="step", ylabel="(L − L̂)/L", title="relative residual")
    return fig


def draw(spec: dict):
    """The figure of a spec: `schedules_spec`'s (kind "schedules"), `_cli_laws`' loss curves (kind "curves") or
    `plotting.solution_spec`'s. Returns it."""
    if spec.get("kind") == "curves":
        return draw_curves(spec)
    if spec.get("kind") != "schedules":
        return draw_solution(spec)
    _, ax = pyplot().subplots(figsize=(5, 3.6), constrained_layout=True)
    _schedule_lines(ax, spec["mid"], spec["schedules"], spec["xlabel"], "learning rate", spec["title"])
    return ax.figure


def figure_png(fig) -> bytes:
    """PNG bytes of a figure (so output files are written only once everything is ready); closes the figure."""
    import io

    plt = pyplot()
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
