"""mySociety's Open311 extension: GET and POST /servicerequestupdates (FixMyStreet's two-way sync)."""


from django.db import IntegrityError
from rest_framework.response import Response

from workorders import selectors, services
from workorders.models import DetailedStatus
from workorders.open311 import params, payloads, schema
from workorders.open311.render import Open311Error
from workorders.open311.views import Open311Api

# mySociety's upper-case states -> ours; UNCHANGED keeps the state and only adds the note.
FROM_MYSOCIETY = {
    "OPEN": DetailedStatus.OPEN, "REOPEN": DetailedStatus.REOPENED, "FOR_TRIAGE": DetailedStatus.FOR_TRIAGE,
    "INVESTIGATING": DetailedStatus.INVESTIGATING, "IN_PROGRESS": DetailedStatus.IN_PROGRESS,
    "PLANNED": DetailedStatus.PLANNED, "ACTION_SCHEDULED": DetailedStatus.ACTION_SCHEDULED,
    "INTERNAL_REFERRAL": DetailedStatus.INTERNAL_REFERRAL, "CLOSED": DetailedStatus.CLOSED,
    "FIXED": DetailedStatus.FIXED, "DUPLICATE": DetailedStatus.DUPLICATE,
    "NOT_COUNCILS_RESPONSIBILITY": DetailedStatus.NOT_RESPONSIBLE,
    "NO_FURTHER_ACTION": DetailedStatus.NO_FURTHER_ACTION, "CANCELLED": DetailedStatus.CANCELLED,
}
TO_MYSOCIETY = {ours: theirs for theirs, ours in FROM_MYSOCIETY.items()} | {
    DetailedStatus.RECEIVED: "OPEN", DetailedStatus.NOTED: "CLOSED",
}


def update_item(note) -> dict:
    return {
        "update_id": str(note.pk),
        "service_request_id": str(note.request_id),
        "status": TO_MYSOCIETY.get(note.detailed_status, "OPEN"),
        "updated_datetime": payloads.w3c(note.created_at),
        "description": note.description or None,
        "media_url": note.media_urls[0] if note.media_urls else None,
    }


class ServiceRequestUpdatesApi(Open311Api):
    xml_root = "service_requests_updates"

    @schema.updates_list
    def get(self, request, format=None):
        query = request.query_params
        start, end = params.date_window(query)
        page = params.page(query)
        first = (page.number - 1) * page.size
        notes = selectors.note_list_public(start=start, end=end)[first:first + page.size]
        return Response([update_item(note) for note in notes])

    @schema.updates_create
    def post(self, request, format=None):
        self.xml_root = "service_request_updates"  # mySociety: the POST answer's root is singular
        form = request.data
        api_key = request.open311_api_key
        request_id = params.value(form, "service_request_id")
        if not (request_id.isdigit() and len(request_id) <= 18):
            raise params.bad("service_request_id is required: a request's number")
        target = selectors.request_get_public(request_id=int(request_id))
        if target is None:
            raise Open311Error(404, f"service_request_id {request_id} not found")
        status = params.value(form, "status").upper() or "UNCHANGED"
        if status != "UNCHANGED" and status not in FROM_MYSOCIETY:
            raise params.bad(f"status {status[:30]!r} is not one of {', '.join(sorted(FROM_MYSOCIETY))}, UNCHANGED")
        description = params.value(form, "description")
        update_id = params.value(form, "update_id")[:120] or None
        if update_id:
            earlier = selectors.note_by_update_id(api_key=api_key, external_update_id=update_id)
            if earlier is not None:  # the client resent an update it already posted
                return Response([{"update_id": str(earlier.pk)}])
        try:
            note = services.request_status_change(
                request=target, detailed_status=FROM_MYSOCIETY.get(status, target.detailed_status),
                description=params.plain_text(description, "description"),
                media_urls=params.media_urls(form), author=f"Open311 client: {api_key.name}",
                api_key=api_key, external_update_id=update_id,  # timed on receipt: history stays in order
            )
        except services.UpdateInvalid as exc:
            raise params.bad(str(exc)) from None
        except IntegrityError:
            # The client's retry of the same update_id committed while this one waited: that one is the answer.
            earlier = selectors.note_by_update_id(api_key=api_key, external_update_id=update_id) if update_id else None
            if earlier is None:
                raise
            return Response([{"update_id": str(earlier.pk)}])
        return Response([{"update_id": str(note.pk)}], status=201)
