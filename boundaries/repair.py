"""Repair a commune's station polygons so they form a clean coverage of its outline.

Voronoi cells dissolved and clipped once per station normally give an exact
partition already. This stage is the safety net: invalid shapes are made valid,
and a coverage whose shared edges do not match exactly (floating-point noise
from the clipping) is cleaned with ``shapely.coverage_clean``.
"""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import polygonal_parts


def repair_partition(polygons: np.ndarray) -> tuple[np.ndarray, dict]:
    """Make each polygon valid and the set a valid coverage.

    Parameters
    ----------
    polygons : numpy.ndarray of shapely geometries
        One commune's station polygons (empty ones allowed).

    Returns
    -------
    polygons : numpy.ndarray
        The repaired polygons, in the same order.
    actions : dict
        What was done: ``made_valid`` (count) and ``coverage_cleaned`` (bool).
    """
    polygons = np.asarray(polygons, dtype=object)
    actions = {"made_valid": 0, "coverage_cleaned": False}
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons = polygons.copy()
        polygons[invalid] = polygonal_parts(shapely.make_valid(polygons[invalid]))
        actions["made_valid"] = int(invalid.sum())
    present = ~shapely.is_empty(polygons)
    if present.sum() > 1 and not shapely.coverage_is_valid(polygons[present]):
        polygons = polygons.copy()
        polygons[present] = polygonal_parts(shapely.coverage_clean(polygons[present]))
        actions["coverage_cleaned"] = True
    return polygons, actions
