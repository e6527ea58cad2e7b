"""Draining the web process on SIGTERM: open SSE responses end with a `retry:` hint, so
browsers reconnect (with Last-Event-ID) to a process that stays, and uvicorn's graceful
shutdown is not held up by streams that could last minutes.

uvicorn installs its SIGTERM handler before it imports the app; the first SSE response
chains ours in front of it (signal handlers can only be set from the main thread, which
is where uvicorn's event loop runs the async views).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_draining = threading.Event()
_installed = False


def draining() -> bool:
    return _draining.is_set()


def watch_sigterm() -> None:
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        _draining.set()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    try:
        signal.signal(signal.SIGTERM, on_sigterm)
    except (ValueError, OSError):  # not the main thread after all, or no signals here
        _installed = False
