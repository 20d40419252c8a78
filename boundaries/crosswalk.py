"""Crosswalk between two station maps: where each old station's voters vote now.

Two station layers of the same communes (two vintages, ours against an official
map) are cut into pieces, one per (old, new) pair that overlaps
(:func:`maup.intersections`). Each piece is weighted by the voters' addresses it
holds (the ``nb_adresses`` of the address points :func:`maup.assign` puts in it),
or by its area where no addresses are given or where a station holds none (the
``weighting_old`` / ``weighting_new`` columns say which). The weights normalised
per old station are the share of its voters now in each new station; per new
station, the share of its voters coming from each old one. Old results are
carried onto the new stations through the first (:func:`maup.prorate`), so each
column's total is conserved.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from . import codes
from .errors import InputError, option
from .read import check_crs

#: IoU above which a new station is ``unchanged`` (the same as one old station).
DEFAULT_THRESHOLD = 0.9
#: Share of a station's voters below which a link between two stations is left out of the status.
DEFAULT_MIN_SHARE = 0.05
#: Each new station's status, and each old one's (``gone``: it overlaps no new station).
NEW_STATUSES = ("unchanged", "split", "merged", "redrawn", "new")
OLD_STATUSES = ("unchanged", "split", "merged", "redrawn", "gone")
#: The layer name of ``--layer``'s GeoPackage.
LAYER_NAME = "crosswalk"


@dataclass
class Crosswalk:
    """What :func:`crosswalk` returns.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per overlapping (old, new) pair, sorted by their ids: ``old_id``,
        ``new_id``, ``share_of_old``, ``share_of_new``, ``addresses`` (with
        addresses), ``area_m2``, ``iou``, ``weighting_old``, ``weighting_new``.
    stations : geopandas.GeoDataFrame
        The new stations (metric CRS) with ``status``, ``main_old``,
        ``share_from_main``, ``iou_main`` and ``n_old``.
    old_stations : pandas.DataFrame
        ``old_id``, ``status``, ``main_new``, ``n_new``.
    summary : dict
        The report: inputs, weighting, counts by status, the stations gone and new.
    carried : pandas.DataFrame or None
        The results carried onto the new stations (with ``results``).
    """

    pairs: pd.DataFrame
    stations: object = field(repr=False)
    old_stations: pd.DataFrame = field(repr=False)
    summary: dict = field(default_factory=dict)
    carried: pd.DataFrame | None = field(default=None, repr=False)


def crosswalk(old, new, addresses=None, *, old_id: str | None = None, new_id: str | None = None,
              old_layer: str | None = None, new_layer: str | None = None, addresses_layer: str | None = None,
              columns=None, crs: str | None = None, threshold: float = DEFAULT_THRESHOLD, min_share: float = DEFAULT_MIN_SHARE,
              results=None, results_id: str | None = None) -> Crosswalk:
    """The share of each old station's voters now in each new station, and back.

    Parameters
    ----------
    old : str, pathlib.Path or geopandas.GeoDataFrame
        The old station layer (any vector file GDAL reads).
    new : str, pathlib.Path or geopandas.GeoDataFrame
        The new station layer, of the same communes.
    addresses : str, pathlib.Path or pandas.DataFrame, optional
        Voters' addresses (an address table read like build's; nb_adresses weights):
        pieces are weighted by the addresses they hold; without it, by area.
    old_id : str, optional
        Station id field of the old layer (detected among id_bv, code_bv, codeBureauVote…).
    new_id : str, optional
        Station id field of the new layer (detected).
    old_layer : str, optional
        The layer of the old file to read, when it has several polygon layers.
    new_layer : str, optional
        The layer of the new file to read, when it has several polygon layers.
    addresses_layer : str, optional
        The layer of the addresses to read, when their file has several point layers.
    columns : AddressColumns, optional
        Column names of a non-REU address table.
    crs : str, optional
        CRS of the addresses' coordinates (default EPSG:4326, or the layer's).
    threshold : float
        IoU with one old station above which a new station is unchanged, in [0, 1].
    min_share : float
        Share of a station's voters below which a link between an old and a new
        station is ignored when naming splits and merges, in [0, 1).
    results : str, pathlib.Path or pandas.DataFrame, optional
        Results by old station (any layout build's results accepts, the Ministry's
        included), carried onto the new stations through the shares.
    results_id : str, optional
        Station id column of the results (detected).

    Returns
    -------
    Crosswalk
        ``.pairs``, ``.stations`` (the new ones with their status), ``.old_stations``,
        ``.summary`` and ``.carried`` (None without results).

    Raises
    ------
    InputError
        A layer without id field, with an id twice, or layers that do not overlap.
    """
    _check_limits(threshold, min_share)
    check_crs(crs)  # before the layers are read
    old_st = _read_layer(old, old_id, "old", old_layer, "old_id", "old_layer")
    new_st = _read_layer(new, new_id, "new", new_layer, "new_id", "new_layer")
    metric = _metric(old_st, new_st)
    old_st, new_st = old_st.to_crs(metric), new_st.to_crs(metric)
    pieces = _pieces(old_st, new_st)
    weights, about = _address_weights(pieces, addresses, metric, addresses_layer, columns, crs)
    pairs = _pairs(pieces, old_st, new_st, weights)
    stations, old_status = statuses(pairs, old_st, new_st, threshold, min_share)
    summary = _summary(old_st, new_st, pairs, stations, old_status, metric, about, threshold, min_share)
    carried = None
    if results is not None:
        carried, summary["results"] = carry_results(pairs, results, results_id, new_st, old_st)
    return Crosswalk(_public_pairs(pairs, weights is not None), stations, old_status, summary, carried)


def _check_limits(threshold: float, min_share: float) -> None:
    if not 0 <= threshold <= 1 or not 0 <= min_share < 1:
        raise InputError(f"{option('threshold')} must be in [0, 1] and {option('min_share')} in [0, 1); "
                         f"got {threshold} and {min_share}")


def _read_layer(source, id_field, what: str, layer, id_keyword: str, layer_keyword: str):
    """A station layer with its id and key, usable geometries only, each id once (else refused)."""
    from .read import read_stations

    st = read_stations(source, id_field, what=what, layer=layer, layer_keyword=layer_keyword,
                       id_keyword=id_keyword, commune_needed=False, where=f"{what} layer",
                       commune_keyword=None)
    where = f"{what} file {source}" if isinstance(source, (str, Path)) else f"{what} layer"
    twice = st["key"].duplicated(keep=False).to_numpy()
    if twice.any():
        dup = sorted(set(map(str, st["id_bv"][twice])))
        raise InputError(f"{where} has several features for station {', '.join(dup[:5])}"
                         f"{' and more' if len(dup) > 5 else ''}; dissolve them into one, or name another "
                         f"id field with {option(id_keyword)}")
    geoms = st.geometry.values.to_numpy()
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not usable.any():
        raise InputError(f"{where} has no station with a geometry; give a layer of station polygons")
    without = sorted(map(str, st["id_bv"][~usable]))
    st = st[usable].set_geometry(_valid(geoms[usable]), crs=st.crs)
    st = st.sort_values("key", kind="stable").reset_index(drop=True)
    st.attrs.update(where=where, without_geometry=without)
    return st


def _valid(geoms: np.ndarray) -> np.ndarray:
    """The polygons, invalid ones repaired (overlay areas of invalid shapes are unreliable)."""
    return np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))


def _metric(old_st, new_st) -> str:
    """The metric CRS of the territory (from the stations' communes), Lambert-93 when none is known."""
    communes = pd.concat([old_st["code_commune"], new_st["code_commune"]]).dropna().unique()
    return codes.metric_crs([c for c in communes if codes.is_commune_code(str(c))])


def _pieces(old_st, new_st):
    """The non-empty (old, new) intersections: a GeoSeries indexed by (source, target) positions."""
    import maup

    pieces = maup.intersections(old_st.geometry, new_st.geometry, area_cutoff=0)
    if len(pieces) == 0:
        bounds = [", ".join(f"{v:.0f}" for v in st.total_bounds) for st in (old_st, new_st)]
        raise InputError(f"{old_st.attrs['where']} and {new_st.attrs['where']} do not overlap (bounds in "
                         f"{old_st.crs.to_string()}: {bounds[0]} and {bounds[1]}); give two maps of the "
                         "same communes")
    return pieces


def _address_weights(pieces, addresses, metric: str, addresses_layer, columns, crs=None):
    """The ``nb_adresses`` weight of the address points in each piece (None without addresses), and counts."""
    if addresses is None:
        return None, {"weighting": "area"}
    import geopandas as gpd
    import maup
    from pyproj import Transformer

    from .read import AddressColumns, read_addresses

    table = read_addresses(addresses, columns or AddressColumns(), crs, addresses_layer=addresses_layer)
    rows = table.rows
    ok = np.isfinite(rows["x"].to_numpy()) & np.isfinite(rows["y"].to_numpy())
    px, py = Transformer.from_crs(table.crs, metric, always_xy=True).transform(
        rows["x"].to_numpy()[ok], rows["y"].to_numpy()[ok])
    weight = rows["weight"].to_numpy(dtype=float)[ok] if "weight" in rows else np.ones(int(ok.sum()))
    points = gpd.GeoSeries(shapely.points(px, py), crs=metric)
    targets = gpd.GeoSeries(pieces.values, crs=metric)  # by position: maup's labels stay plain integers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", maup.AssigmentWarning)  # the points outside: counted below
        assigned = maup.assign(points, targets)
    where = _on_borders(points, targets, pd.to_numeric(assigned, errors="coerce").to_numpy())
    inside = where >= 0
    piece_weight = np.bincount(where[inside], weights=weight[inside], minlength=len(pieces))
    about = {"weighting": "addresses", "address_rows": int(len(rows)), "rows_without_coordinates": int((~ok).sum()),
             "rows_outside": int((~inside).sum()), "weight_placed": float(weight[inside].sum()),
             "weight_outside": float(weight[~inside].sum())}
    return piece_weight, about


def _on_borders(points, targets, assigned: np.ndarray) -> np.ndarray:
    """Each point's piece: maup's, else (a point on a border of two) the first piece it touches, else -1."""
    assigned = np.where(np.isfinite(assigned), assigned, -1).astype(np.int64)
    loose = np.flatnonzero(assigned < 0)
    if len(loose):
        tree = shapely.STRtree(targets.values.to_numpy())
        pt, piece = tree.query(points.values.to_numpy()[loose], predicate="intersects")
        first = pd.Series(piece).groupby(pt).min()
        assigned[loose[first.index.to_numpy()]] = first.to_numpy()
    return assigned


def _pairs(pieces, old_st, new_st, piece_weight) -> pd.DataFrame:
    """One row per piece: positions, area, IoU and both shares (address weights, else area)."""
    import maup

    src = pieces.index.get_level_values("source").to_numpy()
    tgt = pieces.index.get_level_values("target").to_numpy()
    area = shapely.area(pieces.values.to_numpy())
    old_area = shapely.area(old_st.geometry.values.to_numpy())[src]
    new_area = shapely.area(new_st.geometry.values.to_numpy())[tgt]
    frame = pd.DataFrame({"old": src, "new": tgt, "area_m2": area,
                          "iou": area / np.maximum(old_area + new_area - area, np.finfo(float).tiny)})
    frame["addresses"] = 0.0 if piece_weight is None else piece_weight
    for side, other in (("old", "new"), ("new", "old")):
        counted = frame.groupby(side)["addresses"].transform("sum").to_numpy() > 0
        w = pd.Series(np.where(counted, frame["addresses"], frame["area_m2"]),
                      index=pd.MultiIndex.from_arrays([frame[side], frame[other]], names=[side, other]))
        frame[f"share_of_{side}"] = maup.normalize(w, level=side).to_numpy()
        frame[f"weighting_{side}"] = np.where(counted, "addresses", "area")
    frame["old_id"] = old_st["id_bv"].to_numpy()[src]
    frame["new_id"] = new_st["id_bv"].to_numpy()[tgt]
    return frame.sort_values(["old", "new"], kind="stable").reset_index(drop=True)


def _public_pairs(pairs: pd.DataFrame, with_addresses: bool) -> pd.DataFrame:
    """The pairs as written: ids, shares, counts, weighting (``addresses`` only with addresses)."""
    out = pairs[["old_id", "new_id", "share_of_old", "share_of_new", "addresses", "area_m2", "iou",
                 "weighting_old", "weighting_new"]].copy()
    out[["share_of_old", "share_of_new", "iou"]] = out[["share_of_old", "share_of_new", "iou"]].round(6)
    out["area_m2"] = out["area_m2"].round(1)
    if not with_addresses:
        return out.drop(columns="addresses")
    whole = (out["addresses"] == out["addresses"].round()).all()
    out["addresses"] = out["addresses"].round(0 if whole else 3).astype("int64" if whole else float)
    return out


def statuses(pairs: pd.DataFrame, old_st, new_st, threshold: float = DEFAULT_THRESHOLD,
             min_share: float = DEFAULT_MIN_SHARE):
    """What became of each station: the new ones (with geometry) and the old ones.

    A new station is ``unchanged`` when its IoU with one old station is at least
    ``threshold``; ``split`` when its voters come from one old station (links under
    ``min_share`` of a station's voters ignored) that now sends them to several;
    ``merged`` when they come from several old stations each sending it most of
    theirs; ``new`` when it overlaps no old station; else ``redrawn`` (a border
    moved). An old station is ``gone`` when it overlaps no new one, ``unchanged``,
    ``split`` (several new stations get a share of its voters and have it as their
    main source), ``merged`` (its main new station is), or ``redrawn``.

    Returns
    -------
    tuple of geopandas.GeoDataFrame and pandas.DataFrame
        The new stations with ``status``, ``main_old``, ``share_from_main``,
        ``iou_main``, ``n_old``; the old ones with ``status``, ``main_new``, ``n_new``.
    """
    n_new, n_old = len(new_st), len(old_st)
    main_for_new = pairs.loc[pairs.groupby("new")["share_of_new"].idxmax()].set_index("new").reindex(range(n_new))
    main_for_old = pairs.loc[pairs.groupby("old")["share_of_old"].idxmax()].set_index("old").reindex(range(n_old))
    n_src = pairs[pairs["share_of_new"] >= min_share].groupby("new").size().reindex(range(n_new), fill_value=0)
    # an old station's parts: the new stations that get a share of its voters and have it as their main source
    parts = (pairs["share_of_old"] >= min_share) & (pairs["new"].map(main_for_new["old"]) == pairs["old"])
    n_dest = pairs[parts].groupby("old").size().reindex(range(n_old), fill_value=0)
    sig = pairs[pairs["share_of_new"] >= min_share]
    src_splits = (sig["old"].map(n_dest) >= 2).groupby(sig["new"]).any().reindex(range(n_new), fill_value=False)
    mostly_here = (sig["share_of_old"] >= 0.5).groupby(sig["new"]).all().reindex(range(n_new), fill_value=False)
    best_new = pairs.groupby("new")["iou"].max().reindex(range(n_new)).to_numpy()
    status = np.select(
        [np.isnan(best_new), best_new >= threshold, (n_src == 1) & src_splits, (n_src >= 2) & mostly_here],
        ["new", "unchanged", "split", "merged"], "redrawn")
    stations = new_st[["id_bv"]].assign(
        status=status, main_old=main_for_new["old_id"].to_numpy(),
        share_from_main=main_for_new["share_of_new"].round(6).to_numpy(),
        iou_main=main_for_new["iou"].round(6).to_numpy(), n_old=n_src.to_numpy()).set_geometry(new_st.geometry)
    best_old = pairs.groupby("old")["iou"].max().reindex(range(n_old)).to_numpy()
    main_new = main_for_old["new"].to_numpy()
    merged = np.zeros(n_old, dtype=bool)
    has = ~np.isnan(main_new)
    merged[has] = status[main_new[has].astype(np.int64)] == "merged"
    old_status = np.select([np.isnan(best_old), best_old >= threshold, n_dest.to_numpy() >= 2, merged],
                           ["gone", "unchanged", "split", "merged"], "redrawn")
    old_frame = pd.DataFrame({"old_id": old_st["id_bv"].to_numpy(), "status": old_status,
                              "main_new": main_for_old["new_id"].to_numpy(), "n_new": n_dest.to_numpy()})
    return stations, old_frame


def _summary(old_st, new_st, pairs, stations, old_status, metric, about, threshold, min_share) -> dict:
    """The report: inputs, weighting, counts by status, which stations are gone, new, or weighted by area."""
    area_old = sorted(set(pairs.loc[pairs["weighting_old"] == "area", "old_id"].map(str)))
    area_new = sorted(set(pairs.loc[pairs["weighting_new"] == "area", "new_id"].map(str)))
    with_addresses = about["weighting"] == "addresses"
    return {
        "old": {"source": old_st.attrs["where"], "stations": len(old_st),
                "without_geometry": old_st.attrs["without_geometry"]},
        "new": {"source": new_st.attrs["where"], "stations": len(new_st),
                "without_geometry": new_st.attrs["without_geometry"]},
        "crs": metric, "threshold": threshold, "min_share": min_share, "pairs": len(pairs), **about,
        "weighted_by_area": {"old": area_old if with_addresses else len(area_old),
                             "new": area_new if with_addresses else len(area_new)},
        "new_status": {s: int((stations["status"] == s).sum()) for s in NEW_STATUSES},
        "old_status": {s: int((old_status["status"] == s).sum()) for s in OLD_STATUSES},
        "gone": sorted(map(str, old_status.loc[old_status["status"] == "gone", "old_id"])),
        "new_stations": sorted(map(str, stations.loc[stations["status"] == "new", "id_bv"])),
    }


def carry_results(pairs: pd.DataFrame, results, results_id: str | None, new_st, old_st):
    """Carry results by old station onto the new stations through ``share_of_old`` (:func:`maup.prorate`).

    Every numeric column but codes (a name starting with ``code``) is carried; each one's total over the new stations is its
    total over the old stations that overlap a new one (the others are listed).
    ``share_with_results`` is the share of each new station's voters whose old
    station has a results row.

    Returns
    -------
    tuple of pandas.DataFrame and dict
        The carried table (``id_bv`` of the new stations, then the columns) and what
        the report says of it.
    """
    import maup

    from .results import as_numbers, read_results, refuse_no_match, result_keys, with_station_ids

    where = "results table" if isinstance(results, pd.DataFrame) else f"results file {results}"
    table = read_results(results)
    if len(table) == 0:
        raise InputError(f"{where} is empty (no data row); check {option('results')}")
    table, field = with_station_ids(table, results_id, where)
    keys = result_keys(table, field)
    numbers = {c: as_numbers(table[c], where) for c in table.columns if c != field}
    # codes (``Code de la circonscription``) are numbers that no share can carry
    numeric = [c for c, v in numbers.items() if pd.api.types.is_numeric_dtype(v)
               and not str(c).strip().lower().startswith("code")]
    if not numeric:
        raise InputError(f"{where} has no column of numbers to carry; give a table of counts by station")
    old_keys = pd.Series(pairs["old"].to_numpy(), index=_old_keys(pairs, old_st)).groupby(level=0).first()
    src = pd.Series(keys).map(old_keys)
    data = pd.DataFrame({c: numbers[c].astype("Float64").astype(float).to_numpy() for c in numeric})
    placed = src.notna().to_numpy()
    refuse_no_match(old_keys.index.to_numpy(dtype=object), old_st["id_bv"], keys, table[field], where)
    data = data[placed].set_axis(src[placed].astype(np.int64).to_numpy())
    rel = pd.Series(pairs["share_of_old"].to_numpy(),
                    index=pd.MultiIndex.from_arrays([pairs["old"], pairs["new"]], names=["source", "target"]))
    carried = maup.prorate(rel, data, weights=rel).reindex(range(len(new_st)))
    has = pd.Series(pairs["old"].isin(data.index).to_numpy() * pairs["share_of_new"].to_numpy())
    covered = has.groupby(pairs["new"].to_numpy()).sum().reindex(range(len(new_st)), fill_value=0)
    whole = [c for c in numeric if pd.api.types.is_integer_dtype(numbers[c])]
    out = pd.concat([pd.DataFrame({"id_bv": new_st["id_bv"].to_numpy(),
                                   "share_with_results": covered.round(6).to_numpy()}),
                     whole_as_integers(carried.round(6).reset_index(drop=True), whole)], axis=1)
    left = sorted(map(str, table[field][~placed]))
    about = {"source": where, "stations": int(len(table)), "carried": int(placed.sum()), "not_carried": left,
             "columns": numeric, "columns_left": [str(c) for c in numbers if c not in numeric],
             "totals": {c: {"results": round(float(np.nansum(data[c])), 6),
                            "carried": round(float(np.nansum(carried[c])), 6)} for c in numeric}}
    return out, about


def whole_as_integers(carried: pd.DataFrame, columns) -> pd.DataFrame:
    """``carried`` with each of ``columns`` (whole counts in the results) as integers when every carried value
    is whole (``1082``, not ``1082.0``): an old station carried whole onto one new one, unchanged maps.

    A column with a share of a count somewhere (``540.5``) stays in decimals, all of it: one
    column, one type. Missing values (a new station no old one overlaps) stay missing.
    """
    out = carried.copy()
    for c in columns:
        values = out[c].to_numpy(dtype=float, na_value=np.nan)
        known = values[np.isfinite(values)]
        if (known == np.round(known)).all() and (np.abs(known) < 2.0 ** 53).all():
            finite = np.isfinite(values)
            out[c] = pd.arrays.IntegerArray(np.where(finite, values, 0).astype(np.int64), ~finite)
    return out


def _old_keys(pairs: pd.DataFrame, old_st) -> np.ndarray:
    """The results key (:func:`boundaries.codes.results_key`) of each pair's old station."""
    return codes.arrondissement_station(old_st["key"].to_numpy()[pairs["old"].to_numpy()])


def report_path(output: str) -> str:
    """Where the report of ``output`` goes: ``x.csv`` → ``x.report.json``."""
    p = Path(output)
    return str(p.with_suffix(".report.json")) if p.suffix else output + ".report.json"


def write_crosswalk(result: Crosswalk, output: str, report: str | None = None, carried: str | None = None,
                    layer: str | None = None) -> str:
    """Write the pairs (CSV), the report (JSON), the carried results (CSV) and the layer (GeoPackage), as one set.

    Each file is written beside its target and renamed once all are complete
    (:func:`boundaries.outputs.output_set`); text cells are spreadsheet-safe.

    Returns
    -------
    str
        The report's path.
    """
    from .outputs import atomic_path, output_set
    from .write import spreadsheet_safe, write_json

    report = report or report_path(output)
    with output_set():
        with atomic_path(output, suffix=".csv") as tmp:
            spreadsheet_safe(result.pairs).to_csv(tmp, index=False)
        if carried is not None and result.carried is not None:
            with atomic_path(carried, suffix=".csv") as tmp:
                spreadsheet_safe(result.carried).to_csv(tmp, index=False)
        if layer is not None:
            _write_layer(result.stations, layer)
        write_json(result.summary, report)
    return report


def _write_layer(stations, path: str) -> None:
    """The new stations with their status, in WGS84, as the GeoPackage layer :data:`LAYER_NAME` for QGIS,
    coloured by status (its default style)."""
    import pyogrio

    from .outputs import atomic_path

    from .style import crosswalk_qml_style, write_gpkg_style
    from .write import gdal_config, output_timestamp

    stamp = output_timestamp()  # not the clock: the same inputs give the same bytes
    with atomic_path(path, suffix=".gpkg") as tmp, gdal_config(OGR_CURRENT_DATE=stamp):
        pyogrio.write_dataframe(stations.to_crs("EPSG:4326"), tmp, layer=LAYER_NAME, driver="GPKG",
                                promote_to_multi=True, dataset_options={"VERSION": "1.2"})
        write_gpkg_style(tmp, LAYER_NAME, crosswalk_qml_style(), description="boundaries: the new stations by "
                         "what became of them (crosswalk status)", timestamp=stamp)
