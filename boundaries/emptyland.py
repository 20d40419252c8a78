"""Empty land: parks, cemeteries, fields and water go whole to one station.

The Voronoi cells split land with no address along bisectors of the nearest
doors, which is arbitrary where nobody lives: a park ends up cut into wedges
between the stations around it. This step takes the land farther than
``distance_m`` from every seed, splits it into connected pieces, and gives each
piece whole to the station whose populated land shares the longest border with
it (ties: smallest station key). Pieces larger than ``max_area_m2`` (open
country around a village) keep their Voronoi split, which shares them along the
roads that lead out; so does a piece with no populated neighbour.

The result is still an exact partition of the outline.
"""

from __future__ import annotations

import numpy as np
import shapely

import pandas as pd

from .geometry import polygonal_parts
from .tessellate import dissolve

#: An arc this close to an empty piece borders it (floating-point slack of the overlays).
_TOUCH_M = 0.01


def assign_empty_land(
    keys: np.ndarray,
    polygons: np.ndarray,
    outline,
    seed_xy: np.ndarray,
    seed_station: np.ndarray,
    distance_m: float,
    max_area_m2: float,
) -> tuple[np.ndarray, int]:
    """Give each piece of land far from every seed to one neighbouring station.

    Parameters
    ----------
    keys : numpy.ndarray
        Station keys, one per polygon (sorted: the tie rule uses their order).
    polygons : numpy.ndarray
        One commune's station polygons: an exact partition of ``outline``.
    outline : shapely geometry
        The commune, in the same metric CRS.
    seed_xy : numpy.ndarray, shape (n, 2)
        The seeds the polygons were built from (unique coordinates).
    seed_station : numpy.ndarray, shape (n,)
        The station key of each seed.
    distance_m : float
        Land farther than this from every seed is empty.
    max_area_m2 : float
        An empty piece larger than this keeps its Voronoi split (0: no limit).

    Returns
    -------
    polygons : numpy.ndarray
        The new polygons, same order; an exact partition of ``outline``.
    moved : int
        Number of empty pieces given whole to one station.
    """
    polygons = np.asarray(polygons, dtype=object)
    keys = np.asarray(keys, dtype=object)
    if len(polygons) < 2 or len(seed_xy) < 2:
        return polygons, 0
    land = _far_land(outline, seed_xy, distance_m)
    if land is None:
        return polygons, 0
    cells, disks, far, seed_of = land
    empty = _empty_pieces(outline, far, max_area_m2)
    if len(empty) == 0:
        return polygons, 0
    owners = _piece_owners(keys, empty, outline, cells, disks, np.asarray(seed_station, dtype=object)[seed_of])
    if owners is None:
        return polygons, 0
    pieces, owner = owners
    return _give_pieces(polygons, pieces, owner), len(pieces)


def _far_land(outline, seed_xy: np.ndarray, distance_m: float):
    """The seeds' Voronoi cells holding land farther than ``distance_m`` from every seed, and that land.

    Inside seed i's Voronoi cell every other seed is farther than i: the land there
    farther than ``distance_m`` from all seeds is the cell minus i's disk, and the
    border of that land is the arc of i's circle inside the cell. Per-seed work only.

    Returns
    -------
    tuple or None
        ``(cells, disks, far, seed_of)`` for the seeds whose cell holds far land:
        their cells, disks, far land and indices among the seeds. None when the
        cells do not match the seeds one to one, or when no land is far from every seed.
    """
    points = shapely.points(seed_xy)
    frame = shapely.buffer(shapely.envelope(outline), distance_m + 1.0, join_style="mitre")
    frame = shapely.envelope(shapely.union(frame, shapely.envelope(shapely.multipoints(seed_xy))))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seed_xy), extend_to=frame, ordered=True))
    if len(cells) != len(seed_xy):
        return None
    disks = shapely.buffer(points, distance_m, quad_segs=8)
    far = shapely.difference(cells, disks)
    has_far = ~shapely.is_empty(far)
    if not has_far.any():
        return None
    seed_of = np.flatnonzero(has_far)
    return cells[has_far], disks[has_far], far[has_far], seed_of


def _empty_pieces(outline, far: np.ndarray, max_area_m2: float) -> np.ndarray:
    """The connected pieces of far land inside ``outline`` (at most ``max_area_m2`` each, unless 0)."""
    shapely.prepare(outline)
    empty = shapely.get_parts(shapely.intersection(dissolve(polygonal_parts(far)), outline))
    empty = empty[shapely.get_type_id(empty) == 3]
    if max_area_m2 > 0:
        empty = empty[shapely.area(empty) <= max_area_m2]
    return empty


def _piece_owners(keys: np.ndarray, empty: np.ndarray, outline, cells: np.ndarray, disks: np.ndarray,
                  cell_station: np.ndarray):
    """For each empty piece with a populated neighbour, the station sharing its longest border.

    The populated land's border with a piece is made of the seeds' arcs (their
    circle inside their cell) lying along it. Ties go to the first station key.

    ``cells`` and ``disks`` are those of the seeds with far land (:func:`_far_land`),
    ``cell_station`` their station keys.

    Returns
    -------
    tuple or None
        ``(pieces, owner)``: the pieces to move and the index in ``keys`` of the
        station each goes to; None when no arc borders any piece.
    """
    arcs, arc_seed = shapely.get_parts(
        shapely.intersection(shapely.intersection(shapely.boundary(disks), cells), outline), return_index=True
    )
    lines = shapely.get_type_id(arcs) == 1
    arcs, arc_seed = arcs[lines], arc_seed[lines]
    arc_idx, piece = shapely.STRtree(empty).query(arcs, predicate="dwithin", distance=_TOUCH_M)
    if len(piece) == 0:
        return None
    station = np.searchsorted(keys, cell_station[arc_seed[arc_idx]])
    frame = pd.DataFrame({"piece": piece, "station": station, "shared": shapely.length(arcs[arc_idx])})
    border = frame.groupby(["piece", "station"], sort=True)["shared"].sum().reset_index()
    # for each piece: longest shared border, then first station key
    border = border.sort_values(["piece", "shared", "station"], ascending=[True, False, True], kind="stable")
    best = border.drop_duplicates("piece", keep="first")
    return empty[best["piece"].to_numpy()], best["station"].to_numpy()


def _give_pieces(polygons: np.ndarray, pieces: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Take every moved piece out of every station, then give each to its owner; one coverage again."""
    out = polygonal_parts(shapely.difference(polygons, shapely.union_all(pieces)))
    for i in np.unique(owner):
        out[i] = shapely.union_all(np.r_[np.array([out[i]], dtype=object), pieces[owner == i]])
    out = polygonal_parts(out)
    # the overlays leave shared edges a hair apart: make them one coverage again
    present = ~shapely.is_empty(out)
    out[present] = polygonal_parts(shapely.coverage_clean(out[present]))
    return out
