"""The bench: accuracy against the plain-Voronoi yardstick, speed, and how cost grows.

    .venv/bin/python -m benchmarks.run [--quick] [--only national|land|uses|web] [--out benchmarks/RESULTS.md]

One run measures everything and writes a Markdown file (default
``benchmarks/RESULTS.md``); a full run also replaces the block between
``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md with the summary
table, and the same block in docs/method.md with the table of accuracy steps.
``--quick`` is a smoke test: the generated town only, one timed run, no scaling,
the national section at 1 M rows only, README and docs untouched.

The national section (all France at national shape: ``boundaries build … --all -j 2``
on tables of 1, 4 and 16 M rows from ``benchmarks/synth.py``, ``-j 1`` against ``-j 2``,
a resumed run, then at the largest size the unsorted layouts — a Parquet table whose row
groups span all départements and a shuffled CSV.gz — with and without ``--all``, every
output compared byte for byte) has its own time budget (``--national-budget``) and runs
alone with ``--only national``: its tables then replace that section of ``--out`` and its
row of the README summary, the rest untouched. Its generated tables are kept between
runs in ``$BOUNDARIES_BENCH_CACHE`` (default ``~/.cache/boundaries-bench``, ``--cache``),
keyed by the generator's arguments and source.

The land section (issue 19: Paris street-aligned without and with ``streets``, then a hold-out
per commune of the Val-de-Marne without and with ``parcels``, ``buildings``, ``streets``, with
the issue's targets) runs after the ablation in a full run, and alone with ``--only land``: it
then replaces the land section of ``--out`` (between ``<!-- land:start -->`` and
``<!-- land:end -->``), the rest untouched; the README is not changed. The profiles-and-crosswalks
section (issue 20: ``profile`` on the Paris counts and Val-de-Marne, ``crosswalk`` of Paris 2012 → 2017)
runs after it, and alone with ``--only uses`` in the same way. The web-map section (issue 21:
``boundaries web`` on Val-de-Marne and on the national-shape tables of 1 and 16 M rows, with its own
budget, ``--web-budget``) runs last in a full run (after the national section, whose tables it reuses)
and is written after the uses section; alone with ``--only web``.

Everything is seeded and deterministic except the timings. Real data is read from
``../shared/data`` (or ``$BOUNDARIES_SHARED_DATA``); generated inputs for the
scaling runs go to a temporary folder, never into the repository. Progress lines
go to stderr.

The parts: :mod:`benchmarks.snapshot` (the code measured, the machine),
:mod:`benchmarks.measure` and :mod:`benchmarks.sampler` (timing a command and the memory of
its process tree), :mod:`benchmarks.experiments` (one module per experiment) and
:mod:`benchmarks.render` (Markdown, RESULTS.md, the README and docs blocks).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from .common import METHOD_DOC, README, ROOT, SHARED, TOWN, log
from .experiments import national as nat_exp
from .experiments import web as web_exp
from .render.files import update_block, update_row, write_section
from .snapshot import environment, fingerprint, snapshot


def _factors(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas, e.g. 1,4,16") from None
    if not out or min(out) < 1 or list(out) != sorted(set(out)):
        raise argparse.ArgumentTypeError(f"{text!r}: give increasing whole numbers ≥ 1, e.g. 1,4,16")
    return out


def parse_args(argv=None) -> argparse.Namespace:
    """The command line (the Makefile's ``bench`` and ``bench-national`` targets use it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the town only, one timed run, no scaling, the national section at 1 M rows only")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md", help="Markdown output")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not update README.md and docs/method.md (never done with --quick)")
    parser.add_argument("--budget", type=float, default=1200.0, metavar="SECONDS",
                        help="skip a scaling size whose projected time would end the run after this "
                             "(default 1200)")
    parser.add_argument("--only", choices=["national", "land", "uses", "web"],
                        help="run this section alone: its tables replace the same section of --out (the rest of "
                             "the file is kept), and for national its row of the README summary")
    parser.add_argument("--cache", type=Path, default=nat_exp.CACHE, metavar="DIR",
                        help="where the generated national-shape tables are kept between runs "
                             "(default $BOUNDARIES_BENCH_CACHE or ~/.cache/boundaries-bench)")
    parser.add_argument("--national-rows", type=int, default=nat_exp.NATIONAL_ROWS, metavar="N",
                        help=f"rows of the 1× national-shape table (default {nat_exp.NATIONAL_ROWS:,})")
    parser.add_argument("--national-departements", type=int, default=nat_exp.NATIONAL_DEPARTEMENTS, metavar="K",
                        help="its départements, scaled with the rows, at most 96 "
                             f"(default {nat_exp.NATIONAL_DEPARTEMENTS})")
    parser.add_argument("--national-factors", type=_factors, default=None, metavar="1,4,16",
                        help="sizes as multiples of --national-rows (default 1,4,16; 1 with --quick); the "
                             "unsorted layouts run at the largest")
    parser.add_argument("--national-budget", type=float, default=nat_exp.NATIONAL_BUDGET, metavar="SECONDS",
                        help="time for the national section, generation included: a run that would end later "
                             f"is skipped, one still going is killed (default {nat_exp.NATIONAL_BUDGET:.0f})")
    parser.add_argument("--web-factors", type=_factors, default=web_exp.WEB_FACTORS, metavar="1,16",
                        help="the web-map section's national-shape sizes, as multiples of --national-rows "
                             "(default 1,16: all France)")
    parser.add_argument("--web-budget", type=float, default=web_exp.WEB_BUDGET, metavar="SECONDS",
                        help="time for the web-map section, generation included: a line that would end later "
                             f"is skipped, one still going is killed (default {web_exp.WEB_BUDGET:.0f})")
    return parser.parse_args(argv)


def land_section() -> dict:
    """The land layers (issue 19): Paris street-aligned, then the Val-de-Marne hold-out per commune."""
    from .experiments.land import land
    from .experiments.parcels import land_holdout

    log("land: Paris street-aligned, without and with streets")
    paris = land()
    log("land: Val-de-Marne hold-out per commune, without and with each layer")
    return {"paris": paris, "holdout": land_holdout()}


def uses_section() -> dict:
    """Profiles and crosswalks (issue 20): Paris counts back onto the sectors, Val-de-Marne, Paris 2012 → 2017."""
    from .experiments.crosswalk import crosswalk_bench
    from .experiments.profile import profile_bench

    log("uses: profile, Paris counts per IRIS back onto the sectors; Val-de-Marne with the Grand Paris IRIS")
    profile = profile_bench()
    log("uses: crosswalk, Paris 2012 → 2017")
    return {"profile": profile, "crosswalk": crosswalk_bench()}


def web_section(args, work: Path) -> dict:
    """The web map (issue 21): ``boundaries web`` on Val-de-Marne and the national-shape tables, in its budget."""
    log(f"web: Val-de-Marne, then {args.national_rows:,} rows × {', '.join(map(str, args.web_factors))}, "
        f"budget {args.web_budget:.0f} s")
    res: dict = {}
    try:
        web_exp.web_bench(work, time.perf_counter() + args.web_budget, SHARED / "val-de-marne-2016", args.cache,
                          args.national_rows, args.national_departements, args.web_factors, res=res)
    except KeyboardInterrupt:
        res["interrupted"] = True
        log("web: interrupted; writing what was measured")
    return res


def run_sections(args, work: Path, started: float) -> dict:
    """Every section asked for, in order; the results as plain data."""
    from .experiments.ablation import ablation
    from .experiments.holdout import SEEDS, holdout_compare
    from .experiments.paris import paris
    from .experiments.reference import town_reference
    from .experiments.scaling import SCALE_FACTORS, scaling
    from .experiments.simplification import simplification
    from .experiments.speed import speed

    vdm = SHARED / "val-de-marne-2016"
    vdm_csv, vdm_communes = vdm / "addresses.csv.gz", vdm / "communes.geojson"
    r: dict = {}
    if not args.only:
        log("town: reference IoU")
        r["town"] = town_reference()
        r["town_holdout"] = holdout_compare(TOWN / "addresses.csv", TOWN / "communes.geojson", SEEDS, "town")
        if not args.quick:
            r["vdm_holdout"] = holdout_compare(vdm_csv, vdm_communes, SEEDS, "val-de-marne", pieces=True)
            r["paris"] = paris()
            r["ablation"] = ablation(vdm_csv, vdm_communes, r["paris"].pop("_inputs"))
            r["land"] = land_section()
            r["uses"] = uses_section()
            r["simplification"] = simplification(vdm_csv, vdm_communes, work)
        if args.quick:
            r["speed"] = speed(TOWN / "addresses.csv", TOWN / "communes.geojson", 1, 0, work, "town")
            r["speed"].update(name="Generated town", warmup=0)
        else:
            r["speed"] = speed(vdm_csv, vdm_communes, 3, 1, work, "val-de-marne")
            r["speed"].update(name="Val-de-Marne 2016", warmup=1)
            r["scaling"] = scaling(vdm_csv, vdm_communes, SCALE_FACTORS, work, started + args.budget - 15)
    if args.only == "land":
        r["land"] = land_section()
        return r
    if args.only == "uses":
        r["uses"] = uses_section()
        return r
    if args.only == "web":
        r["web"] = web_section(args, work)
        return r
    factors = args.national_factors or ((1,) if args.quick else nat_exp.NATIONAL_FACTORS)
    nat = r["national"] = {"budget": args.national_budget}
    log(f"national: {args.national_rows:,} rows × {', '.join(map(str, factors))}, budget "
        f"{args.national_budget:.0f} s, inputs cached in {args.cache}")
    try:
        nat_exp.national(work, time.perf_counter() + args.national_budget, args.cache, args.national_rows,
                         args.national_departements, factors, res=nat)
    except KeyboardInterrupt:
        nat["interrupted"] = True
        log("national: interrupted; writing what was measured")
        return r
    if not args.quick and not args.only:  # last: the national tables are cached by then
        r["web"] = web_section(args, work)
    return r


def write_outputs(args, env: dict, r: dict, seconds: float) -> None:
    """RESULTS.md (whole, or its national section with ``--only``), then the README and docs blocks."""
    from .render.land import LAND_END, LAND_START, land_lines
    from .render.uses import USES_END, USES_START, uses_lines
    from .render.web import WEB_END, WEB_START, web_lines
    from .render.national import national_lines, national_summary_row
    from .render.results import write_results
    from .render.sections import ablation_lines

    if args.only == "land":
        write_section(args.out, env, land_lines(r["land"], env), args.quick, LAND_START, LAND_END)
        log(f"wrote the land section into {args.out}")
        return
    if args.only == "uses":
        write_section(args.out, env, uses_lines(r["uses"], env), args.quick, USES_START, USES_END)
        log(f"wrote the profiles and crosswalks section into {args.out}")
        return
    if args.only == "web":
        write_section(args.out, env, web_lines(r["web"], env), args.quick, WEB_START, WEB_END)
        log(f"wrote the web-map section into {args.out}")
        return
    if args.only:
        write_section(args.out, env, national_lines(r["national"], env), args.quick)
        log(f"wrote the national section into {args.out}")
        row = national_summary_row(r["national"])
        if not args.quick and not args.no_readme and row and update_row(README, row):
            log(f"updated the national row of the summary in {README}")
        return
    summary = write_results(args.out, env, r, args.quick, seconds)
    log(f"wrote {args.out}")
    if not args.quick and not args.no_readme:
        if update_block(README, summary, env["date"]):
            log(f"updated the summary in {README}")
        if "ablation" in r and update_block(METHOD_DOC, "\n".join(ablation_lines(r["ablation"])), env["date"]):
            log(f"updated the step table in {METHOD_DOC}")


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    if (not args.quick and not args.only) or args.only in ("land", "uses"):
        missing = [p for p in (SHARED / "val-de-marne-2016", SHARED / "paris-2017") if not p.exists()]
        if missing:
            print(f"bench: real data not found: {', '.join(map(str, missing))} (../shared/data beside the "
                  "checkout, or $BOUNDARIES_SHARED_DATA); use --quick for the town only", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="boundaries-bench-") as tmp:
        work = Path(tmp)
        measured = snapshot(work / "code")
        env = environment()
        env["measured"] = measured
        what = ("quick" if args.quick else "full") + (f" bench, {args.only} section only," if args.only else " bench")
        log(f"{what} on {env['cpu']}, load {env['load']}; measuring "
            f"boundaries/ as it is now (source {measured}, commit {env['commit']}); writing {args.out}")
        r = run_sections(args, work, started)
    r["budget"] = args.budget
    env["load_end"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    env["tree_changed"] = fingerprint(ROOT / "boundaries") != measured
    if env["tree_changed"]:
        log("note: boundaries/ changed in the working tree during the run; the snapshot taken at the start "
            "was measured throughout")
    seconds = time.perf_counter() - started
    write_outputs(args, env, r, seconds)
    log(f"done in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
