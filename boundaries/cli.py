"""The ``boundaries`` command: a thin shell over the Python API.

Exit codes: 0 success, 1 problems found by a check, 2 bad input or usage
(one line on stderr, nothing written), 3 internal error (a broken partition).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click
from pathlib import Path

from .errors import EXIT_INTERNAL, BoundariesError


def _fail(message: str, code: int) -> None:
    click.echo(f"boundaries: error: {message}", err=True)
    sys.exit(code)


class _Command(click.Command):
    """Turn the package's errors into one line on stderr and their exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BoundariesError as exc:
            _fail(str(exc), exc.exit_code)
        except MemoryError:
            _fail("out of memory; select fewer communes with --departement or --commune", EXIT_INTERNAL)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was written", 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: one line, the traceback only on request
            if os.environ.get("BOUNDARIES_DEBUG"):
                raise
            _fail(
                f"internal error: {type(exc).__name__}: {exc} (nothing was written; set BOUNDARIES_DEBUG=1 "
                "for the traceback and please report it)",
                EXIT_INTERNAL,
            )


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


def _progress(quiet: bool, label: str = "communes"):
    """A click progress bar (over communes, or as ``label`` says), only on a terminal and without --quiet."""
    if quiet or not sys.stderr.isatty():
        return None

    def bar(total, label=label):
        return click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True, show_pos=True)

    return bar


def _help(name: str) -> str:
    """An option's help: its one description in the API's numpydoc (boundaries.api.option_help)."""
    import re

    from .api import option_help

    docs = option_help()
    # the docstrings name keywords (work_dir); the command has flags (--work-dir)
    flags = {k: "--all" if k == "all_departements" else "--" + k.replace("_", "-") for k in docs if "_" in k}
    text = re.sub(r" \(boundaries\.[\w.]+\)", "", docs[name])  # "(boundaries.smooth)": for the API docs
    return re.sub(r"\b(" + "|".join(sorted(flags, key=len, reverse=True)) + r")\b",
                  lambda m: flags[m.group(1)], text)


def _tolerance_options(command):
    """One option per field of Parameters: flag, default, range and help all taken from it."""
    from dataclasses import fields

    from .params import Parameters

    for f in reversed(fields(Parameters)):
        meta = f.metadata
        names = ["--" + f.name.replace("_", "-")] + ([meta["alias"]] if "alias" in meta else []) + [f.name]
        low, high = meta.get("min", 0), meta.get("max")
        kind = (click.IntRange(min=low, max=high) if f.type == "int" else
                click.FloatRange(min=low, max=high, min_open=bool(meta.get("positive")),
                                 max_open=bool(meta.get("max_open"))))
        command = click.option(*names, type=kind, default=f.default, show_default=True, help=_help(f.name))(command)
    return command


@main.command(cls=_Command)
@click.argument("addresses", type=click.Path(path_type=str))
@click.option("--communes", "outlines", required=True, type=click.Path(path_type=str), help=_help("communes"))
@click.option("-o", "--output", required=True, type=str,
              help="Output file, its format from the extension: .geojson (RFC 7946), .geojsonl/.geojsons "
                   "(one feature per line), .gpkg (stations + communes layers, QGIS style), .fgb, .parquet "
                   "(GeoParquet); - for standard output; a folder with --split.")
@click.option("--format", "fmt", type=click.Choice(["geojson", "geojsonseq", "gpkg", "fgb", "parquet"]),
              default=None, help="Output format, when the extension does not say it (needed for -o - as geojsonseq).")
@click.option("--split", type=click.Choice(["commune", "departement"]), default=None,
              help="Write one file per commune or département into the folder OUTPUT, plus index.csv.")
@click.option("--report", "report_path", type=str, default=None,
              help="Report file (JSON). Default: OUTPUT with .report.json (none with -o -).")
@click.option("--method", type=click.Choice(["voronoi", "hull", "auto"]), default="voronoi", show_default=True,
              help=_help("method"))
@click.option("--departement", "departement", multiple=True, metavar="CODE",
              help=_help("departement") + " Repeatable.")
@click.option("--all", "all_departements", is_flag=True, help=_help("all_departements"))
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help=_help("work_dir").replace("a temporary folder, removed afterwards", "OUTPUT.parts"))
@click.option("--commune", "commune", multiple=True, metavar="CODE", help=_help("commune") + " Repeatable.")
@click.option("--simplify", default=None, metavar="METRES|LEVEL", help=_help("simplify"))
@click.option("--results", type=click.Path(dir_okay=False, path_type=str), default=None, help=_help("results"))
@click.option("--results-id", default=None, help=_help("results_id"))
@click.option("--id-column", default=None, help=_help("id_column"))
@click.option("--commune-column", default=None, help=_help("commune_column"))
@click.option("--x-column", default=None, help=_help("x_column"))
@click.option("--y-column", default=None, help=_help("y_column"))
@click.option("--crs", default=None, help=_help("crs"))
@click.option("--commune-field", default=None, help=_help("commune_field"))
@_tolerance_options
@click.option("--holdout", type=click.FloatRange(0, 1, max_open=True), default=0.0, metavar="FRACTION",
              help=_help("holdout"))
@click.option("--seed", type=int, default=0, show_default=True, help=_help("seed"))
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True, help=_help("jobs"))
@click.option("--scheduler", default=None, metavar="ADDRESS", help=_help("scheduler"))
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
def build(addresses, outlines, output, fmt, split, report_path, departement, all_departements, commune,
          quiet, as_json, **options):
    """Build station polygons from ADDRESSES (REU CSV/CSV.gz/Parquet or any point table).

    Every commune is partitioned exactly between its stations and checked; rows
    that cannot be used are counted by reason in the report. Every option is also
    a keyword of boundaries.build() in Python, with the same name and unit.
    """
    from .api import build as run_build
    from .simplify import tolerance_m
    from .write import check_output_path, default_report_path, output_format

    if output == "-" and as_json:
        raise click.UsageError("--json prints on stdout, which -o - already uses; write to a file")
    if split and output == "-":
        raise click.UsageError("--split writes a folder; give one with -o")
    national = all_departements or len(departement) > 1
    if national and (commune or options["holdout"]):
        raise click.UsageError("--all and several --departement build whole départements: "
                               "without --commune and --holdout")
    if national and output == "-" and not options["work_dir"]:
        raise click.UsageError("with -o -, say where the per-département parts go with --work-dir")
    tolerance_m(options["simplify"])  # a bad level fails before the build
    fmt = fmt or ("geojson" if split else output_format(output))
    output_format(output if not split else "x." + fmt, fmt)
    report_path = report_path or (None if output == "-" else default_report_path(output))
    check_output_path(output, [addresses, outlines, options["results"]], folder=bool(split))
    if split:
        Path(output).mkdir(exist_ok=True)  # its report goes inside: the folder must exist to check it
    if report_path:
        check_output_path(report_path, [addresses, outlines, output], "report", "--report", None)
    if national and not options["work_dir"]:
        options["work_dir"] = f"{output.rstrip('/')}.parts"
    result = run_build(addresses, outlines, departement=list(departement) or None, commune=list(commune) or None,
                       all_departements=all_departements,
                       progress=_progress(quiet), **options)
    report = result.report
    report_path = result.write(output, fmt, split=split, report=report_path)
    if not quiet:
        for warning in report.warnings:
            click.echo(f"boundaries: warning: {warning}", err=True)
    if as_json:
        summary = report.summary()
        summary["output"] = output
        summary["report"] = report_path
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    elif not quiet:
        click.echo(report.text(), err=True)
        where = "stdout" if output == "-" else output
        click.echo(f"wrote {len(result.stations):,} stations to {where}"
                   + (f", report {report_path}" if report_path else ""), err=True)


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("--communes", "outlines", required=True, type=click.Path(path_type=str),
              help=_help("check.communes"))
@click.option("--id-field", default=None, help=_help("check.id_field"))
@click.option("--station-commune-field", default=None, help=_help("check.station_commune_field"))
@click.option("--commune-field", default=None, help=_help("check.commune_field"))
@click.option("--min-area-m2", "--min-area", "min_area_m2", type=click.FloatRange(min=0), default=1.0,
              show_default=True, help=_help("check.min_area_m2"))
@click.option("--min-width-m", "--min-width", "min_width_m", type=click.FloatRange(min=0), default=0.05,
              show_default=True, help=_help("check.min_width_m"))
@click.option("--strict", is_flag=True, help="Count stations in several parts as problems too.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many problems to list (worst first); 0 lists all.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; the exit code tells.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON on stdout.")
def check(stations, outlines, id_field, station_commune_field, commune_field, min_area_m2, min_width_m,
          strict, limit, quiet, as_json):
    """Validate any station layer STATIONS (ours or another tool's) against commune outlines.

    Finds null and invalid geometries, duplicate ids, stations of communes without
    outline, overlaps, gaps, area outside the commune, and stations in several parts
    (a warning unless --strict). Exit 0 when clean, 1 when problems were found.
    """
    from .api import check as run_check

    result = run_check(
        stations, outlines, id_field=id_field, station_commune_field=station_commune_field,
        commune_field=commune_field, min_area_m2=min_area_m2, min_width_m=min_width_m,
    )
    errors = result.errors(strict)
    if as_json:
        doc = result.to_dict()
        doc["ok"] = not errors
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    elif not quiet:
        t = result.totals
        shown = result.problems if limit == 0 else result.problems[:limit]
        for p in shown:
            level = "warning" if p not in errors else "problem"
            click.echo(f"{level}: {p.line()}")
        if len(result.problems) > len(shown):
            click.echo(f"… and {len(result.problems) - len(shown)} more (--limit 0 lists all, --json gives all)")
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in t.items()
                           if k not in ("stations", "communes") and not k.endswith("_m2") and v)
        verdict = "clean" if not errors else f"{len(errors)} problem(s)"
        click.echo(f"{t['stations']:,} stations in {t['communes']:,} communes: {verdict}"
                   + (f" ({counts}; overlap {t['overlap_m2']:,.1f} m², gap {t['gap_m2']:,.1f} m², "
                      f"spill {t['spill_m2']:,.1f} m²)" if counts else ""))
    sys.exit(1 if errors else 0)


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("--reference", type=click.Path(path_type=str), default=None, help=_help("evaluate.reference"))
@click.option("--reference-field", default=None, help=_help("evaluate.reference_field"))
@click.option("--holdout", "holdout_path", type=click.Path(path_type=str), default=None, metavar="TEST_ADDRESSES",
              help=_help("evaluate.holdout"))
@click.option("--id-field", default=None, help=_help("evaluate.id_field"))
@click.option("--id-column", default=None, help=_help("id_column") + " (test addresses)")
@click.option("--commune-column", default=None, help=_help("commune_column") + " (test addresses)")
@click.option("--x-column", default=None, help=_help("x_column") + " (test addresses)")
@click.option("--y-column", default=None, help=_help("y_column") + " (test addresses)")
@click.option("--crs", default=None, help=_help("evaluate.crs"))
@click.option("--per-station", "per_station", type=str, default=None, metavar="PATH",
              help="Write the per-station scores to this CSV file.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one flat JSON object on stdout.")
def evaluate(stations, reference, reference_field, holdout_path, id_field, id_column, commune_column, x_column,
             y_column, crs, per_station, quiet, as_json):
    """Score STATIONS against official polygons (--reference) or held-out addresses (--holdout).

    Station ids are matched across the REU form (94068_7) and the results form (94068_0007).
    """
    from .api import evaluate as run_evaluate
    from .write import atomic_path, check_output_path

    if (reference is None) == (holdout_path is None):
        raise click.UsageError("give exactly one of --reference or --holdout")
    if per_station:
        check_output_path(per_station, [stations, reference or "", holdout_path or ""], "per-station file",
                          "--per-station", None)
    scores = run_evaluate(
        stations, reference=reference, holdout=holdout_path, id_field=id_field, reference_field=reference_field,
        id_column=id_column, commune_column=commune_column, x_column=x_column, y_column=y_column, crs=crs,
    )
    if per_station:
        with atomic_path(per_station, suffix=".csv") as tmp:
            scores.per_station.to_csv(tmp, index=False)
    s = scores.summary
    if as_json:
        click.echo(json.dumps(s, ensure_ascii=False))
    elif not quiet:
        if s["mode"] == "reference":
            click.echo(
                f"{s['stations_reference']:,} reference stations ({s['stations_missing']:,} missing, "
                f"{s['stations_extra']:,} extra): IoU mean {s['iou_mean']:.3f}, median {s['iou_median']:.3f}, "
                f"worst {s['iou_min']:.3f}; {s['area_right']:.2%} of the reference area given to the right station"
            )
        else:
            click.echo(
                f"{s['test_points']:,} test addresses: {s['own_station']:.2%} inside their own station, "
                f"{s['uncovered']:.2%} in no station"
            )


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=str, help="The PNG file to write.")
@click.option("--commune", default=None, metavar="CODE",
              help="The commune to draw (INSEE code; 75056 draws Paris's arrondissements); default: every station.")
@click.option("--communes", "outlines", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Commune outlines, drawn thick (without them the stations' union is drawn dashed).")
@click.option("--addresses", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="An address table whose points are drawn over the stations.")
@click.option("--highlight", default=None, metavar="ID", help="Outline this station (id_bv or code_bv).")
@click.option("--size", "size_in", type=click.FloatRange(min=1, max=40), default=8.0, show_default=True,
              help="Picture size in inches.")
@click.option("--dpi", type=click.IntRange(min=30, max=600), default=120, show_default=True, help="Resolution.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing.")
def preview(stations, output, commune, outlines, addresses, highlight, size_in, dpi, quiet):
    """Draw a PNG map of STATIONS: neighbours in different colours, station numbers, commune outline."""
    from .preview import render_map
    from .write import check_output_path

    check_output_path(output, [stations, outlines, addresses], "picture", "-o", (".png",))
    render_map(stations, commune=commune, addresses=addresses, outline=outlines, path_or_buffer=output,
               highlight=highlight, size_in=(size_in, size_in), dpi=dpi)
    if not quiet:
        click.echo(f"wrote {output}", err=True)


@main.command(cls=_Command)
@click.argument("stations", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=str, help="The HTML page to write (self-contained).")
@click.option("--build-report", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="The build's report (default: STATIONS with .report.json, when it exists).")
@click.option("--communes", "outlines", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Commune outlines: drawn in the pictures, and the layer is checked against them.")
@click.option("--addresses", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="An address table whose points are drawn in the pictures.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="Flag stations whose confidence is below this.")
@click.option("--max-parts", type=click.IntRange(min=1), default=1, show_default=True,
              help="Flag stations in more parts than this.")
@click.option("--max-dropped-share", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Flag stations that lost a larger share of their address rows.")
@click.option("--max-pictures", type=click.IntRange(min=0), default=50, show_default=True,
              help="Pictures for the worst this many stations; 0 for none.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing.")
def report(stations, output, build_report, outlines, addresses, min_confidence, max_parts, max_dropped_share,
           max_pictures, quiet):
    """Write one HTML page of the stations of STATIONS that need a human look, worst first, with pictures."""
    from .review import review_stations, write_review_html
    from .write import check_output_path, default_report_path

    check_output_path(output, [stations, outlines, addresses, build_report], "page", "-o", (".html", ".htm"))
    if build_report is None:
        guess = Path(default_report_path(stations))
        build_report = str(guess) if guess.is_file() else None
    check = None
    if outlines:
        from .checks import check_stations

        check = check_stations(stations, outlines)
    flagged = review_stations(stations, build_report, check, min_confidence=min_confidence, max_parts=max_parts,
                              max_dropped_share=max_dropped_share)
    write_review_html(stations, output, report=build_report, check=check, outline=outlines, addresses=addresses,
                      review=flagged, max_pictures=max_pictures)
    if not quiet:
        click.echo(f"{len(flagged):,} stations to review; wrote {output}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
