"""Selections and rows that name nothing (the trial of 2026-12-07, bugs 5, 6 and 7).

- every ``commune`` code that matches no address row is refused in one line naming it,
  however many are given (a mistyped one among several was silently left out);
- rows that carry no station (wholly empty, ``Total;;;``, coordinates without an id)
  are dropped with a reason and never become a station or a commune;
- a national build refused by its input leaves no work folder behind.
"""

import sys
from pathlib import Path

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
