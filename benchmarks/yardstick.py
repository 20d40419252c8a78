"""The plain-Voronoi yardstick: the method existing tools use, kept as a reference.

Voronoi cells of the unique points (the first row wins a shared coordinate),
dissolved by station and clipped to the commune. No cleaning, no weights. It is
not used by the tool: benchmarks and tests compare the tool against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def plain_voronoi(x: np.ndarray, y: np.ndarray, station: np.ndarray, outline) -> dict:
    """Station polygons of one commune by plain Voronoi.

    Parameters
    ----------
    x, y : numpy.ndarray
        Point coordinates in a metric CRS.
    station : numpy.ndarray
        The station of each point.
    outline : shapely geometry
        The commune, same CRS.

    Returns
    -------
    dict
        Station → polygon (clipped to the outline).
    """
    df = pd.DataFrame({"x": x, "y": y, "station": station}).dropna()
    df = df.drop_duplicates(["x", "y"], keep="first")
    if df["station"].nunique() == 1:
        return {df["station"].iloc[0]: outline}
    frame = shapely.buffer(shapely.envelope(outline), 1000.0)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(df[["x", "y"]].to_numpy()), extend_to=frame, ordered=True
        )
    )
    out = {}
    for st, idx in df.groupby("station").indices.items():
        out[st] = shapely.intersection(shapely.union_all(cells[idx]), outline)
    return out


#: The REU columns the yardstick reads.
_STATION, _COMMUNE, _LON, _LAT = "id_brut_bv_reu", "code_commune_ref", "longitude", "latitude"


def yardstick_stations(x, y, station, commune, outlines: dict):
    """Plain Voronoi of every commune: ``(id_bv, code_commune, polygon)`` lists.

    Parameters
    ----------
    x, y : numpy.ndarray
        Metric coordinates (NaN rows are ignored).
    station, commune : numpy.ndarray
        Station id and commune code of each row.
    outlines : dict
        Commune code → outline in the same CRS. Rows of a commune without an outline
        are ignored (there is nothing to clip to).

    Returns
    -------
    (list, list, list)
        Station ids, their commune codes and their polygons, sorted by commune.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    station = np.asarray(station, dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    ids, communes, geoms = [], [], []
    kept = np.flatnonzero(ok)
    frame = pd.DataFrame({"commune": np.asarray(commune, dtype=object)[kept]})
    for code, idx in frame.groupby("commune", sort=True).indices.items():
        if code not in outlines:
            continue
        rows = kept[idx]
        polys = plain_voronoi(x[rows], y[rows], station[rows], outlines[code])
        for st, g in polys.items():
            ids.append(st)
            communes.append(code)
            geoms.append(g)
    return ids, communes, geoms


def yardstick_build(addresses_csv, communes_geojson, output_geojson, rows=None, code_field: str = "code"):
    """The plain-Voronoi tool end to end: REU CSV + outlines → station GeoJSON.

    Reads the table with pandas, projects longitude/latitude to Lambert-93
    (EPSG:2154) with pyproj, runs :func:`plain_voronoi` per commune on the rows that
    have coordinates (no other cleaning) and writes RFC 7946 GeoJSON with pyogrio.

    Parameters
    ----------
    addresses_csv : path
        The REU address table (CSV or CSV.gz).
    communes_geojson : path
        Commune outlines with the INSEE code in ``code_field``.
    output_geojson : path or None
        Where to write the stations; None writes nothing.
    rows : array-like of bool or int, optional
        Use only these rows of the table (a mask or positions), e.g. the training
        rows of a hold-out split.
    code_field : str
        The outlines' commune-code property.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id_bv``, ``code_commune`` and the polygons, in EPSG:2154.
    """
    import geopandas as gpd
    import pyogrio
    from pyproj import Transformer

    table = pd.read_csv(
        addresses_csv, usecols=[_COMMUNE, _STATION, _LON, _LAT],
        dtype={_COMMUNE: str, _STATION: str, _LON: float, _LAT: float},
    )
    if rows is not None:
        rows = np.asarray(rows)
        table = table.iloc[np.flatnonzero(rows) if rows.dtype == bool else rows]
    table = table.dropna(subset=[_LON, _LAT])
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(
        table[_LON].to_numpy(), table[_LAT].to_numpy()
    )
    outl = pyogrio.read_dataframe(communes_geojson).to_crs("EPSG:2154")
    outlines = dict(zip(outl[code_field].astype(str), outl.geometry.values))
    ids, communes, geoms = yardstick_stations(x, y, table[_STATION].to_numpy(), table[_COMMUNE].to_numpy(), outlines)
    gdf = gpd.GeoDataFrame({"id_bv": ids, "code_commune": communes}, geometry=list(geoms), crs="EPSG:2154")
    if output_geojson is not None:
        pyogrio.write_dataframe(gdf, output_geojson, driver="GeoJSON", layer_options={"RFC7946": "YES"})
    return gdf


def main(argv=None) -> int:
    """``python -m benchmarks.yardstick ADDRESSES COMMUNES OUTPUT``: the yardstick as a command."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.yardstick", description=main.__doc__)
    parser.add_argument("addresses")
    parser.add_argument("communes")
    parser.add_argument("output")
    args = parser.parse_args(argv)
    yardstick_build(args.addresses, args.communes, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
