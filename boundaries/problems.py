"""Where a check's problems are: a point and a shape in WGS84, and the ``--problems`` layer.

:func:`locate` gives each :class:`~boundaries.checks.Problem` found in some CRS its
shape in WGS84 and a representative point (``shapely.point_on_surface`` of its largest
part, so the point lies on the problem, not between its parts), rounded to 6 decimals
(about 10 cm). :func:`write_problems` writes one point per problem, GeoPackage (layer
``problems``, and ``problem_areas``: the polygons) or GeoJSON by extension, to load in QGIS.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import shapely

#: The attributes of the problems layer, in order (the geometry comes last).
PROBLEM_COLUMNS = ("kind", "severity", "commune", "stations", "area_m2", "width_m", "longitude", "latitude",
                   "detail")
#: The extensions ``--problems`` accepts, and the format of each.
PROBLEM_FORMATS = {".gpkg": "gpkg", ".geojson": "geojson"}
#: The layers' names in a GeoPackage: a point per problem, and the problems' polygons.
PROBLEM_LAYER = "problems"
AREAS_LAYER = "problem_areas"
#: Decimals of a problem's point (6: about 10 cm).
POINT_DECIMALS = 6


def largest_parts(geoms: np.ndarray) -> np.ndarray:
    """Each geometry's largest part (by area; the first when none has an area)."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return geoms
    parts, index = shapely.get_parts(geoms, return_index=True)
    if not len(parts):
        return geoms
    best = pd.Series(shapely.area(parts)).groupby(index).idxmax()
    out = geoms.copy()
    out[best.index.to_numpy()] = parts[best.to_numpy()]
    return out


def mean_width(geoms) -> np.ndarray:
    """Mean width of each geometry: 2 × area / perimeter (a strip of width w has w; a disc of diameter d, d / 2)."""
    geoms = np.asarray(geoms, dtype=object)
    return 2 * shapely.area(geoms) / np.maximum(shapely.length(geoms), 1e-12)


def locate(problems: list, crs) -> list:
    """``problems`` with their ``geometry`` (given in ``crs``) in WGS84 and their ``point``.

    A problem without a geometry (or with an empty one) is returned as it is. ``crs``
    None means the geometries are in WGS84 already.
    """
    import geopandas as gpd

    geoms = np.array([p.geometry for p in problems] + [None], dtype=object)[:-1]
    have = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms))) if len(geoms) else []
    if not len(have):
        return [replace(p, geometry=None) for p in problems]
    points = shapely.point_on_surface(largest_parts(geoms[have]))
    if crs is not None:
        both = gpd.GeoSeries(np.concatenate([geoms[have], points]), crs=crs).to_crs("EPSG:4326")
        both = both.values.to_numpy()
        geoms[have], points = both[: len(have)], both[len(have):]
    lon = np.round(shapely.get_x(points), POINT_DECIMALS)
    lat = np.round(shapely.get_y(points), POINT_DECIMALS)
    out = [replace(p, geometry=None) for p in problems]
    for j, i in enumerate(have):
        ok = np.isfinite(lon[j]) and np.isfinite(lat[j])
        out[i] = replace(problems[i], geometry=geoms[i], point=(float(lon[j]), float(lat[j])) if ok else None)
    return out


def problems_frame(problems: list, areas: bool = False):
    """The problems layer: :data:`PROBLEM_COLUMNS` and each problem's point (null without a place).

    With ``areas``, the problems that have a polygon (gap, spill, overlap, a station's
    detached pieces), each as a MultiPolygon.
    """
    import geopandas as gpd

    if areas:
        problems = [p for p in problems if p.geometry is not None and shapely.get_type_id(p.geometry) in (3, 6)]
        geom = [shapely.multipolygons(shapely.get_parts(p.geometry)) for p in problems]
    else:
        geom = [shapely.Point(p.point) if p.point is not None else None for p in problems]
    rows = [p.to_dict() for p in problems]
    table = {c: [r.get(c) for r in rows] for c in PROBLEM_COLUMNS}
    table["stations"] = [", ".join(map(str, r["stations"])) for r in rows]
    frame = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geom, crs="EPSG:4326").values, crs="EPSG:4326")
    for c in ("area_m2", "width_m", "longitude", "latitude"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    return frame


def problems_format(path: str) -> str:
    """The format of a problems file from its extension (checked by the caller with :func:`boundaries.write.check_output_path`)."""
    from pathlib import Path

    return PROBLEM_FORMATS[Path(path).suffix.lower()]


def write_problems(problems: list, path: str) -> None:
    """Write ``problems`` (located, see :func:`locate`) to ``path`` atomically: GeoPackage or GeoJSON (RFC 7946).

    One point feature per problem (null geometry for one without a place, e.g. a
    missing station with no geocoded address). A GeoPackage adds the layer
    :data:`AREAS_LAYER`: the polygon of each problem that has one, same attributes.
    Each layer has one geometry type, so every client (QGIS types a layer by its
    features) draws all of it.
    """
    import pyogrio

    from .outputs import atomic_path

    with atomic_path(path) as tmp:
        if problems_format(path) == "gpkg":
            gpkg = {"driver": "GPKG", "dataset_options": {"VERSION": "1.2"}}
            pyogrio.write_dataframe(problems_frame(problems), tmp, layer=PROBLEM_LAYER, geometry_type="Point", **gpkg)
            pyogrio.write_dataframe(problems_frame(problems, areas=True), tmp, layer=AREAS_LAYER, append=True,
                                    geometry_type="MultiPolygon", **gpkg)
        else:
            pyogrio.write_dataframe(problems_frame(problems), tmp, layer=PROBLEM_LAYER, driver="GeoJSON",
                                    geometry_type="Point", layer_options={"RFC7946": "YES"})
