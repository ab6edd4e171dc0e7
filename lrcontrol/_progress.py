"""A one-line progress display for long solves, stderr only.

`lrc.solve` feeds it between compiled chunks of iterations (`_solve._solve_in_chunks`: iteration, objective,
residual); for a solver without chunks, `ticking()` shows the elapsed time from a host thread while the one
compiled call runs. Nothing calls back from compiled code. It stays silent for the first `delay` seconds so short
solves print nothing.
"""

import contextlib
import sys
import threading
import time

DELAY_SECONDS = 2.0  # a solve shorter than this prints nothing


class _Progress:
    def __init__(self):
        self.active = False
        self.start = 0.0
        self.shown = False
        self.label = ""
        self.delay = DELAY_SECONDS
        self.last = -1e9

    def begin(self, label: str, delay: float | None = None):
        delay = DELAY_SECONDS if delay is None else delay
        self.active, self.start, self.shown, self.label, self.delay = True, time.perf_counter(), False, label, delay
        self.last = -1e9

    def __call__(self, it, f, pg, tol):
        self._show(lambda elapsed: (f"{self.label}: iter {int(it):6d}  objective {float(f): .10e}  "
                                    f"|residual| {float(pg):.2e} (tol {float(tol):.1e})  {elapsed:6.1f}s"))

    def _show(self, line_at):
        if not self.active:
            return
        elapsed = time.perf_counter() - self.start
        if elapsed < self.delay:
            return
        tty = sys.stderr.isatty()
        # On a terminal, redraw one line; in a log, write a line at most every 5 s.
        if not tty and elapsed - self.last < 5.0:
            return
        self.shown, self.last = True, elapsed
        line = line_at(elapsed)
        sys.stderr.write(("\r" + line) if tty else (line + "\n"))
        sys.stderr.flush()

    @contextlib.contextmanager
    def ticking(self, every: float = 0.5):
        """While the block runs (one compiled call, which releases the GIL), show the elapsed time."""
        stop = threading.Event()

        def tick():
            while not stop.wait(every):
                self._show(lambda elapsed: f"{self.label}: running  {elapsed:6.1f}s")

        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def end(self):
        if self.active and self.shown and sys.stderr.isatty():
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.active = False


PROGRESS = _Progress()
