"""Check that station polygons partition a commune: valid, no overlap, no gap, no spill."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class PartitionCheck:
    """The result of checking one commune's partition (areas in m²)."""

    stations: int
    invalid: int
    empty: int
    overlap_m2: float
    gap_m2: float
    spill_m2: float
    coverage_valid: bool
    area_tolerance_m2: float

    @property
    def ok(self) -> bool:
        """True when every polygon is valid and each area defect is within tolerance."""
        tol = self.area_tolerance_m2
        return (
            self.invalid == 0
            and self.overlap_m2 <= tol
            and self.gap_m2 <= tol
            and self.spill_m2 <= tol
        )

    def problems(self) -> list[str]:
        """Human-readable list of what is wrong (empty when :attr:`ok`)."""
        out = []
        tol = self.area_tolerance_m2
        if self.invalid:
            out.append(f"{self.invalid} invalid polygon(s)")
        for name in ("overlap", "gap", "spill"):
            value = getattr(self, f"{name}_m2")
            if value > tol:
                out.append(f"{name} of {value:.2f} m² (tolerance {tol:g} m²)")
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("overlap_m2", "gap_m2", "spill_m2"):
            d[k] = round(d[k], 4)
        d["ok"] = self.ok
        return d


def check_partition(polygons: np.ndarray, outline, area_tolerance_m2: float = 1.0) -> PartitionCheck:
    """Check that ``polygons`` partition ``outline``.

    Parameters
    ----------
    polygons : numpy.ndarray of shapely geometries
        The station polygons of one commune, in a metric CRS. Empty geometries are
        ignored (a station without land is reported elsewhere).
    outline : shapely geometry
        The commune outline in the same CRS.
    area_tolerance_m2 : float
        Largest overlap, gap and spill accepted.

    Returns
    -------
    PartitionCheck
    """
    polygons = np.asarray(polygons, dtype=object)
    present = polygons[~(shapely.is_missing(polygons) | shapely.is_empty(polygons))]
    invalid = int((~shapely.is_valid(present)).sum())
    if invalid:
        # Overlay of invalid shapes is unreliable: report them, measure on repaired copies.
        present = shapely.make_valid(present)
    union = shapely.union_all(present)
    overlap = float(shapely.area(present).sum() - shapely.area(union))
    gap = float(shapely.area(shapely.difference(outline, union)))
    spill = float(shapely.area(shapely.difference(union, outline)))
    coverage_valid = bool(len(present) < 2 or shapely.coverage_is_valid(present))
    return PartitionCheck(
        stations=len(polygons),
        invalid=invalid,
        empty=len(polygons) - len(present),
        overlap_m2=max(overlap, 0.0),
        gap_m2=gap,
        spill_m2=spill,
        coverage_valid=coverage_valid,
        area_tolerance_m2=area_tolerance_m2,
    )
