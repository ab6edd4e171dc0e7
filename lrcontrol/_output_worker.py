"""A second process that makes a command's slow outputs — its figure, and the solve command's schedule CSV — so that
they overlap the command's own work.

A command first imports JAX, on one core; on a machine with another core idle, a worker started first imports
matplotlib there (and draws a throw-away figure, which loads the fonts). After the solve the command sends the
figure's spec (plain arrays and strings: `plotting.solution_spec`'s, or for the loss-curve law commands
`_draw.schedules_spec`'s or a loss-curve spec; `_draw.draw` draws each) and, for `solve`, the schedule's columns; the
worker draws the figure and formats the CSV while the command formats its JSON (at 10⁶ steps the two texts take
about as long). Protocol: one pickled request `{"figure": spec, "csv": (grid, values, name) or None}` (numpy
arrays, no JAX) on the worker's stdin, prefixed by its length (8 bytes, big-endian); one pickled reply
`{"png": bytes, "csv": str or None}` on its stdout; then the worker exits (also when stdin closes without a
request). Anything that goes wrong makes `receive` return None, and the command makes both outputs in its own
process: the worker is only ever a shortcut.
"""

import os
import pickle
import struct
import subprocess
import sys

# The commands whose figure a worker draws (`_draw.draw`'s): these always, the two after them with --out only.
ALWAYS = ("solve", "fit", "predict")
COMMANDS = ALWAYS + ("compare", "evaluate")


class OutputWorker:
    """The command's side: start the worker, send it a request, receive the outputs."""

    def __init__(self):
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "lrcontrol._output_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={**os.environ, "MPLBACKEND": "Agg"})
        self._csv_asked = None

    def send(self, spec: dict, csv_columns: tuple | None = None) -> None:
        """Hand the worker the figure's spec to draw and, if given, the (grid, values, name) of a schedule whose
        CSV text to format (`_schedule_csv.schedule_csv`); it starts at once."""
        try:
            data = pickle.dumps({"figure": spec, "csv": csv_columns}, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.write(struct.pack(">Q", len(data)) + data)
            self._proc.stdin.flush()
            self._csv_asked = csv_columns is not None
        except (OSError, ValueError, pickle.PicklingError):  # the worker is gone: the command makes its outputs
            self.close()

    def receive(self, timeout: float = 60.0) -> dict | None:
        """`{"png": bytes, "csv": str or None}` for the request sent, or None if the worker failed, was not sent
        one, or took over `timeout` s."""
        if self._csv_asked is None:
            return None
        try:
            out, _ = self._proc.communicate(timeout=timeout)
            reply = pickle.loads(out) if self._proc.returncode == 0 else None
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, subprocess.TimeoutExpired):
            self.close()
            return None
        if not (isinstance(reply, dict) and isinstance(reply.get("png"), bytes) and reply["png"].startswith(b"\x89PNG")
                and isinstance(reply.get("csv"), str) == self._csv_asked):
            return None
        return reply

    def close(self) -> None:
        """Stop the worker if it still runs (it also exits by itself once the command's end closes its stdin)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def start_outputs(args, spec, schedule=None):
    """Start making the figure of a spec (`plotting.solution_spec`'s, `_draw.schedules_spec`'s or a loss-curve spec)
    and, given a schedule, its CSV text; returns a function that gives (png, csv text or None). The command's output
    worker (`args.output_worker`, where it has one) makes them meanwhile; otherwise (or if the worker fails) they are
    made in this process when asked for."""
    import numpy as np

    from lrcontrol._draw import draw, figure_png
    from lrcontrol._schedule_csv import schedule_csv

    columns = None if schedule is None else (np.asarray(schedule.grid, float), np.asarray(schedule.values, float),
                                             schedule.name)  # numpy: the worker does not import JAX
    worker = getattr(args, "output_worker", None)
    if worker is not None:
        worker.send(spec, columns)

    def outputs() -> tuple[bytes, str | None]:
        made = worker.receive() if worker is not None else None
        if made is None:
            made = {"png": figure_png(draw(spec)), "csv": None if columns is None else schedule_csv(*columns)}
        return made["png"], made["csv"]

    return outputs


def start_for(argv: list[str]) -> OutputWorker | None:
    """A worker for this command line when it will draw a figure and another core can draw it;
    None otherwise (help, version, other commands, one core, or a worker that cannot start)."""
    if not argv or argv[0] not in COMMANDS or {"-h", "--help", "--version"} & set(argv):
        return None
    if argv[0] not in ALWAYS and not any(a == "--out" or a.startswith("--out=") for a in argv):
        return None  # nothing will be drawn
    if (os.cpu_count() or 1) < 2:
        return None
    try:
        return OutputWorker()
    except OSError:
        return None


def _serve() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle; a closed stdin ends us
    import matplotlib

    matplotlib.use("Agg")
    from lrcontrol import _draw
    from lrcontrol._schedule_csv import schedule_csv

    fig, ax = _draw.pyplot().subplots(figsize=(2, 2), constrained_layout=True)  # loads fonts and the renderer
    ax.plot([0.0, 1.0], label="warm-up")
    ax.set(title="warm-up", yscale="log")
    ax.legend()
    _draw.figure_png(fig)
    head = sys.stdin.buffer.read(8)
    if len(head) < 8:
        return
    (size,) = struct.unpack(">Q", head)
    request = pickle.loads(sys.stdin.buffer.read(size))
    png = _draw.figure_png(_draw.draw(request["figure"]))
    text = None if request["csv"] is None else schedule_csv(*request["csv"])
    sys.stdout.buffer.write(pickle.dumps({"png": png, "csv": text}, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
