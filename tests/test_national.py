"""National runs: département by département, the same stations as one build, resumable, parallel."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import shapely

import boundaries
from boundaries.national import build_departements
from helpers import synth_table


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """A small national-shape table: 4 départements, one Parquet file."""
    return synth_table(tmp_path_factory, 60_000, 4, seed=5)


def test_departement_by_departement_equals_one_build(national, tmp_path):
    a, c = national
    parts = build_departements(a, c, tmp_path / "work", jobs=1)
    whole = boundaries.build(a, c, jobs=1)
    assert list(parts.stations["id_bv"]) == list(whole.stations["id_bv"])
    assert shapely.equals_exact(parts.stations.geometry.values, whole.stations.geometry.values, 0).all()
    assert (parts.stations["colour"] == whole.stations["colour"]).all()  # chosen again across borders
    # the outlines layer (GeoPackage "communes") too
    cols = ["code", "nom", "n_stations", "n_addresses", "n_dropped", "method"]
    pd.testing.assert_frame_equal(pd.DataFrame(parts.communes[cols]), pd.DataFrame(whole.communes[cols]))
    assert shapely.equals_exact(parts.communes.geometry.values, whole.communes.geometry.values, 0).all()
    r = parts.report
    assert r.rows_read == whole.report.rows_read == 60_000
    assert r.rows_read == r.rows_out_of_scope + r.rows_used + sum(r.rows_dropped.values())
    assert r.stations_in == whole.report.stations_in and r.stations_out == whole.report.stations_out
    assert len(r.departements) == 4 and not any(d["cached"] for d in r.departements.values())


def test_rerun_reuses_parts_and_rebuilds_only_what_changed(national, tmp_path):
    a, c = national
    work = tmp_path / "work"
    first = build_departements(a, c, work, jobs=2)
    again = build_departements(a, c, work, jobs=1)
    assert all(d["cached"] for d in again.report.departements.values())
    assert first.stations.to_wkb().equals(again.stations.to_wkb())
    # a refresh of the table that changes one département's rows rebuilds that one only
    table = pd.read_parquet(a)
    dep = sorted(again.report.departements)[1]
    drop = table.index[table["code_commune_ref"].str.startswith(dep)][:50]
    changed = tmp_path / "changed.parquet"
    table.drop(index=drop).to_parquet(changed)
    third = build_departements(changed, c, work, jobs=1)
    rebuilt = [d for d, info in third.report.departements.items() if not info["cached"]]
    assert rebuilt == [dep]
    assert len(list(work.glob(f"{dep}-*"))) == 3  # the stale part is gone: stations, communes, report
    assert third.report.rows_read == len(table) - len(drop)


def test_cli_all_and_a_list_of_departements(national, tmp_path):
    a, c = national
    out = tmp_path / "france.geojson"
    run = [sys.executable, "-m", "boundaries", "build", str(a), "--communes", str(c), "-q"]
    subprocess.run([*run, "--all", "-o", str(out)], check=True)
    assert (tmp_path / "france.geojson.parts").is_dir()
    gpkg = tmp_path / "france.gpkg"
    subprocess.run([*run, "--all", "-o", str(gpkg)], check=True)
    import pyogrio

    layers = dict(pyogrio.list_layers(gpkg))
    assert set(layers) >= {"stations", "communes"}
    assert pyogrio.read_info(gpkg, layer="communes")["features"] == len(
        pyogrio.read_dataframe(c, read_geometry=False))
    doc = json.loads(out.read_text())
    deps = sorted({f["properties"]["code_departement"] for f in doc["features"]})
    assert len(deps) == 4
    two = tmp_path / "two.geojson"
    subprocess.run([*run, "--departement", deps[0], "--departement", deps[2], "-o", str(two)], check=True)
    got = json.loads(two.read_text())
    assert sorted({f["properties"]["code_departement"] for f in got["features"]}) == [deps[0], deps[2]]
    report = json.loads((tmp_path / "two.report.json").read_text())
    assert report["rows_read"] == report["rows_out_of_scope"] + report["rows_used"] + sum(
        report["rows_dropped"].values())
    bad = subprocess.run([*run, "--all", "--holdout", "0.1", "-o", str(tmp_path / "x.geojson")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--holdout" in bad.stderr
