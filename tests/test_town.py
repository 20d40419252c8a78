"""The bundled example town, end to end: the job ``make run`` runs."""

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd

import boundaries
from boundaries.checks import check_partition
from helpers import iou, yardstick


def test_town_build_accounts_for_everything(town, tmp_path):
    addresses, communes, truth_path = town
    out = tmp_path / "stations.geojson"
    proc = subprocess.run(
        [sys.executable, "-m", "boundaries", "build", addresses, "--communes", communes, "-o", out],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "14 of 14 stations built" in proc.stderr
    report = json.loads((tmp_path / "stations.report.json").read_text())
    table = pd.read_csv(addresses, dtype=str)
    assert report["rows_read"] == len(table)
    assert report["rows_read"] == report["rows_used"] + sum(report["rows_dropped"].values())
    # the generator's noise shows up under its reasons
    assert report["rows_dropped"]["no_coordinates"] == table["longitude"].isna().sum()
    assert report["rows_dropped"]["municipality_geocode"] == (table["geo_type"] == "municipality").sum()
    assert report["rows_dropped"]["outside_commune"] >= 6  # the far outliers
    assert report["rows_dropped"]["contested_coordinate"] > 0

    stations = gpd.read_file(out).to_crs(2154)
    outlines = gpd.read_file(communes).to_crs(2154).set_index("code").geometry
    for code, group in stations.groupby("code_commune"):
        result = check_partition(group.geometry.values, outlines[code], area_tolerance_m2=outlines[code].length * 0.01)
        assert result.ok, (code, result.problems())
    assert list(stations[stations.code_commune == "99004"]["method"]) == ["commune"]


def test_town_against_its_true_stations(town, tmp_path):
    addresses, communes, truth_path = town
    result = boundaries.build(addresses, communes)
    ours = result.stations.to_crs(2154).set_index("id_bv").geometry
    truth = gpd.read_file(truth_path).to_crs(2154).set_index("id_bv").geometry
    assert set(ours.index) == set(truth.index)
    # the plain Voronoi on the same data, for comparison
    table = pd.read_csv(addresses, dtype=str)
    pts = gpd.GeoSeries(gpd.points_from_xy(table.longitude.astype(float), table.latitude.astype(float)),
                        crs=4326).to_crs(2154)
    plain = yardstick(addresses, communes, tmp_path)
    ours_iou = np.mean([iou(ours[k], truth[k]) for k in truth.index])
    plain_iou = np.mean([iou(plain[k], truth[k]) for k in truth.index])
    assert ours_iou >= plain_iou - 1e-3
    # every address with a house number lands in its own station's polygon most of the time
    hn = table[table.geo_type == "housenumber"]
    pts_hn = pts[hn.index]
    inside = [ours[k].contains(p) for k, p in zip(hn.id_brut_bv_reu, pts_hn) if k in ours.index]
    assert np.mean(inside) > 0.9
