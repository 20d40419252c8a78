"""One build, described once: what to read, what to select, how to build, where to run.

A :class:`BuildRequest` is made by :func:`boundaries.build` from its keywords and by
``boundaries build`` from its options (both through :meth:`BuildRequest.create`),
validated once, here, and then handed whole to :func:`boundaries.pipeline.run`.
National runs (:mod:`boundaries.national`) derive one request per département from
it with :meth:`BuildRequest.for_part`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace

from . import codes
from .errors import InputError, option
from .parallel import check_scheduler
from .params import Parameters, Range, check_ranges
from .read import AddressColumns, check_crs


def as_codes(value) -> tuple[str, ...]:
    """A code, a list of codes, or a comma/space separated string of them, as a tuple of strings.

    A lone number (``commune=29039``, ``departement=29``) is one code, as a single flag of
    the command is; it is not padded (``1`` is refused as the command's ``--departement 1``).
    """
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    elif not isinstance(value, Iterable) or isinstance(value, bytes):
        value = (value,)  # an int, a numpy integer…: one code (bytes would iterate as numbers)
    return tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))


@dataclass(frozen=True)
class BuildRequest:
    """Everything one build needs, validated.

    Each attribute is the keyword of :func:`boundaries.build` of the same name, and
    means what its documentation says there (the one description of each option,
    which ``boundaries build --help`` prints too); only what differs is noted here:

    - ``departement`` and ``commune`` are tuples of codes (a string of several, or a
      list, is accepted and normalised);
    - ``simplify_m`` is the ``simplify`` keyword resolved to metres (0: none);
    - ``jobs`` is at least 1 (0, all cores, is resolved on creation);
    - ``columns`` carries ``id_column``, ``commune_column``, ``x_column`` and ``y_column``;
    - ``outlines_required``, not a keyword: False for the rows of a national run that
      no outline covers, which are reported rather than refused.
    """

    addresses: object
    communes: object
    method: str = "hull"
    departement: tuple = ()
    commune: tuple = ()
    all_departements: bool = False
    columns: AddressColumns = AddressColumns()
    crs: str | None = None
    commune_field: str | None = None
    communes_layer: str | None = None
    addresses_layer: str | None = None
    streets: object = None
    streets_layer: str | None = None
    parcels: object = None
    parcels_layer: str | None = None
    buildings: object = None
    buildings_layer: str | None = None
    params: Parameters = Parameters()
    holdout: float = 0.0
    seed: int = 0
    simplify_m: float = 0.0
    results: object = None
    results_id: str | None = None
    jobs: int = 1
    scheduler: str | None = None
    work_dir: str | None = None
    progress: Callable | None = field(default=None, compare=False)
    outlines_required: bool = True

    def __post_init__(self):
        from .tessellate import METHODS

        set_ = object.__setattr__
        set_(self, "departement", as_codes(self.departement))
        set_(self, "commune", as_codes(self.commune))
        if self.method not in METHODS:
            raise InputError(f"unknown method {self.method!r} ({option('method')}); choose one of {', '.join(METHODS)}")
        for d in self.departement:
            if not codes.is_departement_code(d):
                raise InputError(f"{option('departement')} {d!r} is not a département code "
                                 "(2 digits, 2A/2B, or 971…978)")
        for c in self.commune:
            if not codes.is_commune_code(c):
                raise InputError(f"{option('commune')} {c!r} is not a 5-character INSEE code (e.g. 94028, 2A004)")
        check_crs(self.crs)  # at the door: a national run makes its work folder before it reads a row
        if isinstance(self.jobs, int) and not isinstance(self.jobs, bool) and self.jobs == 0:
            set_(self, "jobs", min(os.cpu_count() or 1, OPTION_RANGES["jobs"].high))  # 0: every core
        check_ranges(self, OPTION_RANGES, {"simplify_m": "simplify"})
        if self.national and (self.commune or self.holdout):
            raise InputError(f"{option('all_departements')} and several {option('departement')} build whole "
                             f"départements: without {option('commune')} and {option('holdout')}")
        for name in LAND_LAYERS:
            if getattr(self, name) is not None and self.national:
                raise InputError(f"{option(name)} builds one département at a time for now: give one "
                                 f"{option('departement')} (not {option('all_departements')} or several)")
            if getattr(self, f"{name}_layer") is not None and getattr(self, name) is None:
                raise InputError(f"{option(name + '_layer')} names a layer of {option(name)}, which is not given")
        if self.scheduler is not None:
            check_scheduler(self.scheduler)  # a malformed address fails here, before anything is read
        if self.results is not None:  # read now: a bad results file is refused before the build, not after
            from .results import check_results

            check_results(self.results, self.results_id)

    @classmethod
    def create(cls, addresses, communes, *, params: Parameters | None = None, columns: AddressColumns | None = None,
               **options) -> BuildRequest:
        """A request from :func:`boundaries.build`'s keywords (the command's options, by keyword).

        Keywords named like a :class:`Parameters` field override ``params``; ``id_column``,
        ``commune_column``, ``x_column`` and ``y_column`` override ``columns``; ``jobs=0``
        means every core; ``simplify`` is a tolerance in metres or a level name.
        Unknown keywords are refused, with the closest known one.
        """
        from .simplify import tolerance_m

        tolerances = {k: options.pop(k) for k in list(options) if k in PARAMETER_NAMES}
        names = {k: options.pop(k, None) for k in COLUMN_KEYWORDS}
        _refuse_unknown(options)
        given = columns or AddressColumns()
        columns = AddressColumns(**{attr: names[kw] or getattr(given, attr) for kw, attr in COLUMN_KEYWORDS.items()})
        jobs = options.pop("jobs", 0)
        simplify = tolerance_m(options.pop("simplify", None))
        return cls(addresses, communes, params=replace(params or Parameters(), **tolerances), columns=columns,
                   jobs=jobs, simplify_m=simplify, **options)

    @property
    def has_land(self) -> bool:
        """Whether a land layer (:data:`LAND_LAYERS`) is given: the build then runs in one process."""
        return any(getattr(self, name) is not None for name in LAND_LAYERS)

    @property
    def national(self) -> bool:
        """Asked for several départements (``all_departements``, or more than one ``departement``)."""
        return bool(self.all_departements) or len(self.departement) > 1

    @property
    def whole_departements(self) -> bool:
        """Builds whole départements: no commune selection and no hold-out (so it may run by département)."""
        return not self.commune and not self.holdout

    def for_part(self, departement: str | None, outlines_required: bool = True) -> BuildRequest:
        """The request of one part of a national run (its rows and outlines still to be set): one process.

        ``departement``: the part's (None for the rows no département's outline covers,
        built with ``outlines_required`` False so that they are reported, not refused).
        """
        return replace(self, addresses=None, communes=None, departement=(departement,) if departement else (),
                       all_departements=False, jobs=1, scheduler=None, work_dir=None, progress=None,
                       simplify_m=0.0, results=None, results_id=None, outlines_required=outlines_required)


#: The land layers a build may follow, in order of precedence where several reach a commune
#: (:func:`boundaries.pipeline.build_unit`): each has a ``{name}_layer`` keyword too.
LAND_LAYERS = ("parcels", "buildings", "streets")

#: The sane range of each numeric option of a request besides the :class:`Parameters` (which
#: declare theirs), checked on creation: anything else is refused in one line naming it.
OPTION_RANGES = {
    "holdout": Range(0, 0.9),  # a share of the address points: more leaves stations without seeds
    "seed": Range(0, 2**32 - 1, whole=True),
    "simplify_m": Range(0, 10_000, "m"),  # the simplify keyword, in metres
    "jobs": Range(1, 1_024, whole=True, off=0, off_means="all cores"),  # processes
}

#: The keywords of :func:`boundaries.build` that name columns, and the :class:`AddressColumns` field each sets.
COLUMN_KEYWORDS = {"id_column": "station", "commune_column": "commune", "x_column": "x", "y_column": "y"}

#: The keywords that are :class:`Parameters` fields.
PARAMETER_NAMES = tuple(f.name for f in fields(Parameters))

#: Every keyword :func:`boundaries.build` takes besides the two inputs.
KEYWORDS = tuple(f.name for f in fields(BuildRequest)
                 if f.name not in ("addresses", "communes", "simplify_m", "outlines_required")) \
    + ("simplify",) + tuple(COLUMN_KEYWORDS) + PARAMETER_NAMES


def _refuse_unknown(options: dict) -> None:
    for name in options:
        if name not in KEYWORDS:
            close = difflib.get_close_matches(name, sorted(KEYWORDS), n=1)
            hint = f"; did you mean {close[0]}?" if close else "; see help(boundaries.build)"
            raise InputError(f"boundaries.build got an unknown option {name!r}{hint}")
