"""What a build returns, and where it is written."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, option
from .report import Report


@dataclass(frozen=True)
class OutputSpec:
    """Where and how a build is written, validated before any work.

    Attributes
    ----------
    path : str
        Output file, its format from the extension: ``.geojson`` (RFC 7946),
        ``.geojsonl``/``.geojsons`` (one feature per line), ``.gpkg`` (stations +
        communes layers, QGIS style), ``.fgb``, ``.parquet`` (GeoParquet); ``-`` for
        standard output; a folder with ``split``.
    fmt : str or None
        Output format when the extension does not say it (one of
        :data:`boundaries.write.FORMATS`); resolved from ``path`` when None.
    split : {"commune", "departement"} or None
        Write one file per commune or département into the folder ``path``, plus ``index.csv``.
    report : str or None
        Report file (JSON). ``"auto"``: ``path`` with ``.report.json`` (none with ``-``); None writes none.
    dropped : str or None
        Dropped-addresses file (:mod:`boundaries.dropped`): every address row not used
        for a polygon, with its row number, station, commune and reason, as points in
        WGS84; ``.geojson``, ``.gpkg`` or ``.csv``. None writes none.
    fields : {"ours", "etalab"}
        The station properties' names: ours only (the default), or with ``etalab``
        data.gouv.fr's names as well (``codeBureauVote``…, :mod:`boundaries.fields`).
    """

    path: str | os.PathLike
    fmt: str | None = None
    split: str | None = None
    report: str | None = "auto"
    dropped: str | None = None
    fields: str = "ours"

    def __post_init__(self):
        from .fields import check_fields
        from .write import SPLITS, default_report_path, output_format

        check_fields(self.fields)
        for name in ("path", "report", "dropped"):  # a pathlib.Path is a path too (the report stores text)
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))

        if self.split is not None and self.split not in SPLITS:
            raise InputError(f"{option('split', self.split)}: choose one of {', '.join(SPLITS)}")
        if self.split and self.path == "-":
            raise InputError(f"{option('split')} writes a folder: give its path, not -")
        if self.path != "-":
            from .outputs import refuse_special, reported

            with reported(self.path):  # a path too long to look at is one line too
                refuse_special(self.path, stdout_ok=not self.split)  # /dev/null, a FIFO: before its format
                Path(self.path).is_dir()
        fmt = self.fmt or ("geojson" if self.split else output_format(self.path))
        output_format(self.path if not self.split else "x." + fmt, fmt)
        object.__setattr__(self, "fmt", fmt)
        if self.report == "auto":
            object.__setattr__(self, "report", None if self.path == "-" else default_report_path(self.path))
        if self.report and self.path != "-" and _same_path(self.report, self.path):
            raise InputError(f"the report {self.report} would replace the stations written to the same path; "
                             f"give {option('report')} another file")
        if self.dropped is not None:
            self._check_dropped()

    def _check_dropped(self) -> None:
        """The dropped-addresses file: a known extension, a regular file, none of the other outputs."""
        from .dropped import DROPPED_FORMATS
        from .outputs import refuse_special, reported

        with reported(self.dropped):  # /dev/null, a FIFO: before its format
            refuse_special(self.dropped, "dropped addresses", option("dropped"))
        suffix = Path(self.dropped).suffix.lower()
        if suffix not in DROPPED_FORMATS:
            raise InputError(f"{option('dropped', self.dropped)}: unknown format {suffix or '(no extension)'!r}; "
                             f"use one of {', '.join(DROPPED_FORMATS)}")
        for other in (self.path if self.path != "-" and not self.split else None, self.report):
            if other and _same_path(self.dropped, other):
                raise InputError(f"the dropped addresses {self.dropped} would replace another output of the run "
                                 f"({other}); give {option('dropped')} another file")

    def check_folders(self) -> None:
        """Refuse, before writing, an output whose folder is missing or a file (a split folder's parent).

        A report or dropped file inside the split folder is not checked: the split makes that folder.
        """
        from .outputs import reported

        split_dir = Path(self.path) if self.split else None
        for out in (self.path, self.report, self.dropped):
            if not out or out == "-":
                continue
            folder = Path(out).parent
            if split_dir is not None and out != self.path and _same_path(folder, split_dir):
                continue
            with reported(out):  # a path too long to look at is one line too
                if folder.is_dir():
                    continue
                fix = "is a file; give a path in a folder" if folder.exists() else \
                    f"does not exist; create it first (mkdir -p {folder})"
            raise InputError(f"the folder {folder} of {out} {fix}")

    def check_inputs(self, inputs) -> None:
        """Refuse an output that would replace an input: the file itself, or a split folder holding one."""
        for source in (s for s in inputs if isinstance(s, (str, Path)) and str(s) not in ("", "-")):
            if not Path(source).exists():
                continue
            for out in (self.path, self.report, self.dropped):
                if out and _same_path(source, out):
                    raise InputError(f"output {out} is also an input ({source}); choose another output path")
            if self.split and _same_path(Path(source).parent, self.path):
                raise InputError(f"{option('split')} would write into {self.path}, which holds the input {source} "
                                 "(a file of the split could replace it); give the split a folder of its own")


def refuse_national_dropped() -> str:
    """The one line refusing ``dropped`` with a run by département (its parts do not list their rows)."""
    return (f"{option('dropped')} lists the dropped addresses of one build, not of a run by département "
            f"({option('all_departements')} or several {option('departement')}): build each département "
            f"with {option('departement')} and {option('dropped')}")


def _same_path(a, b) -> bool:
    """Whether two paths name the same file, whether or not it exists yet."""
    return Path(a).resolve() == Path(b).resolve()


@dataclass
class BuildResult:
    """What :func:`boundaries.build` returns.

    Attributes
    ----------
    stations : geopandas.GeoDataFrame
        One polygon per station, EPSG:4326, columns :data:`boundaries.stations.STATION_COLUMNS`,
        sorted by commune then station number.
    report : Report
    communes : geopandas.GeoDataFrame
        The outlines used (``code``, ``nom``), EPSG:4326, with per-outline counts
        ``n_stations``, ``n_addresses``, ``n_dropped`` and the ``method`` used.
    neighbours : scipy.sparse.csr_array of bool
        Which stations touch, rows and columns in the order of ``stations`` as
        built (:func:`boundaries.colouring.adjacency` on the output grid): the
        graph the ``colour`` column was chosen from.
    dropped : geopandas.GeoDataFrame or None
        Every address row not used for a polygon (:func:`boundaries.dropped.dropped_rows`):
        ``row``, ``id_bv``, ``code_commune``, ``reason``, a point in EPSG:4326 (null
        without coordinates); its counts by reason are the report's ``rows_dropped``.
        None for a run by département (not listed there).
    enclaves : geopandas.GeoDataFrame or None
        The address clusters the fragment clean-up put inside another station's
        polygon (:func:`boundaries.enclaves.enclave_points`): ``id_bv``,
        ``id_bv_holder``, ``code_commune``, ``rows``, a point. None for a run by département.
    """

    stations: object
    report: Report
    communes: object = None
    neighbours: object = None
    dropped: object = None
    enclaves: object = None

    def write(self, path: str | OutputSpec, fmt: str | None = None, *, split: str | None = None,
              report: str | None = "auto", dropped: str | None = None, fields: str = "ours") -> str | None:
        """Write the stations and the report next to them, as one set: all or none.

        Every file (the stations, or the split's files and index, and the report) is
        complete before the first replaces anything (:func:`boundaries.outputs.output_set`),
        so a failure (a full disk) leaves the previous outputs as they were, never new
        stations beside an old report. A device, a FIFO or a socket is never written
        through; a disk full, a read-only folder… is an :class:`~boundaries.errors.InputError`
        naming the file.

        Parameters
        ----------
        path : str or OutputSpec
            Output file (see :class:`OutputSpec`), or the whole output spec.
        fmt, split, report, dropped, fields
            As in :class:`OutputSpec` (ignored when ``path`` is one). A GeoPackage
            output gets the dropped addresses as a layer ``dropped`` too, and the
            moved address clusters as a layer ``enclaves``.

        Returns
        -------
        str or None
            The report's path.
        """
        from .fields import with_fields
        from .outputs import output_set
        from .write import write_json, write_split, write_stations

        spec = path if isinstance(path, OutputSpec) else OutputSpec(path, fmt, split, report, dropped, fields)
        spec.check_inputs([self.report.inputs.get("addresses"), self.report.inputs.get("communes")])
        spec.check_folders()
        if spec.dropped and self.dropped is None:
            raise InputError(refuse_national_dropped())
        self.report.inputs["output"] = spec.path
        stations = with_fields(self.stations, spec.fields)
        with output_set():
            if spec.split:
                write_split(stations, spec.path, spec.split, spec.fmt, communes=self.communes)
            else:
                write_stations(stations, spec.path, spec.fmt, communes=self.communes, dropped=self.dropped,
                               enclaves=self.enclaves)
            if spec.dropped:
                from .dropped import write_dropped

                write_dropped(self.dropped, spec.dropped)
            if spec.report:
                write_json(self.report.to_dict(), spec.report)
        return spec.report
