"""Station assembly: one row per station, its polygon, its output columns, in WGS84.

After the units are built (:func:`boundaries.pipeline.build_units`), :func:`assemble`
joins each station's polygon to its counts, names it, measures it, brings every
territory's polygons to WGS84, and colours it so that no two touching stations
share a colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from . import codes
from .clean import HELD_OUT, nameless

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
    "n_elsewhere",
    "confidence",
    "method",
    "colour",
    "area_m2",
]


@dataclass
class Assembly:
    """What :func:`assemble` returns.

    Attributes
    ----------
    stations : geopandas.GeoDataFrame
        The output layer: one polygon per station, EPSG:4326, :data:`STATION_COLUMNS`.
    table : pandas.DataFrame
        Every station of the selection, built or not (:func:`station_table`), with
        ``geometry`` (metres) and ``reason`` (why it has no polygon, None if it has one).
    has_polygon : numpy.ndarray of bool
        Which rows of ``table`` have a polygon.
    neighbours : scipy.sparse.csr_array
        Which stations of ``stations`` touch (on the output grid): the colours' graph.
    geom_by_key : dict
        Each station key's polygon in metres (the hold-out is scored on them).
    unit_method : dict
        The method each unit was built with.
    """

    stations: object
    table: pd.DataFrame
    has_polygon: np.ndarray
    neighbours: object
    geom_by_key: dict
    unit_method: dict


def assemble(scope, seeding, built: dict, unit_info: dict, method: str) -> Assembly:
    """The station layer from the built units: ``built`` maps a unit to its (keys, polygons)."""
    table = station_table(scope.rows)
    geom_by_key = {k: g for u in sorted(built) for k, g in zip(*built[u])}
    table["geometry"] = table["station_key"].map(geom_by_key)
    has_polygon = table["geometry"].notna().to_numpy().copy()
    has_polygon[has_polygon] = ~shapely.is_empty(table.loc[has_polygon, "geometry"].to_numpy())
    table["reason"] = no_polygon_reason(table, has_polygon)
    unit_method = {u: info.get("method", method) for u, info in unit_info.items()}
    out = output_columns(table.loc[has_polygon].copy(), scope.outlines, unit_method, method, seeding.agreement)
    out["n_elsewhere"] = out["station_key"].map(rows_elsewhere(unit_info)).fillna(0).astype("int64")
    check_unique_ids(out["id_bv"])
    gdf, neighbours = coloured(in_wgs84(out))
    return Assembly(gdf, table, has_polygon, neighbours, geom_by_key, unit_method)


def rows_elsewhere(unit_info: dict) -> pd.Series:
    """Address rows of each station (by key) that lie in another station's polygon: the pieces the one-piece
    rule gave away (:func:`boundaries.fragments.reassign_pieces`; the ``enclaves`` layer shows where)."""
    found = [info["enclaves"] for info in unit_info.values() if info.get("enclaves") is not None]
    if not found:
        return pd.Series(dtype="int64")
    keys = np.concatenate([np.asarray(f["station"], dtype=object) for f in found])
    rows = np.concatenate([np.asarray(f["rows"], dtype=np.int64) for f in found])
    return pd.Series(rows).groupby(keys).sum()


def check_unique_ids(ids) -> None:
    """Raise when two built stations share an ``id_bv`` (a bug: reading qualifies and checks the ids).

    One id on two features would take one election result twice.
    """
    ids = pd.Series(np.asarray(ids, dtype=object))
    twice = ids[ids.duplicated()]
    if len(twice):
        raise RuntimeError(f"{len(twice):,} station ids are on two features (e.g. {twice.iloc[0]!r})")


def output_columns(out: pd.DataFrame, outlines, unit_method: dict, method: str, agreement) -> pd.DataFrame:
    """The built stations' names, numbers, method, area, parts and confidence."""
    names = dict(zip(outlines["code"], outlines["nom"]))
    out["nom_commune"] = out["unit"].map(names).where(out["unit"] == out["code_commune"], None)
    out["numero_bv"] = [c.rsplit("_", 1)[-1] for c in out["code_bv"]]
    out["code_departement"] = codes.departement_of(out["code_commune"].to_numpy(dtype=object))
    out["nom_departement"] = out["unit"].map(dict(zip(outlines["code"], outlines["nom_dep"])))
    out["method"] = np.where(out["single"], "commune", out["unit"].map(unit_method).fillna(method))
    out["area_m2"] = np.round(shapely.area(out["geometry"].to_numpy()), 1)
    out["n_parts"] = shapely.get_num_geometries(out["geometry"].to_numpy())
    out["confidence"] = confidence(out, agreement)
    return out.drop(columns=["single"])


def in_wgs84(out: pd.DataFrame):
    """Each territory's geometries are in their own CRS: all of them in WGS84, sorted by commune and number."""
    import geopandas as gpd

    parts = []
    for crs_name, part in out.groupby(out["unit"].map(lambda u: codes.territory_crs(codes.departement_of(u)))):
        parts.append(valid_after_reprojection(
            gpd.GeoDataFrame(part, geometry="geometry", crs=crs_name).to_crs("EPSG:4326")))
    gdf = pd.concat(parts) if parts else gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    return gdf.sort_values(["code_commune", "number_key", "id_bv"], kind="stable")


def coloured(gdf):
    """The output layer with its ``colour`` (no two neighbours alike), and the neighbours' graph.

    Neighbours are tested as written, on the output grid, where two stations a hair
    apart may come to touch (maps and the QGIS style use the colours); see
    :func:`colour_neighbours`.
    """
    import geopandas as gpd

    from .colouring import greedy_colours
    from .write import OUTPUT_GRID

    on_grid = gpd.GeoDataFrame({"code_departement": gdf["code_departement"].to_numpy()}, crs=gdf.crs, geometry=
                               shapely.set_precision(gdf.geometry.values.to_numpy(), OUTPUT_GRID, mode="pointwise"))
    neighbours = colour_neighbours(on_grid)
    gdf["colour"] = greedy_colours(neighbours)
    gdf = gpd.GeoDataFrame(gdf[STATION_COLUMNS + ["geometry"]], geometry="geometry", crs="EPSG:4326")
    return gdf.reset_index(drop=True), neighbours


def colour_neighbours(gdf, block=None, inner_pairs=None):
    """Which stations of a WGS84 layer are neighbours for the colours, in metres.

    Stations within :data:`~boundaries.colouring.COLOUR_GAP_M` of each other that
    share at least :data:`~boundaries.colouring.COLOUR_MIN_BORDER_M` of border,
    measured in their territory's metric CRS: across communes too, whose outlines
    overlap or miss by a few cm.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Stations in EPSG:4326 with ``code_departement``.
    block, inner_pairs : optional
        As for :func:`boundaries.colouring.adjacency_across` (a national merge: the
        pairs inside each département are known); None: every pair is tested.

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (n, n)
    """
    from .colouring import COLOUR_GAP_M, COLOUR_MIN_BORDER_M, adjacency, adjacency_across

    geoms = metric_geometries(gdf)
    if block is None:
        return adjacency(geoms, COLOUR_GAP_M, COLOUR_MIN_BORDER_M)
    return adjacency_across(geoms, block, inner_pairs, COLOUR_GAP_M, COLOUR_MIN_BORDER_M)


#: Territories' metric CRSs side by side, this far apart (m), so that distances in one
#: array are true within a territory and huge across them.
_TERRITORY_SPACING = 1e8


def metric_geometries(gdf) -> np.ndarray:
    """Each station's geometry in its territory's metric CRS, territories shifted apart.

    The shift of a territory depends on its CRS only, so a station gets the same
    coordinates in one build and in a national run.
    """
    import geopandas as gpd

    crs_names = sorted({codes.MAINLAND_CRS, *codes.OVERSEAS_CRS.values()})
    shift = {c: (0.0 if c == codes.MAINLAND_CRS else _TERRITORY_SPACING * (1 + i)) for i, c in enumerate(crs_names)}
    deps = gdf["code_departement"].to_numpy(dtype=object)
    crs_of = np.array([codes.territory_crs(d) for d in deps], dtype=object)
    out = np.empty(len(gdf), dtype=object)
    geoms = gdf.geometry.values.to_numpy()
    for crs_name in np.unique(crs_of):
        idx = np.flatnonzero(crs_of == crs_name)
        moved = gpd.GeoSeries(geoms[idx], crs=gdf.crs).to_crs(crs_name).values.to_numpy()
        out[idx] = shapely.transform(moved, lambda xy, d=shift[crs_name]: xy + [d, 0.0]) if shift[crs_name] else moved
    return out


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


def station_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per station: its commune, ids, and counts of rows used and dropped.

    Rows that name no station (:func:`boundaries.clean.nameless`) make none.
    """
    unnamed = nameless(rows)
    if unnamed.any():
        rows = rows.loc[~unnamed]
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
    st["n_weight"] = int_if_whole(st["n_weight"].to_numpy())
    per_unit = rows.groupby("unit")["station_key"].nunique()
    st["single"] = st["unit"].map(per_unit).fillna(0).to_numpy() == 1
    counts = rows.loc[dropped].groupby(["station_key", "reason"]).size().unstack(fill_value=0)
    drops = {k: {r: int(n) for r, n in row.items() if n} for k, row in counts.to_dict(orient="index").items()}
    st["drops"] = [drops.get(k, {}) for k in st["station_key"]]
    return st.sort_values(["code_commune", "number_key", "id_bv"], kind="stable").reset_index(drop=True)


def int_if_whole(values: np.ndarray) -> np.ndarray:
    if np.all(values == np.round(values)):
        return values.astype(np.int64)
    return np.round(values, 3)


def no_polygon_reason(stations: pd.DataFrame, has_polygon: np.ndarray) -> list:
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


def communes_layer(outlines, stations: pd.DataFrame, has_polygon: np.ndarray, unit_method: dict):
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


def valid_after_reprojection(gdf):
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
