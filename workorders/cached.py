"""Per-process copies of what changes rarely and is read on every request: catalogue, departments, API keys.

Intake and listings would otherwise re-read services (with their translations), questions and
departments for every call. A copy is trusted for FIELDSVC_CATALOGUE_RECHECK_S seconds, then the
catalogue's changeset (latest service change) is compared and the copy rebuilt if it moved. A
revoked API key stops working within the same interval.
"""

import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max, Prefetch

from gis.models import Department
from workorders.models import ApiKey, Service, ServiceAttribute


@dataclass
class Catalogue:
    by_id: dict[int, Service]
    by_code: dict[str, Service]  # active services only
    related_ids: dict[int, list[int]]
    departments: dict[int, Department]
    version: tuple = ()


@dataclass
class _State:
    catalogue: Catalogue | None = None
    checked_at: float = 0.0
    keys: dict[str, tuple[float, ApiKey | None]] = field(default_factory=dict)


_lock = threading.Lock()
_state = _State()


def _version() -> tuple:
    """Changes when services are saved, added or removed, or questions / related links come and go
    (the admin also touches a service when its questions are edited)."""
    services = Service.objects.aggregate(n=Count("pk"), latest=Max("updated_at"))
    questions = ServiceAttribute.objects.aggregate(n=Count("pk"), top=Max("pk"))
    return services["n"], services["latest"], questions["n"], questions["top"], Service.related.through.objects.count()


def _load(version: tuple) -> Catalogue:
    services = list(
        Service.objects.select_related("group", "department")
        .prefetch_related(Prefetch("attributes", queryset=ServiceAttribute.objects.order_by("order")))
    )
    related = {s.pk: [] for s in services}
    for source, target in Service.related.through.objects.values_list("from_service_id", "to_service_id"):
        related.setdefault(source, []).append(target)
    return Catalogue(
        by_id={s.pk: s for s in services},
        by_code={s.code: s for s in services if s.active},
        related_ids=related,
        departments={d.pk: d for d in Department.objects.all()},
        version=version,
    )


def catalogue() -> Catalogue:
    """The current catalogue (rebuilt when services changed; departments re-read with it)."""
    now = time.monotonic()
    with _lock:
        if _state.catalogue is None or now - _state.checked_at > settings.FIELDSVC_CATALOGUE_RECHECK_S:
            version = _version()
            if _state.catalogue is None or _state.catalogue.version != version:
                _state.catalogue = _load(version)
            else:
                _state.catalogue.departments = {d.pk: d for d in Department.objects.all()}
            _state.checked_at = now
        return _state.catalogue


def api_key(key_sha256: str) -> ApiKey | None:
    """The active key with this hash, remembered for FIELDSVC_CATALOGUE_RECHECK_S seconds."""
    now = time.monotonic()
    with _lock:
        hit = _state.keys.get(key_sha256)
        if hit and now - hit[0] <= settings.FIELDSVC_CATALOGUE_RECHECK_S:
            return hit[1]
    found = ApiKey.objects.filter(key_sha256=key_sha256, active=True).first()
    with _lock:
        if len(_state.keys) > 10_000:  # bounded: wrong keys must not grow it without end
            _state.keys.clear()
        _state.keys[key_sha256] = (now, found)
    return found


def forget() -> None:
    """Drop every copy (tests; after a bulk catalogue load in this process)."""
    with _lock:
        _state.catalogue, _state.checked_at = None, 0.0
        _state.keys.clear()
