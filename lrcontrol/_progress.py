"""A one-line progress display for long solves, fed from inside the jitted loop by a host callback.

It stays silent for the first `delay` seconds so short solves print nothing.
"""

import sys
import time


class _Progress:
    def __init__(self):
        self.active = False
        self.start = 0.0
        self.shown = False
        self.label = ""
        self.delay = 2.0
        self.last = -1e9

    def begin(self, label: str, delay: float = 2.0):
        self.active, self.start, self.shown, self.label, self.delay = True, time.perf_counter(), False, label, delay
        self.last = -1e9

    def __call__(self, it, f, pg, tol):
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
        line = (f"{self.label}: iter {int(it):6d}  objective {float(f): .10e}  "
                f"|proj grad| {float(pg):.2e} (tol {float(tol):.1e})  {elapsed:6.1f}s")
        sys.stderr.write(("\r" + line) if tty else (line + "\n"))
        sys.stderr.flush()

    def end(self):
        if self.active and self.shown and sys.stderr.isatty():
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.active = False


PROGRESS = _Progress()


def report(it, f, pg, tol):
    """Module-level callback (a stable identity, so jit caches are not invalidated per solve)."""
    PROGRESS(it, f, pg, tol)
