"""Registry HTTP interfaces."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gis import selectors
from gis.crs import storage_crs_name, storage_srid


class RegistrySummaryApi(APIView):
    """What the registry holds: counts per table and per asset type."""

    @extend_schema(tags=["Registry"], summary="What the registry holds", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        asset_types = [
            {
                "code": t.code,
                "name": t.name,
                "geometry_kind": t.geometry_kind,
                "department": t.department.code,
                "assets": t.asset_count,
            }
            for t in selectors.asset_type_list_with_counts()
        ]
        return Response(
            {
                "storage_crs": {"srid": storage_srid(), "name": storage_crs_name()},
                "counts": selectors.registry_counts(),
                "asset_types": asset_types,
            }
        )
