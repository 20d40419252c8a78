"""Paris 2017, semi-synthetic: points drawn in the official sectors, rebuilt inside the outlines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..common import METRIC, SHARED, log, points_in
from ..render.markdown import f3
from .reference import reference_scores

PARIS_SEED = 2017
PARIS_VOTERS_PER_POINT = 10
PARIS_MIN_POINTS = 3
#: The published arrondissements are the sectors themselves (one part each, gaps up to a
#: few metres between them): a closing this wide dissolves them into one outline.
PARIS_CLOSE_M = 4.0


def dissolve_outline(geom, close_m: float):
    """One outline from parts separated by thin gaps: a morphological closing, holes filled."""
    import shapely

    closed = shapely.buffer(shapely.buffer(geom, close_m, quad_segs=4), -close_m, quad_segs=4)
    return shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(closed)])


def paris_points(sectors) -> tuple[pd.DataFrame, object]:
    """The seeded points (``x``, ``y`` in EPSG:2154, REU codes) and the sectors as the reference layer."""
    import geopandas as gpd

    rng = np.random.default_rng(PARIS_SEED)
    parts = []
    for arr, num, voters, geom in zip(sectors["arrondissement"], sectors["num_bv"], sectors["nbr_elect_f"],
                                      sectors.geometry):
        code = f"751{int(arr):02d}"
        n = max(int(voters) // PARIS_VOTERS_PER_POINT, PARIS_MIN_POINTS)
        xy = points_in(geom, n, rng)
        parts.append(pd.DataFrame({"code_commune_ref": code, "id_brut_bv_reu": f"{code}_{int(num)}",
                                   "x": xy[:, 0], "y": xy[:, 1]}))
    reference = gpd.GeoDataFrame(
        {"id_bv": [f"751{int(a):02d}_{int(n)}" for a, n in zip(sectors["arrondissement"], sectors["num_bv"])]},
        geometry=sectors.geometry.values, crs=METRIC,
    )
    return pd.concat(parts, ignore_index=True), reference


def dissolved_arrondissements(published) -> tuple[object, dict]:
    """The arrondissements dissolved by :func:`dissolve_outline`, and what that changed."""
    import geopandas as gpd
    import shapely

    dissolved = gpd.GeoDataFrame({"code": published["code"].astype(str)},
                                 geometry=[dissolve_outline(g, PARIS_CLOSE_M) for g in published.geometry.values],
                                 crs=METRIC)
    return dissolved, {
        "parts_published": int(shapely.get_num_geometries(published.geometry.values).sum()),
        "parts_dissolved": int(shapely.get_num_geometries(dissolved.geometry.values).sum()),
        "added_share": float(dissolved.area.sum() / published.area.sum() - 1),
        "sector_area_left_out_m2": float(shapely.area(shapely.difference(
            published.geometry.values, dissolved.geometry.values)).sum()),
    }


def paris(log_name="paris") -> dict:
    """Points drawn in the official sectors, rebuilt inside the arrondissements (and the city).

    Returns the scores of both methods per outline variant; ``_inputs`` holds the points,
    the reference and the dissolved outlines for the ablation (not written).
    """
    import geopandas as gpd

    import boundaries
    from benchmarks.yardstick import yardstick_stations

    folder = SHARED / "paris-2017"
    pts, reference = paris_points(gpd.read_file(folder / "bureaux.geojson").to_crs(METRIC))
    log(f"{log_name}: {len(pts):,} points in {len(reference)} sectors")
    cols = boundaries.AddressColumns(x="x", y="y")
    out = {"points": len(pts), "sectors": len(reference)}
    dissolved, out["outlines"] = dissolved_arrondissements(
        gpd.read_file(folder / "arrondissements.geojson").to_crs(METRIC))
    variants = (("arrondissements", dissolved), ("city", gpd.read_file(folder / "commune.geojson")))
    for outline_name, outl in variants:
        ours = boundaries.build(pts, outl, columns=cols, crs=METRIC)
        outl_m = outl.to_crs(METRIC)
        outlines = dict(zip(outl_m["code"].astype(str), outl_m.geometry.values))
        commune = pts["code_commune_ref"].to_numpy(dtype=object)
        if outline_name == "city":
            commune = np.full(len(pts), "75056", dtype=object)
        ids, _, geoms = yardstick_stations(pts["x"].to_numpy(), pts["y"].to_numpy(),
                                           pts["id_brut_bv_reu"].to_numpy(dtype=object), commune, outlines)
        yard = gpd.GeoDataFrame({"id_bv": ids}, geometry=list(geoms), crs=METRIC)
        if outline_name == "arrondissements":
            out["_inputs"] = (pts, reference, outl)  # for the ablation, not written
        out[outline_name] = {"ours": reference_scores(ours.stations, reference),
                             "yardstick": reference_scores(yard, reference)}
        log(f"{log_name}: {outline_name} outlines: IoU mean ours {f3(out[outline_name]['ours']['iou_mean'])}, "
            f"yardstick {f3(out[outline_name]['yardstick']['iou_mean'])}")
    return out
