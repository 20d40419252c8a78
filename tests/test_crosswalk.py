"""``boundaries crosswalk``: shares between two station maps, statuses, carried results, refusals, determinism."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from boundaries.cli import main
from boundaries.crosswalk import crosswalk
from boundaries.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
TOWN = ROOT / "fixtures" / "town"
CRS = "EPSG:2154"
SIDE = 1000.0


def strips(cuts, prefix: str = "99001", ids=None, crs: str = CRS, dy: float = 0.0):
    """Vertical strips of the square [0, SIDE]² cut at ``cuts`` (a partition), ids ``99001_1``…"""
    xs = [0.0, *sorted(set(cuts)), SIDE]
    boxes = [shapely.box(a, dy, b, SIDE + dy) for a, b in zip(xs[:-1], xs[1:]) if b > a]
    ids = ids or [f"{prefix}_{i + 1}" for i in range(len(boxes))]
    return gpd.GeoDataFrame({"id_bv": ids[:len(boxes)]}, geometry=boxes, crs=crs)


def grid(nx: int, ny: int):
    """An ``nx × ny`` grid partition of the same square (another map of the same commune)."""
    w, h = SIDE / nx, SIDE / ny
    boxes = [shapely.box(i * w, j * h, (i + 1) * w, (j + 1) * h) for i in range(nx) for j in range(ny)]
    return gpd.GeoDataFrame({"id_bv": [f"99001_{k + 1}" for k in range(len(boxes))]}, geometry=boxes, crs=CRS)


def address_table(xy: np.ndarray, weights=None, degrees: bool = True) -> pd.DataFrame:
    """REU rows at the Lambert-93 points ``xy`` (given in degrees, as the REU does, or as they are)."""
    lon, lat = xy.T
    if degrees:
        lon, lat = gpd.GeoSeries(shapely.points(xy), crs=CRS).to_crs("EPSG:4326").get_coordinates().to_numpy().T
    return pd.DataFrame({"code_commune_ref": "99001", "id_brut_bv_reu": "99001_1", "longitude": lon,
                         "latitude": lat, "nb_adresses": 1 if weights is None else weights})


cuts = st.lists(st.sampled_from([100.0, 250.0, 500.0, 750.0, 800.0]) | st.integers(1, 999).map(float), max_size=6)
coordinate = st.sampled_from([250, 500, 750]) | st.integers(1, 999)  # on the borders often, inside the commune
points = st.lists(st.tuples(coordinate, coordinate), min_size=0, max_size=60)


@settings(deadline=None)
@given(old_cuts=cuts, nx=st.integers(1, 4), ny=st.integers(1, 4), xy=points,
       weights=st.lists(st.integers(1, 50), min_size=60, max_size=60), degrees=st.booleans())
def test_shares_of_each_station_sum_to_one(old_cuts, nx, ny, xy, weights, degrees):
    """Random strips against a random grid, random points (in metres: exactly on borders and corners
    too): each old station's shares sum to 1, each new one's too, every address weight in one piece."""
    old, new = strips(old_cuts), grid(nx, ny)
    table = address_table(np.array(xy, dtype=float).reshape(-1, 2), weights[:len(xy)], degrees) if xy else None
    result = crosswalk(old, new, table, crs=None if degrees else CRS)
    pairs = result.pairs
    assert np.allclose(pairs.groupby("old_id")["share_of_old"].sum(), 1)
    assert np.allclose(pairs.groupby("new_id")["share_of_new"].sum(), 1)
    assert set(pairs["old_id"]) == set(old["id_bv"]) and set(pairs["new_id"]) == set(new["id_bv"])
    assert np.isclose(pairs["area_m2"].sum(), SIDE * SIDE, rtol=1e-6)
    if xy:
        assert pairs["addresses"].sum() == sum(weights[:len(xy)])
        assert result.summary["rows_outside"] == 0


def test_identical_layers_are_unchanged_with_identity_shares():
    town = gpd.read_file(TOWN / "stations_truth.geojson")
    result = crosswalk(town, town, pd.read_csv(TOWN / "addresses.csv", dtype=str))
    assert (result.pairs["old_id"] == result.pairs["new_id"]).all()
    assert (result.pairs[["share_of_old", "share_of_new", "iou"]] == 1).all().all()
    assert set(result.stations["status"]) == {"unchanged"} and set(result.old_stations["status"]) == {"unchanged"}
    assert result.summary["new_status"]["unchanged"] == len(town)


def test_split_merge_new_gone_and_redrawn():
    """Old 1 split into new 1 and 2; old 2 and 3 merged into new 3; old 4 gone; new 4 new; old 5 redrawn."""
    b = shapely.box
    old = gpd.GeoDataFrame({"id_bv": ["99001_1", "99001_2", "99001_3", "99001_4", "99001_5", "99001_6"]},
                           geometry=[b(0, 0, 100, 100), b(100, 0, 150, 100), b(150, 0, 200, 100),
                                     b(5000, 0, 5100, 100), b(200, 0, 300, 100), b(300, 0, 400, 100)], crs=CRS)
    new = gpd.GeoDataFrame({"id_bv": ["99001_1", "99001_2", "99001_3", "99001_4", "99001_5", "99001_6"]},
                           geometry=[b(0, 0, 50, 100), b(50, 0, 100, 100), b(100, 0, 200, 100),
                                     b(-5000, 0, -4900, 100), b(200, 0, 330, 100), b(330, 0, 400, 100)], crs=CRS)
    result = crosswalk(old, new)
    assert list(result.stations["status"]) == ["split", "split", "merged", "new", "redrawn", "redrawn"]
    assert list(result.old_stations["status"]) == ["split", "merged", "merged", "gone", "redrawn", "redrawn"]
    assert result.summary["gone"] == ["99001_4"] and result.summary["new_stations"] == ["99001_4"]
    row = result.pairs.set_index(["old_id", "new_id"]).loc[("99001_1", "99001_2")]
    assert row["share_of_old"] == 0.5 and row["share_of_new"] == 1


def test_addresses_decide_the_shares_and_area_fills_in():
    """Three addresses in one half of a split station, none in the other: all its voters go to that half;
    a station without any address is weighted by area, and the report names it."""
    old, new = strips([500.0]), strips([250.0, 500.0])
    table = address_table(np.array([[100.0, 10.0], [120.0, 10.0], [130.0, 500.0]]))
    result = crosswalk(old, new, table)
    shares = result.pairs.set_index(["old_id", "new_id"])["share_of_old"]
    assert shares[("99001_1", "99001_1")] == 1 and shares[("99001_1", "99001_2")] == 0
    assert shares[("99001_2", "99001_3")] == 1
    assert result.summary["weighted_by_area"] == {"old": ["99001_2"], "new": ["99001_2", "99001_3"]}


@settings(deadline=None)
@given(old_cuts=cuts, nx=st.integers(1, 3), ny=st.integers(1, 3),
       votes=st.lists(st.integers(0, 10**6), min_size=7, max_size=7), ministry=st.booleans())
def test_carried_totals_are_conserved(old_cuts, nx, ny, votes, ministry):
    """Results of random old strips carried onto a random grid: every column's total is kept (any layout)."""
    old, new = strips(old_cuts), grid(nx, ny)
    n = len(old)
    table = pd.DataFrame({"Inscrits": votes[:n] + [0] * max(0, n - 7), "Votants": [v // 2 for v in votes[:n]]
                          + [0] * max(0, n - 7)})
    if ministry:
        table.insert(0, "Code du département", "99")
        table.insert(1, "Code de la commune", "1")
        table.insert(2, "Code du b.vote", [str(i + 1) for i in range(n)])
    else:
        table.insert(0, "code_bv", [f"99001_{i + 1:04d}" for i in range(n)])
    if ministry:
        table.insert(3, "Code de la circonscription", "7")
    result = crosswalk(old, new, results=table)
    assert list(result.carried.columns) == ["id_bv", "share_with_results", "Inscrits", "Votants"]
    for column in ("Inscrits", "Votants"):
        assert np.isclose(result.carried[column].sum(), table[column].sum(), rtol=1e-9, atol=1e-3)
        totals = result.summary["results"]["totals"][column]
        assert np.isclose(totals["carried"], totals["results"], atol=1e-3)
    assert result.summary["results"]["not_carried"] == []
    assert (result.carried["share_with_results"] == 1).all()


def test_results_of_stations_not_in_old_are_listed():
    old, new = strips([500.0]), strips([300.0])
    table = pd.DataFrame({"code_bv": ["99001_0001", "99001_0002", "99001_0009"], "Inscrits": [10, 20, 30]})
    result = crosswalk(old, new, results=table)
    assert result.summary["results"]["not_carried"] == ["99001_0009"]
    assert result.carried["Inscrits"].sum() == pytest.approx(30)


def run(tmp_path, *args):
    return CliRunner().invoke(main, ["crosswalk", *map(str, args)], catch_exceptions=False)


def refused(tmp_path, result, before: set):
    """Exit 2, one line on stderr, no file added to ``tmp_path``."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("boundaries: error: "), result.stderr
    assert {p.name for p in tmp_path.iterdir()} == before
    return lines[0]


def write_layers(tmp_path, old, new, fmt: str = "geojson"):
    paths = tmp_path / f"old.{fmt}", tmp_path / f"new.{fmt}"
    old.to_file(paths[0]), new.to_file(paths[1])
    return paths


id_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(deadline=None)
@given(ids=st.lists(id_text, min_size=2, max_size=5), which=st.sampled_from(["old", "new"]))
def test_duplicate_ids_are_refused(tmp_path_factory, ids, which):
    """Any id (hostile alphabets) on two features of one layer: one line naming it, exit 2, nothing written."""
    tmp_path = tmp_path_factory.mktemp("dup")
    dup = [*ids, ids[0]]
    twice = strips([100.0 * (i + 1) for i in range(len(dup) - 1)], ids=dup)
    once = strips([500.0])
    old, new = (twice, once) if which == "old" else (once, twice)
    paths = write_layers(tmp_path, old, new)
    before = {p.name for p in tmp_path.iterdir()}
    line = refused(tmp_path, run(tmp_path, *paths, "-o", tmp_path / "x.csv"), before)
    assert f"{which} file" in line and "several features for station" in line


@settings(deadline=None)
@given(dx=st.floats(2e3, 1e5), dy=st.floats(-1e5, 1e5), crs=st.sampled_from(["EPSG:2154", "EPSG:3857"]))
def test_layers_that_do_not_overlap_are_refused(tmp_path_factory, dx, dy, crs):
    """The new map moved away (in another CRS too): one line, exit 2, nothing written."""
    tmp_path = tmp_path_factory.mktemp("apart")
    old = strips([500.0])
    new = strips([300.0]).set_geometry(strips([300.0]).translate(dx + SIDE, dy)).to_crs(crs)
    paths = write_layers(tmp_path, old, new)
    before = {p.name for p in tmp_path.iterdir()}
    line = refused(tmp_path, run(tmp_path, *paths, "-o", tmp_path / "x.csv"), before)
    assert "do not overlap" in line


def test_other_refusals(tmp_path):
    old, new = strips([500.0]), strips([300.0])
    paths = write_layers(tmp_path, old, new)
    strips([500.0]).rename(columns={"id_bv": "name"}).to_file(tmp_path / "noid.geojson")
    results = tmp_path / "r.csv"
    pd.DataFrame({"code_bv": ["99001_0001"], "Inscrits": [1]}).to_csv(results, index=False)
    before = {p.name for p in tmp_path.iterdir()}
    cases = {
        "--old-id": [tmp_path / "noid.geojson", paths[1], "-o", tmp_path / "x.csv"],
        "--carried": [*paths, "-o", tmp_path / "x.csv", "--results", results],
        "is also an input": [*paths, "-o", results, "--results", results, "--carried", tmp_path / "c.csv"],
        "same file": [*paths, "-o", tmp_path / "x.csv", "--results", results, "--carried", tmp_path / "x.csv"],
        "--threshold": [*paths, "-o", tmp_path / "x.csv", "--threshold", "1.5"],
        "-o": [*paths, "-o", tmp_path / "x.geojson"],
    }
    for needle, args in cases.items():
        line = refused(tmp_path, run(tmp_path, *args), before)
        assert needle in line, line
    with pytest.raises(InputError, match="old_id"):
        crosswalk(tmp_path / "noid.geojson", paths[1])


def test_same_bytes_twice_and_every_output(tmp_path):
    """The town's truth against itself moved by its own build: CSV, report, carried, layer; twice, same bytes."""
    results = tmp_path / "r.csv"
    pd.DataFrame({"Code du département": "99", "Code de la commune": "1", "Code du b.vote": ["1", "2", "3"],
                  "Inscrits": [100, 200, 300]}).to_csv(results, index=False)
    outputs = []
    for k in (1, 2):
        out = tmp_path / f"run{k}"
        out.mkdir()
        result = run(tmp_path, TOWN / "stations_truth.geojson", ROOT / "fixtures" / "golden" / "town.geojson",
                     "--addresses", TOWN / "addresses.csv", "-o", out / "x.csv", "--results", results,
                     "--carried", out / "carried.csv", "--layer", out / "x.gpkg")
        assert result.exit_code == 0, result.output
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert set(outputs[0]) == {"x.csv", "x.report.json", "carried.csv", "x.gpkg"}
    assert outputs[0] == outputs[1]
    carried = pd.read_csv(tmp_path / "run1" / "carried.csv")
    assert carried["Inscrits"].sum() == pytest.approx(600)
    layer = gpd.read_file(tmp_path / "run1" / "x.gpkg", layer="crosswalk")
    assert {"status", "main_old", "share_from_main", "iou_main"} <= set(layer.columns) and len(layer) == 14
    with sqlite3.connect(tmp_path / "run1" / "x.gpkg") as con:
        qml, default = con.execute("SELECT styleQML, useAsDefault FROM layer_styles WHERE f_table_name = "
                                   "'crosswalk'").fetchone()
    assert default and 'attr="status"' in qml and all(f'value="{s}"' in qml for s in ("split", "merged", "new"))
    if shutil.which("ogrinfo"):  # Debian's GDAL 3.6, as QGIS 3.22 reads it: no warning, every feature
        info = subprocess.run(["ogrinfo", "-so", str(tmp_path / "run1" / "x.gpkg"), "crosswalk"],
                              capture_output=True, text=True)
        assert info.returncode == 0 and "Feature Count: 14" in info.stdout and not info.stderr, info.stderr


@settings(deadline=None)
@given(old_cuts=cuts, crs=st.sampled_from(["EPSG:4326", "EPSG:3857", "EPSG:32631", "EPSG:27572"]))
def test_a_layer_in_another_crs_is_reprojected(old_cuts, crs):
    """The same map in another CRS (degrees, web Mercator, UTM, old Lambert): every station unchanged."""
    old = strips(old_cuts).translate(650000, 6860000)  # in Paris, where every one of these CRSs is defined
    old = gpd.GeoDataFrame(strips(old_cuts)[["id_bv"]], geometry=old.values, crs=CRS)
    result = crosswalk(old, old.to_crs(crs))
    assert set(result.stations["status"]) == {"unchanged"}
    main = result.pairs[result.pairs["old_id"] == result.pairs["new_id"]]
    assert len(main) == len(old) and (main["share_of_old"] > 0.999).all()


def test_the_layer_opens_in_qgis_with_its_style(tmp_path):
    """QGIS 3.22 (PyQGIS, as Desktop opens a file) applies the status style and finds every station."""
    from clients import pyqgis_layer_info

    out = run(tmp_path, TOWN / "stations_truth.geojson", ROOT / "fixtures" / "golden" / "town.geojson",
              "-o", tmp_path / "x.csv", "--layer", tmp_path / "x.gpkg")
    assert out.exit_code == 0, out.output
    info = pyqgis_layer_info(tmp_path / "x.gpkg", "crosswalk")  # skips, saying why, without PyQGIS
    assert info["valid"] and info["features"] == 14
    assert (info["renderer"], info["attribute"], info["categories"]) == ("categorizedSymbol", "status", 5)
