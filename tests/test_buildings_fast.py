"""Buildings as the land a commune is cut along (``building_partition``, issue 19's ``--buildings``).

Hypothesis generates grids of building footprints whose grown lots overlap (gaps of 1 to 19 m
against lots of 6 m), empty plots, seeds of one or several stations inside the footprints,
frontage seeds of no row at the street crossings, and every fill:

- the stations' polygons are an exact partition of the outline;
- a footprint whose addresses all belong to one station lies wholly in that station's polygon
  when no other lot overlaps its own;
- the same for every footprint, lots overlapping or not: xfail (strict). The faces are cut by the
  grown lots' edges, not by the footprints': a face holding a footprint's corner and land nearer
  a neighbour goes whole to the neighbour (2.5 m² of a 13 × 10 m footprint in one generated
  example). Noding the footprints' edges too mends it but made Vincennes's buildings 5.2 s
  against 3.3 s (and seed 2's hold-out 92.94 -> 92.57 %): not done.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.checks import check_partition
from boundaries.parcels import BUILDING_LOT_M, FILLS, building_partition
from boundaries.params import Parameters

PARAMS = Parameters()
ORIGIN = np.array([652_000.0, 6_855_000.0])
PLOT_M = 20.0


@st.composite
def town(draw):
    """Footprints on an n × n grid of plots, their seeds' stations, frontage seeds, and the outline."""
    n = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_stations = draw(st.integers(2, 4))
    keys = np.array([f"s{k}" for k in range(n_stations)], dtype=object)
    # each plot: no building, or a footprint 0.5-9.5 m inside its plot (neighbours 1-19 m apart)
    built = rng.random(n * n) < draw(st.sampled_from([0.3, 0.6, 0.9]))
    corner = ORIGIN + np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2) * PLOT_M
    lo = corner + rng.uniform(0.5, 9.5, (n * n, 2))
    hi = corner + PLOT_M - rng.uniform(0.5, 9.5, (n * n, 2))
    footprints = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])[built]
    lo, hi = lo[built], hi[built]
    # 1-3 seeds inside each footprint (not on its edge), of one station or, now and then, several
    per = rng.integers(1, 4, len(footprints))
    owner = np.repeat(np.arange(len(footprints)), per)
    xy = np.round(rng.uniform(lo[owner] + 0.2, hi[owner] - 0.2), 2)
    one = rng.integers(0, n_stations, len(footprints))
    mixed = rng.random(len(footprints)) < 0.2
    station = np.where(mixed[owner], rng.integers(0, n_stations, len(owner)), one[owner])
    rows = rng.integers(1, 5, len(owner)).astype(float)
    # frontage seeds of no row at the street crossings: they vote for no footprint
    cross = ORIGIN + np.stack(np.meshgrid(np.arange(n + 1), np.arange(n + 1)), -1).reshape(-1, 2) * PLOT_M
    front = rng.random(len(cross)) < 0.3
    xy = np.concatenate([xy, cross[front]])
    station = np.concatenate([station, rng.integers(0, n_stations, front.sum())])
    rows = np.concatenate([rows, np.zeros(front.sum())])
    owner = np.concatenate([owner, np.full(front.sum(), -1)])
    xy, first = np.unique(xy, axis=0, return_index=True)
    outline = shapely.box(*ORIGIN, *(ORIGIN + n * PLOT_M))
    return xy, keys[station[first]], rows[first], owner[first], outline, footprints


def single_station_footprints(station, rows, owner, n_footprints):
    """Each footprint's station when all its voting seeds belong to one (else None)."""
    out = [None] * n_footprints
    for f in range(n_footprints):  # a dozen footprints at most
        voters = set(station[(owner == f) & (rows > 0)])
        out[f] = voters.pop() if len(voters) == 1 else None
    return out


def lost_footprints(case, fill, alone_only: bool) -> list:
    """The footprints of one station's addresses not wholly in its polygon (after checking the partition)."""
    xy, station, rows, owner, outline, footprints = case
    keys, polys = building_partition(xy, station, rows, outline, footprints, PARAMS, grow_m=BUILDING_LOT_M,
                                     fill=fill)
    assert list(keys) == sorted(set(station))
    result = check_partition(polys, outline, 1.0)
    assert result.ok, result.problems()
    polygon = dict(zip(keys, polys))
    lots = shapely.buffer(footprints, BUILDING_LOT_M, join_style="mitre")
    alone = np.bincount(shapely.STRtree(lots).query(lots, predicate="intersects")[0], minlength=len(lots)) == 1
    lost = []
    for f, s in enumerate(single_station_footprints(station, rows, owner, len(footprints))):
        if s is not None and (alone[f] or not alone_only):
            if shapely.area(shapely.difference(footprints[f], polygon[s])) >= 1e-3:
                lost.append((f, s))
    return lost


@settings(deadline=None)
@given(town(), st.sampled_from(FILLS))
def test_buildings_partition_the_outline_and_keep_their_lone_voted_footprints(case, fill):
    assert lost_footprints(case, fill, alone_only=True) == []


@pytest.mark.xfail(strict=True, reason="faces are cut by the lots' edges only: a footprint's corner can go "
                   "to a neighbour's lot (noding the footprints too costs 1.6x)")
@settings(deadline=None)
@given(town(), st.sampled_from(FILLS))
def test_buildings_keep_every_voted_footprint(case, fill):
    assert lost_footprints(case, fill, alone_only=False) == []
