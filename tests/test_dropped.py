"""The dropped-addresses layer (``--dropped FILE``, the ``dropped`` layer of a GeoPackage): issue 18, item 5.

Every row not used for a polygon is listed once, with the report's reason, its row
number and station; the counts per reason are the report's ``rows_dropped``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.clean import REASONS

from conftest import ROOT, TOWN

ADDRESSES = pd.read_csv(TOWN / "addresses.csv", dtype=str, keep_default_na=False)
COMMUNES = str(TOWN / "communes.geojson")
#: A commune of the town with two stations and few rows: builds in a fraction of a second.
SMALL = ADDRESSES[ADDRESSES["code_commune_ref"] == "99003"].reset_index(drop=True)


def spoil(table: pd.DataFrame, no_xy=(), outside=(), unknown=()) -> pd.DataFrame:
    """``table`` with the rows at these positions spoiled: coordinates removed, moved to Paris, or
    given a commune that has no outline."""
    out = table.copy()
    out.loc[list(no_xy), ["longitude", "latitude"]] = ""
    out.loc[list(outside), ["longitude", "latitude"]] = ["2.3522", "48.8566"]
    out.loc[list(unknown), ["code_commune_ref", "id_brut_bv_reu"]] = ["99009", "99009_1"]
    return out


def counts(dropped) -> dict:
    return dropped["reason"].value_counts().to_dict()


def assert_counts_match(result) -> None:
    """The layer's count of each reason is the report's, and nothing else is listed."""
    listed = counts(result.dropped)
    assert {k: v for k, v in result.report.rows_dropped.items() if v} == listed
    assert set(listed) <= set(REASONS)
    assert len(result.dropped) == result.report.rows_read - result.report.rows_used \
        - result.report.rows_held_out - result.report.rows_out_of_scope


def reasons_by_row(dropped) -> dict:
    return dict(zip(dropped["row"], dropped["reason"]))


def test_spoiled_rows_are_listed_with_their_reason():
    base = boundaries.build(SMALL, COMMUNES)
    used = np.setdiff1d(np.arange(len(SMALL)), base.dropped["row"].to_numpy() - 1)
    no_xy, outside, unknown, dup = used[:2], used[2:4], used[4:6], used[6]
    table = spoil(SMALL, no_xy, outside, unknown)
    # a duplicate of a used row, given another station of the commune: one of the two loses the point
    other = sorted(set(SMALL["id_brut_bv_reu"]) - {SMALL.loc[dup, "id_brut_bv_reu"]})[0]
    table = pd.concat([table, table.loc[[dup]].assign(id_brut_bv_reu=other)], ignore_index=True)
    result = boundaries.build(table, COMMUNES)
    by_row = reasons_by_row(result.dropped)
    for i in no_xy:
        assert by_row[i + 1] == "no_coordinates"
    for i in outside:
        assert by_row[i + 1] == "outside_commune"
    for i in unknown:
        assert by_row[i + 1] == "commune_without_outline"
    assert "contested_coordinate" in (by_row.get(dup + 1), by_row.get(len(table)))
    assert_counts_match(result)
    # rows without coordinates have no point; the others are points in WGS84
    geom = result.dropped.set_index("row").geometry
    assert geom.loc[no_xy + 1].isna().all()
    assert geom.loc[outside + 1].notna().all() and result.dropped.crs.to_epsg() == 4326
    assert (result.dropped.loc[result.dropped["row"].isin(unknown + 1), "code_commune"] == "99009").all()


@settings(deadline=None)
@given(st.data())
def test_random_spoilings_are_all_listed(data):
    """Any rows spoiled in any of three ways: each listed once with its reason, the counts the report's."""
    n = len(SMALL)
    picked = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=12))
    ways = data.draw(st.lists(st.sampled_from(["no_xy", "outside", "unknown"]), min_size=len(picked),
                              max_size=len(picked)))
    groups = {w: [i for i, v in zip(picked, ways) if v == w] for w in ("no_xy", "outside", "unknown")}
    table = spoil(SMALL, groups["no_xy"], groups["outside"], groups["unknown"])
    try:
        result = boundaries.build(table, COMMUNES)
    except boundaries.InputError:  # every row spoiled: nothing built, refused in one line
        return
    by_row = reasons_by_row(result.dropped)
    expected = {"no_xy": "no_coordinates", "outside": "outside_commune", "unknown": "commune_without_outline"}
    for way, rows in groups.items():
        for i in rows:
            assert by_row[i + 1] == expected[way], (way, i)
    assert result.dropped["row"].is_unique
    assert_counts_match(result)


@pytest.mark.parametrize("holdout", [0.0, 0.2])
def test_town_counts_equal_report(holdout):
    """Held-out rows are not dropped: never listed."""
    result = boundaries.build(str(TOWN / "addresses.csv"), COMMUNES, holdout=holdout)
    assert len(result.dropped) > 0 and (result.report.rows_held_out > 0) == bool(holdout)
    assert_counts_match(result)


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "boundaries", "build", str(TOWN / "addresses.csv"), "--communes",
                           COMMUNES, "-q", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv"])
def test_cli_writes_the_list_in_each_format(tmp_path, suffix):
    import pyogrio

    out = tmp_path / "t.gpkg"
    target = tmp_path / f"dropped{suffix}"
    done = run_cli("-o", str(out), "--dropped", str(target))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "t.report.json").read_text())
    if suffix == ".csv":
        table = pd.read_csv(target, dtype={"code_commune": str})
        assert list(table.columns) == ["row", "id_bv", "code_commune", "reason", "longitude", "latitude"]
        assert table.loc[table["reason"] == "no_coordinates", "longitude"].isna().all()
    else:
        table = pyogrio.read_dataframe(target)
        # the layer is named "dropped", not after the temporary file it was written to
        assert [name for name, _ in pyogrio.list_layers(target)] == ["dropped"]
    assert table["reason"].value_counts().to_dict() == {k: v for k, v in report["rows_dropped"].items() if v}
    layer = pyogrio.read_dataframe(out, layer="dropped")  # the GeoPackage output holds them too
    assert len(layer) == len(table)


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="ogrinfo (GDAL) not installed")
def test_gpkg_dropped_layer_opens_in_ogrinfo(tmp_path):
    out = tmp_path / "t.gpkg"
    assert run_cli("-o", str(out)).returncode == 0
    info = subprocess.run(["ogrinfo", "-so", str(out), "dropped"], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert "Geometry: Point" in info.stdout and "Feature Count: 66" in info.stdout
    assert "ERROR" not in info.stderr


@pytest.mark.parametrize("args, message", [
    (["--dropped", "{tmp}/d.shp"], "--dropped {tmp}/d.shp: unknown format '.shp'; use one of .geojson, .gpkg, .csv"),
    (["--dropped", "{tmp}/t.geojson"], "would replace another output of the run"),
    (["--dropped", "{tmp}/t.report.json"], "unknown format '.json'"),
    (["--dropped", str(TOWN / "addresses.csv")], "is also an input"),
    (["--dropped", "/dev/null"], "is a character device"),
    (["--dropped", "{tmp}/d.csv", "--all"], "--dropped lists the dropped addresses of one build, not of a run by "
                                           "département"),
])
def test_bad_dropped_paths_are_one_line_exit_2(tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    done = run_cli("-o", str(tmp_path / "t.geojson"), *args)
    assert done.returncode == 2, done.stderr
    assert message.format(tmp=tmp_path) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "t.geojson").exists() and not (tmp_path / "d.csv").exists()


def test_write_refuses_dropped_without_a_list(tmp_path):
    result = boundaries.build(SMALL, COMMUNES)
    result.dropped = None  # what a run by département returns
    with pytest.raises(boundaries.InputError, match="not of a run by département"):
        result.write(str(tmp_path / "t.geojson"), dropped=str(tmp_path / "d.csv"))
    assert not (tmp_path / "t.geojson").exists()


def test_row_numbers_are_the_files_or_left_empty_when_a_selection_skipped_rows(tmp_path):
    """A selection filters the file while reading: positions are not line numbers then, so ``row`` is empty."""
    table = pd.read_csv(TOWN / "addresses.csv", dtype=str)
    table.loc[5, "longitude"] = ""  # one dropped row: no coordinates
    path = tmp_path / "a.csv"
    table.to_csv(path, index=False)
    whole = boundaries.build(path, TOWN / "communes.geojson", jobs=1).dropped
    assert 6 in set(whole["row"])  # data row 6 is index 5
    code = table.loc[5, "code_commune_ref"]
    picked = boundaries.build(path, TOWN / "communes.geojson", commune=code, jobs=1)
    # the town's other communes were skipped while reading: positions are not the file's rows
    assert len(picked.dropped) and picked.dropped["row"].isna().all()
