"""``report`` flags the stations beside a gap or spill, not every station of its commune.

A new user's report on another tool's département flagged all 261 stations: a check gap
of a commune marked each of its stations, though the check names the ones beside it.
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.review import review_stations


def _grid(n: int) -> gpd.GeoDataFrame:
    """``n`` unit squares in a row, stations ``01001_1…n`` of commune 01001 (metres, Lambert-93)."""
    boxes = [shapely.box(700000 + 100 * i, 6600000, 700100 + 100 * i, 6600100) for i in range(n)]
    return gpd.GeoDataFrame({"id_bv": [f"01001_{i + 1}" for i in range(n)], "code_commune": ["01001"] * n},
                            geometry=boxes, crs="EPSG:2154")


class _Check:
    def __init__(self, problems):
        self.problems = problems

    def to_dict(self):
        return {"problems": self.problems}


@settings(deadline=None)
@given(n=st.integers(2, 12), data=st.data())
def test_a_gap_flags_the_stations_it_names(n, data):
    named = data.draw(st.lists(st.integers(1, n), min_size=1, max_size=n, unique=True))
    gap = {"kind": "gap", "severity": "problem", "commune": "01001",
           "stations": [f"01001_{i}" for i in named], "area_m2": 3131.6, "detail": "3,131.6 m² (0.00%)"}
    review = review_stations(_grid(n), check=_Check([gap]))
    flagged = set(review.loc[review["flags"].str.contains("commune_check"), "id_bv"])
    assert flagged == {f"01001_{i}" for i in named}


def test_a_gap_naming_no_station_flags_the_commune():
    gap = {"kind": "spill", "severity": "problem", "commune": "01001", "stations": [], "area_m2": 10.0,
           "detail": "10 m²"}
    review = review_stations(_grid(3), check=_Check([gap]))
    assert set(review.loc[review["flags"].str.contains("commune_check"), "id_bv"]) == {"01001_1", "01001_2",
                                                                                         "01001_3"}
