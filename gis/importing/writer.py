"""Runs an import's database work on a second thread while the main thread prepares the next batch."""

import queue
import threading
from collections.abc import Callable

Job = Callable[[], None]


class BackgroundWriter:
    """Runs submitted jobs in order on one thread; the first error stops the rest and is re-raised.

    psycopg releases the GIL while it waits on the server, so encoding (Python, main thread) and
    COPY/INSERT (the server, this thread) overlap: on two cores most of the database time is hidden.
    The jobs must be the only users of their connection until close() returns.
    """

    def __init__(self, *, depth: int = 2):
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fieldsvc-import-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    job()
                except BaseException as exc:  # handed to the main thread by submit()/close()
                    self._error = exc

    def submit(self, job: Job) -> None:
        if self._error is not None:
            raise self._error
        self._jobs.put(job)

    def close(self, *, reraise: bool = True) -> None:
        """Wait for every submitted job; re-raise the first job error if there was one."""
        self._jobs.put(None)
        self._thread.join()
        if reraise and self._error is not None:
            raise self._error
