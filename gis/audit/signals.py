"""Changes recorded from model signals: admin edits (Django's LogEntry) and group membership (roles: workorders)."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from gis.audit import context
from gis.audit.services import audit_record

NO_USER = "system (no one signed in)"
ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}
# Models whose changes record themselves (below): their admin LogEntry would be a second row for one action.
SELF_RECORDED = {("workorders", "departmentrole")}


@receiver(post_save, sender=LogEntry, dispatch_uid="audit.admin")
def admin_logged(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    content_type = instance.content_type
    if not created or (content_type and (content_type.app_label, content_type.model) in SELF_RECORDED):
        return
    audit_record(action=ADMIN_ACTIONS.get(instance.action_flag, "admin.change"), actor=instance.user,
                 object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "unknown",
                 object_id=instance.object_id or "", summary=f"{instance.object_repr}: {instance.get_change_message()}")


def _membership(action: str, user, group_names: list[str]) -> None:
    for name in group_names:
        audit_record(action=action, actor=context.signed_in_user(), actor_label=NO_USER, object_type="user",
                     object_id=user.pk, summary=f"{user.get_username()}: group {name!r}", after={"group": name})


@receiver(m2m_changed, sender=Group.user_set.through, dispatch_uid="audit.groups")
def groups_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    """A user put into or taken out of a group (the GIS editors' role), from either side of the relation."""
    if action not in ("post_add", "post_remove") or not pk_set:
        return
    verb = "role.grant" if action == "post_add" else "role.revoke"
    if reverse:  # group.user_set.add(users)
        from django.contrib.auth import get_user_model

        for user in get_user_model().objects.filter(pk__in=pk_set):
            _membership(verb, user, [instance.name])
    else:  # user.groups.add(groups)
        _membership(verb, instance, list(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True)))
