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
    """A click progress bar (over communes), only on a terminal and without --quiet."""
    if quiet or not sys.stderr.isatty():
        return None

    def bar(total):
        return click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True, show_pos=True)

    return bar


@main.command(cls=_Command)
@click.argument("addresses", type=click.Path(path_type=str))
@click.option("--communes", "outlines", required=True, type=click.Path(path_type=str),
              help="Commune outlines: any vector file GDAL reads (GeoJSON, shapefile, GeoPackage).")
@click.option("-o", "--output", required=True, type=str,
              help="Output file, its format from the extension: .geojson (RFC 7946), .geojsonl/.geojsons "
                   "(one feature per line), .gpkg (stations + communes layers, QGIS style), .fgb, .parquet "
                   "(GeoParquet); - for standard output; a folder with --split.")
@click.option("--format", "fmt", type=click.Choice(["geojson", "geojsonseq", "gpkg", "fgb", "parquet"]),
              default=None, help="Output format, when the extension does not say it (needed for -o - as geojsonseq).")
@click.option("--split", type=click.Choice(["commune", "departement"]), default=None,
              help="Write one file per commune or département into the folder OUTPUT, plus index.csv.")
@click.option("--simplify", default=None, metavar="METRES|LEVEL",
              help="Simplify borders by this tolerance (m), or a level: fine (1 m), web (10 m, under two pixels "
                   "up to zoom 15), overview (50 m). "
                   "Neighbours keep one shared edge and each commune stays exactly partitioned (checked).")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="A results table (CSV or Parquet, one row per station) whose columns are copied onto the "
                   "stations, matched on codeBureauVote (94028_0012) or id_bv (94028_12).")
@click.option("--results-id", default=None, help="Station-id column of --results (detected).")
@click.option("--departement", "departement", multiple=True, metavar="CODE",
              help="Keep only this département (94, 2A, 974). Repeatable.")
@click.option("--all", "all_departements", is_flag=True,
              help="Build every département of the table, one at a time (see --work-dir).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="With --all or several --departement: folder of the per-département parts, reused by a rerun "
                   "when their inputs and options are unchanged (default: OUTPUT.parts).")
@click.option("--commune", "commune", multiple=True, metavar="CODE",
              help="Keep only this commune (INSEE code; 75056 selects Paris's arrondissements). Repeatable.")
@click.option("--method", type=click.Choice(["voronoi", "hull", "auto"]), default="voronoi", show_default=True,
              help="How station cells are drawn: voronoi cells of the addresses; hull — each station's "
                   "concave-hull core first, the rest of the commune by Voronoi; auto — per commune, the one "
                   "that places more of 10 % held-out addresses in their own station.")
@click.option("--hull-ratio", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="--method hull: concave-hull ratio, 0 (most concave) to 1 (convex hull).")
@click.option("--hull-buffer", "hull_buffer_m", type=click.FloatRange(min=0), default=15.0, show_default=True,
              help="--method hull: width (m) added around each station's hull.")
@click.option("--auto-holdout", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="--method auto: share of a commune's address points held out to compare the methods.")
@click.option("--auto-min-test", type=click.IntRange(min=0), default=20, show_default=True,
              help="--method auto: with fewer held-out points than this, voronoi is kept.")
@click.option("--auto-margin", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="--method auto: how much better (a share) hull must score to be chosen.")
@click.option("--report", "report_path", type=str, default=None,
              help="Report file (JSON). Default: OUTPUT with .report.json (none with -o -).")
@click.option("--id-column", default=None, help="Station id column (default id_brut_bv_reu).")
@click.option("--commune-column", default=None, help="Commune code column (default code_commune_ref).")
@click.option("--x-column", default=None, help="Longitude/x column (default longitude).")
@click.option("--y-column", default=None, help="Latitude/y column (default latitude).")
@click.option("--crs", default=None, help="CRS of the coordinates (default EPSG:4326, or the layer's).")
@click.option("--commune-field", default=None,
              help="Commune code field of the outlines (detected among code, code_insee, INSEE_COM, insee, codgeo).")
@click.option("--outside-tolerance", "outside_tolerance_m", type=click.FloatRange(min=0), default=100.0,
              show_default=True, help="Drop addresses farther than this (metres) outside their commune.")
@click.option("--area-tolerance", "area_tolerance_m2", type=click.FloatRange(min=0), default=1.0,
              show_default=True, help="Largest overlap/gap/spill per commune (m²) the partition check accepts.")
@click.option("--imprecise-radius", "imprecise_radius_m", type=click.FloatRange(min=0), default=30.0,
              show_default=True, help="A street-centre or locality geocode whose nearest house-number point "
                                      "is another station's and closer than this (m) is not a seed; 0 turns it off.")
@click.option("--outlier-neighbours", type=click.IntRange(min=0), default=0, show_default=True,
              help="Robust outliers: a point none of whose N nearest points is of its own station, and far from "
                   "its station's centre, is not a seed; 0 (the default) turns it off.")
@click.option("--outlier-spread", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="How far (in robust spreads of its station) an alone point must be to be an outlier.")
@click.option("--share-offset", "share_offset_m", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="A station whose every address sits on coordinates won by bigger stations keeps a seed this "
                   "far (m) from its heaviest one, so it still gets land; 0 reports it without polygon.")
@click.option("--frontage-step", "frontage_step_m", type=click.FloatRange(min=0), default=20.0, show_default=True,
              help="Street-aware seeds: spacing (m) of points added between consecutive same-station addresses "
                   "of a street side (needs geo_adresse); 0 turns it off.")
@click.option("--frontage-max-gap", "frontage_max_gap_m", type=click.FloatRange(min=0), default=150.0,
              show_default=True, help="Consecutive addresses of a street side farther apart (m) are not joined.")
@click.option("--fragment-max-rows", type=click.IntRange(min=-1), default=0, show_default=True,
              help="Detached parts of a station holding at most this many address rows go to the neighbour "
                   "with the longest shared border; -1 turns it off.")
@click.option("--empty-land", "empty_land_m", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Land farther than this (m) from every address is empty (parks, fields, water) and goes whole "
                   "to the station sharing its longest border; 0 keeps the Voronoi split (the default: the bench "
                   "shows no gain).")
@click.option("--empty-land-max-area", "empty_land_max_m2", type=click.FloatRange(min=0), default=0.0,
              show_default=True, help="Empty pieces larger than this (m²) keep their Voronoi split; 0: no limit.")
@click.option("--smooth-window", "smooth_window_m", type=click.FloatRange(min=0), default=50.0, show_default=True,
              help="Borders between stations are replaced by their moving average over this length (m), "
                   "never moving an address to another station; 0 turns it off.")
@click.option("--holdout", type=click.FloatRange(0, 1, max_open=True), default=0.0, metavar="FRACTION",
              help="Keep this share of unique coordinates out of the build and report how many of those "
                   "addresses fall inside their own station (accuracy without any official map).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --holdout choice.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Build communes in this many processes, largest first (0: all cores). Same output for any value.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler (tcp://host:8786) to run the tasks on, or 'local' for a local cluster of --jobs "
                   "workers; needs `pip install 'boundaries[cluster]'`.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
def build(addresses, outlines, output, fmt, split, simplify, results_path, results_id, departement, all_departements,
          work_dir, commune, method, hull_ratio, hull_buffer_m,
          auto_holdout, auto_min_test, auto_margin, report_path,
          id_column,
          commune_column, x_column, y_column, crs, commune_field, outside_tolerance_m,
          area_tolerance_m2, imprecise_radius_m, outlier_neighbours, outlier_spread, share_offset_m,
          frontage_step_m, frontage_max_gap_m, fragment_max_rows, empty_land_m, empty_land_max_m2, smooth_window_m,
          holdout, seed, jobs, scheduler, quiet, as_json):
    """Build station polygons from ADDRESSES (REU CSV/CSV.gz/Parquet or any point table).

    Every commune is partitioned exactly between its stations and checked; rows
    that cannot be used are counted by reason in the report.
    """
    from .params import Parameters
    from .pipeline import build as run_build
    from .read import AddressColumns
    from .simplify import simplify_stations, tolerance_m
    from .write import check_output_path, output_format, write_json, write_split, write_stations

    if output == "-" and as_json:
        raise click.UsageError("--json prints on stdout, which -o - already uses; write to a file")
    if split and output == "-":
        raise click.UsageError("--split writes a folder; give one with -o")
    tolerance = tolerance_m(simplify)
    fmt = fmt or ("geojson" if split else output_format(output))
    output_format(output if not split else "x." + fmt, fmt)
    report_path = report_path or (None if output == "-" else _default_report(output))
    check_output_path(output, [addresses, outlines, results_path], folder=bool(split))
    if split:
        Path(output).mkdir(exist_ok=True)
    if report_path:
        check_output_path(report_path, [addresses, outlines, output], "report", "--report", None)
    params = Parameters(
        outside_tolerance_m=outside_tolerance_m, area_tolerance_m2=area_tolerance_m2,
        hull_ratio=hull_ratio, hull_buffer_m=hull_buffer_m,
        imprecise_radius_m=imprecise_radius_m, outlier_neighbours=outlier_neighbours,
        outlier_spread=outlier_spread, frontage_step_m=frontage_step_m, frontage_max_gap_m=frontage_max_gap_m,
        fragment_max_rows=fragment_max_rows, smooth_window_m=smooth_window_m,
        empty_land_m=empty_land_m, empty_land_max_m2=empty_land_max_m2, share_offset_m=share_offset_m,
        auto_holdout=auto_holdout, auto_min_test=auto_min_test, auto_margin=auto_margin,
    )
    national = all_departements or len(departement) > 1
    if national and (commune or holdout):
        raise click.UsageError("--all and several --departement build whole départements: "
                               "without --commune and --holdout")
    if national and output == "-" and not work_dir:
        raise click.UsageError("with -o -, say where the per-département parts go with --work-dir")
    jobs = jobs or os.cpu_count() or 1
    with contextlib.ExitStack() as stack:
        if scheduler:  # connect before reading anything: an unreachable scheduler fails at once
            from .parallel import connect

            stack.enter_context(connect(scheduler, jobs))
        if national:
            from .national import build_departements

            result = build_departements(
                addresses, outlines, work_dir or f"{output.rstrip('/')}.parts",
                departements=None if all_departements else list(departement), method=method,
                columns=AddressColumns(station=id_column, commune=commune_column, x=x_column, y=y_column), crs=crs,
                commune_field=commune_field, params=params, jobs=jobs,
                progress=_progress(quiet, "départements"), scheduler=scheduler,
            )
        else:
            result = run_build(
                addresses,
                outlines,
                method=method,
                departement=list(departement) or None,
                commune=list(commune) or None,
                columns=AddressColumns(station=id_column, commune=commune_column, x=x_column, y=y_column),
                crs=crs,
                commune_field=commune_field,
                params=params,
                holdout=holdout,
                seed=seed,
                progress=_progress(quiet),
                jobs=jobs,
                scheduler=scheduler,
            )
    report = result.report
    stations = result.stations
    if tolerance > 0:
        stations, report.simplify = simplify_stations(stations, tolerance, params.area_tolerance_m2)
    if results_path:
        from .results import join_results

        stations, report.results = join_results(stations, results_path, results_id)
    if split:
        write_split(stations, output, split, fmt, communes=result.communes)
    else:
        write_stations(stations, output, fmt, communes=result.communes)
    report.inputs["output"] = output
    if not quiet:
        for warning in report.warnings:
            click.echo(f"boundaries: warning: {warning}", err=True)
    if report_path:
        write_json(report.to_dict(), report_path)
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
              help="Commune outlines: any vector file GDAL reads.")
@click.option("--id-field", default=None,
              help="Station id field (detected among id_bv, code_bv, codeBureauVote, id_brut_bv_reu…).")
@click.option("--station-commune-field", default=None,
              help="Commune field of the stations (detected, else the id's {insee}_ prefix).")
@click.option("--commune-field", default=None, help="Commune code field of the outlines (detected).")
@click.option("--min-area", "min_area_m2", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="An overlap, gap or spill part smaller than this (m²) is ignored.")
@click.option("--min-width", "min_width_m", type=click.FloatRange(min=0), default=0.05, show_default=True,
              help="An overlap, gap or spill part thinner than this on average (m) is rounding noise.")
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
    from .check import check_stations

    result = check_stations(
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
@click.option("--reference", type=click.Path(path_type=str), default=None,
              help="Official station polygons to compare with (IoU, area given to the right station).")
@click.option("--reference-field", default=None, help="Station id field of the reference (detected).")
@click.option("--holdout", "holdout_path", type=click.Path(path_type=str), default=None, metavar="TEST_ADDRESSES",
              help="Held-out address table: share of its addresses inside their own station's polygon.")
@click.option("--id-field", default=None, help="Station id field of STATIONS (detected).")
@click.option("--id-column", default=None, help="Station id column of the test addresses (default id_brut_bv_reu).")
@click.option("--commune-column", default=None, help="Commune column of the test addresses.")
@click.option("--x-column", default=None, help="Longitude/x column of the test addresses.")
@click.option("--y-column", default=None, help="Latitude/y column of the test addresses.")
@click.option("--crs", default=None, help="CRS of the test addresses (default EPSG:4326).")
@click.option("--per-station", "per_station", type=str, default=None, metavar="PATH",
              help="Write the per-station scores to this CSV file.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one flat JSON object on stdout.")
def evaluate(stations, reference, reference_field, holdout_path, id_field, id_column, commune_column, x_column,
             y_column, crs, per_station, quiet, as_json):
    """Score STATIONS against official polygons (--reference) or held-out addresses (--holdout).

    Station ids are matched across the REU form (94068_7) and the results form (94068_0007).
    """
    from .evaluate import evaluate as run_evaluate
    from .read import AddressColumns
    from .write import atomic_path, check_output_path

    if (reference is None) == (holdout_path is None):
        raise click.UsageError("give exactly one of --reference or --holdout")
    if per_station:
        check_output_path(per_station, [stations, reference or "", holdout_path or ""], "per-station file",
                          "--per-station", None)
    scores = run_evaluate(
        stations, reference=reference, holdout=holdout_path, id_field=id_field, reference_field=reference_field,
        columns=AddressColumns(station=id_column, commune=commune_column, x=x_column, y=y_column), crs=crs,
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
    from .write import check_output_path

    check_output_path(output, [stations, outlines, addresses, build_report], "page", "-o", (".html", ".htm"))
    if build_report is None:
        guess = Path(_default_report(stations))
        build_report = str(guess) if guess.is_file() else None
    check = None
    if outlines:
        from .check import check_stations

        check = check_stations(stations, outlines)
    flagged = review_stations(stations, build_report, check, min_confidence=min_confidence, max_parts=max_parts,
                              max_dropped_share=max_dropped_share)
    write_review_html(stations, output, report=build_report, check=check, outline=outlines, addresses=addresses,
                      review=flagged, max_pictures=max_pictures)
    if not quiet:
        click.echo(f"{len(flagged):,} stations to review; wrote {output}", err=True)


def _default_report(output: str) -> str:
    from pathlib import Path

    from .write import FORMATS

    p = Path(output)
    if p.is_dir() or not p.suffix:  # --split: the report goes into the folder
        return str(p / "report.json")
    if p.suffix.lower() in {s for suffixes in FORMATS.values() for s in suffixes}:
        return str(p.with_suffix("")) + ".report.json"
    return output + ".report.json"


if __name__ == "__main__":  # pragma: no cover
    main()
