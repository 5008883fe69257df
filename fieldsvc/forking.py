"""Run work over items in forked child processes that share the parent's memory copy-on-write."""

import gc
import os
import selectors
import signal
import traceback
from collections.abc import Callable, Sequence

from django.db import connections


class ChildFailed(RuntimeError):
    """A child process raised or died; the items it had stored stay stored."""


def fork_split(items: Sequence, work: Callable[[Sequence, Callable[[int], None]], None], *, processes: int,
               on_done: Callable[[int], None] | None = None, connect_timeout_s: float | None = None) -> int:
    """Split ``items`` between child processes (child k takes items k, k + processes, ...) and call
    ``work(share, done)`` in each; ``done(n)`` there reaches ``on_done(n)`` here. Returns the sum of
    the n reported.

    For large read-mostly state built before the call (an in-memory index): the children see it without
    copying or pickling. Each child opens its own database connections (this process's are closed first:
    a socket shared across a fork would mix both sides' messages). Not inside a transaction, whose rows
    the children could not see.

    With ``connect_timeout_s`` each child connects to the database first, and fails (rather than hangs the
    parent for ever) if that takes longer: a lock some thread of the parent held at the fork stays locked in
    the child, and a connect waiting on it never returns (a CI run once hung so)."""
    if connections["default"].in_atomic_block:
        raise RuntimeError("fork_split inside a transaction: the children would not see its rows")
    connections.close_all()
    children: dict[int, int] = {}  # read end -> pid
    for k in range(min(processes, len(items))):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            os.close(read_end)
            _child(items[k::processes], work, write_end, connect_timeout_s)
        os.close(write_end)
        children[read_end] = pid
    return _collect(children, on_done)


def _child(share: Sequence, work: Callable[[Sequence, Callable[[int], None]], None], write_end: int,
           connect_timeout_s: float | None) -> None:
    code = 0
    gc.disable()  # short-lived and its objects are acyclic: no collector passes over the shared heap
    _forget_inherited_connections()
    try:
        if connect_timeout_s:
            _connect_within(connect_timeout_s)
        work(share, lambda n: os.write(write_end, f"done {n}\n".encode()))
    except BaseException:  # noqa: BLE001 - everything goes back to the parent, which raises it
        os.write(write_end, ("failed " + traceback.format_exc().replace("\n", "\\n") + "\n").encode())
        code = 1
    finally:
        try:
            connections.close_all()
        finally:
            os._exit(code)


# Connections a child found open from its parent, kept referenced: freeing one would end the parent's session.
_inherited: list = []


def _forget_inherited_connections() -> None:
    """Set aside any database connection still open from the parent, so the child opens its own. The parent
    closes its connections before forking, yet in the tests (a browser driver's event loop in the thread) an
    open one reached the child, whose connect was then skipped and whose queries ran on the parent's socket."""
    for alias in connections:
        wrapper = connections[alias]
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            wrapper.connection = None


def _connect_within(timeout_s: float) -> None:
    """Open this child's database connection under an alarm (libpq's connect_timeout covers the network, not
    a lock inherited from the parent)."""
    def expired(signum, frame):
        raise TimeoutError(f"connecting to the database took over {timeout_s:g} s in a forked child")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        connections["default"].ensure_connection()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _collect(children: dict[int, int], on_done: Callable[[int], None] | None) -> int:
    total, failures, buffers = 0, [], {fd: b"" for fd in children}
    with selectors.DefaultSelector() as selector:
        for fd in children:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                *lines, buffers[key.fd] = (buffers[key.fd] + chunk).split(b"\n")
                for line in lines:
                    kind, _, value = line.decode().partition(" ")
                    if kind == "done":
                        total += int(value)
                        if on_done:
                            on_done(int(value))
                    else:
                        failures.append(value.replace("\\n", "\n"))
    for fd, pid in children.items():
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 and not failures:
            failures.append(f"child {pid} ended with status {os.waitstatus_to_exitcode(status)}")
    if failures:
        raise ChildFailed(failures[0])
    return total
