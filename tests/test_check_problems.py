"""`boundaries check` points at its problems: a location for each, a --problems layer, outline
mismatch told apart from holes inside, missing stations named, problems counted apart from warnings.

The "built town" is the bundled town's true partition (fixtures/town/stations_truth.geojson,
an exact partition of each commune, as a build writes), damaged in known ways.
"""

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
import shapely.ops
from hypothesis import given, settings, strategies as st

from boundaries.checks import check_stations
from boundaries.problems import PROBLEM_COLUMNS
from clients import ogrinfo
from conftest import TOWN

L93 = "EPSG:2154"
ADDRESSES = TOWN / "addresses.csv"
TOLERANCE = 30.0  # the default outline_tolerance_m


def _town():
    stations = gpd.read_file(TOWN / "stations_truth.geojson").to_crs(L93)
    communes = gpd.read_file(TOWN / "communes.geojson").to_crs(L93)
    return stations, communes


STATIONS, COMMUNES = _town()


def run(*args):
    return subprocess.run([sys.executable, "-m", "boundaries", *map(str, args)], capture_output=True, text=True)


def outline_of(code: str, crs: str = L93):
    return COMMUNES.to_crs(crs).set_index("code").geometry[code]


def inside(point, code: str, slack_deg: float = 1e-6) -> bool:
    """Whether the (lon, lat) ``point`` lies in commune ``code`` (6 decimals: a slack of ~10 cm)."""
    return bool(shapely.dwithin(shapely.Point(point), outline_of(code, "EPSG:4326"), slack_deg))


def deep_point(code: str, depth: float):
    """A point of a station of ``code`` at least ``depth`` m from the commune's outline, and that station's row."""
    outline = outline_of(code)
    inner = outline.buffer(-depth)
    for i, row in STATIONS[STATIONS["code_commune"] == code].iterrows():
        core = shapely.intersection(row.geometry.buffer(-depth / 2), inner)
        if not core.is_empty:
            return shapely.point_on_surface(core), i
    raise AssertionError(f"no point {depth} m inside {code}")


def kinds(result) -> dict:
    out: dict = {}
    for p in result.problems:
        out.setdefault(p.kind, []).append(p)
    return out


def test_the_built_town_is_clean():
    result = check_stations(STATIONS, COMMUNES, addresses=ADDRESSES)
    assert result.ok(strict=True) and result.problems == [], [p.line() for p in result.problems]
    assert result.to_dict()["summary"] == {"problems": 0, "warnings": 0}


def test_a_deleted_station_is_named_located_and_its_hole_a_gap():
    gone = STATIONS.index[STATIONS["id_bv"] == "99001_3"][0]
    result = check_stations(STATIONS.drop(index=gone), COMMUNES, addresses=ADDRESSES)
    found = kinds(result)
    (missing,) = found["missing_station"]
    assert missing.stations == ("99001_3",) and missing.commune == "99001" and missing.severity == "problem"
    assert inside(missing.point, "99001")
    # its address point lies in the station that was deleted
    assert shapely.dwithin(shapely.Point(missing.point), STATIONS.to_crs(4326).geometry[gone], 1e-6)
    assert result.missing == {"count": 1, "ids": ["99001_3"], "unlisted": 0}
    hole = sum(p.area_m2 for p in found["gap"] + found.get("outline_gap", []))
    assert hole == pytest.approx(STATIONS.geometry[gone].area, rel=1e-3)
    assert all(inside(p.point, "99001") for p in found["gap"])
    assert not result.ok()


def test_a_punched_hole_is_a_gap_at_its_place():
    centre, i = deep_point("99002", 120)
    disc = centre.buffer(40)
    damaged = STATIONS.copy()
    damaged.loc[i, "geometry"] = damaged.geometry[i].difference(disc)
    result = check_stations(damaged, COMMUNES)
    (gap,) = kinds(result)["gap"]
    assert gap.commune == "99002" and gap.area_m2 == pytest.approx(disc.area, rel=1e-3)
    assert gap.width_m == pytest.approx(40, rel=0.01)  # mean width of a disc: its radius
    assert damaged["id_bv"][i] in gap.stations
    lonlat = gpd.GeoSeries([disc], crs=L93).to_crs(4326).iloc[0]
    assert shapely.dwithin(shapely.Point(gap.point), lonlat, 1e-6) and inside(gap.point, "99002")
    assert [p.kind for p in result.errors()] == ["gap"]


def test_an_outline_shifted_by_a_few_metres_gives_warnings_only():
    shifted = COMMUNES.copy()
    shifted["geometry"] = shifted.geometry.translate(4, -3)
    result = check_stations(STATIONS, shifted)
    assert result.ok(), [p.line() for p in result.errors()]
    assert {p.kind for p in result.problems} == {"outline_gap", "outline_spill"}
    assert all(p.severity == "warning" for p in result.problems)
    # with no band, the same mismatch is a hole and a spill
    strict = check_stations(STATIONS, shifted, outline_tolerance_m=0)
    assert {p.kind for p in strict.problems} == {"gap", "spill"} and not strict.ok()


def test_cli_text_json_exit_code_and_problems_layer(tmp_path):
    stations, communes = tmp_path / "stations.gpkg", tmp_path / "communes.geojson"
    shifted = COMMUNES.copy()
    shifted["geometry"] = shifted.geometry.translate(4, -3)
    shifted.to_crs(4326).to_file(communes)
    STATIONS[STATIONS["id_bv"] != "99001_3"].to_crs(4326).to_file(stations)
    out = run("check", stations, "--communes", communes, "--addresses", ADDRESSES, "--limit", "0")
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("problem: 99001: missing station — station 99001_3") and "(at 2." in line
               for line in lines), lines
    assert any(line.startswith("warning: ") and "outline gap" in line for line in lines)
    assert lines[-1].split(": ", 1)[1].startswith("2 problems, ")  # the missing station and its hole
    warned = run("check", STATIONS.to_crs(4326).pipe(lambda g: g.to_file(tmp_path / "all.gpkg")) or
                 tmp_path / "all.gpkg", "--communes", communes, "--json")
    assert warned.returncode == 0, warned.stdout[-400:]  # warnings only: exit 0
    doc = json.loads(warned.stdout)
    assert doc["ok"] is True and doc["summary"]["problems"] == 0 and doc["summary"]["warnings"] > 0
    assert all(-180 <= p["longitude"] <= 180 and p["severity"] == "warning" for p in doc["problems"])
    for name in ("problems.gpkg", "problems.geojson"):
        target = tmp_path / name
        done = run("check", stations, "--communes", communes, "--addresses", ADDRESSES, "--problems", target, "-q")
        assert done.returncode == 1 and target.exists(), done.stderr
        frame = pyogrio.read_dataframe(target, layer="problems")
        assert tuple(frame.columns[:-1]) == PROBLEM_COLUMNS and len(frame) >= 3
        assert set(frame["severity"]) == {"problem", "warning"}
        assert frame.crs.to_epsg() == 4326 and set(frame.geometry.geom_type) == {"Point"}
        assert "missing_station" in set(frame["kind"])
        if name.endswith(".gpkg"):  # the polygons beside the points, one geometry type per layer
            areas = pyogrio.read_dataframe(target, layer="problem_areas")
            assert set(areas.geometry.geom_type) == {"MultiPolygon"} and "gap" in set(areas["kind"])
            assert set(areas["kind"]) <= set(frame["kind"]) - {"missing_station"}


def test_the_problems_layer_opens_in_ogrinfo(tmp_path):
    tool = ogrinfo()
    stations, target = tmp_path / "stations.geojson", tmp_path / "problems.gpkg"
    STATIONS[STATIONS["id_bv"] != "99001_3"].to_crs(4326).to_file(stations)
    assert run("check", stations, "--communes", TOWN / "communes.geojson", "--problems", target,
               "-q").returncode == 1
    for layer, shape in (("problems", "POINT"), ("problem_areas", "MULTIPOLYGON")):
        info = subprocess.run([tool, "-al", "-q", str(target), layer], capture_output=True, text=True)
        assert info.returncode == 0 and "kind (String) = gap" in info.stdout, info.stdout + info.stderr
        assert shape + " (" in info.stdout and "severity (String) = problem" in info.stdout


@pytest.mark.parametrize("target, fix", [
    ("stations.geojson", "is also an input"), ("problems.shp", "unknown format"), ("-", "not standard output")])
def test_problems_layer_refused_before_any_work(tmp_path, target, fix):
    stations = tmp_path / "stations.geojson"
    STATIONS.to_crs(4326).to_file(stations)
    before = stations.read_bytes()
    path = target if target == "-" else tmp_path / target
    out = run("check", stations, "--communes", TOWN / "communes.geojson", "--problems", path)
    assert out.returncode == 2 and fix in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert stations.read_bytes() == before and not (tmp_path / "problems.shp").exists()


def _split_expected(shape, code: str, tolerance: float):
    band = outline_of(code).boundary.buffer(tolerance)
    return shape.difference(band).area, shape.intersection(band).area


@settings(deadline=None)
@given(code=st.sampled_from(["99001", "99002", "99003", "99004"]), fx=st.floats(0.02, 0.98),
       fy=st.floats(0.02, 0.98), radius=st.floats(3.0, 90.0), tolerance=st.sampled_from([0.0, 10.0, 30.0]))
def test_random_holes_are_gaps_or_outline_gaps_where_they_are(code, fx, fy, radius, tolerance):
    outline = outline_of(code)
    x0, y0, x1, y1 = outline.bounds
    centre = shapely.Point(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
    hole = centre.buffer(radius).intersection(outline)
    damaged = STATIONS.copy()
    damaged["geometry"] = damaged.geometry.difference(hole)
    result = check_stations(damaged, COMMUNES, outline_tolerance_m=tolerance, min_area_m2=1.0, min_width_m=0.5)
    found = kinds(result)
    assert set(found) <= {"gap", "outline_gap", "multipart"}
    far, near = _split_expected(hole, code, tolerance) if tolerance else (hole.area, 0.0)
    got_far = sum(p.area_m2 for p in found.get("gap", []))
    got_near = sum(p.area_m2 for p in found.get("outline_gap", []))
    assert got_far + got_near <= hole.area * (1 + 1e-6) + 1
    # a part is dropped only when it is noise (under 1 m², or thinner than 0.5 m on average)
    assert got_far == pytest.approx(far, abs=max(1.0, far * 0.02) + 20) or (far < 50 and got_far == 0)
    assert got_near == pytest.approx(near, abs=max(1.0, near * 0.02) + 20) or (near < 50 and got_near == 0)
    for p in found.get("gap", []) + found.get("outline_gap", []):
        assert p.commune == code and inside(p.point, code) and p.width_m > 0
    assert result.ok() == (not found.get("gap"))


@settings(deadline=None)
@given(pick=st.integers(0, len(STATIONS) - 1), angle=st.floats(0, 2 * np.pi), reach=st.floats(2.0, 120.0),
       size=st.floats(5.0, 60.0))
def test_random_spills_are_spills_or_outline_spills_beside_the_commune(pick, angle, reach, size):
    row = STATIONS.iloc[pick]
    outline = outline_of(row["code_commune"])
    # a square pushed out from the station's point nearest to the commune's border
    edge = shapely.ops.nearest_points(outline.boundary, row.geometry.boundary)[0]
    centre = shapely.Point(edge.x + reach * np.cos(angle), edge.y + reach * np.sin(angle))
    blob = centre.buffer(size, cap_style="square")
    grown = STATIONS.copy()
    grown.loc[grown.index[pick], "geometry"] = row.geometry.union(blob)
    spill = blob.difference(shapely.union_all(COMMUNES.geometry.values))
    result = check_stations(grown, COMMUNES, min_area_m2=1.0, min_width_m=0.5)
    found = kinds(result)
    spilled = found.get("spill", []) + found.get("outline_spill", [])
    if spill.area > 100:
        assert spilled, [p.line() for p in result.problems]
    for p in spilled:
        assert row["id_bv"] in p.stations and p.commune == row["code_commune"]
        point, shape = gpd.GeoSeries([shapely.Point(p.point), p.geometry], crs=4326).to_crs(L93)
        # on the spill, so outside the commune (give or take the 6 decimals' 10 cm)
        assert point.distance(shape) < 0.2 and not outline.buffer(-0.2).contains(point)
        if p.kind == "outline_spill":
            assert point.distance(outline.boundary) <= TOLERANCE + 0.2
    assert all(p.kind != "spill" for p in spilled) or not result.ok()


@pytest.fixture(scope="module")
def built_town(tmp_path_factory):
    """The town built by ``boundaries build``: (stations.gpkg, its .report.json)."""
    folder = tmp_path_factory.mktemp("built")
    out, report = folder / "town.gpkg", folder / "town.report.json"
    done = run("build", ADDRESSES, "--communes", TOWN / "communes.geojson", "-o", out, "--report", report, "-q")
    assert done.returncode == 0, done.stderr
    return out, report


def test_build_report_names_the_stations_a_commune_lost(built_town, tmp_path):
    out, report = built_town
    built = gpd.read_file(out, layer="stations")
    assert check_stations(built, TOWN / "communes.geojson", build_report=report).ok()
    fewer = built[~built["id_bv"].isin(["99001_3", "99001_4"])]
    result = check_stations(fewer, TOWN / "communes.geojson", build_report=report)
    missing = kinds(result)["missing_station"]
    assert sorted(p.stations[0] for p in missing) == ["99001_3", "99001_4"]
    assert all(p.commune == "99001" and inside(p.point, "99001") for p in missing)
    assert result.missing == {"count": 2, "ids": ["99001_3", "99001_4"], "unlisted": 0}
    # with the addresses too, the stations are named once, placed among their addresses
    named = check_stations(fewer, TOWN / "communes.geojson", build_report=report, addresses=ADDRESSES)
    assert sorted(p.stations[0] for p in kinds(named)["missing_station"]) == ["99001_3", "99001_4"]
    # a report of before the list (counts only): one problem counting them
    doc = json.loads(report.read_text())
    for info in doc["communes"].values():
        del info["stations_built"]
    old = tmp_path / "old.report.json"
    old.write_text(json.dumps(doc))
    (counted,) = kinds(check_stations(fewer, TOWN / "communes.geojson", build_report=old))["missing_station"]
    assert counted.commune == "99001" and "2 missing" in counted.detail and inside(counted.point, "99001")


@pytest.mark.parametrize("key, value, message", [
    ("stations_out", "eight", "stations_out of commune 99001 is not a count"),
    ("stations_built", "99001_1", "stations_built of commune 99001 is not a list of station ids"),
    ("stations_built", [1, 2], "stations_built of commune 99001 is not a list of station ids"),
])
def test_a_build_report_with_a_bad_count_or_list_is_one_line(built_town, tmp_path, key, value, message):
    out, report = built_town
    doc = json.loads(report.read_text())
    doc["communes"]["99001"][key] = value
    if key == "stations_out":
        del doc["communes"]["99001"]["stations_built"]
    bad = tmp_path / "bad.report.json"
    bad.write_text(json.dumps(doc))
    done = run("check", out, "--communes", TOWN / "communes.geojson", "--build-report", bad)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(deadline=None)
@given(ids=st.lists(_TEXT, min_size=1, max_size=4), commune=_TEXT, detail=_TEXT,
       area=st.one_of(st.none(), st.floats(0, 1e12)), lon=st.floats(-180, 180), lat=st.floats(-90, 90),
       suffix=st.sampled_from([".gpkg", ".geojson"]))
def test_problems_layer_keeps_any_text_and_number(tmp_path_factory, ids, commune, detail, area, lon, lat, suffix):
    from boundaries.checks import Problem
    from boundaries.problems import write_problems

    point = (round(lon, 6), round(lat, 6))
    problems = [Problem("gap", commune, tuple(ids), area, detail, point=point, width_m=area),
                Problem("missing_station", None, (), None, detail)]  # no place at all: a null geometry
    target = tmp_path_factory.mktemp("p") / f"problems{suffix}"
    write_problems(problems, str(target))
    frame = pyogrio.read_dataframe(target, layer="problems")
    assert list(frame["kind"]) == ["gap", "missing_station"] and frame["detail"][0] == detail
    assert frame["stations"][0] == ", ".join(ids) and frame["commune"][0] == commune
    assert frame["longitude"][0] == pytest.approx(point[0], abs=1e-9) and frame["geometry"][1] is None
    if area is not None:
        assert frame["area_m2"][0] == pytest.approx(round(area, 2), rel=1e-12)
    assert not list(target.parent.glob(".*boundaries-tmp*"))  # written atomically: nothing left beside


_PYQGIS_TYPES = """
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer, QgsWkbTypes
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
    out[name] = [layer.isValid(), QgsWkbTypes.displayString(layer.wkbType()), layer.featureCount()]
print(json.dumps(out))
"""


def test_qgis_draws_every_problem_of_each_layer(tmp_path):
    """PyQGIS types a layer by its features: each layer of the file holds one geometry type, all counted."""
    from clients import pyqgis_python, qgis_env

    python = pyqgis_python()
    stations, target = tmp_path / "stations.gpkg", tmp_path / "problems.gpkg"
    STATIONS[STATIONS["id_bv"] != "99001_3"].to_crs(4326).to_file(stations)
    done = run("check", stations, "--communes", TOWN / "communes.geojson", "--addresses", ADDRESSES, "--problems",
               target, "-q")
    assert done.returncode == 1, done.stderr
    proc = subprocess.run([python, "-c", _PYQGIS_TYPES, str(target), "problems", "problem_areas"],
                          capture_output=True, text=True, env=qgis_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {"problems": [True, "Point", 2], "problem_areas": [True, "MultiPolygon", 1]}
