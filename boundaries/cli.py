"""The ``boundaries`` command: a thin shell over the Python API.

Exit codes: 0 success, 1 problems found by a check, 2 bad input or usage
(one line on stderr, nothing written), 3 internal error (a broken partition),
141 standard output closed by its reader (as a filter killed by SIGPIPE).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import sys
from dataclasses import replace

import click
from pathlib import Path

from .errors import EXIT_INPUT, EXIT_INTERNAL, BoundariesError, InputError, plural
from .options import (build_options, column_options, communes_option, flag, help_of, json_option, layer_options,
                      quiet_option, write_options)


#: Control characters (C0 but tab and newline, DEL, C1) that input codes could smuggle onto a terminal.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _say(text: str, err: bool = False) -> None:
    """Echo a line for a person, its control characters shown escaped (``\\x1b``): an input's codes
    never reach the terminal as escape sequences (colours, titles, hyperlinks, cursor moves)."""
    click.echo(_CONTROLS.sub(lambda m: repr(m.group())[1:-1], text), err=err)


def _fail(message: str, code: int) -> None:
    _say(f"boundaries: error: {message}", err=True)
    sys.exit(code)


class _Command(click.Command):
    """Turn the package's errors into one line on stderr and their exit code."""

    def invoke(self, ctx):
        from .outputs import WRITTEN, write_error

        WRITTEN.set(())  # this command's files only (a test runs many in one process)
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a reader gone (| head) shows here, not in the interpreter's exit
        except BrokenPipeError:
            _reader_gone()
        except InputError as exc:
            _fail(exc.render(flag), exc.exit_code)  # the library names keywords, the command its flags
        except BoundariesError as exc:
            _fail(str(exc), exc.exit_code)
        except MemoryError:
            _fail("out of memory; select fewer communes with --departement or --commune", EXIT_INTERNAL)
        except KeyboardInterrupt:
            from .parallel import stop_workers

            stop_workers()  # none left running, or hanging the exit, once we say we stopped
            _fail(_interrupted(), 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except OSError as exc:  # a disk full where no output was named (a work folder): still the place's fault
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
                _internal(exc)
            _fail(str(write_error(exc, exc.filename or "a work file")), EXIT_INPUT)
        except Exception as exc:  # a bug: one line, the traceback only on request
            _internal(exc)


def _interrupted() -> str:
    """What a Ctrl-C leaves: nothing, or (when it lands after the renames) the files already whole."""
    from .outputs import WRITTEN

    written = WRITTEN.get()
    if not written:
        return "interrupted; nothing was written"
    return f"interrupted after writing {', '.join(written)} (whole); nothing else was written"


def _internal(exc: Exception) -> None:
    """A bug: one line and exit 3, the traceback only with ``BOUNDARIES_DEBUG=1``."""
    if os.environ.get("BOUNDARIES_DEBUG"):
        raise exc
    _fail(
        f"internal error: {type(exc).__name__}: {exc} (nothing was written; set BOUNDARIES_DEBUG=1 "
        "for the traceback and please report it)",
        EXIT_INTERNAL,
    )


#: The exit code of a command whose reader closed standard output: a Unix filter killed by SIGPIPE's.
EXIT_PIPE = 128 + 13


def _reader_gone() -> None:
    """Standard output's reader left (``| head``): stop quietly, as a filter killed by SIGPIPE (141).

    Standard output is pointed at /dev/null first, so that the interpreter's last
    flush of what is left in its buffer does not fail again on the way out.
    """
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    sys.exit(EXIT_PIPE)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="boundaries", prog_name="boundaries")
def main():
    """Rebuild the territory of each polling station (bureau de vote) from the
    geocoded addresses of its voters, as a valid partition of each commune.

    \b
    Example:
      boundaries build addresses.csv.gz --communes communes.geojson \\
          --departement 94 -o stations.geojson

    Exit codes: 0 done, 1 problems found, 2 bad input (nothing written),
    3 internal error (nothing written).
    """


#: Set to ``lines`` (the QGIS plugin does) for progress as ``boundaries: progress: DONE/TOTAL LABEL`` lines on
#: stderr where no terminal shows a bar.
PROGRESS_ENV = "BOUNDARIES_PROGRESS"


class _LineProgress:
    """A progress bar for a program reading stderr: one line each time the whole percentage changes."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.done, self.shown = max(int(total), 0), label, 0, -1

    def __enter__(self):
        self._show()
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        self.done += n
        self._show()

    def _show(self) -> None:
        percent = 100 * self.done // self.total if self.total else 100
        if percent != self.shown:
            self.shown = percent
            _say(f"boundaries: progress: {self.done}/{self.total} {self.label}", err=True)


def _progress(quiet: bool, label: str = "communes"):
    """A click progress bar (over communes, or as ``label`` says), only on a terminal and without --quiet;
    elsewhere progress lines when ``BOUNDARIES_PROGRESS=lines``."""
    if quiet:
        return None
    if not sys.stderr.isatty():
        if os.environ.get(PROGRESS_ENV) == "lines":
            return lambda total, label=label: _LineProgress(total, label)
        return None

    def bar(total, label=label):
        return click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True, show_pos=True)

    return bar


@main.command(cls=_Command)
@click.argument("addresses", type=click.Path(path_type=str))
@communes_option(help_of("communes"))
@write_options
@build_options
@quiet_option("No progress bar and no summary on stderr.")
@json_option("Print the run summary as JSON on stdout.")
def build(addresses, communes, output, fmt, split, report_path, dropped, fields, quiet, as_json, **options):
    """Build station polygons from ADDRESSES (REU CSV/CSV.gz/Parquet or any point table).

    Every commune is partitioned exactly between its stations and checked; rows
    that cannot be used are counted by reason in the report. A table covering
    several départements is built one département at a time, in bounded memory.
    Every option is also a keyword of boundaries.build() in Python, with the same
    name and unit.
    """
    from .pipeline import run
    from .request import BuildRequest
    from .dropped import DROPPED_FORMATS
    from .result import OutputSpec, refuse_national_dropped
    from .write import check_output_path

    if output == "-" and as_json:
        raise click.UsageError("--json prints on stdout, which -o - already uses; write to a file")
    spec = OutputSpec(output, fmt, split, report_path or "auto", dropped, fields)
    request = BuildRequest.create(addresses, communes, progress=_progress(quiet), **options)
    if dropped and request.national:
        raise InputError(refuse_national_dropped())
    if request.national and output == "-" and not request.work_dir:
        raise click.UsageError("with -o -, say where the per-département parts go with --work-dir")
    spec.check_inputs([addresses, communes, request.results])
    check_output_path(output, [addresses, communes, request.results], folder=bool(split))
    with _split_folder(output, split):
        if spec.report:
            check_output_path(spec.report, [addresses, communes, output], "report", "--report", None)
        if spec.dropped:
            check_output_path(spec.dropped, [addresses, communes, output, request.results], "dropped addresses",
                              "--dropped", tuple(DROPPED_FORMATS))
        if request.national and not request.work_dir:
            request = replace(request, work_dir=f"{output.rstrip('/')}.parts")
        result = run(request)
        report_file = result.write(spec)
    _summary(result, output, report_file, quiet, as_json)


@contextlib.contextmanager
def _split_folder(path: str, split: str | None):
    """Make the ``--split`` folder (its report goes inside: it must exist to be checked); on failure,
    remove it again if this run made it and it is still empty."""
    made = bool(split) and not os.path.lexists(path)
    if split:
        Path(path).mkdir(exist_ok=True)
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                os.rmdir(path)
        raise


def _summary(result, output: str, report_file: str | None, quiet: bool, as_json: bool) -> None:
    """What ``build`` prints: the warnings and a summary on stderr, or the summary as JSON on stdout."""
    report = result.report
    if not quiet:
        for warning in report.warnings:
            _say(f"boundaries: warning: {warning}", err=True)
    if as_json:
        summary = report.summary()
        summary["output"] = output
        summary["report"] = report_file
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    elif not quiet:
        _say(report.text(), err=True)
        where = "stdout" if output == "-" else output
        _say(f"wrote {plural(len(result.stations), 'station')} to {where}"
                   + (f", report {report_file}" if report_file else ""), err=True)


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@communes_option(help_of("check.communes"), required=False)
@click.option("--id-field", default=None, help=help_of("check.id_field"))
@click.option("--station-commune-field", default=None, help=help_of("check.station_commune_field"))
@click.option("--commune-field", default=None, help=help_of("check.commune_field"))
@layer_options("layer", "communes_layer")
@click.option("--min-area-m2", "--min-area", "min_area_m2", type=click.FloatRange(min=0), default=1.0,
              show_default=True, help=help_of("check.min_area_m2"))
@click.option("--min-width-m", "--min-width", "min_width_m", type=click.FloatRange(min=0), default=0.05,
              show_default=True, help=help_of("check.min_width_m"))
@click.option("--outline-tolerance-m", "--outline-tolerance", "outline_tolerance_m", type=click.FloatRange(min=0),
              default=30.0, show_default=True, help=help_of("check.outline_tolerance_m"))
@click.option("--addresses", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="ADDRESSES",
              help=help_of("check.addresses"))
@column_options("of the --addresses")
@click.option("--build-report", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="REPORT",
              help=help_of("check.build_report"))
@click.option("--problems", "problems_path", type=str, default=None, metavar="PATH",
              help="Write a point per problem and warning (kind, severity, commune, stations, area_m2, width_m, "
                   "longitude, latitude) to this GeoPackage (.gpkg: layer problems, and problem_areas with the "
                   "polygons of gaps, spills and overlaps) or GeoJSON (.geojson) file, to load in QGIS.")
@click.option("--strict", is_flag=True, help="Count stations in several parts as problems too.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many problems to list (worst first); 0 lists all.")
@quiet_option("Print nothing; the exit code tells.")
@json_option("Print the full result as JSON on stdout.")
def check(stations, communes, id_field, station_commune_field, commune_field, layer, communes_layer, min_area_m2,
          min_width_m, outline_tolerance_m, addresses, id_column, commune_column, x_column, y_column, build_report,
          problems_path, strict, limit, quiet, as_json):
    """Validate any station layer STATIONS (ours or another tool's) against commune outlines.

    Finds null and invalid geometries, duplicate ids, stations of communes without
    outline, stations of --addresses (or --build-report) missing from the layer, overlaps, gaps, area
    outside the commune, and stations in several parts. Each problem is located (a
    point in lon/lat and its commune). Gaps and spills along the outline (an outline
    mismatch) and stations in several parts are warnings (the latter a problem with
    --strict). Exit 0 when no problem (warnings only), 1 when problems were found.
    """
    from .api import check as run_check

    communes, communes_layer = _outlines_or_own(stations, communes, communes_layer)
    if communes is None:
        raise click.UsageError("Missing option '--communes' (the commune outlines; only a GeoPackage of ours "
                               "holds its own)")
    if problems_path is not None:
        from .problems import PROBLEM_FORMATS
        from .write import check_output_path

        if problems_path == "-":
            raise InputError("--problems writes a file (.gpkg or .geojson), not standard output; give a path")
        check_output_path(problems_path, [stations, communes, addresses, build_report], "problems layer",
                          "--problems", tuple(PROBLEM_FORMATS))
    result = run_check(
        stations, communes, id_field=id_field, station_commune_field=station_commune_field,
        commune_field=commune_field, min_area_m2=min_area_m2, min_width_m=min_width_m, layer=layer,
        communes_layer=communes_layer, outline_tolerance_m=outline_tolerance_m,
        addresses=_address_source(addresses, None, None, id_column, commune_column, x_column, y_column),
        build_report=build_report,
    )
    if problems_path is not None:
        from .problems import write_problems

        write_problems(result.problems, problems_path)
    errors = result.errors(strict)
    if as_json:
        click.echo(json.dumps(result.to_dict(strict), ensure_ascii=False, indent=2))
    elif not quiet:
        _print_check(result, errors, limit)
    sys.exit(1 if errors else 0)


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", default=None, type=str, help=help_of("refresh.output"))
@click.option("--in-place", "in_place", is_flag=True, help=help_of("refresh.in_place"))
@communes_option(help_of("refresh.communes"), required=False)
@layer_options("layer", "communes_layer")
@click.option("--strict", is_flag=True, help="Count stations in several parts as problems too.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many problems of the check to list (worst first); 0 lists all.")
@quiet_option("Print nothing; the exit code tells.")
@json_option("Print the counts of changed fields and the check as JSON on stdout.")
def refresh(stations, output, in_place, communes, layer, communes_layer, strict, limit, quiet, as_json):
    """Recompute area_m2, n_parts and colour of a station file of ours after hand edits, and check it.

    Keeps the geometries as edited (only rounded to the output grid: an overlap or a
    gap stays, and the check reports it), the other fields and, in a GeoPackage, the
    other layers and the style as they are. A station keeps its colour unless it now
    clashes with a neighbour's. Writes OUTPUT (or STATIONS itself with --in-place,
    atomically). The check needs commune outlines: --communes, else the GeoPackage's
    communes layer. Exit 0 when written and clean, 1 when written and the check found
    problems (as boundaries check exits).
    """
    from .refresh import refresh as run_refresh

    result = run_refresh(stations, output, in_place=in_place, communes=communes, layer=layer,
                         communes_layer=communes_layer)
    errors = result.check.errors(strict) if result.check is not None else []
    if as_json:
        doc = {"output": result.output, "changed": result.changed,
               "check": result.check.to_dict(strict) if result.check is not None else None}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    elif not quiet:
        changed = ", ".join(f"{k} {v}" for k, v in result.changed.items())
        _say(f"wrote {plural(len(result.stations), 'station')} to {result.output} (changed: {changed})", err=True)
        if result.check is None:
            _say("not checked: no commune outlines (give --communes)")
        else:
            _print_check(result.check, errors, limit)
    sys.exit(1 if errors else 0)


def _print_check(result, errors: list, limit: int) -> None:
    """The text of ``boundaries check``: the problems worst first (``limit`` of them), then the totals."""
    t = result.totals
    failing = {id(p) for p in errors}
    shown = result.problems if limit == 0 else result.problems[:limit]
    for p in shown:
        _say(f"{'problem' if id(p) in failing else 'warning'}: {p.line()}")
    if len(result.problems) > len(shown):
        _say(f"… and {len(result.problems) - len(shown)} more (--limit 0 lists all, --json gives all)")
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in t.items()
                       if k not in ("stations", "communes") and not k.endswith("_m2") and v)
    n_warnings = len(result.problems) - len(errors)
    verdict = "clean" if not errors else f"{len(errors):,} problem{'s' * (len(errors) != 1)}"
    verdict += f", {n_warnings:,} warning{'s' * (n_warnings != 1)}" if n_warnings else ""
    areas = ", ".join(f"{k} {t[f'{k}_m2']:,.1f} m²" + (f" ({t[f'outline_{k}_m2']:,.1f} along the outline)"
                                                        if t.get(f"outline_{k}_m2") else "")
                      for k in ("overlap", "gap", "spill"))
    _say(f"{plural(t['stations'], 'station')} in {plural(t['communes'], 'commune')}: {verdict}"
         + (f" ({counts}; {areas})" if counts else ""))


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("--reference", type=click.Path(path_type=str), default=None, help=help_of("evaluate.reference"))
@click.option("--reference-field", default=None, help=help_of("evaluate.reference_field"))
@click.option("--holdout", "holdout_path", type=click.Path(path_type=str), default=None, metavar="TEST_ADDRESSES",
              help=help_of("evaluate.holdout"))
@click.option("--id-field", default=None, help=help_of("evaluate.id_field"))
@click.option("--station-commune-field", default=None, help=help_of("evaluate.station_commune_field"))
@click.option("--reference-commune-field", default=None, help=help_of("evaluate.reference_commune_field"))
@layer_options("layer", "reference_layer", "addresses_layer")
@column_options("of the test addresses")
@click.option("--crs", default=None, help=help_of("evaluate.crs"))
@click.option("--per-station", "per_station", type=str, default=None, metavar="PATH",
              help="Write the per-station scores to this CSV file.")
@quiet_option("Print nothing on stderr.")
@json_option("Print the scores as one flat JSON object on stdout.")
def evaluate(stations, reference, reference_field, holdout_path, id_field, station_commune_field,
             reference_commune_field, layer, reference_layer, addresses_layer,
             id_column, commune_column, x_column, y_column, crs, per_station, quiet, as_json):
    """Score STATIONS against official polygons (--reference) or held-out addresses (--holdout).

    Station ids are matched across the REU form (94068_7) and the results form (94068_0007).
    """
    from .api import evaluate as run_evaluate
    from .write import atomic_path, check_output_path, spreadsheet_safe

    if (reference is None) == (holdout_path is None):
        raise click.UsageError("give exactly one of --reference or --holdout")
    if per_station:
        check_output_path(per_station, [stations, reference or "", holdout_path or ""], "per-station file",
                          "--per-station", None)
    scores = run_evaluate(
        stations, reference=reference, holdout=holdout_path, id_field=id_field, reference_field=reference_field,
        id_column=id_column, commune_column=commune_column, x_column=x_column, y_column=y_column, crs=crs,
        layer=layer, reference_layer=reference_layer, addresses_layer=addresses_layer,
        station_commune_field=station_commune_field, reference_commune_field=reference_commune_field,
    )
    if per_station:
        with atomic_path(per_station, suffix=".csv") as tmp:
            spreadsheet_safe(scores.per_station).to_csv(tmp, index=False)
    s = scores.summary
    if as_json:
        click.echo(json.dumps(s, ensure_ascii=False))
    elif not quiet:
        if s["mode"] == "reference":
            _say(
                f"{s['stations_reference']:,} reference stations ({s['stations_missing']:,} missing, "
                f"{s['stations_extra']:,} extra): IoU mean {s['iou_mean']:.3f}, median {s['iou_median']:.3f}, "
                f"worst {s['iou_min']:.3f}; {s['area_right']:.2%} of the reference area given to the right station"
            )
        else:
            _say(
                f"{s['test_points']:,} test addresses: {s['own_station']:.2%} inside their own station, "
                f"{s['uncovered']:.2%} in no station"
            )


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=str, help="The PNG file to write.")
@click.option("--commune", default=None, metavar="CODE",
              help="The commune to draw (INSEE code; 75056 draws Paris's arrondissements); default: every station.")
@communes_option("Commune outlines, drawn thick (default: a GeoPackage's own communes layer; without any, the "
                 "stations' union is drawn dashed).", required=False)
@layer_options("layer", "communes_layer")
@click.option("--addresses", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="An address table whose points are drawn over the stations.")
@layer_options("addresses_layer")
@column_options("of the --addresses")
@click.option("--highlight", default=None, metavar="ID", help="Outline this station (id_bv or code_bv).")
@click.option("--size", "size_in", type=click.FloatRange(min=1, max=40), default=8.0, show_default=True,
              help="Picture size in inches.")
@click.option("--dpi", type=click.IntRange(min=30, max=600), default=120, show_default=True, help="Resolution.")
@quiet_option()
def preview(stations, output, commune, communes, layer, communes_layer, addresses, addresses_layer, id_column,
            commune_column, x_column, y_column, highlight, size_in, dpi, quiet):
    """Draw a PNG map of STATIONS: neighbours in different colours, station numbers, commune outline."""
    from .preview import draw_map, prepare_map
    from .write import check_output_path

    check_output_path(output, [stations, communes, addresses], "picture", "-o", (".png",))
    communes, communes_layer = _outlines_or_own(stations, communes, communes_layer)
    addresses = _address_source(addresses, addresses_layer, None, id_column, commune_column, x_column, y_column)
    # render_map's two steps, to say when the outlines matched nothing
    data = prepare_map(stations, commune, addresses=addresses, outline=communes, layer=layer,
                       communes_layer=communes_layer, addresses_layer=addresses_layer)
    if data.note and not quiet:
        _say(f"boundaries: warning: {data.note}", err=True)
    draw_map(data, output, highlight=highlight, size_in=(size_in, size_in), dpi=dpi)
    if not quiet:
        _say(f"wrote {output}", err=True)


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=str, help="The HTML page to write (self-contained).")
@click.option("--build-report", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="The build's report (default: STATIONS with .report.json, when it exists).")
@communes_option("Commune outlines: drawn in the pictures, and the layer is checked against them (default: a "
                 "GeoPackage's own communes layer).", required=False)
@layer_options("layer", "communes_layer")
@click.option("--addresses", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="An address table whose points are drawn in the pictures.")
@layer_options("addresses_layer")
@column_options("of the --addresses")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="Flag stations whose confidence is below this.")
@click.option("--max-parts", type=click.IntRange(min=1), default=1, show_default=True,
              help="Flag stations in more parts than this.")
@click.option("--max-dropped-share", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Flag stations that lost a larger share of their address rows.")
@click.option("--max-pictures", type=click.IntRange(min=0), default=50, show_default=True,
              help="Pictures for the worst this many stations; 0 for none.")
@quiet_option()
def report(stations, output, build_report, communes, layer, communes_layer, addresses, addresses_layer, id_column,
           commune_column, x_column, y_column, min_confidence, max_parts, max_dropped_share, max_pictures, quiet):
    """Write one HTML page of the stations of STATIONS that need a human look, worst first, with pictures."""
    from .review import review_stations, write_review_html
    from .write import check_output_path, default_report_path

    check_output_path(output, [stations, communes, addresses, build_report], "page", "-o", (".html", ".htm"))
    if build_report is None:
        guess = Path(default_report_path(stations))
        build_report = str(guess) if guess.is_file() else None
    check = None
    communes, communes_layer = _outlines_or_own(stations, communes, communes_layer)
    if communes:
        from .checks import check_stations

        check = check_stations(stations, communes, layer=layer, communes_layer=communes_layer)
        if check.no_outline_note() and not quiet:
            _say(f"boundaries: warning: {check.no_outline_note()}", err=True)
    flagged = review_stations(stations, build_report, check, min_confidence=min_confidence, max_parts=max_parts,
                              max_dropped_share=max_dropped_share, layer=layer)
    addresses = _address_source(addresses, addresses_layer, None, id_column, commune_column, x_column, y_column)
    write_review_html(stations, output, report=build_report, check=check, outline=communes, addresses=addresses,
                      review=flagged, max_pictures=max_pictures, layer=layer, communes_layer=communes_layer,
                      addresses_layer=addresses_layer)
    if not quiet:
        _say(f"{plural(len(flagged), 'station')} to review; wrote {output}", err=True)


def _address_source(path, layer, crs, id_column, commune_column, x_column, y_column):
    """``--addresses`` as the library takes it: the path, or the table read with the columns the flags name.

    Without column flags the command reads the file itself (the REU names or their
    aliases); with them, it is read here once, so any command takes a table laid out
    as the user has it (an ``AddressTable`` is accepted wherever a path is).
    """
    if path is None or not any((id_column, commune_column, x_column, y_column)):
        return path
    from .read import AddressColumns, read_addresses

    return read_addresses(path, AddressColumns(station=id_column, commune=commune_column, x=x_column, y=y_column),
                          crs, addresses_layer=layer)


def _outlines_or_own(stations: str, communes, communes_layer):
    """``--communes``, else the ``communes`` layer a GeoPackage of ours holds beside its stations."""
    from .read import outlines_or_own

    return outlines_or_own(stations, communes or None, communes_layer)


def _crosswalk_defaults() -> tuple[float, float]:
    from .crosswalk import DEFAULT_MIN_SHARE, DEFAULT_THRESHOLD

    return DEFAULT_THRESHOLD, DEFAULT_MIN_SHARE


@main.command(cls=_Command)
@click.argument("old", type=click.Path(dir_okay=False, path_type=str))
@click.argument("new", type=click.Path(dir_okay=False, path_type=str))
@click.option("--addresses", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="ADDRESSES",
              help=help_of("crosswalk.addresses"))
@click.option("-o", "--output", required=True, type=str,
              help="The crosswalk to write (.csv): one row per (old, new) pair of stations that overlap.")
@click.option("--old-id", default=None, help=help_of("crosswalk.old_id"))
@click.option("--new-id", default=None, help=help_of("crosswalk.new_id"))
@click.option("--old-layer", default=None, metavar="NAME", help=help_of("crosswalk.old_layer"))
@click.option("--new-layer", default=None, metavar="NAME", help=help_of("crosswalk.new_layer"))
@layer_options("addresses_layer")
@column_options("of the addresses")
@click.option("--crs", default=None, help=help_of("crosswalk.crs"))
@click.option("--threshold", type=float, default=_crosswalk_defaults()[0], show_default=True, help=help_of("crosswalk.threshold"))
@click.option("--min-share", type=float, default=_crosswalk_defaults()[1], show_default=True, help=help_of("crosswalk.min_share"))
@click.option("--results", type=click.Path(dir_okay=False, path_type=str), default=None,
              help=help_of("crosswalk.results"))
@click.option("--results-id", default=None, help=help_of("crosswalk.results_id"))
@click.option("--carried", type=str, default=None, metavar="FILE",
              help="Write the results carried onto the new stations to this CSV file (with --results).")
@click.option("--layer", "layer_path", type=str, default=None, metavar="FILE",
              help="Also write the new stations with their status and main old station to this GeoPackage "
                   "(.gpkg, layer crosswalk), to load in QGIS.")
@click.option("--report", "report_path", type=str, default=None,
              help="Report file (JSON). Default: OUTPUT with .report.json.")
@quiet_option("Print nothing on stderr.")
@json_option("Print the report as JSON on stdout.")
def crosswalk(old, new, addresses, output, old_id, new_id, old_layer, new_layer, addresses_layer, id_column,
              commune_column, x_column, y_column, crs, threshold, min_share, results, results_id, carried, layer_path,
              report_path, quiet, as_json):
    """Where the voters of each OLD station vote in the NEW map: shares both ways, and what changed.

    One row per (old, new) pair of stations that overlap, with the share of the old
    station's voters now in the new one and of the new one's coming from the old one,
    weighted by the --addresses each piece holds (by area without them, or where a
    station holds none). Each new station is unchanged, split, merged, redrawn or new,
    each old one gone when no new station overlaps it (counted in the report). With
    --results and --carried, old results are carried onto the new stations.
    """
    from .crosswalk import crosswalk as run_crosswalk, report_path as default_report, write_crosswalk
    from .read import AddressColumns

    if (results is None) != (carried is None):
        raise InputError("--results and --carried go together: the results of OLD, and where to write them "
                         "carried onto NEW; give both")
    report_file = report_path or default_report(output)
    _check_crosswalk_outputs([old, new, addresses, results],
                             [(output, "crosswalk", "-o", (".csv",)), (report_file, "report", "--report", None),
                              (carried, "carried results", "--carried", (".csv",)),
                              (layer_path, "layer", "--layer", (".gpkg",))])
    result = run_crosswalk(old, new, addresses, old_id=old_id, new_id=new_id, old_layer=old_layer,
                           new_layer=new_layer, addresses_layer=addresses_layer,
                           columns=AddressColumns(station=id_column, commune=commune_column, x=x_column, y=y_column),
                           crs=crs, threshold=threshold, min_share=min_share, results=results, results_id=results_id)
    write_crosswalk(result, output, report_file, carried, layer_path)
    if as_json:
        click.echo(json.dumps(result.summary, ensure_ascii=False, indent=2))
    elif not quiet:
        s = result.summary
        counts = ", ".join(f"{k} {v}" for k, v in s["new_status"].items())
        _say(f"{s['old']['stations']:,} old and {plural(s['new']['stations'], 'new station')}, "
             f"{plural(s['pairs'], 'pair')} "
             f"weighted by {s['weighting']}; new: {counts}; old gone: {s['old_status']['gone']}", err=True)
        if s.get("results") and s["results"]["not_carried"]:
            r, left = s["results"], s["results"]["not_carried"]
            more = f" and {len(left) - 5:,} more" if len(left) > 5 else ""
            _say(f"boundaries: warning: {r['carried']:,} of {plural(r['stations'], 'results row')} carried; "
                 f"{len(left):,} not (no old station, or one no new station overlaps): {', '.join(left[:5])}{more}",
                 err=True)
        _say(f"wrote {output}, report {report_file}", err=True)


def _check_crosswalk_outputs(inputs: list, outputs: list) -> None:
    """Each output of ``crosswalk`` writable, none an input nor another output: checked before any work."""
    from .write import check_output_path

    named = [o for o in outputs if o[0] is not None]
    for path, what, flag_name, suffixes in named:
        if path == "-":
            raise InputError(f"{flag_name} writes a file, not standard output; give a path")
        check_output_path(path, inputs, what, flag_name, suffixes)
    seen = {}
    for path, what, flag_name, _ in named:
        place = os.path.abspath(path)
        if place in seen:
            raise InputError(f"{flag_name} and {seen[place]} name the same file {path}; give each its own path")
        seen[place] = flag_name


def _names(text: str | None) -> list | None:
    """A comma-separated list of column names (None when not given)."""
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("--source", required=True, type=click.Path(dir_okay=False, path_type=str), metavar="AREAS",
              help=help_of("profile.source"))
@click.option("--data", default=None, type=click.Path(dir_okay=False, path_type=str), metavar="CSV",
              help=help_of("profile.data"))
@click.option("--key", default=None, metavar="COLUMN", help=help_of("profile.key"))
@click.option("--source-key", default=None, metavar="FIELD", help=help_of("profile.source_key"))
@click.option("--addresses", default=None, type=click.Path(dir_okay=False, path_type=str), metavar="ADDRESSES",
              help=help_of("profile.addresses"))
@click.option("--weights", type=click.Choice(["addresses", "area"]), default="addresses", show_default=True,
              help=help_of("profile.weights"))
@click.option("--columns", default=None, metavar="A,B,…", help=help_of("profile.columns"))
@click.option("--extensive", default=None, metavar="A,B,…", help=help_of("profile.extensive"))
@click.option("--intensive", multiple=True, metavar="COLUMN:WEIGHT", help=help_of("profile.intensive") + " Repeatable.")
@layer_options("layer")
@click.option("--source-layer", default=None, metavar="NAME", help="The layer of AREAS to read, from a file of several.")
@layer_options("addresses_layer")
@column_options("of the --addresses")
@click.option("--crs", default=None, help=help_of("profile.crs"))
@click.option("-o", "--output", required=True, type=str,
              help="A .csv table (id_bv, code_bv, area_fallback_share, the columns), or the station layer with the "
                   "columns added in any station format (.gpkg, .geojson, .fgb, .parquet…).")
@quiet_option("No summary on stderr.")
@json_option("Print the summary (columns, totals, area-fallback share) as JSON on stdout.")
def profile(stations, source, data, key, source_key, addresses, weights, columns, extensive, intensive, layer,
            source_layer, addresses_layer, id_column, commune_column, x_column, y_column, crs, output, quiet,
            as_json):
    """Carry counts published for other areas (INSEE IRIS, grid cells) onto the stations of STATIONS.

    An area carries the share of its count its part inside the stations holds (by
    area), shared among them in proportion to the voters' addresses each holds in it
    (--addresses; by area where it holds none, or everywhere with --weights area):
    the stations' sum is the areas' sum over the part they cover.
    Counts (every numeric column but the key and INSEE's codes, unless --extensive
    lists them) are summed; rates and means need --intensive COLUMN:WEIGHT.
    """
    from .profile import TABLE_SUFFIXES, profile as run_profile, write_profile
    from .write import SUFFIXES, check_output_path

    if output == "-":
        raise InputError("profile writes a file (.csv, or a station format such as .gpkg); give a path to -o")
    check_output_path(output, [stations, source, data, addresses], "profile", "-o",
                      tuple(TABLE_SUFFIXES) + tuple(sorted(SUFFIXES)))
    addresses = _address_source(addresses, addresses_layer, crs, id_column, commune_column, x_column, y_column)
    result = run_profile(stations, source, data, key, addresses, columns=_names(columns),
                         extensive=_names(extensive), intensive=list(intensive) or None, weights=weights,
                         source_key=source_key, layer=layer, source_layer=source_layer,
                         addresses_layer=addresses_layer, crs=crs)
    write_profile(result, output)
    summary = {**result.summary(flag), "output": output}
    if not quiet:
        for warning in summary["warnings"]:
            _say(f"boundaries: warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    elif not quiet:
        _say(f"wrote {plural(len(result.table), 'station')} to {output}: {plural(len(result.extensive), 'count')}, "
             f"{len(result.intensive)} averaged; {result.fallback_share:.1%} carried by area "
             f"({plural(result.sources_without_address, 'source area')} without address)", err=True)
        if result.extensive:
            c, t = result.extensive[0], result.totals[result.extensive[0]]
            _say(f"{c}: {t['stations']:,.0f} on the stations, {t['sources_covered']:,.0f} in the source areas' part "
                 f"inside them ({t['sources']:,.0f} in the whole areas overlapping them)", err=True)


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=str, metavar="FOLDER",
              help="The site folder to write (new, empty, or a site written before, replaced whole).")
@communes_option("Commune outlines, drawn on top and searched by name (default: the stations' union by commune).",
                 required=False)
@click.option("--commune-field", default=None, help="The outlines' commune-code field (detected).")
@click.option("--results", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="A results table (CSV or Parquet) joined onto the stations by station id, as build --results.")
@click.option("--results-id", default=None, help="The results' station-id column (detected).")
@click.option("--field", default=None, metavar="NAME",
              help="The field the stations are filled by (of STATIONS or --results); default: the first numeric "
                   "results column, else colour, n_addresses or confidence. Few values or text: one colour each; "
                   "else 5 quantiles.")
@click.option("--id-field", default=None, help="The stations' id field (detected).")
@click.option("--station-commune-field", default=None, help="The stations' commune field (detected).")
@layer_options("layer", "communes_layer")
@click.option("--min-zoom", type=click.IntRange(0, 15), default=4, show_default=True,
              help="Lowest zoom level of the tiles.")
@click.option("--max-zoom", type=click.IntRange(0, 15), default=14, show_default=True,
              help="Highest zoom level of the tiles (the most detailed; the map enlarges them beyond).")
@quiet_option("No summary on stderr.")
def web(stations, output, communes, commune_field, results, results_id, field, id_field, station_commune_field, layer,
        communes_layer, min_zoom, max_zoom, quiet):
    """Write a static web map of STATIONS: vector tiles (PMTiles) and one page, to open from any static host.

    The stations are filled by --field with a legend; hovering shows a station's id,
    commune and values; a search box finds a commune by name (accents optional) and
    zooms to it; commune outlines are drawn on top. MapLibre GL JS and pmtiles are
    copied into the folder (make web-assets installs them): no CDN, no tile server.
    Serve the folder, e.g. python -m http.server -d FOLDER, and open its address.
    """
    from .web import write_site

    site = write_site(stations, output, communes, results, field, results_id=results_id, layer=layer,
                      communes_layer=communes_layer, commune_field=commune_field, id_field=id_field,
                      station_commune_field=station_commune_field, min_zoom=min_zoom, max_zoom=max_zoom)
    if not quiet:
        from .report import results_line
        from .web import COLOUR_NOTE

        if site.results is not None:
            _say(results_line(site.results), err=True)
        by = f"by {site.classes.field} ({site.classes.kind}, {plural(len(site.classes.labels), 'class')})" \
            if site.classes.field is not None else "in one colour"
        by = f"by colour ({COLOUR_NOTE})" if field is None and site.classes.field == "colour" else by
        _say(f"wrote {site.folder}/: {plural(site.stations, 'station')} {by}, {plural(site.communes, 'commune')}; "
             f"serve it with: python -m http.server -d {site.folder}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
