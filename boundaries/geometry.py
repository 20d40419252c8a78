"""Small vectorised geometry helpers shared by the stages."""

from __future__ import annotations

import numpy as np
import shapely

POLYGONAL_TYPES = (3, 6)  # Polygon, MultiPolygon


def polygonal_parts(geoms: np.ndarray, min_area_m2: float = 0.0) -> np.ndarray:
    """Keep the polygonal parts of each geometry, as one (Multi)Polygon each.

    Overlay results can be GeometryCollections holding the lines or points where
    two shapes only touch; those are dropped, and so are parts smaller than
    ``min_area_m2``. A geometry with nothing left becomes an empty MultiPolygon.
    """
    geoms = np.asarray(geoms, dtype=object)
    if (shapely.get_type_id(geoms) == 3).all() and (shapely.area(geoms) > min_area_m2).all():
        return geoms.copy()  # Polygons only (most calls): each is its own single part
    parts, index = shapely.get_parts(geoms, return_index=True)
    # make_valid can nest: GEOMETRYCOLLECTION (MULTIPOLYGON (...), LINESTRING (...)); explode
    # until flat, or the polygons inside the MultiPolygon would be lost
    nested = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
    while nested.any():
        sub, at = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][at]])
        nested = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > min_area_m2)
    out = np.empty(len(geoms), dtype=object)
    out[:] = [shapely.MultiPolygon()] * len(geoms)
    if keep.any():
        parts, index = parts[keep], index[keep]
        counts = np.bincount(index, minlength=len(geoms))
        single = counts == 1
        # One part: the polygon itself; several: a MultiPolygon of them.
        order = np.argsort(index, kind="stable")
        parts, index = parts[order], index[order]
        first = np.searchsorted(index, np.arange(len(geoms)))
        out[single] = parts[first[single]]
        for i in np.flatnonzero(counts > 1):
            out[i] = shapely.multipolygons(parts[first[i] : first[i] + counts[i]])
    return out


def as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Each Polygon as a one-part MultiPolygon, so a layer has one geometry type.

    QGIS types a layer from its first features and GDAL declares a layer's type from
    its geometries: a layer mixing Polygon and MultiPolygon is typed Polygon (QGIS's
    "Save as" then warns) or differs from file to file. Any empty geometry becomes
    ``MULTIPOLYGON EMPTY`` (snap-rounding an empty polygon gives ``LINEARRING EMPTY``,
    which would type the layer Unknown); other types and missing values are left as
    they are.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries (or None).

    Returns
    -------
    numpy.ndarray
        New array; the input is not changed.
    """
    out = np.array(geoms, dtype=object)
    empty = shapely.is_empty(out) & ~shapely.is_missing(out)
    single = (shapely.get_type_id(out) == 3) & ~empty
    if single.any():
        out[single] = shapely.multipolygons(out[single], indices=np.arange(int(single.sum())))
    out[empty] = [shapely.MultiPolygon()] * int(empty.sum())
    return out


def points_in_polygons(points: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (point, polygon) pair where the point lies in or on the polygon.

    The tree is built on the points and queried with the polygons, each prepared
    once for all its points: four times faster than a tree of polygons queried
    point by point, where each polygon is tested unprepared for every point.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Point and polygon indices, sorted by point then polygon (so the first pair
        of a point names its lowest-numbered polygon).
    """
    if len(points) == 0 or len(polygons) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    poly, point = shapely.STRtree(points).query(polygons, predicate="intersects")
    order = np.lexsort((poly, point))
    return point[order], poly[order]


def group_indices(keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted unique keys and, for each, the positions where it occurs."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    return uniq, [order[bounds[i] : bounds[i + 1]] for i in range(len(uniq))]


#: Largest coordinate accepted in a projected CRS, in metres: the Earth's circumference is 4e7 m.
MAX_PROJECTED_M = 1e8
#: Coordinates checked at a time by :func:`vertex_faults` (16 bytes each): memory stays bounded.
_VERTEX_CHUNK = 1 << 22
#: What :func:`vertex_faults` finds in a geometry.
VERTEX_OK, VERTEX_NOT_FINITE, VERTEX_OUT_OF_RANGE = 0, 1, 2


def coordinate_limits(crs) -> tuple[float, float]:
    """The largest |x| and |y| a coordinate in ``crs`` can have: ±180/±90 in degrees, else
    :data:`MAX_PROJECTED_M` in the CRS's unit; infinite when the CRS is unknown."""
    from pyproj import CRS

    if crs is None:
        return np.inf, np.inf
    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        return 180.0, 90.0
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    limit = MAX_PROJECTED_M / (factor or 1.0)
    return limit, limit


def vertex_faults(geoms, crs) -> np.ndarray:
    """What is wrong with each geometry's vertices, vectorised.

    ``VERTEX_NOT_FINITE`` for a NaN or ±Infinity coordinate (GEOS cannot compute with
    it, and bounds skip NaN), ``VERTEX_OUT_OF_RANGE`` for one beyond
    :func:`coordinate_limits` of ``crs`` (1e300, or metres in a layer said to be in
    degrees), else ``VERTEX_OK``; missing and empty geometries are ``VERTEX_OK``.
    Coordinates are read in chunks of geometries, so a national layer of tens of
    millions of vertices never sits in memory as one array.
    """
    geoms = np.asarray(geoms, dtype=object)
    faults = np.zeros(len(geoms), dtype=np.int8)
    if not len(geoms):
        return faults
    x_max, y_max = coordinate_limits(crs)
    counts = shapely.get_num_coordinates(geoms)
    ends = np.searchsorted(np.cumsum(counts), np.arange(1, counts.sum() // _VERTEX_CHUNK + 1) * _VERTEX_CHUNK)
    start = 0
    for stop in [*np.unique(np.minimum(ends + 1, len(geoms))), len(geoms)]:
        if stop <= start:
            continue
        xy, index = shapely.get_coordinates(geoms[start:stop], return_index=True)
        finite = np.isfinite(xy).all(axis=1)
        with np.errstate(invalid="ignore"):
            beyond = finite & ((np.abs(xy[:, 0]) > x_max) | (np.abs(xy[:, 1]) > y_max))
        np.maximum.at(faults, start + index[beyond], VERTEX_OUT_OF_RANGE)
        faults[start + index[~finite]] = VERTEX_NOT_FINITE  # the worse fault wins
        start = stop
    return faults
