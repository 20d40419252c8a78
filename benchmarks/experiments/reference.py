"""Accuracy against known polygons: the scoring shared by the experiments, and the generated town."""

from __future__ import annotations

from ..common import TOWN


def reference_scores(gdf, reference) -> dict:
    """``boundaries.evaluate(layer, reference=…)``'s summary: IoU mean/median/min, area right…"""
    import boundaries

    return boundaries.evaluate(gdf, reference=reference).summary


def town_reference() -> dict:
    """Ours and the yardstick on the whole town, against its true stations."""
    import geopandas as gpd

    import boundaries
    from benchmarks.yardstick import yardstick_build

    csv, communes, truth = TOWN / "addresses.csv", TOWN / "communes.geojson", TOWN / "stations_truth.geojson"
    ref = gpd.read_file(truth)
    ours = boundaries.build(csv, communes).stations
    yard = yardstick_build(csv, communes, None)
    return {"ours": reference_scores(ours, ref), "yardstick": reference_scores(yard, ref), "stations": len(ref)}
