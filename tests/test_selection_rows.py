"""Selections and rows that name nothing (the trial of 2026-12-07, bugs 5, 6 and 7).

- every ``commune`` code that matches no address row is refused in one line naming it,
  however many are given (a mistyped one among several was silently left out);
- rows that carry no station (wholly empty, ``Total;;;``, coordinates without an id)
  are dropped with a reason and never become a station or a commune;
- a national build refused by its input leaves no work folder behind.
"""

import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.cli import main
from boundaries.errors import InputError

sys.path.insert(0, str(Path(__file__).parent))
from helpers import grid_town  # noqa: E402

#: Two communes (94001, 94002) of two stations each, a few addresses a station.
PTS, OUTLINES, _ = grid_town("94", "EPSG:2154", origin=(652000, 6855000), n=2, stations_per_commune=2,
                             points_per_station=4)
PTS = PTS[PTS["code_commune_ref"].isin(["94001", "94002"])].reset_index(drop=True)
OUTLINES = OUTLINES[OUTLINES["code"].isin(["94001", "94002"])].reset_index(drop=True)
COLUMNS = ["code_commune_ref", "id_brut_bv_reu", "longitude", "latitude", "geo_type", "geo_score", "nb_adresses"]
KNOWN = ["94001", "94002"]
#: Commune codes of the right shape, mostly absent from the table (mainland, Corsica, overseas).
CODES = st.sampled_from(KNOWN) | st.from_regex(r"\A(9[0-5]|0[1-9]|2[AB])\d{3}\Z") | st.from_regex(r"\A97[1-6]\d{2}\Z")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sel")
    PTS[COLUMNS].to_csv(folder / "a.csv", index=False)
    OUTLINES.to_file(folder / "c.geojson")
    return folder


@settings(deadline=None)
@given(chosen=st.lists(CODES, min_size=1, max_size=4, unique=True), from_file=st.booleans())
def test_each_commune_without_rows_is_refused_by_name(files, chosen, from_file):
    """Any mix of known and unknown ``commune`` codes: the unknown ones named, or the known ones built."""
    missing = [c for c in chosen if c not in KNOWN]
    source = str(files / "a.csv") if from_file else PTS[COLUMNS]
    if missing:
        with pytest.raises(InputError) as caught:
            boundaries.build(source, OUTLINES, commune=chosen)
        text = str(caught.value)
        assert "\n" not in text and "no address in commune" in text
        assert all(c in text for c in missing) and not any(c in text for c in chosen if c in KNOWN)
        return
    result = boundaries.build(source, OUTLINES, commune=chosen)
    assert set(result.stations["code_commune"]) == set(chosen)


def test_a_mistyped_commune_among_several_is_exit_2_and_nothing_written(files, tmp_path):
    out = tmp_path / "sel.geojson"
    run = CliRunner().invoke(main, ["build", str(files / "a.csv"), "--communes", str(files / "c.geojson"),
                                    "--commune", "94001", "--commune", "94999", "-o", str(out)])
    assert run.exit_code == 2, run.output
    assert "no address in commune 94999" in run.output and "94001" not in run.output.split("commune 94999")[1]
    assert list(tmp_path.iterdir()) == []


#: A table over two départements (94, 95), as a CSV: a build of several départements splits it.
PTS95, OUTLINES95, _ = grid_town("95", "EPSG:2154", origin=(640000, 6880000), n=1, stations_per_commune=2,
                                 points_per_station=4)


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nat")
    pd.concat([PTS, PTS95], ignore_index=True)[COLUMNS].to_csv(folder / "a.csv", index=False)
    pd.concat([OUTLINES, OUTLINES95], ignore_index=True).to_file(folder / "c.geojson")
    return folder


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


@settings(deadline=None)
@given(state=st.sampled_from(["absent", "nested", "empty", "held"]), wrong=st.sampled_from(["93", "2A", "974"]),
       jobs=st.sampled_from([1, 2]))
def test_a_refused_national_build_leaves_the_work_folder_as_it_was(national, tmp_path_factory, state, wrong, jobs):
    """A département without rows, refused after the split: the work folder as before the run, or none."""
    top = tmp_path_factory.mktemp("work")
    work = top / "a" / "b" if state == "nested" else top / "parts"
    if state in ("empty", "held"):
        work.mkdir()
    if state == "held":  # someone's file and a split of an earlier run: never ours to remove
        (work / "notes.txt").write_text("mine")
        (work / "input-0123456789abcdef").mkdir()
        (work / "input-0123456789abcdef" / "split.json").write_text("{}")
    before = _tree(top)
    with pytest.raises(InputError, match=f"no address in département {wrong}"):
        boundaries.build(str(national / "a.csv"), str(national / "c.geojson"), departement=["94", wrong],
                         work_dir=str(work), jobs=jobs)
    assert _tree(top) == before


def test_the_cli_refusal_leaves_no_parts_and_a_build_keeps_them_for_a_rerun(national, tmp_path):
    args = ["build", str(national / "a.csv"), "--communes", str(national / "c.geojson"), "--departement", "94",
            "-o", str(tmp_path / "sel.geojson"), "-j", "2", "-q"]
    run = CliRunner().invoke(main, [*args, "--departement", "93"])
    assert run.exit_code == 2 and "no address in département 93" in run.output
    assert list(tmp_path.iterdir()) == []
    assert CliRunner().invoke(main, [*args, "--departement", "95"]).exit_code == 0
    parts = _tree(tmp_path / "sel.geojson.parts")
    assert any(name.startswith("input-") for name in parts) and any(name.startswith("94-") for name in parts)
    assert CliRunner().invoke(main, [*args, "--departement", "93"]).exit_code == 2
    assert _tree(tmp_path / "sel.geojson.parts") == parts  # the split and the parts kept for a rerun


#: Rows that name no station, as the cells of a CSV line (``None``: the empty cell): each is dropped.
def _unnamed_row(kind: str, i: int, fill: str) -> list:
    src = PTS.iloc[i % len(PTS)]
    cells = [fill] * len(COLUMNS)
    if kind == "total":  # "Total;;;" in a text cell, nothing else (in the commune column, it is a commune)
        cells[1 if i % 2 else 4] = "Total"
    elif kind == "point":  # a point and its commune, no station id
        cells[0], cells[2], cells[3] = src["code_commune_ref"], str(src["longitude"]), str(src["latitude"])
    elif kind == "no_commune":  # a station id and a point, no commune code
        cells[1], cells[2], cells[3] = src["id_brut_bv_reu"], str(src["longitude"]), str(src["latitude"])
    elif kind == "bare_prefix":  # a commune code and "_" alone
        cells[0], cells[1] = src["code_commune_ref"], f"{src['code_commune_ref']}_"
    return cells


UNNAMED = st.lists(st.tuples(st.sampled_from(["empty", "total", "point", "no_commune", "bare_prefix"]),
                             st.integers(0, 10_000)), min_size=1, max_size=6)


@pytest.fixture(scope="module")
def clean_build():
    return boundaries.build(PTS[COLUMNS], OUTLINES)


@settings(deadline=None)
@given(extra=UNNAMED, sep=st.sampled_from([",", ";", "\t"]), fill=st.sampled_from(["", " ", "  "]),
       blank_lines=st.integers(0, 3), as_frame=st.booleans())
def test_rows_that_name_no_station_are_dropped_never_a_station(clean_build, tmp_path_factory, extra, sep, fill,
                                                               blank_lines, as_frame):
    """Empty lines, ``Total;;;``, points without id or commune, at random places: dropped, the layer unchanged."""
    lines = [list(map(str, r)) for r in PTS[COLUMNS].itertuples(index=False)]
    named = []  # the added rows that are not empty lines: a repeated one is still a duplicate row
    for n, (kind, at) in enumerate(extra):
        lines.insert(at % (len(lines) + 1), _unnamed_row(kind, n, fill))
        if kind != "empty" and (kind != "total" or n % 2):
            named.append(tuple(_unnamed_row(kind, n, fill)))
    if as_frame:
        source = pd.DataFrame([[None if c.strip() == "" else c for c in line] for line in lines], columns=COLUMNS)
    else:
        source = tmp_path_factory.mktemp("unnamed") / "a.csv"
        text = "\n".join(sep.join(line) for line in [COLUMNS, *lines]) + "\n" * (1 + blank_lines)
        source.write_text(text, encoding="utf-8")
    result = boundaries.build(source, OUTLINES)
    r = result.report
    assert r.rows_read == len(lines)
    assert sum(r.rows_dropped.values()) - sum(clean_build.report.rows_dropped.values()) == len(extra)
    assert r.rows_dropped.get("no_station_id", 0) == len(extra)
    assert (r.stations_in, r.communes_without_outline, r.duplicate_rows) == (4, [], len(named) - len(set(named)))
    assert not r.stations_without_polygon and set(r.communes) == {"94001", "94002"}
    assert all(line.rstrip(" :") == line.rstrip() for line in r.text().splitlines())  # no empty list printed
    assert result.stations.drop(columns="geometry").equals(clean_build.stations.drop(columns="geometry"))
    assert result.stations.geometry.geom_equals_exact(clean_build.stations.geometry, 0).all()


def test_an_unnamed_row_of_a_commune_without_outline_makes_no_station():
    table = PTS[COLUMNS].copy()
    extra = table.iloc[[0, 1]].copy()
    extra["code_commune_ref"] = ["94099", "Total"]
    extra["id_brut_bv_reu"] = ["94099_", None]
    result = boundaries.build(pd.concat([table, extra], ignore_index=True), OUTLINES)
    r = result.report
    assert r.rows_dropped["commune_without_outline"] == 2 and r.stations_in == 4 and not r.stations_without_polygon
    assert r.communes_without_outline == ["94099", "Total"]


def test_a_table_of_empty_lines_is_refused_in_one_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(",".join(COLUMNS) + "\n" + ",,,,,,\n" * 3 + "\n")
    with pytest.raises(InputError, match="its 3 rows are empty"):
        boundaries.build(path, OUTLINES)


def test_the_summary_prints_no_empty_list(tmp_path, files):
    path = tmp_path / "a.csv"
    path.write_text((files / "a.csv").read_text() + ",,,,,,\n,Total,,,,,\n, ,,,,,\n")
    run = CliRunner().invoke(main, ["build", str(path), "--communes", str(files / "c.geojson"),
                                    "-o", str(tmp_path / "o.geojson")])
    assert run.exit_code == 0, run.output
    assert "without polygon" not in run.output and "without outline" not in run.output
    assert "no_station_id 3" in run.output and "duplicate" not in run.output


def test_empty_lines_in_a_national_table_are_dropped_in_its_leftover_part(national, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text((national / "a.csv").read_text() + ",,,,,,\n,,,,,,\n,Total,,,,,\n")
    r = boundaries.build(str(path), str(national / "c.geojson"), work_dir=str(tmp_path / "w")).report
    assert r.departements and r.rows_dropped.get("no_station_id") == 3 and "" not in r.communes
    assert r.communes_without_outline == [] and all(s["id_bv"] for s in r.stations_without_polygon)
