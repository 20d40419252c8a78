"""The web-map section of RESULTS.md (issue 21): ``boundaries web``'s time and archive sizes.

The section sits between ``WEB_START`` and ``WEB_END``, so ``--only web`` replaces it alone.
"""

from __future__ import annotations

WEB_START, WEB_END = "<!-- web:start -->", "<!-- web:end -->"


def _cell(text) -> str:
    """Text safe in one Markdown table cell: a reason may quote a command's stderr (pipes, line breaks)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _mb(n) -> str:
    return f"{n / 1e6:.2f} MB"


def _run(g: dict | None) -> str:
    """A command's wall s / CPU s / peak memory, or a dash."""
    if not g or "seconds" not in g or g.get("error") or g.get("cut"):
        return "—"
    return f"{g['seconds']:.1f} / {g['cpu']:.1f} / {g['mem'] / 1e9:.2f} GB"


def _others(g: dict) -> str:
    return "?" if g.get("others") is None else f"{g['others']:.2f}"


def line_row(x: dict) -> str:
    """One table row: a measured line, or one that says why it has no numbers."""
    rows = "—" if x.get("rows") is None else f"{x['rows']:,}"
    head = f"| {x['name']} | {rows} |"
    if "bytes" not in x:
        why = _cell(x.get("reason", "interrupted"))
        return head + f" — | {_run(x.get('build'))} | {_run(x.get('web'))} | {why} ||||"
    return (head + f" {x['stations']:,} / {x['communes']:,} | {_run(x['build'])} | {_run(x['web'])} "
            f"| {_mb(x['stations.pmtiles'])} | {_mb(x['communes.pmtiles'])} | {x['bytes_per_station']:,.0f} "
            f"| {_others(x['build'])} / {_others(x['web'])} |")


def target_rows(res: dict) -> list[str]:
    """The issue's target against the all-France line (or why it was not measured)."""
    from ..experiments.web import TARGET_BYTES, TARGET_STATIONS, target_line

    x = target_line(res)
    if x is None:
        return []
    goal = (f"all France's site (`stations.pmtiles` + `communes.pmtiles`) ≤ {TARGET_BYTES / 1e6:.0f} MB for "
            f"about {TARGET_STATIONS:,} stations at zoom {res['zooms'][0]}–{res['zooms'][1]}")
    if "bytes" not in x:
        measured, met = f"not measured: {_cell(x.get('reason', 'interrupted'))}", "—"
    else:
        measured = f"{_mb(x['bytes'])} for {x['stations']:,} stations"
        met = "**yes**" if x["bytes"] <= TARGET_BYTES else f"**no** ({x['bytes'] / TARGET_BYTES:.2f}× the target)"
    return ["", "| target | measured | met |", "|---|---:|---:|", f"| {goal} | {measured} | {met} |"]


def web_lines(res: dict, env: dict | None = None) -> list[str]:
    """The section; with ``env`` (``--only web``) a line says when it was measured."""
    L = [WEB_START, "## Where users work: the web map (issue 21)", ""]
    if env:
        L += [f"Measured alone (`python -m benchmarks.run --only web`) on {env['date']}, commit {env['commit']}.", ""]
    L += ["`benchmarks/experiments/web.py`: each line builds its stations with the command line, then runs "
          f"`boundaries web STATIONS --communes COMMUNES --min-zoom {res['zooms'][0]} --max-zoom {res['zooms'][1]} "
          "-q -o SITE`, each a fresh subprocess (wall s / CPU s / peak memory of the process tree, as in "
          "section 6). Val-de-Marne 2016 is built with the default options (a GeoPackage); the national-shape "
          f"tables of section 6 (cached in `{res['cache']}`) with `--all -j {res['jobs']}` (a FlatGeobuf), their "
          "generated `communes.gpkg` as the outlines. *Bytes / station*: both archives over the stations. "
          "*Others' CPU*: the cores the rest of the machine kept busy meanwhile (as in section 6). "
          "Measured, not extrapolated: a line whose time, projected linearly in rows from the line before, "
          f"would not fit in the section's budget ({res['budget_left']:.0f} s) is skipped, and said so.", "",
          "| line | rows | stations / communes | build: wall s / CPU s / peak | web: wall s / CPU s / peak "
          "| stations.pmtiles | communes.pmtiles | bytes / station | others' CPU, build / web |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    L += [line_row(x) for x in res.get("lines", [])]
    if res.get("interrupted"):
        L += ["", "The section was interrupted (Ctrl-C): the lines after the last one above were not run."]
    return L + target_rows(res) + ["", WEB_END]
