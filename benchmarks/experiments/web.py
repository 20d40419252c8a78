"""The web map's cost (issue 21): ``boundaries web`` on Val-de-Marne and on the national-shape tables.

Each line builds its stations with the command line (a fresh subprocess, timed by
:func:`benchmarks.measure.run_child`: wall, CPU, peak memory of the process tree), then runs
``boundaries web STATIONS --communes COMMUNES --min-zoom 4 --max-zoom 14 -q -o SITE`` the same
way, and records the sizes of the site's ``stations.pmtiles`` and ``communes.pmtiles``:

- Val-de-Marne 2016 (real data): ``boundaries build addresses.csv.gz --communes communes.geojson``
  with the default options, as the speed section runs it, written as a GeoPackage;
- the national-shape tables of :mod:`benchmarks.experiments.national` (1 M rows, 6 départements,
  then 16 M rows, 96 départements, 69,432 stations: all France), found in or written to its cache,
  built as it builds them (``--all -j 2``, a FlatGeobuf); the 16 M line is issue 21's target:
  the site's archives ≤ 300 MB for about 70,000 stations at zoom 4–14. Measured, not extrapolated.

The section has its own time budget: a national line whose time, projected linearly in rows from
the line before it (build and site; the table's generation too when not cached), would end after
the deadline is skipped, and said so; a command still running at the deadline is killed.

Run alone: ``python -m benchmarks.run --only web`` (``make bench-web``; needs ``make web-assets``).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from ..common import log
from ..measure import ChildFailed, run_child
from . import national as nat

#: The section's default time budget (seconds), generation of the national tables included.
WEB_BUDGET = 1800.0
#: The national-shape sizes, as multiples of the national section's 1× table (1 M and 16 M rows).
WEB_FACTORS = (1, 16)
#: The zoom levels of the tiles (the command's defaults, pinned here).
MIN_ZOOM, MAX_ZOOM = 4, 14
#: Issue 21's target: all France's site under this many bytes, for about this many stations.
TARGET_BYTES, TARGET_STATIONS = 300e6, 70_000
#: The archives a site holds, whose sizes are recorded.
ARCHIVES = ("stations.pmtiles", "communes.pmtiles")


def web_cmd(stations: Path, communes: Path, site: Path) -> list:
    """``boundaries web STATIONS --communes COMMUNES --min-zoom 4 --max-zoom 14 -q -o SITE``."""
    return [Path(sys.executable).parent / "boundaries", "web", stations, "--communes", communes,
            "--min-zoom", MIN_ZOOM, "--max-zoom", MAX_ZOOM, "-q", "-o", site]


def build_cmd(addresses: Path, communes: Path, out: Path) -> list:
    """``boundaries build ADDRESSES --communes COMMUNES -o OUT -q`` (default options)."""
    return [Path(sys.executable).parent / "boundaries", "build", addresses, "--communes", communes, "-o", out, "-q"]


def _timed(cmd: list, deadline: float) -> dict:
    """The command's measures (:func:`run_child`), cut at ``deadline``; ``error`` if it failed."""
    try:
        g = run_child(cmd, timeout=deadline - time.perf_counter())
    except ChildFailed as e:
        lines = [x.strip() for x in e.stderr.splitlines() if x.strip()]
        return {"error": f"exit {e.rc}: " + (lines[-1][-400:] if lines else "no message")}
    keep = ("seconds", "cpu", "mem", "rss", "rss_single", "others", "load", "cut")
    return {k: g[k] for k in keep if k in g}


def site_sizes(site: Path) -> dict:
    """The archives' sizes in bytes and the communes of the search index."""
    out = {name: (site / name).stat().st_size for name in ARCHIVES}
    out["communes"] = len(json.loads((site / "communes.json").read_text(encoding="utf-8")))
    return out


def build_and_site(line: dict, build: list, stations: Path, communes: Path, site: Path, deadline: float) -> dict:
    """Time the build, then the site; fill ``line`` (``build``, ``web``, sizes, counts, or why not)."""
    line["build"] = _timed(build, deadline)
    if _stopped(line, "build"):
        return line
    report = json.loads(stations.with_suffix(".report.json").read_text(encoding="utf-8"))
    line["stations"] = report["stations_out"]
    line["rows"] = report["rows_read"] if line.get("rows") is None else line["rows"]
    line["web"] = _timed(web_cmd(stations, communes, site), deadline)
    if _stopped(line, "web"):
        return line
    line.update(site_sizes(site))
    line["bytes"] = sum(line[name] for name in ARCHIVES)
    line["bytes_per_station"] = line["bytes"] / max(line["stations"], 1)
    log(f"web: {line['name']}: build {line['build']['seconds']:.1f} s, web {line['web']['seconds']:.1f} s "
        f"(CPU {line['web']['cpu']:.1f} s, peak {line['web']['mem'] / 1e9:.2f} GB), {line['stations']:,} stations, "
        f"stations.pmtiles {line['stations.pmtiles'] / 1e6:.1f} MB, communes.pmtiles "
        f"{line['communes.pmtiles'] / 1e6:.1f} MB")
    return line


def _stopped(line: dict, step: str) -> bool:
    """Whether ``step`` failed or was cut (then said in ``line['reason']`` and the log)."""
    g = line[step]
    if g.get("error"):
        line["reason"] = f"`boundaries {step}` failed: {g['error']}"
    elif g.get("cut"):
        line["reason"] = f"`boundaries {step}` still running at the deadline: killed after {g['seconds']:.0f} s"
    else:
        return False
    log(f"web: {line['name']}: {line['reason']}")
    return True


def departement_line(name: str, folder: Path, work: Path, deadline: float) -> dict:
    """A real département: its ``addresses.csv.gz`` (or ``.csv``) and ``communes.geojson`` built, then its site."""
    line = {"name": name, "kind": "département"}
    addresses = next((p for p in (folder / "addresses.csv.gz", folder / "addresses.csv") if p.is_file()), None)
    communes = folder / "communes.geojson"
    if addresses is None or not communes.is_file():
        line.update(skipped=True, reason=f"its data is not there ({folder})")
    elif deadline <= time.perf_counter():
        line.update(skipped=True, reason="no time left")
    if line.get("skipped"):
        log(f"web: {name} skipped: {line['reason']}")
        return line
    log(f"web: {name}: build, then boundaries web")
    out = work / f"{folder.name}.gpkg"
    line["rows"] = None
    return build_and_site(line, build_cmd(addresses, communes, out), out, communes, work / f"{folder.name}-site",
                          deadline)


def national_inputs(rows: int, departements: int, seed: int, cache: Path, timeout: float) -> dict:
    """The national-shape table of this size: the national section's (with its unsorted layouts) when it
    is cached whole, else the sorted table alone, generated once (:func:`national.synth_inputs`)."""
    full = cache / nat.synth_key(rows, departements, seed, layouts=True)
    names = [*nat.TABLES.values(), "communes.gpkg", "summary.json"]
    layouts = all((full / name).is_file() for name in names)
    return nat.synth_inputs(rows, departements, seed, cache, timeout=timeout, layouts=layouts)


def project(prev: dict | None, rows: int, cached: bool) -> float | None:
    """A national line's seconds, linear in rows from the line before (None: nothing to project from).

    Its build and site times scaled by the row ratio, plus the generation of its table when not cached.
    """
    if prev is None or "web" not in prev or prev.get("reason"):
        return None
    seconds = (prev["build"]["seconds"] + prev["web"]["seconds"]) * rows / prev["rows"]
    return seconds + (0.0 if cached else nat.SYNTH_SECONDS_PER_ROW * rows)


def national_line(size: dict, prev: dict | None, work: Path, cache: Path, seed: int, deadline: float) -> dict:
    """One national-shape table built (``--all -j 2``, FlatGeobuf), then its site; skipped when its
    projected time (:func:`project`) would end after ``deadline``."""
    rows, deps = size["rows"], size["departements"]
    line = {"name": f"national shape, {rows:,} rows", "kind": "national", "k": size["k"], "rows": rows,
            "departements": deps}
    cached = any((cache / nat.synth_key(rows, deps, seed, lay) / "summary.json").is_file() for lay in (False, True))
    projected = project(prev, rows, cached)
    left = deadline - time.perf_counter()
    if left <= 0 or (projected is not None and projected > left):
        line.update(skipped=True, projected=projected, left=max(left, 0.0),
                    reason=("no time left" if left <= 0 else
                            f"projected ≈ {projected:.0f} s from the line before, {left:.0f} s left"))
        log(f"web: {line['name']} skipped: {line['reason']}")
        return line
    log(f"web: {line['name']}, {deps} départements: inputs (cache {cache})")
    inp = national_inputs(rows, deps, seed, cache, left)
    line["inputs"] = {"cached": inp.get("cached", False), "seconds": inp["seconds"]}
    if inp.get("cut"):
        line.update(reason=f"generating its table ran past the deadline ({inp['seconds']:.0f} s)")
        log(f"web: {line['name']}: {line['reason']}")
        return line
    line.update(stations_in_table=inp["summary"]["stations"], communes_in_table=inp["summary"]["communes"])
    out = work / f"national-{rows}.fgb"
    communes = inp["folder"] / "communes.gpkg"
    build_and_site(line, nat.national_cmd(inp["folder"], out, nat.NATIONAL_JOBS), out, communes,
                   work / f"national-{rows}-site", deadline)
    shutil.rmtree(f"{out}.parts", ignore_errors=True)  # the build's parts: GBs at 16 M rows
    return line


def web_bench(work: Path, deadline: float, vdm: Path | None, cache: Path = nat.CACHE,
              rows: int = nat.NATIONAL_ROWS, departements: int = nat.NATIONAL_DEPARTEMENTS,
              factors=WEB_FACTORS, seed: int = nat.NATIONAL_SEED, res: dict | None = None) -> dict:
    """Every line: Val-de-Marne (``vdm``, its folder; None: not run), then the national-shape tables
    of ``rows × k`` rows (``departements × k`` départements, at most 96) for each ``k`` of ``factors``.

    ``deadline`` is a ``time.perf_counter()`` value. ``res`` (pass a dict to keep it if this
    raises) gets ``lines``, one dict per line: its ``build`` and ``web`` measures, ``stations``,
    the archives' sizes and ``bytes_per_station``, or ``skipped``/``reason``; and ``target``,
    the largest national line when it reaches all France (:data:`TARGET_STATIONS`).
    """
    res = {} if res is None else res
    res.update(lines=[], zooms=[MIN_ZOOM, MAX_ZOOM], cache=str(cache), seed=seed,
               jobs=nat.NATIONAL_JOBS, budget_left=deadline - time.perf_counter())
    work = Path(work) / "web"
    work.mkdir(parents=True, exist_ok=True)
    if vdm is not None:
        res["lines"].append(departement_line("Val-de-Marne 2016", Path(vdm), work, deadline))
    prev = None
    for k in factors:
        size = {"k": k, "rows": rows * k, "departements": min(nat.MAX_DEPARTEMENTS, departements * k)}
        line = national_line(size, prev, work, Path(cache), seed, deadline)
        res["lines"].append(line)
        prev = line if "bytes" in line else prev
    return res


def target_line(res: dict) -> dict | None:
    """The national line that stands for all France: the largest size of at least 16 M rows (None: not asked)."""
    big = [x for x in res.get("lines", []) if x["kind"] == "national" and x["rows"] >= nat.TARGET_ROWS]
    return big[-1] if big else None
