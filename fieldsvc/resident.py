"""Resident pages without JavaScript: look a request up by number, see its history, answer the survey."""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from workorders import selectors, services
from workorders.models import DetailedStatus


def status_lookup(request):
    """GET /status?number=…: the form, then the request (or 'not found', with status 404)."""
    number = (request.GET.get("number") or "").strip()
    if not number:
        return render(request, "fieldsvc/status_lookup.html", {})
    found = selectors.request_find_public(number=number)
    if found is None:
        return render(request, "fieldsvc/status_lookup.html", {"number": number, "missing": True}, status=404)
    return HttpResponseRedirect(reverse("request-status", args=[found.reference]))


def request_status(request, number: str):
    found = selectors.request_find_public(number=number)
    if found is None:
        raise Http404("no such request")
    return render(request, "fieldsvc/request_status.html", {
        "req": found,
        "label": DetailedStatus(found.detailed_status).label,
        "notes": [n for n in found.notes.all()],
    })


@require_http_methods(["GET", "POST"])
def survey(request, token: str):
    found = selectors.survey_get(token=token)
    if found is None:
        raise Http404("no such survey")
    context = {"survey": found, "req": found.request, "scores": range(1, 6)}
    if request.method == "GET" or found.answered_at is not None:
        return render(request, "fieldsvc/survey.html", context)
    fixed = request.POST.get("fixed")
    score = request.POST.get("satisfaction") or ""
    if fixed not in ("yes", "no") or (score and not score.isdigit()):
        return render(request, "fieldsvc/survey.html", context | {"error": "Please say whether it was fixed."},
                      status=400)
    try:
        services.survey_answer(survey=found, fixed=fixed == "yes", satisfaction=int(score) if score else None,
                               comment=request.POST.get("comment", ""))
    except services.SurveyInvalid as exc:
        return render(request, "fieldsvc/survey.html", context | {"error": str(exc)}, status=400)
    found.refresh_from_db()
    return render(request, "fieldsvc/survey.html", context | {"thanks": True, "survey": found})
