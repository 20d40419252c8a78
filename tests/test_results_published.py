"""Results as published (issue 18, item 8): whole numbers stay integers, unmatched ids are listed.

A results column of whole numbers is written as integers in every format (nullable:
a station without a result gets null, not NaN that would make the column real), and
the report's ``results`` section lists, on each side, the ids that did not match.
"""

import json
import subprocess
import sys

import geopandas as gpd
import jsonschema
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.errors import InputError
from boundaries.results import (MAX_LISTED_IDS, MINISTRY_OVERSEAS, join_results, ministry_station_ids,
                                read_results, with_station_ids)
from boundaries.schema import load_schema
from boundaries.write import write_stations
from conftest import TOWN
from helpers import file_properties

BIN = [sys.executable, "-m", "boundaries"]
#: Output file of each format.
FILES = {"geojson": "s.geojson", "geojsonseq": "s.geojsonl", "gpkg": "s.gpkg", "fgb": "s.fgb",
         "parquet": "s.parquet"}
#: Two stations with a result (613 and 7 votes), one result row without a station.
RESULTS = "codeBureauVote;votes;pct\n99001_0001;613;51,5\n99001_0002;7;3\n99999_0001;10;1\n"
INT64 = st.integers(-(2 ** 63) + 1, 2 ** 63 - 1)


def run(*args):
    return subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True)


def properties(path, fmt) -> list[dict]:
    """Every feature's properties in the file's own types (the stations layer of a GeoPackage)."""
    return file_properties(path, fmt, "stations" if fmt == "gpkg" else None)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The town built with results into every format, through the command."""
    out = tmp_path_factory.mktemp("published")
    (out / "r.csv").write_text(RESULTS)
    procs = {}
    for fmt, name in FILES.items():
        procs[fmt] = run("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson",
                         "-o", out / name, "--results", out / "r.csv")
        assert procs[fmt].returncode == 0, procs[fmt].stderr
    return out, procs


# --- (a) integers stay integers --------------------------------------------------------

@pytest.mark.parametrize("fmt", list(FILES))
def test_vote_counts_are_integers_in_every_format(built, fmt):
    out, _ = built
    by_id = {p["id_bv"]: p for p in properties(out / FILES[fmt], fmt)}
    assert by_id["99001_1"]["votes"] == 613 and type(by_id["99001_1"]["votes"]) is int
    assert type(by_id["99001_2"]["votes"]) is int and by_id["99001_2"]["pct"] == 3.0
    assert by_id["99001_1"]["pct"] == 51.5
    assert by_id["99002_1"]["votes"] is None  # no result: null, not NaN
    assert len(by_id) == 14


@pytest.mark.parametrize("fmt", ["geojson", "geojsonseq"])
def test_geojson_text_writes_613_not_613_0(built, fmt):
    out, _ = built
    text = (out / FILES[fmt]).read_text()
    assert '"votes": 613,' in text or '"votes": 613 ' in text
    assert "613.0" not in text


@pytest.mark.parametrize("fmt", ["gpkg", "fgb"])
def test_gdal_formats_declare_an_integer_field(built, fmt):
    out, _ = built
    info = pyogrio.read_info(out / FILES[fmt], layer="stations" if fmt == "gpkg" else None)
    types = dict(zip(info["fields"], info["dtypes"]))
    assert types["votes"] == "int64" and types["pct"] == "float64"


def test_parquet_column_is_int64(built):
    out, _ = built
    schema = pq.read_schema(out / FILES["parquet"])
    assert str(schema.field("votes").type) == "int64" and schema.field("votes").nullable


def test_python_api_keeps_nullable_int64():
    table = pd.DataFrame({"codeBureauVote": ["99001_0001", "99001_0002"], "votes": ["613", "7"]})
    result = boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson", results=table, jobs=1)
    votes = result.stations.set_index("id_bv")["votes"]
    assert str(votes.dtype) == "Int64"
    assert votes["99001_1"] == 613 and pd.isna(votes["99002_1"])


def _layer(ids) -> gpd.GeoDataFrame:
    """Stations ``ids`` as small squares side by side (in metres, Lambert-93 near Paris)."""
    boxes = [shapely.box(652000 + 10 * i, 6855000, 652010 + 10 * i, 6855010) for i in range(len(ids))]
    return gpd.GeoDataFrame({"id_bv": ids}, geometry=boxes, crs="EPSG:2154")


@settings(deadline=None)
@given(values=st.lists(INT64, min_size=1, max_size=6), with_gap=st.booleans(),
       fmt=st.sampled_from(list(FILES)), data=st.data())
def test_any_int64_is_written_exactly(tmp_path_factory, values, with_gap, fmt, data):
    """Whole numbers anywhere in int64 (beyond 2**53 a float would change them) come back exact."""
    ids = [f"94001_{i + 1}" for i in range(len(values) + with_gap)]
    table = pd.DataFrame({"code_bv": ids[:len(values)], "n": [str(v) for v in values]})
    stations, _ = join_results(_layer(ids), table)
    assert str(stations["n"].dtype) == "Int64"
    path = tmp_path_factory.mktemp("int") / FILES[fmt]
    write_stations(stations, str(path), fmt)
    got = {p["id_bv"]: p["n"] for p in properties(path, fmt)}
    assert [got[i] for i in ids[:len(values)]] == values
    assert all(type(got[i]) is int for i in ids[:len(values)])
    if with_gap:
        assert got[ids[-1]] is None


# --- (b) unmatched ids listed -----------------------------------------------------------

def test_report_lists_the_unmatched_ids_on_each_side(built):
    out, procs = built
    report = json.loads((out / "s.report.json").read_text())["results"]
    assert report["results_without_station_ids"] == ["99999_1"]
    assert report["stations_without_result"] == 12 and report["stations_without_result_unlisted"] == 0
    assert report["stations_without_result_ids"][:3] == ["99001_3", "99001_4", "99001_5"]
    assert len(report["stations_without_result_ids"]) == 12
    assert ("12 without a result (99001_3, 99001_4, 99001_5, 99001_6, 99001_7 and 7 more), "
            "1 results row without a station (99999_1)") in procs["geojson"].stderr


RESULTS_SCHEMA = {**load_schema(), "$ref": "#/$defs/report/properties/results"}
#: Integers strictly (not 3.0), as tests/test_schema.py checks them.
VALIDATOR = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=(
    jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))))(RESULTS_SCHEMA)


@settings(deadline=None)
@given(stations=st.sets(st.integers(1, 60), min_size=1, max_size=45),
       results=st.sets(st.integers(1, 90), min_size=1, max_size=45),
       padded=st.booleans())
def test_unmatched_ids_are_listed_capped_and_counted(stations, results, padded):
    """Any split of matching / non-matching ids: each side listed (sorted, capped), the rest counted."""
    st_ids = [f"94001_{n}" for n in sorted(stations)]
    res_ids = [f"94001_{n:04d}" if padded else f"94001_{n}" for n in sorted(results)]
    table = pd.DataFrame({"codeBureauVote": res_ids, "votes": ["1"] * len(res_ids)})
    if not stations & results:  # nothing joins: refused (tests/test_results_join.py)
        with pytest.raises(InputError, match="no results row matches a station"):
            join_results(_layer(st_ids), table)
        return
    _, stats = join_results(_layer(st_ids), table)
    without = sorted(f"94001_{n}" for n in stations - results)
    orphans = sorted(f"94001_{n}" for n in results - stations)
    assert stats["matched_stations"] == len(stations & results)
    assert stats["stations_without_result"] == len(without)
    assert stats["results_without_station"] == len(orphans)
    assert stats["stations_without_result_ids"] == without[:MAX_LISTED_IDS]
    assert stats["results_without_station_ids"] == orphans[:MAX_LISTED_IDS]
    assert stats["stations_without_result_unlisted"] == max(len(without) - MAX_LISTED_IDS, 0)
    assert stats["results_without_station_unlisted"] == max(len(orphans) - MAX_LISTED_IDS, 0)
    assert not list(VALIDATOR.iter_errors(stats))


# --- (c) the Ministry's file as published -------------------------------------------------

#: The Ministry's layout: separate département / commune / station codes, then counts and candidates.
MINISTRY = ("Code du département;Libellé du département;Code de la commune;Libellé de la commune;Code du b.vote;"
            "Inscrits;Exprimés;DUPONT\n"
            "99;Test;1;Ville 1;0001;900;613;300\n99;Test;1;Ville 1;2;800;7;1\n99;Test;9;Ailleurs;1;10;3;2\n")


def test_ministry_file_as_published_is_joined(tmp_path):
    (tmp_path / "r.csv").write_text(MINISTRY, encoding="cp1252")
    out = tmp_path / "s.gpkg"
    proc = run("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", out,
               "--results", tmp_path / "r.csv")
    assert proc.returncode == 0, proc.stderr
    assert "2 stations matched on codeBureauVote" in proc.stderr and "(99009_1)" in proc.stderr
    by_id = {p["id_bv"]: p for p in properties(out, "gpkg")}
    assert by_id["99001_1"]["Exprimés"] == 613 and by_id["99001_2"]["DUPONT"] == 1
    assert by_id["99001_1"]["Libellé de la commune"] == "Ville 1"
    assert "Code du b.vote" not in by_id["99001_1"]  # replaced by the id they compose


def test_ministry_code_out_of_form_is_refused_in_one_line(tmp_path):
    (tmp_path / "r.csv").write_text(MINISTRY.replace("99;Test;9;", "99;Test;1234;"))
    proc = run("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o",
               tmp_path / "s.geojson", "--results", tmp_path / "r.csv")
    assert proc.returncode == 2 and not (tmp_path / "s.geojson").exists()
    assert proc.stderr.count("\n") == 1 and "data row 3" in proc.stderr and "'1234'" in proc.stderr
    assert "Traceback" not in proc.stderr


DEPARTEMENTS = st.one_of(st.integers(1, 95).map(lambda d: f"{d:02d}"), st.sampled_from(["2A", "2B"]),
                         st.integers(971, 976).map(str), st.sampled_from(sorted(MINISTRY_OVERSEAS)))


@settings(deadline=None)
@given(rows=st.lists(st.tuples(DEPARTEMENTS, st.integers(1, 999), st.integers(0, 99999), st.booleans()),
                     min_size=1, max_size=20))
def test_ministry_codes_compose_the_insee_station_id(rows):
    """Any département form, commune number and station number (padded or not) gives {INSEE}_{station}."""
    dep = pd.Series([d for d, *_ in rows])
    number = MINISTRY_OVERSEAS.get
    width = [5 - len(number(d, d)) for d in dep]
    com = pd.Series([str(c % 10 ** w) for (_, c, _, _), w in zip(rows, width)])
    num = pd.Series([f"{n:04d}" if pad else str(n) for _, _, n, pad in rows])
    got = ministry_station_ids(dep, com, num)
    expect = [f"{number(d, d)}{int(c):0{w}d}_{n}" for d, c, n, w in zip(dep, com, num, width)]
    assert list(got) == expect and all(len(g.split("_")[0]) == 5 for g in got)


@settings(deadline=None)
@given(codes=st.tuples(*[st.text(alphabet=list("0123456789AZabz _.-\t\x00é"), max_size=5)] * 3))
def test_hostile_ministry_codes_compose_or_are_refused(codes):
    """Any text in the three columns: an INSEE-form id, or a one-line refusal naming the row."""
    try:
        got = ministry_station_ids(*(pd.Series([c]) for c in codes))
    except InputError as exc:
        assert "data row 1" in str(exc) and "\n" not in str(exc)
    else:
        commune, station = got[0].split("_", 1)
        assert len(commune) == 5 and station == codes[2].strip()


def test_paris_2022_as_published_gives_one_id_per_station():
    from conftest import shared_path

    path = shared_path("paris-2022", "presidentielle-2022-t1.csv")
    table, field = with_station_ids(read_results(path))
    ids = table[field]
    assert field == "codeBureauVote" and len(ids) == 899 and ids.is_unique
    assert ids.str.startswith("75056_").all() and ids.iloc[0] == "75056_101"
