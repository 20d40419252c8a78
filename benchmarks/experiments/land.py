"""Paris 2017, street-aligned semi-synthetic: the streets method against today's, on the same points.

Addresses are placed along the real street centre-lines (``paris-2017/streets.geojson``),
on both sides, every ``spacing_m`` metres (a little jitter), ``setback_m`` metres from
the centre-line, and labelled by the official sector that contains them. The
arrondissements (dissolved as in :mod:`benchmarks.experiments.paris`) are rebuilt with
and without ``streets``, and scored against the sectors (IoU mean, area right).

Run alone: ``python -m benchmarks.experiments.land`` (seeded, prints a Markdown table).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..common import METRIC, SHARED, log
from .paris import dissolved_arrondissements
from .reference import reference_scores

LAND_SEED = 2017
#: (setback from the centre-line in m, spacing along each side in m) of each bench line.
LAND_CASES = ((4.0, 15.0), (8.0, 15.0), (4.0, 30.0))


def street_points(streets, sectors, setback_m: float, spacing_m: float, rng) -> pd.DataFrame:
    """Points along both sides of every street (EPSG:2154), labelled by the sector holding them."""
    import geopandas as gpd
    import shapely

    lines = shapely.line_merge(shapely.force_2d(streets.to_crs(METRIC).geometry.to_numpy()))
    lines = shapely.get_parts(lines)
    sides = np.concatenate([shapely.offset_curve(lines, setback_m), shapely.offset_curve(lines, -setback_m)])
    sides = shapely.get_parts(sides[~shapely.is_empty(sides)])
    lengths = shapely.length(sides)
    count = np.maximum((lengths // spacing_m).astype(int), 1)
    owner = np.repeat(np.arange(len(sides)), count)
    start = np.cumsum(count) - count
    step = (np.arange(count.sum()) - np.repeat(start, count) + rng.uniform(0.25, 0.75, count.sum()))
    points = shapely.line_interpolate_point(sides[owner], step * spacing_m)
    pts = gpd.GeoDataFrame(geometry=points, crs=METRIC)
    hit = gpd.sjoin(pts, sectors[["id_bv", "geometry"]], predicate="within", how="inner")
    hit = hit[~hit.index.duplicated()]
    xy = shapely.get_coordinates(hit.geometry.to_numpy())
    code = hit["id_bv"].str.slice(0, 5).to_numpy(dtype=object)
    return pd.DataFrame({"code_commune_ref": code, "id_brut_bv_reu": hit["id_bv"].to_numpy(dtype=object),
                         "x": xy[:, 0], "y": xy[:, 1]})


def land(log_name="land") -> dict:
    """Each case of :data:`LAND_CASES`, built without and with ``streets``: scores and seconds."""
    import geopandas as gpd

    import boundaries

    folder = SHARED / "paris-2017"
    raw = gpd.read_file(folder / "bureaux.geojson").to_crs(METRIC)
    sectors = gpd.GeoDataFrame(
        {"id_bv": [f"751{int(a):02d}_{int(n)}" for a, n in zip(raw["arrondissement"], raw["num_bv"])]},
        geometry=raw.geometry.values, crs=METRIC)
    streets = gpd.read_file(folder / "streets.geojson")
    outlines, _ = dissolved_arrondissements(gpd.read_file(folder / "arrondissements.geojson").to_crs(METRIC))
    cols = boundaries.AddressColumns(x="x", y="y")
    rng = np.random.default_rng(LAND_SEED)
    out = []
    for setback, spacing in LAND_CASES:
        pts = street_points(streets, sectors, setback, spacing, rng)
        for layer in (None, folder / "streets.geojson"):
            t0 = time.perf_counter()
            built = boundaries.build(pts, outlines, columns=cols, crs=METRIC, jobs=1,
                                     **({"streets": layer} if layer else {}))
            seconds = time.perf_counter() - t0
            scores = reference_scores(built.stations, sectors)
            out.append({"setback_m": setback, "spacing_m": spacing, "points": len(pts),
                        "streets": layer is not None, "iou_mean": scores["iou_mean"],
                        "area_right": scores.get("area_right"), "seconds": round(seconds, 1)})
            log(f"{log_name}: {out[-1]}")
    return {"cases": out}


def table(result: dict) -> str:
    """The Markdown table of :func:`land`'s result."""
    lines = ["| setback (m) | spacing (m) | points | streets | IoU mean | area right | seconds |",
             "|---:|---:|---:|:---|---:|---:|---:|"]
    for c in result["cases"]:
        area = c["area_right"]
        lines.append(f"| {c['setback_m']:g} | {c['spacing_m']:g} | {c['points']:,} | "
                     f"{'yes' if c['streets'] else 'no'} | {c['iou_mean']:.3f} | "
                     f"{'' if area is None else f'{100 * area:.1f} %'} | {c['seconds']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(land()))
