"""Ctrl-C for the command line: exit 130, one line, nothing written — whenever it lands.

`install` puts a SIGINT handler in place that records the interrupt before raising `KeyboardInterrupt`, so an
interrupt that Python swallows (one landing in a callback it cannot raise from, such as JAX's gc callback during
import, which Python reports as "Exception ignored in ..." and then carries on) still stops the command at its next
`check`: after set-up and before any file is written.
"""

import signal
import sys
import threading

_interrupted = False


def _on_sigint(signum, frame):
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _quiet_unraisable(unraisable):
    # The swallowed interrupt is recorded; its "Exception ignored" traceback is not printed.
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def install() -> None:
    """Record interrupts from now on (signal handlers can only be set from the main thread; tests call the CLI's
    `main` from others)."""
    global _interrupted
    _interrupted = False
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _quiet_unraisable


def check() -> None:
    """Raise `KeyboardInterrupt` if an interrupt was recorded (and perhaps swallowed) since `install`."""
    if _interrupted:
        raise KeyboardInterrupt
