"""Recording staff actions: one AuditEvent per action, in the caller's transaction (a refused or failed action,
rolled back, leaves none). Secrets never go in: callers pass summaries, and keys that name secrets are dropped."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from gis.audit import context
from gis.audit.models import AuditEvent

# Parts of a field name that mark a secret: such values are never stored, whatever a caller passes.
SECRET_WORDS = ("password", "secret", "token", "api_key", "key_sha256", "session", "authorization")
_covered: ContextVar[bool] = ContextVar("audit_covered", default=False)


def _scrub(values: Any) -> Any:
    if isinstance(values, dict):
        return {k: "[hidden]" if any(w in str(k).lower() for w in SECRET_WORDS) else _scrub(v)
                for k, v in values.items()}
    if isinstance(values, list):
        return [_scrub(v) for v in values]
    if values is None or isinstance(values, bool | int | float | str):
        return values
    return str(values)


@contextmanager
def one_action() -> Iterator[None]:
    """Inside, services called by a larger action (an assignment's transitions) record nothing of their own:
    the larger action records itself once."""
    token = _covered.set(True)
    try:
        yield
    finally:
        _covered.reset(token)


def audit_record(*, action: str, actor, object_type: str, object_id: Any = "", department_id: int | None = None,
                 summary: str = "", before: dict | None = None, after: dict | None = None,
                 actor_label: str = "") -> AuditEvent | None:
    """Record one staff action. Actions without a person (the system, automatic dispatch) are not recorded."""
    if _covered.get():
        return None
    person = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if person is None and not actor_label:
        return None
    origin = context.current()
    return AuditEvent.objects.create(
        actor=person, actor_label=(person.get_username() if person else actor_label)[:150], action=action[:60],
        object_type=object_type[:60], object_id=str(object_id)[:64], department_id=department_id,
        summary=summary[:500], before=_scrub(before), after=_scrub(after), client_address=origin.address,
        user_agent=origin.user_agent)
