"""Clean the address rows: decide, row by row, whether it seeds a station or why not.

Every row ends with exactly one ``reason`` (``None`` when it is used). Reasons are
tested in the order of :data:`REASONS`, so each dropped row is counted once, under
the first reason that applies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

#: Why a row does not seed its station, in the order the rules are applied.
REASONS = (
    "commune_without_outline",  # its commune is not in the outline file
    "no_coordinates",  # empty, unparsable or non-finite coordinates
    "outside_commune",  # farther than outside_tolerance_m from its commune's outline
    "municipality_geocode",  # geocoded to the town itself, in a commune with several stations
    "contested_coordinate",  # another station won the coordinate it shares with this one
)
#: ``geo_type`` values that mean "geocoded to the commune, not to an address"
#: (``city``/``town`` are older names of the national address base for it).
MUNICIPALITY_TYPES = ("municipality", "city", "town")


def flag_unusable(rows: pd.DataFrame, outlines, outside_tolerance_m: float) -> np.ndarray:
    """First reasons: no outline, no coordinates, too far outside, municipality geocode.

    Parameters
    ----------
    rows : pandas.DataFrame
        Canonical address rows with ``unit`` (the outline code they are built in,
        None when absent), ``commune``, ``station``, ``geo_type`` and projected ``px``/``py``.
    outlines : geopandas.GeoSeries
        Projected outline geometries indexed by unit code.
    outside_tolerance_m : float
        Distance beyond which a row outside its outline is dropped.

    Returns
    -------
    numpy.ndarray of object
        The reason of each row, or None.
    """
    reason = np.full(len(rows), None, dtype=object)
    no_outline = rows["unit"].isna().to_numpy()
    reason[no_outline] = "commune_without_outline"

    px = rows["px"].to_numpy()
    py = rows["py"].to_numpy()
    no_xy = ~(np.isfinite(px) & np.isfinite(py)) & (reason == None)  # noqa: E711
    reason[no_xy] = "no_coordinates"

    todo = np.flatnonzero(reason == None)  # noqa: E711
    if len(todo):
        geoms = outlines.reindex(rows["unit"].to_numpy()[todo]).to_numpy()
        shapely.prepare(outlines.to_numpy())
        inside = shapely.contains_xy(geoms, px[todo], py[todo])
        outside = todo[~inside]
        if len(outside):
            dist = shapely.distance(geoms[~inside], shapely.points(px[outside], py[outside]))
            reason[outside[dist > outside_tolerance_m]] = "outside_commune"

    stations_per_commune = rows.groupby("commune")["station"].transform("nunique").to_numpy()
    geo_type = rows["geo_type"].to_numpy(dtype=object)
    municipal = pd.Series(geo_type).isin(MUNICIPALITY_TYPES).to_numpy()
    reason[municipal & (stations_per_commune > 1) & (reason == None)] = "municipality_geocode"  # noqa: E711
    return reason


def resolve_contested(rows: pd.DataFrame, grid_m: float) -> tuple[np.ndarray, pd.DataFrame]:
    """Give each shared coordinate to one station and build the Voronoi seeds.

    Rows are grouped by outline unit and by coordinate snapped to ``grid_m``. Where
    several stations share a coordinate, the winner is the station with the largest
    total ``weight`` (``nb_adresses``) there; ties go to the best ``geo_score``, then
    to the smallest station id in string order. The losers' rows are dropped as
    ``contested_coordinate``.

    Parameters
    ----------
    rows : pandas.DataFrame
        Usable rows (``unit``, ``station_key``, ``px``, ``py``, ``weight``, ``geo_score``).
    grid_m : float
        Snapping grid in metres.

    Returns
    -------
    lost : numpy.ndarray of bool
        Rows whose coordinate went to another station.
    seeds : pandas.DataFrame
        One row per unique coordinate: ``unit``, ``station_key``, ``sx``, ``sy`` and
        ``rows`` (the winner's rows there), sorted by unit then coordinate.
    """
    gx = np.round(rows["px"].to_numpy() / grid_m).astype(np.int64)
    gy = np.round(rows["py"].to_numpy() / grid_m).astype(np.int64)
    frame = pd.DataFrame(
        {
            "unit": rows["unit"].to_numpy(),
            "gx": gx,
            "gy": gy,
            "station_key": rows["station_key"].to_numpy(),
            "weight": rows["weight"].to_numpy(),
            "score": np.nan_to_num(rows["geo_score"].to_numpy(dtype=float), nan=-1.0),
        }
    )
    per_station = (
        frame.groupby(["unit", "gx", "gy", "station_key"], sort=False)
        .agg(weight=("weight", "sum"), score=("score", "max"), rows=("weight", "size"))
        .reset_index()
    )
    per_station = per_station.sort_values(
        ["unit", "gx", "gy", "weight", "score", "station_key"],
        ascending=[True, True, True, False, False, True],
        kind="stable",
    )
    winners = per_station.drop_duplicates(["unit", "gx", "gy"], keep="first")
    won = frame.merge(
        winners[["unit", "gx", "gy", "station_key"]].rename(columns={"station_key": "winner"}),
        on=["unit", "gx", "gy"],
        how="left",
    )
    lost = (won["winner"] != won["station_key"]).to_numpy()
    seeds = pd.DataFrame(
        {
            "unit": winners["unit"].to_numpy(),
            "station_key": winners["station_key"].to_numpy(),
            "sx": winners["gx"].to_numpy() * grid_m,
            "sy": winners["gy"].to_numpy() * grid_m,
            "rows": winners["rows"].to_numpy(),
        }
    )
    return lost, seeds
