"""The permission matrix's city: two departments (X = street lighting, Y = public works), each with a crew and a
work order, reports carrying unique personal-data markers, and one account per role."""

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from rest_framework.authtoken.models import Token

from gis import crs, editing
from gis.models import Asset, AssetType, Department
from tests.work.conftest import BASE_X, BASE_Y, CATALOGUE, storage_to_lonlat
from workorders import field_edits, linking, services, triage
from workorders.crews import crew_position_record
from workorders.models import Crew, DepartmentRole, Service, ServiceRequest, Survey, WorkOrder
from workorders.services import RequestInput, request_create
from workorders.work import work_order_assign, work_orders_generate

ROLES = ("anonymous", "api_client", "crew", "viewer", "dispatcher", "supervisor", "other_dispatcher", "gis_editor",
         "admin")
# A reporter's details: unique strings that must show only where a role needs them.
REPORTER = {"email": "zqpii-mail@example.org", "phone": "+1 617 555 0142", "first_name": "Zqpiifirst",
            "last_name": "Zqpiilast", "device_id": "zqpii-device-77", "account_id": "zqpii-account-77"}
REPORTER_MARKERS = ("zqpii", "555 0142", "555%200142")
CREW_NAMES = ("Zqcrewfirst", "Zqcrewlast")  # the crew member's full name (usernames are not personal data)
X_MARK, Y_MARK = "xmark", "ymark"  # in department X's and Y's work order titles and crew codes
X_SEEN, Y_SEEN = (X_MARK, "street-lighting"), (Y_MARK, "public-works")  # either shows a department's work


@dataclass
class World:
    users: dict  # role -> user (None: anonymous and the API client)
    x: Department
    y: Department
    crew_x: Crew
    crew_y: Crew
    wo_x: WorkOrder  # dispatched to crew_x, with an open conflict
    wo_y: WorkOrder  # ready, no crew
    request_x: ServiceRequest  # carries REPORTER
    request_y: ServiceRequest
    request_x2: ServiceRequest  # a second lamp report (a merge target's duplicate), on no work order
    conflict_x: int
    api_key: str
    token: str  # the crew member's tablet token
    survey_token: str
    asset_type_codes: list[str] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        """What a matrix row's path and body may name."""
        return {"wo_x": self.wo_x.pk, "wo_y": self.wo_y.pk, "req_x": self.request_x.pk, "req_y": self.request_y.pk,
                "req_x2": self.request_x2.pk, "ref_x": self.request_x.reference, "crew_x": self.crew_x.pk,
                "crew_y": self.crew_y.pk, "conflict_x": self.conflict_x, "dept_x": self.x.code,
                "dept_y": self.y.code, "survey": self.survey_token, "uuid": uuid.UUID(int=7),
                "lon": storage_to_lonlat(BASE_X + 5, BASE_Y)[0], "lat": storage_to_lonlat(BASE_X + 5, BASE_Y)[1],
                "asset_x": BASE_X + 30, "asset_y": BASE_Y + 30}


def _report(service: str, dx: float, description: str, **personal) -> ServiceRequest:
    lon, lat = storage_to_lonlat(BASE_X + dx, BASE_Y + 3)
    request, _ = request_create(service=Service.objects.get(code=service), data=RequestInput(
        lat=lat, long=lon, description=description, require_answers=False, check_duplicates=False,
        address_string=f"{int(dx)} Massachusetts Ave", link_on_commit=False, **personal))
    linking.request_link(request_id=request.pk)
    return ServiceRequest.objects.get(pk=request.pk)


def build() -> World:
    import yaml

    from gis import services as gis_services
    from tests.conftest import FIXTURES

    seed = yaml.safe_load((FIXTURES / "registry.yaml").read_text())
    gis_services.registry_seed(departments=seed["departments"], asset_types=seed["asset_types"])
    services.catalogue_load(data=CATALOGUE)
    lamp = AssetType.objects.get(code="streetlight")
    for n, dx in enumerate((0, 40, 80)):
        Asset.objects.create(asset_type=lamp, external_id=f"L-{n}", geom=Point(BASE_X + dx, BASE_Y,
                                                                              srid=crs.storage_srid()))
    x, y = Department.objects.get(code="street-lighting"), Department.objects.get(code="public-works")
    users = get_user_model().objects
    made = {
        "crew": users.create_user("ana", password="pw-ana", first_name=CREW_NAMES[0], last_name=CREW_NAMES[1]),
        "viewer": users.create_user("vic", password="pw-vic", is_staff=True),
        "dispatcher": users.create_user("dana", password="pw-dana", is_staff=True),
        "supervisor": users.create_user("sam", password="pw-sam", is_staff=True),
        "other_dispatcher": users.create_user("oscar", password="pw-oscar", is_staff=True),
        "gis_editor": users.create_user("gus", password="pw-gus", is_staff=True),
        "admin": users.create_superuser("root", "root@example.city", "pw-root"),
    }
    for role, department in (("viewer", x), ("dispatcher", x), ("supervisor", x)):
        DepartmentRole.objects.create(user=made[role], department=department, role=role)
    DepartmentRole.objects.create(user=made["other_dispatcher"], department=y, role="dispatcher")
    made["gis_editor"].groups.add(editing.gis_editors_group())
    always = {"shift_start": dt.time(0), "shift_end": dt.time(23, 59), "shift_days": [1, 2, 3, 4, 5, 6, 7]}
    crew_x = Crew.objects.create(code=f"crew-{X_MARK}", name="Lights", department=x, skills=["bucket-truck"], **always)
    crew_x.members.add(made["crew"])
    crew_y = Crew.objects.create(code=f"crew-{Y_MARK}", name="Works", department=y, **always)
    for crew in (crew_x, crew_y):
        crew_position_record(crew_id=crew.pk, point=Point(BASE_X + 10, BASE_Y + 10, srid=crs.storage_srid()))

    request_x = _report("streetlight-outage", 2, "Lamp out by the bus stop", **REPORTER)
    request_x2 = _report("streetlight-outage", 300, "Another dark lamp", email="zqpii-second@example.org")
    request_y = _report("pothole", -150, "Deep hole", **REPORTER | {"email": "zqpii-other@example.org"})
    request_x3 = _report("streetlight-outage", 80, "Flickering", phone="+1 617 555 0142")
    work_orders_generate(request_ids=[request_x.pk, request_x3.pk])
    WorkOrder.objects.filter(requests=request_x3).update(title=f"Queue {X_MARK}")
    wo_x = ServiceRequest.objects.get(pk=request_x.pk).work_order
    WorkOrder.objects.filter(pk=wo_x.pk).update(title=f"Relamp {X_MARK}")
    wo_x = work_order_assign(work_order_id=wo_x.pk, crew_id=crew_x.pk, actor=made["dispatcher"])
    base = wo_x.version
    for text in ("gate code 1234", "use the back gate"):  # the second clashes: a conflict to settle
        field_edits.work_order_edit(work_order_id=wo_x.pk, changes={"site_notes": text}, base_version=base,
                                    actor=made["crew"], actor_label="ana")
    wo_y = triage.request_work_order_create(request_id=request_y.pk, actor=made["other_dispatcher"])
    WorkOrder.objects.filter(pk=wo_y.pk).update(title=f"Patch {Y_MARK}")
    request_x2 = ServiceRequest.objects.get(pk=request_x2.pk)  # on no work order: triage makes one
    _, key = services.api_key_create(name="matrix client")
    token = Token.objects.create(user=made["crew"]).key
    survey = Survey.objects.create(request=request_y, token="zq" + "s" * 30)
    return World(users={"anonymous": None, "api_client": None, **made}, x=x, y=y, crew_x=crew_x, crew_y=crew_y,
                 wo_x=WorkOrder.objects.get(pk=wo_x.pk), wo_y=WorkOrder.objects.get(pk=wo_y.pk),
                 request_x=request_x, request_y=ServiceRequest.objects.get(pk=request_y.pk), request_x2=request_x2,
                 conflict_x=WorkOrder.objects.get(pk=wo_x.pk).conflicts.get().pk, api_key=key, token=token,
                 survey_token=survey.token, asset_type_codes=sorted(AssetType.objects.values_list("code", flat=True)))
