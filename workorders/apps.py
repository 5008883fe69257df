"""App config for service requests, work orders, crews and dispatch (filled by later issues)."""

from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = "Work orders"

    def ready(self):
        from gis.signals import registry_changed
        from workorders.linking import registry_changed_received

        registry_changed.connect(registry_changed_received, dispatch_uid="workorders.relink")

        from gis.wfs import types as wfs_types
        from workorders.wfs_types import wfs_feature_types

        wfs_types.register(wfs_feature_types)

        from workorders import role_audit  # noqa: F401  (department role changes in the audit log)
