"""Recompute the derived fields of a station layer after hand edits (``boundaries refresh``).

A station file edited in QGIS (a vertex moved, a piece deleted, two stations merged)
keeps the ``area_m2``, ``n_parts`` and ``colour`` of the build: :func:`refresh`
recomputes them by the build's rules, checks the layer
(:func:`boundaries.checks.check_stations`) and writes it again, keeping its other
fields and, in a GeoPackage, its other layers (``communes``, ``dropped``) and its
``layer_styles`` table as they were.

The geometries are written as they were edited, only rounded to the output grid
(:func:`boundaries.write.to_wgs84` with ``repair=False``): an overlap or a gap a hand
edit made stays, for the check to report, and no station is changed to fit an
edited neighbour. Colours change only where needed: a station keeps its colour
unless the edit made it alike a neighbour's.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from . import codes
from .errors import InputError, option
from .read import gpkg_layers, own_communes_layer

#: Fields a layer must have to be refreshed: ours, not another tool's.
REQUIRED_FIELDS = ("id_bv", "code_commune")
#: Fields :func:`refresh` recomputes.
DERIVED_FIELDS = ("area_m2", "n_parts", "colour")


@dataclass
class RefreshResult:
    """What :func:`refresh` returns.

    Attributes
    ----------
    stations : geopandas.GeoDataFrame
        The layer as written (EPSG:4326, on the output grid), derived fields recomputed.
    output : str
        The file written.
    changed : dict
        For each of :data:`DERIVED_FIELDS`, how many stations got another value.
    check : boundaries.checks.LayerCheck or None
        The check of the refreshed layer; None when no commune outlines were at hand.
    """

    stations: object
    output: str
    changed: dict
    check: object = None


def refresh(stations, output=None, *, in_place: bool = False, communes=None, layer: str | None = None,
            communes_layer: str | None = None) -> RefreshResult:
    """Recompute ``area_m2``, ``n_parts`` and ``colour`` of a station file of ours, check it and write it.

    The geometries are written as read, rounded to the output grid (each vertex to
    the nearest, a polygon rounding made invalid snap-rounded, repeated vertices
    dropped): nothing else is repaired, so the check finds the overlaps, gaps and
    invalid polygons a hand edit made, as ``boundaries check`` finds them in the
    edited file (areas within that rounding). An area within
    :data:`AREA_TOLERANCE_M2_PER_M` of the one written is kept as written; a colour
    is kept unless a neighbour's is the same (then the unedited station keeps it).

    Parameters
    ----------
    stations : str or pathlib.Path
        A station file written by ``boundaries build`` (any output format), maybe edited by hand.
    output : str, optional
        The file to write, in the format its extension says. Required unless ``in_place``.
    in_place : bool
        Replace ``stations`` itself, atomically, keeping its permission bits.
    communes : path or GeoDataFrame, optional
        Commune outlines for the check; default: the GeoPackage's ``communes`` layer.
        Without either, nothing is checked.
    layer, communes_layer : str, optional
        The station layer of a file of several (default ``stations``), and the
        outlines' layer in ``communes``.

    Returns
    -------
    RefreshResult

    Raises
    ------
    InputError
        No output (or both an output and ``in_place``), an output that is the input,
        a file that cannot be read, or a layer that is not ours (no ``id_bv`` or
        ``code_commune`` field).
    """
    from .read import check_file, check_local_path
    from .write import gdal_config, output_format

    src = Path(stations)
    check_local_path(stations, "STATIONS file", "STATIONS")
    check_file(src, "station", "STATIONS")
    out = _target(src, output, in_place)
    fmt = output_format(str(out))
    # GDAL would leave a stations.gpkg.aux.xml beside a GeoPackage it reads: not ours to write
    with gdal_config(GDAL_PAM_ENABLED="NO"):
        return _refresh(src, out, fmt, communes, layer, communes_layer)


def _refresh(src: Path, out: Path, fmt: str, communes, layer, communes_layer) -> RefreshResult:
    """:func:`refresh` once its arguments are checked: read, recompute, check, write."""
    from .read import read_station_file
    from .write import to_wgs84

    where = f"station file {src}"
    original = read_station_file(src, where, layer)
    _check_ours(original, where)
    # Only what the output grid needs (repair=False): each vertex rounded on its own,
    # so a vertex two stations share stays shared and untouched stations, read from
    # an output already on the grid, stay exactly as they were. The build's clean-up
    # of a commune's coverage (coverage_clean) is not run: it would resolve a hand
    # edit's overlap or gap by moving land between stations, the edited one and its
    # untouched neighbours alike, and the check would then find nothing to report.
    gdf = to_wgs84(original, repair=False)
    differs = _recompute(gdf, original)
    changed = {k: int(v.sum()) for k, v in differs.items()}
    outlines = communes if communes is not None else _own_communes(src)
    result = None
    if outlines is not None:
        from .checks import check_stations

        result = check_stations(gdf, outlines, communes_layer=communes_layer)
    _write(gdf, src, out, fmt, layer or "stations")
    return RefreshResult(gdf, str(out), changed, result)


def _target(src: Path, output, in_place: bool) -> Path:
    """The file to write: ``output``, or ``src`` itself with ``in_place``; refused when neither or both."""
    from .write import check_output_path

    if in_place and output:
        raise InputError(f"give {option('output')} or {option('in_place')}, not both")
    if in_place:
        check_output_path(str(src), what="station file", option="STATIONS")
        return src
    if not output:
        raise InputError(f"no output: give {option('output')} OUT, or {option('in_place')} to replace "
                         f"{src} itself")
    check_output_path(str(output), [str(src)], what="output", option="-o")
    return Path(output)


def _check_ours(gdf, where: str) -> None:
    """Refuse a layer without the fields a ``boundaries build`` output always has."""
    missing = [f for f in REQUIRED_FIELDS if f not in gdf.columns]
    if missing:
        raise InputError(f"{where} has no {' or '.join(missing)} field, so it is not a station layer written by "
                         "boundaries build; refresh recomputes only those (use boundaries check for any layer)")


def _recompute(gdf, original) -> dict:
    """Set ``area_m2``, ``n_parts`` and ``colour`` of a WGS84 layer on the output grid, in place.

    As the build computes them: the area in the territory's metric CRS (m², one
    decimal; kept as written when within :data:`AREA_TOLERANCE_M2_PER_M`), the
    number of polygons, and colours from the stations within
    :data:`~boundaries.colouring.COLOUR_GAP_M` of each other across communes
    (:func:`boundaries.stations.colour_neighbours`), each station keeping its colour
    unless it now clashes with a neighbour's (:func:`_colours`).

    Returns
    -------
    dict
        For each of :data:`DERIVED_FIELDS`, which stations got another value (bool array).
    """
    import geopandas as gpd

    from .stations import metric_geometries

    deps = gdf["code_departement"] if "code_departement" in gdf.columns else None
    if deps is None or deps.isna().any():
        deps = codes.departement_of(gdf["code_commune"].astype("string").fillna("").to_numpy(dtype=object))
    frame = gpd.GeoDataFrame({"code_departement": np.asarray(deps, dtype=object)},
                             geometry=gdf.geometry.values, crs=gdf.crs)
    metric = metric_geometries(frame)
    gdf["area_m2"] = np.round(shapely.area(metric), 1)
    gdf["n_parts"] = shapely.get_num_geometries(gdf.geometry.values.to_numpy())
    tolerance = AREA_TOLERANCE_M2_PER_M * np.nan_to_num(shapely.length(metric)) + 0.1
    differs = {"area_m2": _differs(original, gdf, "area_m2", tolerance), "n_parts": _differs(original, gdf, "n_parts")}
    if "area_m2" in original.columns:  # an area within rounding of the one written stays as written
        gdf["area_m2"] = np.where(differs["area_m2"], gdf["area_m2"], original["area_m2"].to_numpy())
    edited = differs["area_m2"] | differs["n_parts"] | _off_grid(original)
    gdf["colour"] = _colours(frame, gdf, _old_colours(original), edited)
    differs["colour"] = _differs(original, gdf, "colour")
    return differs


def _off_grid(original) -> np.ndarray:
    """Which stations have a vertex off the output grid: edited since written (an output is on it)."""
    from .write import OUTPUT_GRID

    geoms = original.to_crs("EPSG:4326").geometry.values.to_numpy()
    return ~shapely.equals_exact(geoms, shapely.set_precision(geoms, OUTPUT_GRID, mode="pointwise"), tolerance=0.0)


def _old_colours(original) -> np.ndarray:
    """The colours as written: -1 where none, or not a colour index (not a whole number from 0 to 2**31)."""
    if "colour" not in original.columns:
        return np.full(len(original), -1, dtype=np.int64)
    c = pd.to_numeric(original["colour"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(c) & (c >= 0) & (c < 2 ** 31) & (c == np.floor(c))
    return np.where(ok, np.nan_to_num(c), -1).astype(np.int64)


def _colours(frame, gdf, old: np.ndarray, edited: np.ndarray) -> np.ndarray:
    """Colours that change only where a hand edit made two neighbours alike, or a station is new.

    A station keeps its colour unless a neighbour keeps the same one; of two such
    neighbours, an unedited station (same area and parts as written, vertices on the
    output grid) keeps it before an edited one, then the first in the build's order (commune, number, id). The
    stations left (clashing, or without a colour) are coloured by the build's rule,
    in that order (:func:`boundaries.colouring.greedy_colours`): deleting a station
    recolours none, and a fresh layer is coloured as the build colours it. The build's
    order matters (greedy colours depend on it): a FlatGeobuf lists its features in its
    index's order.
    """
    from .colouring import greedy_colours, kept_colours
    from .stations import colour_neighbours

    ids = gdf["id_bv"].astype("string").fillna("").to_numpy(dtype=object)
    order = np.lexsort((ids, codes.number_sort_key(codes.station_number(ids)),
                        gdf["code_commune"].astype("string").fillna("").to_numpy(dtype=object)))
    neighbours = colour_neighbours(frame.iloc[order])
    priority = np.argsort(edited[order], kind="stable")  # unedited first, each in the build's order
    colours = np.empty(len(gdf), dtype=np.int64)
    colours[order] = greedy_colours(neighbours, given=kept_colours(neighbours, old[order], priority))
    return colours


#: An area within this many m² per metre of the station's outline (plus 0.1 m², its rounding to one
#: decimal) of the one written is unchanged, and kept as written. The build measures areas before
#: rounding to the output grid, which moves each vertex by at most half the grid cell's diagonal
#: (7.9 mm at the equator), so the area by at most that much per metre of outline: 0.01 m² per m is
#: the outline moved by 1 cm (measured: at most 1 mm per metre on the Val-de-Marne and Finistère builds).
AREA_TOLERANCE_M2_PER_M = 0.01


def _differs(before, after, field: str, tolerance=0.0) -> np.ndarray:
    """Which stations' ``field`` changed by more than ``tolerance`` (a field absent before: changed everywhere)."""
    if field not in before.columns:
        return np.ones(len(after), dtype=bool)
    old = pd.to_numeric(before[field], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    new = pd.to_numeric(after[field], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return ~((np.abs(old - new) <= tolerance) | (np.isnan(old) & np.isnan(new)))


def _own_communes(src: Path):
    """The ``communes`` layer of a GeoPackage of ours, or None (other formats hold no outlines)."""
    if not own_communes_layer(src):
        return None
    import geopandas as gpd

    return gpd.read_file(src, layer="communes")


def _write(gdf, src: Path, out: Path, fmt: str, layer: str) -> None:
    """Write the refreshed layer; into a GeoPackage from one, the file is copied and ``layer``'s rows replaced.

    Copying keeps every other table (``communes``, ``dropped``, ``layer_styles``,
    the metadata) byte for byte, and the layers' order; only the stations' rows are
    written again. Other formats are written afresh (:func:`boundaries.write.write_stations`).
    """
    from .outputs import atomic_path
    from .write import write_stations

    if fmt != "gpkg" or layer not in gpkg_layers(src):
        write_stations(gdf, str(out), fmt, style_qml="auto" if fmt == "gpkg" else None, repair=False)
        return
    import pyogrio

    from .write import gdal_config, output_timestamp

    with atomic_path(out) as tmp:
        shutil.copyfile(src, tmp)
        _empty_layer(tmp, layer, DERIVED_FIELDS)
        multi = "Multi" in str(pyogrio.read_info(tmp, layer=layer).get("geometry_type"))
        with gdal_config(OGR_CURRENT_DATE=output_timestamp()):
            pyogrio.write_dataframe(gdf, tmp, layer=layer, driver="GPKG", append=True,
                                    promote_to_multi=multi or None)


#: SQLite types of the derived fields, added to a GeoPackage table that lost them.
_FIELD_TYPES = {"area_m2": "REAL", "n_parts": "INTEGER", "colour": "INTEGER"}


def _empty_layer(path: str, table: str, fields) -> None:
    """Delete every row of a GeoPackage table (its R-tree follows by its triggers), keeping the table.

    The table stays where it is, first among the layers (deleting and recreating it
    would list it last: tools that open a file's first layer would open ``communes``);
    its feature ids restart at 1, and ``fields`` it lacks are added.
    """
    import sqlite3

    con = sqlite3.connect(path)
    try:
        with con:
            have = {row[1] for row in con.execute(f'PRAGMA table_info("{table}")')}
            for f in fields:
                if f not in have:
                    con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{f}" {_FIELD_TYPES[f]}')
            con.execute(f'DELETE FROM "{table}"')
            con.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
    finally:
        con.close()
