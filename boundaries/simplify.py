"""Simplification that keeps the partition: ``coverage_simplify`` per commune.

Smoothed borders carry a vertex every few metres; a web map needs far fewer.
Simplifying each polygon on its own (``shapely.simplify``) moves the two copies of
a shared border differently and opens gaps and overlaps between neighbours.
``shapely.coverage_simplify`` simplifies each shared edge once, so neighbours keep
the exact same edge; the commune's outline is left as it is
(``simplify_boundary=False``), so the stations still partition it exactly and the
partition check still holds.
"""

from __future__ import annotations

import numpy as np
import shapely

from . import codes
from .checks import check_partition
from .errors import InputError, PartitionError, option
from .geometry import polygonal_parts

#: Named levels of ``--simplify``, as tolerances in metres.
LEVELS = {"none": 0.0, "fine": 1.0, "web": 10.0, "overview": 50.0}


def tolerance_m(value) -> float:
    """A ``--simplify`` value (metres, or a name in :data:`LEVELS`) as metres (any float: not range-checked)."""
    if value is None:
        return 0.0
    if isinstance(value, str) and value.strip().lower() in LEVELS:
        return LEVELS[value.strip().lower()]
    try:
        tol = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{option('simplify', repr(value))}: give a distance in metres or one of {', '.join(LEVELS)}"
        ) from None
    return tol  # its range is checked with the other options' (boundaries.request.OPTION_RANGES)


def simplify_stations(stations, tolerance: float, area_tolerance_m2: float = 1.0):
    """Simplify a station layer commune by commune, keeping each an exact partition.

    Parameters
    ----------
    stations : geopandas.GeoDataFrame
        Station polygons with ``code_commune`` (any CRS; simplified in each
        territory's metric CRS).
    tolerance : float
        ``coverage_simplify`` tolerance in metres; 0 returns the layer unchanged.
    area_tolerance_m2 : float
        Largest gap, overlap or spill the check accepts afterwards.

    Returns
    -------
    stations : geopandas.GeoDataFrame
        Same rows and columns, in the input's CRS.
    stats : dict
        ``tolerance_m``, ``vertices_before``, ``vertices_after``.

    Raises
    ------
    PartitionError
        If a commune is no longer partitioned afterwards (a bug: nothing is written).
    """
    import geopandas as gpd
    import pandas as pd

    before = int(shapely.get_num_coordinates(stations.geometry.values.to_numpy()).sum())
    if tolerance <= 0 or len(stations) == 0:
        return stations, {"tolerance_m": tolerance, "vertices_before": before, "vertices_after": before}
    crs_of = stations["code_commune"].map(lambda c: codes.territory_crs(codes.departement_of(c)))
    parts = []
    for crs, part in stations.groupby(crs_of, sort=True):
        metric = part.to_crs(crs)
        geoms = metric.geometry.values.to_numpy().copy()
        for code, idx in metric.groupby("code_commune", sort=True).indices.items():
            if len(idx) < 2:
                continue
            original = geoms[idx]
            outline = shapely.coverage_union_all(original)
            simplified = polygonal_parts(shapely.coverage_simplify(original, tolerance, simplify_boundary=False))
            result = check_partition(simplified, outline, area_tolerance_m2)
            if not result.ok or shapely.is_empty(simplified).any():
                raise PartitionError(
                    f"commune {code}: simplifying by {tolerance:g} m broke the partition "
                    f"({'; '.join(result.problems()) or 'a station vanished'}); this is a bug in boundaries, "
                    "nothing was written — try a smaller simplify tolerance and please report it"
                )
            geoms[idx] = simplified
        parts.append(gpd.GeoDataFrame(metric.drop(columns="geometry"), geometry=list(geoms), crs=crs)
                     .to_crs(stations.crs))
    out = pd.concat(parts).loc[stations.index]
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=stations.crs)
    after = int(shapely.get_num_coordinates(out.geometry.values.to_numpy()).sum())
    return out, {"tolerance_m": tolerance, "vertices_before": before, "vertices_after": after}
