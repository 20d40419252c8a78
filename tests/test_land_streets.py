"""``--streets``: street centre-lines read (boundaries.land) and followed (boundaries.blocks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.blocks import street_blocks, street_partition
from boundaries.checks import check_partition
from boundaries.land import kept_streets
from boundaries.params import Parameters
from boundaries.tessellate import tessellate

BIN = [sys.executable, "-m", "boundaries"]
MARGIN_M = 1000.0


def grid(size_m: float, xs, ys, overshoot_m: float = 10.0) -> np.ndarray:
    """Vertical streets at ``xs`` and horizontal ones at ``ys``, a little longer than the square."""
    lo, hi = -overshoot_m, size_m + overshoot_m
    return np.array([shapely.LineString([(x, lo), (x, hi)]) for x in xs]
                    + [shapely.LineString([(lo, y), (hi, y)]) for y in ys], dtype=object)


def block_seeds(xs, ys, size_m, per_block, rng):
    """``per_block`` seeds inside each grid block (2 m off its streets), and each seed's block (column, row)."""
    cx, cy = np.concatenate([[0.0], xs, [size_m]]), np.concatenate([[0.0], ys, [size_m]])
    pts, cells = [], []
    for i in range(len(cx) - 1):
        for j in range(len(cy) - 1):
            mx, my = min(2.0, (cx[i + 1] - cx[i]) / 4), min(2.0, (cy[j + 1] - cy[j]) / 4)
            x = rng.uniform(cx[i] + mx, cx[i + 1] - mx, per_block)
            y = rng.uniform(cy[j] + my, cy[j + 1] - my, per_block)
            pts.append(np.column_stack([x, y]))
            cells += [(i, j)] * per_block
    return np.concatenate(pts), cells


def off_network(polys, streets, outline) -> float:
    """Length (m) of the stations' borders that lie neither on a street nor on the outline."""
    net = shapely.buffer(shapely.union_all(np.append(streets, shapely.boundary(outline))), 1e-6)
    return float(shapely.length(shapely.difference(shapely.boundary(polys), net)).sum())


def test_borders_lie_on_the_centre_lines():
    """Stations made of whole blocks of a 100 m grid: every border is a street, exactly."""
    size, xs = 1000.0, np.arange(100.0, 1000.0, 100.0)
    streets, outline = grid(size, xs, xs), shapely.box(0, 0, size, size)
    xy, cells = block_seeds(xs, xs, size, 6, np.random.default_rng(1))
    station = np.array([f"s{i // 3}_{j // 4}" for i, j in cells], dtype=object)
    keys, polys = street_partition(xy, station, outline, streets, MARGIN_M)
    assert check_partition(polys, outline, 1.0).ok
    assert off_network(polys, streets, outline) < 1e-3
    # the Hausdorff distance from each border to the street network is nil
    net = shapely.union_all(np.append(streets, shapely.boundary(outline)))
    assert max(shapely.hausdorff_distance(shapely.boundary(p), shapely.intersection(net, shapely.boundary(p)))
               for p in polys) < 1e-6
    own = polys[np.searchsorted(keys, station)]
    assert shapely.contains(own, shapely.points(xy)).all()  # every seed inside its own station


@settings(deadline=None)
@given(nx=st.integers(0, 6), ny=st.integers(0, 6), stations=st.integers(2, 5), per_block=st.integers(0, 4),
       mixed=st.floats(0, 1), seed=st.integers(0, 2**16), tilt=st.floats(-0.3, 0.3))
def test_exact_partition_on_random_grids(nx, ny, stations, per_block, mixed, seed, tilt):
    """Random grids (some streets tilted, dead ends, seedless blocks) and labels: always an exact
    partition, and a seed of a single-station block always lies in its own station."""
    rng = np.random.default_rng(seed)
    size = 600.0
    xs, ys = np.sort(rng.uniform(40, 560, nx)), np.sort(rng.uniform(40, 560, ny))
    streets = grid(size, xs, ys)
    streets = np.append(streets, [shapely.LineString([(0, 300), (300, 300 + 300 * tilt)])])  # a dead end
    outline = shapely.Polygon([(0, 0), (size, 0), (size, size * 0.8), (size * 0.6, size), (0, size)])
    xy, cells = block_seeds(xs, ys, size, max(per_block, 1), rng)
    xy = np.unique(np.round(xy, 3), axis=0)
    xy = xy[shapely.contains_properly(outline, shapely.points(xy))]
    if per_block == 0:
        xy = xy[: max(2, len(xy) // 7)]  # many seedless blocks
    if len(xy) < 2:
        return
    label = rng.integers(0, stations, len(xy))
    by_block = rng.random(len(xy)) > mixed  # most seeds labelled by their block's column instead
    label[by_block] = np.searchsorted(xs, xy[by_block, 0]) % stations
    station = np.array([f"s{v}" for v in label], dtype=object)
    # mixed blocks by Voronoi (the default of the function) and by hull (the build's default)
    voronoi = street_partition(xy, station, outline, streets, MARGIN_M)
    hull = street_partition(xy, station, outline, streets, MARGIN_M,
                            partition=lambda a, b, c: tessellate(a, b, c, "hull", Parameters()))
    for keys, polys in (voronoi, hull):
        _check_blocks(keys, polys, xy, station, outline, streets)


def _check_blocks(keys, polys, xy, station, outline, streets):
    result = check_partition(polys, outline, 1.0)
    assert result.ok, result.problems()
    blocks = street_blocks(outline, streets)
    tree = shapely.STRtree(blocks)
    pt, blk = tree.query(shapely.points(xy), predicate="within")
    for b in np.unique(blk):
        inside = pt[blk == b]
        if len(set(station[inside])) == 1:
            own = polys[np.searchsorted(keys, station[inside[0]])]
            assert shapely.covers(shapely.buffer(own, 1e-6), shapely.points(xy[inside])).all()


def test_named_rules_drop_footpaths_tunnels_and_underground_roads():
    """OSM footways/steps, tunnels, BD TOPO paths and pos_sol < 0 are dropped; motorways kept."""
    frame = pd.DataFrame({
        "HIGHWAY": ["residential", "footway", "motorway", "steps", None, "primary", None, None],
        "tunnel": [None, None, None, None, None, "yes", None, "no"],
        "NATURE": [None, None, None, None, "Sentier", None, "Route à 1 chaussée", "Escalier"],
        "pos_sol": [0, 0, 0, 0, 0, 0, -1, 0],
    })
    gdf = gpd.GeoDataFrame(frame, geometry=[shapely.LineString([(0, 0), (1, 1)])] * len(frame), crs=2154)
    assert kept_streets(gdf).tolist() == [True, False, True, False, False, False, False, False]


# ----------------------------------------------------------------------------- the command


def town_build(tmp_path, streets, *extra):
    from conftest import TOWN

    out = tmp_path / "out.geojson"
    proc = subprocess.run(BIN + ["build", str(TOWN / "addresses.csv"), "--communes", str(TOWN / "communes.geojson"),
                                 "--streets", str(streets), *extra, "-o", str(out)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    return proc, out


def town_streets(tmp_path, **fields):
    """A street grid over the town (EPSG:4326), with optional fields."""
    x0, y0, x1, y1 = 2.82723, 46.5037723, 2.9754124, 46.6003084
    lines = ([shapely.LineString([(x, y0), (x, y1)]) for x in np.linspace(x0, x1, 20)]
             + [shapely.LineString([(x0, y), (x1, y)]) for y in np.linspace(y0, y1, 15)])
    path = tmp_path / "streets.geojson"
    gpd.GeoDataFrame(fields or None, geometry=lines, crs=4326).to_file(path)
    return path


def test_build_with_streets_reports_the_method(tmp_path):
    proc, out = town_build(tmp_path, town_streets(tmp_path))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.with_suffix(".report.json").read_text())
    methods = {c["method"] for c in report["communes"].values()}
    assert methods == {"streets", "commune"}
    reasons = {c["method_reason"] for c in report["communes"].values() if c["method"] == "streets"}
    assert reasons == {"streets: a streets layer covers this outline, mixed blocks split by hull"}
    # --method voronoi splits the mixed blocks by Voronoi: other borders, and the report says so
    (tmp_path / "v").mkdir()
    proc, out_v = town_build(tmp_path / "v", town_streets(tmp_path / "v"), "--method", "voronoi")
    assert proc.returncode == 0, proc.stderr
    report_v = json.loads(out_v.with_suffix(".report.json").read_text())
    assert {c["method_reason"] for c in report_v["communes"].values() if c["method"] == "streets"} == {
        "streets: a streets layer covers this outline, mixed blocks split by voronoi"}
    assert out.read_bytes() != out_v.read_bytes()
    assert report["inputs"]["streets"].endswith("streets.geojson")
    stations = gpd.read_file(out)
    assert set(stations["method"]) == {"streets", "commune"}


def bad_points(tmp_path):
    path = tmp_path / "pts.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(2.9, 46.55)], crs=4326).to_file(path)
    return path, "holds points, not lines"


def bad_empty(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    return path, "has no line (0 features"


def bad_no_prj(tmp_path):
    path = tmp_path / "noprj.shp"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(650000, 6850000), (651000, 6851000)])]).to_file(path)
    assert not path.with_suffix(".prj").exists()
    return path, "has no CRS"


def bad_url(tmp_path):
    return "https://example.org/streets.geojson", "is a URL or a GDAL virtual path"


def bad_vrt(tmp_path):
    path = tmp_path / "s.vrt"
    path.write_text("<OGRVRTDataSource><OGRVRTLayer name='a'><SrcDataSource>/etc/passwd</SrcDataSource>"
                    "</OGRVRTLayer></OGRVRTDataSource>")
    return path, "virtual dataset"


def bad_missing(tmp_path):
    return tmp_path / "nothing.gpkg", "not found"


@pytest.mark.parametrize("make", [bad_points, bad_empty, bad_no_prj, bad_url, bad_vrt, bad_missing])
def test_bad_street_layers_one_line_exit_2(tmp_path, make):
    path, phrase = make(tmp_path)
    proc, out = town_build(tmp_path, path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert not out.exists() and not out.with_suffix(".report.json").exists()


def test_streets_layer_without_streets_is_refused():
    import boundaries
    from boundaries.errors import InputError

    with pytest.raises(InputError, match="streets_layer|--streets-layer"):
        boundaries.build("a.csv", "b.geojson", streets_layer="roads")
