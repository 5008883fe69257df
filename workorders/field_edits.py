"""Edits of a work order's fields made on a version that may be old: merged field by field; a field
someone else changed since is a conflict kept for a supervisor (ODK's soft conflict), never dropped.

Each editable field remembers the version at which it last changed (WorkOrder.field_versions), so an
edit based on version b may change a field whose last change is at or below b. Above b, the value in
place stays, and both values are kept in a WorkOrderConflict until a supervisor settles it.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from gis.audit.services import audit_record
from workorders import locks
from workorders.models import (
    AssetCondition,
    ConflictStatus,
    TaskStatus,
    WorkOrder,
    WorkOrderConflict,
    WorkOrderEvent,
    WorkOrderTask,
)

CREW_FIELDS = frozenset({"site_notes"})
STAFF_FIELDS = frozenset({"title", "priority", "instructions", "site_notes"})
TASK_FIELDS = frozenset({"condition", "status"})  # tasks.<id>.<field>, crews and staff
_TEXT_MAX = {"title": 300, "instructions": 4000, "site_notes": 4000}


class EditInvalid(ValueError):
    def __init__(self, code: str, message: str, field_name: str = ""):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field_name


class EditStale(Exception):
    """A strict edit (If-Match) on an old version: nothing written."""

    def __init__(self, version: int, changed: dict[str, dict]):
        super().__init__(f"the work order is at version {version}")
        self.version, self.changed = version, changed


@dataclass
class EditResult:
    work_order: WorkOrder
    status: str  # applied | merged | conflict | noop
    applied: list[str] = field(default_factory=list)
    conflicts: list[WorkOrderConflict] = field(default_factory=list)


def edit_paths(data: Any, *, staff: bool) -> dict[str, Any]:
    """{"site_notes": …, "tasks": {"12": {"condition": "poor"}}} as checked {path: value}; EditInvalid
    names the first problem."""
    if not isinstance(data, dict) or not data:
        raise EditInvalid("invalid", "an edit is an object of the fields to change")
    allowed = STAFF_FIELDS if staff else CREW_FIELDS
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "tasks":
            out.update(_task_paths(value))
        elif name in allowed:
            out[name] = _checked(name, value)
        elif name in STAFF_FIELDS:
            raise EditInvalid("not_editable", f"{name} is changed by dispatchers only", name)
        else:
            raise EditInvalid("unknown_field", f"{name!r} is not an editable field", str(name)[:80])
    return out


def _task_paths(tasks: Any) -> dict[str, Any]:
    if not isinstance(tasks, dict):
        raise EditInvalid("invalid", "tasks is an object keyed by task id", "tasks")
    out = {}
    for task_id, changes in tasks.items():
        if not str(task_id).isdigit() or len(str(task_id)) > 18 or not isinstance(changes, dict) or not changes:
            raise EditInvalid("invalid", "tasks is {task id: {field: value}}", "tasks")
        for name, value in changes.items():
            if name not in TASK_FIELDS:
                raise EditInvalid("unknown_field", f"a task's editable fields are {', '.join(sorted(TASK_FIELDS))}",
                                  f"tasks.{task_id}.{str(name)[:40]}")
            path = f"tasks.{int(task_id)}.{name}"
            choices = AssetCondition.values + [""] if name == "condition" else [TaskStatus.OPEN, TaskStatus.DONE]
            if value is None and name == "condition":
                value = ""
            if value not in choices:
                raise EditInvalid("invalid", f"{name} is one of {', '.join(c for c in choices if c)}", path)
            out[path] = value
    return out


def _checked(name: str, value: Any) -> Any:
    if name == "priority":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
            raise EditInvalid("invalid", "priority is 1 (urgent) to 4 (low)", name)
        return value
    if not isinstance(value, str) or "\x00" in value:
        raise EditInvalid("invalid", f"{name} is text (without NUL characters)", name)
    if len(value) > _TEXT_MAX[name]:
        raise EditInvalid("invalid", f"{name} is at most {_TEXT_MAX[name]} characters", name)
    if name == "title" and not value.strip():
        raise EditInvalid("invalid", "a title cannot be empty", name)
    return value


def _get(wo: WorkOrder, tasks: dict[int, WorkOrderTask], path: str) -> Any:
    if path.startswith("tasks."):
        _, task_id, name = path.split(".")
        return getattr(tasks[int(task_id)], name)
    return getattr(wo, path)


def _set(wo: WorkOrder, tasks: dict[int, WorkOrderTask], path: str, value: Any, at: dt.datetime) -> None:
    if not path.startswith("tasks."):
        setattr(wo, path, value)
        return
    _, task_id, name = path.split(".")
    task = tasks[int(task_id)]
    setattr(task, name, value)
    if name == "status":
        task.done_at = at if value == TaskStatus.DONE else None
    task.save(update_fields=[name, "done_at"] if name == "status" else [name])


def _locked_with_tasks(work_order_id: int, paths) -> tuple[WorkOrder, dict[int, WorkOrderTask]]:
    wo = locks.work_order_locked(work_order_id)
    tasks = {t.pk: t for t in wo.tasks.all()}
    for path in paths:
        if path.startswith("tasks.") and int(path.split(".")[1]) not in tasks:
            raise EditInvalid("unknown_task", f"work order {wo.pk} has no task {path.split('.')[1]}", path)
    return wo, tasks


def work_order_edit(*, work_order_id: int, changes: dict[str, Any], base_version: int, actor=None,
                    actor_label: str, strict: bool = False, device_id: str = "", mutation_id: str = "",
                    occurred_at: dt.datetime | None = None) -> EditResult:
    """Apply checked ``changes`` (edit_paths) made on ``base_version``. Strict (an If-Match PATCH): any
    newer version refuses the whole edit (EditStale). Otherwise merged field by field, clashes kept."""
    now = timezone.now()
    occurred_at = min(occurred_at or now, now)
    with transaction.atomic():
        wo, tasks = _locked_with_tasks(work_order_id, changes)
        if base_version > wo.version or base_version < 1:
            raise EditInvalid("bad_version", f"work order {wo.pk} has no version {base_version}", "base_version")
        if strict and base_version != wo.version:
            raise EditStale(wo.version, {p: {"theirs": _get(wo, tasks, p), "version": wo.field_versions.get(p, 0)}
                                         for p in changes if wo.field_versions.get(p, 0) > base_version})
        before, applied, conflicts = wo.version, [], []
        for path, value in changes.items():
            current = _get(wo, tasks, path)
            if value == current:
                continue
            changed_at = wo.field_versions.get(path, 0)
            if changed_at > base_version:
                conflicts.append(WorkOrderConflict(
                    work_order=wo, field=path, base_version=base_version, theirs=current, theirs_version=changed_at,
                    yours=value, author=actor, author_label=actor_label, device_id=device_id,
                    mutation_id=mutation_id, occurred_at=occurred_at))
                continue
            _set(wo, tasks, path, value, occurred_at)
            applied.append(path)
        if not applied and not conflicts:
            return EditResult(wo, "noop")
        wo.version += 1
        wo.field_versions = wo.field_versions | {p: wo.version for p in applied}
        wo.open_conflicts += len(conflicts)
        wo.save()
        WorkOrderConflict.objects.bulk_create(conflicts)
        words = [f"changed {', '.join(applied)}"] if applied else []
        words += [f"conflict on {c.field} (kept the value of version {c.theirs_version})" for c in conflicts]
        WorkOrderEvent.objects.create(work_order=wo, at=occurred_at, device_at=occurred_at, received_at=now,
                                      from_status=wo.status, to_status=wo.status, actor=actor,
                                      actor_label=actor_label, device_id=device_id, note="; ".join(words))
        audit_record(action="work_order.edit", actor=actor, object_type="work_order", object_id=wo.pk,
                     department_id=wo.department_id, summary="; ".join(words)[:500],
                     after={"fields": applied, "conflicts": [c.field for c in conflicts], "version": wo.version})
    status = "conflict" if conflicts else ("merged" if base_version < before else "applied")
    return EditResult(wo, status, applied, conflicts)


def conflict_resolve(*, work_order_id: int, conflict_id: int, choose: str, value: Any = None, note: str = "",
                     actor, actor_label: str) -> WorkOrderConflict:
    """Settle a conflict: keep ``theirs`` (the value in place), ``yours`` (the one that arrived later) or a
    new ``value``; the choice becomes a new version of the field, and who, when and why are kept."""
    now = timezone.now()
    with transaction.atomic():
        wo = locks.work_order_locked(work_order_id)
        conflict = WorkOrderConflict.objects.select_for_update().filter(pk=conflict_id, work_order=wo).first()
        if conflict is None:
            raise EditInvalid("unknown_conflict", f"work order {wo.pk} has no conflict {conflict_id}")
        if conflict.status != ConflictStatus.OPEN:
            raise EditInvalid("conflict_resolved", f"conflict {conflict_id} was settled already")
        if choose not in ("theirs", "yours", "value"):
            raise EditInvalid("invalid", "choose is theirs, yours or value", "choose")
        chosen = {"theirs": conflict.theirs, "yours": conflict.yours}.get(choose, value)
        if conflict.field.startswith("tasks."):
            _, task_id, name = conflict.field.split(".")
            chosen = edit_paths({"tasks": {task_id: {name: chosen}}}, staff=True)[conflict.field]
        else:
            chosen = edit_paths({conflict.field: chosen}, staff=True)[conflict.field]
        _, tasks = _locked_with_tasks(wo.pk, [conflict.field])
        wo.version += 1
        if _get(wo, tasks, conflict.field) != chosen:
            _set(wo, tasks, conflict.field, chosen, now)
            wo.field_versions = wo.field_versions | {conflict.field: wo.version}
        conflict.status, conflict.resolved_by, conflict.resolved_at = ConflictStatus.RESOLVED, actor, now
        conflict.chosen, conflict.resolution_note = chosen, note
        conflict.save()
        wo.open_conflicts = wo.conflicts.filter(status=ConflictStatus.OPEN).count()
        wo.save()
        WorkOrderEvent.objects.create(work_order=wo, at=now, received_at=now, from_status=wo.status,
                                      to_status=wo.status, actor=actor, actor_label=actor_label,
                                      note=f"conflict on {conflict.field} settled: kept {choose}"
                                           + (f" ({note})" if note else ""))
        audit_record(action="conflict.resolve", actor=actor, object_type="work_order", object_id=wo.pk,
                     department_id=wo.department_id,
                     summary=f"conflict {conflict.pk} on {conflict.field}: kept {choose}",
                     before={"theirs": conflict.theirs, "yours": conflict.yours}, after={"chosen": chosen})
    return conflict
