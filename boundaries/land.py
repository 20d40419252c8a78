"""Land layers a build may follow: street centre-lines (``streets``), parcels (``parcels``), buildings (``buildings``).

:func:`read_streets` reads any line layer GDAL reads (GeoJSON, GeoPackage,
shapefile, FlatGeobuf…), local files only, and keeps the lines that separate land,
by the named rules below; :func:`streets_by_unit` reprojects them to each
territory's metric CRS and clips them to each outline unit. :func:`read_parcels`
and :func:`read_buildings` read polygon layers the same way (local files only, a
CRS required, polygons only, bad vertices refused), and :func:`polygons_by_unit`
reprojects and clips them to each outline unit.

The street rules, on the fields a layer has (names compared case-insensitively):

- OpenStreetMap ``highway`` in :data:`OSM_DROPPED_HIGHWAYS` (footpaths, steps,
  cycleways, corridors): dropped — they run through blocks, not between them;
- OpenStreetMap ``tunnel`` other than ``no``: dropped (a tunnel cuts no land);
- BD TOPO ``troncon_de_route`` ``nature`` in :data:`BDTOPO_DROPPED_NATURES`: dropped;
  ``pos_sol`` below 0 (underground): dropped.

Motorways are kept: a motorway does separate land. A layer without these fields
(a city's street list, Paris's ``streets.geojson``) is kept whole.

The parcel rule: a ``buildable`` field (Choisy's parcel layer) of
:data:`ROAD_STRIP_BUILDABLE` (0) marks strips of road or lanes, not lots: dropped
(measured better dropped, docs/land-parcels.md). Buildings are kept whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import codes
from .errors import InputError, option

#: OSM ``highway`` values dropped: ways through blocks, not between them.
OSM_DROPPED_HIGHWAYS = frozenset({"footway", "path", "steps", "cycleway", "bridleway", "corridor"})
#: BD TOPO ``nature`` values dropped (paths, stairs, tracks).
BDTOPO_DROPPED_NATURES = frozenset({"sentier", "escalier", "chemin"})
#: OSM ``tunnel`` values that are not tunnels.
NOT_TUNNEL = frozenset({"", "no"})
#: Shapely type ids of lines (LineString, LinearRing, MultiLineString).
LINE_TYPES = (1, 2, 5)
#: Shapely type ids of polygons (Polygon, MultiPolygon).
POLYGON_TYPES = (3, 6)
#: A parcel's ``buildable`` value that marks a strip of road or lanes (dropped).
ROAD_STRIP_BUILDABLE = 0


def read_streets(source, layer: str | None = None):
    """Read a street layer: its kept centre-lines (a GeoSeries in the file's CRS) and how many were dropped.

    Parameters
    ----------
    source : str or pathlib.Path
        A local vector file of lines.
    layer : str, optional
        The layer to read from a file of several (``streets_layer``).

    Raises
    ------
    InputError
        A URL or virtual path, a missing or unreadable file, no line layer or several,
        no line, no CRS, vertices that cannot be coordinates.
    """
    from .read import check_file, check_local_path, read_line_layer, refuse_bad_vertices

    check_local_path(source, "street file", option("streets"))
    path = Path(source)
    check_file(path, "street", option("streets"))
    where = f"street file {path}"
    try:
        gdf, _ = read_line_layer(path, layer, where, "streets_layer")
    except InputError:
        raise
    except Exception as exc:  # GDAL raises many kinds
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read {where} as a vector layer ({msg}); give GeoJSON, GeoPackage, "
                         "shapefile or FlatGeobuf") from None
    if gdf.crs is None:
        raise InputError(f"{where} has no CRS; add one (e.g. a .prj file, or ogr2ogr -a_srs EPSG:2154)")
    import shapely

    lines = np.isin(shapely.get_type_id(gdf.geometry.values), LINE_TYPES)
    if not lines.any():
        raise InputError(f"{where} has no line ({len(gdf):,} features, none a line): give the street "
                         f"centre-lines (LineString or MultiLineString) as {option('streets')}")
    gdf = gdf.loc[lines]
    refuse_bad_vertices(gdf.geometry.values, np.full(len(gdf), None, dtype=object), gdf.crs, where, "street")
    keep = kept_streets(gdf)
    return gdf.geometry[keep], int((~keep).sum())


def read_parcels(source, layer: str | None = None):
    """Read a parcel layer: its kept parcels (a GeoSeries in the file's CRS) and how many were dropped.

    Parameters
    ----------
    source : str or pathlib.Path
        A local vector file of polygons (cadastral parcels).
    layer : str, optional
        The layer to read from a file of several (``parcels_layer``).

    Raises
    ------
    InputError
        A URL or virtual path, a missing or unreadable file, no polygon layer or several,
        no polygon, no CRS, vertices that cannot be coordinates.
    """
    gdf = read_polygon_layer(source, layer, "parcels", "parcel", "the cadastral parcels")
    keep = kept_parcels(gdf)
    return gdf.geometry[keep], int((~keep).sum())


def read_buildings(source, layer: str | None = None):
    """Read a building layer: its footprints (a GeoSeries in the file's CRS) and how many were dropped (none).

    Parameters
    ----------
    source : str or pathlib.Path
        A local vector file of polygons (building footprints).
    layer : str, optional
        The layer to read from a file of several (``buildings_layer``).

    Raises
    ------
    InputError
        As :func:`read_parcels`.
    """
    gdf = read_polygon_layer(source, layer, "buildings", "building", "the building footprints")
    return gdf.geometry, 0


def read_polygon_layer(source, layer: str | None, keyword: str, what: str, give: str):
    """The polygon features of a land layer given as ``keyword`` (a GeoDataFrame), checked as streets are.

    ``what`` names one feature in messages (``parcel``); ``give`` says what to give instead.
    Features that are not polygons (in an untyped layer) are left out.
    """
    from .read import check_file, check_local_path, read_polygons, refuse_bad_vertices

    check_local_path(source, f"{what} file", option(keyword))
    path = Path(source)
    check_file(path, what, option(keyword))
    where = f"{what} file {path} ({option(keyword)})"
    try:
        gdf, _ = read_polygons(path, layer, None, where, f"{keyword}_layer")
    except InputError:
        raise
    except Exception as exc:  # GDAL raises many kinds
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read {where} as a vector layer ({msg}); give GeoJSON, GeoPackage, "
                         "shapefile or FlatGeobuf") from None
    if gdf.crs is None:
        raise InputError(f"{where} has no CRS; add one (e.g. a .prj file, or ogr2ogr -a_srs EPSG:2154)")
    import shapely

    polygons = np.isin(shapely.get_type_id(gdf.geometry.values), POLYGON_TYPES)
    if not polygons.any():
        raise InputError(f"{where} has no polygon ({len(gdf):,} features, none a polygon): give {give} "
                         f"(Polygon or MultiPolygon) as {option(keyword)}")
    gdf = gdf.loc[polygons]
    refuse_bad_vertices(gdf.geometry.values, np.full(len(gdf), None, dtype=object), gdf.crs, where, what)
    return gdf


def kept_parcels(gdf) -> np.ndarray:
    """Which rows of a parcel layer are lots, by the module's named rule (``buildable`` 0: a road strip)."""
    fields = {str(c).lower(): c for c in gdf.columns if c != gdf.geometry.name}
    if "buildable" not in fields:
        return np.ones(len(gdf), dtype=bool)
    import pandas as pd

    flag = pd.to_numeric(gdf[fields["buildable"]], errors="coerce").to_numpy(dtype=float)
    return ~(flag == ROAD_STRIP_BUILDABLE)


def kept_streets(gdf) -> np.ndarray:
    """Which rows of a street layer separate land, by the module's named rules."""
    fields = {str(c).lower(): c for c in gdf.columns if c != gdf.geometry.name}
    keep = np.ones(len(gdf), dtype=bool)

    def text(name):
        return gdf[fields[name]].astype("string").str.strip().str.lower().fillna("").to_numpy(dtype=object)

    if "highway" in fields:
        keep &= ~np.isin(text("highway"), list(OSM_DROPPED_HIGHWAYS))
    if "tunnel" in fields:
        keep &= np.isin(text("tunnel"), list(NOT_TUNNEL))
    if "nature" in fields:
        keep &= ~np.isin(text("nature"), list(BDTOPO_DROPPED_NATURES))
    if "pos_sol" in fields:
        import pandas as pd

        level = pd.to_numeric(gdf[fields["pos_sol"]], errors="coerce").to_numpy(dtype=float)
        keep &= ~(level < 0)
    return keep


def streets_by_unit(lines, unit_geom: dict) -> dict:
    """Each outline unit's street lines, in its territory's metric CRS, clipped to it.

    ``lines``: a GeoSeries with a CRS; ``unit_geom``: outline per unit, in each unit's
    metric CRS (:func:`boundaries.scope.project`). Units no line crosses are absent.
    """
    import shapely

    out = {}
    units = np.array(sorted(unit_geom), dtype=object)
    crs_of = np.array([codes.territory_crs(codes.departement_of(u)) for u in units], dtype=object)
    for crs in sorted(set(crs_of)):
        sel = units[crs_of == crs]
        metric = shapely.force_2d(lines.to_crs(crs).to_numpy())
        outlines = np.array([unit_geom[u] for u in sel], dtype=object)
        tree = shapely.STRtree(metric)
        unit_i, line_i = tree.query(outlines, predicate="intersects")
        clipped = shapely.intersection(metric[line_i], outlines[unit_i])
        ok = np.isin(shapely.get_type_id(clipped), LINE_TYPES) | (shapely.get_type_id(clipped) == 7)
        ok &= shapely.length(clipped) > 0
        for i in np.unique(unit_i[ok]):
            out[sel[i]] = clipped[ok & (unit_i == i)]
    return out


def polygons_by_unit(polygons, unit_geom: dict) -> dict:
    """Each outline unit's land polygons, in its territory's metric CRS, clipped to it.

    ``polygons``: a GeoSeries with a CRS; ``unit_geom``: outline per unit, in each unit's
    metric CRS (:func:`boundaries.scope.project`). Heights are dropped and invalid
    polygons made valid before clipping. Units no polygon reaches are absent.
    """
    import shapely

    from .geometry import polygonal_parts

    out = {}
    units = np.array(sorted(unit_geom), dtype=object)
    crs_of = np.array([codes.territory_crs(codes.departement_of(u)) for u in units], dtype=object)
    for crs in sorted(set(crs_of)):
        sel = units[crs_of == crs]
        metric = shapely.make_valid(shapely.force_2d(polygons.to_crs(crs).to_numpy()))
        outlines = np.array([unit_geom[u] for u in sel], dtype=object)
        unit_i, poly_i = shapely.STRtree(metric).query(outlines, predicate="intersects")
        shapely.prepare(outlines)
        clipped = metric[poly_i]
        # most polygons lie inside their unit: only those crossing its outline are clipped
        cross = ~shapely.contains_properly(outlines[unit_i], clipped)
        clipped[cross] = shapely.intersection(clipped[cross], outlines[unit_i][cross])
        clipped = polygonal_parts(clipped)
        ok = shapely.area(clipped) > 0
        for i in np.unique(unit_i[ok]):
            out[sel[i]] = clipped[ok & (unit_i == i)]
    return out
