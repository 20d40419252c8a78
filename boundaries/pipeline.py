"""The whole build, as one short function: read → scope → seed → tessellate → repair → check → assemble → report.

:func:`build` is that function, for one table in one process (its communes in
``jobs`` processes or on a Dask cluster); :func:`build_unit` is the same for one
commune, from its seeds to its checked partition. :func:`run` is what
:func:`boundaries.build` and ``boundaries build`` call: it chooses how a request
runs (by département when it covers several, see :mod:`boundaries.national`),
then simplifies the borders and joins the results when asked.
"""

from __future__ import annotations

import contextlib
import functools
import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from .blocks import street_partition
from .checks import check_area_balance, check_partition
from .clean import seed_stations
from .dropped import dropped_rows
from .emptyland import assign_empty_land
from .enclaves import enclave_points
from .errors import PartitionError
from .fragments import PieceMoves, reassign_pieces
from .land import polygons_by_unit, read_buildings, read_parcels, read_streets, streets_by_unit
from .parallel import run_tasks
from .parcels import BUILDING_FILL, PARCEL_FILL, building_partition, parcel_partition
from .params import Parameters
from .read import read_addresses, read_communes
from .repair import repair_partition
from .report import fill_report, refuse_nothing_built, start_report
from .request import LAND_LAYERS, BuildRequest
from .result import BuildResult
from .scope import read_prefixes, scope, selected_communes
from .smooth import smooth_partition
from .stations import STATION_COLUMNS, assemble, communes_layer
from .tessellate import choose_method, hull_partition_blocks, tessellate

__all__ = ["BuildResult", "STATION_COLUMNS", "build", "build_unit", "build_units", "run"]


def run(request: BuildRequest) -> BuildResult:
    """Run ``request``: on its cluster if it names one, by département if it covers several, then finish it."""
    from . import national

    with contextlib.ExitStack() as stack:
        if request.scheduler:  # connect before reading anything: an unreachable scheduler fails at once
            from .parallel import connect

            stack.enter_context(connect(request.scheduler, request.jobs))
        result = national.build(request) if national.applies(request) else build(request)
    refuse_nothing_built(result.report)
    return finish(result, request)


def finish(result: BuildResult, request: BuildRequest) -> BuildResult:
    """The optional last steps: borders simplified (``simplify_m``), results joined (``results``)."""
    if request.simplify_m > 0:
        from .simplify import simplify_stations

        result.stations, result.report.simplify = simplify_stations(result.stations, request.simplify_m,
                                                                    request.params.area_tolerance_m2)
    if request.results is not None:
        from .results import join_results

        result.stations, result.report.results = join_results(result.stations, request.results,
                                                              request.results_id)
    return result


def _object_strings(func):
    """Run ``func`` with pandas' ``future.infer_string`` off; its result's layers get the caller's string dtype.

    pandas 3 keeps every column of text in Arrow, and a build's many conversions
    between it and numpy arrays of objects cost about 6 % of its time (measured on
    national-shape tables). The layers handed back have the caller's string dtype
    again: the option is invisible outside, except to code running in another thread
    meanwhile (pandas options are global). pandas 3 deprecates the option and pandas 4
    will drop it: without it the build runs as it is, the same, a little slower.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*future.infer_string.* is deprecated")
            try:
                infer = pd.get_option("future.infer_string")
            except (KeyError, pd.errors.OptionError):  # pandas 4: always on, no switch
                infer = None
            if infer is None:
                result = func(*args, **kwargs)
            else:
                with pd.option_context("future.infer_string", False):
                    result = func(*args, **kwargs)
        if infer:
            result.stations = _strings_as_str(result.stations)
            result.communes = _strings_as_str(result.communes)
        return result

    return wrapper


def _strings_as_str(df):
    """Columns of text (objects, all strings or missing) as pandas' ``str`` dtype, and their names too."""
    if df is None:
        return df
    if df.columns.dtype == object and pd.api.types.infer_dtype(df.columns) == "string":
        df.columns = df.columns.astype("str")
    for col in df.columns:
        if df[col].dtype == object and pd.api.types.infer_dtype(df[col], skipna=True) == "string":
            df[col] = df[col].astype("str")
    return df


@_object_strings
def build(request: BuildRequest) -> BuildResult:
    """Build the polygon of every polling station of ``request``'s selection, in this process.

    Raises
    ------
    InputError
        Bad input (missing file or column, empty selection…).
    PartitionError
        A commune's stations failed the partition check (a bug; nothing is returned).
    """
    started = time.perf_counter()
    table = read_addresses(request.addresses, request.columns, request.crs,
                           read_prefixes(request.departement, request.commune), selected_communes(request.commune),
                           request.addresses_layer)
    layer = read_communes(request.communes, request.commune_field, request.communes_layer, table.rows["commune"])
    layers = read_land(request)
    report = start_report(request, table, layer)
    rows = scope(table, layer, request.departement, request.commune, required=request.outlines_required)
    seeding = seed_stations(rows, request.params, request.holdout, request.seed)
    built, unit_info = build_units(rows, seeding, request, land_by_unit(layers, rows.unit_geom))
    assembly = assemble(rows, seeding, built, unit_info, request.method)
    fill_report(report, rows, seeding, assembly, unit_info, request.holdout, request.seed)
    report.seconds = time.perf_counter() - started
    communes = communes_layer(rows.outlines, assembly.table, assembly.has_polygon, assembly.unit_method)
    return BuildResult(stations=assembly.stations, report=report, communes=communes, neighbours=assembly.neighbours,
                       dropped=dropped_rows(rows.rows, table.crs, numbered=not table.rows_skipped),
                       enclaves=enclave_points(unit_info, assembly.table))


#: The report's ``method_reason`` where nothing was chosen: one station, or a method asked for.
ONE_STATION_REASON = "commune: one station, the whole outline"
#: Where a land layer decides (``{inside}``: how the streets method split its mixed blocks).
LAND_REASON = {"streets": "streets: a streets layer covers this outline, mixed blocks split by {inside}",
               "parcels": "parcels: a parcels layer covers this outline",
               "buildings": "buildings: a buildings layer covers this outline"}
#: How each land layer (:data:`boundaries.request.LAND_LAYERS`) is read, and cut to each unit.
LAND_READERS = {"parcels": (read_parcels, polygons_by_unit), "buildings": (read_buildings, polygons_by_unit),
                "streets": (read_streets, streets_by_unit)}


def read_land(request: BuildRequest) -> dict:
    """Each land layer ``request`` gives, by name: its kept geometries (a GeoSeries in the file's CRS)."""
    return {name: LAND_READERS[name][0](getattr(request, name), getattr(request, f"{name}_layer"))[0]
            for name in LAND_LAYERS if getattr(request, name) is not None}


def land_by_unit(layers: dict, unit_geom: dict) -> dict:
    """Each land layer's geometries by unit (metric CRS, clipped): ``{name: {unit: geometries}}``.

    A layer is cut only to the units no earlier layer of :data:`LAND_LAYERS` reaches: it
    would not be used in the others (cutting Vincennes's buildings cost 0.2 s for nothing).
    """
    out, left = {}, dict(unit_geom)
    for name in LAND_LAYERS:
        if name in layers:
            out[name] = LAND_READERS[name][1](layers[name], left) if left else {}
            left = {u: g for u, g in left.items() if u not in out[name]}
    return out


def build_units(rows, seeding, request: BuildRequest, land: dict | None = None) -> tuple[dict, dict]:
    """Every unit's station keys and polygons (metres), and its report details.

    ``land``: each land layer's geometries by unit (:func:`land_by_unit`); a unit that
    some reach is built by the method of the first (:func:`build_unit`).

    A unit of one station is its whole outline; a unit of several is built by
    :func:`build_unit`, in ``request.jobs`` processes or on its Dask cluster, largest
    first (the pool ends together); a unit without any seed gets no polygon.
    """
    seeds = seeding.seeds
    # numpy-backed columns: each task takes them as arrays (an Arrow string column would
    # be converted again for every commune)
    to_build = seeds.loc[seeds["unit"].isin(seeding.shared), ["unit", "station_key", "sx", "sy", "rows"]]
    to_build = to_build.assign(station_key=pd.Series(to_build["station_key"].to_numpy(dtype=object),
                                                     index=to_build.index, dtype=object))
    seeds_by_unit = dict(tuple(to_build.groupby("unit", sort=True)))
    built, unit_info = {}, {}
    for unit in rows.units:
        if unit not in seeding.shared and unit not in seeding.address_seeds.index:
            unit_info[unit] = {"seeds": 0, "seconds": 0.0, "partition": None}
        elif unit not in seeding.shared:  # one station: its whole outline, no tessellation
            built[unit] = (np.array([seeding.first_key[unit]], dtype=object),
                           np.array([rows.unit_geom[unit]], dtype=object))
            unit_info[unit] = {"method": "commune", "method_reason": ONE_STATION_REASON,
                               "seeds": int(seeding.address_seeds[unit]), "frontage_seeds": 0,
                               "seconds": 0.0, "partition": {"ok": True, "stations": 1}}
    tasks = sorted(seeding.shared & set(rows.units), key=lambda u: (-len(seeds_by_unit[u]), u))
    land = land or {}
    task_args = [(u, rows.unit_geom[u], seeds_by_unit[u], request.method, request.params,
                  {name: by_unit[u] for name, by_unit in land.items() if u in by_unit}) for u in tasks]
    for unit, (keys, polys, info) in run_tasks(_build_unit_task, task_args, request.jobs, request.progress,
                                                already_done=len(rows.units) - len(tasks),
                                                scheduler=request.scheduler):
        built[unit] = (keys, polys)
        info["seeds"] = int(seeding.address_seeds.get(unit, 0))
        info["frontage_seeds"] = int(len(seeds_by_unit[unit]) - seeding.address_seeds.get(unit, 0))
        unit_info[unit] = info
    return built, unit_info


def build_unit(unit: str, outline, s: pd.DataFrame, method: str, params: Parameters, land: dict | None = None):
    """Tessellate, repair and check one outline unit with several stations.

    Returns the station keys, their polygons (metric CRS) and the unit's report
    details. Runs in a worker process under ``jobs > 1`` or a Dask worker: it
    depends on its arguments only. ``land``: the unit's land layers by name (metres,
    :func:`land_by_unit`); the first of :data:`boundaries.request.LAND_LAYERS` it has
    (parcels, then buildings, then streets) gives the unit's method, whatever
    ``method`` says (:func:`partition`); the streets method splits its mixed blocks by
    ``method`` (``voronoi``, or ``hull`` for ``hull`` and ``auto``). With streets,
    neither empty land nor smoothing moves borders off the centre-lines; with parcels
    or buildings both run, as measured.
    """
    t0 = time.perf_counter()
    inside = "voronoi" if method == "voronoi" else "hull"  # how the streets method splits a mixed block
    land_method, geoms = first_land(land)
    if land_method == "streets":
        params = replace(params, empty_land_m=0.0, smooth_window_m=0.0)
    if land_method is not None:
        chosen, reason = land_method, LAND_REASON[land_method].format(inside=inside)
    elif method == "auto":
        chosen, reason = choose_method(s, outline, params)
    else:
        chosen, reason = method, f"{method}: asked"
    # plain arrays once: DataFrame indexing per step costs more than the small communes' geometry
    xy = np.column_stack([s["sx"].to_numpy(dtype=float), s["sy"].to_numpy(dtype=float)])
    station = s["station_key"].to_numpy(dtype=object)
    n_rows = s["rows"].to_numpy()
    keys, polys = partition(chosen, xy, station, n_rows, outline, params, geoms, inside)
    check_area_balance(unit, polys, outline, params.area_tolerance_m2)
    moves, empty_moved = PieceMoves(), 0
    real = n_rows > 0
    if params.empty_land_m > 0:
        polys, empty_moved = assign_empty_land(
            keys, polys, outline, xy, station, params.empty_land_m, params.empty_land_max_m2,
        )
    if params.fragment_max_rows >= 0:
        polys, moves = reassign_pieces(keys, polys, xy[real], n_rows[real], params.fragment_max_rows,
                                       params.enclave_min_share, params.fragment_sliver_m2)
    if params.smooth_window_m > 0:
        polys = smooth_partition(polys, params.smooth_window_m, xy[real], np.searchsorted(keys, station[real]))
    polys, actions = repair_partition(polys, params.area_tolerance_m2)
    result = check_partition(polys, outline, params.area_tolerance_m2, actions["coverage_valid"])
    if not result.ok:
        raise PartitionError(
            f"commune {unit}: the stations do not partition the outline ({'; '.join(result.problems())}); "
            "this is a bug in boundaries, nothing was written — please report it with the input"
        )
    info = {
        "method": chosen,
        "method_reason": reason,
        "fragments_moved": moves.moved,
        "fragment_rows_moved": moves.moved_rows,
        "fragment_area_moved_m2": round(moves.moved_area_m2, 1),
        "enclaves_kept": moves.kept,
        "enclave_rows_kept": moves.kept_rows,
        "enclaves": {**moves.enclaves, "station": keys[moves.enclaves["station"].astype(int)],
                     "holder": keys[moves.enclaves["holder"].astype(int)]},
        "empty_land_moved": empty_moved,
        "seconds": round(time.perf_counter() - t0, 4),
        "repair": actions,
        "partition": result.to_dict(),
    }
    return keys, polys, info


def first_land(land: dict | None) -> tuple[str | None, object]:
    """The unit's land method and its geometries: the first layer of :data:`LAND_LAYERS` it has, else (None, None)."""
    for name in LAND_LAYERS:
        geoms = (land or {}).get(name)
        if geoms is not None and len(geoms):
            return name, geoms
    return None, None


def partition(chosen: str, xy, station, n_rows, outline, params: Parameters, land=None, inside: str = "hull"):
    """One unit's sorted station keys and polygons by the method ``chosen`` (``land``: its layer's geometries).

    ``streets``: :func:`boundaries.blocks.street_partition`, its mixed blocks split by
    ``inside`` (hull inside the blocks: street-aligned Paris IoU 0.874 → 0.894 at a 4 m
    setback, docs/land.md); ``parcels``:
    :func:`boundaries.parcels.parcel_partition` (fill :data:`~boundaries.parcels.PARCEL_FILL`);
    ``buildings``: :func:`boundaries.parcels.building_partition` (fill
    :data:`~boundaries.parcels.BUILDING_FILL`); else :func:`boundaries.tessellate.tessellate`.
    """
    if chosen == "streets":
        batched = None
        if inside == "hull":  # every mixed block's hull partition in a few GEOS calls
            def batched(a, b, c, d):
                return hull_partition_blocks(a, b, c, d, params.voronoi_margin_m, params.hull_ratio,
                                             params.hull_buffer_m)
        return street_partition(xy, station, outline, land, params.voronoi_margin_m,
                                partition=lambda a, b, c: tessellate(a, b, c, inside, params),
                                partition_blocks=batched)
    if chosen == "parcels":
        return parcel_partition(xy, station, n_rows, outline, land, params, fill=PARCEL_FILL)
    if chosen == "buildings":
        return building_partition(xy, station, n_rows, outline, land, params, fill=BUILDING_FILL)
    return tessellate(xy, station, outline, chosen, params)


def _build_unit_task(unit, *args):
    return unit, build_unit(unit, *args)
