"""Land layers: the street centre-lines a build may follow (``streets``).

:func:`read_streets` reads any line layer GDAL reads (GeoJSON, GeoPackage,
shapefile, FlatGeobuf…), local files only, and keeps the lines that separate land,
by the named rules below; :func:`streets_by_unit` reprojects them to each
territory's metric CRS and clips them to each outline unit.

The rules, on the fields a layer has (names compared case-insensitively):

- OpenStreetMap ``highway`` in :data:`OSM_DROPPED_HIGHWAYS` (footpaths, steps,
  cycleways, corridors): dropped — they run through blocks, not between them;
- OpenStreetMap ``tunnel`` other than ``no``: dropped (a tunnel cuts no land);
- BD TOPO ``troncon_de_route`` ``nature`` in :data:`BDTOPO_DROPPED_NATURES`: dropped;
  ``pos_sol`` below 0 (underground): dropped.

Motorways are kept: a motorway does separate land. A layer without these fields
(a city's street list, Paris's ``streets.geojson``) is kept whole.
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
