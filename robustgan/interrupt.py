"""Ctrl-C that stops a long job at a clean point: the first one is noted and the job finishes its
current step, saves its checkpoint and raises :class:`RunInterrupted`; a second one stops at once.

Only the main thread of a single process defers the signal (a torchrun launch stops as before:
its processes must agree on the step to stop at, which a signal delivered to each cannot ensure).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class RunInterrupted(KeyboardInterrupt):
    """Raised after the job saved its state at a step boundary; the message says how to resume."""


class _Flag:
    requested = False


@contextmanager
def deferred_interrupt(enabled: bool = True) -> Iterator[_Flag]:
    """``with deferred_interrupt() as stop: ... if stop.requested: save(); raise RunInterrupted(...)``."""
    flag = _Flag()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def note(signum, frame):
        if flag.requested:  # the second Ctrl-C: stop now
            raise KeyboardInterrupt
        flag.requested = True

    signal.signal(signal.SIGINT, note)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
