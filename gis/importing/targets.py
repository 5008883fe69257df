"""What each registry table accepts from an import: key, geometry kind and typed fields."""

from dataclasses import dataclass, field

from gis.models import GeometryKind


@dataclass(frozen=True)
class Target:
    name: str
    table: str
    conflict_constraint: str
    # Natural key, besides external_id: fields that name the namespace of the external id.
    key_fields: tuple[str, ...]
    # Typed registry fields a mapping may fill: name -> type.
    fields: dict[str, str]
    required: tuple[str, ...]
    geometry_kind: str | None  # None: the asset type decides
    geometry_sql_type: str = "geometry"
    defaults: dict[str, object] = field(default_factory=dict)


_STATUS_DEFAULT = {"status": "active"}

TARGETS: dict[str, Target] = {
    "asset": Target(
        name="asset",
        table="registry_asset",
        conflict_constraint="asset_type_external_id_uniq",
        key_fields=("asset_type",),
        fields={
            "asset_type": "asset_type",
            "status": "status",
            "condition": "condition",
            "install_date": "date",
        },
        required=("asset_type",),
        geometry_kind=None,
        defaults=_STATUS_DEFAULT,
    ),
    "utility_line": Target(
        name="utility_line",
        table="registry_utilityline",
        conflict_constraint="utility_line_external_id_uniq",
        key_fields=("kind", "line_type"),
        fields={
            "kind": "network_kind",
            "line_type": "code",
            "material": "text",
            "diameter_mm": "int",
            "depth_m": "float",
            "install_year": "year",
            "department": "department",
            "owner": "text",
            "status": "status",
        },
        required=("kind",),
        geometry_kind=GeometryKind.LINE,
        defaults={**_STATUS_DEFAULT, "line_type": "main", "material": "", "owner": ""},
    ),
    "utility_structure": Target(
        name="utility_structure",
        table="registry_utilitystructure",
        conflict_constraint="utility_structure_external_id_uniq",
        key_fields=("kind", "structure_type"),
        fields={
            "kind": "network_kind",
            "structure_type": "code",
            "depth_m": "float",
            "department": "department",
            "owner": "text",
            "status": "status",
        },
        required=("kind", "structure_type"),
        geometry_kind=GeometryKind.POINT,
        defaults={**_STATUS_DEFAULT, "owner": ""},
    ),
    "district": Target(
        name="district",
        table="registry_district",
        conflict_constraint="district_external_id_uniq",
        key_fields=("kind",),
        fields={"kind": "code", "name": "text", "city": "text", "population": "int"},
        required=("name",),
        geometry_kind=GeometryKind.POLYGON,
        defaults={"kind": "neighbourhood", "city": ""},
    ),
}

# Database column for each registry field (foreign keys are stored by id).
COLUMN = {"asset_type": "asset_type_id", "department": "department_id"}


def column_for(field_name: str) -> str:
    return COLUMN.get(field_name, field_name)
