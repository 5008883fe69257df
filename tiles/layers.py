"""The vector tile layers, declared: what each shows, from which table, at which zooms, to whom.

Only what the map needs goes into a tile (never reporters' details). Below ``cluster_below`` points
are aggregated into counts on a grid, so no low-zoom tile carries every feature of the city.
"""

from dataclasses import dataclass

from gis.models import Asset, AssetType, Department, District, UtilityLine, UtilityStructure
from workorders.models import Crew, Service, ServiceRequest, WorkOrder


@dataclass(frozen=True)
class Layer:
    name: str
    table: str
    properties: dict[str, str]  # property name -> SQL expression over the table (alias t)
    where: str = "true"  # fixed SQL over t: no user input ever goes here
    joins: str = ""  # fixed joins that name things (a type by its code), never filter: counts skip them
    geom: str = "geom"
    minzoom: int = 0
    maxzoom: int = 22
    cluster_below: int | None = None  # points: counts on a grid below this zoom
    staff_only: bool = False
    cached: bool = True  # False: changes with every report or ping, served live


def _t(model) -> str:
    return model._meta.db_table


_EPOCH = "extract(epoch FROM {})::bigint"  # a time as a number, so a map filter can compare it with now
OPEN_STATUSES = "('completed', 'closed', 'cancelled')"
LAYERS: dict[str, Layer] = {layer.name: layer for layer in [
    Layer("assets", _t(Asset), {"id": "t.id", "type": "k.code", "external_id": "t.external_id", "status": "t.status"},
          joins=f"JOIN {_t(AssetType)} k ON k.id = t.asset_type_id", minzoom=13, cluster_below=16),
    Layer("utility_lines", _t(UtilityLine), {"id": "t.id", "kind": "t.kind", "type": "t.line_type",
                                              "diameter_mm": "t.diameter_mm", "material": "t.material"},
          minzoom=14, staff_only=True),
    Layer("utility_structures", _t(UtilityStructure), {"id": "t.id", "kind": "t.kind", "type": "t.structure_type"},
          minzoom=15, staff_only=True),
    # department and due_at (SLA target, epoch seconds) let the dispatcher console filter on the map.
    Layer("requests", _t(ServiceRequest), {"id": "t.id", "service": "s.code", "status": "t.detailed_status",
                                            "requested_at": "to_char(t.requested_at, 'YYYY-MM-DD')",
                                            "department": "d.code", "due_at": _EPOCH.format("t.expected_at")},
          where="t.status = 'open' AND t.geom IS NOT NULL",
          joins=f"JOIN {_t(Service)} s ON s.id = t.service_id JOIN {_t(Department)} d ON d.id = t.department_id",
          cluster_below=14, cached=False),
    Layer("work_orders", _t(WorkOrder), {"id": "t.id", "status": "t.status", "priority": "t.priority",
                                          "service": "s.code", "department": "d.code",
                                          "due_at": _EPOCH.format("t.due_at"), "assigned": "t.crew_id IS NOT NULL",
                                          "created_at": "to_char(t.created_at, 'YYYY-MM-DD')"},
          geom="location", where=f"t.status NOT IN {OPEN_STATUSES} AND t.location IS NOT NULL",
          joins=f"JOIN {_t(Service)} s ON s.id = t.service_id JOIN {_t(Department)} d ON d.id = t.department_id",
          cluster_below=13, staff_only=True),
    Layer("crews", _t(Crew), {"id": "t.id", "code": "t.code", "name": "t.name", "department": "d.code"},
          geom="last_position", where="t.active AND t.last_position IS NOT NULL",
          joins=f"JOIN {_t(Department)} d ON d.id = t.department_id", staff_only=True, cached=False),
    Layer("neighbourhoods", _t(District), {"id": "t.id", "name": "t.name"}, maxzoom=16),
]}
