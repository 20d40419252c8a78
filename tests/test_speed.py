"""Work a build must not do twice (issue 16's speed): each test counts the calls of one step."""

from __future__ import annotations


import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries.tessellate as tessellate

OUTLINE = shapely.Polygon([(0, 0), (1000, 0), (1000, 600), (500, 600), (500, 1000), (0, 1000)])


@st.composite
def seeds(draw):
    """Unique points inside the L-shaped outline, each of one of 2 to 6 stations (some clustered)."""
    n = draw(st.integers(4, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    xy = np.unique(np.round(rng.uniform(1, 999, size=(4 * n, 2)), 1), axis=0)
    xy = xy[shapely.contains_xy(OUTLINE, xy[:, 0], xy[:, 1])][:n]
    k = draw(st.integers(2, 6))
    if draw(st.booleans()):  # stations as bands: each its own area, as in a town
        station = np.minimum((xy[:, 0] // (1000 / k)).astype(int), k - 1)
    else:  # stations mixed together: cores overlap, the overlay has the most to do
        station = rng.integers(0, k, len(xy))
    return xy, np.array([f"s{i}" for i in station], dtype=object)


@settings(deadline=None)
@given(seeds())
def test_hull_groups_the_stations_and_checks_its_balance_once(data):
    """The stations are grouped once, and an overlay that adds up is not checked again."""
    xy, station = data
    calls = {"group_indices": 0, "adds_up": []}
    group_indices, adds_up = tessellate.group_indices, tessellate._adds_up

    def counted_groups(keys):
        calls["group_indices"] += 1
        return group_indices(keys)

    def counted_balance(polygons, outline):
        calls["adds_up"].append(adds_up(polygons, outline))
        return calls["adds_up"][-1]

    with pytest.MonkeyPatch.context() as m:
        m.setattr(tessellate, "group_indices", counted_groups)
        m.setattr(tessellate, "_adds_up", counted_balance)
        keys, polys = tessellate.hull_partition(xy, station, OUTLINE, 500.0, 0.3, 10.0)
    assert calls["group_indices"] == 1
    checks = calls["adds_up"]
    # one check per overlay tried, and none after the first that adds up
    assert len(checks) <= 2 and (True not in checks or checks.index(True) == len(checks) - 1)
    assert list(keys) == sorted(set(station))
    present = polys[~shapely.is_empty(polys)]
    assert abs(shapely.area(polys).sum() - OUTLINE.area) < 1.0
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(present), OUTLINE)) < 1.0


@settings(deadline=None)
@given(seeds(), st.sampled_from([5.0, 40.0, 150.0]))
def test_smoothing_takes_the_stations_parts_in_one_call(data, window_m):
    """Smoothing keeps each station's polygonal parts with one call for the commune, not one per station."""
    import boundaries.smooth as smooth

    xy, station = data
    keys, polys = tessellate.voronoi_partition(xy, station, OUTLINE, 500.0)
    calls = []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(smooth, "polygonal_parts", lambda g, *a: calls.append(len(g)) or tessellate.polygonal_parts(g, *a))
        out = smooth.smooth_partition(polys, window_m, xy, np.searchsorted(keys, station))
    assert len(calls) <= 1
    assert len(out) == len(polys) and all(shapely.get_type_id(out) >= 3)
    assert abs(shapely.area(out).sum() - OUTLINE.area) < 1.0
