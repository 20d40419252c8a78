"""Parcels and buildings as the land a commune is cut along (boundaries.parcels, issue 19).

- a generated grid of parcels, each holding the addresses of one station: each parcel lies wholly
  in its station's polygon;
- exact partition (hypothesis): random parcel grids (gaps, overlaps, parcels spilling over the
  outline), random labels, empty parcels, parcels mixing stations, frontage seeds of no row;
- deterministic: the same input gives the same polygons, byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.checks import check_partition
from boundaries.errors import InputError
from boundaries.parcels import FILLS, building_partition, parcel_partition
from boundaries.params import Parameters

PARAMS = Parameters()
ORIGIN = (652_000.0, 6_855_000.0)
TOLERANCE_M2 = 1.0


def grid(n: int, size: float = 20.0, gap: float = 0.0, jitter=None):
    """An n × n grid of square parcels (street gaps of ``gap`` m, corners moved by ``jitter``), and the outline."""
    x0, y0 = ORIGIN
    cells = []
    for i in range(n):
        for j in range(n):
            d = jitter[i * n + j] if jitter is not None else (0.0, 0.0)
            cells.append(shapely.box(x0 + i * size + gap / 2 + d[0], y0 + j * size + gap / 2 + d[1],
                                     x0 + (i + 1) * size - gap / 2 + d[0], y0 + (j + 1) * size - gap / 2 + d[1]))
    return np.array(cells, dtype=object), shapely.box(x0, y0, x0 + n * size, y0 + n * size)


def addresses_in(parcels, labels, per_parcel, rng):
    """``per_parcel`` seeds inside each parcel whose label is not None, of its label's station(s)."""
    xy, station = [], []
    for p, lab in zip(parcels, labels):
        if lab is None:
            continue
        x0, y0, x1, y1 = p.bounds
        pts = rng.uniform([x0 + 1, y0 + 1], [x1 - 1, y1 - 1], (per_parcel, 2))
        xy.append(np.round(pts, 2))
        station += [lab[k % len(lab)] for k in range(per_parcel)] if isinstance(lab, tuple) else [lab] * per_parcel
    xy = np.concatenate(xy)
    xy, first = np.unique(xy, axis=0, return_index=True)
    return xy, np.array(station, dtype=object)[first]


def assert_partition(polys, outline):
    result = check_partition(polys, outline, TOLERANCE_M2)
    assert result.ok, result.problems()


@pytest.mark.parametrize("fill", FILLS)
def test_single_station_parcels_lie_wholly_in_their_station(fill):
    rng = np.random.default_rng(1)
    parcels, outline = grid(6, gap=4.0)
    labels = [f"9400{k % 3}" for k in range(len(parcels))]
    rng.shuffle(labels)
    xy, station = addresses_in(parcels, labels, 3, rng)
    keys, polys = parcel_partition(xy, station, np.ones(len(xy)), outline, parcels, PARAMS, fill=fill)
    assert_partition(polys, outline)
    by_key = dict(zip(keys, polys))
    for p, lab in zip(parcels, labels):
        # the Voronoi of the points would cut many of these parcels; the parcel rule keeps each whole
        assert shapely.area(shapely.difference(p, by_key[lab])) < 1e-6


def test_empty_parcel_fills_from_its_longest_border():
    parcels, outline = grid(3)
    # the middle parcel is empty; four of its neighbours are "a", the one with the longest border counts
    labels = ["a", "a", "a", "b", None, "a", "b", "b", "b"]
    xy, station = addresses_in(parcels, labels, 2, np.random.default_rng(0))
    keys, polys = parcel_partition(xy, station, np.ones(len(xy)), outline, parcels, PARAMS, fill="border")
    # neighbours by edge: (0,1)=a (1,0)=b (1,2)=a (2,1)=b: a tie of 40 m each, the smallest key wins
    assert shapely.area(shapely.difference(parcels[4], dict(zip(keys, polys))["a"])) < 1e-6


@st.composite
def land(draw):
    n = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    gap = draw(st.sampled_from([0.0, 0.0, 3.0]))
    jitter = rng.uniform(-2, 2, (n * n, 2)) if draw(st.booleans()) else None  # overlaps, gaps, spills
    parcels, outline = grid(n, gap=gap, jitter=jitter)
    n_st = draw(st.integers(1, 4))
    kinds = draw(st.lists(st.sampled_from(["one", "one", "empty", "mixed"]), min_size=n * n, max_size=n * n))
    labels = [None if k == "empty" else (f"s{rng.integers(n_st)}" if k == "one" else
                                          (f"s{rng.integers(n_st)}", f"s{rng.integers(n_st)}")) for k in kinds]
    if all(lab is None for lab in labels):
        labels[0] = "s0"
    xy, station = addresses_in(parcels, labels, draw(st.integers(1, 4)), rng)
    rows = rng.integers(0, 3, len(xy)).astype(float)  # 0: a frontage seed, it does not vote
    # some seeds in the street space or outside every parcel
    extra = np.round(rng.uniform(ORIGIN, np.array(ORIGIN) + n * 20.0, (draw(st.integers(0, 3)), 2)), 2)
    xy2 = np.concatenate([xy, extra])
    xy2, first = np.unique(xy2, axis=0, return_index=True)
    station2 = np.concatenate([station, np.array(["s0"] * len(extra), dtype=object)])[first]
    rows2 = np.concatenate([rows, np.ones(len(extra))])[first]
    return xy2, station2, rows2, outline, parcels


@settings(deadline=None)
@given(land(), st.sampled_from(FILLS))
def test_parcel_partition_is_exact(case, fill):
    xy, station, rows, outline, parcels = case
    keys, polys = parcel_partition(xy, station, rows, outline, parcels, PARAMS, fill=fill)
    assert list(keys) == sorted(set(station))
    assert_partition(polys, outline)


@settings(deadline=None)
@given(land(), st.sampled_from([0.5, 6.0, 15.0]))
def test_building_partition_is_exact(case, grow_m):
    xy, station, rows, outline, parcels = case
    footprints = shapely.buffer(parcels, -3.0)  # buildings stand inside their lots
    keys, polys = building_partition(xy, station, rows, outline, footprints, PARAMS, grow_m=grow_m)
    assert list(keys) == sorted(set(station))
    assert_partition(polys, outline)


@settings(deadline=None)
@given(land(), st.booleans(), st.sampled_from(FILLS))
def test_parcel_partition_is_deterministic(case, split_mixed, fill):
    xy, station, rows, outline, parcels = case
    first = parcel_partition(xy, station, rows, outline, parcels, PARAMS, split_mixed=split_mixed, fill=fill)
    again = parcel_partition(xy.copy(), station.copy(), rows.copy(), outline, parcels.copy(), PARAMS,
                             split_mixed=split_mixed, fill=fill)
    assert list(first[0]) == list(again[0])
    assert list(shapely.to_wkb(first[1])) == list(shapely.to_wkb(again[1]))


def test_building_inside_another_lot_wins_nothing_and_the_partition_holds():
    # regression: a footprint whose whole lot lies in a nearer footprint's lot won no face,
    # and the faces' collections were indexed with a gap (ValueError on Vincennes)
    x0, y0 = ORIGIN
    outline = shapely.box(x0, y0, x0 + 100, y0 + 100)
    footprints = np.array([shapely.box(x0 + 10, y0 + 10, x0 + 40, y0 + 40), shapely.box(x0 + 24, y0 + 24, x0 + 26, y0 + 26),
                           shapely.box(x0 + 24, y0 + 24, x0 + 26, y0 + 26), shapely.box(x0 + 60, y0 + 60, x0 + 90, y0 + 90)],
                          dtype=object)
    xy = np.array([[x0 + 20, y0 + 20], [x0 + 70, y0 + 70], [x0 + 5, y0 + 95]])
    keys, polys = building_partition(xy, np.array(["a", "b", "b"], dtype=object), np.ones(3), outline, footprints,
                                     PARAMS, grow_m=1.0)
    assert_partition(polys, outline)
    assert shapely.area(shapely.difference(footprints[0], dict(zip(keys, polys))["a"])) < 1e-6


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 30), st.integers(1, 30)),
                min_size=1, max_size=12))
def test_overlapping_lots_made_disjoint_keep_their_union(boxes):
    from boundaries.parcels import disjoint_by_faces

    geoms = np.array([shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes], dtype=object)
    out = disjoint_by_faces(geoms, geoms)
    assert abs(shapely.area(out).sum() - shapely.union_all(geoms).area) < 1e-6
    assert abs(shapely.union_all(out).area - shapely.union_all(geoms).area) < 1e-6


@settings(deadline=None)
@given(land(), st.sampled_from(["parcels", "buildings"]))
def test_land_in_3d_gives_flat_stations(case, layer):
    # regression: Choisy's parcels carry heights; the stations came out with NaN heights, whose
    # rings no longer closed once reprojected to WGS84 (a crash when writing)
    xy, station, rows, outline, parcels = case
    parcels3d = shapely.force_3d(parcels, z=35.0)
    func = parcel_partition if layer == "parcels" else building_partition
    keys, polys = func(xy, station, rows, outline, parcels3d, PARAMS)
    assert not shapely.has_z(polys).any()
    assert_partition(polys, outline)


@settings(deadline=None)
@given(st.text(max_size=12).filter(lambda s: s not in FILLS))
def test_unknown_fill_is_one_line_input_error(fill):
    parcels, outline = grid(2)
    xy, station = addresses_in(parcels, ["a", "b", None, "a"], 1, np.random.default_rng(0))
    with pytest.raises(InputError) as err:
        parcel_partition(xy, station, np.ones(len(xy)), outline, parcels, PARAMS, fill=fill)
    assert "\n" not in str(err.value) and "voronoi" in str(err.value)
