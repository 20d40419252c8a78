"""Check that station polygons partition a commune: valid, no overlap, no gap, no spill."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import shapely

from .errors import option
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

#: Kinds of problem, most severe first. The last three are warnings: they do not make a
#: layer fail (``multipart`` does with ``strict``: a station may truly have several parts;
#: ``outline_gap``/``outline_spill`` lie along the commune outline: a coarser or finer
#: outline than the one the layer was built on, not a hole or a spill inside).
PROBLEM_KINDS = (
    "null_geometry",
    "invalid_geometry",
    "duplicate_id",
    "commune_without_outline",
    "missing_station",
    "overlap",
    "gap",
    "spill",
    "outline_gap",
    "outline_spill",
    "multipart",
)
WARNING_KINDS = ("outline_gap", "outline_spill", "multipart")
#: Default of ``outline_tolerance_m``: a gap or spill within this distance (m) of its
#: commune's outline is an outline mismatch (simplified outlines stray by tens of metres).
OUTLINE_TOLERANCE_M = 30.0


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a station layer.

    ``point`` is a representative point of the problem, ``(longitude, latitude)`` in
    WGS84 with 6 decimals (None when it has no place); ``width_m`` the mean width
    (2 × area / perimeter) of an area problem; ``geometry`` its shape in WGS84 (see
    :func:`boundaries.problems.locate`), left out of :meth:`to_dict`.
    """

    kind: str
    commune: str | None
    stations: tuple
    area_m2: float | None
    detail: str
    point: tuple | None = None
    width_m: float | None = None
    geometry: object = field(default=None, compare=False, repr=False)

    @property
    def severity(self) -> str:
        """``warning`` for :data:`WARNING_KINDS`, else ``problem``."""
        return "warning" if self.kind in WARNING_KINDS else "problem"

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "severity": self.severity, "commune": self.commune,
             "stations": list(self.stations), "area_m2": None if self.area_m2 is None else round(self.area_m2, 2),
             "width_m": None if self.width_m is None else round(self.width_m, 2),
             "longitude": None, "latitude": None, "detail": self.detail}
        if self.point is not None:
            d["longitude"], d["latitude"] = self.point
        return d

    def line(self) -> str:
        where = f"{self.commune}: " if self.commune else ""
        at = f" (at {self.point[0]:.6f}, {self.point[1]:.6f})" if self.point else ""
        return f"{where}{self.kind.replace('_', ' ')} — {self.detail}{at}"


@dataclass
class LayerCheck:
    """The result of :func:`check_stations`: problems worst first, and per-commune figures."""

    problems: list
    communes: dict
    totals: dict
    tolerances: dict
    missing: dict = field(default_factory=dict)

    def errors(self, strict: bool = False) -> list:
        """The problems that fail the layer: all but the warnings (``multipart`` too with ``strict``)."""
        return [p for p in self.problems if p.kind not in WARNING_KINDS or (strict and p.kind == "multipart")]

    def warnings(self, strict: bool = False) -> list:
        """The problems that do not fail the layer."""
        failing = {id(p) for p in self.errors(strict)}
        return [p for p in self.problems if id(p) not in failing]

    def ok(self, strict: bool = False) -> bool:
        """True when nothing but warnings (or nothing at all, with ``strict``) was found."""
        return not self.errors(strict)

    def no_outline_note(self) -> str | None:
        """A warning line when no station's commune has an outline (the outlines are of other communes)."""
        without = sum(len(p.stations) for p in self.problems if p.kind == "commune_without_outline")
        if not without or without < self.totals.get("stations", 0):
            return None
        return (f"the outlines hold none of the communes of the {without:,} stations: every station is reported "
                "as commune_without_outline, and the pictures draw the stations' union; check the outline file "
                "and its commune-code field")

    def to_dict(self, strict: bool = False) -> dict:
        return {
            "ok": self.ok(strict),
            "summary": {"problems": len(self.errors(strict)), "warnings": len(self.warnings(strict))},
            "totals": self.totals,
            "tolerances": self.tolerances,
            "problems": [p.to_dict() for p in self.problems],
            "missing_stations": self.missing,
            "communes": self.communes,
        }


def significant_parts(geom, min_area_m2: float, min_width_m: float) -> np.ndarray:
    """The polygons of ``geom`` that are more than rounding noise.

    A part counts when its area exceeds ``min_area_m2`` and its mean width
    (2 × area / perimeter) exceeds ``min_width_m``: coordinates rounded to 7 decimals
    (≈ 1 cm) leave long slivers a few millimetres wide along shared borders.
    """
    parts = shapely.get_parts(np.atleast_1d(geom))
    parts = parts[shapely.get_type_id(parts) == 3]
    if len(parts) == 0:
        return parts
    area = shapely.area(parts)
    width = 2 * area / np.maximum(shapely.length(parts), 1e-12)
    return parts[(area > min_area_m2) & (width > min_width_m)]


def significant_area(geom, min_area_m2: float, min_width_m: float) -> tuple[float, int]:
    """Area and count of the :func:`significant_parts` of ``geom``."""
    parts = significant_parts(geom, min_area_m2, min_width_m)
    return float(shapely.area(parts).sum()), len(parts)


def area_problem(kind: str, commune, stations: tuple, parts: np.ndarray, detail: str) -> Problem:
    """A problem over the polygons ``parts`` (metric CRS): their area, mean width and shape."""
    shape = shapely.multipolygons(parts)
    area = float(shapely.area(parts).sum())
    width = float(2 * area / max(float(shapely.length(parts).sum()), 1e-12))
    return Problem(kind, commune, stations, area, detail, width_m=width, geometry=shape)


def check_stations(stations, communes, *, id_field: str | None = None, station_commune_field: str | None = None,
                   commune_field: str | None = None, min_area_m2: float = 1.0, min_width_m: float = 0.05,
                   layer: str | None = None, communes_layer: str | None = None,
                   outline_tolerance_m: float = OUTLINE_TOLERANCE_M, addresses=None,
                   build_report=None) -> LayerCheck:
    """Validate a station layer against commune outlines; locate each problem found.

    Finds null/empty and invalid geometries (a vertex that cannot be a coordinate makes
    a geometry invalid), duplicate station ids (``94068_7`` is ``94068_0007``), stations
    whose commune has no outline, stations of ``addresses`` absent from the layer,
    overlaps, gaps, spills (near the outline: warnings, see ``outline_tolerance_m``) and
    stations in several parts, measured in each territory's metric CRS.

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
    outline_tolerance_m : float
        Width (m) of the band along each outline where a gap or spill is an outline
        mismatch (a warning); 0 makes every gap and spill a problem.
    addresses : path, DataFrame or boundaries.read.AddressTable, optional
        The address table the layer was built from (see :func:`missing_stations`).
    build_report : path, optional
        The layer's build report: its per-commune built station ids (see :func:`unbuilt_stations`).

    Returns
    -------
    LayerCheck
    """
    from .problems import locate
    from .read import read_communes, read_stations
    from .scope import match_units

    st = read_stations(stations, id_field, station_commune_field, layer=layer, bad_vertices=True)
    outlines = read_communes(communes, commune_field, communes_layer,
                             st["code_commune"].dropna().to_numpy(dtype=object)).outlines
    geoms = st.geometry.values.to_numpy()
    st["unit"] = match_units(st["code_commune"].fillna("").to_numpy(), outlines["code"])
    missing, invalid, unusable = _geometry_faults(geoms, st.crs)
    fixed = _repaired(geoms, invalid & ~unusable)
    shapes = np.where(missing | unusable, None, fixed)  # what locates a station's problem
    problems = locate(_feature_problems(st, geoms, shapes, missing, invalid, unusable), st.crs)
    n_parts = shapely.get_num_geometries(geoms)
    usable = ~missing & ~unusable & st["unit"].notna().to_numpy()
    found, per_commune = _area_problems(st, outlines, fixed, usable, n_parts,
                                        (min_area_m2, min_width_m, outline_tolerance_m))
    problems += found + locate(_multipart(st, shapes, n_parts, missing), st.crs)
    found, absent = missing_stations(st, outlines, addresses) if addresses is not None else ([], {})
    if build_report is not None:
        unbuilt = unbuilt_stations(st, outlines, build_report, {p.commune for p in found})
        found += unbuilt
        absent = absent or _listed([p.stations[0] for p in unbuilt if p.stations])
    problems += found
    for u, info in per_commune.items():
        info["null"] = int((missing & (st["unit"] == u).to_numpy()).sum())
        info["invalid"] = int((invalid & (st["unit"] == u).to_numpy()).sum())
    return _layer_check(problems, per_commune, len(st), absent,
                        {"min_area_m2": min_area_m2, "min_width_m": min_width_m,
                         "outline_tolerance_m": outline_tolerance_m})


def _area_problems(st, outlines, fixed, usable, n_parts, limits) -> tuple[list[Problem], dict]:
    """Overlaps, gaps and spills of every territory (see :func:`_check_territory`), located; per-commune figures."""
    from .problems import locate

    problems: list[Problem] = []
    per_commune: dict = {}
    for crs, of_crs in _territories(st["unit"]):
        found, figures = _check_territory(st, outlines, fixed, usable, of_crs, crs, n_parts, limits)
        problems += locate(found, crs)
        per_commune.update(figures)
    return problems, per_commune


def _repaired(geoms: np.ndarray, repair: np.ndarray) -> np.ndarray:
    """``geoms`` with those marked ``repair`` made valid (areas are measured on them)."""
    fixed = geoms.copy()
    if repair.any():
        from .geometry import polygonal_parts

        fixed[repair] = polygonal_parts(shapely.make_valid(geoms[repair]))
    return fixed


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


def _multipart(st, shapes: np.ndarray, n_parts: np.ndarray, missing: np.ndarray) -> list[Problem]:
    """A warning for each station with a geometry in several parts, shaped as its detached pieces."""
    from .problems import largest_parts

    ids = st["id_bv"].to_numpy(dtype=object)
    idx = np.flatnonzero((n_parts > 1) & ~missing)
    usable = np.array([g is not None for g in shapes[idx]], dtype=bool)
    detached = np.full(len(idx), None, dtype=object)
    detached[usable] = shapely.difference(shapes[idx][usable], largest_parts(shapes[idx][usable]))
    return [Problem("multipart", st["code_commune"].iloc[i], (ids[i],), None,
                    f"station {ids[i]} is in {int(n_parts[i])} parts",
                    geometry=g)
            for i, g in zip(idx, detached)]


def _feature_problems(st, geoms: np.ndarray, shapes: np.ndarray, missing: np.ndarray, invalid: np.ndarray,
                      unusable: np.ndarray) -> list[Problem]:
    """Problems of single features and ids: null or invalid geometry, duplicate id, no outline.

    ``unusable``: geometries with a vertex that cannot be a coordinate (invalid too);
    ``shapes``: the usable geometries, repaired (None elsewhere), which locate the problems.
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
        problems.append(Problem("invalid_geometry", commune.iloc[i], (ids[i],), None, f"station {ids[i]}: {reason}",
                                geometry=shapes[i]))
    dup = st["key"].duplicated(keep=False) & st["key"].notna()
    for key, group in st[dup].groupby("key", sort=True):
        problems.append(Problem("duplicate_id", group["code_commune"].iloc[0], tuple(group["id_bv"]), None,
                                f"{len(group)} features for station {key}: {', '.join(group['id_bv'])}",
                                geometry=_first_shape(shapes, st.index.get_indexer(group.index))))
    no_outline = st["unit"].isna().to_numpy()
    for code, group in st[no_outline].groupby(commune.fillna("?")[no_outline], sort=True):
        problems.append(Problem("commune_without_outline", code, tuple(group["id_bv"]), None,
                                f"{len(group)} station(s) of commune {code}, which is not in the outline file",
                                geometry=_first_shape(shapes, st.index.get_indexer(group.index))))
    return problems


def _first_shape(shapes: np.ndarray, positions: np.ndarray):
    """The first usable shape of the stations at ``positions`` (None when none is)."""
    return next((shapes[i] for i in positions if shapes[i] is not None), None)


def missing_stations(st, outlines, addresses) -> tuple[list[Problem], dict]:
    """A ``missing_station`` problem for each station of ``addresses`` absent from the layer ``st``.

    Only the stations of communes with an outline count (the layer is checked against
    those). Each is located at its address row nearest the median of its rows.
    Returns the problems (in station order) and ``{"count", "ids", "unlisted"}``: the
    ids listed up to :data:`boundaries.results.MAX_LISTED_IDS`.
    """
    import pandas as pd

    from .codes import canonical_station
    from .problems import locate
    from .read import AddressTable, read_addresses
    from .scope import match_units

    table = addresses if isinstance(addresses, AddressTable) else read_addresses(addresses)
    rows = table.rows[table.rows["station"].notna()]
    rows = rows[pd.notna(match_units(rows["commune"].to_numpy(), outlines["code"]))]
    rows = rows.assign(key=canonical_station(rows["station"].to_numpy()))
    rows = rows[~rows["key"].isin(set(st["key"].dropna()))]
    good = rows[np.isfinite(rows["x"].to_numpy(dtype=float)) & np.isfinite(rows["y"].to_numpy(dtype=float))]
    median = good.groupby("key")[["x", "y"]].transform("median")
    near = ((good["x"] - median["x"]) ** 2 + (good["y"] - median["y"]) ** 2).groupby(good["key"]).idxmin()
    first = rows.groupby("key", sort=False).head(1).set_index("key")
    keys = sorted(first.index, key=lambda k: (str(first.at[k, "commune"]), len(k), k))
    count = rows["key"].value_counts()
    problems = [Problem("missing_station", first.at[k, "commune"], (first.at[k, "station"],), None,
                        f"station {first.at[k, 'station']} ({int(count[k]):,} address rows) is in the address "
                        "table but not in the layer",
                        geometry=shapely.Point(good.at[near[k], "x"], good.at[near[k], "y"]) if k in near else None)
                for k in keys]
    return locate(problems, table.crs), _listed([p.stations[0] for p in problems])


def _listed(ids: list) -> dict:
    """``{"count", "ids", "unlisted"}`` of missing station ids: listed up to :data:`boundaries.results.MAX_LISTED_IDS`."""
    from .results import MAX_LISTED_IDS

    if not ids:
        return {}
    return {"count": len(ids), "ids": ids[:MAX_LISTED_IDS], "unlisted": max(len(ids) - MAX_LISTED_IDS, 0)}


def unbuilt_stations(st, outlines, build_report, named=()) -> list[Problem]:
    """A ``missing_station`` problem for each station ``build_report`` built that the layer lacks.

    The build report lists each commune's stations with a polygon (``stations_built``):
    each one absent from the layer is named, located at a point of its commune's outline
    (where it was is not known; ``--addresses`` places it among its addresses). A report
    of before that list only counts them (``stations_out``): one problem per commune
    short of stations. Communes without an outline, and those in ``named`` (their
    missing stations already named from the addresses), are left out.
    """
    from .codes import canonical_station
    from .problems import locate
    from .review import read_build_report

    doc = read_build_report(build_report)
    outline_of = dict(zip(outlines["code"], outlines.geometry.values))
    have_keys = set(st["key"].dropna())
    have = st["code_commune"].value_counts()
    problems = []
    for code, info in sorted(doc.get("communes", {}).items()):
        if code not in outline_of or code in named:
            continue
        where = shapely.point_on_surface(outline_of[code])
        built = _built_ids(info, code, build_report)
        if isinstance(built, list):
            absent = [i for i, k in zip(built, canonical_station(np.asarray(built, dtype=object)))
                      if k not in have_keys]
            problems += [Problem("missing_station", code, (i,), None, f"station {i} is in the build report but not "
                                 "in the layer", geometry=where) for i in absent]
        elif built - int(have.get(code, 0)) > 0:
            short = built - int(have.get(code, 0))
            problems.append(Problem("missing_station", code, (), None,
                                    f"the build report counts {built:,} stations with a polygon, the layer "
                                    f"{built - short:,}: {short:,} missing ({option('addresses')} names them)",
                                    geometry=where))
    return locate(problems, outlines.crs)


def _built_ids(info: dict, code: str, build_report) -> list | int:
    """A commune's built station ids from a build report (``stations_built``), else their count."""
    from .errors import InputError

    built = info.get("stations_built")
    if isinstance(built, list) and all(isinstance(i, str) for i in built):
        return built
    if built is not None:
        raise InputError(f"build report {build_report}: stations_built of commune {code} is not a list of station "
                         "ids; give the .report.json that boundaries build wrote beside the stations")
    built = info.get("stations_out")
    if not isinstance(built, int) or isinstance(built, bool) or built < 0:
        raise InputError(f"build report {build_report}: stations_out of commune {code} is not a count; give the "
                         ".report.json that boundaries build wrote beside the stations")
    return built


def _territories(units):
    """``(crs, mask)`` for each territory CRS the stations' units are in, in CRS order."""
    from . import codes

    unit_crs = units.map(lambda u: codes.territory_crs(codes.departement_of(u)) if isinstance(u, str) else None)
    for crs in sorted(set(unit_crs.dropna())):
        yield crs, (unit_crs == crs).to_numpy()


def _check_territory(st, outlines, fixed, usable, of_crs, crs, n_parts, limits):
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
    limits : tuple of float
        ``(min_area_m2, min_width_m, outline_tolerance_m)``, as for :func:`check_stations`.

    Returns
    -------
    problems : list of Problem
        Their geometries in ``crs``.
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
    problems, overlap_by_unit = _overlaps(st["code_commune"].iloc[idx], ids[idx], projected, units, *limits[:2])
    figures = {}
    for unit in sorted(outline_of):
        members = units == unit
        found, figures[unit] = _check_commune(
            unit, outline_of[unit], projected[members], tuple(ids[idx[members]]), overlap_by_unit.get(unit, 0.0),
            int((n_parts[idx[members]] > 1).sum()), limits,
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
        parts = significant_parts(g, min_area_m2, min_width_m)
        if len(parts):
            area = float(shapely.area(parts).sum())
            overlap_by_unit[units[a]] = overlap_by_unit.get(units[a], 0.0) + area
            problems.append(area_problem("overlap", commune.iloc[a], (ids[a], ids[b]), parts,
                                         f"{ids[a]} and {ids[b]} overlap on {area:,.1f} m²"))
    return problems, overlap_by_unit


def _check_commune(unit: str, outline, members: np.ndarray, sids: tuple, overlap_m2: float, multipart: int,
                   limits: tuple) -> tuple[list[Problem], dict]:
    """Gap and spill of one commune's stations ``members`` (ids ``sids``), and its figures.

    ``overlap_m2`` and ``multipart`` (stations in several parts) are measured by the
    caller; the figures' ``null`` and ``invalid`` counts are added by :func:`check_stations`.
    ``limits``: ``(min_area_m2, min_width_m, outline_tolerance_m)``.
    """
    min_area_m2, min_width_m, tolerance = limits
    union = shapely.union_all(members) if len(members) else shapely.Polygon()
    gaps, spills = shapely.difference(outline, union), shapely.difference(union, outline)
    gap, _ = significant_area(gaps, min_area_m2, min_width_m)
    spill, _ = significant_area(spills, min_area_m2, min_width_m)
    band = shapely.buffer(shapely.boundary(outline), tolerance) if tolerance > 0 else shapely.Polygon()
    problems = []
    for kind, geom in (("gap", gaps), ("spill", spills)):
        for inside, part in ((True, shapely.difference(geom, band)), (False, shapely.intersection(geom, band))):
            parts = significant_parts(part, min_area_m2, min_width_m)
            if len(parts):
                problems.append(_gap_or_spill(kind, inside, unit, outline, parts, members, sids, tolerance))
    figures = {
        "stations": len(members),
        "area_m2": round(float(outline.area), 1),
        "overlap_m2": round(overlap_m2, 2),
        "gap_m2": round(gap, 2),
        "spill_m2": round(spill, 2),
        "outline_gap_m2": round(sum(p.area_m2 for p in problems if p.kind == "outline_gap"), 2),
        "outline_spill_m2": round(sum(p.area_m2 for p in problems if p.kind == "outline_spill"), 2),
        "multipart": multipart,
        "coverage_edges_match": bool(len(members) < 2 or shapely.coverage_is_valid(members)),
    }
    return problems, figures


def _gap_or_spill(kind: str, inside: bool, unit: str, outline, parts: np.ndarray, members: np.ndarray, sids: tuple,
                  tolerance: float) -> Problem:
    """The problem of the gap or spill ``parts``: beyond ``tolerance`` of the outline (``inside``), or within it.

    Its stations: those bordering a gap (within 0.5 m), those covering a spill.
    """
    shape = shapely.multipolygons(parts)
    if kind == "gap":
        near = shapely.dwithin(members, shape, 0.5)
    else:
        near = shapely.area(shapely.intersection(members, shape)) > 0
    stations = tuple(np.asarray(sids, dtype=object)[near]) if len(members) else ()
    area = float(shapely.area(parts).sum())
    if kind == "gap":
        what = f"{area:,.1f} m² ({area / max(outline.area, 1e-9):.2%} of the commune) in {len(parts)} part(s) " \
               "covered by no station"
    else:
        what = f"{area:,.1f} m² of stations outside the commune, in {len(parts)} part(s)"
    where = (f", more than {tolerance:g} m inside the outline" if kind == "gap" else
             f", more than {tolerance:g} m beyond the outline") if tolerance > 0 else ""
    if not inside:
        where = f", within {tolerance:g} m of the outline: the layer follows another outline"
    return area_problem(kind if inside else f"outline_{kind}", unit, stations, parts, what + where)


def _layer_check(problems: list[Problem], per_commune: dict, n_stations: int, missing: dict,
                 tolerances: dict) -> LayerCheck:
    """The :class:`LayerCheck`: problems worst first (kind, then area), counts and area totals.

    ``missing``: the stations of the addresses absent from the layer (:func:`missing_stations`).
    """
    rank = {k: i for i, k in enumerate(PROBLEM_KINDS)}
    problems.sort(key=lambda p: (rank[p.kind], -(p.area_m2 or 0.0), p.commune or "", p.stations))
    counts = {k: sum(1 for p in problems if p.kind == k) for k in PROBLEM_KINDS}
    totals = {
        "stations": int(n_stations),
        "communes": len(per_commune),
        **counts,
        **{f"{k}_m2": round(sum(c[f"{k}_m2"] for c in per_commune.values()), 2)
           for k in ("overlap", "gap", "spill", "outline_gap", "outline_spill")},
    }
    return LayerCheck(
        problems=problems,
        communes=dict(sorted(per_commune.items())),
        totals=totals,
        tolerances=tolerances,
        missing=missing,
    )
