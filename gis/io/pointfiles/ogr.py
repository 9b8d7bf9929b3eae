"""Anything else GDAL/OGR reads (shapefile, GeoPackage, KML, FlatGeobuf...) through pyogrio."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS

from gis.io.pointfiles.common import (
    _Collector,
)
from gis.io.pointfiles.crs import (
    _crs_label,
    _is_wgs84_like,
    _Reprojector,
)
from gis.io.pointfiles.geojson import (
    _json_point,
)
from gis.io.pointfiles.model import (
    PointFileError,
)


def _plain(value: Any) -> Any:
    """Return a JSON-friendly Python value for a dataframe cell."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _read_ogr(path: Path, out: _Collector) -> None:
    """Read points from every layer of a file GDAL/OGR can open, via pyogrio."""
    import pyogrio
    import shapely

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        info = pyogrio.read_info(path, layer=layers[0]) if layers else {}
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise PointFileError(f"{path.name}: not a readable point file ({exc})") from None
    if not layers:
        raise PointFileError(f"{path.name}: not a readable point file (no layers found)")
    out.result.file_format = f"ogr:{info.get('driver', '?')}"
    crs_labels: set[str] = set()
    for layer in layers:
        try:
            frame = pyogrio.read_dataframe(path, layer=layer)
        except Exception as exc:
            raise PointFileError(f"{path.name}: cannot read layer {layer!r} ({exc})") from None
        crs = CRS.from_user_input(frame.crs) if frame.crs is not None else None
        if crs is None:
            out.warn(f"layer {layer!r} has no CRS; taken as EPSG:4326 lon/lat")
            label = "EPSG:4326"
        else:
            label = _crs_label(crs)
            if not _is_wgs84_like(crs):
                out.warn(f"layer {layer!r} is in {label}; transformed to EPSG:4326")
        crs_labels.add(label)
        reproject = _Reprojector(crs, label)
        columns = [c for c in frame.columns if c != frame.geometry.name]
        for row, geom in zip(frame[columns].itertuples(index=False), frame.geometry, strict=True):
            properties = {str(k): _plain(v) for k, v in zip(columns, row, strict=True)}
            if len(layers) > 1:
                properties["layer"] = layer
            raw = {"layer": layer, "properties": properties}
            if geom is None or geom.is_empty:
                out.reject("no geometry / 无几何", raw)
                continue
            raw["geometry"] = {"type": geom.geom_type}
            if geom.geom_type == "Point":
                parts = [geom]
            elif geom.geom_type == "MultiPoint":
                parts = list(geom.geoms)
            else:
                out.reject(f"not a point: {geom.geom_type} / 不是点要素：{geom.geom_type}", raw)
                continue
            for part_no, part in enumerate(parts):
                props = dict(properties)
                if len(parts) > 1:
                    props["part"] = part_no
                position = list(shapely.get_coordinates(part, include_z=part.has_z)[0])
                _json_point(
                    [float(v) for v in position],
                    properties=props,
                    raw={**raw, "coordinates": position},
                    reproject=reproject,
                    out=out,
                )
    out.result.crs = ",".join(sorted(crs_labels)) or "EPSG:4326"
