"""Clean the address rows: decide, row by row, whether it seeds a station or why not.

Every row ends with exactly one ``reason`` (``None`` when it is used). Reasons are
tested in the order of :data:`REASONS`, so each dropped row is counted once, under
the first reason that applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

#: Why a row does not seed its station, in the order the rules are applied.
REASONS = (
    "commune_without_outline",  # its commune is not in the outline file
    "no_station_id",  # an empty station id, or a commune code and "_" alone (29046_)
    "station_of_other_commune",  # its station id names another commune than its commune code
    "no_coordinates",  # empty, unparsable or non-finite coordinates
    "outside_commune",  # farther than outside_tolerance_m from its commune's outline
    "municipality_geocode",  # geocoded to the town itself, in a commune with several stations
    "imprecise_geocode",  # a street-centre/locality point among another station's house numbers
    "station_outlier",  # far from its station's body and alone there: a geocoding error
    "contested_coordinate",  # another station won the coordinate it shares with this one
)
#: Reasons listed in a report only when some row has them (reports of valid input stay as they were).
RARE_REASONS = ("no_station_id", "station_of_other_commune")
#: ``geo_type`` values placed at a street centre or a place name, not at a door.
IMPRECISE_TYPES = ("street", "locality")
#: ``geo_type`` values that mean "geocoded to the commune, not to an address"
#: (``city``/``town`` are older names of the national address base for it).
MUNICIPALITY_TYPES = ("municipality", "city", "town")


def flag_unusable(rows: pd.DataFrame, outlines, outside_tolerance_m: float) -> np.ndarray:
    """First reasons: no outline, an unusable station id, no coordinates, too far outside, municipality geocode.

    Parameters
    ----------
    rows : pandas.DataFrame
        Canonical address rows with ``unit`` (the outline code they are built in,
        None when absent), ``commune``, ``station``, ``geo_type``, projected ``px``/``py``
        and, optionally, ``station_problem`` (a reason found while reading the ids).
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
    # a row without a commune code is of no commune: its station cannot be named
    reason[no_outline & (rows["commune"].fillna("") != "").to_numpy(dtype=bool)] = "commune_without_outline"
    reason[nameless(rows) & (reason == None)] = "no_station_id"  # noqa: E711
    if "station_problem" in rows:
        problem = rows["station_problem"].to_numpy(dtype=object)
        known = pd.notna(problem) & (reason == None)  # noqa: E711
        reason[known] = problem[known]

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


def nameless(rows: pd.DataFrame) -> np.ndarray:
    """Rows that name no station: no commune code, no station id, or an id that is no station's (``29046_``).

    They are dropped (``no_station_id``, or ``commune_without_outline`` for a commune
    code without outline) and make no station: a wholly empty line, a ``Total;;;``.
    """
    out = ((rows["commune"].fillna("") == "") | (rows["station"].fillna("") == "")).to_numpy(dtype=bool)
    if "station_problem" in rows:
        out = out | (rows["station_problem"].to_numpy(dtype=object) == "no_station_id")
    return out


def resolve_contested(
    rows: pd.DataFrame, grid_m: float, share_offset_m: float = 0.0
) -> tuple[np.ndarray, pd.DataFrame]:
    """Give each shared coordinate to one station and build the Voronoi seeds.

    Rows are grouped by outline unit and by coordinate snapped to ``grid_m``. Where
    several stations share a coordinate, the winner is the station with the largest
    total ``weight`` (``nb_adresses``) there; ties go to the best ``geo_score``, then
    to the smallest station id in string order. The losers' rows are dropped as
    ``contested_coordinate`` — except for a station that would be left with no seed
    at all: it keeps its heaviest shared point, moved ``share_offset_m`` away, so it
    gets a share of the cell.

    Parameters
    ----------
    rows : pandas.DataFrame
        Usable rows (``unit``, ``station_key``, ``px``, ``py``, ``weight``, ``geo_score``).
    grid_m : float
        Snapping grid in metres.
    share_offset_m : float
        Offset of the share seed of a station that won no coordinate; 0 turns
        sharing off (such a station is then reported without polygon).

    Returns
    -------
    lost : numpy.ndarray of bool
        Rows whose coordinate went to another station.
    seeds : pandas.DataFrame
        One row per unique coordinate: ``unit``, ``station_key``, ``sx``, ``sy`` and
        ``rows`` (the winner's rows there), sorted by unit then coordinate.
    """
    per_station, group_of_row, unit_names, key_names = _station_points(rows, grid_m)
    first = ~per_station.duplicated(["unit", "gx", "gy"], keep="first").to_numpy()
    winners = per_station.loc[first]
    sharers = _sharers(per_station.loc[~first].copy(), winners, share_offset_m)
    kept = np.zeros(len(per_station), dtype=bool)
    kept[winners.index.to_numpy()] = True
    kept[sharers.index.to_numpy()] = True
    lost = ~kept[group_of_row]
    seeds = _seed_table(winners, sharers, unit_names, key_names, grid_m, share_offset_m)
    return lost, seeds


def _station_points(rows: pd.DataFrame, grid_m: float):
    """Each station's total at each snapped coordinate, best claim first at each coordinate.

    Returns
    -------
    per_station : pandas.DataFrame
        One row per (unit, ``gx``, ``gy``, station) group, ``unit`` and
        ``station_key`` as integer codes, with the group's ``weight`` (sum), ``score``
        (max) and ``rows``; sorted by unit, coordinate, then the winning rule
        (heaviest, best score, smallest key). Its index is the group number.
    group_of_row : numpy.ndarray
        The group of each row.
    unit_names, key_names : pandas.Index
        The names of the integer codes.
    """
    gx = np.round(rows["px"].to_numpy() / grid_m).astype(np.int64)
    gy = np.round(rows["py"].to_numpy() / grid_m).astype(np.int64)
    # grouped and sorted as integer codes (in the strings' order): ~3× faster than strings
    unit_code, unit_names = pd.factorize(rows["unit"].to_numpy(dtype=object), sort=True, use_na_sentinel=False)
    key_code, key_names = pd.factorize(rows["station_key"].to_numpy(dtype=object), sort=True, use_na_sentinel=False)
    frame = pd.DataFrame(
        {
            "unit": unit_code,
            "gx": gx,
            "gy": gy,
            "station_key": key_code,
            "weight": rows["weight"].to_numpy(),
            "score": np.nan_to_num(rows["geo_score"].to_numpy(dtype=float), nan=-1.0),
        }
    )
    groups = frame.groupby(["unit", "gx", "gy", "station_key"], sort=False)
    group_of_row = groups.ngroup().to_numpy()  # row i of per_station is group i
    per_station = groups.agg(weight=("weight", "sum"), score=("score", "max"), rows=("weight", "size")).reset_index()
    order = np.lexsort((per_station["station_key"].to_numpy(), -per_station["score"].to_numpy(),
                        -per_station["weight"].to_numpy(), per_station["gy"].to_numpy(),
                        per_station["gx"].to_numpy(), per_station["unit"].to_numpy()))
    return per_station.iloc[order], group_of_row, unit_names, key_names


def _sharers(losers: pd.DataFrame, winners: pd.DataFrame, share_offset_m: float) -> pd.DataFrame:
    """The share seed of each station that won no coordinate: its heaviest lost point.

    A station that won no coordinate at all (every address on points shared with a
    bigger station) still gets a share: a seed a few metres off its heaviest point,
    in a direction set by its ``rank`` among the ``n`` claims there, so its cell is
    carved out of the winner's instead of vanishing. Empty when sharing is off.
    """
    sharers = losers.iloc[:0].assign(rank=np.int64(0), n=np.int64(0))
    if share_offset_m > 0 and len(losers):
        # a station key names its commune, hence its unit: the key alone says who has a seed
        orphan = ~losers["station_key"].isin(winners["station_key"].unique())
        losers = losers.loc[orphan.to_numpy()]
        if len(losers):
            losers["rank"] = losers.groupby(["unit", "gx", "gy"]).cumcount() + 1
            losers["n"] = losers.groupby(["unit", "gx", "gy"])["rank"].transform("max") + 1
            sharers = losers.drop_duplicates(["unit", "station_key"], keep="first")  # heaviest point first
            sharers = sharers.sort_values(["unit", "station_key"], kind="stable")
    return sharers


def _seed_table(winners: pd.DataFrame, sharers: pd.DataFrame, unit_names, key_names, grid_m: float,
                share_offset_m: float) -> pd.DataFrame:
    """The seeds: every winner at its grid point, then every share seed moved off its point.

    An offset seed is snapped to the grid too, and dropped if it lands on another seed.
    """
    angle = 2 * np.pi * sharers["rank"].to_numpy(dtype=float) / np.maximum(sharers["n"].to_numpy(dtype=float), 1)
    unit_names = np.asarray(unit_names, dtype=object)
    key_names = np.asarray(key_names, dtype=object)
    seeds = pd.DataFrame(
        {
            "unit": unit_names[np.r_[winners["unit"].to_numpy(), sharers["unit"].to_numpy()].astype(np.int64)],
            "station_key": key_names[np.r_[winners["station_key"].to_numpy(),
                                           sharers["station_key"].to_numpy()].astype(np.int64)],
            "sx": np.r_[winners["gx"].to_numpy() * grid_m,
                        np.round((sharers["gx"].to_numpy(dtype=float) * grid_m + share_offset_m * np.cos(angle))
                                 / grid_m) * grid_m],
            "sy": np.r_[winners["gy"].to_numpy() * grid_m,
                        np.round((sharers["gy"].to_numpy(dtype=float) * grid_m + share_offset_m * np.sin(angle))
                                 / grid_m) * grid_m],
            "rows": np.r_[winners["rows"].to_numpy(), sharers["rows"].to_numpy()],
        }
    )
    # an offset seed must not land on another seed
    return seeds.drop_duplicates(["unit", "sx", "sy"], keep="first").reset_index(drop=True)


def flag_seed_quality(
    rows: pd.DataFrame,
    imprecise_radius_m: float,
    outlier_neighbours: int,
    outlier_spread: float,
) -> np.ndarray:
    """Rows that should not seed their station: imprecise geocodes and robust outliers.

    Parameters
    ----------
    rows : pandas.DataFrame
        Usable rows (``unit``, ``station_key``, ``px``, ``py``, ``geo_type``).
    imprecise_radius_m : float
        A ``street``/``locality`` point is dropped (``imprecise_geocode``) when the
        nearest house-number point is another station's and closer than this: a
        street-centre point must not outvote the doors around it. 0 turns it off.
    outlier_neighbours : int
        A point none of whose ``outlier_neighbours`` nearest points (in its commune)
        belongs to its own station is *alone*. 0 turns outlier detection off.
    outlier_spread : float
        An alone point farther from its station's median centre than this many times
        the station's robust spread (median distance to that centre) is dropped
        (``station_outlier``). Several points of a station together are never alone:
        a true enclave stays.

    Returns
    -------
    numpy.ndarray of object
        ``imprecise_geocode``, ``station_outlier`` or None for each row.
    """
    reason = np.full(len(rows), None, dtype=object)
    if len(rows) == 0:
        return reason
    xy = rows[["px", "py"]].to_numpy()
    station = pd.factorize(rows["station_key"])[0]
    precise = ~pd.Series(rows["geo_type"].to_numpy(dtype=object)).isin(IMPRECISE_TYPES).to_numpy()
    for idx in rows.groupby("unit", sort=True).indices.values():
        st = station[idx]
        if len(np.unique(st)) < 2:
            continue  # one station: nothing to outvote, no one to be an outlier among
        pts = xy[idx]
        if imprecise_radius_m > 0 and (~precise[idx]).any() and precise[idx].any():
            reason[idx[_imprecise(pts, st, precise[idx], imprecise_radius_m)]] = "imprecise_geocode"
        if outlier_neighbours > 0 and len(idx) > outlier_neighbours + 1:
            out = _outliers(pts, st, outlier_neighbours, outlier_spread) & (reason[idx] == None)  # noqa: E711
            reason[idx[out]] = "station_outlier"
    return reason


def _imprecise(pts: np.ndarray, st: np.ndarray, precise: np.ndarray, radius_m: float) -> np.ndarray:
    """Positions (in ``pts``) of the imprecise points whose nearest precise point is another station's, near."""
    from scipy.spatial import cKDTree

    p_idx = np.flatnonzero(precise)
    q_idx = np.flatnonzero(~precise)
    dist, nn = cKDTree(pts[p_idx]).query(pts[q_idx], k=1)
    bad = (dist < radius_m) & (st[p_idx[nn]] != st[q_idx])
    return q_idx[bad]


def _outliers(pts: np.ndarray, st: np.ndarray, neighbours: int, spread_factor: float) -> np.ndarray:
    """True for the points of one unit that are alone among their neighbours and far from their station.

    See :func:`flag_seed_quality` (``outlier_neighbours``, ``outlier_spread``).
    """
    from scipy.spatial import cKDTree

    _, nn = cKDTree(pts).query(pts, k=neighbours + 1)
    alone = (st[nn[:, 1:]] != st[:, None]).all(axis=1)
    if not alone.any():
        return alone
    frame = pd.DataFrame({"st": st, "x": pts[:, 0], "y": pts[:, 1]})
    centre = frame.groupby("st")[["x", "y"]].transform("median").to_numpy()
    d = np.hypot(*(pts - centre).T)
    spread = pd.Series(d).groupby(st).transform("median").to_numpy()
    return alone & (d > spread_factor * np.maximum(spread, 1.0))


#: The reason of the rows kept out of the build to measure it (not a drop).
HELD_OUT = "held_out"


@dataclass
class Seeding:
    """What :func:`seed_stations` decides: each row's fate and each unit's seeds.

    Attributes
    ----------
    seeds : pandas.DataFrame
        ``unit``, ``station_key``, ``sx``, ``sy`` (metres) and ``rows`` (address rows at the
        point; 0 for the street-aware extra seeds, which come last).
    held : numpy.ndarray of bool
        The rows held out to measure the build.
    agreement : pandas.Series
        Each station's leave-one-out agreement (:func:`boundaries.scoring.neighbour_agreement`).
    shared : set of str
        Units split between several stations: only they are tessellated.
    address_seeds : pandas.Series
        Per unit, its seeds from addresses (the frontage seeds not counted).
    first_key : pandas.Series
        Per unit, its first station: the only one where the unit has one.
    """

    seeds: pd.DataFrame
    held: np.ndarray
    agreement: pd.Series
    shared: set
    address_seeds: pd.Series
    first_key: pd.Series


def seed_stations(scope, params, holdout: float = 0.0, seed: int = 0) -> Seeding:
    """Set the hold-out aside, give every row of ``scope`` its reason, and place the seeds.

    Adds the ``reason`` column to ``scope.rows`` (None: the row seeds its station).
    """
    from .scoring import holdout_split, neighbour_agreement

    rows = scope.rows
    held = holdout_split(rows["x"].to_numpy(), rows["y"].to_numpy(), holdout, seed) & rows["unit"].notna().to_numpy()
    reason = flag_unusable(rows, pd.Series(scope.unit_geom), params.outside_tolerance_m)
    reason[held] = HELD_OUT
    usable = np.flatnonzero(reason == None)  # noqa: E711
    reason[usable] = flag_seed_quality(
        rows.iloc[usable], params.imprecise_radius_m, params.outlier_neighbours, params.outlier_spread
    )
    usable = np.flatnonzero(reason == None)  # noqa: E711
    lost, seeds = resolve_contested(rows.iloc[usable], params.coordinate_grid_m, params.share_offset_m)
    reason[usable[lost]] = "contested_coordinate"
    rows["reason"] = reason
    agreement = neighbour_agreement(seeds)
    # Only communes split between stations are tessellated, and need frontage seeds: most
    # communes have one station, and get no per-commune frame of their own.
    stations_per_unit = seeds.groupby("unit")["station_key"].nunique()
    shared = set(stations_per_unit.index[stations_per_unit.to_numpy() > 1])
    extra = frontage(rows, seeds, params, shared)
    address_seeds = seeds.groupby("unit").size()
    first_key = seeds.groupby("unit")["station_key"].first()
    seeds = pd.concat([seeds, extra], ignore_index=True) if len(extra) else seeds
    return Seeding(seeds, held, agreement, shared, address_seeds, first_key)


def frontage(rows: pd.DataFrame, seeds: pd.DataFrame, params, units: set) -> pd.DataFrame:
    """Street-aware extra seeds of ``units`` (:mod:`boundaries.streets`), snapped to the grid, never on an address seed."""
    from .streets import frontage_seeds, parse_addresses

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
