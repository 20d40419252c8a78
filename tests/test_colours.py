"""Colours from adjacency with a tolerance: stations of neighbouring communes whose outlines
overlap or miss by a few cm are neighbours; a corner contact is not (issue 18, item 6)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.colouring import COLOUR_GAP_M, adjacency, adjacency_across, greedy_colours
from conftest import shared_path

#: Lambert-93 origin of the generated communes (near Créteil, Val-de-Marne).
X0, Y0 = 660_000.0, 6_850_000.0
#: Border step (m) of the generated shared edge.
STEP = 50.0


def border_shared(a, b, gap: float, step: float = 0.05) -> float:
    """Length of ``a``'s outline within ``gap`` of ``b``, by sampling it every ``step`` m.

    An oracle independent of :func:`boundaries.colouring.shared_border` (no buffer,
    no intersection): the shorter of the two sides is the shared border.
    """
    def one_side(x, y):  # only the outline near y's box is sampled (a clip, cheap)
        xmin, ymin, xmax, ymax = y.bounds
        ring = shapely.intersection(shapely.boundary(x), shapely.box(xmin - gap, ymin - gap, xmax + gap, ymax + gap))
        pts = shapely.line_interpolate_point(ring, np.arange(0, ring.length, step))
        return float((shapely.distance(pts, y) <= gap).sum() * step)

    return min(one_side(a, b), one_side(b, a))


def two_communes(offsets_a, offsets_b, height: float):
    """Communes 94001 (west) and 94002 (east) of a shared edge x = X0 + 1000 whose
    vertices each commune moves by its own offsets (metres): gaps and overlaps."""
    ys = np.arange(0, height + STEP / 2, STEP)

    def edge(offsets):
        return [(X0 + 1000 + dx, Y0 + y) for dx, y in zip(offsets, ys)]

    west = shapely.Polygon([(X0, Y0), *edge(offsets_a), (X0, Y0 + height)])
    east = shapely.Polygon([*edge(offsets_b), (X0 + 2000, Y0 + height), (X0 + 2000, Y0)])
    return gpd.GeoDataFrame({"code": ["94001", "94002"], "nom": ["Ouest", "Est"]},
                            geometry=[west, east], crs="EPSG:2154")


def banded_addresses(code: str, x_range, cuts, height: float, rng) -> pd.DataFrame:
    """Addresses in horizontal bands, one station per band (cut at ``cuts``), away from the edge."""
    xs = rng.uniform(*x_range, size=120)
    ys = rng.uniform(5, height - 5, size=120)
    station = np.searchsorted(np.sort(cuts), ys) + 1
    return pd.DataFrame({"code_commune_ref": code, "id_brut_bv_reu": [f"{code}_{s}" for s in station],
                         "x": X0 + xs, "y": Y0 + ys})


@st.composite
def perturbed_pair(draw):
    """Two communes' edges: apart by a gap (> 0) or overlapping (< 0) by up to 5 cm,
    each vertex moved by up to 1 cm more, and the stations' bands of each commune."""
    n = draw(st.integers(4, 12))  # edge vertices - 1
    height = n * STEP
    gap = draw(st.floats(-0.05, 0.05, allow_nan=False))
    jitter = st.lists(st.floats(-0.01, 0.01, allow_nan=False), min_size=n + 1, max_size=n + 1)
    offsets_a = [-gap / 2 + j for j in draw(jitter)]
    offsets_b = [gap / 2 + j for j in draw(jitter)]
    cuts = st.lists(st.floats(30, height - 30), min_size=1, max_size=3, unique=True)
    return offsets_a, offsets_b, height, draw(cuts), draw(cuts), draw(st.integers(0, 2**32 - 1))


@settings(deadline=None)
@given(perturbed_pair())
def test_stations_touching_across_a_perturbed_commune_edge_differ(case):
    """Stations on either side of a shared commune edge that overlaps or misses by up to
    5 cm, sharing a real border (2 m or more), never share a colour."""
    offsets_a, offsets_b, height, cuts_a, cuts_b, seed = case
    rng = np.random.default_rng(seed)
    communes = two_communes(offsets_a, offsets_b, height)
    rows = pd.concat([banded_addresses("94001", (10, 990), cuts_a, height, rng),
                      banded_addresses("94002", (1010, 1990), cuts_b, height, rng)], ignore_index=True)
    result = boundaries.build(rows, communes, columns=boundaries.AddressColumns(x="x", y="y"), crs="EPSG:2154",
                              jobs=1)
    st_ = result.stations.to_crs(2154).reset_index(drop=True)
    west = st_.index[st_["code_commune"] == "94001"]
    east = st_.index[st_["code_commune"] == "94002"]
    geoms, colours = st_.geometry.values, st_["colour"].to_numpy()
    pairs = [(i, j) for i in west for j in east if border_shared(geoms[i], geoms[j], 0.06) >= 2.0]
    assert pairs  # the two communes have touching stations
    clashes = [(st_["id_bv"][i], st_["id_bv"][j]) for i, j in pairs if colours[i] == colours[j]]
    assert not clashes


def test_corner_contact_is_not_a_neighbour_edge_contact_is():
    """A checkerboard: squares meeting at a corner only may share a colour (2 colours)."""
    squares = np.array([shapely.box(i, j, i + 100, j + 100) for i in range(0, 800, 100) for j in range(0, 800, 100)])
    a = adjacency(squares, COLOUR_GAP_M, 1.0)
    assert a.nnz == 2 * (2 * 8 * 7)  # edges only, each pair both ways
    assert not a[0, 9] and not a[1, 8] and a[0, 1] and a[0, 8]  # (0,0)-(1,1), (0,1)-(1,0) corners; edges
    colours = greedy_colours(a)
    r, c = a.nonzero()
    assert not (colours[r] == colours[c]).any()
    # a corner contact within the gap still is none; an edge a few cm off is one
    gap = shapely.box(100.05, 0, 200, 100)
    assert adjacency([shapely.box(0, 0, 100, 100), gap], COLOUR_GAP_M, 1.0).nnz == 2
    assert adjacency([shapely.box(0, 0, 100, 100), shapely.box(100.05, 100.05, 200, 200)], COLOUR_GAP_M, 1.0).nnz == 0


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 0.08))
def test_adjacency_across_blocks_with_a_gap_is_the_whole_adjacency(seed, jitter):
    """The national merge's graph (inner pairs given, pairs across blocks found) is one build's,
    with the gap and the minimum border too."""
    rng = np.random.default_rng(seed)
    cells = [shapely.box(i * 10, j * 10, i * 10 + 10, j * 10 + 10) for i in range(9) for j in range(6)]
    geoms = np.array([shapely.affinity.translate(c, *rng.uniform(-jitter, jitter, 2)) for c in cells])
    block = np.repeat(np.arange(3), 18)  # three vertical strips of 3 columns
    whole = adjacency(geoms, COLOUR_GAP_M, 1.0)
    rows, cols = whole.nonzero()
    inner = block[rows] == block[cols]
    assert (~inner).any()
    got = adjacency_across(geoms, block, (rows[inner], cols[inner]), COLOUR_GAP_M, 1.0)
    assert (got != whole).nnz == 0


def test_val_de_marne_no_touching_stations_share_a_colour():
    """Val-de-Marne 2016: no two stations sharing 1 m of border or more (within the gap)
    have one colour (19 pairs did, e.g. 94019_6 / 94055_2, 365 m of border)."""
    folder = shared_path("val-de-marne-2016")
    result = boundaries.build(folder / "addresses.csv.gz", folder / "communes.geojson")
    st_ = result.stations.to_crs(2154)
    g, colour = st_.geometry.values.to_numpy(), st_["colour"].to_numpy()
    left, right = shapely.STRtree(g).query(g, predicate="dwithin", distance=COLOUR_GAP_M)
    same = (left < right) & (colour[left] == colour[right])
    left, right = left[same], right[same]
    border = [border_shared(g[i], g[j], COLOUR_GAP_M, step=0.02) for i, j in zip(left, right)]
    clashes = [(st_["id_bv"].iloc[i], st_["id_bv"].iloc[j], b) for i, j, b in zip(left, right, border) if b >= 1.0]
    assert not clashes
