"""The national-shape generator (benchmarks/synth.py) at a small size: bytes, schema, shape, truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.synth import SCHEMA_FIELDS, synth

ROOT = Path(__file__).resolve().parents[2]
ROWS, DEPS, SEED = 50_000, 3, 0


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    summary = synth(ROWS, DEPS, SEED, folder / "a", csv=True)
    return folder, summary


def test_same_arguments_give_identical_bytes(made):
    folder, _ = made
    synth(ROWS, DEPS, SEED, folder / "b", csv=True)
    for name in ("addresses.parquet", "addresses.csv.gz", "communes.gpkg", "summary.json"):
        assert (folder / "a" / name).read_bytes() == (folder / "b" / name).read_bytes(), name
    synth(ROWS, DEPS, SEED + 1, folder / "c")
    assert (folder / "a" / "addresses.parquet").read_bytes() != (folder / "c" / "addresses.parquet").read_bytes()


def test_columns_and_types_are_the_reu_ones(made):
    import pyarrow.parquet as pq

    folder, _ = made
    pf = pq.ParquetFile(folder / "a" / "addresses.parquet")
    schema = pf.schema_arrow
    assert schema.names == [name for name, _ in SCHEMA_FIELDS]
    assert {str(schema.field(n).type) for n in ("code_commune_ref", "id_brut_bv_reu", "geo_type", "geo_adresse")} == {"string"}
    assert str(schema.field("longitude").type) == str(schema.field("latitude").type) == "double"
    df = pf.read().to_pandas()
    assert len(df) == ROWS
    assert df["code_commune_ref"].str.fullmatch(r"\d{5}|2[AB]\d{3}").all()
    assert (df["id_brut_bv_reu"].str.rsplit("_", n=1).str[0] == df["code_commune_ref"]).all()
    assert df["id_brut_bv_reu"].str.fullmatch(r"\d{5}_\d+").all()
    assert df["id"].is_unique
    empty = df["longitude"].isna()
    assert 0 < empty.sum() < 0.01 * ROWS and df.loc[empty, "latitude"].isna().all()
    types = df.loc[~empty, "geo_type"].value_counts(normalize=True)
    assert set(types.index) == {"housenumber", "street", "interpolation", "locality", "municipality"}
    assert 0.92 < types["housenumber"] < 0.98
    assert df["geo_score"].dropna().between(0.3, 1.0).all()
    assert (df["nb_adresses"] == 1).mean() > 0.85 and (df["nb_adresses"] >= 1).all()
    assert df.loc[df["geo_type"] == "housenumber", "geo_adresse"].str.match(r"\d+ \S").all()
    # sorted by commune, one row group per département (filterable by its statistics)
    assert df["code_commune_ref"].is_monotonic_increasing
    groups = [pf.metadata.row_group(i).column(0).statistics for i in range(pf.num_row_groups)]
    assert [(g.min[:2], g.max[:2]) for g in groups] == [(d, d) for d in ("01", "02", "03")]
    # the gzipped CSV holds the same table
    import pandas as pd

    csv = pd.read_csv(folder / "a" / "addresses.csv.gz", dtype={"code_commune_ref": str})
    assert len(csv) == ROWS and (csv["code_commune_ref"] == df["code_commune_ref"]).all()


def test_communes_tile_each_departement(made):
    import geopandas as gpd
    import shapely

    folder, summary = made
    communes = gpd.read_file(folder / "a" / "communes.gpkg")
    assert list(communes.columns) == ["code", "nom", "geometry"]
    assert communes.crs.to_epsg() == 2154
    assert len(communes) == summary["communes"] and communes["code"].is_unique
    geoms = communes.geometry.values
    assert shapely.is_valid(geoms).all()
    assert shapely.coverage_is_valid(geoms)
    for _, group in communes.groupby(communes["code"].str[:2]):
        union = shapely.coverage_union_all(group.geometry.values)
        square = union.envelope
        assert union.geom_type == "Polygon" and len(union.interiors) == 0
        assert union.area == pytest.approx(square.area, rel=1e-9)
        xy = shapely.get_coordinates(square.exterior)
        assert abs(np.ptp(xy[:, 0]) - np.ptp(xy[:, 1])) < 1e-6  # a square


def test_shape_single_station_share_and_a_city(made):
    import pandas as pd

    folder, summary = made
    df = pd.read_parquet(folder / "a" / "addresses.parquet", columns=["code_commune_ref", "id_brut_bv_reu", "nb_bv_commune"])
    per = df.groupby("code_commune_ref").agg(n=("id_brut_bv_reu", "nunique"), nb=("nb_bv_commune", "first"))
    assert (per["n"] == per["nb"]).all()  # nb_bv_commune tells the truth
    assert 0.6 <= (per["n"] == 1).mean() <= 0.95
    assert per["n"].max() >= 20
    assert summary["stations"] == per["n"].sum()
    rows_per_station = df.groupby("id_brut_bv_reu").size()
    assert rows_per_station.min() >= 10


def test_every_station_row_lies_in_its_commune(made):
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    folder, _ = made
    df = pd.read_parquet(folder / "a" / "addresses.parquet", columns=["code_commune_ref", "longitude", "latitude"])
    df = df.dropna(subset=["longitude"])
    communes = gpd.read_file(folder / "a" / "communes.gpkg").set_index("code")
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(df["longitude"].to_numpy(), df["latitude"].to_numpy())
    polygons = communes.geometry.reindex(df["code_commune_ref"]).values
    assert shapely.contains_xy(polygons, x, y).all()


def test_boundaries_builds_every_station(made, tmp_path):
    folder, summary = made
    out = tmp_path / "out.geojson"
    run = subprocess.run(
        [sys.executable, "-m", "boundaries", "build", str(folder / "a" / "addresses.parquet"),
         "--communes", str(folder / "a" / "communes.gpkg"), "-o", str(out), "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(out.with_name("out.report.json").read_text())
    assert report["stations_in"] == summary["stations"]
    built, missing = report["stations_out"], len(report["stations_without_polygon"] or [])
    assert built + missing == summary["stations"]
    assert report["communes_built"] == summary["communes"]


def test_rejects_impossible_arguments(tmp_path):
    with pytest.raises(ValueError):
        synth(1000, 97, 0, tmp_path)
    with pytest.raises(ValueError):
        synth(20, 3, 0, tmp_path)


def test_cli_writes_the_folder(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.synth", "--rows", "3000", "--departements", "2", "-o", str(tmp_path), "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["rows"] == 3000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["addresses.parquet", "communes.gpkg", "summary.json"]


# --------------------------------------------------------------------------- unsorted layouts

MIXED_GROUP = 20_000


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    synth(ROWS, DEPS, SEED, folder / "a", csv=True, layout="both", csv_order="shuffled", row_group_rows=MIXED_GROUP)
    return folder


def test_mixed_layout_is_reproducible_and_leaves_the_sorted_table_as_it_was(made, mixed):
    synth(ROWS, DEPS, SEED, mixed / "b", csv=True, layout="both", csv_order="shuffled", row_group_rows=MIXED_GROUP)
    for name in ("addresses.parquet", "addresses.mixed.parquet", "addresses.csv.gz", "communes.gpkg", "summary.json"):
        assert (mixed / "a" / name).read_bytes() == (mixed / "b" / name).read_bytes(), name
    sorted_folder, _ = made
    for name in ("addresses.parquet", "communes.gpkg"):  # the shuffle draws nothing from the generator's streams
        assert (mixed / "a" / name).read_bytes() == (sorted_folder / "a" / name).read_bytes(), name
    assert sorted(p.name for p in (mixed / "a").iterdir()) == [
        "addresses.csv.gz", "addresses.mixed.parquet", "addresses.parquet", "communes.gpkg", "summary.json"]


def test_mixed_row_groups_have_a_fixed_size_and_span_every_departement(mixed):
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(mixed / "a" / "addresses.mixed.parquet")
    assert pf.schema_arrow == pq.ParquetFile(mixed / "a" / "addresses.parquet").schema_arrow
    sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
    assert sizes == [MIXED_GROUP, MIXED_GROUP, ROWS - 2 * MIXED_GROUP]
    for i in range(pf.num_row_groups):
        codes = pf.read_row_group(i, columns=["code_commune_ref"]).column(0).to_pylist()
        assert {c[:2] for c in codes} == {"01", "02", "03"}, i
        stats = pf.metadata.row_group(i).column(0).statistics
        assert (stats.min[:2], stats.max[:2]) == ("01", "03")  # no row group can be skipped by a filter
    summary = json.loads((mixed / "a" / "summary.json").read_text())
    assert summary["layout"] == {"parquet": "both", "csv": "shuffled", "mixed_row_groups": 3,
                                 "mixed_row_group_rows": MIXED_GROUP}


def test_mixed_table_and_shuffled_csv_hold_the_same_rows_in_the_same_shuffled_order(mixed):
    import pandas as pd

    a = pd.read_parquet(mixed / "a" / "addresses.parquet")
    m = pd.read_parquet(mixed / "a" / "addresses.mixed.parquet")
    assert not m["id"].is_monotonic_increasing  # shuffled
    assert m.sort_values("id").reset_index(drop=True).equals(a)
    csv = pd.read_csv(mixed / "a" / "addresses.csv.gz", dtype={"code_commune_ref": str, "id_brut_bv_reu": str})
    assert len(csv) == ROWS and (csv["id"].to_numpy() == m["id"].to_numpy()).all()
    assert (csv["code_commune_ref"].to_numpy() == m["code_commune_ref"].to_numpy()).all()


def test_layout_mixed_alone_writes_the_shuffled_table_as_addresses_parquet(mixed, tmp_path):
    synth(ROWS, DEPS, SEED, tmp_path, layout="mixed", row_group_rows=MIXED_GROUP)
    assert (tmp_path / "addresses.parquet").read_bytes() == (mixed / "a" / "addresses.mixed.parquet").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["addresses.parquet", "communes.gpkg", "summary.json"]


def test_rejects_unknown_layouts(tmp_path):
    with pytest.raises(ValueError):
        synth(1000, 1, 0, tmp_path, layout="random")
    with pytest.raises(ValueError):
        synth(1000, 1, 0, tmp_path, csv=True, csv_order="reversed")
