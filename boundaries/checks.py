"""Check that station polygons partition a commune: valid, no overlap, no gap, no spill."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import shapely

from .geometry import VERTEX_OK, vertex_faults


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


def check_area_balance(unit: str, polygons: np.ndarray, outline, area_tolerance_m2: float = 1.0) -> None:
    """Raise :class:`~boundaries.errors.PartitionError` unless the cells' areas add up to the outline's.

    Run on the tessellation itself, before the optional steps that rebuild a partition
    from whatever they are given: an overlap or a gap changes the area sum, and a
    tessellation bug must show here, not later as a puzzling repair.
    """
    from .errors import PartitionError

    balance = float(shapely.area(polygons).sum() - shapely.area(outline))
    if abs(balance) > area_tolerance_m2:
        raise PartitionError(
            f"commune {unit}: the station cells do not partition the outline (their areas add up to "
            f"{balance:+,.2f} m² from the outline's: an overlap or a gap); this is a bug in boundaries, "
            "nothing was written — please report it with the input"
        )


def check_partition(
    polygons: np.ndarray, outline, area_tolerance_m2: float = 1.0, coverage_valid: bool | None = None
) -> PartitionCheck:
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
    coverage_valid : bool, optional
        ``shapely.coverage_is_valid`` of the polygons when the caller knows it already.

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
    if coverage_valid is None or invalid:
        coverage_valid = bool(len(present) < 2 or shapely.coverage_is_valid(present))
    # a valid coverage (no overlap, matching edges) has a fast exact union
    union = shapely.coverage_union_all(present) if coverage_valid and not invalid else shapely.union_all(present)
    overlap = float(shapely.area(present).sum() - shapely.area(union))
    gap = float(shapely.area(shapely.difference(outline, union)))
    spill = float(shapely.area(shapely.difference(union, outline)))
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


# --------------------------------------------------------------------------------------
# Checking a whole station layer: ours, or another tool's.

#: Kinds of problem, most severe first. ``multipart`` is a warning: it does not make a
#: layer fail unless asked (a station may truly have several parts).
PROBLEM_KINDS = (
    "null_geometry",
    "invalid_geometry",
    "duplicate_id",
    "commune_without_outline",
    "overlap",
    "gap",
    "spill",
    "multipart",
)
WARNING_KINDS = ("multipart",)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a station layer."""

    kind: str
    commune: str | None
    stations: tuple
    area_m2: float | None
    detail: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stations"] = list(self.stations)
        if self.area_m2 is not None:
            d["area_m2"] = round(self.area_m2, 2)
        return d

    def line(self) -> str:
        where = f"{self.commune}: " if self.commune else ""
        return f"{where}{self.kind.replace('_', ' ')} — {self.detail}"


@dataclass
class LayerCheck:
    """The result of :func:`check_stations`: problems worst first, and per-commune figures."""

    problems: list
    communes: dict
    totals: dict
    tolerances: dict

    def errors(self, strict: bool = False) -> list:
        return [p for p in self.problems if strict or p.kind not in WARNING_KINDS]

    def ok(self, strict: bool = False) -> bool:
        """True when nothing but warnings (or nothing at all, with ``strict``) was found."""
        return not self.errors(strict)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok(),
            "totals": self.totals,
            "tolerances": self.tolerances,
            "problems": [p.to_dict() for p in self.problems],
            "communes": self.communes,
        }


def significant_area(geom, min_area_m2: float, min_width_m: float) -> tuple[float, int]:
    """Area and count of the parts of ``geom`` that are more than rounding noise.

    A part counts when its area exceeds ``min_area_m2`` and its mean width
    (2 × area / perimeter) exceeds ``min_width_m``: coordinates rounded to 7 decimals
    (≈ 1 cm) leave long slivers a few millimetres wide along shared borders.
    """
    parts = shapely.get_parts(np.atleast_1d(geom))
    parts = parts[shapely.get_type_id(parts) == 3]
    if len(parts) == 0:
        return 0.0, 0
    area = shapely.area(parts)
    width = 2 * area / np.maximum(shapely.length(parts), 1e-12)
    keep = (area > min_area_m2) & (width > min_width_m)
    return float(area[keep].sum()), int(keep.sum())


def check_stations(
    stations,
    communes,
    *,
    id_field: str | None = None,
    station_commune_field: str | None = None,
    commune_field: str | None = None,
    min_area_m2: float = 1.0,
    min_width_m: float = 0.05,
    layer: str | None = None,
    communes_layer: str | None = None,
) -> LayerCheck:
    """Validate a station layer against commune outlines.

    Finds null/empty and invalid geometries (a vertex that cannot be a coordinate,
    NaN, ±Infinity or 1e300, makes a geometry invalid), duplicate station ids (``94068_7`` and
    ``94068_0007`` are one id), stations whose commune has no outline, overlaps between
    stations, gaps left inside each commune, area spilling outside it, and stations in
    several parts. Areas are measured in each territory's metric CRS.

    Parameters
    ----------
    stations, communes : path or GeoDataFrame
        The station layer (any tool's) and the commune outlines.
    id_field, station_commune_field, commune_field : str, optional
        Field names when they cannot be detected.
    min_area_m2, min_width_m : float
        An overlap, gap or spill part counts only when larger than ``min_area_m2`` and
        wider on average than ``min_width_m`` (see :func:`significant_area`).
    layer, communes_layer : str, optional
        The layer to read from a ``stations`` or ``communes`` file of several.

    Returns
    -------
    LayerCheck
    """
    from .read import read_communes, read_stations
    from .scope import match_units

    st = read_stations(stations, id_field, station_commune_field, layer=layer, bad_vertices=True)
    outlines = read_communes(communes, commune_field, communes_layer).outlines
    geoms = st.geometry.values.to_numpy()
    st["unit"] = match_units(st["code_commune"].fillna("").to_numpy(), outlines["code"])
    missing, invalid, unusable = _geometry_faults(geoms, st.crs)
    problems = _feature_problems(st, geoms, missing, invalid, unusable)
    # areas are measured on repaired copies of the invalid geometries
    fixed = geoms.copy()
    repair = invalid & ~unusable
    if repair.any():
        from .geometry import polygonal_parts

        fixed[repair] = polygonal_parts(shapely.make_valid(geoms[repair]))
    n_parts = shapely.get_num_geometries(geoms)
    usable = ~missing & ~unusable & st["unit"].notna().to_numpy()
    per_commune: dict = {}
    for crs, of_crs in _territories(st["unit"]):
        found, figures = _check_territory(st, outlines, fixed, usable, of_crs, crs, n_parts, min_area_m2, min_width_m)
        problems += found
        per_commune.update(figures)
    problems += _multipart(st, n_parts, missing)
    for u, info in per_commune.items():
        info["null"] = int((missing & (st["unit"] == u).to_numpy()).sum())
        info["invalid"] = int((invalid & (st["unit"] == u).to_numpy()).sum())
    return _layer_check(problems, per_commune, len(st), min_area_m2, min_width_m)


def _geometry_faults(geoms: np.ndarray, crs):
    """Masks of the missing (null or empty), invalid and unusable geometries.

    Unusable: a vertex that cannot be a coordinate (NaN, ±Infinity, out of range);
    such a station is invalid, and has no area to measure.
    """
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    unusable = vertex_faults(geoms, crs) != VERTEX_OK
    with np.errstate(invalid="ignore"):
        invalid = (unusable | ~shapely.is_valid(geoms)) & ~missing
    return missing, invalid, unusable


def _multipart(st, n_parts: np.ndarray, missing: np.ndarray) -> list[Problem]:
    """A warning for each station with a geometry in several parts."""
    ids = st["id_bv"].to_numpy(dtype=object)
    return [Problem("multipart", st["code_commune"].iloc[i], (ids[i],), None,
                    f"station {ids[i]} is in {int(n_parts[i])} parts")
            for i in np.flatnonzero((n_parts > 1) & ~missing)]


def _feature_problems(st, geoms: np.ndarray, missing: np.ndarray, invalid: np.ndarray,
                      unusable: np.ndarray) -> list[Problem]:
    """Problems of single features and ids: null or invalid geometry, duplicate id, no outline.

    ``unusable``: geometries with a vertex that cannot be a coordinate (invalid too).
    """
    ids = st["id_bv"].to_numpy(dtype=object)
    commune = st["code_commune"]
    problems = [Problem("null_geometry", commune.iloc[i], (ids[i],), None, f"station {ids[i]} has no geometry")
                for i in np.flatnonzero(missing)]
    problems += [Problem("invalid_geometry", commune.iloc[i], (ids[i],), None,
                         f"station {ids[i]}: a vertex is not a coordinate (NaN, ±Infinity or out of range); "
                         "repair the geometry or drop the feature")
                 for i in np.flatnonzero(invalid & unusable)]
    bad = np.flatnonzero(invalid & ~unusable)
    for i, reason in zip(bad, shapely.is_valid_reason(geoms[bad])):
        problems.append(Problem("invalid_geometry", commune.iloc[i], (ids[i],), None, f"station {ids[i]}: {reason}"))
    dup = st["key"].duplicated(keep=False) & st["key"].notna()
    for key, group in st[dup].groupby("key", sort=True):
        problems.append(Problem("duplicate_id", group["code_commune"].iloc[0], tuple(group["id_bv"]), None,
                                f"{len(group)} features for station {key}: {', '.join(group['id_bv'])}"))
    no_outline = st["unit"].isna().to_numpy()
    for code, group in st[no_outline].groupby(commune.fillna("?")[no_outline], sort=True):
        problems.append(Problem("commune_without_outline", code, tuple(group["id_bv"]), None,
                                f"{len(group)} station(s) of commune {code}, which is not in the outline file"))
    return problems


def _territories(units):
    """``(crs, mask)`` for each territory CRS the stations' units are in, in CRS order."""
    from . import codes

    unit_crs = units.map(lambda u: codes.territory_crs(codes.departement_of(u)) if isinstance(u, str) else None)
    for crs in sorted(set(unit_crs.dropna())):
        yield crs, (unit_crs == crs).to_numpy()


def _check_territory(st, outlines, fixed, usable, of_crs, crs, n_parts, min_area_m2, min_width_m):
    """Overlaps, gaps and spills of the communes of one territory, measured in its metric ``crs``.

    Parameters
    ----------
    st : geopandas.GeoDataFrame
        The stations (with ``unit``); ``fixed`` their geometries repaired, ``n_parts``
        their part counts.
    outlines : geopandas.GeoDataFrame
        The commune outlines (``code``).
    usable, of_crs : numpy.ndarray of bool
        Stations with a geometry and an outline; stations of this territory.
    crs : str
        The territory's metric CRS.
    min_area_m2, min_width_m : float
        As for :func:`check_stations`.

    Returns
    -------
    problems : list of Problem
    figures : dict
        Per-commune figures, for every commune of the territory with a station (even
        one whose stations all lack a geometry), in commune order.
    """
    ids = st["id_bv"].to_numpy(dtype=object)
    idx = np.flatnonzero(usable & of_crs)
    projected = shapely.from_wkb(
        st.iloc[idx].set_geometry(fixed[idx], crs=st.crs).to_crs(crs).geometry.to_wkb().to_numpy()
    )
    units = st["unit"].to_numpy()[idx]
    sel = outlines[outlines["code"].isin(set(st["unit"].to_numpy()[of_crs]))]
    outline_of = dict(zip(sel["code"], sel.to_crs(crs).geometry.values))
    problems, overlap_by_unit = _overlaps(st["code_commune"].iloc[idx], ids[idx], projected, units,
                                          min_area_m2, min_width_m)
    figures = {}
    for unit in sorted(outline_of):
        members = units == unit
        found, figures[unit] = _check_commune(
            unit, outline_of[unit], projected[members], tuple(ids[idx[members]]), overlap_by_unit.get(unit, 0.0),
            int((n_parts[idx[members]] > 1).sum()), min_area_m2, min_width_m,
        )
        problems += found
    return problems, figures


def _overlaps(commune, ids: np.ndarray, projected: np.ndarray, units: np.ndarray, min_area_m2: float,
              min_width_m: float) -> tuple[list[Problem], dict]:
    """Significant overlaps between the stations ``projected``.

    ``commune`` (a Series), ``ids`` and ``units`` are those stations' commune codes,
    ids and outline units. Candidate pairs come from an STRtree, then their
    intersection areas are measured. Returns the problems and each unit's overlap area.
    """
    tree = shapely.STRtree(projected)
    left, right = tree.query(projected, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    problems: list[Problem] = []
    overlap_by_unit: dict = {}
    if not len(left):
        return problems, overlap_by_unit
    inter = shapely.intersection(projected[left], projected[right])
    for a, b, g in zip(left, right, inter):
        area, parts = significant_area(g, min_area_m2, min_width_m)
        if parts:
            overlap_by_unit[units[a]] = overlap_by_unit.get(units[a], 0.0) + area
            problems.append(Problem("overlap", commune.iloc[a], (ids[a], ids[b]), area,
                                    f"{ids[a]} and {ids[b]} overlap on {area:,.1f} m²"))
    return problems, overlap_by_unit


def _check_commune(unit: str, outline, members: np.ndarray, sids: tuple, overlap_m2: float, multipart: int,
                   min_area_m2: float, min_width_m: float) -> tuple[list[Problem], dict]:
    """Gap and spill of one commune's stations ``members`` (ids ``sids``), and its figures.

    ``overlap_m2`` and ``multipart`` (stations in several parts) are measured by the
    caller; the figures' ``null`` and ``invalid`` counts are added by :func:`check_stations`.
    """
    problems = []
    union = shapely.union_all(members) if len(members) else shapely.Polygon()
    gap, gap_parts = significant_area(shapely.difference(outline, union), min_area_m2, min_width_m)
    spill, spill_parts = significant_area(shapely.difference(union, outline), min_area_m2, min_width_m)
    if gap_parts:
        share = gap / max(outline.area, 1e-9)
        problems.append(Problem("gap", unit, (), gap, f"{gap:,.1f} m² ({share:.2%} of the commune) "
                                f"in {gap_parts} part(s) covered by no station"))
    if spill_parts:
        problems.append(Problem("spill", unit, sids, spill, f"{spill:,.1f} m² of stations outside the "
                                f"commune, in {spill_parts} part(s)"))
    figures = {
        "stations": len(members),
        "area_m2": round(float(outline.area), 1),
        "overlap_m2": round(overlap_m2, 2),
        "gap_m2": round(gap, 2),
        "spill_m2": round(spill, 2),
        "multipart": multipart,
        "coverage_edges_match": bool(len(members) < 2 or shapely.coverage_is_valid(members)),
    }
    return problems, figures


def _layer_check(problems: list[Problem], per_commune: dict, n_stations: int, min_area_m2: float,
                 min_width_m: float) -> LayerCheck:
    """The :class:`LayerCheck`: problems worst first (kind, then area), counts and area totals."""
    rank = {k: i for i, k in enumerate(PROBLEM_KINDS)}
    problems.sort(key=lambda p: (rank[p.kind], -(p.area_m2 or 0.0), p.commune or "", p.stations))
    counts = {k: sum(1 for p in problems if p.kind == k) for k in PROBLEM_KINDS}
    totals = {
        "stations": int(n_stations),
        "communes": len(per_commune),
        **counts,
        "overlap_m2": round(sum(c["overlap_m2"] for c in per_commune.values()), 2),
        "gap_m2": round(sum(c["gap_m2"] for c in per_commune.values()), 2),
        "spill_m2": round(sum(c["spill_m2"] for c in per_commune.values()), 2),
    }
    return LayerCheck(
        problems=problems,
        communes=dict(sorted(per_commune.items())),
        totals=totals,
        tolerances={"min_area_m2": min_area_m2, "min_width_m": min_width_m},
    )
