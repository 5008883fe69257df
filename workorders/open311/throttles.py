"""Rate limits for Open311: per API key (POSTs) and per client address, counted per minute in Redis."""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)
WINDOW_S = 60


def client_address(request) -> str:
    """The caller's address; behind FIELDSVC_TRUSTED_PROXIES proxies, the one they saw."""
    proxies = settings.FIELDSVC_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


class _MinuteCounter(BaseThrottle):
    """Fixed one-minute window: one atomic INCR per call (a sliding log would pickle thousands of stamps)."""

    scope = ""

    def limit_for(self, request, view) -> tuple[str, int] | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        found = self.limit_for(request, view)
        if found is None:
            return True
        ident, limit = found
        window = int(time.time()) // WINDOW_S
        key = f"rl:{self.scope}:{ident}:{window}"
        try:
            cache.add(key, 0, timeout=WINDOW_S * 2)
            count = cache.incr(key)
        except Exception as exc:  # Redis away: serve the city rather than refuse everyone
            log.warning("rate limit not checked (%s): %s", type(exc).__name__, exc)
            return True
        self.retry_after = WINDOW_S - int(time.time()) % WINDOW_S
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self, "retry_after", WINDOW_S)


class AddressRateThrottle(_MinuteCounter):
    scope = "addr"

    def limit_for(self, request, view):
        return client_address(request), settings.FIELDSVC_OPEN311_RATE_PER_ADDRESS


class ApiKeyRateThrottle(_MinuteCounter):
    """Counts POSTs per API key; the key's own rate_per_minute overrides the default."""

    scope = "key"

    def limit_for(self, request, view):
        api_key = getattr(request, "open311_api_key", None)
        if request.method != "POST" or api_key is None:
            return None
        return str(api_key.pk), api_key.rate_per_minute or settings.FIELDSVC_OPEN311_RATE_PER_KEY
