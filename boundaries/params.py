"""The numbers that matter, with their units, in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Parameters:
    """Tolerances and thresholds of a build. Every distance is in metres, every area in m².

    Attributes
    ----------
    outside_tolerance_m : float
        An address farther than this from its own commune's outline is dropped
        (reason ``outside_commune``). Addresses closer than this but outside the
        outline are kept as seeds: simplified outlines are coarse and true
        addresses often fall just outside them.
    coordinate_grid_m : float
        Coordinates are snapped to this grid in the metric CRS before looking for
        shared coordinates: two addresses closer than this are one place.
    voronoi_margin_m : float
        The Voronoi cells are extended this far beyond the commune's bounding box,
        so that clipping to the outline never leaves uncovered land.
    area_tolerance_m2 : float
        Largest overlap, gap or spill (each, per commune) accepted by the partition
        check; anything bigger is a bug and stops the build.
    imprecise_radius_m : float
        A ``street``/``locality`` geocode whose nearest house-number point is another
        station's and closer than this is not a seed (:func:`boundaries.clean.flag_seed_quality`).
        0 turns it off.
    outlier_neighbours : int
        A point with none of its this many nearest neighbours in its own station is
        alone; 0 turns outlier detection off.
    outlier_spread : float
        An alone point farther than this many robust spreads from its station's
        median centre is dropped as ``station_outlier`` (a count, no unit).
    share_offset_m : float
        A station whose every address sits on coordinates won by bigger stations
        keeps a seed this far from its heaviest shared point, so it still gets
        land (:func:`boundaries.clean.resolve_contested`). 0 turns it off.
    hull_ratio : float
        ``--method hull``: the concave-hull ratio, 0 (most concave) to 1 (convex).
    hull_buffer_m : float
        ``--method hull``: width added around each station's hull.
    auto_holdout : float
        ``--method auto``: share of a commune's address points held out to compare
        the methods.
    auto_min_test : int
        ``--method auto``: fewer held-out points than this and voronoi is kept.
    auto_margin : float
        ``--method auto``: how much better (a share, 0 to 1) hull must score.
    frontage_step_m : float
        Street-aware seeds (:mod:`boundaries.streets`): spacing of the points added
        between consecutive addresses of one street side that belong to the same
        station. 0 turns the step off. Needs ``geo_adresse``.
    frontage_max_gap_m : float
        Consecutive addresses of a side farther apart than this are not joined.
    fragment_max_rows : int
        A part of a station detached from its main body and holding at most this
        many address rows goes to the neighbour sharing its longest border
        (:mod:`boundaries.fragments`). Negative turns the step off.
    empty_land_m : float
        Land farther than this from every seed is empty (parks, fields, water) and
        goes whole to the station sharing its longest border
        (:mod:`boundaries.emptyland`). 0 turns the step off.
    empty_land_max_m2 : float
        An empty piece larger than this keeps its Voronoi split (0: no limit).
    smooth_window_m : float
        Borders between two stations are replaced by their moving average over
        this length (:mod:`boundaries.smooth`); the outline never moves. 0 turns
        it off.
    """

    outside_tolerance_m: float = 100.0
    coordinate_grid_m: float = 0.01
    voronoi_margin_m: float = 1000.0
    area_tolerance_m2: float = 1.0
    imprecise_radius_m: float = 30.0
    outlier_neighbours: int = 0
    outlier_spread: float = 3.0
    share_offset_m: float = 3.0
    hull_ratio: float = 0.3
    hull_buffer_m: float = 15.0
    auto_holdout: float = 0.1
    auto_min_test: int = 20
    auto_margin: float = 0.0
    frontage_step_m: float = 20.0
    frontage_max_gap_m: float = 150.0
    fragment_max_rows: int = 0
    empty_land_m: float = 0.0
    empty_land_max_m2: float = 0.0
    smooth_window_m: float = 50.0

    def __post_init__(self):
        from .errors import InputError

        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("fragment_max_rows",):  # -1 switches the step off
                continue
            if not (isinstance(value, (int, float)) and value >= 0):
                raise InputError(f"parameter {f.name} must be a number ≥ 0, got {value!r}")
        if self.coordinate_grid_m <= 0:
            raise InputError("parameter coordinate_grid_m must be > 0")

    def to_dict(self) -> dict:
        return asdict(self)
