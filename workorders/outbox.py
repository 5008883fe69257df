"""Outbox rows whose message goes out once: claimed in a committed transaction, sent, then recorded surely."""

import time

from django.db import InterfaceError, OperationalError, connection
from django.db.models import Model


def record_after_send(model: type[Model], pk: int, *, attempts: int = 8, **fields) -> None:
    """Record on row ``pk`` what happened to a message that has gone out (or failed to): through a cut
    connection or a restarting server, on a fresh connection, for up to ~30 s, because the alternative,
    sending again, is what the claim exists to prevent."""
    for attempt in range(attempts):
        try:
            model.objects.filter(pk=pk).update(**fields)
            return
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or attempt == attempts - 1:
                raise  # a caller's transaction is lost with the connection: nothing to redo here
            connection.close()  # the next query connects again
            time.sleep(min(8.0, 0.25 * 2 ** attempt))
