"""Fragment clean-up: detached parts of a station go to the neighbour that surrounds them, unless they are enclaves.

A Voronoi station often has, besides its main body, small parts cut off from it:
the cells of a few addresses sitting among another station's, or slivers left by
the outline's shape. Official maps draw one piece per station, so a detached part
(not the station's main part: most rows, then largest) goes to the neighbouring
station with which it shares the longest border (ties: smallest station key)
unless it is a true enclave: it holds more than ``max_rows`` address rows *and* at
least ``min_share`` of its station's rows *and* is at least ``sliver_m2`` large.
A part touching the others at points only stays. What moves is counted (parts,
address rows, area) and located, so the report and the ``enclaves`` layer show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from .geometry import points_in_polygons
from .tessellate import dissolve


@dataclass
class PieceMoves:
    """What the fragment clean-up of one commune did.

    Attributes
    ----------
    moved : int
        Detached parts given to a neighbour.
    moved_rows : int
        Address rows inside those parts: they now lie in another station's polygon.
    moved_area_m2 : float
        Area of those parts.
    kept : int
        Detached parts holding addresses that stay with their station (enclaves kept).
    kept_rows : int
        Address rows in the enclaves kept.
    enclaves : dict
        The moved parts holding rows, one entry per part: ``station`` (index of the
        station the rows belong to), ``holder`` (index of the station whose polygon
        now holds them), ``rows``, ``x``, ``y`` (a point inside the part, metres).
    """

    moved: int = 0
    moved_rows: int = 0
    moved_area_m2: float = 0.0
    kept: int = 0
    kept_rows: int = 0
    enclaves: dict = field(default_factory=lambda: {k: np.empty(0) for k in ("station", "holder", "rows", "x", "y")})


def reassign_fragments(keys, polygons, seed_xy, seed_rows, max_rows: int) -> tuple[np.ndarray, int]:
    """The row-count rule alone (:func:`reassign_pieces` with ``max_rows`` only); returns the number moved."""
    polygons, moves = reassign_pieces(keys, polygons, seed_xy, seed_rows, max_rows)
    return polygons, moves.moved


def reassign_pieces(
    keys: np.ndarray,
    polygons: np.ndarray,
    seed_xy: np.ndarray,
    seed_rows: np.ndarray,
    max_rows: int,
    min_share: float = 0.0,
    sliver_m2: float = 0.0,
) -> tuple[np.ndarray, PieceMoves]:
    """Give each station's detached parts that are not enclaves to their main neighbour.

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
        A detached part holding at most this many rows always moves.
    min_share : float
        A detached part holding less than this share (0 to 1) of its station's rows moves.
    sliver_m2 : float
        A detached part smaller than this (m²) moves, whatever it holds.

    Returns
    -------
    polygons : numpy.ndarray
        The new polygons, same order; still an exact partition.
    moves : PieceMoves
        What moved and what stayed.
    """
    polygons = np.asarray(polygons, dtype=object)
    parts, owner = shapely.get_parts(polygons, return_index=True)
    if len(parts) <= len(polygons):
        return polygons, PieceMoves()
    rows_in = _rows_per_part(parts, owner, seed_xy, seed_rows)
    station_rows = np.bincount(owner, weights=rows_in, minlength=len(polygons))[owner]
    detached = ~_main_parts(parts, owner, rows_in)
    fragment = detached & ((rows_in <= max_rows) | (rows_in < min_share * station_rows)
                           | (shapely.area(parts) < sliver_m2))
    new_owner = _fragment_owners(keys, parts, owner, fragment) if fragment.any() else owner
    moves = _moves(parts, owner, new_owner, rows_in, detached)
    if not moves.moved:
        return polygons, moves
    return _regroup(polygons, parts, owner, new_owner), moves


def _moves(parts, owner, new_owner, rows_in, detached) -> PieceMoves:
    """Count and locate what moved, and the enclaves (detached parts with rows) that stayed."""
    went = new_owner != owner
    kept = detached & ~went & (rows_in > 0)
    loc = went & (rows_in > 0)
    pts = shapely.point_on_surface(parts[loc])
    enclaves = {"station": owner[loc], "holder": new_owner[loc], "rows": rows_in[loc].astype(np.int64),
                "x": shapely.get_x(pts), "y": shapely.get_y(pts)}
    return PieceMoves(moved=int(went.sum()), moved_rows=int(rows_in[went].sum()),
                      moved_area_m2=float(shapely.area(parts[went]).sum()),
                      kept=int(kept.sum()), kept_rows=int(rows_in[kept].sum()), enclaves=enclaves)


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
