"""The bench's profiles-and-crosswalks section (issue 20): rendered from its results, run alone with --only uses."""

import pytest

from benchmarks.render.uses import USES_END, USES_START, uses_lines
from benchmarks.run import parse_args

PROFILE = {
    "paris": [{"case": "Paris 2017, addresses weighted by nb_adresses", "stations": 896, "mae": 1.5,
               "mae_share": 0.001, "fallback": 0.0, "seconds": 1.8},
              {"case": "Paris 2017, area weights", "stations": 896, "mae": 227.7, "mae_share": 0.166,
               "fallback": 1.0, "seconds": 1.1}],
    "val_de_marne": {"case": "Val-de-Marne × Grand Paris IRIS", "columns": 102, "stations": 755, "fallback": 0.001,
                     "seconds": 3.3},
}
STATUS = {"unchanged": 714, "split": 13, "merged": 1, "redrawn": 166, "new": 2, "gone": 0}
CROSSWALK = {
    "voters": 120_000, "addresses": 110_000, "misplaced_area": 0.0164, "misplaced_addresses": 0.0051,
    "seconds_area": 2.0, "seconds_addresses": 6.0,
    "summary": {"old": {"stations": 867}, "new": {"stations": 896}, "pairs": 2500, "new_status": STATUS,
                "old_status": STATUS},
    "carried": {"carried": 894, "not_carried": ["a", "b"],
                "totals": {c: {"results": 1000.0, "carried": 1000.0} for c in ("Inscrits", "Votants", "Exprimés")}},
}


def test_section_has_both_tables_between_its_markers():
    lines = uses_lines({"profile": PROFILE, "crosswalk": CROSSWALK})
    text = "\n".join(lines)
    assert lines[0] == USES_START and lines[-1] == USES_END
    assert "| Paris 2017, area weights | 896 | 227.7 | 16.6 % | 100.0 % | 1.1 |" in text
    assert "| Val-de-Marne × Grand Paris IRIS: 102 columns | 755 |" in text
    assert "| voters misplaced, area-weighted crosswalk (120,000 street points) | 1.64% |" in text
    assert "| 2017 sectors unchanged / split / merged / redrawn / new | 714 / 13 / 1 / 166 / 2 |" in text
    # measured alone: the section says when
    assert "Measured alone" in "\n".join(uses_lines({"profile": PROFILE}, {"date": "d", "commit": "c"}))
    assert "crosswalk" not in "\n".join(uses_lines({"profile": PROFILE})).split("### ", 2)[-1].split("\n")[0]


def test_only_uses_is_accepted_and_others_refused():
    assert parse_args(["--only", "uses"]).only == "uses"
    with pytest.raises(SystemExit):
        parse_args(["--only", "everything"])
