"""Reads any OGR-readable file (GeoJSON, GeoPackage, Shapefile, CSV…) in Arrow batches via pyogrio."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError
from pyproj import CRS

from gis import crs as crs_mod
from gis.importing.mapping import Mapping

CSV_SUFFIXES = {".csv", ".tsv"}


class SourceError(ValueError):
    """The file cannot be read as a whole: nothing is imported."""


@dataclass
class Batch:
    first_row: int  # 1-based position in the file of this batch's first feature
    rows: int
    fids: np.ndarray
    wkb: pa.Array | None  # the geometries as WKB in the source CRS (null where a row has none)
    columns: dict[str, pa.Array]

    @cached_property
    def geoms(self) -> np.ndarray:
        """Shapely geometries (None where a row has none): built only when a batch is not plain points."""
        if self.wkb is None:
            return np.full(self.rows, None, dtype=object)
        return shapely.from_wkb(self.wkb.to_numpy(zero_copy_only=False), on_invalid="ignore")


@dataclass
class Source:
    path: Path
    layer: str | int | None
    crs: CRS
    feature_count: int
    field_names: list[str]
    open_options: dict[str, str]


def _open_options(path: Path, mapping: Mapping) -> dict[str, str]:
    if path.suffix.lower() not in CSV_SUFFIXES:
        return {}
    if mapping.csv_x:
        return {"X_POSSIBLE_NAMES": mapping.csv_x, "Y_POSSIBLE_NAMES": mapping.csv_y, "KEEP_GEOM_COLUMNS": "NO"}
    if mapping.csv_wkt:
        return {"GEOM_POSSIBLE_NAMES": mapping.csv_wkt, "KEEP_GEOM_COLUMNS": "NO"}
    raise SourceError("a CSV needs source.x and source.y (lon/lat columns) or source.wkt in the mapping")


def open_source(path: str | Path, mapping: Mapping) -> Source:
    """Open the file and check what the mapping asks of it; raises SourceError with the reason."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"file not found: {path}")
    options = _open_options(path, mapping)
    try:
        info = pyogrio.read_info(path, layer=mapping.layer, force_feature_count=True, **options)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(f"cannot read {path.name}: {str(exc).strip()}") from exc
    if info.get("geometry_type") in (None, "None") and not options:
        raise SourceError(f"{path.name} has no geometry column")
    field_names = list(info["fields"])
    for name in sorted(mapping.source_fields()):
        if name not in field_names:
            raise SourceError(f"{path.name} has no field '{name}' (fields: {', '.join(field_names)})")
    if isinstance(mapping.attributes, tuple):
        missing = [a for a in mapping.attributes if a not in field_names]
        if missing:
            raise SourceError(f"{path.name} has no attribute field(s) {', '.join(missing)}")
    declared = mapping.crs or info.get("crs")
    if declared is None:
        if path.suffix.lower() not in CSV_SUFFIXES:
            raise SourceError(f"{path.name} does not say its CRS: set source.crs in the mapping")
        declared = f"EPSG:{crs_mod.WGS84}"  # CSV lon/lat without a stated CRS: WGS84
    try:
        source_crs = crs_mod.crs_from_user_input(declared)
    except crs_mod.UnknownCRSError as exc:
        raise SourceError(f"{path.name}: {exc}") from exc
    return Source(
        path=path,
        layer=mapping.layer,
        crs=source_crs,
        feature_count=max(int(info.get("features") or 0), 0),
        field_names=field_names,
        open_options=options,
    )


@contextmanager
def _quiet_gdal():
    # pyogrio warns when it drops M values from measured lines (Boston's centerlines); harmless here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Measured \\(M\\) geometry types")
        yield


def read_batches(source: Source, *, columns: list[str], batch_size: int) -> Iterator[Batch]:
    """Batches of features with only ``columns`` decoded; row numbers count from 1."""
    row = 1
    try:
        with _quiet_gdal(), pyogrio.raw.open_arrow(
            source.path,
            layer=source.layer,
            columns=columns,
            return_fids=True,
            batch_size=batch_size,
            use_pyarrow=True,
            **source.open_options,
        ) as (meta, reader):
            geom_col = meta.get("geometry_name") or "wkb_geometry"
            for record_batch in reader:
                yield _decode(record_batch, geom_col, columns, row)
                row += record_batch.num_rows
    except (DataSourceError, DataLayerError, FieldError) as exc:
        raise SourceError(f"cannot read {source.path.name} at row {row}: {str(exc).strip()}") from exc


def _decode(rb: pa.RecordBatch, geom_col: str, columns: list[str], first_row: int) -> Batch:
    names = rb.schema.names
    fid_col = "OGC_FID" if "OGC_FID" in names else None
    n = rb.num_rows
    fids = (
        rb.column(fid_col).to_numpy(zero_copy_only=False)
        if fid_col
        else np.arange(first_row - 1, first_row - 1 + n)
    )
    wkb = rb.column(geom_col) if geom_col in names else None
    decoded = {name: rb.column(name) for name in columns if name in names}
    return Batch(first_row=first_row, rows=n, fids=fids, wkb=wkb, columns=decoded)
