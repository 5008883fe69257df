"""A database lost mid-request (connection cut, server restarting) is a 503 with Retry-After, never a 500."""

import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2


class DatabaseUnavailableMiddleware:
    """Whatever the view had written is rolled back with its transaction (ATOMIC_REQUESTS is off, so each
    service's own transaction is all-or-nothing), so a client sending the request again is safe: intake
    answers a retry with the first request (Idempotency-Key), and other writes are idempotent or versioned.
    The broken connection is closed here so the process's next request connects afresh."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
        for connection in connections.all(initialized_only=True):
            if connection.in_atomic_block:
                continue  # (a test's transaction) not ours to close
            connection.close()
        description = "the database is unavailable for a moment: send the request again"
        if request.path.startswith("/open311/"):
            body = [{"code": 503, "description": description}]  # Open311's error body
        else:
            body = {"code": "database_unavailable", "detail": description}
        response = JsonResponse(body, status=503, safe=False)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
