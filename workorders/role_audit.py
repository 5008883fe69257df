"""Department roles granted, changed and revoked, from any path (admin, shell, API), in the audit log."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from gis.audit import context
from gis.audit.services import audit_record
from gis.audit.signals import NO_USER
from workorders.models import DepartmentRole


def _role(instance) -> dict:
    return {"user": instance.user.get_username(), "department_id": instance.department_id, "role": instance.role}


@receiver(post_save, sender=DepartmentRole, dispatch_uid="audit.role_saved")
def role_saved(sender, instance, created: bool, **kwargs) -> None:
    audit_record(action="role.grant" if created else "role.change", actor=context.signed_in_user(),
                 actor_label=NO_USER, object_type="user", object_id=instance.user_id,
                 department_id=instance.department_id, after=_role(instance),
                 summary=f"{instance.user.get_username()}: {instance.role} of department {instance.department_id}")


@receiver(post_delete, sender=DepartmentRole, dispatch_uid="audit.role_deleted")
def role_deleted(sender, instance, **kwargs) -> None:
    audit_record(action="role.revoke", actor=context.signed_in_user(), actor_label=NO_USER, object_type="user",
                 object_id=instance.user_id, department_id=instance.department_id, before=_role(instance),
                 summary=f"{instance.user.get_username()}: no longer {instance.role} of department "
                         f"{instance.department_id}")


