"""Measure how right station polygons are: against reference polygons, or held-out addresses.

Two measures, both published by the bench:

- **reference**: per station, the IoU (intersection over union) of our polygon with
  the official one; and ``area_right``, the share of the reference area given to
  the right station.
- **hold-out**: addresses kept out of the build; the share that fall inside their
  own station's polygon (``own_station``) and the share that fall in none
  (``uncovered``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from . import codes
from .errors import InputError, option
from .geometry import points_in_polygons


def holdout_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Choose the rows to hold out: a ``fraction`` of the unique coordinates.

    Whole coordinates are held out (every row at a chosen point), so a test address
    never has a twin left in the build. The choice depends only on the set of
    coordinates, the fraction and the seed, not on the order of the rows.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates (NaN rows are never held out).
    fraction : float
        Share of unique coordinates to hold out, in [0, 1).
    seed : int
        Seed of the random choice.

    Returns
    -------
    numpy.ndarray of bool
        True for held-out rows.
    """
    if not 0 <= fraction < 1:
        raise InputError(f"hold-out fraction must be in [0, 1), got {fraction}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    held = np.zeros(len(x), dtype=bool)
    if fraction == 0 or not ok.any():
        return held
    coords = np.column_stack([x[ok], y[ok]])
    uniq, inverse = np.unique(coords, axis=0, return_inverse=True)  # sorted: order-free
    pick = np.random.default_rng(seed).random(len(uniq)) < fraction
    held[np.flatnonzero(ok)] = pick[inverse.ravel()]
    return held


def neighbour_agreement(seeds: pd.DataFrame) -> pd.Series:
    """Each station's leave-one-out agreement: a hold-out estimate from the build's own seeds.

    For every address seed, its nearest other seed of the same outline unit is
    found; the station's agreement is the share of its address rows (weighted by
    ``rows``) whose nearest neighbour belongs to the same station. It is the
    hold-out accuracy of a nearest-seed rule with each point left out in turn, so
    it is low where the station's doors are mixed with another's, and it costs one
    KD-tree query instead of a rebuild. A station alone in its unit scores 1.

    Parameters
    ----------
    seeds : pandas.DataFrame
        ``unit``, ``station_key``, ``sx``, ``sy``, ``rows`` (address seeds only:
        ``rows > 0``).

    Returns
    -------
    pandas.Series
        Agreement in [0, 1], indexed by station key.
    """
    from scipy.spatial import cKDTree

    seeds = seeds[seeds["rows"].to_numpy() > 0]
    if len(seeds) == 0:
        return pd.Series(dtype=float)
    # a unit with one station (most communes) agrees fully: no neighbour search there
    shared = seeds.groupby("unit")["station_key"].transform("nunique").to_numpy() > 1
    alone_units = pd.Series(1.0, index=pd.Index(np.unique(seeds["station_key"].to_numpy()[~shared]), name="station"))
    seeds = seeds[shared]
    if len(seeds) == 0:
        return alone_units
    station = seeds["station_key"].to_numpy()
    rows = seeds["rows"].to_numpy(dtype=float)
    xy = np.column_stack([seeds["sx"].to_numpy(), seeds["sy"].to_numpy()])
    same = np.ones(len(seeds), dtype=bool)
    # one tree per unit: which of two equidistant neighbours is found depends on the tree,
    # so it must hold the unit's seeds alone (not the other communes' or départements')
    for idx in pd.Series(np.arange(len(seeds))).groupby(seeds["unit"].to_numpy(), sort=False).indices.values():
        if len(idx) < 2:
            continue
        # an unbalanced, uncompacted tree: built and queried a third faster here
        _, nn = cKDTree(xy[idx], balanced_tree=False, compact_nodes=False).query(xy[idx], k=2)
        same[idx] = station[idx[nn[:, 1]]] == station[idx]
    frame = pd.DataFrame({"station": station, "agree": same * rows, "rows": rows})
    g = frame.groupby("station", sort=True)[["agree", "rows"]].sum()
    return pd.concat([g["agree"] / g["rows"], alone_units]).sort_index()


def holdout_accuracy(geoms_by_key: dict, px: np.ndarray, py: np.ndarray, keys: np.ndarray) -> dict:
    """Share of points inside their own station's polygon, and in no polygon.

    Parameters
    ----------
    geoms_by_key : dict
        Station key → polygon, in the points' (metric) CRS.
    px, py : numpy.ndarray
        Test points.
    keys : numpy.ndarray
        The true station key of each point.

    Returns
    -------
    dict
        ``test_points``, ``own_station`` and ``uncovered`` (shares in [0, 1]), and the
        per-point boolean arrays ``inside_own`` and ``covered``.
    """
    n = len(px)
    if n == 0:
        return {"test_points": 0, "own_station": None, "uncovered": None,
                "inside_own": np.zeros(0, bool), "covered": np.zeros(0, bool)}
    polys = np.array([g for g in geoms_by_key.values() if g is not None], dtype=object)
    polys = polys[~shapely.is_empty(polys)] if len(polys) else polys
    shapely.prepare(polys)
    own = np.array(pd.Series(np.asarray(keys, dtype=object)).map(geoms_by_key).to_numpy(dtype=object))
    own[pd.isna(own)] = shapely.Polygon()  # a station with no polygon holds no point
    inside_own = shapely.intersects_xy(own, px, py)
    covered = np.zeros(n, dtype=bool)
    if len(polys):
        hit = points_in_polygons(shapely.points(px, py), polys)[0]
        covered[np.unique(hit)] = True
    return {
        "test_points": int(n),
        "own_station": float(inside_own.mean()),
        "uncovered": float((~covered).mean()),
        "inside_own": inside_own,
        "covered": covered,
    }


@dataclass
class Scores:
    """What :func:`evaluate` returns: a flat summary and a per-station table."""

    summary: dict
    per_station: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict:
        return dict(self.summary)


_metric_crs = codes.metric_crs


def evaluate(
    stations,
    *,
    reference=None,
    holdout=None,
    id_field: str | None = None,
    reference_field: str | None = None,
    columns=None,
    crs: str | None = None,
    layer: str | None = None,
    reference_layer: str | None = None,
    addresses_layer: str | None = None,
    station_commune_field: str | None = None,
    reference_commune_field: str | None = None,
) -> Scores:
    """Score a station layer against reference polygons or held-out addresses.

    Parameters
    ----------
    stations : path or GeoDataFrame
        The station layer to score (ours or any tool's).
    reference : path or GeoDataFrame, optional
        Official station polygons. Ids are matched across forms (``94068_7`` =
        ``94068_0007``).
    holdout : path or DataFrame, optional
        Test addresses (an address table, read like ``build``'s).
    id_field, reference_field : str, optional
        Station id fields of the layer and of the reference (detected when not given).
    station_commune_field, reference_commune_field : str, optional
        Commune code fields of the layer and of the reference (detected when not given;
        else taken from the ids' ``{insee}_`` prefix).
    columns : AddressColumns, optional
        Column names of a non-REU test table.
    crs : str, optional
        CRS of the test table's coordinates.
    layer, reference_layer, addresses_layer : str, optional
        The layer to read from a ``stations``, ``reference`` or ``holdout`` file of several.

    Returns
    -------
    Scores
        Reference mode: ``iou_mean``, ``iou_median``, ``iou_min``, ``area_right``,
        ``stations_reference``, ``stations_missing``, ``stations_extra``.
        Hold-out mode: ``own_station``, ``uncovered``, ``test_points``.
    """
    from .read import read_stations

    if (reference is None) == (holdout is None):
        raise InputError(f"evaluate needs exactly one of {option('reference')} or {option('holdout')}")
    ours = read_stations(stations, id_field, station_commune_field, layer=layer)
    if reference is not None:
        return _score_reference(ours, reference, reference_field, reference_layer, reference_commune_field)
    return _score_holdout(ours, holdout, columns, crs, addresses_layer)


def _union_by_key(stations) -> dict:
    """Station key → its polygon, the features of one key united (null and empty ones skipped)."""
    geom = {}
    for k, g in zip(stations["key"], stations.geometry.values):
        if g is not None and not g.is_empty:
            geom[k] = shapely.union(geom[k], g) if k in geom else g
    return geom


def _valid(geoms: np.ndarray) -> np.ndarray:
    """The geometries, the invalid ones repaired (overlay areas of invalid shapes are unreliable)."""
    return np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))


def _score_reference(ours, reference, reference_field: str | None, reference_layer: str | None = None,
                     commune_field: str | None = None) -> Scores:
    """:func:`evaluate` against reference polygons: IoU per reference station, area given right."""
    from .read import read_stations

    ref = read_stations(reference, reference_field, commune_field, what="reference", layer=reference_layer,
                        layer_keyword="reference_layer", id_keyword="reference_field",
                        commune_keyword="reference_commune_field")
    metric = _metric_crs(ref["code_commune"])
    ref_m = ref.to_crs(metric)
    ours_geom = _union_by_key(ours.to_crs(metric))
    ref_geom = _valid(ref_m.geometry.values.to_numpy())
    mine = _valid(np.array([ours_geom.get(k, shapely.Polygon()) for k in ref_m["key"]], dtype=object))
    inter = shapely.area(shapely.intersection(ref_geom, mine))
    union = shapely.area(shapely.union(ref_geom, mine))
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    ref_area = shapely.area(ref_geom)
    found = np.array([k in ours_geom for k in ref_m["key"]])
    per = pd.DataFrame({
        "key": ref_m["key"].to_numpy(), "id_reference": ref_m["id_bv"].to_numpy(),
        "found": found, "iou": np.round(iou, 6),
        "area_reference_m2": np.round(ref_area, 1), "area_ours_m2": np.round(shapely.area(mine), 1),
        "area_right_m2": np.round(inter, 1),
    }).sort_values("key", kind="stable").reset_index(drop=True)
    summary = {
        "mode": "reference",
        "stations_reference": int(len(ref_m)),
        "stations_missing": int((~found).sum()),
        "stations_extra": int(len(set(ours_geom) - set(ref_m["key"]))),
        "iou_mean": round(float(iou.mean()), 6) if len(iou) else None,
        "iou_median": round(float(np.median(iou)), 6) if len(iou) else None,
        "iou_min": round(float(iou.min()), 6) if len(iou) else None,
        "area_right": round(float(inter.sum() / ref_area.sum()), 6) if ref_area.sum() else None,
    }
    return Scores(summary, per)


def _score_holdout(ours, holdout, columns, crs: str | None, addresses_layer: str | None = None) -> Scores:
    """:func:`evaluate` against held-out addresses: share inside their own station, share in none."""
    from pyproj import Transformer

    from .read import AddressColumns, read_addresses

    table = read_addresses(holdout, columns or AddressColumns(), crs, addresses_layer=addresses_layer)
    rows, src_crs = table.rows, table.crs
    metric = _metric_crs(rows["commune"].dropna().unique())
    ok = np.isfinite(rows["x"].to_numpy()) & np.isfinite(rows["y"].to_numpy())
    rows = rows.loc[ok]
    px, py = Transformer.from_crs(src_crs, metric, always_xy=True).transform(rows["x"].to_numpy(), rows["y"].to_numpy())
    ours_m = ours.to_crs(metric)
    geoms = {k: g for k, g in zip(ours_m["key"], ours_m.geometry.values) if g is not None}
    keys = codes.canonical_station(rows["station"].to_numpy())
    acc = holdout_accuracy(geoms, px, py, keys)
    per = (
        pd.DataFrame({"key": keys, "inside_own": acc["inside_own"], "covered": acc["covered"]})
        .groupby("key", sort=True)
        .agg(test_points=("inside_own", "size"), own_station=("inside_own", "mean"), covered=("covered", "mean"))
        .reset_index()
    )
    per["uncovered"] = 1 - per.pop("covered")
    summary = {
        "mode": "holdout",
        "test_points": acc["test_points"],
        "test_rows_without_coordinates": int((~ok).sum()),
        "own_station": None if acc["own_station"] is None else round(acc["own_station"], 6),
        "uncovered": None if acc["uncovered"] is None else round(acc["uncovered"], 6),
    }
    return Scores(summary, per)
