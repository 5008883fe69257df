"""The permission matrix as data: every URL route (tests/roles/test_matrix.py fails when one is missing), each
HTTP method that matters, every WFS feature type and every tile layer, by role.

Columns, in order: anonymous resident, API client (an Open311 api_key, no account), crew member (on crew X),
viewer / dispatcher / supervisor of department X, dispatcher of department Y, GIS editor (the "GIS editors"
group, staff, no department), admin (superuser). Crew members are not staff; everyone else signed in is.

Outcomes: a status code (200, 201, 202, 204, 302, 400, 401, 403, 404, 405); "login": a redirect to a sign-in
page; for reads that filter, 200 and whose work shows: "X" (department X's only), "Y" (Y's only), "XY" (both),
"-" (neither). Paths and bodies name the world's objects ({wo_x}, {req_x2}…, tests/roles/world.py).
Reporters' details show only where a row's ``personal`` names the role (never by default).
"""

from dataclasses import dataclass, field

ANY = ("anonymous", "api_client", "crew", "viewer", "dispatcher", "supervisor", "other_dispatcher", "gis_editor",
       "admin")


@dataclass(frozen=True)
class Row:
    key: str  # "route-name METHOD" or "route-name[variant] METHOD"
    path: str
    outcomes: tuple[str, ...]
    body: dict | str | None = None
    form: bool = False  # a form (Open311, pages) rather than JSON
    headers: dict = field(default_factory=dict)
    personal: tuple[str, ...] = ()  # roles that see reporters' details here
    secrets: bool = False  # the answer is a secret the caller asked for (a token for its own password)

    @property
    def route(self) -> str:
        return self.key.rsplit(" ", 1)[0].split("[")[0]

    @property
    def variant(self) -> str:
        return self.key.rsplit(" ", 1)[0].partition("[")[2].rstrip("]")

    @property
    def method(self) -> str:
        return self.key.rsplit(" ", 1)[1]


def row(key: str, path: str, outcomes: str, **more) -> Row:
    cells = tuple(outcomes.split())
    assert len(cells) == len(ANY), f"{key}: {len(cells)} outcomes for {len(ANY)} roles"
    return Row(key, path, cells, **more)


EVERYONE_200 = "200 200 200 200 200 200 200 200 200"
NOW = "2026-01-01T12:00:00Z"
KEY = {"HTTP_IDEMPOTENCY_KEY": "matrix-key-0001"}
WFS = "/wfs/?SERVICE=WFS&VERSION=2.0.0&REQUEST="
# A streetlight put in by WFS-T (GIS editors and admins only).
WFS_INSERT = ('<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:fieldsvc="http://fieldsvc.org/wfs" '
              'xmlns:gml="http://www.opengis.net/gml/3.2" service="WFS" version="2.0.0"><wfs:Insert>'
              '<fieldsvc:asset_streetlight><fieldsvc:external_id>L-matrix</fieldsvc:external_id>'
              '<fieldsvc:geom><gml:Point srsName="urn:ogc:def:crs:EPSG::26986" gml:id="p1"><gml:pos>{asset_x} {asset_y}'
              '</gml:pos></gml:Point></fieldsvc:geom></fieldsvc:asset_streetlight></wfs:Insert></wfs:Transaction>')

#         anon client crew viewer disp  sup  odisp gis  admin
ROWS: list[Row] = [
    # --- pages -----------------------------------------------------------------------------------------
    row("home GET", "/", EVERYONE_200),
    row("map GET", "/map/", EVERYONE_200),
    row("console GET", "/console/", "login login login 200 200 200 200 200 200"),
    row("stats GET", "/stats/", EVERYONE_200),
    row("health GET", "/health", EVERYONE_200),
    row("health POST", "/health", "405 405 405 405 405 405 405 405 405"),
    row("api-schema GET", "/api/schema/", EVERYONE_200),
    row("api-docs GET", "/api/docs/", EVERYONE_200),
    row("api-redoc GET", "/api/redoc/", EVERYONE_200),
    # --- residents --------------------------------------------------------------------------------------
    row("status-lookup GET", "/status?number={ref_x}", "302 302 302 302 302 302 302 302 302"),
    row("request-status GET", "/requests/{ref_x}", EVERYONE_200),
    row("survey GET", "/survey/{survey}", EVERYONE_200),
    row("survey POST", "/survey/{survey}", EVERYONE_200,
        body={"fixed": "yes", "satisfaction": "5"}, form=True),
    row("report GET", "/report/", EVERYONE_200),
    row("report-nearby GET", "/report/nearby.json?lat={lat}&long={lon}", EVERYONE_200),
    row("report-duplicates GET", "/report/duplicates.json?lat={lat}&long={lon}&service_code=streetlight-outage",
        EVERYONE_200),
    row("report-places GET", "/report/places.json?q=Massachusetts", EVERYONE_200),
    row("report-follow POST", "/report/follow", "302 302 302 302 302 302 302 302 302",
        body={"number": "{ref_x}", "email": "neighbour@example.org"}, form=True),
    row("media GET", "/media/requests/none.jpg", "404 404 404 404 404 404 404 404 404"),
    # --- public statistics and aggregates ---------------------------------------------------------------
    row("stats:sla GET", "/api/stats/sla", EVERYONE_200),
    row("stats:time-to-close GET", "/api/stats/time-to-close", EVERYONE_200),
    row("stats:neighbourhoods GET", "/api/stats/neighbourhoods", EVERYONE_200),
    row("stats:trends GET", "/api/stats/trends", EVERYONE_200),
    row("workorders:analytics-requests GET", "/api/analytics/requests?by=department", EVERYONE_200),
    row("workorders:analytics-surveys GET", "/api/analytics/surveys", EVERYONE_200),
    row("gis:registry-summary GET", "/api/registry/summary", EVERYONE_200),
    # --- Open311 (no accounts: an api_key for writes) ---------------------------------------------------
    row("open311-index GET", "/open311/v2/", EVERYONE_200),
    *[r for fmt in ("xml", "json") for r in (
        row(f"open311-discovery-{fmt} GET", f"/open311/v2/discovery.{fmt}", EVERYONE_200),
        row(f"open311-services-{fmt} GET", f"/open311/v2/services.{fmt}", EVERYONE_200),
        row(f"open311-service-definition-{fmt} GET", f"/open311/v2/services/streetlight-outage.{fmt}",
            EVERYONE_200),
        row(f"open311-requests-{fmt} GET", f"/open311/v2/requests.{fmt}?extensions=true", EVERYONE_200),
        row(f"open311-requests-{fmt} POST", f"/open311/v2/requests.{fmt}", "403 201 403 403 403 403 403 403 403",
            body={"api_key": "{api_key}", "service_code": "pothole", "lat": "{lat}", "long": "{lon}",
                  "description": "Hole", "email": "zqpii-new@example.org"}, form=True),
        row(f"open311-requests-{fmt} DELETE", f"/open311/v2/requests.{fmt}", "405 405 405 405 405 405 405 405 405"),
        row(f"open311-request-{fmt} GET", f"/open311/v2/requests/{{req_x}}.{fmt}?extensions=true", EVERYONE_200),
        row(f"open311-request-updates-{fmt} GET", f"/open311/v2/servicerequestupdates.{fmt}", EVERYONE_200),
        row(f"open311-request-updates-{fmt} POST", f"/open311/v2/servicerequestupdates.{fmt}",
            "403 201 403 403 403 403 403 403 403", form=True,
            body={"api_key": "{api_key}", "service_request_id": "{req_x}", "update_id": "u-1",
                  "status": "OPEN", "description": "Still dark"}),
        row(f"open311-token-{fmt} GET", f"/open311/v2/tokens/nosuchtoken.{fmt}", "404 404 404 404 404 404 404 404 404"),
    )],
    # --- the crews' tablets -----------------------------------------------------------------------------
    row("field_app:app GET", "/field/", "login login 200 200 200 200 200 200 200"),
    row("field_app:sw GET", "/field/sw.js", EVERYONE_200),
    row("field_app:manifest GET", "/field/manifest.webmanifest", EVERYONE_200),
    row("field_app:login GET", "/field/login/", "200 200 302 302 302 302 302 302 302"),  # signed in: to the app
    row("field_app:logout POST", "/field/logout/", "login login login login login login login login login"),
    row("field:token POST", "/api/field/token", EVERYONE_200, body={"username": "ana", "password": "pw-ana"},
        secrets=True),
    row("field:manifest GET", "/api/field/manifest", "401 401 200 404 404 404 404 404 404"),
    row("field:work-orders GET", "/api/field/work-orders", "401 401 X 404 404 404 404 404 404"),
    row("field:work-order GET", "/api/field/work-orders/{wo_x}", "401 401 200 404 404 404 404 404 404"),
    row("field:work-order[other department] GET", "/api/field/work-orders/{wo_y}",
        "401 401 404 404 404 404 404 404 404"),
    row("field:work-order PATCH", "/api/field/work-orders/{wo_x}", "401 401 200 404 404 404 404 404 404",
        body={"site_notes": "ladder needed"}, headers={"HTTP_IF_MATCH": '"{version_x}"'}),
    row("field:transitions POST", "/api/field/work-orders/{wo_x}/transitions", "401 401 200 404 404 404 404 404 404",
        body={"to": "en_route", "occurred_at": NOW}, headers=KEY),
    row("field:notes POST", "/api/field/work-orders/{wo_x}/notes", "401 401 201 404 404 404 404 404 404",
        body={"id": "{uuid}", "text": "Parked by the hydrant", "occurred_at": NOW}),
    row("field:materials POST", "/api/field/work-orders/{wo_x}/materials", "401 401 201 404 404 404 404 404 404",
        body={"id": "{uuid}", "item": "Lamp", "quantity": "1", "occurred_at": NOW}),
    row("field:changes GET", "/api/field/changes?since={cursor}", "401 401 200 404 404 404 404 404 404"),
    row("field:sync POST", "/api/field/sync", "401 401 200 404 404 404 404 404 404", body={"mutations": []}),
    row("field:plan GET", "/api/field/plan", "401 401 200 404 404 404 404 404 404"),
    row("field:positions POST", "/api/field/positions", "401 401 201 404 404 404 404 404 404",
        body={"pings": [{"lon": "{lon}", "lat": "{lat}", "at": NOW}]}),
    row("field:uploads OPTIONS", "/api/field/uploads/", "204 204 204 204 204 204 204 204 204"),
    row("field:uploads POST", "/api/field/uploads/", "403 403 400 400 400 400 400 400 400",
        headers={"HTTP_TUS_RESUMABLE": "1.0.0"}),
    row("field:upload HEAD", "/api/field/uploads/{uuid}", "403 403 404 404 404 404 404 404 404",
        headers={"HTTP_TUS_RESUMABLE": "1.0.0"}),
    row("field:photo GET", "/api/field/photos/{uuid}", "403 403 404 404 404 404 404 404 404"),
    # --- dispatch (staff API) ---------------------------------------------------------------------------
    row("workorders:work-orders GET", "/api/work-orders", "403 403 - X X X Y - XY"),
    row("workorders:work-order-conflicts GET", "/api/work-orders/conflicts", "403 403 - X X X - - X"),
    row("workorders:work-order GET", "/api/work-orders/{wo_x}", "403 403 200 200 200 200 404 404 200"),
    row("workorders:work-order PATCH", "/api/work-orders/{wo_x}", "403 403 200 403 200 200 404 404 200",
        body={"site_notes": "Bring the long ladder"}, headers={"HTTP_IF_MATCH": '"{version_x}"'}),
    row("workorders:work-order-conflict-resolve POST", "/api/work-orders/{wo_x}/conflicts/{conflict_x}/resolve",
        "403 403 403 403 200 200 404 404 200", body={"choose": "yours"}),
    row("workorders:work-order-transition POST", "/api/work-orders/{wo_x}/transition",
        "403 403 200 403 200 200 404 404 200", body={"to": "en_route"}),
    row("workorders:work-order-transition[close] POST", "/api/work-orders/{wo_x}/transition",
        "403 403 403 403 403 409 404 404 409", body={"to": "closed"}),
    row("workorders:work-order-assign POST", "/api/work-orders/{wo_y}/assign", "403 403 404 404 404 404 200 404 200",
        body={"crew": "{crew_y}"}),
    row("workorders:work-order-best-crews GET", "/api/work-orders/{wo_x}/best-crews",
        "403 403 403 403 200 200 404 404 200"),
    row("workorders:crews GET", "/api/crews", "403 403 - X X X Y - XY"),
    row("workorders:crew-positions POST", "/api/crews/{crew_x}/positions", "403 403 201 403 201 201 403 403 201",
        body={"lon": "{lon}", "lat": "{lat}"}),
    row("workorders:crew-plan GET", "/api/crews/{crew_x}/plan", "403 403 200 200 200 200 404 404 200"),
    row("workorders:department-plans POST", "/api/departments/{dept_x}/day-plans",
        "403 403 403 403 202 202 403 403 202", body={}),
    row("workorders:audit-events GET", "/api/audit", "403 403 403 403 403 200 403 403 200"),
    # --- the dispatcher console's API ---------------------------------------------------------------------
    row("workorders:console-queue GET", "/api/console/queue", "403 403 403 X X X Y - XY"),
    row("workorders:console-plans GET", "/api/console/plans", "403 403 403 200 200 200 200 200 200"),
    row("workorders:console-request GET", "/api/console/requests/{req_x}", "403 403 403 200 200 200 404 404 200",
        personal=("supervisor", "admin")),
    row("workorders:console-request-reclassify POST", "/api/console/requests/{req_x2}/reclassify",
        "403 403 403 403 200 200 404 404 200", body={"service": "graffiti"}),
    row("workorders:console-request-merge POST", "/api/console/requests/{req_x2}/merge",
        "403 403 403 403 200 200 404 404 200", body={"into": "{ref_x}"}),
    row("workorders:console-request-work-order POST", "/api/console/requests/{req_x2}/work-order",
        "403 403 403 403 201 201 404 404 201"),
    # --- vector tiles: the style; each layer's TileJSON and a tile over the world's work ------------------
    row("tiles:style GET", "/tiles/style.json", EVERYONE_200),
]

PUBLIC_LAYERS = ("assets", "requests", "neighbourhoods")
STAFF_LAYERS = ("utility_lines", "utility_structures", "work_orders", "crews")
STAFF_200 = "404 404 404 200 200 200 200 200 200"
# Staff layers carry no personal data and show every department's work: the console's map is the city's picture
# (docs/security.md); the work itself (lists, details, writes) is filtered by department.
TILE_OUTCOMES = {"assets": EVERYONE_200, "requests": EVERYONE_200,
                 "neighbourhoods": "204 204 204 204 204 204 204 204 204",
                 "utility_lines": "404 404 404 204 204 204 204 204 204",
                 "utility_structures": "404 404 404 204 204 204 204 204 204",
                 "work_orders": "404 404 404 XY XY XY XY XY XY", "crews": "404 404 404 XY XY XY XY XY XY"}
ROWS += [row(f"tiles:tilejson[{layer}] GET", f"/tiles/{layer}.json",
             EVERYONE_200 if layer in PUBLIC_LAYERS else STAFF_200) for layer in PUBLIC_LAYERS + STAFF_LAYERS]
ROWS += [row(f"tiles:tile[{layer}] GET", f"/tiles/{layer}/{{tile}}.mvt", TILE_OUTCOMES[layer])
         for layer in PUBLIC_LAYERS + STAFF_LAYERS]

# --- WFS: the service, each feature type (filled in by feature_type_rows), and a transaction -------------------
ROWS += [
    row("wfs[GetCapabilities] GET", WFS + "GetCapabilities", EVERYONE_200),
    row("wfs[DescribeFeatureType service_request] GET", WFS + "DescribeFeatureType&TYPENAMES=service_request",
        EVERYONE_200),
    row("wfs[GetPropertyValue service_request] GET",
        WFS + "GetPropertyValue&TYPENAMES=service_request&VALUEREFERENCE=address_string", EVERYONE_200),
    row("wfs[GetFeature service_request csv] GET",
        WFS + "GetFeature&TYPENAMES=service_request&OUTPUTFORMAT=text/csv", EVERYONE_200),
    row("wfs[GetFeature service_request gml] GET", WFS + "GetFeature&TYPENAMES=service_request", EVERYONE_200),
    row("wfs[GetFeature work_order] GET", WFS + "GetFeature&TYPENAMES=work_order&OUTPUTFORMAT=application/json",
        "400 400 400 X X X Y - XY"),
    row("wfs[DescribeFeatureType work_order] GET", WFS + "DescribeFeatureType&TYPENAMES=work_order",
        "400 400 400 200 200 200 200 200 200"),
    row("wfs[Transaction asset_streetlight] POST", "/wfs/?SERVICE=WFS", "401 401 403 403 403 403 403 200 200",
        body=WFS_INSERT),
]
PUBLIC_FEATURE_TYPES = ("service_request", "utility_line", "utility_structure", "neighbourhood")  # + asset_*
STAFF_FEATURE_TYPES = ("work_order",)


def feature_type_rows(asset_type_codes: list[str]) -> list[Row]:
    """GetFeature (GeoJSON) of every public feature type: open to all (assets as the public tiles show them)."""
    names = [f"asset_{code.replace('-', '_')}" for code in asset_type_codes] + list(PUBLIC_FEATURE_TYPES)
    return [row(f"wfs[GetFeature {name}] GET", WFS + f"GetFeature&TYPENAMES={name}&OUTPUTFORMAT=application/json",
                EVERYONE_200) for name in names]


def admin_rows(models: list[tuple[str, str]], gis_editable: set[str]) -> list[Row]:
    """The admin: its index, and each registered model's list. Staff without a model permission get 403; the GIS
    editors' group lists assets and utilities; crews and residents are sent to sign in."""
    rows = [row("admin:index GET", "/admin/", "login login login 200 200 200 200 200 200")]
    for app_label, model_name in models:
        gis = "200" if f"{app_label}.{model_name}" in gis_editable else "403"
        rows.append(row(f"admin:{app_label}_{model_name}_changelist GET", f"/admin/{app_label}/{model_name}/",
                        f"login login login 403 403 403 403 {gis} 200"))
    return rows
