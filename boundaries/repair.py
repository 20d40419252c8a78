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


def repair_partition(polygons: np.ndarray, max_change_m2: float = 1.0) -> tuple[np.ndarray, dict]:
    """Make each polygon valid and the set a valid coverage.

    The coverage clean-up is a repair of floating-point noise, not of a wrong
    tessellation: when it would move more than ``max_change_m2`` of any station's
    area, it is not applied, so the partition check that follows fails loudly.

    Parameters
    ----------
    polygons : numpy.ndarray of shapely geometries
        One commune's station polygons (empty ones allowed).
    max_change_m2 : float
        Largest change of a station's area the coverage clean-up may make.

    Returns
    -------
    polygons : numpy.ndarray
        The repaired polygons, in the same order.
    actions : dict
        What was done: ``made_valid`` (count), ``coverage_cleaned`` (bool),
        ``coverage_clean_refused`` (bool: the clean-up would have moved too much) and
        ``coverage_valid`` (the result is a valid coverage).
    """
    polygons = np.asarray(polygons, dtype=object)
    actions = {"made_valid": 0, "coverage_cleaned": False, "coverage_clean_refused": False,
               "coverage_valid": True}
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons = polygons.copy()
        polygons[invalid] = polygonal_parts(shapely.make_valid(polygons[invalid]))
        actions["made_valid"] = int(invalid.sum())
    present = ~shapely.is_empty(polygons)
    if present.sum() > 1 and not shapely.coverage_is_valid(polygons[present]):
        actions["coverage_valid"] = False
        cleaned = polygonal_parts(shapely.coverage_clean(polygons[present]))
        moved = np.abs(shapely.area(cleaned) - shapely.area(polygons[present]))
        if moved.max() <= max_change_m2:
            polygons = polygons.copy()
            polygons[present] = cleaned
            actions["coverage_cleaned"] = True
            actions["coverage_valid"] = bool(shapely.coverage_is_valid(cleaned))
        else:
            actions["coverage_clean_refused"] = True
    return polygons, actions
