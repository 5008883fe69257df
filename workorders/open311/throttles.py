"""Rate limits for Open311: per client address and per API key (POSTs), counted per minute in Redis."""

import logging
import time

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)
WINDOW_S = 60
_clients: dict[str, redis.Redis] = {}


def client_address(request) -> str:
    """The caller's address; behind FIELDSVC_TRUSTED_PROXIES proxies, the one they saw."""
    proxies = settings.FIELDSVC_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _redis() -> redis.Redis:
    """One client per process on the shared cache's Redis database (its pool reconnects after a fork).

    Django's cache API builds a new client per call and needs two calls per counter: at several
    hundred requests a second that alone cost ~1 ms per request."""
    location = settings.CACHES["default"]["LOCATION"]
    if location not in _clients:
        _clients[location] = redis.Redis.from_url(location, socket_connect_timeout=0.5, socket_timeout=0.5)
    return _clients[location]


class Open311RateThrottle(BaseThrottle):
    """Fixed one-minute windows, every counter of a call in one pipelined round trip (INCR + EXPIRE)."""

    def counters(self, request) -> list[tuple[str, int]]:
        """(counter, limit) pairs: the client's address always; a POST's API key too, with its own rate."""
        found = [(f"addr:{client_address(request)}", settings.FIELDSVC_OPEN311_RATE_PER_ADDRESS)]
        api_key = getattr(request, "open311_api_key", None)
        if request.method == "POST" and api_key is not None:
            found.append((f"key:{api_key.pk}", api_key.rate_per_minute or settings.FIELDSVC_OPEN311_RATE_PER_KEY))
        return found

    def allow_request(self, request, view) -> bool:
        counters = self.counters(request)
        now = time.time()
        window = int(now) // WINDOW_S
        pipe = _redis().pipeline(transaction=False)
        for name, _ in counters:
            key = f"fieldsvc:rl:{name}:{window}"
            pipe.incr(key)
            pipe.expire(key, WINDOW_S * 2)
        try:
            replies = pipe.execute()
        except redis.RedisError as exc:  # Redis away: serve the city rather than refuse everyone
            log.warning("rate limit not checked (%s): %s", type(exc).__name__, exc)
            return True
        self.retry_after = WINDOW_S - int(now) % WINDOW_S
        return all(count <= limit for count, (_, limit) in zip(replies[::2], counters, strict=True))

    def wait(self) -> float | None:
        return getattr(self, "retry_after", WINDOW_S)
