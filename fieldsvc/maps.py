"""The map page (/map/): MapLibre GL JS over the vector tiles, to check the layers in a browser.

It lives in fieldsvc with the other web pages rather than in tiles/: it is a client of /tiles/ like the
dispatcher console and resident map that will follow, and shares MapLibre (copied from node_modules into
fieldsvc/static/fieldsvc/vendor/ by scripts/stack.sh) with them; tiles/ stays an interface serving data.
What the caller may see comes from /tiles/style.json, which asks the session as the tiles do.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    return render(request, "fieldsvc/map.html", {"staff": request.user.is_staff})
