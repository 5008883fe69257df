"""manage.py ensure_demo_crew: a crew member 'crew' for the demo's tablet app (password in .stack/crew.password)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from workorders import states
from workorders.models import Crew


class Command(BaseCommand):
    help = "Put a demo user 'crew' on the busiest crew (the tablet app, /field/); password in .stack/crew.password."

    def handle(self, *args, **options):
        busiest = (Crew.objects.filter(active=True)
                   .annotate(open=Count("work_orders", filter=Q(work_orders__status__in=list(states.OPEN))))
                   .order_by("-open", "code").first())
        if busiest is None:
            self.stdout.write("no crews: load the catalogue first")
            return
        password_file = settings.BASE_DIR / ".stack" / "crew.password"
        user, made = get_user_model().objects.get_or_create(username="crew", defaults={"first_name": "Demo crew"})
        if made or not password_file.exists():
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
            user.set_password(password)
            user.save()
        if not user.crews.exists():
            busiest.members.add(user)
        self.stdout.write(f"demo crew member: user 'crew' on {', '.join(user.crews.values_list('code', flat=True))}, "
                          f"password in {password_file}")
