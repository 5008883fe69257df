"""manage.py relink: link and route requests in bulk (backfills, after an import, after a rule change)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from workorders.linking import requests_link_batch
from workorders.models import LinkState, RequestLink, RequestStatus


class Command(BaseCommand):
    help = ("Link requests to their nearest asset and the utilities beneath, and route them. By default only "
            "requests still waiting to be linked; --all re-links every selected request from what was reported.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-link linked requests too")
        parser.add_argument("--open", action="store_true", help="only open requests")
        parser.add_argument("--service", action="append", default=[], help="only this service code (repeatable)")
        parser.add_argument("--since", help="only requests reported on or after this date (YYYY-MM-DD)")
        parser.add_argument("--chunk", type=int, default=20_000, help="requests stored per transaction")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        links = RequestLink.objects.all()
        if not options["all"]:
            links = links.filter(state=LinkState.PENDING)
        if options["open"]:
            links = links.filter(request__status=RequestStatus.OPEN)
        if options["service"]:
            links = links.filter(request__service__code__in=options["service"])
        if options["since"]:
            try:
                since = dt.date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(f"--since must be a date like 2025-06-01, not {options['since']!r}") from None
            links = links.filter(request__requested_at__date__gte=since)
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1")
        ids = list(links.values_list("pk", flat=True))
        with tqdm(total=len(ids), unit="request", disable=options["no_progress"] or not ids) as bar:
            done = requests_link_batch(request_ids=ids, force=options["all"], chunk=options["chunk"],
                                       progress=bar.update)
        self.stdout.write(f"linked {done} request(s)")
