"""Station profiles on real data: address weights against area weights, and the time for a département.

Paris 2017: the official sectors carry their true voter counts (``nbr_elect_f``). Points are
placed along the real streets (:func:`benchmarks.experiments.land.street_points`), each carrying
its sector's voters divided by its sector's points; summed per IRIS (2013 outlines) they make a
voter count known per IRIS, which ``boundaries.profile`` carries back onto the sectors. The mean
absolute error per sector (voters) says how close each weighting comes:

- ``addresses (nb_adresses)``: the points with their voter weights, as the REU's ``nb_adresses``;
- ``addresses (1 each)``: the same points, each counted once (where the voters live, not how many);
- ``area``: area weights, what a desktop GIS does.

Val-de-Marne: its 2016 stations built by ``boundaries.build``, then profiled with the Grand Paris
IRIS and the 2016 census of activity (base-ic, 114 columns): seconds for the profile alone.

Run alone: ``python -m benchmarks.experiments.profile`` (seeded, prints a Markdown table).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..common import METRIC, SHARED, log
from .land import street_points

PROFILE_SEED = 2017
#: Street points: setback from the centre-line and spacing along each side (m).
SETBACK_M, SPACING_M = 4.0, 15.0


def paris_voters(streets, sectors, rng):
    """The street points, each with its sector's voters shared among the sector's points (EPSG:2154).

    A sector no street point falls in gets one point, inside it, carrying all its voters.
    """
    import geopandas as gpd

    pts = street_points(streets, sectors, SETBACK_M, SPACING_M, rng)
    missing = sectors[~sectors["id_bv"].isin(pts["id_brut_bv_reu"])]
    inner = missing.geometry.representative_point()
    pts = pd.concat([pts, pd.DataFrame({"code_commune_ref": missing["id_bv"].str.slice(0, 5),
                                        "id_brut_bv_reu": missing["id_bv"], "x": inner.x, "y": inner.y})],
                    ignore_index=True)
    voters = sectors.set_index("id_bv")["nbr_elect_f"].astype(float)
    per_sector = pts["id_brut_bv_reu"].map(pts["id_brut_bv_reu"].value_counts())
    pts["nb_adresses"] = pts["id_brut_bv_reu"].map(voters) / per_sector
    return gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts["x"], pts["y"]), crs=METRIC)


def iris_counts(points, iris):
    """The voters per IRIS: the points' weights summed in each (the count a census would publish)."""
    import geopandas as gpd

    hit = gpd.sjoin(points[["nb_adresses", "geometry"]], iris[["geometry"]], predicate="within", how="inner")
    hit = hit[~hit.index.duplicated()]
    out = iris.copy()
    out["VOTERS"] = hit.groupby("index_right")["nb_adresses"].sum().reindex(iris.index, fill_value=0.0).to_numpy()
    return out


def paris_errors() -> list[dict]:
    """Each weighting's mean absolute error per sector, and the seconds of its profile."""
    import geopandas as gpd

    import boundaries.profile as bp

    folder = SHARED / "paris-2017"
    raw = gpd.read_file(folder / "bureaux.geojson").to_crs(METRIC)
    sectors = gpd.GeoDataFrame(
        {"id_bv": [f"751{int(a):02d}_{int(n)}" for a, n in zip(raw["arrondissement"], raw["num_bv"])],
         "nbr_elect_f": raw["nbr_elect_f"].astype(float).to_numpy()}, geometry=raw.geometry.values, crs=METRIC)
    points = paris_voters(gpd.read_file(folder / "streets.geojson"), sectors, np.random.default_rng(PROFILE_SEED))
    iris = gpd.read_file(SHARED / "paris-census" / "iris-2013.gpkg").to_crs(METRIC)
    source = iris_counts(points, iris)[["DCOMIRIS", "VOTERS", "geometry"]]
    table = pd.DataFrame(points.drop(columns="geometry"))
    cases = {"addresses (nb_adresses)": dict(addresses=table),
             "addresses (1 each)": dict(addresses=table.drop(columns="nb_adresses")),
             "area": dict(weights="area")}
    truth = sectors["nbr_elect_f"].to_numpy()
    out = []
    for name, options in cases.items():
        t0 = time.perf_counter()
        result = bp.profile(sectors[["id_bv", "geometry"]], source, columns=["VOTERS"], crs=METRIC, **options)
        seconds = time.perf_counter() - t0
        error = np.abs(result.table["VOTERS"].to_numpy() - truth)
        out.append({"case": f"Paris 2017, {name}", "stations": len(sectors), "mae": float(error.mean()),
                    "mae_share": float(error.sum() / truth.sum()), "fallback": result.fallback_share,
                    "seconds": round(seconds, 1)})
        log(f"profile: {out[-1]}")
    return out


def val_de_marne_time() -> dict:
    """The seconds of a profile of Val-de-Marne's built stations by the Grand Paris IRIS (base-ic 2016)."""
    import boundaries
    import boundaries.profile as bp

    folder = SHARED / "val-de-marne-2016"
    built = boundaries.build(folder / "addresses.csv.gz", folder / "communes.geojson", jobs=1)
    census = SHARED / "grand-paris-census"
    t0 = time.perf_counter()
    result = bp.profile(built.stations, census / "iris.gpkg", census / "base-ic-activite-residents-2016.csv", "IRIS",
                        folder / "addresses.csv.gz", source_key="CODE_IRIS")
    seconds = time.perf_counter() - t0
    pop = result.totals["P16_POP1564"]
    out = {"case": "Val-de-Marne, Grand Paris IRIS (base-ic 2016)", "stations": len(result.table),
           "columns": len(result.extensive), "fallback": result.fallback_share, "seconds": round(seconds, 1),
           "pop_sources": pop["sources"], "pop_covered": pop["sources_covered"], "pop_stations": pop["stations"]}
    log(f"profile: {out}")
    return out


def profile_bench() -> dict:
    return {"paris": paris_errors(), "val_de_marne": val_de_marne_time()}


def table(result: dict) -> str:
    """The Markdown table of :func:`profile_bench`'s result."""
    lines = ["| case | stations | MAE per station (voters) | misplaced share | by area | seconds |",
             "|:---|---:|---:|---:|---:|---:|"]
    for c in result["paris"]:
        lines.append(f"| {c['case']} | {c['stations']:,} | {c['mae']:.1f} | {100 * c['mae_share']:.1f} % | "
                     f"{100 * c['fallback']:.1f} % | {c['seconds']:.1f} |")
    v = result["val_de_marne"]
    lines.append(f"| {v['case']}: {v['columns']} columns | {v['stations']:,} | | | {100 * v['fallback']:.1f} % | "
                 f"{v['seconds']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(profile_bench()))
