"""manage.py replay_311 [CSV]: load Boston's real 311 case history through the intake service."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from workorders import replay, services
from workorders.linking import requests_link_batch
from workorders.models import Service, ServiceRequest

DEFAULT = Path(settings.BASE_DIR) / "fixtures" / "boston" / "311_cases.csv.gz"
LINK_EVERY = 5000  # replayed cases linked and routed per batch (in-memory registry, built per batch)


class Command(BaseCommand):
    help = ("Replay Boston 311 cases (new case system CSV) through intake, keeping their times and states. "
            "Cases already loaded (by case id) are skipped, so it can run again.")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT))
        parser.add_argument("--limit", type=int, default=None, help="only the first N cases")

    def handle(self, *args, path, limit, **options):
        source = Path(path)
        if not source.exists():
            raise CommandError(f"no such file: {source}")
        # Questions prefetched once: intake checks answers against them for every case.
        by_topic = {topic: s for s in Service.objects.prefetch_related("attributes") for topic in s.source_topics}
        fallback = by_topic.get("Other")
        if not by_topic:
            raise CommandError("the catalogue maps no Boston topics: run manage.py load_catalogue first")
        loaded = set(ServiceRequest.objects.filter(external_id__isnull=False).values_list("external_id", flat=True))
        total = replay.count_cases(source)
        if limit:
            total = min(total, limit)
        replayed: list[int] = []
        counts = {"loaded": 0, "already there": 0, "topic not in catalogue": 0, "refused": 0}
        with tqdm(total=total, desc="Boston 311 history", unit=" cases", file=self.stderr._out,
                  mininterval=0.5) as bar:
            for number, case in enumerate(replay.read_cases(source), start=1):
                if limit and number > limit:
                    break
                bar.update(1)
                if case.external_id in loaded:
                    counts["already there"] += 1
                    continue
                service = by_topic.get(case.topic) or fallback
                if service is None:
                    counts["topic not in catalogue"] += 1
                    continue
                case.data.external_id, case.data.expected_at = case.external_id, case.expected_at
                step = case.step
                try:
                    request = services.request_replay(service=service, data=case.data,
                                            step_status=step.detailed_status if step else None,
                                            step_at=step.at if step else None,
                                            step_description=step.description if step else "")
                except services.IntakeError as exc:
                    counts["refused"] += 1
                    self.stderr.write(f"case {case.external_id}: {exc}")
                    continue
                counts["loaded"] += 1
                replayed.append(request.pk)
                if len(replayed) >= LINK_EVERY:  # linked as it goes: the demo map fills with routed cases
                    requests_link_batch(request_ids=replayed)
                    replayed.clear()
        requests_link_batch(request_ids=replayed)
        self.stdout.write(", ".join(f"{n} {what}" for what, n in counts.items()))
