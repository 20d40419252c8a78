"""``--parcels`` and ``--buildings`` as build options (issue 19, items 1–2): read (boundaries.land),
followed (boundaries.parcels through boundaries.pipeline.build_unit), refused in one line when bad."""

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
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.land import kept_parcels, read_parcels
from conftest import TOWN, shared_path

BIN = [sys.executable, "-m", "boundaries"]
#: The synthetic commune's corner in Lambert-93 (metres), its code and its parcels' size.
ORIGIN, CODE, LOT_W, LOT_H, STREET_M = (700_000.0, 6_600_000.0), "99001", 30.0, 20.0, 8.0


def synthetic_case(folder, nx: int, ny: int, stations: int, per_parcel, seed: int):
    """A square commune of ``nx × ny`` parcels (lots split by streets), stations by groups of columns.

    Writes ``addresses.csv`` and ``communes.geojson`` (degrees) and ``parcels.gpkg`` (Lambert-93: the
    layer is reprojected), and returns (parcels in metres, the station of each parcel or None when
    it holds no address).
    """
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    lots, owner, rows = [], [], []
    for i in range(nx):
        for j in range(ny):
            left, bottom = x0 + STREET_M + i * LOT_W, y0 + STREET_M + j * (LOT_H + STREET_M)
            lots.append(shapely.box(left, bottom, left + LOT_W, bottom + LOT_H))
            n = int(per_parcel[(i * ny + j) % len(per_parcel)])
            station = i * stations // nx
            owner.append(station if n else None)
            xy = rng.uniform((left + 3, bottom + 3), (left + LOT_W - 3, bottom + LOT_H - 3), size=(n, 2))
            rows += [(f"{CODE}_{station + 1}", x, y) for x, y in xy]
    outline = shapely.box(x0, y0, x0 + 2 * STREET_M + nx * LOT_W, y0 + STREET_M + ny * (LOT_H + STREET_M))
    pts = pd.DataFrame(rows, columns=["id_brut_bv_reu", "x", "y"])
    lonlat = gpd.GeoSeries(gpd.points_from_xy(pts.x, pts.y), crs=2154).to_crs(4326)
    pts = pts.assign(code_commune_ref=CODE, longitude=lonlat.x.round(8), latitude=lonlat.y.round(8),
                     geo_type="housenumber", geo_score=0.95, nb_adresses=1).drop(columns=["x", "y"])
    pts.to_csv(folder / "addresses.csv", index=False)
    gpd.GeoDataFrame({"code": [CODE], "nom": ["Lotissement"]}, geometry=[outline], crs=2154).to_crs(4326) \
        .to_file(folder / "communes.geojson")
    gpd.GeoDataFrame({"idu": np.arange(len(lots))}, geometry=lots, crs=2154).to_file(folder / "parcels.gpkg")
    return np.array(lots, dtype=object), owner


def share_in_own_station(stations: gpd.GeoDataFrame, lots, owner) -> np.ndarray:
    """For each parcel holding addresses, the share of its area inside its own station."""
    metric = stations.to_crs(2154).set_index("id_bv").geometry
    held = [k for k, s in enumerate(owner) if s is not None]
    own = np.array([metric[f"{CODE}_{owner[k] + 1}"] for k in held], dtype=object)
    return shapely.area(shapely.intersection(lots[held], own)) / shapely.area(lots[held])


def build(folder, **land):
    return boundaries.build(str(folder / "addresses.csv"), str(folder / "communes.geojson"), jobs=1, **land)


#: The steps after the land method that may move a border off a parcel line, all off: the rule alone.
RULE_ONLY = {"empty_land_m": 0.0, "fragment_max_rows": -1, "smooth_window_m": 0.0}


@settings(deadline=None)
@given(nx=st.integers(2, 8), ny=st.integers(1, 5), stations=st.integers(2, 4),
       per_parcel=st.lists(st.integers(0, 3), min_size=1, max_size=7), seed=st.integers(0, 2**16))
def test_parcels_go_to_the_station_of_their_addresses(tmp_path_factory, nx, ny, stations, per_parcel, seed):
    """Random lots and labels: the commune is built by the parcels method, exactly partitioned (the
    build checks it), with the default steps after it; with those steps off, each parcel with
    addresses lies wholly in its own station."""
    stations = min(stations, nx)
    assume(sum(per_parcel) > 0)
    folder = tmp_path_factory.mktemp("lots")
    lots, owner = synthetic_case(folder, nx, ny, stations, per_parcel, seed)
    assume(len({s for s in owner if s is not None}) >= 2)
    result = build(folder, parcels=str(folder / "parcels.gpkg"))
    assert result.report.communes[CODE]["method"] == "parcels"
    assert set(result.stations["method"]) == {"parcels"}
    assert result.report.communes[CODE]["partition"]["ok"]
    exact = build(folder, parcels=str(folder / "parcels.gpkg"), **RULE_ONLY)
    assert exact.report.communes[CODE]["partition"]["ok"]
    assert (share_in_own_station(exact.stations, lots, owner) > 0.9999).all()


def test_buildings_go_to_the_station_of_their_addresses(tmp_path):
    """Footprints inside each lot (grown 6 m to their lot): the buildings method, each lot in its station."""
    lots, owner = synthetic_case(tmp_path, 6, 3, 3, [2, 1, 0, 3], 7)
    footprints = shapely.buffer(shapely.centroid(lots), 5.0, cap_style="square")
    gpd.GeoDataFrame(geometry=footprints, crs=2154).to_file(tmp_path / "buildings.geojson")
    result = build(tmp_path, buildings=str(tmp_path / "buildings.geojson"))
    assert result.report.communes[CODE]["method"] == "buildings"
    assert set(result.stations["method"]) == {"buildings"}
    exact = build(tmp_path, buildings=str(tmp_path / "buildings.geojson"), **RULE_ONLY)
    # each footprint grown by 6 m (lots of 30 × 20 m: 10 × 10 m footprints reach 22 × 22 m, clipped by
    # their neighbours' lots): its own core at least lies in its station
    cores = shapely.buffer(shapely.centroid(lots), 5.0, cap_style="square")
    assert (share_in_own_station(exact.stations, cores, owner) > 0.9999).all()


def far_layer(path, geoms_m, dx: float = 50_000.0):
    """``geoms_m`` moved ``dx`` metres east (out of the commune), written to ``path``."""
    gpd.GeoDataFrame(geometry=shapely.transform(geoms_m, lambda xy: xy + [dx, 0]), crs=2154).to_file(path)
    return str(path)


def test_precedence_parcels_then_buildings_then_streets(tmp_path):
    """Where several layers reach a commune: parcels, else buildings, else streets; a layer that
    reaches no commune does not count."""
    lots, _ = synthetic_case(tmp_path, 4, 2, 2, [1, 2], 3)
    parcels = str(tmp_path / "parcels.gpkg")
    x0, y0 = ORIGIN
    street = [shapely.LineString([(x0 + STREET_M + 2 * LOT_W, y0 - 10), (x0 + STREET_M + 2 * LOT_W, y0 + 200)])]
    streets = tmp_path / "streets.geojson"
    gpd.GeoDataFrame(geometry=street, crs=2154).to_file(streets)
    buildings = tmp_path / "b.geojson"
    gpd.GeoDataFrame(geometry=shapely.buffer(shapely.centroid(lots), 4.0), crs=2154).to_file(buildings)
    cases = [({"parcels": parcels, "buildings": str(buildings), "streets": str(streets)}, "parcels"),
             ({"buildings": str(buildings), "streets": str(streets)}, "buildings"),
             ({"parcels": far_layer(tmp_path / "far.geojson", lots), "streets": str(streets)}, "streets"),
             ({"parcels": far_layer(tmp_path / "far2.geojson", lots)}, "hull")]  # the default method
    for land, method in cases:
        assert build(tmp_path, **land).report.communes[CODE]["method"] == method, land


def test_road_strips_flagged_buildable_0_are_dropped():
    frame = gpd.GeoDataFrame({"Buildable": ["1", "0", "99", None, 0]}, geometry=[shapely.box(0, 0, 1, 1)] * 5,
                             crs=2154)
    assert kept_parcels(frame).tolist() == [True, False, True, True, False]
    assert kept_parcels(frame.drop(columns="Buildable")).all()


def test_road_strips_never_take_addresses(tmp_path):
    """A parcel flagged ``buildable`` 0 is not read: its addresses vote in no parcel (the build still partitions)."""
    lots, owner = synthetic_case(tmp_path, 4, 2, 2, [1], 5)
    flags = np.where(np.arange(len(lots)) == 0, "0", "1")
    gpd.GeoDataFrame({"buildable": flags}, geometry=lots, crs=2154).to_file(tmp_path / "flagged.geojson")
    kept, dropped = read_parcels(tmp_path / "flagged.geojson")
    assert dropped == 1 and len(kept) == len(lots) - 1
    assert build(tmp_path, parcels=str(tmp_path / "flagged.geojson")).report.communes[CODE]["method"] == "parcels"


# ----------------------------------------------------------------------------- the command


def town_grid(path, inset: float = 0.0002):
    """Rectangles over the bundled town (EPSG:4326), a little apart (streets between them)."""
    xs, ys = np.linspace(2.82723, 2.9754124, 40), np.linspace(46.5037723, 46.6003084, 30)
    boxes = [shapely.box(xs[i] + inset, ys[j] + inset, xs[i + 1] - inset, ys[j + 1] - inset)
             for i in range(len(xs) - 1) for j in range(len(ys) - 1)]
    gpd.GeoDataFrame(geometry=boxes, crs=4326).to_file(path)
    return path


def run(*args):
    return subprocess.run(BIN + [str(a) for a in args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})


@pytest.mark.parametrize("flag,method", [("--parcels", "parcels"), ("--buildings", "buildings")])
def test_command_builds_the_town_by_the_land_method_and_check_passes(tmp_path, flag, method):
    out = tmp_path / "out.geojson"
    proc = run("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson",
               flag, town_grid(tmp_path / "land.geojson"), "-o", out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert {c["method"] for c in report["communes"].values()} == {method, "commune"}
    assert report["inputs"][method].endswith("land.geojson")
    assert set(gpd.read_file(out)["method"]) == {method, "commune"}
    check = run("check", out, "--communes", TOWN / "communes.geojson")
    assert check.returncode == 0 and "clean" in check.stdout + check.stderr, check.stdout + check.stderr


def test_vincennes_parcels_build_passes_check(tmp_path):
    """The real cadastre of Vincennes (94080): the command builds it by parcels, and ``check`` passes."""
    data = shared_path("val-de-marne-2016")
    parcels = shared_path("val-de-marne-2016", "land", "vincennes-parcels-2022.geojson")
    out = tmp_path / "vincennes.geojson"
    proc = run("build", data / "addresses.csv.gz", "--communes", data / "communes.geojson", "--commune", "94080",
               "--parcels", parcels, "-j", "1", "-o", out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["communes"]["94080"]["method"] == "parcels"
    check = run("check", out, "--communes", data / "communes.geojson")
    assert check.returncode == 0, check.stdout + check.stderr


# ----------------------------------------------------------------------------- hostile layers


def write_kind(folder, kind: str, detail: str):
    """A bad land layer of ``kind`` (``detail`` from a hostile alphabet), and a phrase its error must hold."""
    path = folder / "land.geojson"
    if kind == "points":
        gpd.GeoDataFrame(geometry=[shapely.Point(2.9, 46.55)], crs=4326).to_file(path)
        return path, "holds points, not polygons"
    if kind == "lines":
        gpd.GeoDataFrame(geometry=[shapely.LineString([(2.85, 46.52), (2.9, 46.55)])], crs=4326).to_file(path)
        return path, "holds lines, not polygons"
    if kind == "mixed_no_polygon":  # an untyped layer: a point and a line, no polygon
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [2.9, 46.55]}},
            {"type": "Feature", "properties": {},
             "geometry": {"type": "LineString", "coordinates": [[2.9, 46.55], [2.91, 46.56]]}}]}))
        return path, "has no polygon"
    if kind == "empty":
        path.write_text('{"type": "FeatureCollection", "features": []}')
        return path, "has no polygon (0 features"
    if kind == "no_crs":
        path = folder / "noprj.shp"
        gpd.GeoDataFrame(geometry=[shapely.box(650_000, 6_850_000, 650_100, 6_850_100)]).to_file(path)
        return path, "has no CRS"
    if kind == "url":
        return f"{detail}://example.org/land.geojson", "is a URL or a GDAL virtual path"
    if kind == "no_layer":
        gpd.GeoDataFrame(geometry=[shapely.box(2.85, 46.52, 2.86, 46.53)], crs=4326).to_file(path)
        return path, "has no layer"
    if kind == "bad_vertex":
        good = shapely.box(2.85, 46.52, 2.86, 46.53)
        bad = shapely.Polygon([(2.85, 46.52), (1e300 if "a" in detail else float("nan"), 46.52), (2.86, 46.53)])
        path.write_text(gpd.GeoSeries([good, bad, good], crs=4326).to_json())  # NaN written as GDAL reads it
        return path, "cannot be a coordinate"
    path.write_bytes(detail.encode("utf-8", "surrogatepass"))  # "garbage": any text GDAL cannot read
    return path, "land.geojson"


KINDS = ["points", "lines", "mixed_no_polygon", "empty", "no_crs", "url", "no_layer", "bad_vertex", "garbage"]


@settings(deadline=None)
@given(kind=st.sampled_from(KINDS), flag=st.sampled_from(["parcels", "buildings"]),
       detail=st.text(alphabet=list("abz:/ \"'{[é\x1b;"), min_size=1, max_size=12))
def test_hostile_land_layers_one_line_exit_2_nothing_written(tmp_path_factory, kind, flag, detail):
    """Wrong geometry types, no CRS, empty, URLs, a layer name that does not exist, absurd vertices,
    garbage: one line naming the problem, exit 2, nothing written."""
    folder = tmp_path_factory.mktemp("bad")
    if kind == "url":
        detail = "".join(c for c in detail if c in "abz") or "http"
    path, phrase = write_kind(folder, kind, detail)
    synthetic_case(folder, 2, 1, 2, [1], 0)  # a tiny build: the layer is read at once
    extra = [f"--{flag}-layer", "L" + detail] if kind == "no_layer" else []
    out = folder / "out.geojson"
    before = set(os.listdir(folder))
    res = CliRunner().invoke(main, ["build", str(folder / "addresses.csv"), "--communes",
                                    str(folder / "communes.geojson"), f"--{flag}", str(path), *extra, "-o", str(out), "-q"])
    assert res.exit_code == 2, (res.output, res.exception)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    assert phrase in lines[0] or kind == "url" and "URL" in lines[0], lines[0]
    assert set(os.listdir(folder)) == before


@pytest.mark.parametrize("keyword", ["parcels", "buildings"])
def test_land_layers_are_refused_for_national_runs_and_layers_without_their_file(keyword):
    with pytest.raises(InputError, match=f"{keyword} builds one département at a time"):
        boundaries.build("a.csv", "b.geojson", all_departements=True, **{keyword: "x.gpkg"})
    with pytest.raises(InputError, match=f"{keyword}_layer names a layer of {keyword}"):
        boundaries.build("a.csv", "b.geojson", **{f"{keyword}_layer": "lots"})
