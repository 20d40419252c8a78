"""`boundaries check` and `boundaries evaluate`: defects found, figures right, exit codes."""

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import boundaries
from boundaries.checks import check_stations
from boundaries.scoring import evaluate, holdout_split
from conftest import shared_path

L93 = "EPSG:2154"
X0, Y0 = 652000.0, 6850000.0  # Val-de-Marne, Lambert-93


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture
def communes():
    return gpd.GeoDataFrame({"code": ["94001", "94002"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
                            crs=L93)


def layer(rows):
    ids, geoms = zip(*rows)
    return gpd.GeoDataFrame({"id_bv": list(ids)}, geometry=list(geoms), crs=L93)


def run(*args):
    return subprocess.run([sys.executable, "-m", "boundaries", *map(str, args)], capture_output=True, text=True)


def test_clean_layer_passes(communes):
    good = layer([("94001_1", box(0, 0, 50, 100)), ("94001_2", box(50, 0, 100, 100)), ("94002_1", box(100, 0, 200, 100))])
    result = check_stations(good, communes)
    assert result.ok() and result.problems == []
    assert result.communes["94001"]["stations"] == 2 and result.communes["94001"]["gap_m2"] == 0


def test_every_kind_of_defect_is_found_and_measured(communes):
    bowtie = shapely.Polygon([(X0 + 100, Y0), (X0 + 150, Y0 + 100), (X0 + 150, Y0), (X0 + 100, Y0 + 100)])
    bad = layer([
        ("94001_1", box(0, 0, 60, 100)),  # overlaps 94001_2 on 10 × 100 = 1,000 m²
        ("94001_0002", box(50, 0, 90, 100)),  # leaves a gap of 10 × 100 = 1,000 m² ...
        ("94001_2", box(95, 0, 99, 1)),  # ... and duplicates 94001_0002's id, inside the gap
        ("94002_1", bowtie),  # invalid
        ("94002_2", None),  # null geometry
        ("94003_1", box(300, 0, 400, 100)),  # commune without outline
        ("94002_3", shapely.union(box(150, 0, 200, 50), box(150, 60, 220, 100))),  # 2 parts, spills 20 × 40
    ])
    result = check_stations(bad, communes, outline_tolerance_m=0)  # 0: no gap or spill is an outline mismatch
    kinds = [p.kind for p in result.problems]
    assert kinds[:4] == ["null_geometry", "invalid_geometry", "duplicate_id", "commune_without_outline"]
    assert {"overlap", "gap", "spill", "multipart"} <= set(kinds)
    c1 = result.communes["94001"]
    assert c1["overlap_m2"] == pytest.approx(1000, abs=1)
    assert c1["gap_m2"] == pytest.approx(1000 - 4, abs=1)  # the duplicate covers 4 m² of the gap
    assert result.communes["94002"]["spill_m2"] == pytest.approx(800, abs=1)
    dup = next(p for p in result.problems if p.kind == "duplicate_id")
    assert set(dup.stations) == {"94001_0002", "94001_2"}
    assert not result.ok()
    # gaps and overlaps are listed biggest first within their kind
    areas = [p.area_m2 for p in result.problems if p.kind == "overlap"]
    assert areas == sorted(areas, reverse=True)


def test_rounding_slivers_are_not_problems(communes):
    # 2 mm of overlap along a 100 m border: rounding noise, not a defect
    noisy = layer([("94001_1", box(0, 0, 50.002, 100)), ("94001_2", box(50, 0, 100, 100)), ("94002_1", box(100, 0, 200, 100))])
    assert check_stations(noisy, communes).ok()
    assert not check_stations(noisy, communes, min_width_m=0.0, min_area_m2=0.0).ok()


def test_check_cli_exit_codes_and_json(communes, tmp_path):
    c = tmp_path / "c.geojson"
    communes.to_crs(4326).to_file(c)
    good, bad = tmp_path / "good.geojson", tmp_path / "bad.geojson"
    layer([("94001_1", box(0, 0, 100, 100)), ("94002_1", box(100, 0, 200, 100))]).to_crs(4326).to_file(good)
    layer([("94001_1", box(0, 0, 80, 100)), ("94002_1", None)]).to_crs(4326).to_file(bad)
    ok = run("check", good, "--communes", c)
    assert ok.returncode == 0 and "clean" in ok.stdout
    found = run("check", bad, "--communes", c)
    assert found.returncode == 1
    assert found.stdout.splitlines()[0].startswith("problem: 94002: null geometry")
    doc = json.loads(run("check", bad, "--communes", c, "--json", "--outline-tolerance-m", "0").stdout)
    assert doc["ok"] is False and doc["totals"]["null_geometry"] == 1 and doc["totals"]["gap"] == 2
    missing = run("check", tmp_path / "nope.geojson", "--communes", c)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    multi = tmp_path / "multi.geojson"
    layer([("94001_1", shapely.union(box(0, 0, 100, 40), box(0, 40, 100, 100).buffer(0))),
           ("94002_1", shapely.MultiPolygon([box(100, 0, 150, 50), box(150, 50, 200, 100)])),  # a checkerboard
           ("94002_2", shapely.MultiPolygon([box(150, 0, 200, 50), box(100, 50, 150, 100)]))]).to_crs(4326).to_file(multi)
    assert run("check", multi, "--communes", c).returncode == 0  # parts are a warning...
    assert run("check", multi, "--communes", c, "--strict").returncode == 1  # ... unless --strict


def test_check_finds_peer_defects():
    folder = shared_path("alpes-de-haute-provence-2022")
    result = check_stations(folder / "peer-reconstruction.geojson", folder / "communes.geojson")
    peer = gpd.read_file(folder / "peer-reconstruction.geojson")
    nulls = peer.geometry.isna() | peer.geometry.is_empty
    assert result.totals["null_geometry"] == nulls.sum() == 1
    assert result.problems[0].kind == "null_geometry"
    assert result.totals["multipart"] == (shapely.get_num_geometries(peer.geometry.values[~nulls]) > 1).sum() > 0
    assert not result.ok()


# --------------------------------------------------------------------------------------
# evaluate


def test_reference_iou_matches_an_independent_overlay(town, tmp_path):
    addresses, communes, truth = town
    built = boundaries.build(addresses, communes).stations
    # the reference written in the results form (99001_0003): ids still match
    ref = gpd.read_file(truth)
    ref["id_bv"] = ref["code_bv"]
    scores = evaluate(built, reference=ref)
    s = scores.summary
    assert s["stations_reference"] == len(ref) and s["stations_missing"] == 0
    # independent: geopandas overlay in Lambert-93
    a = built.to_crs(L93).assign(k=built["id_bv"])
    b = ref.to_crs(L93).assign(k=gpd.read_file(truth)["id_bv"])
    inter = gpd.overlay(a[["k", "geometry"]], b[["k", "geometry"]], how="intersection", keep_geom_type=True)
    inter = inter[inter["k_1"] == inter["k_2"]]
    right = inter.area.groupby(inter["k_1"]).sum()
    area_a = a.set_index("k").area
    area_b = b.set_index("k").area
    ious = right / (area_a[right.index] + area_b[right.index] - right)
    assert s["iou_mean"] == pytest.approx(ious.reindex(b["k"]).fillna(0).mean(), abs=1e-6)
    assert s["iou_min"] == pytest.approx(ious.min(), abs=1e-6)
    assert s["area_right"] == pytest.approx(right.sum() / area_b.sum(), abs=1e-6)


def test_missing_station_counts_zero(town):
    addresses, communes, truth = town
    built = boundaries.build(addresses, communes).stations
    partial = built[built["id_bv"] != "99001_1"]
    s = evaluate(partial, reference=truth).summary
    assert s["stations_missing"] == 1 and s["iou_min"] == 0.0


def test_holdout_split_is_by_coordinate_and_order_free():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, 1000).astype(float)
    y = np.zeros(1000)
    x[:10] = np.nan
    held = holdout_split(x, y, 0.2, seed=3)
    assert not held[:10].any()
    # all rows of a coordinate go the same way
    df = pd.DataFrame({"x": x, "held": held}).dropna()
    assert (df.groupby("x")["held"].nunique() == 1).all()
    perm = rng.permutation(1000)
    assert (holdout_split(x[perm], y[perm], 0.2, seed=3) == held[perm]).all()
    assert 0.05 < df.groupby("x")["held"].first().mean() < 0.4


def test_build_holdout_agrees_with_evaluate_on_the_held_out_rows(tmp_path):
    """A held-out real commune: the build's own figure = evaluate's = an independent spatial join."""
    folder = shared_path("val-de-marne-2016")
    table = pd.read_csv(folder / "addresses.csv.gz", dtype=str)
    table = table[table["code_commune_ref"] == "94028"].reset_index(drop=True)  # Créteil
    src = tmp_path / "creteil.csv"
    table.to_csv(src, index=False)
    out = tmp_path / "s.geojson"
    proc = run("build", src, "--communes", folder / "communes.geojson", "-o", out, "--holdout", "0.1", "--seed", "5",
               "--json")
    assert proc.returncode == 0, proc.stderr
    h = json.loads(proc.stdout)["holdout"]
    held = holdout_split(table["longitude"].astype(float).to_numpy(), table["latitude"].astype(float).to_numpy(), 0.1, 5)
    test = table[held]
    test_path = tmp_path / "test.csv"
    test.to_csv(test_path, index=False)
    ev = json.loads(run("evaluate", out, "--holdout", test_path, "--json").stdout)
    assert ev["test_points"] == h["test_points"] == len(test)
    assert ev["own_station"] == pytest.approx(h["own_station"], abs=1e-6)
    # independent: geopandas spatial join, in WGS84
    pts = gpd.GeoDataFrame(test, geometry=gpd.points_from_xy(test.longitude.astype(float), test.latitude.astype(float)),
                           crs=4326)
    st = gpd.read_file(out)
    joined = gpd.sjoin(pts, st[["id_bv", "geometry"]], how="left", predicate="within")
    own = (joined["id_bv"] == joined["id_brut_bv_reu"]).groupby(level=0).any()
    assert own.mean() == pytest.approx(ev["own_station"], abs=2 / len(test))  # boundary points may differ
    assert joined["id_bv"].isna().groupby(level=0).all().mean() == pytest.approx(ev["uncovered"], abs=2 / len(test))


def test_evaluate_cli_outputs(town, tmp_path):
    addresses, communes, truth = town
    out = tmp_path / "s.geojson"
    assert run("build", addresses, "--communes", communes, "-o", out, "-q").returncode == 0
    per = tmp_path / "per.csv"
    proc = run("evaluate", out, "--reference", truth, "--json", "--per-station", per)
    doc = json.loads(proc.stdout)
    for key in ("iou_mean", "iou_median", "iou_min", "area_right", "stations_reference", "stations_missing"):
        assert key in doc
    table = pd.read_csv(per)
    assert len(table) == 14 and table["iou"].mean() == pytest.approx(doc["iou_mean"], abs=1e-6)
    doc = json.loads(run("evaluate", out, "--holdout", addresses, "--json").stdout)
    for key in ("own_station", "uncovered", "test_points"):
        assert key in doc
    both = run("evaluate", out)
    assert both.returncode == 2
