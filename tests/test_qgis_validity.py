"""Valid for QGIS's own validator too (issue 18, item 1): nothing the output grid makes is left for it to flag.

QGIS's ``qgis:checkvalidity`` METHOD=1 (the check QGIS runs while editing) reports every
repeated consecutive vertex and every ring with fewer than 4 points; GEOS (METHOD=2)
ignores the first. Rounding to the output grid (7 decimals) makes both out of vertices a
hair apart. Generated here: a commune split in stations along a border whose vertices
sit closer than the grid (so rounding merges them), with parts and holes smaller than
the grid (so rounding flattens them); each must come out with no repeated vertex, no
ring under 4 points, valid, on the grid, and still a partition of the commune.
The real client (``qgis_process``) runs on the same outputs in tests/test_clients.py.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.write import OUTPUT_GRID, to_wgs84
from conftest import TOWN

G = OUTPUT_GRID


def qgis_method_faults(geoms) -> int:
    """What QGIS's own validator would count on polygons: repeated consecutive vertices and rings under 4 points.

    A pure-Python stand-in for ``qgis:checkvalidity`` METHOD=1 (no QGIS needed),
    counted ring by ring.
    """
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    rings = np.concatenate([shapely.get_exterior_ring(parts)] + [
        shapely.get_interior_ring(parts, i) for i in range(int(shapely.get_num_interior_rings(parts).max(initial=0)))])
    rings = rings[~shapely.is_missing(rings)]
    faults = 0
    for ring in rings:  # few rings per test: clarity over speed
        xy = shapely.get_coordinates(ring)
        faults += int((np.diff(xy, axis=0) == 0).all(axis=1).sum()) + int(len(xy) < 4)
    return faults


def _on_grid(geoms) -> bool:
    xy = shapely.get_coordinates(geoms)
    return bool(np.allclose(xy / G, np.round(xy / G), atol=1e-6, rtol=0))


# a border's steps in degrees: mostly ones the grid merges (< half a grid step), some it keeps
steps = st.lists(st.one_of(st.floats(0.0, 0.45 * G), st.floats(2 * G, 1e-4)), min_size=3, max_size=40)


def _split_commune(dy: list[float], dx: list[float], x0: float, y0: float):
    """A 1e-3° square commune split in two stations along a zig-zag border of steps ``dy``/``dx``."""
    n = min(len(dy), len(dx))
    ys = y0 + np.cumsum(np.r_[0.0, dy[:n]])
    top = y0 + max(ys[-1] - y0, 0) + 1e-3
    xs = x0 + 5e-4 + np.asarray(dx[:n] + [0.0])[: len(ys)] * np.where(np.arange(len(ys)) % 2, 1, -1)
    border = list(zip(xs, ys)) + [(x0 + 5e-4, top)]
    left = shapely.Polygon([(x0, y0)] + border + [(x0, top)])
    right = shapely.Polygon([(x0 + 1e-3, y0), (x0 + 1e-3, top)] + border[::-1])
    return left, right, shapely.box(x0, y0, x0 + 1e-3, top)


@settings(deadline=None)
@given(dy=steps, dx=steps, x0=st.floats(-179.0, 179.0), y0=st.floats(-80.0, 80.0))
def test_rounding_leaves_no_repeated_vertex_and_keeps_the_partition(dy, dx, x0, y0):
    left, right, commune = _split_commune(dy, dx, x0, y0)
    if not (left.is_valid and right.is_valid and shapely.coverage_is_valid([left, right])):
        return  # the generator's zig-zag crossed itself: not an output we could have made
    gdf = gpd.GeoDataFrame({"code_commune": ["00001", "00001"], "n_parts": [1, 1]}, geometry=[left, right],
                           crs="EPSG:4326")
    out = to_wgs84(gdf).geometry.values.to_numpy()
    assert qgis_method_faults(out) == 0
    assert shapely.is_valid(out).all() and _on_grid(out)
    assert shapely.coverage_is_valid(out)  # the shared border is the same on both sides
    union = shapely.coverage_union_all(out)
    assert abs(union.area - commune.area) <= 1e-3 * commune.area


@settings(deadline=None)
@given(size=st.floats(0.0, 0.9 * G), at=st.floats(0.1, 0.9), hole=st.booleans(),
       x0=st.floats(-179.0, 179.0), y0=st.floats(-80.0, 80.0))
def test_a_part_or_hole_smaller_than_the_grid_leaves_no_degenerate_ring(size, at, hole, x0, y0):
    """A speck (part or hole) under one grid step rounds to a line or a point: it must go, not stay as a flat ring."""
    box = shapely.box(x0, y0, x0 + 1e-3, y0 + 1e-3)
    sx, sy = x0 + at * 1e-3, y0 + at * 1e-3
    speck = shapely.box(sx, sy, sx + size, sy + size * 0.5)
    if hole:
        geom = box.difference(speck) if size > 0 else box
        other = speck
    else:
        geom = shapely.MultiPolygon([box, shapely.box(x0 + 2e-3, y0, x0 + 2e-3 + size + 1e-12, y0 + size + 1e-12)])
        other = shapely.box(x0 + 3e-3, y0, x0 + 4e-3, y0 + 1e-3)
    gdf = gpd.GeoDataFrame({"code_commune": ["00001", "00001"], "n_parts": [0, 0]}, geometry=[geom, other],
                           crs="EPSG:4326")
    out = to_wgs84(gdf)
    geoms = out.geometry.values.to_numpy()
    assert qgis_method_faults(geoms) == 0
    assert shapely.is_valid(geoms).all() and _on_grid(geoms)
    assert (out["n_parts"].to_numpy() == shapely.get_num_geometries(geoms)).all()


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".fgb", ".geojsonl"])
def test_town_in_every_format_has_no_repeated_vertex(tmp_path, suffix):
    """The bundled town as written: before the fix its GeoJSON held repeated vertices."""
    from click.testing import CliRunner

    from boundaries.cli import main

    out = tmp_path / f"stations{suffix}"
    result = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes",
                                       str(TOWN / "communes.geojson"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    # the polygon layers (not the style table, nor the dropped addresses: points, some null)
    layers = [name for name, gtype in pyogrio.list_layers(out) if gtype and "Polygon" in gtype]
    assert {"stations", "communes"} <= set(layers) or suffix != ".gpkg", layers
    for layer in layers:
        geoms = pyogrio.read_dataframe(out, layer=layer).geometry.values.to_numpy()
        assert qgis_method_faults(geoms) == 0, layer
        assert shapely.is_valid(geoms).all(), layer
