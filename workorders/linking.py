"""Link requests to their asset and the utilities beneath, then route them: on intake (one report, PostGIS
KNN), by the sweeper, after registry changes, and in batches (in-memory STRtrees, set-based writes).

Both paths feed the same policies (gis/matching.py, workorders/routing.py) and store the same result,
so a batch re-link and the intake task agree on every report. Idempotent: re-linking a report gives
the same answer as long as the registry and the rules are unchanged.
"""

import datetime as dt
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import orjson
import shapely
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from fieldsvc import forking
from fieldsvc.celery import enqueue
from fieldsvc.coalesce import Coalescer
from gis import matching
from gis.matching import AssetCandidate, AssetMatch, UtilityHit
from gis.registry_index import RegistryIndex
from gis.spatial import linking as spatial
from gis.spatial import queries
from workorders import cached, routing
from workorders.models import (
    LinkState,
    NoteKind,
    RequestLink,
    RequestNote,
    ServiceRequest,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)  # not frozen: built per report, and frozen init costs 3x
class Report:
    """One request as linking sees it."""

    id: int
    service_id: int  # as reported: a re-link starts again from what the resident chose
    current_service_id: int
    department_id: int
    x: float | None
    y: float | None
    description: str
    district_id: int | None
    requested_at: dt.datetime
    claim: str
    status: str
    detailed_status: str


@dataclass(slots=True)  # not frozen: built per report, and frozen init costs 3x
class LinkResult:
    report: Report
    match: AssetMatch
    utilities: list[UtilityHit]
    decision: routing.Decision


@dataclass(frozen=True, slots=True)
class _ServicePlan:
    """What linking needs of one service, worked out once per run."""

    service: routing.Named
    department: routing.Named
    type_ids: list[int]
    type_codes: list[str]
    radius_m: float
    rules: list[routing.Rule]  # only those that can apply to it
    screen: routing.Screen
    shared: dict = field(default_factory=dict)  # what every plain report of the service shares


class _Context:
    """The catalogue, rules and settings one linking run works with."""

    def __init__(self, service_ids: Iterable[int] = ()):
        self.catalogue = cached.catalogue(with_ids=service_ids)
        self.rules, self.district_names = cached.routing_rules()
        self.buffer_m = {kind: float(m) for kind, m in settings.FIELDSVC_UTILITY_BUFFER_M.items()}
        self.utility_radius_m = max(self.buffer_m.values(), default=0.0)
        self.claim_max_m = settings.FIELDSVC_LINK_NAMED_ASSET_MAX_M
        self.type_names = {t.code: t.name for types in self.catalogue.asset_types.values() for t in types}
        self.zone = timezone.get_current_timezone()
        self._plans: dict[int, _ServicePlan] = {}

    def plan(self, service_id: int) -> _ServicePlan:
        plan = self._plans.get(service_id)
        if plan is None:
            service = self.catalogue.by_id[service_id]
            types = self.catalogue.asset_types.get(service_id, [])
            rules = routing.rules_for(service.code, self.rules)
            plan = self._plans[service_id] = _ServicePlan(
                _named(service), _named(self.catalogue.departments[service.department_id]), [t.pk for t in types],
                [t.code for t in types], service.snap_distance_m, rules, routing.Screen.of(rules))
        return plan


def _named(obj) -> routing.Named:
    return routing.Named(obj.pk, obj.code, obj.name)


def _decide(ctx: _Context, report: Report, candidates: list[AssetCandidate], claimed: AssetCandidate | None,
            hits: Iterable[UtilityHit]) -> LinkResult:
    plan = ctx.plan(report.service_id)
    if (not report.claim and not hits and len(candidates) < 2
            and _no_rule_applies(ctx, plan, report, candidates[0].type_code if candidates else None)):
        return _decide_plain(ctx, plan, report, candidates[0] if candidates else None)
    return _decide_general(ctx, plan, report, candidates, claimed, hits)


def _no_rule_applies(ctx: _Context, plan: _ServicePlan, report: Report, asset_type: str | None) -> bool:
    """For a report with no named asset and nothing beneath: whether the screen rules out every rule."""
    at = report.requested_at.astimezone(ctx.zone) if plan.screen.needs_time else None
    return plan.screen.none_apply(report.description, has_utilities=False, asset_type=asset_type,
                                  district_id=report.district_id, at=at)


def _decide_plain(ctx: _Context, plan: _ServicePlan, report: Report, asset: AssetCandidate | None) -> LinkResult:
    """The most common report, decided without the general machinery (the same answer: the batch-versus-
    intake test and test_linking's plain cases hold them equal): no rule can apply, no named asset,
    nothing beneath, at most one candidate."""
    if asset is None or report.x is None or not plan.type_ids or asset.distance_m > plan.radius_m:
        shared = _nothing_near(ctx, plan, report)
        return LinkResult(report, shared.match, [], shared.decision)
    text = _plain_text(ctx, plan, asset.type_code, asset.external_id, asset.distance_m)
    match = AssetMatch(matching.Outcome.MATCHED, asset, plan.radius_m, f"nearest within {plan.radius_m:g} m")
    return LinkResult(report, match, [], routing.Decision(plan.department, plan.service, False,
                                                          routing.NORMAL_PRIORITY, None, text))


def _nothing_near(ctx: _Context, plan: _ServicePlan, report: Report) -> LinkResult:
    """The result every plain report of the service without an asset shares: worked out once."""
    key = ("nothing", report.x is not None)
    if key not in plan.shared:
        plan.shared[key] = _decide_general(ctx, plan, report, [], None, [])
    return plan.shared[key]


def _plain_text(ctx: _Context, plan: _ServicePlan, type_code: str, external_id: str, distance_m: float) -> str:
    return f"{_plain_prefix(ctx, plan, type_code)}{external_id}, {distance_m:.1f} m from the report."


def _plain_prefix(ctx: _Context, plan: _ServicePlan, type_code: str) -> str:
    prefix = plan.shared.get(type_code)
    if prefix is None:
        prefix = plan.shared[type_code] = (f"{routing.default_sentence(plan.department, plan.service)} Linked to "
                                           f"{ctx.type_names[type_code].lower()} ")
    return prefix


def _plain_row(ctx: _Context, plan: _ServicePlan, report: Report, found: tuple[int, int, float] | None,
               label: tuple[str, str] | None) -> tuple:
    """_stage_row(_decide_plain(...)) for a batch, without the intermediate objects (most of a batch):
    ``found`` is the tree's (asset id, type id, distance), ``label`` the asset's (type code, external id)."""
    if found is None or report.x is None or not plan.type_ids or found[2] > plan.radius_m:
        key = ("nothing row", report.x is not None)
        if key not in plan.shared:
            plan.shared[key] = _stage_row(_nothing_near(ctx, plan, report))[1:]
        return (report.id, *plan.shared[key])
    prefix = plan.shared.get(label[0]) or _plain_prefix(ctx, plan, label[0])
    return (report.id, found[0], found[2], matching.Outcome.MATCHED, plan.radius_m, "[]", plan.department.id,
            None, None, routing.NORMAL_PRIORITY, f"{prefix}{label[1]}, {found[2]:.1f} m from the report.")


def _decide_general(ctx: _Context, plan: _ServicePlan, report: Report, candidates: list[AssetCandidate],
                    claimed: AssetCandidate | None, hits: Iterable[UtilityHit]) -> LinkResult:
    match = matching.asset_choose(
        candidates=candidates, radius_m=plan.radius_m, type_preference=plan.type_codes,
        has_location=report.x is not None, claim=report.claim, claimed=claimed, claim_max_m=ctx.claim_max_m,
    )
    beneath = matching.utilities_beneath(hits, buffer_m=ctx.buffer_m) if hits else []
    facts = routing.Facts(
        service=plan.service, department=plan.department, asset=match, asset_type_names=ctx.type_names,
        utilities=beneath, description=report.description, district_id=report.district_id,
        district_name=ctx.district_names.get(report.district_id), at=report.requested_at.astimezone(ctx.zone),
    )
    return LinkResult(report, match, beneath, routing.route(facts, plan.rules))


_REPORT_SQL = (
    f"SELECT r.id, COALESCE(l.reclassified_from_id, r.service_id), r.service_id, r.department_id, "
    f"{spatial.sql_xy('r.geom')}, r.description, r.district_id, r.requested_at, l.asset_claim, r.status, "
    f"r.detailed_status, l.state FROM {ServiceRequest._meta.db_table} r "
    f"JOIN {RequestLink._meta.db_table} l ON l.request_id = r.id WHERE r.id = ANY(%s) ORDER BY r.id"
)


def _reports(ids: list[int], *, lock: bool = False) -> list[tuple[Report, str]]:
    """The reports with their link state; ``lock`` holds their link rows until the transaction ends."""
    with connection.cursor() as cursor:
        # Binary results: timestamps and numbers decoded in C (text timestamps are parsed in Python).
        cursor.cursor.execute(_REPORT_SQL + (" FOR UPDATE OF l" if lock else ""), [ids], binary=True)
        return [(Report(*row[:-1]), row[-1]) for row in cursor.fetchall()]


# --- One report (intake task, sweeper, re-link after a registry change) -----------------------------

def _candidates_from_rows(rows: list[tuple]) -> tuple[list[AssetCandidate], AssetCandidate | None, list[UtilityHit]]:
    assets, claimed, hits = [], None, []
    for source, pk, kind, type_, external_id, distance, depth, material, diameter, year, fraction, length in rows:
        if source == "asset":
            assets.append(AssetCandidate(pk, type_, external_id, distance))
        elif source == "claim":
            claimed = AssetCandidate(pk, type_, external_id, distance if distance is not None else float("inf"))
        else:
            hits.append(UtilityHit(feature=source, id=pk, kind=kind, type=type_, external_id=external_id,
                                   distance_m=distance, depth_m=depth, material=material or "",
                                   diameter_mm=diameter, install_year=year,
                                   along_m=fraction * length if fraction is not None else None, fraction=fraction))
    return assets, claimed, hits


def request_link(*, request_id: int, force: bool = False) -> str:
    """Link and route one request; returns what happened ('linked', 'already linked', 'gone').

    Without ``force`` a linked request is left alone (a redelivered task does nothing); with it the
    request is linked again from what was reported (after the registry or the rules changed)."""
    with transaction.atomic():
        found = _reports([request_id], lock=True)  # a second task for the same request waits here
        if not found:
            return "gone"
        report, state = found[0]
        if state == LinkState.LINKED and not force:
            return "already linked"
        ctx = _Context([report.service_id])
        plan = ctx.plan(report.service_id)
        rows = spatial.link_candidates(x=report.x, y=report.y, type_ids=plan.type_ids, radius_m=plan.radius_m,
                                       utility_radius_m=ctx.utility_radius_m, claim=report.claim)
        _store_one(_decide(ctx, report, *_candidates_from_rows(rows)))
    return "linked"


def _send_link_task(request_ids: list[int]) -> None:
    enqueue("workorders.tasks.requests_link_task", request_ids=request_ids)


# New requests, linked by a worker shortly after their commit: one task per window per web process.
link_soon = Coalescer(_send_link_task, window_s=settings.FIELDSVC_LINK_SEND_WINDOW_S)


# --- Many reports (manage.py relink, the sweeper after an outage, imports) ---------------------------

def requests_link_batch(*, request_ids: list[int], force: bool = False, chunk: int = 20_000,
                        progress: Callable[[int], None] | None = None) -> int:
    """Link many requests; returns how many were linked. Large batches use in-memory STRtrees built once
    (FIELDSVC_LINK_MEMORY_MIN_BATCH), small ones ask PostGIS per report. ``progress(n)`` is called as
    each group of n requests is stored."""
    ids = sorted(set(request_ids))
    if not force:
        ids = _pending(ids)
    if len(ids) < settings.FIELDSVC_LINK_MEMORY_MIN_BATCH:
        for pk in ids:
            request_link(request_id=pk, force=force)
            if progress:
                progress(1)
        return len(ids)
    processes = 1 if connection.in_atomic_block else max(1, settings.FIELDSVC_LINK_PROCESSES)
    count = -(-len(ids) // chunk)
    count = -(-count // processes) * processes  # a multiple of the processes: each gets the same share
    size = -(-len(ids) // count)
    chunks = [_Chunk(ids[start:start + size]) for start in range(0, len(ids), size)]
    ctx = _Context()
    # The first chunks are read while the index loads (mostly C and database time), in a thread of
    # their own; the index is built before any fork: the child processes share it copy-on-write.
    reader = _Inline() if connection.in_atomic_block else _Worker()
    try:
        ahead = reader.submit(_read_ahead, chunks[:3 * processes])
        index = _fresh_index(ctx, None)
        ahead.result()
    finally:
        reader.close()
    if processes > 1 and len(chunks) > 1:
        return forking.fork_split(chunks, lambda share, done: _link_pipelined(ctx, index, share, force, done),
                                  processes=processes, on_done=progress, connect_timeout_s=30)
    return _link_pipelined(ctx, index, chunks, force, progress)


@dataclass(slots=True)
class _Chunk:
    ids: list[int]
    reports: list[Report] | None = None  # once read


def _read_ahead(chunks: list[_Chunk]) -> None:
    for chunk in chunks:
        chunk.reports = _reports_only(chunk.ids)


def _chunk_reports(chunk: _Chunk) -> list[Report]:
    reports, chunk.reports = chunk.reports, None  # not kept once handed over
    return reports if reports is not None else _reports_only(chunk.ids)


def _fresh_index(ctx: _Context, index: RegistryIndex | None) -> RegistryIndex:
    """The index, rebuilt only when the catalogue now names asset types it lacks."""
    type_ids = {t.pk for types in ctx.catalogue.asset_types.values() for t in types}
    if index is None or not type_ids <= index.type_ids:
        index = RegistryIndex(type_ids=type_ids, utility_radius_m=ctx.utility_radius_m)
    return index


def _fresh(ctx: _Context, index: RegistryIndex, reports: list[Report]) -> tuple[_Context, RegistryIndex]:
    if any(r.service_id not in ctx.catalogue.by_id for r in reports):  # a service added meanwhile
        ctx = _Context([r.service_id for r in reports])
        index = _fresh_index(ctx, index)
    return ctx, index


def _link_pipelined(ctx: _Context, index: RegistryIndex, chunks: list[_Chunk], force: bool,
                    progress: Callable[[int], None] | None) -> int:
    """A pipeline of threads, each with its own connection: the reader fetches the next chunk, this
    thread runs the STRtree queries (shapely releases the GIL), the decider applies the policies and
    the writer stores. Inside a caller's transaction the other connections could not see its rows, so
    there everything runs here in turn."""
    threaded = not connection.in_atomic_block
    reader, decider, writer = (_Worker(), _Worker(), _Worker()) if threaded else (_Inline(), _Inline(), _Inline())
    done, in_flight = 0, deque()
    try:
        upcoming = reader.submit(_chunk_reports, chunks[0])
        for n in range(len(chunks)):
            reports = upcoming.result()
            if n + 1 < len(chunks):
                upcoming = reader.submit(_chunk_reports, chunks[n + 1])
            ctx, index = _fresh(ctx, index, reports)
            decided = decider.submit(_decide_chunk, ctx, reports, *_near_in_memory(ctx, index, reports))
            in_flight.append(writer.submit(_store_decided, decided, not force))
            while len(in_flight) > 2:  # at most two chunks ahead of the writer: memory stays bounded
                done += _reported(in_flight.popleft().result(), progress)
        while in_flight:
            done += _reported(in_flight.popleft().result(), progress)
    finally:
        for worker in (reader, decider, writer):
            worker.close()
    return done


def _reports_only(ids: list[int]) -> list[Report]:
    return [report for report, _ in _reports(ids)]


def _store_decided(decided: Future, only_pending: bool) -> int:
    return _store_chunk(decided.result(), only_pending)


def _store_chunk(decided: tuple[list[tuple], list[LinkResult]], only_pending: bool) -> int:
    rows, full = decided
    with transaction.atomic():
        _store(rows, full, only_pending=only_pending)
    return len(rows)


def _reported(count: int, progress: Callable[[int], None] | None) -> int:
    if progress:
        progress(count)
    return count


class _Worker:
    """One thread with its own database connection, closed with it."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1)

    def submit(self, fn, *args) -> Future:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.submit(connections.close_all).result()
        self._pool.shutdown()


class _Inline:
    """The same interface, run at once in the caller's thread (and transaction)."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def close(self) -> None:
        pass


def _pending(ids: list[int]) -> list[int]:
    return list(RequestLink.objects.filter(pk__in=ids, state=LinkState.PENDING).values_list("pk", flat=True))


def _near_in_memory(ctx: _Context, index: RegistryIndex,
                    reports: list[Report]) -> tuple[list[list[tuple[int, int, float]] | None], list[list[UtilityHit]]]:
    """Per report (None without a location): its nearest compatible assets and near-ties as (id, type id,
    distance), and the utilities beneath. Only tree queries: no database, no policies."""
    located = [n for n, r in enumerate(reports) if r.x is not None]
    points = shapely.points(np.array([(reports[n].x, reports[n].y) for n in located], dtype=float).reshape(-1, 2))
    found: list[list[tuple[int, int, float]] | None] = [None] * len(reports)
    hits: list[list[UtilityHit]] = [[] for _ in reports]
    for n, near in zip(located, index.utilities(points), strict=True):
        hits[n] = near
    by_service: dict[int, list[int]] = defaultdict(list)
    for position, n in enumerate(located):
        by_service[reports[n].service_id].append(position)
    for service_id, members in by_service.items():
        plan = ctx.plan(service_id)
        near = index.asset_candidates(points[members], type_ids=plan.type_ids, radius_m=plan.radius_m)
        for position, candidates in zip(members, near, strict=True):
            if len(candidates) > 1:  # only the nearest and its near-ties can win: label just those
                closest = min(c[2] for c in candidates)
                candidates = [c for c in candidates if c[2] <= closest + matching.NEAR_TIE_M]
            found[located[position]] = candidates
    return found, hits


def _decide_chunk(ctx: _Context, reports: list[Report], found: list,
                  hits: list) -> tuple[list[tuple], list[LinkResult]]:
    """The policies on what the trees found, with the labels of the assets found read in one query: the
    stage row of every report, and the full result of those routing may have moved."""
    labels = spatial.asset_labels(ids=list({c[0] for row in found if row for c in row}))
    claimed = _claims_located(ctx, [r for r in reports if r.claim]) if any(r.claim for r in reports) else {}
    rows, full, plans = [], [], {}
    for report, near, beneath in zip(reports, found, hits, strict=True):
        plan = plans.get(report.service_id) or plans.setdefault(report.service_id, ctx.plan(report.service_id))
        label = labels[near[0][0]] if near else None
        if (not report.claim and not beneath and (not near or len(near) == 1)
                and report.department_id == plan.department.id and report.current_service_id == plan.service.id
                and (not plan.rules or _no_rule_applies(ctx, plan, report, label[0] if label else None))):
            rows.append(_plain_row(ctx, plan, report, near[0] if near else None, label))
        else:
            result = _decide(ctx, report, _labelled(near, labels) if near else [], claimed.get(report.id), beneath)
            rows.append(_stage_row(result))
            full.append(result)
    return rows, full


def _labelled(found: list[tuple[int, int, float]], labels: dict) -> list[AssetCandidate]:
    return [AssetCandidate(pk, labels[pk][0], labels[pk][1], distance) for pk, _, distance in found]


def _claims_located(ctx: _Context, reports: list[Report]) -> dict[int, AssetCandidate]:
    """The named asset of each report that names one (rare: looked up one by one)."""
    claimed = {}
    for report in reports:
        rows = spatial.link_candidates(x=report.x, y=report.y, type_ids=ctx.plan(report.service_id).type_ids,
                                       radius_m=0.0, utility_radius_m=-1.0, claim=report.claim)
        claimed_row = next((row for row in rows if row[0] == "claim"), None)
        if claimed_row:
            claimed[report.id] = _candidates_from_rows([claimed_row])[1]
    return claimed


# --- Storing results --------------------------------------------------------------------------------

_STAGE_COLUMNS = ("request_id", "asset_id", "asset_distance_m", "asset_outcome", "search_radius_m", "utilities",
                  "department_id", "rule_id", "reclassified_from_id", "priority", "explanation")


def _stage_row(result: LinkResult) -> tuple:
    report, decision, match = result.report, result.decision, result.match
    return (report.id, match.asset.asset_id if match.asset else None,
            match.asset.distance_m if match.asset else None, match.outcome, match.radius_m,
            orjson.dumps([h.as_dict() for h in result.utilities]).decode(), decision.department.id,
            decision.rule_id, report.service_id if decision.reclassified else None, decision.priority,
            decision.explanation)


_UPDATE_ONE = (f"UPDATE {RequestLink._meta.db_table} SET "
               f"{', '.join(f'{c} = %s' for c in _STAGE_COLUMNS[1:])}, state = %s, linked_at = %s "
               "WHERE request_id = %s")


def _store_one(result: LinkResult) -> None:
    """One result: a single UPDATE (the intake task's path)."""
    row = _stage_row(result)
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_ONE, [*row[1:], LinkState.LINKED, timezone.now(), row[0]])
    _moved([result], timezone.now())


def _store(rows: list[tuple], results: list[LinkResult], *, only_pending: bool = False) -> None:
    """Write stage rows (_STAGE_COLUMNS) through a COPY-filled stage and one UPDATE; of ``results``, the
    requests whose department or service routing changed are updated and get a note saying why."""
    if not rows:
        return
    now = timezone.now()
    link_table = RequestLink._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS link_stage ON COMMIT DELETE ROWS AS "
                       f"SELECT {', '.join(_STAGE_COLUMNS)} FROM {link_table} WITH NO DATA")
        copy_sql = f"COPY link_stage ({', '.join(_STAGE_COLUMNS)}) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        assignments = ", ".join(f"{c} = s.{c}" for c in _STAGE_COLUMNS[1:])
        guard = f" AND l.state = '{LinkState.PENDING}'" if only_pending else ""
        cursor.execute(f"UPDATE {link_table} l SET {assignments}, state = %s, linked_at = %s "
                       f"FROM link_stage s WHERE l.request_id = s.request_id{guard} RETURNING l.request_id",
                       [LinkState.LINKED, now])
        stored = {row[0] for row in cursor.fetchall()}  # not those another worker linked meanwhile
        cursor.execute("TRUNCATE link_stage")
    _moved([r for r in results if r.report.id in stored], now)


def _moved(results: list[LinkResult], now: dt.datetime) -> None:
    """Requests whose department or service routing changed: updated, with a history note saying why."""
    moved = [r for r in results if r.decision.department.id != r.report.department_id
             or r.decision.service.id != r.report.current_service_id]
    if moved:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ServiceRequest._meta.db_table} r SET department_id = v.department_id, "
                "service_id = v.service_id, updated_at = %s FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) "
                "v(id, department_id, service_id) WHERE r.id = v.id",
                [now, [r.report.id for r in moved], [r.decision.department.id for r in moved],
                 [r.decision.service.id for r in moved]])
        RequestNote.objects.bulk_create([
            RequestNote(request_id=r.report.id, created_at=now, kind=NoteKind.ACTIVITY, status=r.report.status,
                        detailed_status=r.report.detailed_status, description=r.decision.explanation,
                        author="routing")
            for r in moved
        ])


# --- Sweeper and registry changes --------------------------------------------------------------------

def requests_link_stale(*, limit: int = 50_000) -> int:
    """Link requests still pending FIELDSVC_LINK_SWEEP_AFTER_S after intake (their task was lost)."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.FIELDSVC_LINK_SWEEP_AFTER_S)
    ids = list(RequestLink.objects.filter(state=LinkState.PENDING, request__created_at__lt=cutoff)
               .values_list("pk", flat=True)[:limit])
    return requests_link_batch(request_ids=ids) if ids else 0


def _relink_radius_m() -> float:
    """Farthest a registry change can reach a report: the largest snap distance or utility buffer."""
    ctx = _Context()
    snaps = [s.snap_distance_m for s in ctx.catalogue.by_id.values()]
    return max([*snaps, ctx.utility_radius_m, ctx.claim_max_m, 0.0])


def requests_relink_near(*, wkb_hex: list[str], asset_ids: list[int] | None = None,
                         radius_m: float | None = None) -> int:
    """Re-link the open requests a registry change can affect: within ``radius_m`` (default: the widest
    snap distance or utility buffer) of the changed geometries, or linked to a changed asset."""
    radius_m = _relink_radius_m() if radius_m is None else radius_m
    ids = set(queries.ids_near(table=ServiceRequest._meta.db_table, geoms_wkb=[bytes.fromhex(h) for h in wkb_hex],
                               radius_m=radius_m, where="t.status = 'open'"))
    if asset_ids:
        ids.update(RequestLink.objects.filter(asset_id__in=asset_ids, request__status="open")
                   .values_list("pk", flat=True))
    return requests_link_batch(request_ids=list(ids), force=True) if ids else 0


def registry_changed_received(sender, *, geoms_wkb: list[bytes], asset_ids: list[int], **kwargs) -> None:
    enqueue("workorders.tasks.requests_relink_near_task", wkb_hex=[g.hex() for g in geoms_wkb], asset_ids=asset_ids)
