"""Fragment clean-up: small detached parts of a station go to the neighbour that surrounds them.

A Voronoi station often has, besides its main body, small parts cut off from it:
the cell of one mis-geocoded address inside another station, or slivers left by
the outline's shape. A part holding at most ``max_rows`` address rows (and not the
station's main part) is given to the neighbouring station with which it shares
the longest border. Ties go to the smallest station key. Parts holding more rows
are true enclaves and stay.
"""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import points_in_polygons
from .tessellate import dissolve


def reassign_fragments(
    keys: np.ndarray,
    polygons: np.ndarray,
    seed_xy: np.ndarray,
    seed_rows: np.ndarray,
    max_rows: int,
) -> tuple[np.ndarray, int]:
    """Give each station's small detached parts to their main neighbour.

    Parameters
    ----------
    keys : numpy.ndarray
        Station keys, one per polygon.
    polygons : numpy.ndarray
        One commune's station polygons: an exact partition.
    seed_xy : numpy.ndarray, shape (n, 2)
        Address seed coordinates (interpolated seeds excluded).
    seed_rows : numpy.ndarray, shape (n,)
        Address rows at each seed.
    max_rows : int
        A detached part holding at most this many rows is a fragment.

    Returns
    -------
    polygons : numpy.ndarray
        The new polygons, same order; still an exact partition.
    moved : int
        Number of fragments given away.
    """
    polygons = np.asarray(polygons, dtype=object)
    parts, owner = shapely.get_parts(polygons, return_index=True)
    if len(parts) <= len(polygons):
        return polygons, 0
    rows_in = _rows_per_part(parts, owner, seed_xy, seed_rows)
    fragment = ~_main_parts(parts, owner, rows_in) & (rows_in <= max_rows)
    if not fragment.any():
        return polygons, 0
    new_owner = _fragment_owners(keys, parts, owner, fragment)
    moved = int((new_owner != owner).sum())
    if not moved:
        return polygons, 0
    return _regroup(polygons, parts, owner, new_owner), moved


def _rows_per_part(parts: np.ndarray, owner: np.ndarray, seed_xy: np.ndarray, seed_rows: np.ndarray) -> np.ndarray:
    """Address rows inside each part; only the parts of stations in several parts are counted.

    The others' only part is their main one whatever it holds, so only the seeds
    inside the bounds of the split stations are placed.
    """
    rows_in = np.zeros(len(parts))
    split = np.flatnonzero(np.bincount(owner)[owner] > 1)
    if len(seed_xy):
        x0, y0, x1, y1 = shapely.total_bounds(parts[split])
        near = np.flatnonzero((seed_xy[:, 0] >= x0) & (seed_xy[:, 0] <= x1)
                              & (seed_xy[:, 1] >= y0) & (seed_xy[:, 1] <= y1))
        pt_idx, part_idx = points_in_polygons(shapely.points(seed_xy[near]), parts[split])
        first = np.unique(pt_idx, return_index=True)[1]  # a point on a border counts once
        np.add.at(rows_in, split[part_idx[first]], seed_rows[near[pt_idx[first]]])
    return rows_in


def _main_parts(parts: np.ndarray, owner: np.ndarray, rows_in: np.ndarray) -> np.ndarray:
    """True for the main part of each station: most rows, then largest area."""
    area = shapely.area(parts)
    order = np.lexsort((-area, -rows_in, owner))
    is_main = np.zeros(len(parts), dtype=bool)
    is_main[order[np.r_[0, np.flatnonzero(np.diff(owner[order])) + 1]]] = True
    return is_main


def _fragment_owners(keys: np.ndarray, parts: np.ndarray, owner: np.ndarray, fragment: np.ndarray) -> np.ndarray:
    """The station of each part after the move: a fragment goes to the other station it borders most.

    Candidates are the parts that are not fragments (a fragment is never given to
    another fragment); ties go to the smallest station key. A fragment sharing no
    border length with another station (touching it at points only) stays.
    """
    frag_idx = np.flatnonzero(fragment)
    stable = np.flatnonzero(~fragment)
    tree = shapely.STRtree(parts[stable])
    f_pos, s_pos = tree.query(parts[frag_idx], predicate="intersects")
    cand = stable[s_pos]
    frag = frag_idx[f_pos]
    other = owner[cand] != owner[frag]
    frag, cand = frag[other], cand[other]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(parts[frag]), shapely.boundary(parts[cand]))
    )
    new_owner = owner.copy()
    if len(frag):
        key_of = np.asarray(keys, dtype=object)[owner[cand]]
        # for each fragment: longest shared border, then smallest station key
        rank = np.lexsort((key_of, -shared, frag))
        best = rank[np.r_[0, np.flatnonzero(np.diff(frag[rank])) + 1]]
        best = best[shared[best] > 0]
        new_owner[frag[best]] = owner[cand[best]]
    return new_owner


def _regroup(polygons: np.ndarray, parts: np.ndarray, owner: np.ndarray, new_owner: np.ndarray) -> np.ndarray:
    """The polygons rebuilt from their parts' new owners: only the stations that lost or gained one change."""
    out = polygons.copy()
    changed = np.unique(np.r_[owner[new_owner != owner], new_owner[new_owner != owner]])
    for i in changed:
        members = parts[new_owner == i]
        out[i] = dissolve(members) if len(members) else shapely.MultiPolygon()
    return out
