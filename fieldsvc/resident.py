"""Resident pages: look a request up by number, see its history and place (in the resident's language), answer
the survey. They work without JavaScript; the case page's small map is the only script."""

import numpy as np
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from fieldsvc import resident_texts
from fieldsvc.report import SESSION_REPORTED
from gis import crs
from workorders import selectors, services
from workorders.catalogue import translated


def status_lookup(request):
    """GET /status?number=…: the form, then the request (or 'not found', with status 404)."""
    context = resident_texts.page_context(resident_texts.page_locale(request))
    number = (request.GET.get("number") or "").strip()
    if not number:
        return resident_texts.render_page(request, "fieldsvc/status_lookup.html", context)
    found = selectors.request_find_public(number=number)
    if found is None:
        context |= {"number": number, "missing": context["t"]["not_found"].format(number=number[:40])}
        return resident_texts.render_page(request, "fieldsvc/status_lookup.html", context, status=404)
    return HttpResponseRedirect(reverse("request-status", args=[found.reference]))


def request_status(request, number: str):
    found = selectors.request_find_public(number=number)
    if found is None:
        raise Http404("no such request")
    locale = resident_texts.page_locale(request)
    context = resident_texts.page_context(locale)
    statuses = context["statuses"]
    lonlat = crs.wgs84_points(np.array([[found.geom.x, found.geom.y]]))[0] if found.geom else None
    # The survey link goes to followers by message; on the page only for the browser that sent the report.
    survey = None
    if found.status == "closed" and found.reference in request.session.get(SESSION_REPORTED, []):
        survey = found.surveys.filter(answered_at__isnull=True).order_by("-created_at").first()
    return resident_texts.render_page(request, "fieldsvc/request_status.html", context | {
        "req": found,
        "service_name": translated(found.service.i18n, locale, "name", found.service.name),
        "label": statuses.get(found.detailed_status, found.detailed_status),
        "notes": [(n, statuses.get(n.detailed_status, n.detailed_status)) for n in found.notes.all()],
        "lonlat": None if lonlat is None else [round(float(lonlat[0]), 7), round(float(lonlat[1]), 7)],
        "survey": survey,
        "thanks": context["t"]["thanks"].format(reference=found.reference) if request.GET.get("new") else "",
        "followed": context["t"]["followed"].format(reference=found.reference) if request.GET.get("followed") else "",
    })


@require_http_methods(["GET", "POST"])
def survey(request, token: str):
    found = selectors.survey_get(token=token)
    if found is None:
        raise Http404("no such survey")
    locale = resident_texts.page_locale(request)
    service = found.request.service
    context = resident_texts.page_context(locale) | {
        "survey": found, "req": found.request, "scores": range(1, 6),
        "service_name": translated(service.i18n, locale, "name", service.name),
    }
    if request.method == "GET" or found.answered_at is not None:
        return resident_texts.render_page(request, "fieldsvc/survey.html", context)
    fixed = request.POST.get("fixed")
    score = request.POST.get("satisfaction") or ""
    if fixed not in ("yes", "no") or (score and not score.isdigit()):
        return resident_texts.render_page(request, "fieldsvc/survey.html",
                                          context | {"error": context["t"]["survey_error"]}, status=400)
    try:
        services.survey_answer(survey=found, fixed=fixed == "yes", satisfaction=int(score) if score else None,
                               comment=request.POST.get("comment", ""))
    except services.SurveyInvalid as exc:
        return resident_texts.render_page(request, "fieldsvc/survey.html", context | {"error": str(exc)}, status=400)
    found.refresh_from_db()
    return resident_texts.render_page(request, "fieldsvc/survey.html", context | {"thanks": True, "survey": found})
