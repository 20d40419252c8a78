"""The ``streets`` method: a commune cut into blocks by its street centre-lines.

Official station borders run along streets. The centre-lines, noded with the
outline's boundary and polygonized (``shapely.node``/``polygonize``), give the
commune's blocks; then

- a block whose seeds all belong to one station goes whole to it;
- a block with seeds of several stations is split inside itself by the Voronoi
  cells of its own seeds, clipped to the block;
- a block with no seed is split by the Voronoi cells of all the commune's seeds
  (its nearest seeds: :data:`EMPTY_BLOCKS` says so, the choice is documented).

Borders between blocks of different stations then lie on the centre-lines, not on
a zig-zag between the two rows of houses. The result is an exact partition of the
outline, with the same contract as :func:`boundaries.tessellate.tessellate`.
"""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import polygonal_parts
from .tessellate import dissolve, voronoi_partition

#: How a block without any seed is shared: ``"voronoi"``, by the Voronoi cells of the
#: commune's seeds (its nearest seeds), rather than whole to one neighbour — a large
#: seedless block (a park, a cemetery) is then split as today's method splits it.
EMPTY_BLOCKS = "voronoi"
#: Blocks smaller than this (m²) are noding noise (a street drawn twice a hair apart), not land.
BLOCK_MIN_M2 = 1e-2


def street_blocks(outline, streets: np.ndarray) -> np.ndarray:
    """The blocks of ``outline`` cut by the street lines ``streets`` (same metric CRS).

    The lines are clipped to the outline, noded with its boundary and polygonized;
    faces outside the outline (its holes) and noise under :data:`BLOCK_MIN_M2` are
    dropped. Dangling lines (dead ends) cut nothing.
    """
    lines = shapely.intersection(np.asarray(streets, dtype=object), outline)
    noded = shapely.node(shapely.union_all(np.append(lines, shapely.boundary(outline))))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > BLOCK_MIN_M2]
    inside = shapely.contains_properly(outline, shapely.point_on_surface(faces))
    return faces[inside]


def seed_blocks(xy: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """The block of each seed: the one that holds it, else the nearest (seeds on a line or outside)."""
    points = shapely.points(xy)
    tree = shapely.STRtree(blocks)
    where = np.full(len(xy), -1)
    pt, blk = tree.query(points, predicate="intersects")
    first = np.unique(pt, return_index=True)  # a seed on a shared edge: its first block
    where[first[0]] = blk[first[1]]
    lost = where < 0
    if lost.any():
        where[lost] = tree.query_nearest(points[lost], all_matches=False)[1]
    return where


def street_partition(xy: np.ndarray, station: np.ndarray, outline, streets: np.ndarray,
                     margin_m: float, partition=None, partition_blocks=None) -> tuple[np.ndarray, np.ndarray]:
    """Partition ``outline`` between stations, block by block (see the module docstring).

    Parameters
    ----------
    xy : numpy.ndarray, shape (n, 2)
        Unique seed coordinates in a metric CRS.
    station : numpy.ndarray, shape (n,)
        The station of each seed.
    outline : shapely.Polygon or shapely.MultiPolygon
        The commune, in the same CRS.
    streets : numpy.ndarray of shapely lines
        Street centre-lines in the same CRS (clipped here).
    margin_m : float
        As for :func:`boundaries.tessellate.voronoi_partition`.
    partition : callable, optional
        ``partition(xy, station, polygon) -> (keys, polygons)``, how the commune's
        cells (for seedless blocks) and a mixed block are drawn; the Voronoi cells
        (``margin_m``) by default.
    partition_blocks : callable, optional
        ``partition_blocks(xy, code, block_of, blocks) -> (group_block, group_code, polygons)``:
        ``partition`` of every mixed block at once (e.g.
        :func:`boundaries.tessellate.hull_partition_blocks`), the same pieces in fewer GEOS
        calls; else ``partition`` is called block by block.

    Returns
    -------
    stations : numpy.ndarray
        Sorted station keys.
    polygons : numpy.ndarray of shapely geometries
        Each station's polygon; together an exact partition of ``outline``.
    """
    station = np.asarray(station, dtype=object)
    if partition is None:
        def partition(xy, station, polygon):
            return voronoi_partition(xy, station, polygon, margin_m)
    keys, cells = partition(xy, station, outline)
    blocks = street_blocks(outline, streets)
    if len(keys) == 1 or not len(blocks):
        return keys, cells
    code = np.searchsorted(keys, station)
    block_of = seed_blocks(xy, blocks)
    pieces = [[] for _ in keys]
    mixed = _add_single_blocks(pieces, blocks, block_of, code)
    if partition_blocks is not None and len(mixed):
        inside = np.isin(block_of, mixed)
        _, group_code, polys = partition_blocks(xy[inside], code[inside], block_of[inside], blocks)
        for c, p in zip(group_code, polys):  # by block, then station: the order of the loop below
            if not shapely.is_empty(p):
                pieces[int(c)].append(p)
    else:
        for b in mixed:
            _split_block(pieces, blocks[b], xy[block_of == b], code[block_of == b], partition)
    taken = shapely.union_all(np.concatenate([np.asarray(p, dtype=object) for p in pieces if p] or [np.array([])]))
    # seedless blocks, and whatever noding left between blocks: by the commune's Voronoi cells
    rest = polygonal_parts(shapely.intersection(cells, shapely.difference(outline, taken)))
    out = np.array([dissolve(np.append(np.asarray(p, dtype=object), r)) for p, r in zip(pieces, rest)],
                   dtype=object)
    out = polygonal_parts(shapely.intersection(out, outline))
    present = ~shapely.is_empty(out)
    out[present] = polygonal_parts(shapely.coverage_clean(out[present]))
    return keys, out


def _add_single_blocks(pieces: list, blocks: np.ndarray, block_of: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Give each block whose seeds are all one station's to it; return the mixed blocks' indices."""
    order = np.argsort(block_of, kind="stable")
    used, start = np.unique(block_of[order], return_index=True)
    lo = np.minimum.reduceat(code[order], start)
    hi = np.maximum.reduceat(code[order], start)
    for b, c in zip(used[lo == hi], lo[lo == hi]):
        pieces[c].append(blocks[b])
    return used[lo != hi]


def _split_block(pieces: list, block, xy: np.ndarray, code: np.ndarray, partition) -> None:
    """Split a mixed block by ``partition`` of its own seeds, clipped to it."""
    sub, polys = partition(xy, code, block)
    for c, p in zip(sub, polys):
        if not shapely.is_empty(p):
            pieces[int(c)].append(p)


__all__ = ["EMPTY_BLOCKS", "street_blocks", "seed_blocks", "street_partition"]
