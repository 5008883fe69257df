"""Who may see and change which work: roles per department (DepartmentRole) and crew membership.

- see work orders: superusers; anyone with a role in the work order's department; its crew's members
- assign, reassign, triage, schedule, cancel: dispatchers and supervisors of the department
- field steps (en route, in progress, on hold, completed): the same, and the members of its crew
- close (verify) and reopen: supervisors
"""

from workorders.models import Crew, DepartmentRole, Role, WorkOrder
from workorders.models import WorkOrderStatus as S

FIELD_STEPS = frozenset({S.EN_ROUTE, S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED})
SUPERVISOR_STEPS = frozenset({S.CLOSED, S.REOPENED})
ASSIGNERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR})


def roles(user, department_id: int) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(DepartmentRole.objects.filter(user=user, department_id=department_id).values_list("role", flat=True))


def visible_departments(user) -> set[int] | None:
    """The departments whose work the user sees; None: all (superusers)."""
    if user.is_superuser:
        return None
    return set(DepartmentRole.objects.filter(user=user).values_list("department_id", flat=True))


def department_roles(user) -> dict[int, set[str]] | None:
    """Each department the user has a role in, with the roles; None: every department (superusers)."""
    if user.is_superuser:
        return None
    held: dict[int, set[str]] = {}
    for department_id, role in DepartmentRole.objects.filter(user=user).values_list("department_id", "role"):
        held.setdefault(department_id, set()).add(role)
    return held


def on_crew(user, crew_id: int | None) -> bool:
    return crew_id is not None and Crew.members.through.objects.filter(crew_id=crew_id, user_id=user.pk).exists()


def can_see(user, work_order: WorkOrder) -> bool:
    return user.is_superuser or bool(roles(user, work_order.department_id)) or on_crew(user, work_order.crew_id)


def can_assign(user, work_order: WorkOrder) -> bool:
    return user.is_superuser or bool(roles(user, work_order.department_id) & ASSIGNERS)


def can_move(user, work_order: WorkOrder, to: str) -> bool:
    if user.is_superuser:
        return True
    held = roles(user, work_order.department_id)
    if to in SUPERVISOR_STEPS:
        return Role.SUPERVISOR in held
    if held & ASSIGNERS:
        return True
    return to in FIELD_STEPS and on_crew(user, work_order.crew_id)


def audit_departments(user) -> set[int] | None:
    """The departments whose audit log the user reads: supervisors theirs; superusers all (None)."""
    if user.is_superuser:
        return None
    return set(DepartmentRole.objects.filter(user=user, role=Role.SUPERVISOR).values_list("department_id", flat=True))
