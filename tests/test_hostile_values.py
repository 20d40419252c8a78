"""Station ids and values out of schema (issue 17, items 4, 10 and the results half of 8).

Every generated input either builds a layer whose ``id_bv`` is unique and whose report
accounts for every input station, or is refused in one line (exit 2) with nothing written.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.results import join_results
from conftest import TOWN

sys.path.insert(0, str(Path(__file__).parent))
from helpers import grid_town  # noqa: E402

#: Two communes of two stations each, 8 addresses a station (built in well under a second).
PTS, OUTLINES, _ = grid_town("94", "EPSG:2154", origin=(652000, 6855000), n=1, stations_per_commune=2,
                             points_per_station=8)
PTS2, OUTLINES2, _ = grid_town("94", "EPSG:2154", origin=(652000, 6855000), n=2, stations_per_commune=2,
                               points_per_station=3)
PTS2 = PTS2[PTS2["code_commune_ref"].isin(["94001", "94002"])].reset_index(drop=True)  # two communes side by side
OUTLINES2 = OUTLINES2[OUTLINES2["code"].isin(["94001", "94002"])].reset_index(drop=True)
#: Characters of hostile station codes: digits, the separator, letters, spaces, dots, controls.
HOSTILE_ID = st.text(alphabet=list("0123456789_ABab .-/\t\x1b$é"), max_size=8)
#: Floats at the limits, as numbers and as the text a CSV would hold.
LIMITS = st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1.0, 2.0 ** 63, -0.0, 5e-324, 1e23, 0.5, 3.0,
                          1e6, 1e6 + 1])


def _accounted(result, table) -> None:
    """``id_bv`` unique; every station of the input is built or listed without polygon; the rows add up."""
    r = result.report
    ids = result.stations["id_bv"]
    assert not ids.duplicated().any()
    assert r.stations_in == r.stations_out + len(r.stations_without_polygon)
    assert r.rows_read == r.rows_out_of_scope + r.rows_used + r.rows_held_out + sum(r.rows_dropped.values())
    pairs = table.groupby(["code_commune_ref", "id_brut_bv_reu"], dropna=False).ngroups
    assert r.stations_in <= pairs  # forms of one id merged, never a station lost without a trace


@settings(deadline=None)
@given(ids=st.lists(HOSTILE_ID, min_size=2, max_size=2), shared=st.booleans(), as_int=st.booleans())
def test_station_ids_shared_bare_or_hostile_give_unique_ids(ids, shared, as_int):
    """Ids from a hostile alphabet, one id in two communes, bare integers: unique id_bv, or one line."""
    table = PTS2.copy()
    number = table["id_brut_bv_reu"].str.split("_").str[1].astype(int)
    table["id_brut_bv_reu"] = [ids[k - 1] for k in number]  # the same codes in both communes
    if shared:  # a qualified id put on another commune's rows
        table.loc[table["code_commune_ref"] == "94002", "id_brut_bv_reu"] = "94001_1"
    if as_int:
        table["id_brut_bv_reu"] = np.arange(len(table)) % 3
    try:
        result = boundaries.build(table, OUTLINES2)
    except InputError as exc:
        assert "\n" not in str(exc) and ("station id" in str(exc) or "no address" in str(exc))
        return
    _accounted(result, table)


def test_one_id_in_two_communes_is_dropped_with_its_reason_not_built_twice():
    table = PTS2.copy()
    table.loc[table["code_commune_ref"] == "94002", "id_brut_bv_reu"] = "94001_1"
    result = boundaries.build(table, OUTLINES2)
    assert list(result.stations["id_bv"]).count("94001_1") == 1
    assert result.report.rows_dropped["station_of_other_commune"] == (table["code_commune_ref"] == "94002").sum()
    assert {"id_bv": "94001_1", "code_commune": "94002"}.items() <= result.report.stations_without_polygon[0].items()


def test_bare_integer_ids_are_qualified_by_their_commune(tmp_path):
    table = PTS2.copy()
    table["id_brut_bv_reu"] = table["id_brut_bv_reu"].str.split("_").str[1].astype(int)
    path = tmp_path / "a.parquet"
    table.to_parquet(path)
    result = boundaries.build(path, OUTLINES2)
    assert sorted(result.stations["id_bv"]) == sorted(PTS2["id_brut_bv_reu"].unique())
    assert result.report.codes_repaired["rows"] == len(table)
    assert any("bare station id" in w for w in result.report.warnings)


def test_two_forms_of_one_id_are_one_station():
    table = PTS.copy()
    table.loc[table.index[::2], "id_brut_bv_reu"] = table["id_brut_bv_reu"].str.replace("_", "_000")
    result = boundaries.build(table, OUTLINES)
    assert len(result.stations) == 2 and result.report.stations_in == 2


@pytest.mark.parametrize("bad", ["94001_", "", None])
def test_empty_station_ids_are_dropped_with_a_reason(bad):
    table = PTS.copy()
    table.loc[:2, "id_brut_bv_reu"] = bad
    result = boundaries.build(table, OUTLINES)
    assert result.report.rows_dropped["no_station_id"] == 3
    assert "" not in set(result.stations["id_bv"]) and "94001_" not in set(result.stations["id_bv"])


def test_mostly_foreign_ids_are_refused_in_one_line():
    table = PTS.copy()
    table["id_brut_bv_reu"] = table["id_brut_bv_reu"].str.replace("94001", "94002")
    with pytest.raises(InputError, match="naming another commune"):
        boundaries.build(table, OUTLINES)


@settings(deadline=None)
@given(value=LIMITS, as_text=st.booleans(), row=st.integers(0, len(PTS) - 1))
def test_weights_at_the_limits_are_refused_or_counted_exactly(value, as_text, row):
    table = PTS.copy()
    table["nb_adresses"] = table["nb_adresses"].astype(object)
    table.loc[row, "nb_adresses"] = repr(value) if as_text else value
    ok = (math.isnan(value) and not as_text) or 0 <= value <= 1e6  # the text "nan" is not a weight
    try:
        result = boundaries.build(table, OUTLINES)
    except InputError as exc:
        assert not ok and f"data row {row + 1}" in str(exc) and "nb_adresses" in str(exc)
        return
    assert ok
    weights = result.stations["n_weight"].to_numpy(dtype=float)
    assert (weights >= 0).all() and np.isfinite(weights).all()
    expected = len(table) - 1 + (value if 0 < value else 1.0) if not math.isnan(value) else len(table)
    assert weights.sum() == pytest.approx(expected, rel=1e-9)


@settings(deadline=None)
@given(kind=st.sampled_from(["list", "dict", "timestamp", "bool", "bytes"]), column=st.sampled_from(
    ["longitude", "latitude"]), parquet=st.booleans())
def test_coordinates_of_another_type_are_refused_naming_the_column(tmp_path_factory, kind, column, parquet):
    value = {"list": [2.0, 46.0], "dict": {"x": 2.0}, "timestamp": pd.Timestamp("2024-01-01"), "bool": True,
             "bytes": b"2.0"}[kind]
    table = PTS.copy()
    table[column] = pd.Series([value] * len(table), dtype=object)
    source = table
    if parquet:
        source = tmp_path_factory.mktemp("pq") / "a.parquet"
        try:
            table.to_parquet(source)
        except Exception:  # pyarrow cannot store every mix: not this test's business
            return
    with pytest.raises(InputError, match=f"column '{column}' holds .* not numbers"):
        boundaries.build(source, OUTLINES)


@settings(deadline=None)
@given(name=st.sampled_from(["longitude", "latitude", "id_brut_bv_reu", "code_commune_ref", "nb_adresses"]),
       case=st.sampled_from([str, str.upper, str.title]), first=st.booleans())
def test_two_columns_of_one_name_are_refused(tmp_path_factory, name, case, first):
    folder = tmp_path_factory.mktemp("dup")
    table = PTS.copy()
    other = table[name].copy()
    header = list(table.columns) + [case(name)]
    text = table.assign(extra=other).to_csv(index=False, header=header if first else None)
    path = folder / "a.csv"
    path.write_text(text if first else ",".join(header) + "\n" + text)
    out = folder / "o.geojson"
    res = CliRunner().invoke(main, ["build", str(path), "--communes", str(TOWN / "communes.geojson"), "-o", str(out)])
    assert res.exit_code == 2 and "two columns named" in res.output and len(res.output.strip().splitlines()) == 1
    assert not out.exists()


# -- results ------------------------------------------------------------------------------------------------

def _town_cli(tmp_path, results_text: str, fmt: str = "gpkg"):
    """Build the two small communes with ``results_text`` as ``--results``: (CLI result, files of ``tmp_path``)."""
    a, c, results = tmp_path / "a.csv", tmp_path / "c.geojson", tmp_path / "r.csv"
    PTS.to_csv(a, index=False)
    OUTLINES.to_file(c)
    results.write_text(results_text)
    out = tmp_path / f"o.{fmt}"
    res = CliRunner().invoke(main, ["build", str(a), "--communes", str(c), "-o", str(out), "--results", str(results),
                                    "-q"])
    return res, sorted(p.name for p in tmp_path.iterdir() if p.name not in ("a.csv", "c.geojson"))


@settings(deadline=None)
@given(name=st.sampled_from(["fid", "id_bv", "geometry", "code_commune", "votes", "n_weight", "geom"]),
       case=st.sampled_from([str, str.upper, str.title]), twice=st.booleans())
def test_results_columns_meeting_a_field_are_refused_before_the_build(tmp_path_factory, name, case, twice):
    tmp = tmp_path_factory.mktemp("res")
    cols = [case(name)] + ([case(name) + "_results" if name != "votes" else "VOTES"] if twice else [])
    text = "codeBureauVote," + ",".join(cols) + "\n94001_0001," + ",".join("1" for _ in cols) + "\n"
    res, files = _town_cli(tmp, text)
    renamed_exact = case(name) == name and name in ("id_bv", "code_commune", "n_weight", "geometry")
    clash = (name in ("fid", "geom") or (name != "votes" and case(name) != name) or twice) \
        and not (renamed_exact and not twice)
    if clash:
        assert res.exit_code == 2 and ("would meet another field" in res.output or "two columns named" in res.output)
        assert files == ["r.csv"]  # refused before the build: nothing written
    else:
        assert res.exit_code == 0, res.output


@settings(deadline=None)
@given(value=LIMITS.map(repr) | st.sampled_from(["1e23", "-9223372036854775809", "Infinity", "12,5"]))
def test_results_values_beyond_int64_or_infinite_are_refused(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("res")
    res, files = _town_cli(tmp, f'codeBureauVote;votes\n94001_0001;{value}\n94001_0002;3\n')
    number = float(value.replace(",", "."))  # "nan" is no number: the column stays text
    if math.isinf(number) or (math.isfinite(number) and number == round(number) and abs(number) >= 2 ** 63):
        assert res.exit_code == 2 and "column 'votes', data row 1" in res.output
        assert files == ["r.csv"]
    else:
        assert res.exit_code == 0, res.output


@settings(deadline=None)
@given(widths=st.lists(st.integers(1, 5), min_size=1, max_size=6), header=st.integers(2, 5))
def test_ragged_results_rows_are_refused_naming_the_line(tmp_path_factory, widths, header):
    tmp = tmp_path_factory.mktemp("res")
    names = ["codeBureauVote"] + [f"c{i}" for i in range(1, header)]
    lines = [",".join(names)] + [",".join([f"94001_{i:04d}"] + ["7"] * (w - 1)) for i, w in enumerate(widths, 1)]
    res, files = _town_cli(tmp, "\n".join(lines) + "\n")
    bad = [i for i, w in enumerate(widths) if w != header]
    if bad:
        assert res.exit_code == 2 and f"line {bad[0] + 2} has" in res.output, res.output
        assert files == ["r.csv"]
    else:
        assert res.exit_code == 0, res.output


def test_join_refuses_a_layer_with_one_station_twice():
    import geopandas as gpd
    import shapely

    layer = gpd.GeoDataFrame({"id_bv": ["94001_1", "94001_0001"]}, geometry=[shapely.box(0, 0, 1, 1)] * 2,
                             crs="EPSG:2154")
    with pytest.raises(InputError, match="two stations 94001_1"):
        join_results(layer, pd.DataFrame({"code_bv": ["94001_0001"], "votes": ["3"]}))
