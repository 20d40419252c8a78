"""Colour station polygons so that no two neighbours share a colour.

Used by the PNG preview and the review page, and meant for a QGIS style too, so
this module depends on shapely, numpy and scipy only (no matplotlib).

The rule, deterministic for a given input order:

1. Two stations are *neighbours* when their geometries intersect (they share an
   edge or only a point), or, with ``distance > 0``, when they are at most that far
   apart. With ``min_border > 0`` they must also share a border at least that long:
   the part of each one's outline within ``distance`` of the other, the shorter of
   the two (see :func:`shared_border`). The output layer's colours use
   :data:`COLOUR_GAP_M` and :data:`COLOUR_MIN_BORDER_M`: stations of neighbouring
   communes whose outlines overlap or miss by a few cm are neighbours, stations
   meeting at a corner only are not (a map may give them one colour, as the
   four-colour theorem does). A station is never its own neighbour; null or empty
   geometries have none.
2. Stations are coloured one at a time, the one with the most neighbours first;
   stations with as many neighbours keep their input order.
3. Each station takes, among the colours ``0 … n_colours - 1`` none of its
   already-coloured neighbours has, the one given to the fewest stations so far
   (the lowest index on a tie), so the colours are spread evenly over the map.
   When all ``n_colours`` are taken by its neighbours, it takes the lowest colour
   index above them that none of its neighbours has: the result then holds indices
   ``>= n_colours``, and the caller's palette must be longer (see
   :func:`neighbour_colours`).

A layer recoloured after an edit (``boundaries refresh``) keeps the colours it had
where no two neighbours are alike (:func:`kept_colours`) and colours only the rest by
rules 2 and 3, counting the kept colours as used (``greedy_colours(..., given=...)``).
"""

from __future__ import annotations

import numpy as np

#: Default number of colours: five always suffice in theory for a plane map whose
#: regions are connected, and five leave the greedy rule room to spread the colours.
DEFAULT_N_COLOURS = 5
#: Two stations of the output layer at most this far apart (metres) may be neighbours:
#: commune outlines from another tool overlap or miss by a few cm, and the output grid
#: moves a vertex by about 1 cm.
COLOUR_GAP_M = 0.1
#: ...and they are neighbours when they share at least this much border (metres, within
#: :data:`COLOUR_GAP_M`): a corner contact shares about twice the gap, so it does not count.
COLOUR_MIN_BORDER_M = 1.0


def adjacency(geoms, distance: float = 0.0, min_border: float = 0.0):
    """Sparse symmetric adjacency matrix of touching geometries.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Station polygons, all in one CRS (a metric one when ``distance > 0``).
        None and empty geometries are allowed and have no neighbour.
    distance : float, default 0
        0: neighbours intersect (share an edge or a point). Above 0: neighbours are
        at most this far apart (in CRS units), which also joins stations separated
        only by a rounding sliver.
    min_border : float, default 0
        Above 0: neighbours must also share at least this length of border (CRS
        units), measured by :func:`shared_border` within ``distance``.

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (n, n)
        ``A[i, j]`` is True when ``i`` and ``j`` (``i != j``) are neighbours.
    """
    import shapely
    from scipy import sparse

    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n == 0:
        return sparse.csr_array((0, 0), dtype=bool)
    left, right = _candidates(shapely.STRtree(geoms), geoms, distance)
    keep = left < right  # each pair once: the border is measured once
    left, right = left[keep], right[keep]
    if min_border > 0:
        keep = shared_border(geoms, left, right, distance) >= min_border
        left, right = left[keep], right[keep]
    return _from_pairs(left, right, n)


def _candidates(tree, geoms, distance: float):
    """The pairs of ``geoms`` (positions) that intersect or lie within ``distance``."""
    if distance > 0:
        return tree.query(geoms, predicate="dwithin", distance=distance)
    return tree.query(geoms, predicate="intersects")


def shared_border(geoms, left, right, distance: float = 0.0) -> np.ndarray:
    """Length of border each pair ``geoms[left[k]]``, ``geoms[right[k]]`` shares, within ``distance``.

    The length of one's outline lying in the other grown by ``distance``, and the
    same from the other side: the shorter of the two. Overlaps and gaps up to
    ``distance`` along a common edge count as the edge; two polygons meeting at a
    point share about ``2 * distance`` (more at a very sharp corner).

    Parameters
    ----------
    geoms : numpy.ndarray of shapely polygons
        In one metric CRS.
    left, right : numpy.ndarray of int, same length
        The pairs, as positions in ``geoms``.
    distance : float, default 0

    Returns
    -------
    numpy.ndarray of float, shape (len(left),)
    """
    import shapely

    if len(left) == 0:
        return np.zeros(0)
    used = np.unique(np.concatenate([left, right]))
    outline, grown = np.empty(len(geoms), dtype=object), np.empty(len(geoms), dtype=object)
    outline[used] = shapely.boundary(geoms[used])
    # each geometry grown once (3 segments per quarter circle: cheap, and exact along edges)
    grown[used] = shapely.buffer(geoms[used], distance, quad_segs=3) if distance > 0 else geoms[used]
    one = shapely.length(shapely.intersection(outline[left], grown[right]))
    other = shapely.length(shapely.intersection(outline[right], grown[left]))
    return np.minimum(one, other)


def _from_pairs(rows: np.ndarray, cols: np.ndarray, n: int):
    """The symmetric boolean CSR matrix of these pairs (either order, repeats allowed), no diagonal."""
    from scipy import sparse

    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    a = sparse.coo_array((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n)).tocsr()
    a = (a + a.T).astype(bool)  # symmetric even if a predicate were not
    a.sort_indices()
    return a


def adjacency_across(geoms, block, inner_pairs, distance: float = 0.0, min_border: float = 0.0):
    """:func:`adjacency` of geometries in blocks whose inner pairs are known.

    A national run has each département's adjacency from its build; only the pairs
    across départements are left to find, and few pairs cross a border: those are
    tested here as :func:`adjacency` tests them (same ``distance`` and ``min_border``).

    Parameters
    ----------
    geoms : array-like of shapely geometries
    block : array-like of int, shape (n,)
        The block (e.g. the département) of each geometry.
    inner_pairs : (numpy.ndarray, numpy.ndarray)
        Rows and columns (positions in ``geoms``) of the neighbour pairs inside
        blocks, each pair once or twice; pairs across blocks are ignored.
    distance, min_border : float, default 0
        As for :func:`adjacency` (``geoms`` in a metric CRS when above 0).

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (n, n)
        As :func:`adjacency` returns it.
    """
    import shapely
    from scipy import sparse

    geoms = np.asarray(geoms, dtype=object)
    block = np.asarray(block)
    n = len(geoms)
    if n == 0:
        return sparse.csr_array((0, 0), dtype=bool)
    left, right = _candidates(shapely.STRtree(geoms), geoms, distance)
    cross = (left < right) & (block[left] != block[right])
    left, right = left[cross], right[cross]
    if min_border > 0:
        keep = shared_border(geoms, left, right, distance) >= min_border
        left, right = left[keep], right[keep]
    rows, cols = (np.asarray(p, dtype=np.int64) for p in inner_pairs)
    inside = block[rows] == block[cols]
    return _from_pairs(np.concatenate([rows[inside], left]), np.concatenate([cols[inside], right]), n)


def neighbour_colours(geoms, n_colours: int = DEFAULT_N_COLOURS, distance: float = 0.0) -> np.ndarray:
    """Colour index of each geometry, never shared by two neighbours.

    Greedy colouring, largest degree first (ties by input order), each geometry
    taking the least-used colour its coloured neighbours do not have; see the
    module docstring for the exact rule. The same input gives the same colours.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        The polygons to colour (e.g. the stations of one commune), in one CRS.
    n_colours : int, default :data:`DEFAULT_N_COLOURS`
        Colours the rule tries to stay within (at least 1). A geometry whose
        neighbours already hold all of them gets index ``n_colours`` or above: the
        result's ``max() + 1`` is the palette length really needed.
    distance : float, default 0
        Neighbours are geometries that intersect (0) or lie within this distance;
        see :func:`adjacency`.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Colour index of each geometry, in input order.

    Examples
    --------
    >>> import shapely
    >>> squares = [shapely.box(i, 0, i + 1, 1) for i in range(3)]
    >>> neighbour_colours(squares, n_colours=2).tolist()
    [1, 0, 1]
    """
    if n_colours < 1:
        raise ValueError(f"n_colours must be at least 1, got {n_colours}")
    return greedy_colours(adjacency(geoms, distance), n_colours)


def greedy_colours(a, n_colours: int = DEFAULT_N_COLOURS, given=None) -> np.ndarray:
    """The colours of :func:`neighbour_colours`, from an adjacency matrix already made.

    Parameters
    ----------
    a : scipy.sparse.csr_array of bool, shape (n, n)
        Symmetric, no diagonal, sorted indices (as :func:`adjacency` returns it).
    n_colours : int
        As for :func:`neighbour_colours`.
    given : array-like of int, shape (n,), optional
        Colours already decided (-1: none), no two neighbours alike (see
        :func:`kept_colours`): only the others are coloured, by the same rule,
        counting the given ones as used.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
    """
    if n_colours < 1:
        raise ValueError(f"n_colours must be at least 1, got {n_colours}")
    n = a.shape[0]
    colours = np.full(n, -1, dtype=np.int64) if given is None else np.array(given, dtype=np.int64)
    if n == 0:
        return colours
    degree = np.diff(a.indptr)
    order = np.argsort(-degree, kind="stable")  # most neighbours first, then input order
    order = order[colours[order] < 0]
    # how many stations hold each colour
    used = np.bincount(colours[(colours >= 0) & (colours < n_colours)], minlength=n_colours)
    indptr, indices = a.indptr, a.indices
    for i in order:
        taken = colours[indices[indptr[i]:indptr[i + 1]]]
        taken = set(taken[taken >= 0].tolist())
        free = [c for c in range(n_colours) if c not in taken]
        if free:
            c = min(free, key=lambda k: (used[k], k))
            used[c] += 1
        else:
            c = n_colours
            while c in taken:
                c += 1
        colours[i] = c
    return colours


def kept_colours(a, old, priority) -> np.ndarray:
    """The colours of ``old`` that can stay: each station's, unless a neighbour keeps the same one.

    Where two neighbours share a colour, the one first in ``priority`` keeps it and
    the other loses it; a station no neighbour clashes with always keeps its colour.
    Colour the rest with ``greedy_colours(a, given=kept)``: a map refreshed after a
    small edit changes colour only where the edit made two neighbours alike.

    Parameters
    ----------
    a : scipy.sparse.csr_array of bool, shape (n, n)
        As :func:`adjacency` returns it.
    old : array-like of int, shape (n,)
        Colours as they were; below 0 for none (a new station).
    priority : array-like of int, shape (n,)
        Positions, first kept first (e.g. unchanged stations before edited ones).

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        ``old`` where kept, -1 elsewhere.
    """
    old = np.asarray(old, dtype=np.int64)
    old = np.where(old >= 0, old, -1)
    coo = a.tocoo()  # symmetric: each clash once from either end
    clash = (old[coo.row] == old[coo.col]) & (old[coo.row] >= 0)
    in_clash = np.zeros(len(old), dtype=bool)
    in_clash[coo.row[clash]] = True
    colours = np.where(in_clash, -1, old)
    priority = np.asarray(priority, dtype=np.int64)
    indptr, indices = a.indptr, a.indices
    for i in priority[in_clash[priority]]:  # decided one by one, first in priority first
        if not (colours[indices[indptr[i]:indptr[i + 1]]] == old[i]).any():
            colours[i] = old[i]
    return colours


def colours_are_proper(geoms, colours, distance: float = 0.0) -> bool:
    """True when no two neighbours (as in :func:`adjacency`) share a colour index."""
    a = adjacency(geoms, distance).tocoo()
    colours = np.asarray(colours)
    return bool(not np.any(colours[a.row] == colours[a.col]))
