"""The whole build, as one short function: read → clean → tessellate → repair → check."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from . import codes
from .checks import check_partition
from .clean import REASONS, flag_seed_quality, flag_unusable, resolve_contested
from .colouring import adjacency, greedy_colours
from .emptyland import assign_empty_land
from .errors import InputError, PartitionError
from .fragments import reassign_fragments
from .scoring import holdout_accuracy, holdout_split, neighbour_agreement
from .parallel import run_tasks
from .params import Parameters
from .read import AddressColumns, input_name, read_addresses, read_communes
from .report import Report
from .smooth import smooth_partition
from .streets import frontage_seeds, parse_addresses
from .repair import repair_partition
from .tessellate import METHODS, hull_partition, voronoi_partition
from .write import OUTPUT_GRID

#: The reason of the rows kept out of the build to measure it (not a drop).
HELD_OUT = "held_out"

#: Output columns, in order (the geometry comes last).
STATION_COLUMNS = [
    "id_bv",
    "code_bv",
    "numero_bv",
    "code_commune",
    "nom_commune",
    "code_departement",
    "nom_departement",
    "n_addresses",
    "n_weight",
    "n_dropped",
    "n_parts",
    "confidence",
    "method",
    "colour",
    "area_m2",
]


@dataclass
class BuildResult:
    """What :func:`build` returns.

    Attributes
    ----------
    stations : geopandas.GeoDataFrame
        One polygon per station, EPSG:4326, columns :data:`STATION_COLUMNS`,
        sorted by commune then station number.
    report : Report
    communes : geopandas.GeoDataFrame
        The outlines used (``code``, ``nom``), EPSG:4326, with per-outline counts
        ``n_stations``, ``n_addresses``, ``n_dropped`` and the ``method`` used.
    neighbours : scipy.sparse.csr_array of bool
        Which stations touch, rows and columns in the order of ``stations`` as
        built (:func:`boundaries.colouring.adjacency` on the output grid): the
        graph the ``colour`` column was chosen from.
    """

    stations: object
    report: Report
    communes: object = None
    neighbours: object = None

    def write(self, path: str, fmt: str | None = None, *, split: str | None = None,
              report: str | None = "auto") -> str | None:
        """Write the stations, atomically, and the report next to them.

        Parameters
        ----------
        path : str
            Output file, its format from the extension: ``.geojson`` (RFC 7946),
            ``.geojsonl``/``.geojsons`` (one feature per line), ``.gpkg`` (stations +
            communes layers, QGIS style), ``.fgb``, ``.parquet`` (GeoParquet); ``-`` for
            standard output; a folder with ``split``.
        fmt : str, optional
            Output format when the extension does not say it (one of
            :data:`boundaries.write.FORMATS`).
        split : {"commune", "departement"}, optional
            Write one file per commune or département into the folder ``path``, plus
            ``index.csv``.
        report : str, optional
            Report file (JSON). ``"auto"``: ``path`` with ``.report.json`` (none with
            ``-``); None writes none.

        Returns
        -------
        str or None
            The report's path.
        """
        from .write import default_report_path, output_format, write_json, write_split, write_stations

        if split and path == "-":
            raise InputError("split writes a folder: give its path, not -")
        fmt = fmt or ("geojson" if split else output_format(path))
        output_format(path if not split else "x." + fmt, fmt)
        if report == "auto":
            report = None if path == "-" else default_report_path(path)
        if split:
            from pathlib import Path

            Path(path).mkdir(exist_ok=True)
            write_split(self.stations, path, split, fmt, communes=self.communes)
        else:
            write_stations(self.stations, path, fmt, communes=self.communes)
        self.report.inputs["output"] = path
        if report:
            write_json(self.report.to_dict(), report)
        return report


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(v).strip() for v in value if str(v).strip()]


def _read_prefixes(departement, commune) -> tuple[str, ...] | None:
    """Commune-code prefixes a file can be filtered by while read: the selected départements'."""
    deps = [d for d in _as_list(departement) if codes.is_departement_code(d)]
    coms = [c for c in _as_list(commune) if codes.is_commune_code(c)]
    if coms:
        deps = deps or sorted({codes.departement_of(c) for c in coms})
    elif not deps:
        return None
    return tuple(deps)


def select_scope(rows: pd.DataFrame, departement=None, commune=None) -> np.ndarray:
    """Mask of the rows in the selected départements and communes.

    A city code (75056, 69123, 13055) given as ``commune`` selects its arrondissements.
    """
    keep = np.ones(len(rows), dtype=bool)
    deps = _as_list(departement)
    for d in deps:
        if not codes.is_departement_code(d):
            raise InputError(
                f"--departement {d!r} is not a département code (2 digits, 2A/2B, or 971…978)"
            )
    if deps:
        keep &= np.isin(codes.departement_of(rows["commune"].fillna("").to_numpy()), deps)
        if not keep.any():
            found = sorted({d for d in codes.departement_of(rows["commune"].dropna().unique()) if d})
            raise InputError(
                f"no address in département {', '.join(deps)} (the table has: {', '.join(found[:20])})"
            )
    coms = _as_list(commune)
    for c in coms:
        if not codes.is_commune_code(c):
            raise InputError(f"--commune {c!r} is not a 5-character INSEE code (e.g. 94028, 2A004)")
    if coms:
        wanted = set(coms) | {a for c in coms for a in codes.PLM_CITIES.get(c, [])}
        keep &= rows["commune"].isin(wanted).to_numpy()
        if not keep.any():
            raise InputError(f"no address in commune {', '.join(coms)} within the selection")
    return keep


def match_units(commune_codes: np.ndarray, outline_codes) -> np.ndarray:
    """The outline each commune is built in: its own, else its whole city (PLM), else None."""
    outline_codes = set(outline_codes)
    uniq = pd.unique(commune_codes)
    mapping = {}
    for c in uniq:
        if c in outline_codes:
            mapping[c] = c
        elif codes.ARRONDISSEMENT_CITY.get(c) in outline_codes:
            mapping[c] = codes.ARRONDISSEMENT_CITY[c]
        else:
            mapping[c] = None
    return np.array([mapping[c] for c in commune_codes], dtype=object) if len(commune_codes) else np.array([], dtype=object)


def _project(rows: pd.DataFrame, src_crs: str, outlines) -> tuple[pd.DataFrame, dict]:
    """Add metric ``px``/``py`` to rows and project outlines, per territory CRS."""
    from pyproj import Transformer

    rows["px"] = np.nan
    rows["py"] = np.nan
    unit_crs = {u: codes.territory_crs(codes.departement_of(u)) for u in outlines["code"]}
    projected = {}
    row_crs = pd.Series(rows["unit"].map(unit_crs).to_numpy(dtype=object))
    for crs in sorted(set(unit_crs.values())):
        sel = outlines[outlines["code"].map(unit_crs) == crs]
        for code, geom in zip(sel["code"], sel.to_crs(crs).geometry.values):
            projected[code] = geom
        mask = (row_crs == crs).to_numpy()
        if mask.any():
            transformer = Transformer.from_crs(src_crs, crs, always_xy=True)
            px, py = transformer.transform(rows["x"].to_numpy()[mask], rows["y"].to_numpy()[mask])
            rows.loc[mask, "px"] = px
            rows.loc[mask, "py"] = py
    return rows, projected


def _check_coordinates(rows: pd.DataFrame, src_crs: str, where: str = "address table",
                       x_column: str = "longitude", y_column: str = "latitude") -> None:
    """Catch coordinates that cannot be French longitude/latitude in the stated CRS.

    Metres given as degrees (beyond ±180/±90), longitude and latitude swapped (most points
    outside France, inside it once exchanged), or points nowhere near France: one line saying
    which, with an example row and the option that fixes it. A minority of such points is
    not an error: those rows are dropped later, and counted (``outside_commune``).
    """
    from pyproj import CRS

    if not CRS.from_user_input(src_crs).is_geographic:
        return
    x, y = rows["x"].to_numpy(), rows["y"].to_numpy()
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return
    fx, fy, frow = x[finite], y[finite], rows["row"].to_numpy()[finite]
    out = (np.abs(fx) > 180) | (np.abs(fy) > 90)
    if out.mean() > 0.5:
        raise InputError(
            f"{where}: coordinates are not longitude/latitude in degrees ({out.sum():,} rows beyond ±180/±90, "
            f"e.g. {fx[out][0]:.1f}, {fy[out][0]:.1f}); if they are metres, say which CRS "
            f"with --crs (e.g. --crs EPSG:2154)"
        )
    abroad = ~codes.in_france(fx, fy)
    if abroad.mean() <= 0.5:
        return
    i = int(np.flatnonzero(abroad)[0])
    example = f"data row {frow[i] + 1}: {x_column} {fx[i]:g}, {y_column} {fy[i]:g}"
    if codes.in_france(fy[abroad], fx[abroad]).mean() > 0.5:
        raise InputError(
            f"{where}: {x_column} and {y_column} look swapped ({abroad.sum():,} of {len(fx):,} points fall "
            f"outside France, and inside it once exchanged; {example}); exchange the two columns, or say "
            f"--x-column {y_column} --y-column {x_column}"
        )
    raise InputError(
        f"{where}: {abroad.sum():,} of {len(fx):,} points fall outside France and its overseas territories "
        f"({example}); check which columns hold longitude and latitude (--x-column, --y-column) and their "
        "CRS (--crs)"
    )


def _report_repairs(report: Report, read_info: dict, outline_info: dict, n_invalid: int) -> None:
    """Record the input repairs in the report: counts, and one warning line for each."""
    n_rows = int(read_info.get("codes_repaired", 0))
    n_outlines = int(outline_info.get("codes_repaired", 0))
    report.codes_repaired = {"rows": n_rows, "outlines": n_outlines}
    if n_rows:
        report.warnings.append(
            f"{read_info.get('where', 'address table')}: {n_rows:,} rows had a commune code that lost its leading "
            f"zero, repaired to five characters (e.g. {read_info.get('codes_repaired_example')}); "
            "keep the codes as text to silence this"
        )
    if n_outlines:
        report.warnings.append(
            f"{outline_info.get('where', 'outline layer')}: {n_outlines:,} commune codes had lost their leading zero, "
            "repaired to five characters; store the code field as text to silence this"
        )
    if n_invalid:
        report.warnings.append(
            f"{outline_info.get('where', 'outline layer')}: {n_invalid:,} invalid outline geometries "
            "(self-intersections) repaired with make_valid"
        )


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
def build(
    addresses,
    communes,
    *,
    method: str = "voronoi",
    departement=None,
    commune=None,
    columns: AddressColumns = AddressColumns(),
    crs: str | None = None,
    commune_field: str | None = None,
    params: Parameters = Parameters(),
    holdout: float = 0.0,
    seed: int = 0,
    progress: Callable[[int], object] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> BuildResult:
    """Build the polygon of every polling station of the selected communes.

    Parameters
    ----------
    addresses : str, pathlib.Path, pandas.DataFrame or pyarrow.Table
        The REU address table or any point table (see :func:`boundaries.read.read_addresses`).
    communes : str, pathlib.Path or geopandas.GeoDataFrame
        Commune outlines (see :func:`boundaries.read.read_communes`).
    method : {"voronoi", "hull", "auto"}
        How cells are drawn (see :mod:`boundaries.tessellate`); ``auto`` chooses per
        commune by an internal hold-out (:func:`choose_method`).
    departement : str or list of str, optional
        Keep only these départements (``"94"``, ``"2A"``, ``"974"``).
    commune : str or list of str, optional
        Keep only these communes (a city code selects its arrondissements).
    columns : AddressColumns
        Column names of a non-REU table.
    crs : str, optional
        CRS of the address coordinates (default that of the layer, else EPSG:4326).
    commune_field : str, optional
        Commune-code field of the outline file (detected when not given).
    params : Parameters
        Tolerances and thresholds, in metres and m².
    holdout : float
        Share of unique coordinates kept out of the build (0 to 1) to measure
        accuracy: the report's ``holdout`` gives the share of those addresses that
        fall inside their own station's polygon.
    seed : int
        Seed of the hold-out choice.
    progress : callable, optional
        ``progress(total)`` returns a context manager with ``update(n)``: a progress
        bar over the communes (``click.progressbar(length=total)`` fits).
    jobs : int
        Communes are built in this many processes (largest first); the output is the
        same whatever the number.
    scheduler : str, optional
        Build the communes on a Dask cluster instead: its scheduler's address
        (``tcp://host:8786``), or ``"local"`` for a local cluster of ``jobs`` workers
        (see :func:`boundaries.parallel.run_tasks`; needs ``boundaries[cluster]``).
        The output is the same as without.

    Returns
    -------
    BuildResult

    Raises
    ------
    InputError
        Bad input (missing file/column, empty selection...), or an unreachable ``scheduler``.
    PartitionError
        A commune's stations failed the partition check (a bug; nothing is returned).
    """
    import geopandas as gpd

    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    started = time.perf_counter()
    rows, src_crs = read_addresses(addresses, columns, crs, _read_prefixes(departement, commune))
    read_info = dict(rows.attrs)
    skipped = int(read_info.get("rows_skipped", 0))
    outlines, n_repaired = read_communes(communes, commune_field)
    outline_info = dict(outlines.attrs)
    report = Report(parameters=params.to_dict(), method=method, rows_read=len(rows) + skipped)
    report.inputs = {
        "addresses": input_name(addresses),
        "communes": input_name(communes),
        "crs": src_crs,
        "departement": _as_list(departement) or None,
        "commune": _as_list(commune) or None,
    }
    report.outlines_repaired = n_repaired
    _report_repairs(report, read_info, outline_info, n_repaired)

    # --- read → scope ---------------------------------------------------------------
    scope = select_scope(rows, departement, commune)
    report.rows_out_of_scope = int((~scope).sum()) + skipped
    rows = rows.loc[scope].reset_index(drop=True)
    rows["commune"] = rows["commune"].fillna("")
    rows["station"] = rows["station"].fillna("")
    _check_coordinates(rows, src_crs, read_info.get("where", "address table"),
                       read_info.get("x_column", "longitude"), read_info.get("y_column", "latitude"))
    report.duplicate_rows = _duplicate_rows(rows)
    rows["unit"] = match_units(rows["commune"].to_numpy(), outlines["code"])
    used_units = sorted(rows["unit"].dropna().unique())
    if not used_units:
        raise InputError(
            f"none of the {rows['commune'].nunique():,} communes of the addresses is in the "
            f"{outline_info.get('where', 'outline layer')} (e.g. {rows['commune'].iloc[0]}; its codes look like "
            f"{outlines['code'].iloc[0]}); give the outlines of these communes with --communes, or name their "
            "code field with --commune-field"
        )
    outlines = outlines[outlines["code"].isin(used_units)].reset_index(drop=True)
    rows, unit_geom = _project(rows, src_crs, outlines)
    rows["station_key"] = rows["commune"] + "\x1f" + rows["station"]

    # --- clean (after setting the hold-out aside) -----------------------------------
    held = holdout_split(rows["x"].to_numpy(), rows["y"].to_numpy(), holdout, seed) & rows["unit"].notna().to_numpy()
    reason = flag_unusable(rows, pd.Series(unit_geom), params.outside_tolerance_m)
    reason[held] = HELD_OUT
    usable = np.flatnonzero(reason == None)  # noqa: E711
    quality = flag_seed_quality(
        rows.iloc[usable], params.imprecise_radius_m, params.outlier_neighbours, params.outlier_spread
    )
    reason[usable] = quality
    usable = np.flatnonzero(reason == None)  # noqa: E711
    lost, seeds = resolve_contested(rows.iloc[usable], params.coordinate_grid_m, params.share_offset_m)
    reason[usable[lost]] = "contested_coordinate"
    rows["reason"] = reason
    agreement = neighbour_agreement(seeds)
    # Only communes split between stations are tessellated, and need frontage seeds: most
    # communes have one station, and get no per-commune frame of their own.
    stations_per_unit = seeds.groupby("unit")["station_key"].nunique()
    shared = set(stations_per_unit.index[stations_per_unit.to_numpy() > 1])
    extra = _frontage(rows, seeds, params, shared)
    n_real = seeds.groupby("unit").size()
    first_key = seeds.groupby("unit")["station_key"].first()
    seeds = pd.concat([seeds, extra], ignore_index=True) if len(extra) else seeds

    # --- tessellate → repair → check, per outline -------------------------------------
    # numpy-backed columns: each task takes them as arrays (an Arrow string column would
    # be converted again for every commune)
    to_build = seeds.loc[seeds["unit"].isin(shared), ["unit", "station_key", "sx", "sy", "rows"]]
    to_build = to_build.assign(station_key=pd.Series(to_build["station_key"].to_numpy(dtype=object),
                                                     index=to_build.index, dtype=object))
    seeds_by_unit = dict(tuple(to_build.groupby("unit", sort=True)))
    built, unit_info = {}, {}
    tasks = []
    for unit in used_units:
        if unit in shared:
            tasks.append(unit)
        elif unit not in n_real.index:
            unit_info[unit] = {"seeds": 0, "seconds": 0.0, "partition": None}
        else:
            # one station: its whole outline, no tessellation
            built[unit] = (np.array([first_key[unit]], dtype=object), np.array([unit_geom[unit]], dtype=object))
            unit_info[unit] = {"method": "commune", "seeds": int(n_real[unit]), "frontage_seeds": 0,
                               "seconds": 0.0, "partition": {"ok": True, "stations": 1}}
    tasks.sort(key=lambda u: -len(seeds_by_unit[u]))  # largest first: the pool ends together
    task_args = [(u, unit_geom[u], seeds_by_unit[u], method, params) for u in tasks]
    for unit, (keys, polys, info) in run_tasks(
        _build_unit_task, task_args, jobs, progress, already_done=len(used_units) - len(tasks), scheduler=scheduler
    ):
        built[unit] = (keys, polys)
        info["seeds"] = int(n_real.get(unit, 0))
        info["frontage_seeds"] = int(len(seeds_by_unit[unit]) - n_real.get(unit, 0))
        unit_info[unit] = info
    built_keys = [k for u in sorted(built) for k in built[u][0]]
    built_geoms = [g for u in sorted(built) for g in built[u][1]]

    # --- stations and report --------------------------------------------------------
    stations = _station_table(rows)
    geom_by_key = dict(zip(built_keys, built_geoms))
    stations["geometry"] = stations["station_key"].map(geom_by_key)

    has_polygon = stations["geometry"].notna().to_numpy().copy()
    has_polygon[has_polygon] = ~shapely.is_empty(stations.loc[has_polygon, "geometry"].to_numpy())
    stations["reason"] = _no_polygon_reason(stations, has_polygon)

    names = dict(zip(outlines["code"], outlines["nom"]))
    out = stations.loc[has_polygon].copy()
    out["nom_commune"] = out["unit"].map(names).where(out["unit"] == out["code_commune"], None)
    out["numero_bv"] = [c.rsplit("_", 1)[-1] for c in out["code_bv"]]
    out["code_departement"] = codes.departement_of(out["code_commune"].to_numpy(dtype=object))
    out["nom_departement"] = out["unit"].map(dict(zip(outlines["code"], outlines["nom_dep"])))
    unit_method = {u: info.get("method", method) for u, info in unit_info.items()}
    out["method"] = np.where(out["single"], "commune", out["unit"].map(unit_method).fillna(method))
    out["area_m2"] = np.round(shapely.area(out["geometry"].to_numpy()), 1)
    out["n_parts"] = shapely.get_num_geometries(out["geometry"].to_numpy())
    out["confidence"] = confidence(out, agreement)
    out = out.drop(columns=["single"])
    # Each territory's geometries are in their own CRS: bring them all to WGS84.
    parts = []
    for crs_name, part in out.groupby(out["unit"].map(lambda u: codes.territory_crs(codes.departement_of(u)))):
        parts.append(_valid_after_reprojection(
            gpd.GeoDataFrame(part, geometry="geometry", crs=crs_name).to_crs("EPSG:4326")))
    if parts:
        gdf = pd.concat(parts)
    else:
        gdf = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    gdf = gdf.sort_values(["code_commune", "number_key", "id_bv"], kind="stable")
    # a colour index per station, no two touching stations alike (maps, the QGIS style), as
    # written: on the output grid, where two stations a hair apart may come to touch
    neighbours = adjacency(shapely.set_precision(gdf.geometry.values.to_numpy(), OUTPUT_GRID, mode="pointwise"))
    gdf["colour"] = greedy_colours(neighbours)
    gdf = gpd.GeoDataFrame(gdf[STATION_COLUMNS + ["geometry"]], geometry="geometry", crs="EPSG:4326")
    gdf = gdf.reset_index(drop=True)

    _fill_report(report, rows, stations, has_polygon, unit_info)
    communes_used = _communes_layer(outlines, stations, has_polygon, unit_method)
    if holdout:
        test = rows.loc[held]
        acc = holdout_accuracy(geom_by_key, test["px"].to_numpy(), test["py"].to_numpy(),
                               test["station_key"].to_numpy())
        report.holdout = {
            "fraction": holdout,
            "seed": seed,
            "test_points": acc["test_points"],
            "own_station": None if acc["own_station"] is None else round(acc["own_station"], 6),
            "uncovered": None if acc["uncovered"] is None else round(acc["uncovered"], 6),
        }
    report.seconds = time.perf_counter() - started
    return BuildResult(stations=gdf, report=report, communes=communes_used, neighbours=neighbours)


def _valid_after_reprojection(gdf):
    """Repair the rare polygon that reprojection made invalid.

    Two parts of a station touching at one point, valid in metres, can cross by a
    hair once projected to degrees (found by the property tests); ``make_valid``
    fixes that, moving about 1e-13 square degrees.
    """
    from .geometry import polygonal_parts

    geoms = gdf.geometry.values.to_numpy()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = polygonal_parts(shapely.make_valid(geoms[invalid]))
        # the repair adds a vertex its neighbours lack: node the unit's stations again, so
        # they stay one coverage (simplify and check rely on it)
        units = gdf["unit"].to_numpy(dtype=object)
        for unit in sorted(set(units[invalid])):
            idx = np.flatnonzero(units == unit)
            if len(idx) < 2:
                continue
            cleaned = polygonal_parts(shapely.coverage_clean(geoms[idx]))
            if shapely.is_valid(cleaned).all() and shapely.coverage_is_valid(cleaned) \
                    and not shapely.is_empty(cleaned).any():
                geoms[idx] = cleaned
        gdf = gdf.set_geometry(np.asarray(geoms, dtype=object), crs=gdf.crs)
    return gdf


def build_unit(unit: str, outline, s: pd.DataFrame, method: str, params: Parameters):
    """Tessellate, repair and check one outline unit with several stations.

    Returns the station keys, their polygons (metric CRS) and the unit's report
    details. Runs in a worker process under ``jobs > 1`` or a Dask worker: it
    depends on its arguments only.
    """
    t0 = time.perf_counter()
    chosen = choose_method(s, outline, params) if method == "auto" else method
    # plain arrays once: DataFrame indexing per step costs more than the small communes' geometry
    xy = np.column_stack([s["sx"].to_numpy(dtype=float), s["sy"].to_numpy(dtype=float)])
    station = s["station_key"].to_numpy(dtype=object)
    n_rows = s["rows"].to_numpy()
    keys, polys = _tessellate(xy, station, outline, chosen, params)
    # The optional steps below rebuild a partition from whatever they are given:
    # a tessellation bug must show before them. Overlaps or gaps change the area sum.
    balance = float(shapely.area(polys).sum() - shapely.area(outline))
    if abs(balance) > params.area_tolerance_m2:
        raise PartitionError(
            f"commune {unit}: the station cells do not partition the outline (their areas add up to "
            f"{balance:+,.2f} m² from the outline's: an overlap or a gap); this is a bug in boundaries, "
            "nothing was written — please report it with the input"
        )
    moved = empty_moved = 0
    real = n_rows > 0
    if params.empty_land_m > 0:
        polys, empty_moved = assign_empty_land(
            keys, polys, outline, xy, station, params.empty_land_m, params.empty_land_max_m2,
        )
    if params.fragment_max_rows >= 0:
        polys, moved = reassign_fragments(keys, polys, xy[real], n_rows[real], params.fragment_max_rows)
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
        "fragments_moved": moved,
        "empty_land_moved": empty_moved,
        "seconds": round(time.perf_counter() - t0, 4),
        "repair": actions,
        "partition": result.to_dict(),
    }
    return keys, polys, info


def _build_unit_task(unit, *args):
    return unit, build_unit(unit, *args)


def tessellate(seeds: pd.DataFrame, outline, method: str, params: Parameters):
    """One commune's station keys and polygons from its seeds, by ``voronoi`` or ``hull``."""
    return _tessellate(seeds[["sx", "sy"]].to_numpy(), seeds["station_key"].to_numpy(), outline, method, params)


def _tessellate(xy: np.ndarray, station: np.ndarray, outline, method: str, params: Parameters):
    if method == "hull":
        return hull_partition(xy, station, outline, params.voronoi_margin_m, params.hull_ratio, params.hull_buffer_m)
    return voronoi_partition(xy, station, outline, params.voronoi_margin_m)


def choose_method(seeds: pd.DataFrame, outline, params: Parameters) -> str:
    """``--method auto``: the method whose cells hold more held-out addresses of this commune.

    A share ``auto_holdout`` of the commune's address seeds is kept out; both methods
    are built from the rest and scored on it (rows-weighted share inside their own
    station). Hull must win by more than ``auto_margin`` to be chosen; too few test
    points (under ``auto_min_test``) or a stations lost to the split mean voronoi.
    """
    real = seeds["rows"].to_numpy() > 0
    test = np.zeros(len(seeds), dtype=bool)
    test[real] = holdout_split(seeds["sx"].to_numpy()[real], seeds["sy"].to_numpy()[real], params.auto_holdout, 0)
    train = seeds.loc[~test]
    if test.sum() < params.auto_min_test or train["station_key"].nunique() < seeds["station_key"].nunique():
        return "voronoi"
    t = seeds.loc[test]
    scores = {}
    for m in ("voronoi", "hull"):
        keys, polys = tessellate(train, outline, m, params)
        acc = holdout_accuracy(dict(zip(keys, polys)), t["sx"].to_numpy(), t["sy"].to_numpy(),
                               t["station_key"].to_numpy())
        w = t["rows"].to_numpy()
        scores[m] = float((acc["inside_own"] * w).sum() / w.sum())
    return "hull" if scores["hull"] > scores["voronoi"] + params.auto_margin else "voronoi"


def _communes_layer(outlines, stations: pd.DataFrame, has_polygon: np.ndarray, unit_method: dict):
    """The outlines used, in WGS84, with their stations' counts."""
    per = stations.assign(built=has_polygon).groupby("unit").agg(
        n_stations=("built", "sum"), n_addresses=("n_addresses", "sum"), n_dropped=("n_dropped", "sum"))
    out = outlines[["code", "nom", "geometry"]].copy()
    for col in per.columns:
        out[col] = out["code"].map(per[col]).fillna(0).astype(np.int64).to_numpy()
    out["method"] = out["code"].map(unit_method)
    single = out["n_stations"] == 1
    out.loc[single, "method"] = "commune"
    return out.to_crs("EPSG:4326").sort_values("code", kind="stable").reset_index(drop=True)


def confidence(stations: pd.DataFrame, agreement: pd.Series) -> np.ndarray:
    """How far a station's polygon can be trusted, from 0 to 1 (3 decimals).

    The product of two shares: the station's address rows kept by cleaning
    (``n_addresses / (n_addresses + n_dropped)``), and its seeds' leave-one-out
    agreement (:func:`boundaries.scoring.neighbour_agreement`), an estimate of the
    share of its addresses a rebuild without them would put back inside it. The
    only station of its commune has agreement 1; a station that kept only a share
    seed scores near 0, its nearest neighbour being the point it shares.
    """
    used = stations["n_addresses"].to_numpy(dtype=float)
    dropped = stations["n_dropped"].to_numpy(dtype=float)
    kept = np.divide(used, used + dropped, out=np.zeros_like(used), where=(used + dropped) > 0)
    single = stations["single"].to_numpy(dtype=bool)
    agree = stations["station_key"].map(agreement).fillna(0.0).to_numpy(dtype=float)
    return np.round(kept * np.where(single, 1.0, agree), 3)


def _frontage(rows: pd.DataFrame, seeds: pd.DataFrame, params: Parameters, units: set) -> pd.DataFrame:
    """Street-aware extra seeds of ``units``, snapped to the grid, never on an address seed."""
    if params.frontage_step_m <= 0 or rows["address"].isna().all() or not units:
        return seeds.iloc[:0]
    used = rows.loc[rows["reason"].isna() & rows["unit"].isin(units)]
    seeds = seeds[seeds["unit"].isin(units)]
    parsed = parse_addresses(used["address"])
    extra = frontage_seeds(
        used.assign(number=parsed["number"].to_numpy(), street=parsed["street"].to_numpy()),
        params.frontage_step_m,
        params.frontage_max_gap_m,
    )
    if extra.empty:
        return seeds.iloc[:0]
    grid = params.coordinate_grid_m
    extra["gx"] = np.round(extra["sx"].to_numpy() / grid).astype(np.int64)
    extra["gy"] = np.round(extra["sy"].to_numpy() / grid).astype(np.int64)
    taken = pd.DataFrame({
        "unit": seeds["unit"],
        "gx": np.round(seeds["sx"].to_numpy() / grid).astype(np.int64),
        "gy": np.round(seeds["sy"].to_numpy() / grid).astype(np.int64),
        "taken": True,
    })
    extra = extra.drop_duplicates(["unit", "gx", "gy"]).merge(taken, on=["unit", "gx", "gy"], how="left")
    extra = extra[extra["taken"].isna()]
    return pd.DataFrame({
        "unit": extra["unit"].to_numpy(),
        "station_key": extra["station_key"].to_numpy(),
        "sx": extra["gx"].to_numpy() * grid,
        "sy": extra["gy"].to_numpy() * grid,
        "rows": 0,
    })


def _station_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per station: its commune, ids, and counts of rows used and dropped."""
    used = rows["reason"].isna()
    dropped = ~used & (rows["reason"] != HELD_OUT)
    g = rows.assign(
        used=used.astype(np.int64),
        used_weight=np.where(used, rows["weight"], 0.0),
        dropped=dropped.astype(np.int64),
    ).groupby("station_key", sort=False)
    st = g.agg(
        id_bv=("station", "first"),
        code_commune=("commune", "first"),
        unit=("unit", "first"),
        n_rows=("row", "size"),
        n_addresses=("used", "sum"),
        n_weight=("used_weight", "sum"),
        n_dropped=("dropped", "sum"),
    ).reset_index()
    st["number"] = codes.station_number(st["id_bv"])
    st["number_key"] = codes.number_sort_key(st["number"])
    st["code_bv"] = codes.code_bv(st["code_commune"], st["number"])
    st["n_weight"] = _int_if_whole(st["n_weight"].to_numpy())
    per_unit = rows.groupby("unit")["station_key"].nunique()
    st["single"] = st["unit"].map(per_unit).fillna(0).to_numpy() == 1
    counts = rows.loc[dropped].groupby(["station_key", "reason"]).size().unstack(fill_value=0)
    drops = {k: {r: int(n) for r, n in row.items() if n} for k, row in counts.to_dict(orient="index").items()}
    st["drops"] = [drops.get(k, {}) for k in st["station_key"]]
    return st.sort_values(["code_commune", "number_key", "id_bv"], kind="stable").reset_index(drop=True)


def _duplicate_rows(rows: pd.DataFrame) -> int:
    """Rows equal to an earlier row in every field read (duplicated REU lines).

    Only rows sharing their coordinates with another row can be duplicates: the
    string columns are compared on those alone (a few percent of a national table).
    """
    same_place = rows.duplicated(["x", "y"], keep=False).to_numpy()
    if not same_place.any():
        return 0
    return int(rows.loc[same_place].duplicated(
        ["commune", "station", "x", "y", "geo_type", "address", "geo_score", "weight"]).sum())


def _int_if_whole(values: np.ndarray) -> np.ndarray:
    if np.all(values == np.round(values)):
        return values.astype(np.int64)
    return np.round(values, 3)


def _no_polygon_reason(stations: pd.DataFrame, has_polygon: np.ndarray) -> list:
    out = []
    for has, used, drops, unit in zip(has_polygon, stations["n_addresses"], stations["drops"], stations["unit"]):
        if has:
            out.append(None)
        elif unit is None or (isinstance(unit, float) and np.isnan(unit)):
            out.append("commune_without_outline")
        elif used == 0 and not drops:
            out.append("all_rows_held_out")
        elif used == 0:
            out.append("all_rows_dropped")
        else:
            out.append("no_land_inside_outline")
    return out


_DETAILS = {
    "commune_without_outline": "its commune is not in the outline file",
    "all_rows_dropped": "every address row was dropped",
    "all_rows_held_out": "every address row was held out to measure the build",
    "no_land_inside_outline": "its addresses lie outside the outline and their cells miss it",
}


def _fill_report(report: Report, rows, stations, has_polygon, unit_info) -> None:
    reasons = rows["reason"]
    report.rows_used = int(reasons.isna().sum())
    counts = reasons.value_counts()
    report.rows_dropped = {r: int(counts.get(r, 0)) for r in REASONS}
    report.rows_held_out = int(counts.get(HELD_OUT, 0))
    report.stations_in = len(stations)
    report.stations_out = int(has_polygon.sum())
    missing = stations.loc[~has_polygon]
    report.stations_without_polygon = [
        {
            "id_bv": r.id_bv,
            "code_bv": r.code_bv,
            "code_commune": r.code_commune,
            "reason": r.reason,
            "detail": _DETAILS[r.reason]
            + (" (" + ", ".join(f"{k} {v}" for k, v in r.drops.items()) + ")" if r.drops else ""),
        }
        for r in missing.itertuples()
    ]
    report.communes_without_outline = sorted(set(rows.loc[rows["unit"].isna(), "commune"]))
    report.communes_built = sum(1 for info in unit_info.values() if info.get("partition"))

    # Per commune, from group counts (one pass each), not one groupby slice per commune:
    # a national run has 35,000 communes.
    reason_of = rows["reason"].fillna("")  # "" = used
    counts = rows.groupby(["commune", reason_of], sort=True).size()
    by_reason: dict = {}
    for (code, why), n in zip(counts.index, counts.to_numpy()):
        by_reason.setdefault(code, {})[why] = int(n)
    unit_of = rows.groupby("commune", sort=True)["unit"].first()
    st_code = stations["code_commune"].to_numpy(dtype=object)
    st_in = pd.Series(1, index=st_code).groupby(level=0).sum()
    st_out = pd.Series(has_polygon.astype(np.int64), index=st_code).groupby(level=0).sum()
    missing_by: dict = {}
    for r in missing.itertuples():
        missing_by.setdefault(r.code_commune, []).append({"id_bv": r.id_bv, "reason": r.reason})
    per_commune = {}
    for code, n_by in by_reason.items():
        unit = unit_of.get(code)
        unit = unit if isinstance(unit, str) else None
        info = unit_info.get(unit, {}) if unit is not None else {}
        per_commune[code] = {
            "outline": unit,
            "rows_read": sum(n_by.values()),
            "rows_used": n_by.get("", 0),
            "rows_held_out": n_by.get(HELD_OUT, 0),
            "rows_dropped": {r: n_by[r] for r in REASONS if r in n_by},
            "stations_in": int(st_in.get(code, 0)),
            "stations_out": int(st_out.get(code, 0)),
            "stations_without_polygon": missing_by.get(code, []),
            "method": info.get("method"),
            "seeds": info.get("seeds", 0),
            "frontage_seeds": info.get("frontage_seeds", 0),
            "fragments_moved": info.get("fragments_moved", 0),
            "empty_land_moved": info.get("empty_land_moved", 0),
            "partition": info.get("partition"),
            "seconds": info.get("seconds", 0.0),
        }
    report.communes = per_commune
