"""The site's 404 for machines: JSON on the APIs and tiles, the Open311 error list on /open311/, the page elsewhere."""

from types import SimpleNamespace

from django.http import HttpResponse, JsonResponse
from django.views.defaults import page_not_found

from workorders.open311.render import Open311JSONRenderer, Open311XMLRenderer, error_body

# A path that matches no route (an id that is not a number, a code that is not a slug) gets the error body
# its interface promises, not Django's HTML page: clients and the fuzz tests read every 4xx.
MACHINE_PREFIXES = ("/api/", "/tiles/", "/wfs/")


def not_found(request, exception=None) -> HttpResponse:
    path = request.path
    if path.startswith("/open311/") and path.endswith((".xml", ".json")):
        errors = error_body([(404, "no such resource; see /open311/v2/discovery.json")])
        if path.endswith(".xml"):
            body = Open311XMLRenderer().render(errors, renderer_context={"response": SimpleNamespace(status_code=404)})
            return HttpResponse(body, status=404, content_type="text/xml; charset=utf-8")
        return HttpResponse(Open311JSONRenderer().render(errors), status=404, content_type="application/json")
    if path.startswith(MACHINE_PREFIXES):
        return JsonResponse({"code": "not_found", "detail": "no such resource"}, status=404)
    return page_not_found(request, exception)
