"""A second process that draws a command's figure, so that importing and running matplotlib overlaps the command.

A command spends its first ~1.8 s importing JAX on one core; on a machine with another core idle, a worker started
first imports matplotlib there (and draws a throw-away figure, which loads the fonts). After the solve the command
sends the figure's spec (`plotting.solution_spec`: plain arrays and strings) and formats its CSV and JSON while the
worker draws. Protocol: one pickled spec on the worker's stdin, prefixed by its length (8 bytes, big-endian); the
PNG bytes back on its stdout; then the worker exits (also when stdin closes without a spec). Anything that goes
wrong makes `receive` return None, and the command draws in its own process: the worker is only ever a shortcut.
"""

import os
import pickle
import struct
import subprocess
import sys

# The commands whose figure a worker draws (`plotting.plot_solution`'s): `solve` always, the others with --out only.
COMMANDS = ("solve", "compare", "evaluate")


class FigureWorker:
    """The command's side: start the worker, send it a spec, receive the PNG."""

    def __init__(self):
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "lrcontrol._figure_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={**os.environ, "MPLBACKEND": "Agg"})
        self._sent = False

    def send(self, spec: dict) -> None:
        """Hand the worker the spec to draw; it starts at once (no waiting here beyond the pipe's write)."""
        try:
            data = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.write(struct.pack(">Q", len(data)) + data)
            self._proc.stdin.flush()
            self._sent = True
        except (OSError, ValueError, pickle.PicklingError):  # the worker is gone: the command draws itself
            self.close()

    def receive(self, timeout: float = 60.0) -> bytes | None:
        """The PNG of the spec sent, or None if the worker failed, was not sent one, or took over `timeout` s."""
        if not self._sent:
            return None
        try:
            png, _ = self._proc.communicate(timeout=timeout)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.close()
            return None
        return png if self._proc.returncode == 0 and png.startswith(b"\x89PNG") else None

    def close(self) -> None:
        """Stop the worker if it still runs (it also exits by itself once the command's end closes its stdin)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def start_for(argv: list[str]) -> FigureWorker | None:
    """A worker for this command line when it will draw a `plot_solution` figure and another core can draw it;
    None otherwise (help, version, other commands, one core, or a worker that cannot start)."""
    if not argv or argv[0] not in COMMANDS or {"-h", "--help", "--version"} & set(argv):
        return None
    if argv[0] != "solve" and not any(a == "--out" or a.startswith("--out=") for a in argv):
        return None  # nothing will be drawn
    if (os.cpu_count() or 1) < 2:
        return None
    try:
        return FigureWorker()
    except OSError:
        return None


def _serve() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle; a closed stdin ends us
    import matplotlib

    matplotlib.use("Agg")
    from lrcontrol import _draw

    fig, ax = _draw.pyplot().subplots(figsize=(2, 2), constrained_layout=True)  # loads fonts and the renderer
    ax.plot([0.0, 1.0], label="warm-up")
    ax.set(title="warm-up", yscale="log")
    ax.legend()
    _draw.figure_png(fig)
    head = sys.stdin.buffer.read(8)
    if len(head) < 8:
        return
    (size,) = struct.unpack(">Q", head)
    spec = pickle.loads(sys.stdin.buffer.read(size))
    sys.stdout.buffer.write(_draw.figure_png(_draw.draw_solution(spec)))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
