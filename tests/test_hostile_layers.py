"""Hostile outlines and layers (issue 17, items 8 and 9): bad vertices, metres without a CRS, files of
several layers, files cut short and malformed build reports give one line and exit 2 (or, for ``check``,
a problem found and located), never an internal error, a silent empty build or a stale layer."""

import json
import math
import os

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.read import read_communes
from boundaries.review import read_build_report, review_stations
from conftest import TOWN

#: Values a broken vertex can hold: not finite, or far beyond any coordinate (up to the float limit).
BAD_VALUES = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf]),
                       st.floats(min_value=1e3, max_value=1.7e308).map(lambda v: v),
                       st.floats(min_value=-1.7e308, max_value=-1e3))
#: Layer names from a hostile alphabet (quotes, spaces, separators, accents, SQL, controls) after a
#: letter: GDAL's GeoPackage writer refuses a name that starts with another character.
LAYER_NAMES = st.text(alphabet=list("ab_ Z9'\"-;.é()%$[]/\x1b\t"), max_size=10).map(lambda s: "L" + s)


def _small_layers():
    """Two communes of two stations each, degrees: (outlines, stations)."""
    communes = gpd.GeoDataFrame({"code": ["99001", "99002"], "nom": ["A", "B"]},
                                geometry=[shapely.box(2.0, 46.0, 2.01, 46.01), shapely.box(2.01, 46.0, 2.02, 46.01)],
                                crs="EPSG:4326")
    boxes = [shapely.box(2.0, 46.0, 2.005, 46.01), shapely.box(2.005, 46.0, 2.01, 46.01),
             shapely.box(2.01, 46.0, 2.015, 46.01), shapely.box(2.015, 46.0, 2.02, 46.01)]
    stations = gpd.GeoDataFrame({"id_bv": ["99001_1", "99001_2", "99002_1", "99002_2"],
                                 "code_commune": ["99001", "99001", "99002", "99002"]},
                                geometry=boxes, crs="EPSG:4326")
    return communes, stations


def _with_vertex(geom, index: int, axis: int, value: float):
    """``geom`` with one exterior vertex's coordinate replaced (not the first: GEOS must see the ring closed)."""
    ring = np.asarray(geom.exterior.coords)
    ring[1 + index % (len(ring) - 2), axis] = value
    return shapely.polygons(ring)


def _town_outlines():
    return gpd.read_file(TOWN / "communes.geojson")


def _files(folder):
    return {os.path.join(d, f) for d, _, files in os.walk(folder) for f in files}


# -- bad vertices -------------------------------------------------------------------------


@settings(deadline=None)
@given(feature=st.integers(0, 3), index=st.integers(0, 10_000), axis=st.integers(0, 1), value=BAD_VALUES,
       driver=st.sampled_from(["GeoJSON", "GPKG", "memory"]))
def test_a_bad_outline_vertex_is_refused_naming_its_commune(tmp_path_factory, feature, index, axis, value, driver):
    outlines = _town_outlines()
    assume(abs(value) > (180 if axis == 0 else 90) or not math.isfinite(value))
    outlines.loc[feature, "geometry"] = _with_vertex(outlines.geometry.iloc[feature], index, axis, value)
    source = outlines
    if driver != "memory":
        source = tmp_path_factory.mktemp("v") / ("c.geojson" if driver == "GeoJSON" else "c.gpkg")
        if driver == "GeoJSON":  # NaN and Infinity written as such (GDAL's writer would drop them)
            source.write_text(outlines.to_json())
        else:
            outlines.to_file(source, driver=driver)
    with pytest.raises(InputError) as err:
        read_communes(source)
    message = str(err.value)
    assert "\n" not in message and outlines["code"].iloc[feature] in message
    assert "cannot be a coordinate" in message and "repair" in message


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e300])
def test_build_with_a_bad_outline_vertex_exits_2_and_writes_nothing(tmp_path, value):
    outlines = _town_outlines()
    outlines.loc[1, "geometry"] = _with_vertex(outlines.geometry.iloc[1], 3, 0, value)
    communes = tmp_path / "c.geojson"
    communes.write_text(outlines.to_json())  # NaN, Infinity written as such: GDAL reads them
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(communes),
                                    "-o", str(tmp_path / "out.geojson"), "-q"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "99002" in lines[0] and str(communes) in lines[0]
    assert _files(tmp_path) == {str(communes)}


@settings(deadline=None)
@given(station=st.integers(0, 3), index=st.integers(0, 100), axis=st.integers(0, 1), value=BAD_VALUES)
def test_check_finds_and_locates_a_station_with_a_bad_vertex(station, index, axis, value):
    """``check`` is the validator: a broken station is a problem it reports (exit 1), the others are measured."""
    assume(abs(value) > (180 if axis == 0 else 90) or not math.isfinite(value))
    communes, stations = _small_layers()
    stations.loc[station, "geometry"] = _with_vertex(stations.geometry.iloc[station], index, axis, value)
    result = boundaries.check(stations, communes)
    invalid = [p for p in result.problems if p.kind == "invalid_geometry"]
    assert not result.ok() and len(invalid) == 1
    assert invalid[0].stations == (stations["id_bv"].iloc[station],) and "not a coordinate" in invalid[0].detail


def test_check_command_exits_1_on_a_bad_station_vertex_and_2_on_a_bad_outline_vertex(tmp_path):
    communes, stations = _small_layers()
    stations.loc[0, "geometry"] = _with_vertex(stations.geometry.iloc[0], 1, 0, math.inf)
    st_path, c_path = tmp_path / "s.gpkg", tmp_path / "c.gpkg"
    stations.to_file(st_path)
    communes.to_file(c_path)
    res = CliRunner().invoke(main, ["check", str(st_path), "--communes", str(c_path)])
    assert res.exit_code == 1 and "invalid geometry — station 99001_1: a vertex is not a coordinate" in res.output
    communes, stations = _small_layers()
    communes.loc[0, "geometry"] = _with_vertex(communes.geometry.iloc[0], 1, 1, math.nan)
    stations.to_file(st_path)
    communes.to_file(c_path)
    res = CliRunner().invoke(main, ["check", str(st_path), "--communes", str(c_path)])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "99001" in res.output


@pytest.mark.parametrize("value", [math.nan, -math.inf, 1e300])
@pytest.mark.parametrize("command", ["evaluate", "evaluate-reference", "preview", "report"])
def test_layer_commands_refuse_a_bad_vertex_in_one_line(tmp_path, command, value):
    communes, stations = _small_layers()
    bad = stations.copy()
    bad.loc[2, "geometry"] = _with_vertex(bad.geometry.iloc[2], 2, 1, value)
    good_path, bad_path = tmp_path / "good.gpkg", tmp_path / "bad.gpkg"
    stations.to_file(good_path)
    bad.to_file(bad_path)
    out = tmp_path / "out"
    args = {"evaluate": ["evaluate", str(bad_path), "--reference", str(good_path)],
            "evaluate-reference": ["evaluate", str(good_path), "--reference", str(bad_path)],
            "preview": ["preview", str(bad_path), "-o", f"{out}.png"],
            "report": ["report", str(bad_path), "-o", f"{out}.html", "--max-pictures", "0"]}[command]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert len(res.output.strip().splitlines()) == 1 and "99002_1" in res.output and "internal" not in res.output
    assert _files(tmp_path) == {str(good_path), str(bad_path)}


# -- outlines in the wrong unit, builds that keep nothing -----------------------------------


def test_outlines_in_metres_without_a_crs_are_named_as_such(tmp_path):
    metres = _town_outlines().to_crs("EPSG:2154").set_crs(None, allow_override=True)
    communes = tmp_path / "c.geojson"
    communes.write_text(metres.to_json())  # a GeoJSON without "crs": WGS84 by definition
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(communes),
                                    "-o", str(tmp_path / "out.geojson")])
    assert res.exit_code == 2 and "not longitude/latitude in degrees" in res.output
    assert "reproject" in res.output and len(res.output.strip().splitlines()) == 1
    assert _files(tmp_path) == {str(communes)}


@settings(deadline=None)
@given(dx=st.floats(-170, 170), dy=st.floats(-40, 40), crs=st.sampled_from(["EPSG:4326", "EPSG:2154-as-27572"]))
def test_outlines_that_miss_the_addresses_never_pass_as_an_empty_success(tmp_path_factory, dx, dy, crs):
    """Outlines moved away from the addresses (a wrong CRS, a shift): exit 2 with the reason, or a real build."""
    folder = tmp_path_factory.mktemp("miss")
    outlines = _town_outlines()
    if crs == "EPSG:4326":
        outlines["geometry"] = shapely.transform(outlines.geometry.values, lambda xy: xy + [dx, dy])
    else:  # metres of Lambert-93 declared as Lambert II: far from where they should be
        outlines = outlines.to_crs("EPSG:2154").set_crs("EPSG:27572", allow_override=True)
    communes = folder / "c.gpkg"
    outlines.to_file(communes)
    table = folder / "a.csv"
    table.write_text((TOWN / "addresses.csv").read_text().splitlines()[0] + "\n"
                     + "\n".join((TOWN / "addresses.csv").read_text().splitlines()[1:400]) + "\n")
    try:
        result = boundaries.build(table, communes, jobs=1)
    except InputError as exc:
        assert "\n" not in str(exc) and ("do not overlap" in str(exc) or "no station" in str(exc)
                                          or "outside France" in str(exc)), str(exc)
        return
    assert len(result.stations) > 0


# -- files of several layers -----------------------------------------------------------------


@settings(deadline=None)
@given(names=st.lists(LAYER_NAMES, min_size=1, max_size=4, unique_by=str.lower),
       kinds=st.lists(st.sampled_from(["polygon", "point", "line", "table"]), min_size=4, max_size=4))
def test_a_file_of_several_layers_is_read_only_when_its_polygon_layer_is_known(tmp_path_factory, names, kinds):
    outlines = _town_outlines()
    path = tmp_path_factory.mktemp("layers") / "c.gpkg"
    for name, kind in zip(names, kinds):
        layer = {"polygon": outlines, "point": outlines.assign(geometry=outlines.representative_point()),
                 "line": outlines.assign(geometry=outlines.boundary),
                 "table": outlines.drop(columns="geometry")}[kind]
        try:
            if kind == "table":
                import pyogrio

                pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG", append=path.exists())
            else:
                layer.to_file(path, layer=name, driver="GPKG", mode="a" if path.exists() else "w")
        except Exception:  # a name GDAL itself refuses to write: not ours to read
            assume(False)
    polygons = [n for n, k in zip(names, kinds) if k == "polygon"]
    if len(polygons) == 1:
        assert read_communes(path).layer == polygons[0]
    else:
        with pytest.raises(InputError) as err:
            read_communes(path)
        message = str(err.value)
        assert "\n" not in message
        assert ("communes_layer" in message if polygons else "polygon" in message)
    for name in polygons:  # each polygon layer can be named
        layer = read_communes(path, communes_layer=name)
        assert layer.layer == name and list(layer.outlines["code"]) == sorted(outlines["code"])
    for name in set(names) - set(polygons):
        with pytest.raises(InputError, match="not polygons"):
            read_communes(path, communes_layer=name)


def test_build_reads_the_named_layer_and_records_it(tmp_path):
    outlines = _town_outlines()
    path = tmp_path / "c.gpkg"
    outlines.to_file(path, layer="communes_2019")
    outlines.to_file(path, layer="communes_2024", mode="a")
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(path),
                                    "-o", str(tmp_path / "o.geojson"), "-q"])
    assert res.exit_code == 2 and "communes_2019" in res.output and "--communes-layer" in res.output
    assert not (tmp_path / "o.geojson").exists()
    result = boundaries.build(TOWN / "addresses.csv", path, communes_layer="communes_2024", jobs=1)
    assert result.report.inputs["communes_layer"] == "communes_2024" and len(result.stations) == 14
    check = ["check", str(path), "--id-field", "code", "--station-commune-field", "code", "--communes", str(path),
             "--communes-layer", "communes_2024", "-q"]
    res = CliRunner().invoke(main, check)
    assert res.exit_code == 2 and "--layer" in res.output and "communes_2024" in res.output
    res = CliRunner().invoke(main, check + ["--layer", "communes_2019"])
    assert res.exit_code == 0, res.output  # each commune is its own station: a clean partition


# -- files cut short -------------------------------------------------------------------------


@settings(deadline=None)
@given(cut=st.floats(0, 1, exclude_max=True), kind=st.sampled_from(["GeoJSON", "GPKG"]))
def test_an_outline_file_cut_short_is_refused_or_read_whole(tmp_path_factory, cut, kind):
    outlines = _town_outlines()
    folder = tmp_path_factory.mktemp("cut")
    whole = folder / ("whole.geojson" if kind == "GeoJSON" else "whole.gpkg")
    outlines.to_file(whole, driver=kind)
    data = whole.read_bytes()
    cut_path = folder / ("cut" + whole.suffix)
    cut_path.write_bytes(data[: int(cut * len(data))])
    try:
        layer = read_communes(cut_path)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    clean = read_communes(whole).outlines
    assert layer.outlines.equals(clean), "a cut file read as if whole must be the whole"


@settings(deadline=None)
@given(cut=st.floats(0, 1, exclude_max=True))
def test_a_build_report_cut_short_is_refused_in_one_line(tmp_path_factory, cut):
    communes, stations = _small_layers()
    folder = tmp_path_factory.mktemp("rep")
    report = folder / "s.report.json"
    text = json.dumps({"rows_read": 10, "rows_used": 9, "rows_dropped": {"no_coordinates": 1},
                       "stations_without_polygon": [{"id_bv": "99001_3", "code_commune": "99001",
                                                     "reason": "all_rows_dropped", "detail": None}],
                       "communes": {"99001": {"partition": {"ok": True, "overlap_m2": 0.0}}}}, indent=1)
    report.write_text(text[: int(cut * len(text))])
    with pytest.raises(InputError) as err:
        read_build_report(report)
    assert "\n" not in str(err.value) and str(report) in str(err.value)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


@settings(deadline=None)
@given(doc=st.fixed_dictionaries({}, optional={
    "rows_read": JSON, "rows_used": JSON, "rows_dropped": JSON | st.dictionaries(st.text(max_size=5), JSON),
    "stations_without_polygon": JSON | st.lists(st.dictionaries(st.sampled_from(
        ["id_bv", "code_commune", "reason", "detail"]), JSON), max_size=3),
    "communes": JSON | st.dictionaries(st.sampled_from(["99001", "x"]), st.dictionaries(
        st.sampled_from(["partition", "ok"]), JSON | st.dictionaries(st.sampled_from(
            ["ok", "invalid", "gap_m2", "area_tolerance_m2"]), JSON))),
}) | JSON)
def test_a_build_report_of_another_shape_is_refused_or_reviewed(tmp_path_factory, doc):
    """Any JSON given as the build report: refused in one line, or the review runs on it; never a crash."""
    communes, stations = _small_layers()
    report = tmp_path_factory.mktemp("shape") / "r.json"
    report.write_text(json.dumps(doc))
    try:
        parsed = read_build_report(report)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    review_stations(stations, parsed, None)
    res = CliRunner().invoke(main, ["report", str(_write(stations, report.parent / "s.gpkg")), "--build-report",
                                    str(report), "-o", str(report.parent / "r.html"), "--max-pictures", "0", "-q"])
    assert res.exit_code == 0, res.output


def _write(gdf, path):
    gdf.to_file(path)
    return path
