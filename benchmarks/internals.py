"""The one place the bench reaches into private modules of ``boundaries``: the hold-out protocol.

The bench builds ours with ``boundaries.build(table, communes, holdout=0.1, seed=s)`` and
must give the plain-Voronoi yardstick the very same training rows and score both the
same way, per test point (for the per-commune table). The public API gives the
summary (``report.holdout``, ``boundaries.evaluate``) but not the split itself nor the
per-point results, so these three names are used as they are; everything else in the
bench goes through the command line or the public API. Imported lazily: the package
must be the bench's snapshot (:mod:`benchmarks.snapshot`).
"""

from __future__ import annotations

from .common import METRIC


def holdout_split(lon, lat, fraction: float, seed: int):
    """The rows ``boundaries.build(..., holdout=fraction, seed=seed)`` holds out (bool array)."""
    from boundaries.scoring import holdout_split as split

    return split(lon, lat, fraction, seed)


def holdout_accuracy(geoms: dict, px, py, keys) -> dict:
    """Per test point: inside its own station, covered at all (and their shares)."""
    from boundaries.scoring import holdout_accuracy as accuracy

    return accuracy(geoms, px, py, keys)


def canonical_station(ids):
    """Station keys in one form (``94068_7`` and ``94068_0007`` are the same station)."""
    from boundaries.codes import canonical_station as canonical

    return canonical(ids)


def geoms_by_key(gdf) -> dict:
    """Canonical station key → polygon in EPSG:2154 (the same keys for both methods)."""
    m = gdf.to_crs(METRIC)
    return dict(zip(canonical_station(m["id_bv"].to_numpy()), m.geometry.values))
