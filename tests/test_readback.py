"""Read what we write (issue 18, item 3): every command reads every format ``build`` writes.

GeoParquet went through GDAL, whose Parquet driver is missing here (pyogrio's needs
libduckdb; Debian's GDAL 3.6 has none), so ``check`` on our own ``.parquet`` failed.
It is now read by pyarrow, with the same layer and polygon checks as other formats;
a Parquet file that is not GeoParquet, cut short or forged is one line and exit 2.
The last tests pin what Debian's ``ogrinfo`` (GDAL 3.6) opens, as docs/qgis.md says.
"""

import json
import subprocess

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.read import read_stations
from boundaries.write import FORMATS
from clients import ogrinfo, ogrinfo_formats
from conftest import TOWN

#: One output name per extension ``build`` writes (every suffix of write.FORMATS but the .json alias).
SUFFIXES = [s for suffixes in FORMATS.values() for s in suffixes if s != ".json"]
N_STATIONS = 14  # the bundled town
COMMUNES = str(TOWN / "communes.geojson")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def town_outputs(tmp_path_factory):
    """The bundled town built once, then written by ``build`` in every format: {suffix: path}."""
    folder = tmp_path_factory.mktemp("readback")
    out = {}
    for suffix in SUFFIXES:
        out[suffix] = folder / f"stations{suffix}"
        res = run("build", TOWN / "addresses.csv", "--communes", COMMUNES, "-o", out[suffix], "-q")
        assert res.exit_code == 0, res.output
    return out


def test_every_format_we_write_is_covered():
    assert {f for f, suffixes in FORMATS.items() if set(suffixes) & set(SUFFIXES)} == set(FORMATS)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_check_reads_every_format_and_finds_the_same(town_outputs, suffix):
    res = run("check", town_outputs[suffix], "--communes", COMMUNES, "--json")
    assert res.exit_code == 0, res.output  # the town has multipart warnings only
    ref = run("check", town_outputs[".geojson"], "--communes", COMMUNES, "--json")
    assert json.loads(res.output)["totals"] == json.loads(ref.output)["totals"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_evaluate_reads_every_format_against_itself(town_outputs, suffix):
    path = town_outputs[suffix]
    res = run("evaluate", path, "--reference", path)
    assert res.exit_code == 0, res.output
    assert "internal" not in res.output and "error" not in res.output.lower(), res.output


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_preview_and_report_read_every_format(town_outputs, suffix, tmp_path):
    path = town_outputs[suffix]
    png, html = tmp_path / "p.png", tmp_path / "r.html"
    res = run("preview", path, "--commune", "99001", "--communes", COMMUNES, "-o", png, "-q")
    assert res.exit_code == 0 and png.stat().st_size > 0, res.output
    res = run("report", path, "--communes", COMMUNES, "-o", html, "-q")
    assert res.exit_code in (0, 1) and html.stat().st_size > 0, res.output


def test_geoparquet_reads_as_the_geojson_does(town_outputs):
    ours = read_stations(town_outputs[".parquet"])
    same = read_stations(town_outputs[".geojson"])
    assert len(ours) == N_STATIONS and list(ours["key"]) == list(same["key"])
    assert ours.crs == same.crs
    # docs/qgis.md: the GeoParquet version our files carry (GDAL reads 1.1 from 3.9)
    geo = json.loads(pq.read_schema(town_outputs[".parquet"]).metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["columns"][geo["primary_column"]]["encoding"] == "WKB"
    # the GeoJSON's rings are turned counter-clockwise (RFC 7946): compare the same vertices, normalised
    norm = shapely.normalize
    assert shapely.equals_exact(norm(ours.geometry.values), norm(same.geometry.values), tolerance=1e-7).all()


def test_parquet_layer_is_named_like_gdal_names_it(town_outputs):
    res = run("check", town_outputs[".parquet"], "--communes", COMMUNES, "--layer", "stations", "-q")
    assert res.exit_code == 0, res.output
    res = run("check", town_outputs[".parquet"], "--communes", COMMUNES, "--layer", "other")
    assert res.exit_code == 2 and res.output.strip().endswith("name one of them with --layer"), res.output


# ------------------------------------------------ Parquet that is not our GeoParquet: one line, exit 2


def _one_line_exit_2(path, *extra):
    res = run("check", path, "--communes", COMMUNES, *extra)
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert "internal" not in res.output and str(path) in res.output, res.output
    return lines[0]


COLUMN_NAMES = st.text(alphabet=list("aZ_ é'\"\t;%-9"), min_size=1, max_size=8)


@settings(deadline=None)
@given(names=st.lists(COLUMN_NAMES, min_size=1, max_size=4, unique=True),
       rows=st.integers(0, 5), binary=st.booleans())
def test_a_parquet_table_without_geometry_is_one_line(tmp_path_factory, names, rows, binary):
    """Any Parquet table without GeoParquet metadata (even with a WKB-like binary ``geometry``)."""
    path = tmp_path_factory.mktemp("plain") / "table.parquet"
    data = {n: [b"\x01\x03" if binary else "x"] * rows for n in names}
    pq.write_table(pa.table(data) if rows else pa.table({n: pa.array([], pa.string()) for n in names}), path)
    assert "without GeoParquet metadata" in _one_line_exit_2(path)


@settings(deadline=None)
@given(geo=st.one_of(st.binary(max_size=40), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(
        ["primary_column", "columns", "geometry", "geometry_types", "encoding", "version"]), kids, max_size=4),
    max_leaves=8).map(lambda v: json.dumps(v).encode())))
def test_forged_geo_metadata_is_one_line(town_outputs, tmp_path_factory, geo):
    """Our own GeoParquet with its ``geo`` metadata replaced by any bytes or JSON."""
    table = pq.read_table(town_outputs[".parquet"])
    path = tmp_path_factory.mktemp("forged") / "stations.parquet"
    pq.write_table(table.replace_schema_metadata({b"geo": geo}), path)
    _one_line_exit_2(path)


@settings(deadline=None)
@given(fraction=st.floats(0.0, 0.999))
def test_geoparquet_cut_anywhere_is_one_line(town_outputs, tmp_path_factory, fraction):
    data = town_outputs[".parquet"].read_bytes()
    path = tmp_path_factory.mktemp("cut") / "stations.parquet"
    path.write_bytes(data[:int(len(data) * fraction)])
    _one_line_exit_2(path)


@settings(deadline=None)
@given(data=st.binary(max_size=64))
def test_bytes_named_parquet_are_one_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "stations.geoparquet"
    path.write_bytes(data)
    _one_line_exit_2(path)


@settings(deadline=None)
@given(kind=st.sampled_from(["point", "line"]), name=st.sampled_from(["x.parquet", "x.pq", "x.geoparquet"]),
       claim=st.sampled_from([None, [], ["Polygon"], ["MultiPolygon", "Polygon"]]))
def test_geoparquet_without_polygons_is_refused(tmp_path_factory, kind, name, claim):
    """Points or lines, whatever the metadata's ``geometry_types`` claims (none, any, polygons)."""
    stations = gpd.read_file(TOWN / "stations_truth.geojson")
    geoms = stations.geometry.representative_point() if kind == "point" else stations.geometry.boundary
    path = tmp_path_factory.mktemp("nopoly") / name
    stations.set_geometry(geoms).to_parquet(path)
    if claim is not None:
        table = pq.read_table(path)
        geo = json.loads(table.schema.metadata[b"geo"])
        geo["columns"][geo["primary_column"]]["geometry_types"] = claim
        pq.write_table(table.replace_schema_metadata({b"geo": json.dumps(geo).encode()}), path)
    assert "not polygons" in _one_line_exit_2(path)


def test_geoparquet_is_read_whatever_its_name(town_outputs, tmp_path):
    """A GeoParquet file under another name (``.geojson``) starts with PAR1: read as Parquet, not by GDAL."""
    path = tmp_path / "misnamed.geojson"
    path.write_bytes(town_outputs[".parquet"].read_bytes())
    assert len(read_stations(path)) == N_STATIONS


def test_geoparquet_without_crs_is_refused_like_other_formats(tmp_path):
    stations = gpd.read_file(TOWN / "stations_truth.geojson")
    path = tmp_path / "nocrs.parquet"
    stations.set_crs(None, allow_override=True).to_parquet(path)
    with pytest.raises(InputError, match="has no CRS"):
        read_stations(path)


def test_duplicate_columns_in_geoparquet_are_one_line(town_outputs, tmp_path):
    table = pq.read_table(town_outputs[".parquet"])
    twice = pa.Table.from_arrays(table.columns + [table.column("id_bv")], names=table.column_names + ["id_bv"],
                                 metadata=table.schema.metadata)
    pq.write_table(twice, tmp_path / "twice.parquet")
    assert "two columns named 'id_bv'" in _one_line_exit_2(tmp_path / "twice.parquet")


# ------------------------------------------------ a missing required --communes (click 8.5 took it as given)


@pytest.mark.parametrize("command", ["build", "check"])
def test_missing_communes_is_a_usage_error_not_an_internal_one(town_outputs, command):
    source = TOWN / "addresses.csv" if command == "build" else town_outputs[".geojson"]
    res = run(command, source, *(["-o", town_outputs[".geojson"].with_name("x.geojson")] if command == "build"
                                 else []))
    assert res.exit_code == 2 and "Missing option '--communes'" in res.output, res.output


# ------------------------------------------------ what Debian's GDAL 3.6 (ogrinfo) opens, as docs/qgis.md says


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_ogrinfo_opens_each_format_but_geoparquet_only_with_its_driver(town_outputs, suffix):
    proc = subprocess.run([ogrinfo(), "-ro", "-al", "-so", str(town_outputs[suffix])],
                          capture_output=True, text=True, timeout=60)
    if suffix in FORMATS["parquet"] and "Parquet" not in ogrinfo_formats():
        # Debian 12's GDAL 3.6.2 is built without Arrow: no Parquet driver, the file does not open
        assert proc.returncode != 0 and "Unable to open" in proc.stdout + proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    assert f"Feature Count: {N_STATIONS}" in proc.stdout


def test_plain_parquet_stays_an_address_table(tmp_path):
    """The address reader keeps reading non-geo Parquet: only polygon layers go through read_geoparquet."""
    from boundaries.read import read_table

    pd.DataFrame({"a": ["1"]}).to_parquet(tmp_path / "t.parquet")
    df, crs, _ = read_table(tmp_path / "t.parquet")
    assert list(df.columns) == ["a"] and crs is None


@pytest.mark.parametrize("suffix", [".parquet", ".geojsons"])
def test_qgis_opens_geoparquet_only_where_gdal_has_its_driver(town_outputs, suffix):
    """Debian's QGIS 3.22 (on GDAL 3.6.2, no Parquet driver) cannot open our GeoParquet; it opens the
    RFC 8142 GeoJSON sequence (.geojsons), which tests/test_clients.py does not cover."""
    from clients import pyqgis_layer_info

    info = pyqgis_layer_info(town_outputs[suffix])
    if suffix == ".parquet" and "Parquet" not in ogrinfo_formats():  # QGIS reads through the same GDAL
        assert info["valid"] is False, info
    else:
        assert info["valid"] and info["features"] == N_STATIONS, info


def test_a_geoparquet_bomb_is_refused_before_it_is_read(town_outputs, tmp_path):
    """A GeoParquet station repeated past PARQUET_CHECK_AFTER_ROWS: a small file that would fill memory."""
    from boundaries import read

    small = gpd.GeoDataFrame({"id_bv": ["99001_1"] * 1000}, geometry=[shapely.box(2.9, 46.5, 2.91, 46.51)] * 1000,
                             crs=4326)
    small.to_parquet(tmp_path / "small.parquet")
    chunk = pq.read_table(tmp_path / "small.parquet")
    n = read.PARQUET_CHECK_AFTER_ROWS + 1000
    bomb = tmp_path / "stations.parquet"
    pq.write_table(pa.concat_tables([chunk] * (n // 1000)), bomb, compression="zstd")  # chunks shared, not copied
    assert bomb.stat().st_size * read.MAX_PARQUET_ROWS_PER_BYTE < n
    line = _one_line_exit_2(bomb)
    assert "per byte" in line and "give it as GeoPackage" in line and "address" not in line
