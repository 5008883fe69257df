"""The "GIS editors" group: may insert, update and delete assets and utility features (WFS-T, admin)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "GIS editors"
MODELS = ("asset", "utilityline", "utilitystructure")


def create_group(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions are normally made after migrate; we need them now
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    codenames = [f"{verb}_{model}" for model in MODELS for verb in ("add", "change", "delete", "view")]
    group.permissions.add(*Permission.objects.filter(content_type__app_label="registry", codename__in=codenames))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_edit_records"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_group, remove_group)]
