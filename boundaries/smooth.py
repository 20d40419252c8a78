"""Border smoothing: straighten the Voronoi zig-zag between two stations.

Between two stations' addresses the Voronoi border zig-zags from one pair of
facing points to the next, while true borders follow streets. Each border shared
by two stations is resampled every ``spacing_m`` and replaced by its moving
average over ``window_m`` of arc length, its two ends (where three stations meet,
or on the commune outline) held fixed. The commune's outline is never moved.

Addresses are respected: the land between a border and its smoothed version goes
to the smoothed side only where it holds no address of the station it is taken
from. The result is still an exact partition (the faces of the overlaid linework,
each given to one station).
"""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import polygonal_parts
from .tessellate import dissolve


def _smooth_line(coords: np.ndarray, window_m: float, spacing_m: float) -> np.ndarray:
    """Moving average of a polyline over ``window_m``, ends fixed."""
    seg = np.hypot(*np.diff(coords, axis=0).T)
    length = seg.sum()
    n = int(np.ceil(length / spacing_m))
    if n < 3:
        return coords
    s = np.r_[0.0, np.cumsum(seg)]
    t = np.linspace(0.0, length, n + 1)
    pts = np.column_stack([np.interp(t, s, coords[:, 0]), np.interp(t, s, coords[:, 1])])
    half = max(int(round(window_m / (2 * length / n))), 1)
    # the window shrinks near the ends so that they stay where they are
    idx = np.arange(n + 1)
    reach = np.minimum(np.minimum(idx, n - idx), half)
    csum = np.vstack([np.zeros((1, 2)), np.cumsum(pts, axis=0)])
    lo, hi = idx - reach, idx + reach + 1
    out = (csum[hi] - csum[lo]) / (hi - lo)[:, None]
    out[0], out[-1] = coords[0], coords[-1]  # exactly: the borders must still meet
    return out


def _locate(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point (-1 for none; the first one on a border)."""
    found = np.full(len(points), -1)
    p, g = shapely.STRtree(polygons).query(points, predicate="intersects")
    first = np.unique(p, return_index=True)[1]
    found[p[first]] = g[first]
    return found


def smooth_partition(
    polygons: np.ndarray,
    window_m: float,
    seed_xy: np.ndarray | None = None,
    seed_owner: np.ndarray | None = None,
    spacing_m: float | None = None,
) -> np.ndarray:
    """Smooth every border between two stations of one commune.

    Parameters
    ----------
    polygons : numpy.ndarray
        The commune's station polygons, an exact partition of its outline.
    window_m : float
        Length of the moving-average window along each border.
    seed_xy : numpy.ndarray, shape (n, 2), optional
        Address points to respect.
    seed_owner : numpy.ndarray, shape (n,), optional
        Index in ``polygons`` of each address point's station.
    spacing_m : float, optional
        Resampling step of the borders (default a tenth of the window).

    Returns
    -------
    numpy.ndarray
        The smoothed polygons, same order (an empty input polygon stays empty).
    """
    polygons = np.asarray(polygons, dtype=object)
    present = np.flatnonzero(~shapely.is_empty(polygons))
    if len(present) < 2 or window_m <= 0:
        return polygons
    geoms = polygons[present]
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    shared = shapely.line_merge(
        shapely.intersection(shapely.boundary(geoms[a[keep]]), shapely.boundary(geoms[b[keep]]))
    )
    chains = shapely.get_parts(shared)
    chains = chains[shapely.get_type_id(chains) == 1]  # LineStrings (not the points where they touch)
    if len(chains) == 0:
        return polygons
    spacing_m = spacing_m or window_m / 10
    smoothed = np.array(
        [shapely.linestrings(_smooth_line(shapely.get_coordinates(c), window_m, spacing_m)) for c in chains],
        dtype=object,
    )
    # drop the resampled vertices that add nothing (ends are kept by simplify)
    smoothed = shapely.simplify(smoothed, spacing_m / 20)
    # The outer linework comes from the stations themselves, not from the outline:
    # the borders end exactly on its vertices, so the faces close.
    outer = shapely.boundary(shapely.coverage_union_all(geoms))  # same vertices as the stations
    smooth_faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(np.r_[smoothed, [outer]]))))
    # Overlay of both partitions: each piece lies inside one original station and
    # inside one smoothed face, so a point of it tells both (no costly overlay areas).
    linework = shapely.union_all(np.r_[smoothed, chains, [outer]])
    pieces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    inner = shapely.point_on_surface(pieces)
    old = _locate(inner, geoms)
    face = _locate(inner, smooth_faces)
    # a smoothed face goes to the station owning most of its area
    area = shapely.area(pieces)
    ok = (old >= 0) & (face >= 0)
    n_st = len(geoms)
    owned = np.zeros((len(smooth_faces), n_st))
    np.add.at(owned, (face[ok], old[ok]), area[ok])
    face_owner = np.where(owned.max(axis=1) > 0, owned.argmax(axis=1), -1)
    new = np.where(face >= 0, face_owner[np.maximum(face, 0)], old)
    # a piece outside every station (a smoothed border crossing the outline) stays out;
    # a piece whose smoothed face has no owner keeps its own station
    new = np.where(old < 0, -1, np.where(new < 0, old, new))
    final = new.copy()
    if seed_xy is not None and len(seed_xy):
        # a piece changing hands keeps its owner if it holds one of that owner's addresses
        changing = np.flatnonzero((old != new) & (old >= 0))
        if len(changing):
            pos = np.full(len(polygons), -1)
            pos[present] = np.arange(len(present))
            owner_of_seed = pos[np.asarray(seed_owner)]
            p, q = shapely.STRtree(pieces[changing]).query(shapely.points(seed_xy), predicate="intersects")
            hit = owner_of_seed[p] == old[changing[q]]
            final[changing[np.unique(q[hit])]] = old[changing[np.unique(q[hit])]]
    out = polygons.copy()
    for k, i in enumerate(present):
        mine = pieces[final == k]
        out[i] = polygonal_parts(np.array([dissolve(mine)], dtype=object))[0] if len(
            mine) else shapely.MultiPolygon()
    return out
