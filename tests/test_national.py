"""National runs: département by département, the same stations as one build, resumable, parallel."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import shapely

import boundaries
from boundaries.national import build_departements
from boundaries.write import to_wgs84
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
    # the parts hold what is written: the stations on the output grid
    assert shapely.equals_exact(parts.stations.geometry.values, to_wgs84(whole.stations).geometry.values, 0).all()
    assert (parts.stations["colour"] == whole.stations["colour"]).all()  # chosen again across borders
    # from the parts' own pairs and those found across borders: the whole build's graph
    assert parts.neighbours.shape == whole.neighbours.shape and (parts.neighbours != whole.neighbours).nnz == 0
    assert parts.neighbours.nnz > len(parts.stations)
    # the outlines layer (GeoPackage "communes") too
    cols = ["code", "nom", "n_stations", "n_addresses", "n_dropped", "method"]
    pd.testing.assert_frame_equal(pd.DataFrame(parts.communes[cols]), pd.DataFrame(whole.communes[cols]))
    assert shapely.equals_exact(parts.communes.geometry.values, to_wgs84(whole.communes).geometry.values, 0).all()
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
    assert len(list(work.glob(f"{dep}-*"))) == 4  # the stale part is gone: stations, communes, report, neighbours
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


def test_csv_table_is_split_once_and_builds_as_the_parquet(national, tmp_path):
    """A national CSV is read once into per-département files, not once per département."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from boundaries import national as nat

    a, c = national
    csv = tmp_path / "table.csv.gz"
    import pyarrow as pa

    with pa.CompressedOutputStream(str(csv), "gzip") as out:
        pcsv.write_csv(pq.read_table(a), out)
    reads = []
    real = nat._read_table
    nat._read_table = lambda path, *args: (reads.append(str(path)), real(path, *args))[1]
    try:
        from_csv = build_departements(csv, c, tmp_path / "work", jobs=1)
    finally:
        nat._read_table = real
    from_parquet = build_departements(a, c, tmp_path / "work-pq", jobs=1)
    assert not any(r.endswith(".csv.gz") for r in reads)  # every département read its own file
    assert len(reads) == 4 and all("/input-" in r for r in reads)
    assert shapely.equals_exact(from_csv.stations.geometry.values, from_parquet.stations.geometry.values, 0).all()
    assert from_csv.report.rows_read == from_parquet.report.rows_read == 60_000
    assert from_csv.report.stations_out == from_parquet.report.stations_out
    # a rerun reuses the split and the parts
    split = sorted((tmp_path / "work").glob("input-*"))
    assert len(split) == 1 and (split[0] / "split.json").is_file()
    again = build_departements(csv, c, tmp_path / "work", jobs=1)
    assert all(d["cached"] for d in again.report.departements.values())


def test_csv_split_falls_back_to_the_checked_reader(tmp_path):
    """What Arrow's reader refuses goes through the checked one: same rows, or its clear error."""
    from boundaries.errors import InputError
    from boundaries.national import split_csv

    short = tmp_path / "short.csv"  # a row with a missing last field: pandas pads it, Arrow refuses it
    short.write_text("code_commune_ref,id_brut_bv_reu,longitude,latitude\n"
                     "29001,29001_1,-4.1,48.2\n29002,29002_1,-4.2\n01004,01004_1,5.3,46.0\n")
    files, rows = split_csv(short, tmp_path / "w1")
    assert rows == {"29": 2, "01": 1} and sorted(files) == ["01", "29"]
    lat = pd.read_parquet(files["29"])["latitude"]
    assert lat.iloc[0] == "48.2" and pd.isna(lat.iloc[1])
    broken = tmp_path / "broken.csv"  # an unclosed quote swallowing the rest of the file
    broken.write_text("code_commune_ref,id_brut_bv_reu,longitude,latitude\n29001,\"29001_1,-4.1,48.2\n"
                      + "29002,29002_1,-4.2,48.3\n" * 5)
    with pytest.raises(InputError, match="broken.csv"):
        split_csv(broken, tmp_path / "w2")


class _Bars:
    """A progress callable taking a label, as the command's: records each bar's total and steps."""

    def __init__(self):
        self.bars = []

    def __call__(self, total, label="communes"):
        import contextlib

        bar = {"label": label, "total": total, "steps": []}
        self.bars.append(bar)

        class Bar:
            def update(self, n):
                bar["steps"].append(n)

        return contextlib.nullcontext(Bar())


def test_progress_counts_communes_and_the_csv_split_in_megabytes(national, tmp_path, monkeypatch):
    """The bar counts the départements' communes (outlines) as each is done; a CSV's split has a bar of bytes."""
    import geopandas as gpd
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    a, c = national
    csv = tmp_path / "table.csv"
    pcsv.write_csv(pq.read_table(a), csv)
    bars = _Bars()
    monkeypatch.setattr("boundaries.read.ARROW_CSV_BLOCK_BYTES", 1 << 20)  # batches of 1 MiB: several here
    built = build_departements(csv, c, tmp_path / "work", jobs=2, progress=bars)
    split, communes = bars.bars
    assert split["label"] == "reading the table (MB)"
    assert split["total"] == -(-csv.stat().st_size // 1_000_000) and sum(split["steps"]) == split["total"]
    assert len(split["steps"]) > 1  # it moves while the file is read, not only at the end
    outlines = gpd.read_file(c)
    assert communes["label"] == "communes" and communes["total"] == len(outlines) == sum(communes["steps"])
    per_dep = outlines["code"].str[:2].value_counts()
    assert sorted(communes["steps"]) == sorted(per_dep.tolist())  # one step per département, its communes
    assert len(built.report.departements) == 4
    # a plain progress(total) callable gets the communes' bar only
    totals = []
    build_departements(csv, c, tmp_path / "work", jobs=1, progress=lambda total: (totals.append(total),
                                                                                     _Bars()(total))[1])
    assert totals == [len(outlines)]
