"""National runs: département by département, the same stations as one build, resumable, parallel."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import shapely

import boundaries
from boundaries.write import to_wgs84
from helpers import national_build, single_build, synth_table


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """A small national-shape table: 4 départements, one Parquet file."""
    return synth_table(tmp_path_factory, 60_000, 4, seed=5)


def test_departement_by_departement_equals_one_build(national, tmp_path):
    a, c = national
    parts = national_build(a, c, tmp_path / "work", jobs=1)
    whole = single_build(a, c, jobs=1)
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
    first = national_build(a, c, work, jobs=2)
    again = national_build(a, c, work, jobs=1)
    assert all(d["cached"] for d in again.report.departements.values())
    assert first.stations.to_wkb().equals(again.stations.to_wkb())
    # a refresh of the table that changes one département's rows rebuilds that one only
    table = pd.read_parquet(a)
    dep = sorted(again.report.departements)[1]
    drop = table.index[table["code_commune_ref"].str.startswith(dep)][:50]
    changed = tmp_path / "changed.parquet"
    table.drop(index=drop).to_parquet(changed)
    third = national_build(changed, c, work, jobs=1)
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
    real = nat.read_parquet_files
    nat.read_parquet_files = lambda paths: (reads.append([str(p) for p in paths]), real(paths))[1]
    try:
        from_csv = national_build(csv, c, tmp_path / "work", jobs=1)
    finally:
        nat.read_parquet_files = real
    from_parquet = national_build(a, c, tmp_path / "work-pq", jobs=1)
    # every département read its own file (a CSV is split by one process: one file each)
    assert len(reads) == 4 and all(len(r) == 1 and "/input-" in r[0] for r in reads)
    assert shapely.equals_exact(from_csv.stations.geometry.values, from_parquet.stations.geometry.values, 0).all()
    assert from_csv.report.rows_read == from_parquet.report.rows_read == 60_000
    assert from_csv.report.stations_out == from_parquet.report.stations_out
    # a rerun reuses the split and the parts
    split = sorted((tmp_path / "work").glob("input-*"))
    assert len(split) == 1 and (split[0] / "split.json").is_file()
    again = national_build(csv, c, tmp_path / "work", jobs=1)
    assert all(d["cached"] for d in again.report.departements.values())


def test_csv_split_falls_back_to_the_checked_reader(tmp_path):
    """What Arrow's reader refuses goes through the checked one: same rows, or its clear error."""
    from boundaries.errors import InputError
    from boundaries.national import split_table

    short = tmp_path / "short.csv"  # a row with a missing last field: pandas pads it, Arrow refuses it
    short.write_text("code_commune_ref,id_brut_bv_reu,longitude,latitude\n"
                     "29001,29001_1,-4.1,48.2\n29002,29002_1,-4.2\n01004,01004_1,5.3,46.0\n")
    files, rows = split_table(short, tmp_path / "w1")
    assert rows == {"29": 2, "01": 1} and sorted(files) == ["01", "29"]
    assert all(len(f) == 1 for f in files.values())
    lat = pd.read_parquet(files["29"][0])["latitude"]
    assert lat.iloc[0] == "48.2" and pd.isna(lat.iloc[1])
    broken = tmp_path / "broken.csv"  # an unclosed quote swallowing the rest of the file
    broken.write_text("code_commune_ref,id_brut_bv_reu,longitude,latitude\n29001,\"29001_1,-4.1,48.2\n"
                      + "29002,29002_1,-4.2,48.3\n" * 5)
    with pytest.raises(InputError, match="broken.csv"):
        split_table(broken, tmp_path / "w2")


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
    built = national_build(csv, c, tmp_path / "work", jobs=2, progress=bars)
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
    national_build(csv, c, tmp_path / "work", jobs=1, progress=lambda total: (totals.append(total),
                                                                                     _Bars()(total))[1])
    assert totals == [len(outlines)]


def _shuffled(a, tmp_path):
    """The table's rows in a seeded random order: a Parquet file whose row groups each mix every
    département, and the same rows as CSV (the layouts of a table no tool sorted)."""
    import numpy as np
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pq.read_table(a)
    table = table.take(np.random.default_rng(3).permutation(table.num_rows))
    parquet, csv = tmp_path / "shuffled.parquet", tmp_path / "shuffled.csv"
    pq.write_table(table, parquet, row_group_size=7_000)
    pcsv.write_csv(table, csv)
    return parquet, csv


def test_natural_command_on_unsorted_tables_gives_one_builds_bytes(national, tmp_path):
    """`boundaries build TABLE --communes C -o OUT` on a table covering several départements (no --all):
    built département by département whatever the table's order, the same bytes as one build of it."""
    from click.testing import CliRunner

    from boundaries.cli import main

    a, c = national
    single_build(a, c, jobs=1).write(str(tmp_path / "one.fgb"), report=None)
    for table in (a, *_shuffled(a, tmp_path)):
        out = tmp_path / f"{table.name}.fgb"
        res = CliRunner().invoke(main, ["build", str(table), "--communes", str(c), "-o", str(out), "-j", "2",
                                        "-q"])
        assert res.exit_code == 0, res.output
        assert out.read_bytes() == (tmp_path / "one.fgb").read_bytes(), table.name
        report = json.loads(out.with_suffix(".report.json").read_text())
        assert len(report["departements"]) == 4  # it took the national path
        assert report["rows_read"] == 60_000 and report["inputs"]["work_dir"] is None
        assert not list(tmp_path.glob("*.parts"))  # the natural command leaves no work folder behind


def test_partition_reads_a_sorted_parquet_in_place_and_splits_the_others_once(national, tmp_path):
    from boundaries.national import partition

    a, c = national
    sorted_part = partition(a, tmp_path / "w0")
    assert sorted_part.kind == "filter" and not (tmp_path / "w0").exists()
    parquet, csv = _shuffled(a, tmp_path)
    for source in (parquet, csv):
        part = partition(source, tmp_path / "w1")
        assert part.kind == "files" and part.sizes == sorted_part.sizes
        assert sum(part.sizes.values()) == 60_000
        # each file holds its département's rows only, in the table's order
        for dep, paths in part.files.items():
            codes = pd.concat([pd.read_parquet(p) for p in paths])["code_commune_ref"].astype(str)
            assert codes.str.startswith(dep).all() and len(codes) == part.sizes[dep]


def test_a_station_of_an_unknown_departement_is_reported_as_by_one_build(national, tmp_path):
    """A row whose commune code names no département (2C116) stays in the report, with its station,
    whether the run goes by département (--all, or the natural command) or is one build."""
    a, c = national
    table = pd.read_parquet(a)
    odd = table.iloc[:3].copy()
    odd["code_commune_ref"], odd["id_brut_bv_reu"] = "2C116", "2C116_1"
    path = tmp_path / "odd.parquet"
    pd.concat([table, odd], ignore_index=True).to_parquet(path)
    one = single_build(path, c, jobs=1).report
    expected = [s for s in one.stations_without_polygon if s["id_bv"] == "2C116_1"]
    assert expected and expected[0]["reason"] == "commune_without_outline"
    for result in (national_build(path, c, tmp_path / "work", jobs=2), boundaries.build(path, c, jobs=2)):
        r = result.report
        assert [s for s in r.stations_without_polygon if s["id_bv"] == "2C116_1"] == expected
        assert "2C116" in r.communes_without_outline and r.communes["2C116"] == one.communes["2C116"]
        assert r.rows_read == one.rows_read == 60_003
        assert r.rows_dropped == one.rows_dropped and r.rows_used == one.rows_used
        assert r.rows_read == r.rows_out_of_scope + r.rows_used + r.rows_held_out + sum(r.rows_dropped.values())
        assert r.stations_in == r.stations_out + len(r.stations_without_polygon) == one.stations_in


def test_departements_without_outline_are_reported_not_lost(national, tmp_path):
    """Asked for two départements, one of which has no outline: its rows and stations are in the report."""
    import geopandas as gpd

    a, c = national
    outlines = gpd.read_file(c)
    deps = sorted(outlines["code"].str[:2].unique())
    kept = tmp_path / "outlines.gpkg"
    outlines[outlines["code"].str[:2] != deps[1]].to_file(kept)
    result = boundaries.build(a, kept, departement=deps[:2], work_dir=str(tmp_path / "w"), jobs=1)
    r = result.report
    assert r.departements_without_outline == [deps[1]] and list(r.departements) == [deps[0]]
    lost = {s["code_commune"][:2] for s in r.stations_without_polygon}
    assert lost == {deps[1]} and all(s["reason"] == "commune_without_outline" for s in r.stations_without_polygon)
    assert r.rows_read == 60_000
    assert r.rows_read == r.rows_out_of_scope + r.rows_used + r.rows_held_out + sum(r.rows_dropped.values())
    assert r.rows_dropped["commune_without_outline"] == sum(n for code, n in pd.read_parquet(a)[
        "code_commune_ref"].str[:2].value_counts().items() if code == deps[1])
