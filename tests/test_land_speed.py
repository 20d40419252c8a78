"""The faster land methods (issue 19's cost target) against the slow rules they replace.

Each fast path is checked on generated inputs against a plain, slow version of the same rule,
written here as it stood before (and as the module docstrings state it):

- parcels: the commune-wide union of the taken parcels and one ``union_all`` per station
  (rule 4), the whole layer cleaned by ``shapely.coverage_clean``, parcels without address
  filled by the areas of every overlay; the fast code must give the same station polygons
  (same land to each station) and an exact partition — parcel grids with overlaps, gaps,
  spills over the outline, a few faults only (local cleaning) or many (whole cleaning),
  parcels larger than the Voronoi cells, empty and mixed parcels;
- buildings: the lots' faces dissolved by ``buffer(0)``, then cleaned as a cadastre;
- ``fill_by_cells``: the station of the largest overlay area, on random parcels and cells;
- streets: every mixed block's hull partition batched (``hull_partition_blocks``) gives the
  bytes of ``hull_partition`` called block by block, on random blocks (a grid cut by streets,
  seeds of several stations, near-collinear and clustered seeds) — and ``street_partition``
  the same polygons either way;
- ``polygonal_parts``: the Polygons-only shortcut gives what the general path gives;
- ``land_by_unit``: a layer is cut only where no earlier layer decides, and the method each
  unit gets is the same as with every layer cut everywhere.
"""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.checks import check_partition
from boundaries.geometry import polygonal_parts
from boundaries.params import Parameters
from boundaries.parcels import (
    MIN_PARCEL_M2,
    building_partition,
    disjoint_by_faces,
    fill_by_cells,
    land_coverage,
    majority,
    parcel_partition,
    parcel_votes,
    split_mixed_parcels,
)
from boundaries.blocks import seed_blocks, street_blocks, street_partition
from boundaries.tessellate import hull_partition, hull_partition_blocks, tessellate, voronoi_partition

PARAMS = Parameters()
ORIGIN = np.array([652_000.0, 6_855_000.0])
TOLERANCE_M2 = 1.0
#: Land (m²) the fast and slow rules may give to different stations: overlay noise only.
SAME_M2 = 0.05


# ---------------------------------------------------------------- the slow rules, as they were
def slow_clean(parcels, outline):
    """Parcels clipped, made valid and cleaned as one coverage, the whole layer at once."""
    geoms = polygonal_parts(shapely.make_valid(shapely.force_2d(np.asarray(parcels, dtype=object))))
    geoms = polygonal_parts(shapely.intersection(geoms, outline), min_area_m2=MIN_PARCEL_M2)
    geoms = geoms[~shapely.is_empty(geoms)]
    if len(geoms) == 0:
        return geoms
    try:
        geoms = shapely.coverage_clean(geoms)
    except shapely.errors.GEOSException:
        geoms = disjoint_by_faces(geoms, geoms)
    geoms = polygonal_parts(geoms, min_area_m2=MIN_PARCEL_M2)
    return geoms[~shapely.is_empty(geoms)]


def slow_fill(label, parcels, cells):
    """Each unlabelled parcel to the cell with the largest overlay area (ties: the smallest)."""
    empty = np.flatnonzero(label < 0)
    share = np.zeros((len(empty), len(cells)))
    for k, p in enumerate(parcels[empty]):
        share[k] = shapely.area(shapely.intersection(p, cells))
    label = label.copy()
    label[empty] = majority(share)
    return label


def slow_partition(xy, station, rows, outline, land, fill="voronoi"):
    """Rules 2-4 of boundaries.parcels on cleaned ``land``, with the commune-wide union of rule 4."""
    keys, cells = voronoi_partition(xy, station, outline, PARAMS.voronoi_margin_m)
    if len(keys) == 1 or len(land) == 0:
        return keys, cells
    station_idx = np.searchsorted(keys, np.asarray(station, dtype=object))
    votes, where = parcel_votes(xy, station_idx, np.maximum(rows, 0), land, len(keys))
    label = majority(votes)
    mixed = np.flatnonzero((votes > 0).sum(axis=1) > 1)
    if fill == "voronoi":
        label = slow_fill(label, land, cells)
    whole = (label >= 0) & ~np.isin(np.arange(len(land)), mixed)
    pieces, piece_label = land[whole], label[whole]
    if len(mixed):
        voted = np.isin(where, mixed) & (rows > 0)
        split, split_label = split_mixed_parcels(xy[voted], station_idx[voted], where[voted], mixed, land)
        pieces, piece_label = np.concatenate([pieces, split]), np.concatenate([piece_label, split_label])
    rest = polygonal_parts(shapely.difference(cells, shapely.union_all(land[label >= 0])))
    pieces = np.concatenate([pieces, rest])
    piece_label = np.concatenate([piece_label, np.arange(len(keys))])
    out = polygonal_parts(np.array([shapely.union_all(pieces[piece_label == i]) for i in range(len(keys))],
                                   dtype=object))
    present = ~shapely.is_empty(out)
    out[present] = polygonal_parts(shapely.coverage_clean(out[present]))
    return keys, out


def slow_lots(footprints, grow_m):
    """Building lots as they were built: faces to the nearest footprint, dissolved by buffer(0)."""
    geoms = polygonal_parts(shapely.make_valid(np.asarray(footprints, dtype=object)))
    lots = shapely.buffer(geoms, grow_m, join_style="mitre")
    faces = shapely.get_parts(shapely.polygonize([shapely.union_all(shapely.boundary(lots))]))
    inner = shapely.point_on_surface(faces)
    out = np.array([shapely.MultiPolygon()] * len(lots), dtype=object)
    best = {}
    for f, p in enumerate(inner):
        holders = [i for i in range(len(lots)) if shapely.within(p, lots[i])]
        if holders:
            best.setdefault(min(holders, key=lambda i: (shapely.distance(p, geoms[i]), i)), []).append(f)
    for i, fs in best.items():
        out[i] = shapely.buffer(shapely.GeometryCollection(list(faces[fs])), 0)
    return out


# ---------------------------------------------------------------- generated communes
@st.composite
def commune(draw):
    """A grid of parcels (some merged into large ones), their faults, and addresses of a few stations."""
    n = draw(st.integers(2, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    size = 20.0
    boxes = [shapely.box(*(ORIGIN + (i * size, j * size)), *(ORIGIN + ((i + 1) * size, (j + 1) * size)))
             for i in range(n) for j in range(n)]
    parcels = list(boxes)
    if draw(st.booleans()):  # a large parcel across several cells: it spills out of its station's cell
        parcels = [shapely.union_all(boxes[: n + 1])] + boxes[n + 1:]
    faults = draw(st.sampled_from(["none", "few", "many"]))
    if faults == "many":  # every parcel a little off: overlaps and gaps everywhere (the whole clean)
        parcels = [shapely.affinity.translate(p, *rng.uniform(-1.5, 1.5, 2)) for p in parcels]
    for k in rng.choice(len(parcels), 2 if faults == "few" else 0, replace=False):
        # a bump into the neighbour across the right edge (the local clean): an overlap, unmatched vertices
        x, y = parcels[k].bounds[2], parcels[k].bounds[1] + rng.uniform(2, 8)
        parcels[k] = parcels[k].union(shapely.Polygon([(x, y), (x + rng.uniform(0.5, 3), y + 5), (x, y + 10)]))
    if draw(st.booleans()):
        parcels = [shapely.affinity.translate(p, size / 2, 0) for p in parcels]  # spilling over the outline
    outline = shapely.box(*ORIGIN, *(ORIGIN + n * size))
    n_st = draw(st.integers(2, 4))
    xy, station = [], []
    for p in parcels:
        kind = draw(st.sampled_from(["one", "one", "empty", "mixed"]))
        if kind == "empty":
            continue
        x0, y0, x1, y1 = p.bounds
        k = draw(st.integers(1, 3))
        xy.append(np.round(rng.uniform([x0 + 1, y0 + 1], [x1 - 1, y1 - 1], (k, 2)), 2))
        station += [f"s{rng.integers(n_st)}" for _ in range(k)] if kind == "mixed" else [f"s{rng.integers(n_st)}"] * k
    xy.append(np.round(rng.uniform(ORIGIN, ORIGIN + n * size, (2, 2)), 2))  # seeds in no parcel
    station += ["s0", f"s{n_st - 1}"]
    xy, first = np.unique(np.concatenate(xy), axis=0, return_index=True)
    station = np.array(station, dtype=object)[first]
    rows = rng.integers(0, 3, len(xy)).astype(float)  # 0: a frontage seed, it does not vote
    return xy, station, rows, outline, np.array(parcels, dtype=object)


def assert_same_land(fast, slow):
    """Same keys, and each station holds the same land (up to overlay noise)."""
    assert list(fast[0]) == list(slow[0])
    apart = shapely.area(shapely.symmetric_difference(fast[1], slow[1]))
    assert apart.max(initial=0) < SAME_M2, dict(zip(fast[0], apart))


def assert_partition(polys, outline):
    result = check_partition(polys, outline, TOLERANCE_M2)
    assert result.ok, result.problems()


# ---------------------------------------------------------------- the tests
@settings(deadline=None)
@given(commune(), st.sampled_from(["voronoi", "none"]))
def test_parcels_give_the_slow_rules_stations_and_an_exact_partition(case, fill):
    xy, station, rows, outline, parcels = case
    fast = parcel_partition(xy, station, rows, outline, parcels, PARAMS, fill=fill)
    assert_partition(fast[1], outline)
    assert_same_land(fast, slow_partition(xy, station, rows, outline, slow_clean(parcels, outline), fill))


@settings(deadline=None)
@given(commune())
def test_cleaning_around_the_faults_gives_one_coverage_of_the_same_land(case):
    _, _, _, outline, parcels = case
    land, exact = land_coverage(parcels, outline)
    slow = slow_clean(parcels, outline)
    assert exact and shapely.coverage_is_valid(land)
    # no overlap: the areas add up to the union's, which is the whole clean's
    assert abs(shapely.area(land).sum() - shapely.union_all(land).area) < 1e-6
    assert abs(shapely.union_all(land).area - shapely.union_all(slow).area) < 1e-3


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(2, 12))
def test_fill_by_cells_gives_the_largest_overlay(seed, n_parcels, n_seeds):
    rng = np.random.default_rng(seed)
    outline = shapely.box(*ORIGIN, *(ORIGIN + 100))
    _, cells = voronoi_partition(np.round(rng.uniform(ORIGIN, ORIGIN + 100, (n_seeds, 2)), 2),
                                 np.arange(n_seeds).astype(str).astype(object), outline, 50.0)
    corner = rng.uniform(ORIGIN, ORIGIN + 90, (n_parcels, 2))
    parcels = shapely.box(corner[:, 0], corner[:, 1], *(corner + rng.uniform(1, 30, (n_parcels, 2))).T)
    label = np.where(rng.random(n_parcels) < 0.5, -1, rng.integers(0, len(cells), n_parcels))
    assert list(fill_by_cells(label, parcels, cells)) == list(slow_fill(label, parcels, cells))


@settings(deadline=None)
@given(commune(), st.sampled_from([1.0, 6.0]))
def test_buildings_give_the_slow_rules_stations_and_an_exact_partition(case, grow_m):
    xy, station, rows, outline, parcels = case
    footprints = shapely.buffer(parcels, -4.0)  # buildings stand inside their lots, some closer than 2 x grow_m
    footprints = footprints[~shapely.is_empty(footprints)]
    fast = building_partition(xy, station, rows, outline, footprints, PARAMS, grow_m=grow_m, fill="none")
    assert_partition(fast[1], outline)
    slow_land = slow_clean(slow_lots(footprints, grow_m), outline)
    assert_same_land(fast, slow_partition(xy, station, rows, outline, slow_land, fill="none"))


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 30), st.integers(1, 30)),
                min_size=1, max_size=12), st.booleans())
def test_lots_dissolved_by_coverage_union_are_the_buffer_zero_lots(boxes, clip):
    geoms = np.array([shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes], dtype=object)
    outline = shapely.box(10, 10, 55, 50)
    fast = disjoint_by_faces(geoms, geoms, outline if clip else None)
    slow = slow_lots(geoms, 0.0)
    if clip:
        slow = polygonal_parts(shapely.intersection(slow, outline))
        assert shapely.coverage_is_valid(fast[~shapely.is_empty(fast)])
    assert shapely.area(shapely.symmetric_difference(fast, slow)).max() < 1e-6


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50), st.integers(0, 20), st.integers(0, 20)),
                min_size=1, max_size=10), st.floats(0, 100))
def test_polygonal_parts_shortcut_matches_the_general_path(boxes, min_area):
    geoms = np.array([shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes], dtype=object)
    # a trailing line forces the general path on the same polygons
    general = polygonal_parts(np.append(geoms, shapely.LineString([(0, 0), (1, 1)])), min_area)[:-1]
    fast = polygonal_parts(geoms, min_area)
    assert [g.wkb for g in fast] == [g.wkb for g in general]


def test_a_layer_is_cut_only_where_no_earlier_layer_decides():
    import geopandas as gpd

    from boundaries.pipeline import first_land, land_by_unit

    a, b = shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)
    units = {"94001": a, "94002": b}
    parcels = gpd.GeoSeries([shapely.box(10, 10, 20, 20)], crs="EPSG:2154")  # in 94001 only
    buildings = gpd.GeoSeries([shapely.box(30, 30, 40, 40), shapely.box(130, 30, 140, 40)], crs="EPSG:2154")
    layers = {"parcels": parcels, "buildings": buildings}
    cut = land_by_unit(layers, units)
    assert set(cut["parcels"]) == {"94001"} and set(cut["buildings"]) == {"94002"}
    for unit in units:  # each unit's method is the one every layer cut everywhere gives
        everywhere = {name: g for name in layers
                      if (g := land_by_unit({name: layers[name]}, units)[name].get(unit)) is not None}
        here = {name: by_unit[unit] for name, by_unit in cut.items() if unit in by_unit}
        assert first_land(here)[0] == first_land(everywhere)[0]


@st.composite
def street_grid(draw):
    """A square commune cut by a few streets, and seeds of several stations (some clustered, some in a line)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    side = 200.0
    outline = shapely.box(*ORIGIN, *(ORIGIN + side))
    cuts = [shapely.LineString([ORIGIN + (x, -5), ORIGIN + (x + rng.uniform(-20, 20), side + 5)])
            for x in np.sort(rng.uniform(20, 180, draw(st.integers(0, 3))))]
    cuts += [shapely.LineString([ORIGIN + (-5, y), ORIGIN + (side + 5, y)])
             for y in np.sort(rng.uniform(20, 180, draw(st.integers(0, 3))))]
    n = draw(st.integers(4, 60))
    xy = rng.uniform(ORIGIN + 1, ORIGIN + side - 1, (n, 2))
    if draw(st.booleans()):  # a row of seeds along a line (near-collinear, degenerate Voronoi)
        xy[: n // 2, 1] = ORIGIN[1] + 50.0 + rng.uniform(0, 1e-3, n // 2)
    xy, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    station = np.array([f"s{k}" for k in rng.integers(0, draw(st.integers(2, 5)), n)], dtype=object)[first]
    return xy, station, outline, np.array(cuts, dtype=object)


@settings(deadline=None)
@given(street_grid())
def test_batched_mixed_blocks_give_the_block_by_block_bytes(case):
    xy, station, outline, streets = case
    blocks = street_blocks(outline, streets) if len(streets) else np.array([outline], dtype=object)
    code = np.searchsorted(np.unique(station), station)
    block_of = seed_blocks(xy, blocks)
    mixed = [b for b in np.unique(block_of) if len(np.unique(code[block_of == b])) > 1]
    inside = np.isin(block_of, mixed)
    if not inside.any():
        return
    m, r, buf = PARAMS.voronoi_margin_m, PARAMS.hull_ratio, PARAMS.hull_buffer_m
    g_block, g_code, polys = hull_partition_blocks(xy[inside], code[inside], block_of[inside], blocks, m, r, buf)
    for b in mixed:
        here = block_of == b
        keys, slow = hull_partition(xy[here], code[here], blocks[b], m, r, buf)
        assert list(g_code[g_block == b]) == list(keys)
        assert [p.wkb for p in polys[g_block == b]] == [p.wkb for p in slow]


@settings(deadline=None)
@given(street_grid())
def test_street_partition_is_the_same_batched_or_not(case):
    xy, station, outline, streets = case
    m = PARAMS.voronoi_margin_m

    def one(a, b, c):
        return tessellate(a, b, c, "hull", PARAMS)

    def batched(a, b, c, d):
        return hull_partition_blocks(a, b, c, d, m, PARAMS.hull_ratio, PARAMS.hull_buffer_m)

    slow = street_partition(xy, station, outline, streets, m, partition=one)
    fast = street_partition(xy, station, outline, streets, m, partition=one, partition_blocks=batched)
    assert list(fast[0]) == list(slow[0])
    assert [p.wkb for p in fast[1]] == [p.wkb for p in slow[1]]
    assert_partition(fast[1], outline)
