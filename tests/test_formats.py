"""Output formats, partition-keeping simplification, split folders and the results join."""

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import boundaries
from boundaries.checks import check_partition
from boundaries.errors import InputError
from boundaries.simplify import simplify_stations, tolerance_m
from boundaries.write import output_format

BIN = [sys.executable, "-m", "boundaries"]


def run(*args, check=True, **kw):
    proc = subprocess.run([*BIN, *map(str, args)], capture_output=True, **kw)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The town built once into every format."""
    from conftest import TOWN

    out = tmp_path_factory.mktemp("formats")
    a, c = TOWN / "addresses.csv", TOWN / "communes.geojson"
    for name in ("s.geojson", "s.geojsonl", "s.geojsons", "s.gpkg", "s.fgb", "s.parquet"):
        run("build", a, "--communes", c, "-o", out / name, "-q")
    return out, a, c


def test_every_format_holds_the_same_valid_stations(built):
    out, _, _ = built
    ref = gpd.read_file(out / "s.geojson")
    for name in ("s.geojsonl", "s.geojsons", "s.gpkg", "s.fgb", "s.parquet"):
        if name.endswith(".parquet"):
            got = gpd.read_parquet(out / name)
        else:
            got = gpd.read_file(out / name, layer="stations" if name.endswith(".gpkg") else None)
        assert got.crs.to_epsg() == 4326, name
        if name.endswith(".fgb"):  # FlatGeobuf stores features in its spatial index's order
            got = got.set_index("id_bv").loc[ref["id_bv"]].reset_index()
        assert list(got["id_bv"]) == list(ref["id_bv"]), name
        assert list(got["code_bv"]) == list(ref["code_bv"]), name
        assert shapely.is_valid(got.geometry.values).all(), name
        assert np.allclose(got.to_crs(2154).area, ref.to_crs(2154).area, rtol=1e-6), name


def test_geojsonseq_one_feature_per_line(built):
    out, _, _ = built
    lines = (out / "s.geojsonl").read_text().splitlines()
    assert len(lines) == 14 and all(json.loads(line)["type"] == "Feature" for line in lines)
    records = (out / "s.geojsons").read_bytes().split(b"\x1e")  # RFC 8142 record separators
    assert len([r for r in records if r.strip()]) == 14


def test_geopackage_has_stations_and_communes_layers(built):
    out, _, c = built
    layers = dict(pyogrio.list_layers(out / "s.gpkg"))
    assert {"stations", "communes"} <= set(layers)
    com = gpd.read_file(out / "s.gpkg", layer="communes")
    st = gpd.read_file(out / "s.gpkg", layer="stations")
    assert sorted(com["code"]) == sorted(gpd.read_file(c)["code"])
    counts = st.groupby("code_commune").size()
    assert (com.set_index("code")["n_stations"] == counts.reindex(com["code"]).to_numpy()).all()


def test_geojsonseq_streams_to_a_second_process(built):
    _, a, c = built
    build = subprocess.Popen([*BIN, "build", str(a), "--communes", str(c), "-o", "-", "--format", "geojsonseq",
                              "-q"], stdout=subprocess.PIPE)
    reader = subprocess.run(
        [sys.executable, "-c",
         "import json, sys\n"
         "ids = [json.loads(line)['properties']['id_bv'] for line in sys.stdin if line.strip()]\n"
         "print(len(ids), len(set(ids)))"],
        stdin=build.stdout, capture_output=True, text=True, check=True)
    build.stdout.close()
    assert build.wait() == 0
    assert reader.stdout.split() == ["14", "14"]


def test_format_from_extension_or_option():
    assert output_format("a.geojsonl") == "geojsonseq"
    assert output_format("a.GPKG") == "gpkg"
    assert output_format("-") == "geojson"
    assert output_format("x.dat", "fgb") == "fgb"
    with pytest.raises(InputError, match="unknown format"):
        output_format("a.shp")
    with pytest.raises(InputError, match="stdout"):
        output_format("-", "gpkg")


def test_simplify_keeps_each_commune_partitioned_and_shrinks(town):
    result = boundaries.build(town[0], town[1])
    before = result.stations
    after, stats = simplify_stations(before, tolerance_m("web"))
    assert stats["vertices_after"] < 0.7 * stats["vertices_before"]
    outlines = gpd.read_file(town[1]).to_crs(2154).set_index("code").geometry
    after_m, before_m = after.to_crs(2154), before.to_crs(2154)
    for code, idx in after_m.groupby("code_commune").indices.items():
        assert shapely.coverage_is_valid(after_m.geometry.values[idx]), code
        assert check_partition(after_m.geometry.values[idx], outlines[code], 1.0).ok, code
    # the naive per-polygon simplify opens gaps and overlaps between neighbours
    naive = shapely.simplify(before_m.geometry.values, 5.0)
    idx = before_m.groupby("code_commune").indices["99001"]
    assert shapely.coverage_is_valid(before_m.geometry.values[idx])
    assert not shapely.coverage_is_valid(naive[idx])


def test_simplify_levels_and_bad_values():
    assert tolerance_m("web") == 10.0 and tolerance_m("2.5") == 2.5 and tolerance_m(None) == 0
    with pytest.raises(InputError, match="one of"):
        tolerance_m("fast")
    # numbers out of range are refused with the other options' ranges, when the request is made
    from boundaries.request import BuildRequest

    for bad in ("-1", "nan", "1e308"):
        with pytest.raises(InputError, match="simplify"):
            BuildRequest.create("a.csv", "c.geojson", simplify=bad)


def test_split_by_commune_writes_files_and_index(built, tmp_path):
    _, a, c = built
    folder = tmp_path / "per-commune"
    run("build", a, "--communes", c, "-o", folder, "--split", "commune", "-q")
    index = pd.read_csv(folder / "index.csv", dtype=str)
    assert list(index["commune"]) == ["99001", "99002", "99003", "99004"]
    total = 0
    for row in index.itertuples():
        part = gpd.read_file(folder / row.file)
        assert set(part["code_commune"]) == {row.commune}
        assert len(part) == int(row.stations)
        total += len(part)
    assert total == 14 and (folder / "report.json").exists()


def test_results_join_on_code_bureau_vote(built, tmp_path):
    _, a, c = built
    results = pd.DataFrame({"codeBureauVote": ["99001_0001", "99001_0002", "99999_0001"],
                            "inscrits": [900, 800, 10], "exprimes_pct": ["51,5", "48", "60,25"],
                            "method": ["x", "y", "z"]})
    path = tmp_path / "results.csv"
    results.to_csv(path, sep=";", index=False)
    out = tmp_path / "with-results.geojson"
    proc = run("build", a, "--communes", c, "-o", out, "--results", path, text=True)
    assert "2 stations matched on codeBureauVote" in proc.stderr
    st = gpd.read_file(out).set_index("id_bv")
    assert st.loc["99001_1", "inscrits"] == 900 and st.loc["99001_2", "inscrits"] == 800
    assert st.loc["99001_1", "exprimes_pct"] == 51.5  # a French decimal comma is a number
    assert pd.isna(st.loc["99002_1", "inscrits"])
    assert st.loc["99001_1", "method_results"] == "x" and st.loc["99001_1", "method"] == "hull"  # the default
    report = json.loads((tmp_path / "with-results.report.json").read_text())
    assert report["results"]["results_without_station_ids"] == ["99999_1"]


@pytest.mark.parametrize("content, expect", [
    ("commune;votes\n99001;3\n", "no station-id column"),
    ("codeBureauVote,votes\n99001_0001,3\n99001_1,4\n", "several rows for station"),
    ("codeBureauVote,votes\n", "empty"),
])
def test_bad_results_table_one_line_exit_2(built, tmp_path, content, expect):
    _, a, c = built
    path = tmp_path / "results.csv"
    path.write_text(content)
    out = tmp_path / "o.geojson"
    proc = run("build", a, "--communes", c, "-o", out, "--results", path, check=False, text=True)
    assert proc.returncode == 2 and expect in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_departement_name_comes_from_the_outlines(town, tmp_path):
    outl = gpd.read_file(town[1])
    outl["NOM_DEP"] = "Fictif"
    path = tmp_path / "c.geojson"
    outl.to_file(path)
    st = boundaries.build(town[0], path).stations
    assert set(st["nom_departement"]) == {"Fictif"} and set(st["code_departement"]) == {"99"}
    assert (st["numero_bv"] == st["code_bv"].str.split("_").str[1]).all()


def test_to_wgs84_keeps_a_spiked_station_polygonal():
    """A station with a collapsed spike (make_valid's default gives a GeometryCollection, which the
    coverage clean-up refuses: the 16 M-row national write crashed on 8 such stations)."""
    import geopandas as gpd
    import shapely

    from boundaries.write import to_wgs84

    spike = shapely.Polygon([(0, 0), (0.002, 0), (0.002, 0.001), (0.003, 0.001), (0.002, 0.001),
                             (0.002, 0.002), (0, 0.002)])
    assert shapely.make_valid(spike).geom_type == "GeometryCollection"
    g = gpd.GeoDataFrame({"code_commune": ["94001", "94001"]}, geometry=[spike, shapely.box(0.002, 0, 0.004, 0.002)],
                         crs="EPSG:4326")
    out = to_wgs84(g)
    assert list(out.geometry.geom_type) == ["MultiPolygon", "MultiPolygon"] and shapely.is_valid(out.geometry.values).all()
