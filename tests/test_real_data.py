"""Builds on the real data in ../shared/data: every commune partitioned, every station accounted for.

Each test skips with a clear message where ../shared/data is absent.
"""

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import boundaries
from boundaries.checks import check_partition
from conftest import shared_path

from helpers import iou, points_in, yardstick

#: GeoJSON keeps 7 decimals (≈ 1 cm): the written polygons may differ from the outline by
#: thin slivers along it, at most this wide on average.
ROUNDING_M = 0.01


def check_written(stations_wgs84, outlines_wgs84, crs="EPSG:2154"):
    """Every commune's written stations: valid, a clean coverage, union ≈ outline."""
    assert shapely.is_valid(stations_wgs84.geometry.values).all()
    st = stations_wgs84.to_crs(crs)
    outl = outlines_wgs84.to_crs(crs)
    outl = outl.set_index(outl.columns[0]).geometry
    for code, group in st.groupby("code_commune"):
        outline = outl[code]
        tol = outline.length * ROUNDING_M
        result = check_partition(group.geometry.values, outline, area_tolerance_m2=tol)
        assert result.ok, (code, result.problems())
        assert shapely.coverage_is_valid(stations_wgs84.geometry.values[group.index])


def check_accounting(result, table: pd.DataFrame):
    r = result.report
    assert r.rows_read == len(table)
    assert r.rows_read == r.rows_out_of_scope + r.rows_used + sum(r.rows_dropped.values())
    stations_in = table.groupby(["code_commune_ref", "id_brut_bv_reu"]).ngroups
    assert r.stations_in == stations_in
    built = set(result.stations["id_bv"])
    missing = {s["id_bv"] for s in r.stations_without_polygon}
    assert built.isdisjoint(missing)
    assert built | missing == set(table["id_brut_bv_reu"])
    for code, c in r.communes.items():
        assert c["rows_read"] == c["rows_used"] + sum(c["rows_dropped"].values())
        assert c["stations_in"] == c["stations_out"] + len(c["stations_without_polygon"])
        assert c["partition"] is None or c["partition"]["ok"]
    # per-station counts agree with the run totals
    assert result.stations["n_addresses"].sum() == r.rows_used


def test_val_de_marne_2016_all_46_communes(tmp_path):
    folder = shared_path("val-de-marne-2016")
    table = pd.read_csv(folder / "addresses.csv.gz", dtype=str)
    out = tmp_path / "94.geojson"
    proc = subprocess.run(
        [sys.executable, "-m", "boundaries", "build", folder / "addresses.csv.gz", "--communes",
         folder / "communes.geojson", "--departement", "94", "-o", out, "-q"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    stations = gpd.read_file(out)
    report = json.loads(out.with_suffix("").with_suffix(".report.json").read_text())
    assert report["communes_built"] == 46 and len(report["communes"]) == 46
    assert report["stations_in"] == 756
    assert report["stations_out"] + len(report["stations_without_polygon"]) == 756
    assert report["rows_read"] == len(table) == 137526
    assert report["rows_dropped"]["no_coordinates"] == table["longitude"].isna().sum()
    assert set(stations["code_commune"]) == set(table["code_commune_ref"])
    check_written(stations, gpd.read_file(folder / "communes.geojson"))
    checked = subprocess.run([sys.executable, "-m", "boundaries", "check", out, "--communes",
                              folder / "communes.geojson", "--json"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout[-2000:]
    assert json.loads(checked.stdout)["totals"]["communes"] == 46
    result = boundaries.build(folder / "addresses.csv.gz", folder / "communes.geojson")
    check_accounting(result, table)


def test_finistere_reu_2022(tmp_path):
    folder = shared_path("finistere-reu-2022")
    table = pd.read_csv(folder / "addresses.csv", dtype=str)
    result = boundaries.build(folder / "addresses.csv", folder / "communes.geojson", departement="29")
    check_accounting(result, table)
    assert result.report.stations_out == 31 and result.report.communes_built == 3
    # Lanneuffret has one station: its whole outline
    lan = result.stations[result.stations["code_commune"] == "29116"]
    assert list(lan["method"]) == ["commune"]
    check_written(result.stations, gpd.read_file(folder / "communes.geojson"))
    out = tmp_path / "29.geojson"
    from boundaries.write import write_geojson

    write_geojson(result.stations, str(out))
    checked = boundaries.checks.check_stations(out, folder / "communes.geojson")
    assert checked.ok(), [p.line() for p in checked.errors()]


def semi_synthetic_paris(per_voters=25, seed=2017):
    """Points drawn in each official Paris sector (one per ``per_voters`` voters), REU-shaped."""
    folder = shared_path("paris-2017")
    sectors = gpd.read_file(folder / "bureaux.geojson").to_crs(2154)
    rng = np.random.default_rng(seed)
    rows = []
    for arr, num, n_voters, geom in zip(sectors["arrondissement"], sectors["num_bv"], sectors["nbr_elect_f"],
                                        sectors.geometry):
        code = f"751{int(arr):02d}"
        for x, y in points_in(geom, max(int(n_voters) // per_voters, 3), rng):
            rows.append((code, f"{code}_{int(num)}", x, y))
    pts = pd.DataFrame(rows, columns=["code_commune_ref", "id_brut_bv_reu", "x", "y"])
    sectors["id_bv"] = [f"751{int(a):02d}_{int(n)}" for a, n in zip(sectors["arrondissement"], sectors["num_bv"])]
    return pts, sectors, folder


def test_paris_semi_synthetic_city_outline_beats_or_equals_plain_voronoi(tmp_path):
    """An unseen city with a coarse Admin-Express outline, scored against official sectors."""
    from pyproj import Transformer

    pts, sectors, folder = semi_synthetic_paris()
    city = gpd.read_file(folder / "commune.geojson")  # 75056 only: arrondissements map to the city
    result = boundaries.build(pts, city, columns=boundaries.AddressColumns(x="x", y="y"), crs="EPSG:2154")
    assert result.report.stations_out == len(sectors) == 896
    assert result.report.rows_used == len(pts)
    ours = result.stations.to_crs(2154).set_index("id_bv").geometry
    outline = city.to_crs(2154).geometry.iloc[0]
    written = check_partition(ours.values, outline, area_tolerance_m2=outline.length * ROUNDING_M)
    assert written.ok, written.problems()
    assert shapely.is_valid(ours.values).all()
    # the yardstick as a command: an REU-shaped CSV, every point in the city (its only outline)
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(pts["x"].to_numpy(), pts["y"].to_numpy())
    table = pd.DataFrame({"code_commune_ref": "75056", "id_brut_bv_reu": pts["id_brut_bv_reu"],
                          "longitude": lon, "latitude": lat})
    table.to_csv(tmp_path / "paris.csv", index=False)
    plain = yardstick(tmp_path / "paris.csv", folder / "commune.geojson", tmp_path)
    truth = sectors.set_index("id_bv").geometry
    iou_ours = np.array([iou(ours[k], truth[k]) for k in truth.index])
    iou_plain = np.array([iou(plain[k], truth[k]) for k in truth.index])
    assert iou_ours.mean() >= iou_plain.mean() - 1e-4
    assert iou_ours.mean() > 0.75


def test_confidence_predicts_holdout_accuracy_per_station():
    """Stations with low ``confidence`` keep fewer of their held-out addresses (Val-de-Marne)."""
    from scipy.stats import spearmanr

    from boundaries.scoring import evaluate, holdout_split

    folder = shared_path("val-de-marne-2016")
    tab = pd.read_csv(folder / "addresses.csv.gz", dtype=str)
    held = holdout_split(tab["longitude"].astype(float), tab["latitude"].astype(float), 0.2, seed=1)
    st = boundaries.build(tab[~held], folder / "communes.geojson").stations
    per = evaluate(st, holdout=tab[held]).per_station
    st["key"] = boundaries.codes.canonical_station(st["id_bv"].to_numpy())
    m = st[st["method"] != "commune"].merge(per, on="key")
    assert len(m) > 500
    assert spearmanr(m["confidence"], m["own_station"]).statistic > 0.15
    quartile = pd.qcut(m["confidence"].rank(method="first"), 4, labels=False)
    by_q = m.groupby(quartile)["own_station"].mean()
    assert by_q[0] < by_q[3] - 0.03  # the least trusted quarter is measurably worse


def test_val_de_marne_same_stations_with_one_or_two_processes():
    folder = shared_path("val-de-marne-2016")
    one = boundaries.build(folder / "addresses.csv.gz", folder / "communes.geojson", jobs=1)
    two = boundaries.build(folder / "addresses.csv.gz", folder / "communes.geojson", jobs=2)
    assert list(one.stations["id_bv"]) == list(two.stations["id_bv"])
    assert shapely.equals_exact(one.stations.geometry.values, two.stations.geometry.values, 0).all()
    def timeless(report):  # the per-commune details, without their timings
        return {k: {**v, "seconds": None} for k, v in report.communes.items()}

    assert timeless(one.report) == timeless(two.report)
