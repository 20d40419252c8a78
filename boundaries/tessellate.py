"""Tessellate a commune: station polygons from its seed points.

Two methods:

- ``voronoi``: the Voronoi cells of the unique seed points, computed in metres,
  extended well beyond the outline, dissolved by station with ``coverage_union_all``
  and clipped to the outline once per station.
- ``hull``: each station's populated core first — the concave hull of its points
  (``shapely.concave_hull``), widened by a buffer — keeping only the land that no
  other station's core claims; the rest of the commune is completed by the Voronoi
  cells. The result is still an exact partition.
"""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import group_indices, polygonal_parts

METHODS = ("voronoi", "hull", "auto")
#: Overlay leftovers smaller than this (m²) are noise, not land.
SLIVER_M2 = 1e-3


def voronoi_partition(
    xy: np.ndarray, station: np.ndarray, outline, margin_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Partition ``outline`` between stations by the Voronoi cells of their seeds.

    Parameters
    ----------
    xy : numpy.ndarray, shape (n, 2)
        Unique seed coordinates in a metric CRS (no two equal).
    station : numpy.ndarray, shape (n,)
        The station of each seed.
    outline : shapely.Polygon or shapely.MultiPolygon
        The commune, in the same CRS.
    margin_m : float
        How far beyond the outline's bounding box the cells are extended.

    Returns
    -------
    stations : numpy.ndarray
        Sorted station keys.
    polygons : numpy.ndarray of shapely geometries
        Each station's polygon, clipped to the outline (possibly empty when all its
        seeds lie outside the outline and their cells miss it).
    """
    stations, groups = group_indices(np.asarray(station))
    if len(stations) == 1:
        return stations, np.array([outline], dtype=object)
    return stations, _voronoi_cells(xy, groups, outline, margin_m)


def _voronoi_cells(xy: np.ndarray, groups: list, outline, margin_m: float) -> np.ndarray:
    """Each group's Voronoi cells (``groups``: positions in ``xy``), dissolved and clipped to ``outline``."""
    # the frame: the outline's box widened by the margin, and the seeds' box (from the array)
    x0, y0, x1, y1 = shapely.bounds(outline)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    frame = shapely.box(min(x0 - margin_m, lo[0]), min(y0 - margin_m, lo[1]),
                        max(x1 + margin_m, hi[0]), max(y1 + margin_m, hi[1]))
    # GEOS reads the seeds as the vertices of one line: the same cells as from a
    # MultiPoint, without building a Point per seed (a national run has 20 M)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.linestrings(xy), extend_to=frame, ordered=True)
    )
    if len(cells) != len(xy):  # ordered=True promises one cell per input point
        raise RuntimeError(f"Voronoi returned {len(cells)} cells for {len(xy)} points")
    odd = shapely.get_type_id(cells) != 3
    if odd.any():
        # Degenerate input (evenly spaced, cocircular points) can give a cell as a
        # collection of its polygon and a stray line: keep the polygon.
        cells = cells.copy()
        cells[odd] = polygonal_parts(shapely.make_valid(cells[odd]))
    dissolved = np.array([dissolve(cells[g]) for g in groups], dtype=object)
    # a self-intersecting cell (see dissolve) can pass the coverage union and leave its
    # station invalid: one validity test per station, not per cell, finds it
    invalid = ~shapely.is_valid(dissolved)
    if invalid.any():
        dissolved[invalid] = polygonal_parts(shapely.make_valid(dissolved[invalid]))
    shapely.prepare(outline)
    try:
        clipped = shapely.intersection(dissolved, outline)
    except shapely.errors.GEOSException:
        clipped = shapely.intersection(dissolved, outline, grid_size=SNAP_GRID_M)
    return polygonal_parts(clipped)



#: Grid (m) of the snap-rounded union, the last resort of :func:`dissolve`: robust where
#: GEOS's floating-point overlay fails, and far below any border's precision.
SNAP_GRID_M = 0.001


def dissolve(cells: np.ndarray):
    """Union of one station's cells: the fast coverage union, else a full union of repaired cells.

    Near-degenerate seeds (almost collinear, a hair apart) can make GEOS return a
    self-intersecting Voronoi cell, on which both unions fail ("side location
    conflict": seen once in 20 M cells of a generated national table). Those cells
    are repaired with ``make_valid``; should the union still fail, it is snap-rounded
    to :data:`SNAP_GRID_M`. Checking every cell's validity up front would cost more
    than the Voronoi itself, so it is done only here, on failure.
    """
    try:
        return shapely.coverage_union_all(cells)
    except shapely.errors.GEOSException:  # cells of degenerate input, not exactly noded
        pass
    invalid = ~shapely.is_valid(cells)
    if invalid.any():
        cells = cells.copy()
        cells[invalid] = polygonal_parts(shapely.make_valid(cells[invalid]))
    try:
        return shapely.union_all(cells)
    except shapely.errors.GEOSException:
        return shapely.union_all(cells, grid_size=SNAP_GRID_M)


def hull_partition(
    xy: np.ndarray, station: np.ndarray, outline, margin_m: float, ratio: float, buffer_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Partition ``outline``: stations' concave-hull cores first, the rest by Voronoi.

    Parameters
    ----------
    xy, station, outline, margin_m
        As for :func:`voronoi_partition`.
    ratio : float
        ``shapely.concave_hull`` ratio, from 0 (most concave) to 1 (convex hull).
    buffer_m : float
        Width added around each hull (a station's doors stand back from its points).

    Returns
    -------
    stations, polygons
        As for :func:`voronoi_partition`.
    """
    # the stations grouped once, for the cells and the hulls alike (a factorize per call)
    stations, groups = group_indices(np.asarray(station))
    if len(stations) == 1:
        return stations, np.array([outline], dtype=object)
    cells = _voronoi_cells(xy, groups, outline, margin_m)
    # every station's MultiPoint in one call (its points in the same order as one call each)
    sizes = np.array([len(g) for g in groups])
    points = shapely.multipoints(xy[np.concatenate(groups)], indices=np.repeat(np.arange(len(groups)), sizes))
    hulls = shapely.concave_hull(points, ratio=ratio)
    cores = polygonal_parts(shapely.intersection(shapely.buffer(hulls, buffer_m), outline))
    out = _cores_over_cells(cores, cells, None)
    if _adds_up(out, outline):
        return stations, out
    # GEOS's floating-point overlay can lose a piece (a union_all that dropped one part
    # of a core left 950 m² claimed twice: found by make fuzz): snap-round it instead
    out = _cores_over_cells(cores, cells, SNAP_GRID_M)
    if _adds_up(out, outline):
        return stations, out
    return stations, cells  # the Voronoi cells: a partition whatever happens


#: Largest gap or overlap (m²) the hull overlay may leave before it is redone snap-rounded,
#: then abandoned for the Voronoi cells (well under the partition check's tolerance).
HULL_BALANCE_M2 = 0.1


def _adds_up(polygons: np.ndarray, outline) -> bool:
    """True when the polygons' areas add up to the outline's and their union covers it."""
    total = shapely.area(polygons).sum()
    if abs(total - outline.area) > HULL_BALANCE_M2:
        return False
    present = polygons[~shapely.is_empty(polygons)]
    if shapely.coverage_is_valid(present):
        return True  # no overlap: the union's area is the total (and a union costs ten times more)
    union = shapely.area(shapely.union_all(polygons))
    return abs(union - outline.area) <= HULL_BALANCE_M2


def _cores_over_cells(cores: np.ndarray, cells: np.ndarray, grid_size: float | None) -> np.ndarray:
    """Each station's exclusive core, and its Voronoi cell outside every core (``hull_partition``)."""
    # land claimed by two cores or more is left to the Voronoi cells (each pair once)
    tree = shapely.STRtree(cores)
    a, b = tree.query(cores, predicate="intersects")
    pair = a < b
    claimed_twice = (shapely.union_all(shapely.intersection(cores[a[pair]], cores[b[pair]], grid_size=grid_size),
                                       grid_size=grid_size) if pair.any() else None)
    if claimed_twice is not None and shapely.get_type_id(claimed_twice) not in (3, 6):
        # cores that only touch meet in lines or points too; GEOS refuses such a
        # mixed collection in the next overlay (cores clipped to an outline of many parts)
        claimed_twice = polygonal_parts(np.array([claimed_twice], dtype=object))[0]
    exclusive = cores if claimed_twice is None else shapely.difference(cores, claimed_twice, grid_size=grid_size)
    # Slivers of nothing (1e-9 m²) left by the difference made GEOS's next overlays wrong
    # (a 180 m² gap, found by the property tests): drop them, their land goes to the cells.
    exclusive = polygonal_parts(exclusive, min_area_m2=SLIVER_M2)
    # a cell keeps its own core's land: it loses only the other stations' cores, and
    # needs its core added only where the core spills out of it
    rest = polygonal_parts(shapely.difference(cells, _cores_reaching(cells, exclusive, grid_size),
                                              grid_size=grid_size))
    spills = ~shapely.is_empty(exclusive) & ~shapely.covers(rest, exclusive)
    out = rest.copy()
    out[spills] = polygonal_parts(shapely.union(exclusive[spills], rest[spills], grid_size=grid_size))
    # separate overlays leave neighbours' shared edges a hair apart: make them one coverage
    present = ~shapely.is_empty(out)
    out[present] = polygonal_parts(shapely.coverage_clean(out[present]))
    return out


def _cores_reaching(cells: np.ndarray, cores: np.ndarray, grid_size: float | None) -> np.ndarray:
    """For each cell, the union of the other stations' cores that intersect it (empty where none does).

    ``cells[i]`` and ``cores[i]`` are station ``i``'s. A cell minus these is the cell minus
    every other core, and a few small unions cost a third of one union of the whole
    commune's cores.
    """
    hit_cell, hit_core = shapely.STRtree(cores).query(cells, predicate="intersects")
    other = hit_cell != hit_core
    hit_cell, hit_core = hit_cell[other], hit_core[other]
    out = np.full(len(cells), shapely.Polygon(), dtype=object)
    if len(hit_cell) == 0:
        return out
    order = np.argsort(hit_cell, kind="stable")
    used, start = np.unique(hit_cell[order], return_index=True)
    for c, idx in zip(used, np.split(hit_core[order], start[1:])):
        out[c] = cores[idx[0]] if len(idx) == 1 else shapely.union_all(cores[idx], grid_size=grid_size)
    return out


def tessellate(xy: np.ndarray, station: np.ndarray, outline, method: str, params):
    """One commune's station keys and polygons from its seeds (``xy`` in metres), by ``voronoi`` or ``hull``."""
    if method == "hull":
        return hull_partition(xy, station, outline, params.voronoi_margin_m, params.hull_ratio, params.hull_buffer_m)
    return voronoi_partition(xy, station, outline, params.voronoi_margin_m)


def choose_method(seeds, outline, params) -> tuple[str, str]:
    """``method="auto"``: hull, unless an internal hold-out says it misplaces addresses.

    A share ``auto_holdout`` of the commune's address seeds (a frame with ``sx``,
    ``sy``, ``station_key``, ``rows``) is kept out; both methods are built from the
    rest and scored on it (rows-weighted share inside their own station). Hull is
    kept unless it scores more than ``auto_max_loss`` below voronoi: on the official
    maps hull draws the sectors' area better (docs/default-method.md), which an
    address hold-out cannot see, so only a clear loss of addresses overrules it.
    Too few test points (under ``auto_min_test``) or a station lost to the split
    leave nothing to compare: hull, the default, is kept.

    Returns
    -------
    method : str
        ``"hull"`` or ``"voronoi"``.
    reason : str
        Why, in one short line starting with the method (the report's ``method_reason``).
    """
    from .scoring import holdout_accuracy, holdout_split

    real = seeds["rows"].to_numpy() > 0
    test = np.zeros(len(seeds), dtype=bool)
    test[real] = holdout_split(seeds["sx"].to_numpy()[real], seeds["sy"].to_numpy()[real], params.auto_holdout, 0)
    train = seeds.loc[~test]
    if test.sum() < params.auto_min_test:
        return "hull", f"hull: too few held-out points to compare ({int(test.sum())} < {params.auto_min_test})"
    if train["station_key"].nunique() < seeds["station_key"].nunique():
        return "hull", "hull: the internal hold-out would take every point of a station"
    t = seeds.loc[test]
    w = t["rows"].to_numpy()
    scores = {}
    for m in ("voronoi", "hull"):
        keys, polys = tessellate(train[["sx", "sy"]].to_numpy(), train["station_key"].to_numpy(), outline, m, params)
        acc = holdout_accuracy(dict(zip(keys, polys)), t["sx"].to_numpy(), t["sy"].to_numpy(),
                               t["station_key"].to_numpy())
        scores[m] = float((acc["inside_own"] * w).sum() / w.sum())
    loss = 100 * (scores["voronoi"] - scores["hull"])  # points
    margin = 100 * params.auto_max_loss  # points
    held = f"(hull {100 * scores['hull']:.1f} %, voronoi {100 * scores['voronoi']:.1f} % of {int(test.sum())})"
    if loss > margin:
        return "voronoi", f"voronoi: hull loses {loss:.1f} points of held-out addresses, over the {margin:g}-point margin {held}"
    if loss > 0:
        return "hull", f"hull: loses {loss:.1f} points of held-out addresses, within the {margin:g}-point margin {held}"
    return "hull", f"hull: places as many held-out addresses or more {held}"


def hull_partition_blocks(xy: np.ndarray, station: np.ndarray, block_of: np.ndarray, blocks: np.ndarray,
                          margin_m: float, ratio: float, buffer_m: float):
    """:func:`hull_partition` of each block on its own seeds, batched: a few GEOS calls for all blocks.

    Parameters
    ----------
    xy, station : numpy.ndarray
        Unique seeds and their station codes (integers); every block used holds two stations or more.
    block_of : numpy.ndarray of int
        Each seed's block, an index into ``blocks``.
    blocks : numpy.ndarray of shapely Polygons
        Disjoint polygons (a commune's blocks between its streets).
    margin_m, ratio, buffer_m
        As for :func:`hull_partition`.

    Returns
    -------
    group_block, group_station, polygons : numpy.ndarray
        One polygon per (block, station) pair, sorted by block then station: each block's
        partition as :func:`hull_partition` draws it (a block whose overlay does not add up
        is redone by :func:`hull_partition` alone, as it would have been).
    """
    order = np.lexsort((station, block_of))  # stable: seeds of a (block, station) in input order
    start = np.r_[True, (np.diff(block_of[order]) != 0) | (np.diff(station[order]) != 0)]
    group = np.cumsum(start) - 1
    g_block, g_station = block_of[order][start], station[order][start]
    cells = _block_cells(xy, block_of, blocks, order, group, margin_m)
    hulls = shapely.concave_hull(shapely.multipoints(xy[order], indices=group), ratio=ratio)
    cores = polygonal_parts(shapely.intersection(shapely.buffer(hulls, buffer_m), blocks[g_block]))
    out = _cores_over_block_cells(cores, cells, g_block)
    used, first = np.unique(g_block, return_index=True)
    last = np.r_[first[1:], len(g_block)]
    for b, lo, hi in zip(used, first, last):  # one coverage each: the cleaning and its check are per block
        present = lo + np.flatnonzero(~shapely.is_empty(out[lo:hi]))
        out[present] = polygonal_parts(shapely.coverage_clean(out[present]))
        if not _adds_up(out[lo:hi], blocks[b]):
            seeds = block_of == b
            out[lo:hi] = hull_partition(xy[seeds], station[seeds], blocks[b], margin_m, ratio, buffer_m)[1]
    return g_block, g_station, out


def _block_cells(xy, block_of, blocks, order, group, margin_m) -> np.ndarray:
    """Each (block, station) group's Voronoi cells in its block (:func:`_voronoi_cells`, all blocks at once)."""
    by_block = np.argsort(block_of, kind="stable")
    used, first = np.unique(block_of[by_block], return_index=True)
    x0, y0, x1, y1 = shapely.bounds(blocks[used]).T
    lo = np.minimum.reduceat(xy[by_block], first)
    hi = np.maximum.reduceat(xy[by_block], first)
    frames = shapely.box(np.minimum(x0 - margin_m, lo[:, 0]), np.minimum(y0 - margin_m, lo[:, 1]),
                         np.maximum(x1 + margin_m, hi[:, 0]), np.maximum(y1 + margin_m, hi[:, 1]))
    dense = np.searchsorted(used, block_of[by_block])
    lines = shapely.linestrings(xy[by_block], indices=dense)
    cells = shapely.get_parts(shapely.voronoi_polygons(lines, extend_to=frames, ordered=True))
    if len(cells) != len(xy):  # ordered=True promises one cell per input point
        raise RuntimeError(f"Voronoi returned {len(cells)} cells for {len(xy)} points")
    odd = shapely.get_type_id(cells) != 3
    if odd.any():  # degenerate seeds: a cell with a stray line, as in _voronoi_cells
        cells[odd] = polygonal_parts(shapely.make_valid(cells[odd]))
    cell_of = np.empty(len(xy), dtype=object)
    cell_of[by_block] = cells
    dissolved = _union_rows(cell_of[order], group, dissolve, shapely.coverage_union_all)
    invalid = ~shapely.is_valid(dissolved)
    if invalid.any():
        dissolved[invalid] = polygonal_parts(shapely.make_valid(dissolved[invalid]))
    g_block = block_of[order][np.r_[True, np.diff(group) != 0]]
    try:
        clipped = shapely.intersection(dissolved, blocks[g_block])
    except shapely.errors.GEOSException:
        clipped = shapely.intersection(dissolved, blocks[g_block], grid_size=SNAP_GRID_M)
    return polygonal_parts(clipped)


def _union_rows(geoms: np.ndarray, row: np.ndarray, one, batched) -> np.ndarray:
    """``one(geoms[row == i])`` for each row ``i`` (``row`` sorted), by one ``batched(table, axis=1)`` call.

    The table holds each row's geometries padded with None; should the batched call
    fail, each row goes through ``one`` (with its own fall-backs).
    """
    counts = np.bincount(row)
    table = np.full((len(counts), counts.max(initial=1)), None, dtype=object)
    table[row, np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)] = geoms
    try:
        return batched(table, axis=1)
    except shapely.errors.GEOSException:
        return np.array([one(r[r != None]) for r in table], dtype=object)  # noqa: E711


def _cores_over_block_cells(cores: np.ndarray, cells: np.ndarray, g_block: np.ndarray) -> np.ndarray:
    """:func:`_cores_over_cells` for many blocks at once (``g_block``: each group's block, sorted), before cleaning."""
    tree = shapely.STRtree(cores)
    a, b = tree.query(cores, predicate="intersects")
    pair = (a < b) & (g_block[a] == g_block[b])  # cores of different blocks only touch along a street
    a, b = a[pair], b[pair]
    exclusive = cores
    if len(a):
        order = np.lexsort((b, a, g_block[a]))
        a, b = a[order], b[order]
        twice = shapely.intersection(cores[a], cores[b])
        used, row = np.unique(g_block[a], return_inverse=True)
        claimed = _union_rows(twice, row, shapely.union_all, shapely.union_all)
        hit = np.isin(g_block, used)
        exclusive = cores.copy()
        exclusive[hit] = shapely.difference(cores[hit], claimed[np.searchsorted(used, g_block[hit])])
    exclusive = polygonal_parts(exclusive, min_area_m2=SLIVER_M2)
    # each cell loses the other stations' cores of its block that reach it
    cell_i, core_i = shapely.STRtree(exclusive).query(cells, predicate="intersects")
    other = (cell_i != core_i) & (g_block[cell_i] == g_block[core_i])
    cell_i, core_i = cell_i[other], core_i[other]
    reaching = np.full(len(cells), shapely.Polygon(), dtype=object)
    if len(cell_i):
        order = np.lexsort((core_i, cell_i))
        cell_i, core_i = cell_i[order], core_i[order]
        used, row = np.unique(cell_i, return_inverse=True)
        single = np.bincount(row) == 1
        reaching[used[single]] = exclusive[core_i[np.isin(row, np.flatnonzero(single))]]
        many = np.isin(row, np.flatnonzero(~single))
        if many.any():
            used_m, row_m = np.unique(cell_i[many], return_inverse=True)
            reaching[used_m] = _union_rows(exclusive[core_i[many]], row_m, shapely.union_all, shapely.union_all)
    rest = polygonal_parts(shapely.difference(cells, reaching))
    spills = ~shapely.is_empty(exclusive) & ~shapely.covers(rest, exclusive)
    out = rest.copy()
    out[spills] = polygonal_parts(shapely.union(exclusive[spills], rest[spills]))
    return out
