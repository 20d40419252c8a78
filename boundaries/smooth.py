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

from .geometry import points_in_polygons, polygonal_parts
from .tessellate import dissolve


def _smooth_lines(chains: np.ndarray, window_m: float, spacing_m: float) -> np.ndarray:
    """Moving average of each polyline over ``window_m`` of arc length, its ends fixed.

    Each line is resampled every ``spacing_m`` or a little less (a whole number of
    steps), then each point is replaced by the mean of the points within half a
    window on either side; the window shrinks near the ends so that they stay where
    they are. A line shorter than three steps is returned as it is. All lines are
    done together, in flat arrays (a city has thousands).
    """
    coords, line = shapely.get_coordinates(chains, return_index=True)
    n_lines = len(chains)
    step = np.hypot(*np.diff(coords, axis=0).T)
    step[line[1:] != line[:-1]] = 0.0  # no step from one line's end to the next one's start
    along = np.r_[0.0, np.cumsum(step)]  # arc length, running over all the lines
    first = np.searchsorted(line, np.arange(n_lines))
    start = along[first]
    length = np.bincount(line, weights=np.r_[0.0, step], minlength=n_lines)
    n = np.ceil(length / spacing_m).astype(np.int64)
    smooth = n >= 3
    # samples: n + 1 per smoothed line, at k * length / n, as positions on the running arc
    # length (lines are 1 m apart on it, so a sample never falls on another line)
    gap = np.cumsum(np.r_[0.0, (length + 1.0)[:-1]])
    key = along - start[line] + gap[line]
    count = np.where(smooth, n + 1, 0)
    sample_line = np.repeat(np.arange(n_lines), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    at = k * (length / np.maximum(n, 1))[sample_line] + gap[sample_line]
    # relative to each line's first point: the running sums below stay small and exact
    rel = coords - coords[first][line]
    pts = np.column_stack([np.interp(at, key, rel[:, 0]), np.interp(at, key, rel[:, 1])])
    half = np.maximum(np.round(window_m / (2 * length / np.maximum(n, 1))), 1).astype(np.int64)
    reach = np.minimum(np.minimum(k, n[sample_line] - k), half[sample_line])
    csum = np.vstack([np.zeros((1, 2)), np.cumsum(pts, axis=0)])
    at_index = np.arange(len(pts))
    lo, hi = at_index - reach, at_index + reach + 1
    pts = (csum[hi] - csum[lo]) / (hi - lo)[:, None] + coords[first][sample_line]
    # the ends exactly where they were: the borders must still meet
    head = np.cumsum(count) - count
    pts[head[smooth]] = coords[first[smooth]]
    last = np.r_[first[1:], len(coords)] - 1
    pts[(head + count - 1)[smooth]] = coords[last[smooth]]
    # the lines too short to smooth, as they were
    keep = ~smooth[line]
    out_xy = np.concatenate([pts, coords[keep]])
    out_line = np.concatenate([sample_line, line[keep]])
    order = np.argsort(out_line, kind="stable")
    return shapely.linestrings(out_xy[order], indices=out_line[order])


def _locate(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point (-1 for none; the first one on a border)."""
    found = np.full(len(points), -1)
    p, g = points_in_polygons(points, polygons)
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
    chains = _shared_borders(geoms)
    if len(chains) == 0:
        return polygons
    spacing_m = spacing_m or window_m / 10
    smoothed = _simplified(_smooth_lines(chains, window_m, spacing_m), spacing_m / 20)
    pieces, old, new = _overlay_owners(geoms, chains, smoothed)
    final = new
    if seed_xy is not None and len(seed_xy):
        final = _keep_addressed(pieces, old, new, geoms, present, len(polygons), seed_xy, seed_owner)
    out = polygons.copy()
    out[present] = shapely.MultiPolygon()  # a station left without a piece
    mine = [pieces[final == k] for k in range(len(present))]
    owns = np.array([len(m) > 0 for m in mine], dtype=bool)
    if owns.any():
        # the dissolved stations' polygonal parts in one call, not one call per station
        dissolved = np.array([dissolve(m) for m, o in zip(mine, owns) if o], dtype=object)
        out[present[owns]] = polygonal_parts(dissolved)
    return out


def _shared_borders(geoms: np.ndarray) -> np.ndarray:
    """The borders shared by two stations, merged into LineStrings (not the points where they touch)."""
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    shared = shapely.line_merge(
        shapely.intersection(shapely.boundary(geoms[a[keep]]), shapely.boundary(geoms[b[keep]]))
    )
    chains = shapely.get_parts(shared)
    return chains[shapely.get_type_id(chains) == 1]


def _simplified(smoothed: np.ndarray, tolerance: float) -> np.ndarray:
    """Drop the resampled vertices that add nothing (simplify keeps the ends).

    Plain Douglas-Peucker on open lines (the noding after it rebuilds the topology,
    and it is several times faster), topology-preserving on loops (an enclave's
    border), which Douglas-Peucker could fold into an out-and-back line enclosing nothing.
    """
    loop = shapely.is_closed(smoothed)
    smoothed[~loop] = shapely.simplify(smoothed[~loop], tolerance, preserve_topology=False)
    smoothed[loop] = shapely.simplify(smoothed[loop], tolerance)
    return smoothed


def _overlay_owners(geoms: np.ndarray, chains: np.ndarray, smoothed: np.ndarray):
    """Overlay the old and the smoothed borders; say who owns each piece before and after.

    Each piece of the overlay lies inside one original station and inside one face of
    the smoothed linework, so a point of it tells both (no costly overlay areas). A
    smoothed face goes to the station owning most of its area.

    Returns
    -------
    pieces : numpy.ndarray
        The faces of the overlaid linework.
    old, new : numpy.ndarray of int
        Index in ``geoms`` of each piece's station before and after smoothing (-1:
        outside every station; such a piece stays out).
    """
    # The outer linework comes from the stations themselves, not from the outline:
    # the borders end exactly on its vertices, so the faces close.
    outer = shapely.boundary(shapely.coverage_union_all(geoms))  # same vertices as the stations
    smooth_faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(np.r_[smoothed, [outer]]))))
    linework = shapely.union_all(np.r_[smoothed, chains, [outer]])
    pieces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    inner = shapely.point_on_surface(pieces)
    old = _locate(inner, geoms)
    face = _locate(inner, smooth_faces)
    area = shapely.area(pieces)
    ok = (old >= 0) & (face >= 0)
    owned = np.zeros((len(smooth_faces), len(geoms)))
    np.add.at(owned, (face[ok], old[ok]), area[ok])
    face_owner = np.where(owned.max(axis=1) > 0, owned.argmax(axis=1), -1)
    new = np.where(face >= 0, face_owner[np.maximum(face, 0)], old)
    # a piece outside every station (a smoothed border crossing the outline) stays out;
    # a piece whose smoothed face has no owner keeps its own station
    new = np.where(old < 0, -1, np.where(new < 0, old, new))
    return pieces, old, new


def _keep_addressed(pieces, old, new, geoms, present, n_polygons, seed_xy, seed_owner) -> np.ndarray:
    """``new``, except that a piece changing hands stays with its owner if it holds one of its addresses.

    Parameters
    ----------
    pieces, old, new
        As returned by :func:`_overlay_owners`.
    geoms : numpy.ndarray
        The non-empty station polygons; ``present`` their indices among the
        ``n_polygons`` polygons of :func:`smooth_partition`.
    seed_xy, seed_owner
        Address points and the index among the polygons of each one's station.

    Returns
    -------
    numpy.ndarray of int
        The owner of each piece (index in ``geoms``).
    """
    final = new.copy()
    changing = np.flatnonzero((old != new) & (old >= 0))
    if not len(changing):
        return final
    pos = np.full(n_polygons, -1)
    pos[present] = np.arange(len(present))
    owner_of_seed = pos[np.asarray(seed_owner)]
    # each station's changing pieces as one prepared MultiPolygon, tested against
    # that station's addresses only (no Point made): few addresses are in one
    by_owner = np.argsort(old[changing], kind="stable")
    owners, group = np.unique(old[changing][by_owner], return_inverse=True)
    mine = np.full(len(geoms), None, dtype=object)
    mine[owners] = shapely.multipolygons(pieces[changing][by_owner], indices=group)
    shapely.prepare(mine)
    valid = owner_of_seed >= 0
    inside = np.zeros(len(seed_xy), dtype=bool)
    inside[valid] = shapely.intersects_xy(mine[owner_of_seed[valid]], seed_xy[valid, 0], seed_xy[valid, 1])
    if inside.any():
        at = np.flatnonzero(inside)
        p, q = points_in_polygons(shapely.points(seed_xy[at]), pieces[changing])
        hit = owner_of_seed[at[p]] == old[changing[q]]
        final[changing[np.unique(q[hit])]] = old[changing[np.unique(q[hit])]]
    return final
