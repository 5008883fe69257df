"""Per-process coalescing of task sends: items (ids, …) added within a short window go to the broker as one task."""

import atexit
import os
import threading
import time
from collections.abc import Callable
from typing import Any


class Coalescer:
    """``add(id)`` sends ``send(ids)`` at once when nothing was sent in the last ``window_s``, else once
    the window has passed, with every id added meanwhile. Publishing costs a web worker about as much
    CPU as the rest of an intake POST, so under load one message carries many ids; when idle the first
    id still goes out immediately.

    Only for work already recorded in the database: ids still held when the process dies are found
    again by the beat sweeper."""

    def __init__(self, send: Callable[[list[Any]], object], *, window_s: float):
        self._send = send
        self._window_s = window_s
        self._lock = threading.Lock()
        self._held: list[Any] = []
        self._timer: threading.Timer | None = None
        self._last_sent = float("-inf")
        os.register_at_fork(after_in_child=self._forget)  # a forked child has no timer thread
        atexit.register(self.flush)

    def add(self, item: Any) -> None:
        with self._lock:
            self._held.append(item)
            if self._timer is not None:
                return  # the pending send takes it
            wait = self._last_sent + self._window_s - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self.flush)
                self._timer.daemon = True
                self._timer.start()
                return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            ids, self._held, self._timer = self._held, [], None
            if not ids:
                return
            self._last_sent = time.monotonic()
        self._send(ids)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._held, self._timer, self._last_sent = [], None, float("-inf")
