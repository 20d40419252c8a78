"""The Python API: the three things the ``boundaries`` command does, without a shell.

Each keyword is the command's option of the same name (``--frontage-step-m 10`` is
``frontage_step_m=10``), with the same default and unit; the descriptions below and
in :class:`boundaries.Parameters` are the ones ``boundaries … --help`` prints.

>>> import boundaries
>>> result = boundaries.build("fixtures/town/addresses.csv", "fixtures/town/communes.geojson", jobs=1)
>>> len(result.stations), result.report.stations_out
(14, 14)
>>> problems = boundaries.check(result.stations, "fixtures/town/communes.geojson")
>>> problems.ok()
True
"""

from __future__ import annotations

import functools

from .errors import InputError, option
from .params import Parameters


def _documented(doc: str):
    """Give the decorated function ``doc`` as its docstring (``help()``, Sphinx and ``--help`` read it)."""
    def decorate(func):
        func.__doc__ = doc
        return func

    return decorate


#: :func:`build`'s docstring: the one description of each build keyword, which ``boundaries build
#: --help`` prints too (:func:`option_help`); kept beside the function it documents.
_BUILD_DOC = """Build the polygon of every polling station: read → clean → tessellate → repair → check.

Every commune is partitioned exactly between its stations and checked; rows that
cannot be used are counted by reason in the report, and every station of the
selected communes is either given a polygon or listed with the reason why not.

Parameters
----------
addresses : str, pathlib.Path, pandas.DataFrame or pyarrow.Table
    The REU address table (CSV, CSV.gz, Parquet) or any point table or layer with
    named columns (GeoPackage, GeoJSON…), as a path or already in memory.
communes : str, pathlib.Path or geopandas.GeoDataFrame
    Commune outlines: any vector file GDAL reads (GeoJSON, shapefile, GeoPackage).
method : {"hull", "voronoi", "auto"}, default "hull"
    How station cells are drawn: hull — each station's concave-hull core first, the
    rest of the commune by Voronoi (the default: it draws the official maps' area
    best); voronoi — the Voronoi cells of the addresses; auto — per commune, hull
    unless an internal hold-out finds it places more than ``auto_max_loss`` fewer
    addresses in their own station (the report's ``method_reason`` says which and why).
departement : str or list of str, optional
    Keep only this département (94, 2A, 974); several are built one at a time
    (see work_dir). With no département or commune selected, a table that covers
    several départements is built one département at a time too, in bounded memory.
commune : str or list of str, optional
    Keep only this commune (INSEE code; 75056 selects Paris's arrondissements).
all_departements : bool
    Build every département of the table, one at a time (see work_dir).
work_dir : str, optional
    When départements are built one at a time: folder of the table's split and of
    the per-département parts, reused by a rerun when their inputs and options are
    unchanged (default: a temporary folder, removed afterwards).
id_column : str, optional
    Station id column (default id_brut_bv_reu).
commune_column : str, optional
    Commune code column (default code_commune_ref).
x_column : str, optional
    Longitude/x column (default longitude).
y_column : str, optional
    Latitude/y column (default latitude).
crs : str, optional
    CRS of the coordinates (default EPSG:4326, or the layer's).
commune_field : str, optional
    Commune code field of the outlines (detected among code, code_insee, INSEE_COM,
    insee, codgeo, INSEE_ARM: the one holding most of the addresses' communes).
communes_layer : str, optional
    The layer of communes to read, when its file has several (a GeoPackage): needed
    when more than one layer holds polygons.
addresses_layer : str, optional
    The layer of addresses to read, when the address file is a vector file of several
    layers (a GeoPackage): needed when more than one layer holds points.
streets : str or pathlib.Path, optional
    Street centre-lines (any line layer GDAL reads: GeoJSON, GeoPackage, shapefile,
    FlatGeobuf; OSM highways, BD TOPO troncon_de_route): communes they cross are cut
    into blocks along them and built by the streets method (boundaries.blocks),
    unless parcels or buildings reach them; footpaths, steps and tunnels are left
    out (boundaries.land).
streets_layer : str, optional
    The layer of streets to read, when its file has several: needed when more than
    one layer holds lines.
parcels : str or pathlib.Path, optional
    Cadastral parcels (any polygon layer GDAL reads): communes they reach are built
    by the parcels method (boundaries.parcels): each parcel goes whole to the
    station of its addresses, parcels without address to the station whose Voronoi
    cell covers most of them; first of the land layers where several reach a
    commune. Parcels flagged buildable 0 (road strips) are left out (boundaries.land).
parcels_layer : str, optional
    The layer of parcels to read, when its file has several: needed when more than
    one layer holds polygons.
buildings : str or pathlib.Path, optional
    Building footprints (any polygon layer GDAL reads): communes they reach, and no
    parcels, are built by the buildings method (boundaries.parcels): each footprint,
    grown by 6 m to stand for its lot, goes to the station of its addresses; lots
    without address and the space between them keep the Voronoi cells.
buildings_layer : str, optional
    The layer of buildings to read, when its file has several: needed when more
    than one layer holds polygons.
holdout : float
    Keep this share (0 to 0.9) of unique coordinates out of the build and report how
    many of those addresses fall inside their own station (accuracy without any
    official map).
seed : int
    Seed of the holdout choice (0 to 4,294,967,295).
simplify : float or str, optional
    Simplify borders by this tolerance (0 to 10,000 m), or a level: fine (1 m), web (10 m,
    under two pixels up to zoom 15), overview (50 m). Neighbours keep one shared
    edge and each commune stays exactly partitioned (checked).
results : str or pandas.DataFrame, optional
    A results table (CSV or Parquet, one row per station) whose columns are copied
    onto the stations, matched on codeBureauVote (94028_0012) or id_bv (94028_12); Paris,
    Lyon, Marseille's 75056_101 matches 75101_1. A table matching no station is refused.
results_id : str, optional
    Station-id column of results (detected).
jobs : int
    Build communes in this many processes, largest first (0: all cores; at most
    1,024). Same output for any value.
scheduler : str, optional
    Dask scheduler (tcp://host:8786) to run the tasks on, or 'local' for a local
    cluster of jobs workers; needs pip install 'boundaries[cluster]'.
progress : callable, optional
    Python only: progress(total) returns a context manager with update(n), a
    progress bar over the communes (click.progressbar(length=total) fits).
params : Parameters, optional
    Tolerances and thresholds as one object; keywords named like its fields
    (outside_tolerance_m=50, ...) override it.
columns : AddressColumns, optional
    The four column names as one object; id_column, commune_column, x_column and
    y_column override it.
**options
    Any field of :class:`boundaries.Parameters`, by name, in its unit
    (``frontage_step_m=10``, ``hull_ratio=0.5``).

Returns
-------
BuildResult
    ``.stations`` (GeoDataFrame, EPSG:4326, the columns of the files), ``.report``
    (:class:`boundaries.Report`), ``.communes`` (the outlines used);
    ``.write(path)`` writes them.

Raises
------
InputError
    Bad input or option: one line saying what, where and how to fix it.
PartitionError
    A commune's stations failed the partition check (a bug; nothing is returned).
"""


@_documented(_BUILD_DOC)
def build(addresses, communes, method: str = "hull", departement=None, commune=None, *,
          params: Parameters | None = None, columns=None, **options):
    from .pipeline import run
    from .request import BuildRequest

    return run(BuildRequest.create(addresses, communes, method=method, departement=departement, commune=commune,
                                   params=params, columns=columns, **options))


def check(stations, communes=None, *, id_field: str | None = None, station_commune_field: str | None = None,
          commune_field: str | None = None, min_area_m2: float = 1.0, min_width_m: float = 0.05,
          layer: str | None = None, communes_layer: str | None = None, outline_tolerance_m: float = 30.0,
          addresses=None, build_report=None):
    """Validate any station layer (ours or another tool's) against commune outlines.

    Finds null and invalid geometries, duplicate ids, stations of communes without
    outline, stations of the addresses missing from the layer, overlaps, gaps, area
    outside the commune, gaps and spills along the outline (warnings: an outline
    mismatch), and stations in several parts (a warning unless strict). Areas are
    measured in each territory's metric CRS; each problem has a point in WGS84.

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        The station layer.
    communes : str, pathlib.Path or geopandas.GeoDataFrame, optional
        Commune outlines: any vector file GDAL reads. Default: a GeoPackage's own communes layer.
    id_field : str, optional
        Station id field (detected among id_bv, code_bv, codeBureauVote, id_brut_bv_reu…).
    station_commune_field : str, optional
        Commune field of the stations (detected, else the id's {insee}_ prefix).
    commune_field : str, optional
        Commune code field of the outlines (detected).
    min_area_m2 : float
        An overlap, gap or spill part smaller than this (m²) is ignored.
    min_width_m : float
        An overlap, gap or spill part thinner than this on average (m) is rounding noise.
    layer : str, optional
        The layer of stations to read, when its file has several polygon layers.
    communes_layer : str, optional
        The layer of communes to read, when its file has several polygon layers.
    outline_tolerance_m : float
        A gap or spill within this distance (m) of the commune outline is an outline
        mismatch (outline_gap, outline_spill: warnings), not a hole or a spill inside;
        0 makes them all problems.
    addresses : str, pathlib.Path, pandas.DataFrame or boundaries.read.AddressTable, optional
        The address table the layer was built from: its stations (in communes of the
        outlines) absent from the layer are named as missing_station problems. Columns
        named otherwise: give ``read_addresses(path, AddressColumns(station=…, …))``.
    build_report : str or pathlib.Path, optional
        The layer's build report (.report.json): each station it built (its
        stations_built) absent from the layer is a missing_station problem.

    Returns
    -------
    LayerCheck
        ``.ok(strict=False)``, ``.errors(strict=False)``, ``.warnings(strict=False)``,
        ``.problems`` (worst first, each with ``kind``, ``severity``, ``commune``,
        ``stations``, ``area_m2``, ``width_m``, ``point`` (lon, lat), ``detail`` and
        ``geometry`` in WGS84), ``.totals``, ``.to_dict()``.
    """
    from .checks import check_stations
    from .read import outlines_or_own

    communes, communes_layer = outlines_or_own(stations, communes, communes_layer)
    if communes is None:
        raise InputError(f"no commune outlines to check the stations against: give {option('communes')} "
                         "(only a GeoPackage written by boundaries build holds its own)")
    return check_stations(stations, communes, id_field=id_field, station_commune_field=station_commune_field,
                          commune_field=commune_field, min_area_m2=min_area_m2, min_width_m=min_width_m,
                          layer=layer, communes_layer=communes_layer, outline_tolerance_m=outline_tolerance_m,
                          addresses=addresses, build_report=build_report)


def evaluate(stations, *, reference=None, holdout=None, id_field: str | None = None,
             reference_field: str | None = None, id_column: str | None = None, commune_column: str | None = None,
             x_column: str | None = None, y_column: str | None = None, crs: str | None = None,
             layer: str | None = None, reference_layer: str | None = None, addresses_layer: str | None = None,
             station_commune_field: str | None = None, reference_commune_field: str | None = None):
    """Score a station layer against official polygons (reference) or held-out addresses (holdout).

    Station ids are matched across the REU form (94068_7) and the results form (94068_0007).

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        The station layer to score (ours or any tool's).
    reference : str, pathlib.Path or geopandas.GeoDataFrame, optional
        Official station polygons to compare with (IoU, area given to the right station).
    holdout : str, pathlib.Path, pandas.DataFrame or pyarrow.Table, optional
        Held-out address table: share of its addresses inside their own station's polygon.
    id_field : str, optional
        Station id field of the stations (detected).
    reference_field : str, optional
        Station id field of the reference (detected).
    station_commune_field : str, optional
        Commune code field of the stations (detected; else the ids' commune prefix).
    reference_commune_field : str, optional
        Commune code field of the reference (detected; else the ids' commune prefix).
    id_column, commune_column, x_column, y_column : str, optional
        Columns of the test addresses, as for build.
    crs : str, optional
        CRS of the test addresses (default EPSG:4326).
    layer : str, optional
        The layer of stations to read, when its file has several polygon layers.
    reference_layer : str, optional
        The layer of the reference to read, when its file has several polygon layers.
    addresses_layer : str, optional
        The layer of the test addresses to read, when their file has several point layers.

    Returns
    -------
    Scores
        ``.summary`` (a flat dict: ``mode``, then ``iou_mean``, ``iou_median``,
        ``iou_min``, ``area_right``… or ``test_points``, ``own_station``,
        ``uncovered``) and ``.per_station`` (a DataFrame).
    """
    from .read import AddressColumns, check_crs
    from .scoring import evaluate as score

    if (reference is None) == (holdout is None):
        raise InputError("give exactly one of reference or holdout")
    check_crs(crs)  # before the stations are read
    return score(stations, reference=reference, holdout=holdout, id_field=id_field, reference_field=reference_field,
                 columns=AddressColumns(station=id_column, commune=commune_column, x=x_column, y=y_column), crs=crs,
                 layer=layer, reference_layer=reference_layer, addresses_layer=addresses_layer,
                 station_commune_field=station_commune_field, reference_commune_field=reference_commune_field)


@functools.cache
def refresh_doc() -> str:
    """:func:`boundaries.refresh.refresh`'s docstring (the help of ``boundaries refresh``'s options)."""
    from .refresh import refresh

    return refresh.__doc__


@functools.cache
def crosswalk_doc() -> str:
    """:func:`boundaries.crosswalk.crosswalk`'s docstring (the help of ``boundaries crosswalk``'s options)."""
    from .crosswalk import crosswalk

    return crosswalk.__doc__


@functools.cache
def profile_doc() -> str:
    """:func:`boundaries.profile.profile`'s docstring (the help of ``boundaries profile``'s options)."""
    from .profile import profile

    return profile.__doc__


def option_help() -> dict[str, str]:
    """Every option's one description, by keyword: what ``--help`` prints (a parameter's with its range)."""
    from dataclasses import fields

    from .params import numpydoc_items

    ranges = {f.name: f.metadata["range"] for f in fields(Parameters)}
    return {
        **{k: f"{v} Range: {ranges[k]}." for k, v in numpydoc_items(Parameters.__doc__, "Attributes").items()},
        **numpydoc_items(build.__doc__, "Parameters"),
        **{f"check.{k}": v for k, v in numpydoc_items(check.__doc__, "Parameters").items()},
        **{f"evaluate.{k}": v for k, v in numpydoc_items(evaluate.__doc__, "Parameters").items()},
        **{f"refresh.{k}": v for k, v in numpydoc_items(refresh_doc(), "Parameters").items()},
        **{f"crosswalk.{k}": v for k, v in numpydoc_items(crosswalk_doc(), "Parameters").items()},
        **{f"profile.{k}": v for k, v in numpydoc_items(profile_doc(), "Parameters").items()},
    }
