"""Print SLA attainment per service, department or neighbourhood over a period."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workorders.service_levels import sla_attainment


class Command(BaseCommand):
    help = "SLA attainment: work orders finished on time, per service, department or neighbourhood."

    def add_arguments(self, parser):
        parser.add_argument("--by", choices=["service", "department", "neighbourhood"], default="service")
        parser.add_argument("--days", type=int, default=90, help="the period: the last N days (default 90)")
        parser.add_argument("--since", help="start date, YYYY-MM-DD (instead of --days)")
        parser.add_argument("--until", help="end date, YYYY-MM-DD, exclusive (default: now)")

    def handle(self, *args, by, days, since, until, **options):
        zone = timezone.get_current_timezone()
        try:
            end = dt.datetime.combine(dt.date.fromisoformat(until), dt.time(), zone) if until else timezone.now()
            start = (dt.datetime.combine(dt.date.fromisoformat(since), dt.time(), zone) if since
                     else end - dt.timedelta(days=days))
        except ValueError as exc:
            raise CommandError(f"dates are YYYY-MM-DD: {exc}") from exc
        if start >= end:
            raise CommandError("the period is empty: --since must be before --until")
        self.stdout.write(f"{by}\tfinished\ton time\t%\topen overdue\t({start:%Y-%m-%d} to {end:%Y-%m-%d})")
        for row in sla_attainment(by=by, since=start, until=end):
            percent = f"{row.percent:.1f}" if row.percent is not None else "-"
            self.stdout.write(f"{row.key}\t{row.finished}\t{row.on_time}\t{percent}\t{row.open_overdue}")
