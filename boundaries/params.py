"""The numbers that matter, with their units, in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import math
import re


@dataclass(frozen=True)
class Range:
    """The values an option accepts: ``low`` to ``high`` (``unit``), and ``off`` besides, if set.

    Attributes
    ----------
    low, high : float
        Bounds, included unless ``high_open``.
    unit : str
        Shown after the numbers (``m``, ``m²``; empty for a count or a share).
    whole : bool
        Whole numbers only.
    high_open : bool
        ``high`` itself is excluded.
    off : float, optional
        A value outside ``low``–``high`` that is accepted too (0: the step turned off).
    off_means : str
        What ``off`` does, in the message.
    """

    low: float
    high: float
    unit: str = ""
    whole: bool = False
    high_open: bool = False
    off: float | None = None
    off_means: str = "off"

    def accepts(self, value) -> bool:
        """Whether ``value`` is a finite number (whole if asked) in the range, or ``off``."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value) or (self.whole and not float(value).is_integer()):
            return False
        return value == self.off or (self.low <= value and (value < self.high if self.high_open
                                                            else value <= self.high))

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        kind = "a whole number" if self.whole else "a number"
        top = f"{_number(self.high)} ({_number(self.high)} excluded)" if self.high_open else _number(self.high)
        off = f" (or {_number(self.off)}: {self.off_means})" if self.off is not None else ""
        return f"{kind} from {_number(self.low)} to {top}{unit}{off}"


def _number(value: float) -> str:
    """``100,000``, ``0.1``, ``1e-06``: whole numbers with thousands separators."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e16 else f"{value:g}"


def check_ranges(values, ranges: dict, keywords: dict | None = None) -> None:
    """Refuse the first attribute of ``values`` outside its :class:`Range`, naming its option and range.

    A whole range's float that is a whole number (3.0) is stored as an int. ``keywords`` maps an
    attribute to the keyword that sets it, where they differ
    (``simplify_m`` is set by ``simplify``).

    Raises
    ------
    InputError
        One line: the option (:func:`boundaries.errors.option`), its range with its unit,
        and the value given.
    """
    from .errors import InputError, option

    for name, allowed in ranges.items():
        value = getattr(values, name)
        if not allowed.accepts(value):
            raise InputError(f"{option((keywords or {}).get(name, name))} must be {allowed}, got {value!r}")
        if allowed.whole and isinstance(value, float):
            object.__setattr__(values, name, int(value))  # 3.0 is 3: numpy's seeds and counts want an int


@dataclass(frozen=True)
class Parameters:
    """Tolerances and thresholds of a build. Every distance is in metres, every area in m².

    Each attribute is also a keyword of :func:`boundaries.build` and an option of
    ``boundaries build``: ``frontage_step_m=10`` is ``--frontage-step-m 10`` (the older
    spelling without the unit, ``--frontage-step 10``, still works). This docstring is
    the one description of each: ``boundaries build --help`` prints it.

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
        ``--method auto``: fewer held-out points than this and hull is kept.
    auto_max_loss : float
        ``--method auto``: largest loss of held-out addresses (a share, 0 to 1)
        at which hull is still chosen over voronoi.
    frontage_step_m : float
        Street-aware seeds (:mod:`boundaries.streets`): spacing of the points added
        between consecutive addresses of one street side that belong to the same
        station. 0 turns the step off. Needs ``geo_adresse``.
    frontage_max_gap_m : float
        Consecutive addresses of a side farther apart than this are not joined.
    fragment_max_rows : int
        A part of a station detached from its main body and holding at most this
        many address rows goes to the neighbour sharing its longest border
        (:mod:`boundaries.fragments`). Negative turns the step off. 5 keeps
        Val-de-Marne's hold-out within 0.15 point of keeping every part with an
        address, over 3 splits (docs/pieces.md).
    enclave_min_share : float
        A detached part holding less than this share (0 to 1) of its station's
        address rows goes to its main neighbour too: only parts above the row count
        and holding at least this share stay as enclaves.
        0 turns the share test off.
    fragment_sliver_m2 : float
        A detached part smaller than this goes to its main neighbour whatever it
        holds. 0 turns the area test off.
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

    # Each field's sane range (its unit in the name) sits beside it: a value outside it (NaN,
    # ±inf, 1e308 m, a 1e-300 m grid that overflows the integer grid) is refused by
    # :func:`check_ranges`, in one line naming the option and its range.
    outside_tolerance_m: float = field(default=100.0, metadata={"alias": "--outside-tolerance",
                                                                "range": Range(0, 100_000, "m")})
    coordinate_grid_m: float = field(default=0.01, metadata={"range": Range(1e-6, 100, "m")})
    voronoi_margin_m: float = field(default=1000.0, metadata={"range": Range(0, 100_000, "m")})
    area_tolerance_m2: float = field(default=1.0, metadata={"alias": "--area-tolerance",
                                                            "range": Range(0.01, 1e12, "m²")})  # 0: float noise fails
    imprecise_radius_m: float = field(default=30.0, metadata={"alias": "--imprecise-radius",
                                                              "range": Range(0, 10_000, "m")})
    outlier_neighbours: int = field(default=0, metadata={"range": Range(0, 1_000, whole=True)})
    outlier_spread: float = field(default=3.0, metadata={"range": Range(0, 1_000)})
    share_offset_m: float = field(default=3.0, metadata={"alias": "--share-offset", "range": Range(0, 1_000, "m")})
    hull_ratio: float = field(default=0.3, metadata={"range": Range(0, 1)})
    hull_buffer_m: float = field(default=15.0, metadata={"alias": "--hull-buffer", "range": Range(0, 10_000, "m")})
    auto_holdout: float = field(default=0.1, metadata={"range": Range(0, 1, high_open=True)})
    auto_min_test: int = field(default=20, metadata={"range": Range(0, 1_000_000, whole=True)})
    auto_max_loss: float = field(default=0.01, metadata={"range": Range(0, 1)})
    frontage_step_m: float = field(default=20.0, metadata={"alias": "--frontage-step",
                                                           "range": Range(0.1, 10_000, "m", off=0)})
    frontage_max_gap_m: float = field(default=150.0, metadata={"alias": "--frontage-max-gap",
                                                               "range": Range(0, 100_000, "m")})
    fragment_max_rows: int = field(default=5, metadata={"range": Range(-1, 1_000_000_000, whole=True)})
    enclave_min_share: float = field(default=0.0, metadata={"range": Range(0, 1)})
    fragment_sliver_m2: float = field(default=100.0, metadata={"alias": "--fragment-sliver",
                                                            "range": Range(0, 1e12, "m²")})
    empty_land_m: float = field(default=0.0, metadata={"alias": "--empty-land", "range": Range(0, 10_000, "m")})
    empty_land_max_m2: float = field(default=0.0, metadata={"alias": "--empty-land-max-area",
                                                            "range": Range(0, 1e12, "m²")})
    smooth_window_m: float = field(default=50.0, metadata={"alias": "--smooth-window",
                                                           "range": Range(1, 10_000, "m", off=0)})

    def __post_init__(self):
        check_ranges(self, {f.name: f.metadata["range"] for f in fields(self)})

    def to_dict(self) -> dict:
        return asdict(self)


def numpydoc_items(doc: str | None, section: str) -> dict[str, str]:
    """The entries of one section (``Parameters``, ``Attributes``) of a numpydoc docstring.

    Returns ``{name: description}`` with the description on one line and Sphinx markup
    (``:func:`x```, double back-quotes) removed, as ``--help`` shows it; an entry
    ``a, b : float`` gives both names the same text.
    """
    import inspect

    lines = inspect.cleandoc(doc or "").splitlines()
    items: dict[str, list[str]] = {}
    try:
        start = next(i for i, line in enumerate(lines[:-1])
                     if line.strip() == section and set(lines[i + 1].strip()) == {"-"}) + 2
    except StopIteration:
        return {}
    names: list[str] = []
    for i in range(start, len(lines)):
        line = lines[i]
        if line and not line.startswith(" "):
            if i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
                break  # the next section
            names = [n.strip() for n in line.split(" : ")[0].split(",")]
            for n in names:
                items[n] = []
        elif line.strip() and names:
            for n in names:
                items[n].append(line.strip())
    return {n: _plain(" ".join(text)) for n, text in items.items()}


def _plain(text: str) -> str:
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")
