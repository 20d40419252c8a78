"""Our files in real clients: GDAL's ogrinfo and headless QGIS 3.22 (Debian packages).

Every output format the town build can be turned into is opened by ``ogrinfo``
and by QGIS (``qgis_process … qgis:checkvalidity``, 0 invalid); the GeoPackage
with its ``layer_styles`` style is opened by PyQGIS, which must apply it. The
harness is tested too: a bow-tie polygon must be reported invalid, and a
GeoPackage without a style must load unstyled. Tests skip, with the reason,
where a client is not installed (``.ci/run`` installs them in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely

from boundaries.style import qml_style, write_gpkg_style
from clients import (
    ogr_geometry_types,
    ogr_invalid_count,
    ogrinfo_formats,
    ogrinfo_summary,
    pyqgis_layer_info,
    qgis_checkvalidity,
    qgis_errors_by_method,
    qgis_invalid_count,
    qgis_ltr_process,
    qgis_ltr_root,
)
from conftest import TOWN

N_STATIONS = 14  # the bundled town
GPKG_OPTIONS = {"dataset_options": {"VERSION": "1.2"}}  # GDAL 3.6 warns on every open of pyogrio's GPKG 1.4


def build(out, *extra):
    """The town built by the command line, as a user gets it."""
    proc = subprocess.run(
        [sys.executable, "-m", "boundaries", "build", TOWN / "addresses.csv", "--communes",
         TOWN / "communes.geojson", "-o", out, "-q", *extra],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def town_geojson(tmp_path_factory):
    return build(tmp_path_factory.mktemp("town") / "stations.geojson")


@pytest.fixture(scope="module")
def styled_gpkg(tmp_path_factory):
    """Our ``.gpkg`` output: ``stations`` (styled in layer_styles) and ``communes``."""
    return build(tmp_path_factory.mktemp("gpkg") / "stations.gpkg")


@pytest.fixture(scope="module")
def formats(town_geojson, tmp_path_factory):
    """The town output in every vector format we write: {driver: (path, layer)}."""
    folder = tmp_path_factory.mktemp("formats")
    out = {"GeoJSON": (town_geojson, "stations")}
    for driver, name in [("GeoJSONSeq", "stations.geojsonl"), ("FlatGeobuf", "stations.fgb"),
                         ("GPKG", "stations.gpkg")]:
        out[driver] = (build(folder / name), "stations")
    # the web-simplified GeoJSON must be as valid as the full one
    out["GeoJSON simplified"] = (build(folder / "web.geojson", "--simplify", "web"), "web")
    return out


DRIVERS = ["GeoJSON", "GeoJSONSeq", "FlatGeobuf", "GPKG", "GeoJSON simplified"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_ogrinfo_opens_each_format_and_finds_no_invalid_geometry(formats, driver):
    path, _ = formats[driver]
    layers, stderr = ogrinfo_summary(path)
    if driver == "GPKG":  # our GeoPackage: stations, communes, the dropped addresses, the enclaves and the style table
        assert set(layers) == {"stations", "communes", "dropped", "enclaves", "layer_styles"}, layers
        assert layers["dropped"]["geometry"] == "Point" and layers["enclaves"]["geometry"] == "Point", layers
        layer, info = "stations", layers["stations"]
    else:
        assert len(layers) == 1, layers
        (layer, info), = layers.items()
    assert info["count"] == N_STATIONS
    types = ogr_geometry_types(path, layer, info["geometry_column"])
    assert set(types) <= {"POLYGON", "MULTIPOLYGON"} and sum(types.values()) == N_STATIONS, types
    assert ogr_invalid_count(path, layer, info["geometry_column"]) == 0
    assert "Warning" not in stderr, stderr


def test_ogrinfo_geoparquet(town_geojson, tmp_path):
    """GeoParquet from geopandas opens in ogrinfo — only where GDAL was built with its Parquet driver."""
    if "Parquet" not in ogrinfo_formats():
        pytest.skip("this GDAL has no Parquet driver (Debian 12's GDAL 3.6.2 is built without Arrow/Parquet, and "
                    "Debian 12 has no separate driver package); GeoParquet cannot be checked with ogrinfo here")
    path = tmp_path / "stations.parquet"
    gpd.read_file(town_geojson).to_parquet(path)
    layers, _ = ogrinfo_summary(path)
    assert [info["count"] for info in layers.values()] == [N_STATIONS]


@pytest.mark.parametrize("driver", DRIVERS)
def test_qgis_opens_each_format_and_checkvalidity_finds_none_invalid(formats, driver, tmp_path):
    """Both of QGIS's validators: its own (METHOD=1, flags repeated vertices) and GEOS (METHOD=2)."""
    path, layer = formats[driver]
    results = qgis_errors_by_method(path, layer if driver == "GPKG" else None, workdir=tmp_path)
    for method, result in results.items():
        assert result["valid"] == N_STATIONS, (method, result)
        assert result["invalid"] == 0 and result["errors"] == 0, (method, result)


def test_qgis_checks_the_gpkg_communes_layer_with_both_methods(styled_gpkg, tmp_path):
    results = qgis_errors_by_method(styled_gpkg, "communes", workdir=tmp_path)
    assert all(r["invalid"] == 0 and r["errors"] == 0 and r["valid"] == 4 for r in results.values()), results


def test_gpkg_with_style_opens_cleanly_in_ogrinfo(styled_gpkg):
    layers, stderr = ogrinfo_summary(styled_gpkg)
    assert layers["stations"]["count"] == N_STATIONS
    assert layers["communes"]["count"] == 4
    assert layers["layer_styles"]["count"] == 4  # stations, communes, dropped, enclaves: an attribute table, as QGIS writes it
    assert layers["layer_styles"]["geometry"] == "None"
    assert "Warning" not in stderr and "ERROR" not in stderr, stderr
    assert ogr_invalid_count(styled_gpkg, "stations", "geom") == 0


def test_qgis_loads_gpkg_with_its_style(styled_gpkg, tmp_path):
    info = pyqgis_layer_info(styled_gpkg, "stations")
    assert info["valid"] and info["features"] == N_STATIONS, info
    assert info["renderer"] == "categorizedSymbol", info  # "singleSymbol" would mean the style was ignored
    assert info["attribute"] == "colour"
    assert info["labels_enabled"] is True
    assert info["label_field"] == "numero_bv"
    assert info["styles"][0] == "stations"  # its own first; QGIS 3.22 then lists the other layers' styles
    # each layer has its own style
    communes = pyqgis_layer_info(styled_gpkg, "communes")
    assert communes["valid"] and communes["features"] == 4
    assert communes["renderer"] == "singleSymbol" and communes["labels_enabled"] is True  # outlines, named
    assert communes["styles"][0] == "communes"
    assert qgis_checkvalidity(styled_gpkg, "stations", workdir=tmp_path)["invalid"] == 0


# ------------------------------------------------- the harness itself must be able to fail


def test_harness_reports_a_bow_tie_invalid(tmp_path):
    bow_tie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # self-intersecting ring
    assert not bow_tie.is_valid
    gdf = gpd.GeoDataFrame({"name": ["bow-tie", "square"]}, geometry=[bow_tie, shapely.box(2, 0, 3, 1)], crs=4326)
    path = tmp_path / "bowtie.geojson"
    gdf.to_file(path)
    assert qgis_invalid_count(path) == 1
    assert ogr_invalid_count(path, "bowtie") == 1


def test_harness_qgis_method_reports_a_repeated_vertex_geos_does_not(tmp_path):
    """Why both methods run: a repeated consecutive vertex is an error for QGIS's own validator only."""
    square = shapely.Polygon([(0, 0), (1, 0), (1, 0), (1, 1), (0, 1), (0, 0)])
    assert square.is_valid
    path = tmp_path / "repeated.gpkg"
    gpd.GeoDataFrame({"name": ["square"]}, geometry=[square], crs=4326).to_file(path, layer="repeated", **GPKG_OPTIONS)
    results = qgis_errors_by_method(path, "repeated", workdir=tmp_path)
    assert results["QGIS"]["invalid"] == 1 and results["QGIS"]["errors"] == 1, results
    assert results["GEOS"]["invalid"] == 0, results


def test_harness_sees_an_unstyled_gpkg_as_unstyled(town_geojson, tmp_path):
    path = tmp_path / "plain.gpkg"
    gpd.read_file(town_geojson).to_file(path, layer="stations", driver="GPKG", **GPKG_OPTIONS)
    info = pyqgis_layer_info(path, "stations")
    assert info["valid"] and info["renderer"] == "singleSymbol" and info["labels_enabled"] is False, info


@pytest.mark.parametrize("require", ["", "1"])
def test_harness_qgis_ltr_root_absent_skips_or_fails_under_require(monkeypatch, tmp_path, require):
    monkeypatch.setenv("BOUNDARIES_QGIS_LTR_ROOT", str(tmp_path / "no root"))
    monkeypatch.setenv("BOUNDARIES_REQUIRE_CLIENTS", require)
    with pytest.raises((pytest.fail.Exception if require else pytest.skip.Exception)) as caught:
        qgis_ltr_root()
    assert ".ci/qgis-ltr-root" in str(caught.value) and str(tmp_path / "no root") in str(caught.value)


def test_harness_qgis_ltr_runs_this_venv_s_command_and_leaves_no_mount_on_the_host(tmp_path):
    """The provider runs the venv's boundaries inside the LTR's root: it must start there (the host's
    interpreter, the root's libraries), and the binds made for the run must vanish with it."""
    root = qgis_ltr_root()
    out = tmp_path / "town.geojson"
    env = {**os.environ, "PYTHONPATH": str(TOWN.parents[1])}
    proc = qgis_ltr_process([sys.executable, "-m", "boundaries", "build", TOWN / "addresses.csv", "--communes",
                             TOWN / "communes.geojson", "-o", out, "-q"], env)
    assert proc.returncode == 0, proc.stderr
    assert gpd.read_file(out).shape[0] == N_STATIONS
    inside = qgis_ltr_process(["cat", "/etc/debian_version"], env).stdout  # the root's system, not the host's
    assert inside.strip() != open("/etc/debian_version").read().strip()
    with open("/proc/self/mountinfo") as mounts:
        assert str(root) not in mounts.read()


def test_val_de_marne_in_qgis_styled_valid_and_web_simplified(tmp_path):
    """The issue's judge: our Val-de-Marne GeoPackage opens in QGIS styled and labelled with no invalid
    geometry; the same output simplified for the web is several times smaller and passes ``check``."""
    from conftest import shared_path

    folder = shared_path("val-de-marne-2016")
    a, c = folder / "addresses.csv.gz", folder / "communes.geojson"

    def build_vdm(out, *extra):
        proc = subprocess.run([sys.executable, "-m", "boundaries", "build", a, "--communes", c, "-o", out, "-q",
                               *extra], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return out

    gpkg = build_vdm(tmp_path / "vdm.gpkg")
    info = pyqgis_layer_info(gpkg, "stations")
    assert info["valid"] and info["features"] == 755, info
    assert info["renderer"] == "categorizedSymbol" and info["labels_enabled"] and info["label_field"] == "numero_bv"
    assert qgis_checkvalidity(gpkg, "stations", workdir=tmp_path)["invalid"] == 0

    full = build_vdm(tmp_path / "vdm.geojson")
    web = build_vdm(tmp_path / "vdm-web.geojson", "--simplify", "web")
    assert full.stat().st_size > 3 * web.stat().st_size
    check = subprocess.run([sys.executable, "-m", "boundaries", "check", web, "--communes", c],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert qgis_invalid_count(web) == 0


#: The formats QGIS 3.22 opens (not GeoParquet), by output extension.
QGIS_FORMATS = [".geojson", ".geojsonl", ".fgb", ".gpkg"]


@pytest.mark.parametrize("folder_name, addresses", [("val-de-marne-2016", "addresses.csv.gz"),
                                                    ("finistere-reu-2022", "addresses.csv")])
def test_real_data_valid_for_both_qgis_methods_in_every_format(folder_name, addresses, tmp_path):
    """Issue 18, item 1: QGIS's own validator flagged 192 of 755 Val-de-Marne stations (repeated vertices left by
    rounding to the output grid); now 0 with METHOD=1 and METHOD=2, in every format QGIS opens, on Val-de-Marne
    and on the Finistère REU extract. Built once through the library (as the command line does), written in each
    format (the ``communes`` layer is checked on the town)."""
    from conftest import shared_path

    from boundaries import build as build_stations

    folder = shared_path(folder_name)
    result = build_stations(str(folder / addresses), str(folder / "communes.geojson"))
    n = len(result.stations)
    assert n > 20
    for suffix in QGIS_FORMATS:
        path = tmp_path / f"out{suffix}"
        result.write(str(path), report=None)
        layer = "stations" if suffix == ".gpkg" else None
        results = qgis_errors_by_method(path, layer, workdir=tmp_path / f"cv{suffix}")
        for method, counts in results.items():
            assert counts == {**counts, "valid": n, "invalid": 0, "errors": 0}, (folder_name, suffix, method)
