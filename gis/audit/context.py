"""Where the current staff action comes from (client address, user agent), set per HTTP request by the middleware.

Services record actions without seeing the request; a context variable carries its origin to them. Outside a
request (commands, Celery) the origin is empty.
"""

import ipaddress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Origin:
    address: str | None = None
    user_agent: str = ""
    request: object = None  # for the signed-in user (session) when a model signal records a change


def signed_in_user():
    """The session's user of the current request, if any (admin pages); None outside requests."""
    user = getattr(_origin.get().request, "user", None)
    return user if user is not None and user.is_authenticated else None


NOWHERE = Origin()
_origin: ContextVar[Origin] = ContextVar("audit_origin", default=NOWHERE)  # noqa: B039 - frozen, never changed


def current() -> Origin:
    return _origin.get()


def _address(request) -> str | None:
    """The caller's address; behind FIELDSVC_TRUSTED_PROXIES proxies, the one they saw (as the rate limits do)."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.FIELDSVC_TRUSTED_PROXIES
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if proxies and len(hops) >= proxies:
        address = hops[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class AuditOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _origin.set(Origin(_address(request), request.META.get("HTTP_USER_AGENT", "")[:300], request))
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)
