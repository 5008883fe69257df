"""manage.py ensure_demo_admin: a superuser 'admin' for the local demo, password in .stack/admin.password."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo superuser 'admin' once; its password is kept in .stack/admin.password."

    def handle(self, *args, **options):
        password_file = settings.BASE_DIR / ".stack" / "admin.password"
        user_model = get_user_model()
        if user_model.objects.filter(username="admin").exists() and password_file.exists():
            return
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        user, _ = user_model.objects.get_or_create(username="admin", defaults={"email": "admin@example.city"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"demo admin: user 'admin', password in {password_file}")
