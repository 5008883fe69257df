"""Per-process copies of what changes rarely and is read on every request: catalogue, departments, API keys,
routing rules.

Intake and listings would otherwise re-read services (with their translations), questions and
departments for every call. A copy is trusted for FIELDSVC_CATALOGUE_RECHECK_S seconds, then the
catalogue's changeset (latest service change) is compared and the copy rebuilt if it moved. A
revoked API key stops working within the same interval.
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max, Prefetch

from gis.models import AssetType, Department
from workorders import routing
from workorders.models import ApiKey, RoutingRule, Service, ServiceAttribute


@dataclass
class Catalogue:
    by_id: dict[int, Service]
    by_code: dict[str, Service]  # active services only
    related_ids: dict[int, list[int]]
    departments: dict[int, Department]
    # Per service, the asset types a report can be about, in the order the catalogue lists them
    # (the order breaks ties between equidistant assets of different types).
    asset_types: dict[int, list[AssetType]] = field(default_factory=dict)
    version: tuple = ()


@dataclass
class _State:
    catalogue: Catalogue | None = None
    checked_at: float = 0.0
    rules: tuple[tuple, list[routing.Rule], dict[int, str]] | None = None
    rules_checked_at: float = 0.0
    keys: dict[str, tuple[float, ApiKey | None]] = field(default_factory=dict)


_lock = threading.Lock()
_state = _State()


def _version() -> tuple:
    """Changes when services are saved, added or removed, or questions / related links come and go
    (the admin also touches a service when its questions are edited)."""
    services = Service.objects.aggregate(n=Count("pk"), latest=Max("updated_at"))
    questions = ServiceAttribute.objects.aggregate(n=Count("pk"), top=Max("pk"))
    return (services["n"], services["latest"], questions["n"], questions["top"],
            Service.related.through.objects.count(), Service.asset_types.through.objects.count())


def _load(version: tuple) -> Catalogue:
    services = list(
        Service.objects.select_related("group", "department")
        .prefetch_related(Prefetch("attributes", queryset=ServiceAttribute.objects.order_by("order")))
    )
    related = {s.pk: [] for s in services}
    for source, target in Service.related.through.objects.values_list("from_service_id", "to_service_id"):
        related.setdefault(source, []).append(target)
    types = {t.pk: t for t in AssetType.objects.all()}
    asset_types: dict[int, list[AssetType]] = {s.pk: [] for s in services}
    for service_id, type_id in Service.asset_types.through.objects.order_by("id").values_list(
            "service_id", "assettype_id"):
        asset_types[service_id].append(types[type_id])
    return Catalogue(
        asset_types=asset_types,
        by_id={s.pk: s for s in services},
        by_code={s.code: s for s in services if s.active},
        related_ids=related,
        departments={d.pk: d for d in Department.objects.all()},
        version=version,
    )


def catalogue(*, with_ids: Iterable[int] = ()) -> Catalogue:
    """The current catalogue (rebuilt when services changed; departments re-read with it).

    ``with_ids``: services the caller is about to look up (a request filed under a service this copy
    has not seen yet): a copy missing one is checked at once instead of after the interval."""
    now = time.monotonic()
    with _lock:
        stale = now - _state.checked_at > settings.FIELDSVC_CATALOGUE_RECHECK_S
        if _state.catalogue is None or stale or any(i not in _state.catalogue.by_id for i in with_ids):
            version = _version()
            if _state.catalogue is None or _state.catalogue.version != version:
                _state.catalogue = _load(version)
            else:
                _state.catalogue.departments = {d.pk: d for d in Department.objects.all()}
            _state.checked_at = now
        return _state.catalogue


def _named(obj) -> routing.Named | None:
    return routing.Named(obj.pk, getattr(obj, "code", str(obj.pk)), obj.name) if obj is not None else None


def _rules_version() -> tuple:
    stats = RoutingRule.objects.aggregate(n=Count("pk"), latest=Max("updated_at"))
    through = [RoutingRule.services.through, RoutingRule.asset_types.through, RoutingRule.districts.through]
    return stats["n"], stats["latest"], *(model.objects.count() for model in through)


def _rules_load() -> tuple[list[routing.Rule], dict[int, str]]:
    rules, district_names = [], {}
    queryset = (RoutingRule.objects.filter(active=True).order_by("order", "id")
                .select_related("department", "reclassify_to").prefetch_related("services", "asset_types", "districts"))
    for rule in queryset:
        district_names.update((d.pk, d.name) for d in rule.districts.all())
        rules.append(routing.Rule(
            id=rule.pk, name=rule.name,
            services=frozenset(s.code for s in rule.services.all()),
            asset_types=frozenset(t.code for t in rule.asset_types.all()),
            utility_kinds=frozenset(rule.utility_kinds), utility_types=frozenset(rule.utility_types),
            utility_within_m=rule.utility_within_m,
            utility_max_depth_m=rule.utility_max_depth_m, utility_min_age_years=rule.utility_min_age_years,
            words=tuple(rule.words), districts=frozenset(d.pk for d in rule.districts.all()),
            hour_from=rule.hour_from, hour_to=rule.hour_to, weekdays=frozenset(rule.weekdays),
            department=_named(rule.department), reclassify_to=_named(rule.reclassify_to),
            priority_bump=rule.priority_bump,
        ))
    return rules, district_names


def routing_rules() -> tuple[list[routing.Rule], dict[int, str]]:
    """The active routing rules in order, and the names of the districts they mention (re-read when a
    rule changes, checked at most every FIELDSVC_CATALOGUE_RECHECK_S)."""
    now = time.monotonic()
    with _lock:
        if _state.rules is None or now - _state.rules_checked_at > settings.FIELDSVC_CATALOGUE_RECHECK_S:
            version = _rules_version()
            if _state.rules is None or _state.rules[0] != version:
                _state.rules = (version, *_rules_load())
            _state.rules_checked_at = now
        return _state.rules[1], _state.rules[2]


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
        _state.rules, _state.rules_checked_at = None, 0.0
        _state.keys.clear()
