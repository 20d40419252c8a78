"""The whole RESULTS.md: header, summary, caveats, sections 1–6, land layers, profiles and crosswalks, web map."""

from __future__ import annotations

from pathlib import Path

from ..experiments.holdout import HOLDOUT, SEEDS
from ..experiments.paris import PARIS_CLOSE_M, PARIS_MIN_POINTS, PARIS_SEED, PARIS_VOTERS_PER_POINT
from .files import write_text
from .markdown import f3, pct, table
from .land import land_lines
from .uses import uses_lines
from .web import web_lines
from .national import national_caveats, national_lines, national_summary_row
from .sections import (
    REF_HEADER, ablation_lines, holdout_lines, reference_rows, scaling_lines, simplification_lines, speed_lines,
)


def header_lines(env: dict, quick: bool) -> list[str]:
    """The title and the table of the machine, versions, date and code measured."""
    mod = env["modified"]
    lines = [
        "# Benchmarks" + (" (quick smoke run)" if quick else ""),
        "",
        "Written by `make bench` (`.venv/bin/python -m benchmarks.run" + (" --quick" if quick else "") + "`); "
        "do not edit by hand. Everything is seeded except the timings. The yardstick is the plain Voronoi "
        "of `benchmarks/yardstick.py` (unique points, first row wins a shared coordinate, dissolved, clipped; "
        "no cleaning): the method existing tools use.",
        "",
        "| | |",
        "|---|---|",
        f"| date | {env['date']} |",
        f"| machine | {env['cpu']}, {env['cores']}, {env['memory']} RAM; {env['os']} |",
        f"| load average (1, 5, 15 min) | {env['load']} at the start, {env.get('load_end', '?')} at the end "
        "(a shared machine: wall times are noisy, CPU times less so) |",
        f"| Python | {env['python']} |",
        f"| boundaries | {env['boundaries']}, commit {env['commit']}"
        + (f" with uncommitted changes in {', '.join(mod)}" if mod else "")
        + f"; the package source measured (copied at the start, used by every section) hashes to "
        f"`{env['measured']}`"
        + (" — **the working tree's `boundaries/` changed while the bench ran**; the copy taken at the start "
           "was measured throughout" if env.get("tree_changed") else "") + " |",
        f"| shapely | {env['shapely']} |",
        f"| geopandas | {env['geopandas']} |",
        f"| pyogrio | {env['pyogrio']} |",
        f"| pyproj | {env['pyproj']} |",
        f"| numpy | {env['numpy']} |",
        f"| pandas | {env['pandas']} |",
    ]
    return lines



def summary_lines(r: dict, quick: bool) -> list[str]:
    """The summary table (also the README block): ours beside the yardstick, one row per measure."""
    rows = []
    if "vdm_holdout" in r:
        m = r["vdm_holdout"]["per_seed"].mean(numeric_only=True)
        worst = r["vdm_holdout"]["by_commune"].iloc[0]
        rows.append(["Val-de-Marne 2016, 10 % hold-out, own station (mean of 3 seeds)",
                     pct(m.ours_own_station), pct(m.yardstick_own_station)])
        rows.append(["Val-de-Marne 2016, worst commune, own station Δ ours − yardstick",
                     f"{100 * worst['diff']:+.2f} points ({worst.name})", "—"])
        if "before_own_station" in m:
            rows.append(["Val-de-Marne 2016, multipart stations (target ≤ 5 %) / hold-out cost of the fragment "
                         "rule (target ≤ 0.3 point) / area moved (mean of 3 seeds)",
                         f"{pct(m.ours_multipart)} (was {pct(m.before_multipart)}) / "
                         f"{100 * (m.before_own_station - m.ours_own_station):.2f} point / "
                         f"{m.ours_area_moved_m2 / 1e4:,.0f} ha", "—"])
    if "paris" in r:
        p = r["paris"]["arrondissements"]
        rows.append(["Paris 2017 semi-synthetic (arrondissement outlines), IoU mean / area right",
                     f"{f3(p['ours']['iou_mean'])} / {pct(p['ours']['area_right'])}",
                     f"{f3(p['yardstick']['iou_mean'])} / {pct(p['yardstick']['area_right'])}"])
    t = r["town"]
    rows.append(["Generated town, IoU mean / area right", f"{f3(t['ours']['iou_mean'])} / {pct(t['ours']['area_right'])}",
                 f"{f3(t['yardstick']['iou_mean'])} / {pct(t['yardstick']['area_right'])}"])
    m = r["town_holdout"]["per_seed"].mean(numeric_only=True)
    rows.append(["Generated town, 10 % hold-out, own station (mean of 3 seeds)", pct(m.ours_own_station),
                 pct(m.yardstick_own_station)])
    s = r["speed"]
    rows.append([f"{s['name']} end to end, median of {s['runs']} (peak memory)",
                 f"{s['ours']['seconds']:.2f} s ({s['ours']['rss'] / 2 ** 20:,.0f} MiB)",
                 f"{s['yardstick']['seconds']:.2f} s ({s['yardstick']['rss'] / 2 ** 20:,.0f} MiB)"])
    if "scaling" in r:
        last = [x for x in r["scaling"] if not x["skipped"]][-1]
        rows.append([f"{last['k']}× Val-de-Marne ({last['rows']:,} rows), ours: time / memory vs 1×",
                     f"{last['seconds']:.1f} s, ×{last['seconds'] / r['scaling'][0]['seconds']:.1f} / "
                     f"{last['mem'] / 2 ** 20:,.0f} MiB", "—"])
    if r.get("national") and national_summary_row(r["national"]):
        rows.append(national_summary_row(r["national"]))
    return table(["measure", "ours", "plain-Voronoi yardstick"], rows)



def caveat_lines(r: dict) -> list[str]:
    """Every place where ours is not better than the yardstick, said plainly."""
    notes = []
    for key, name in (("vdm_holdout", "Val-de-Marne"), ("town_holdout", "The town")):
        if key not in r:
            continue
        ps, bc = r[key]["per_seed"], r[key]["by_commune"]
        d = 100 * (ps["ours_own_station"] - ps["yardstick_own_station"])
        if (d < 0).any():
            notes.append(f"{name}, hold-out: ours is below the yardstick for seed(s) "
                         f"{', '.join(str(x) for x in ps.loc[d < 0, 'seed'])} ({', '.join(f'{v:+.2f}' for v in d[d < 0])} "
                         f"points); mean over the seeds {d.mean():+.2f} points.")
        worse = bc[bc["diff"] < 0]
        if len(worse):
            notes.append(f"{name}, hold-out per commune: ours is below the yardstick in {len(worse)} of {len(bc)} "
                         f"communes (mean of the seeds), worst {100 * worse['diff'].min():+.2f} points "
                         f"({worse.index[0]}, {int(worse['n'].iloc[0]):,} test points over the seeds).")
    for key, name in (("town", "The town"),):
        o, y = r[key]["ours"], r[key]["yardstick"]
        for m in ("iou_mean", "iou_median", "iou_min", "area_right"):
            if o[m] < y[m]:
                notes.append(f"{name} against its true polygons: {m} {o[m]:.3f} for ours < {y[m]:.3f} for the yardstick.")
    if "paris" in r:
        for outline in ("arrondissements", "city"):
            o, y = r["paris"][outline]["ours"], r["paris"][outline]["yardstick"]
            diffs = {m: o[m] - y[m] for m in ("iou_mean", "iou_median", "iou_min", "area_right")}
            if all(abs(v) < 5e-4 for v in diffs.values()):
                notes.append(f"Paris ({outline} outlines): ours and the yardstick score the same (largest difference "
                             f"{max(abs(v) for v in diffs.values()):.4f}): the points are clean and uniform, with no "
                             "shared coordinate, outlier or street address, so this test measures the Voronoi core "
                             "only and shows no gain.")
            else:
                bad = [f"{m} {v:+.3f}" for m, v in diffs.items() if v < 0]
                if bad:
                    notes.append(f"Paris ({outline} outlines): ours below the yardstick on {', '.join(bad)}.")
    s = r["speed"]
    if s["ours"]["seconds"] > s["yardstick"]["seconds"]:
        notes.append(f"Speed: ours takes {s['ours']['seconds'] / s['yardstick']['seconds']:.2f}× the yardstick's "
                     f"wall time on {s['name']} ({s['ours']['seconds']:.2f} s vs {s['yardstick']['seconds']:.2f} s; "
                     f"CPU {s['ours']['cpu']:.2f} s vs {s['yardstick']['cpu']:.2f} s) and "
                     f"{s['ours']['rss'] / s['yardstick']['rss']:.2f}× its peak memory.")
    if "scaling" in r:
        for x in r["scaling"]:
            if x["skipped"]:
                notes.append(f"Scaling: the {x['k']}× size ({x['rows']:,} rows) was not run: its projected time "
                             f"(≈ {x['projected']:.0f} s) would have taken the bench past its time budget.")
        done = [x for x in r["scaling"] if not x["skipped"]]
        base, last = done[0], done[-1]
        k = last["k"] / base["k"]
        if last["cpu"] / base["cpu"] > 1.25 * k or last["seconds"] / base["seconds"] > 1.25 * k:
            notes.append(f"Scaling: {k:g}× the rows cost {last['seconds'] / base['seconds']:.1f}× the wall time and "
                         f"{last['cpu'] / base['cpu']:.1f}× the CPU time of 1× — more than linear.")
    if r.get("national"):
        notes += national_caveats(r["national"])
    return notes



def _accuracy(r: dict) -> list[str]:
    """Section 1: hold-out on Val-de-Marne, Paris, the town."""
    L = ["", "## 1. Accuracy against the plain-Voronoi yardstick", ""]
    if "vdm_holdout" in r:
        L += ["### Val-de-Marne 2016 (real addresses, 10 % hold-out)", "",
              f"`boundaries.scoring.holdout_split(longitude, latitude, {HOLDOUT}, seed)` on the raw table picks "
              "whole coordinates to hold out; ours is `boundaries.build` on the other rows, the yardstick "
              "`yardstick_build` on the same rows; both are scored by `boundaries.scoring.holdout_accuracy` in "
              "EPSG:2154 on the held-out rows whose commune has an outline, keys from "
              "`boundaries.codes.canonical_station`. *Own station*: share of test addresses inside their own "
              "station's polygon; *uncovered*: in no polygon (outside the simplified commune outlines).", ""]
        L += holdout_lines(r["vdm_holdout"], SEEDS)
    if "paris" in r:
        p = r["paris"]
        L += ["", "### Paris 2017, semi-synthetic (official sectors as truth)", "",
              f"{p['points']:,} points drawn uniformly inside the {p['sectors']} official sectors (one per "
              f"{PARIS_VOTERS_PER_POINT} French voters `nbr_elect_f`, at least {PARIS_MIN_POINTS}; seed {PARIS_SEED}), "
              "labelled `751AA_N`, rebuilt by both methods and scored with `boundaries.evaluate(..., "
              "reference=sectors)`. *Area right*: share of the sectors' area given to the right station.", ""]
        o = p["outlines"]
        L += table(["outlines"] + REF_HEADER, [
            ["arrondissements (751xx), dissolved"] + reference_rows("ours", p["arrondissements"]["ours"]),
            ["arrondissements (751xx), dissolved"] + reference_rows("yardstick", p["arrondissements"]["yardstick"]),
            ["whole city, coarse (75056, with the woods)"] + reference_rows("ours", p["city"]["ours"]),
            ["whole city, coarse (75056, with the woods)"] + reference_rows("yardstick", p["city"]["yardstick"]),
        ])
        L += ["", f"The arrondissement outlines: `arrondissements.geojson` as published gives each arrondissement "
              f"as a MultiPolygon whose parts are its official sectors ({o['parts_published']} parts for 20 "
              "arrondissements; the sectors do not touch, gaps up to a few metres), so the file carries the very "
              "borders being measured: a method that reassigns detached pieces to a neighbour rebuilds the "
              "sectors from it (ours with its fragment step did: IoU mean 1.000 while this bench was written). The bench therefore dissolves each arrondissement "
              f"with a {PARIS_CLOSE_M:g} m closing, holes filled ({o['parts_dissolved']} parts left; "
              f"+{100 * o['added_share']:.2f} % area, the land between sectors; "
              f"{o['sector_area_left_out_m2']:.0f} m² of sector area left out), the same outlines for both methods.",
              "",
              "With the whole-city outline, the two woods (no voters, not in any sector) are given to the "
              "stations around them, which lowers their IoU for both methods."]
    t = r["town"]
    L += ["", "### The generated town (`fixtures/town`, true polygons known)", "",
          f"{t['stations']} true stations (`stations_truth.geojson`); both methods built from all of "
          "`addresses.csv`, scored with `boundaries.evaluate(..., reference=truth)`.", ""]
    L += table(REF_HEADER, [reference_rows("ours", t["ours"]), reference_rows("yardstick", t["yardstick"])])
    L += ["", "10 % hold-out on the town, same protocol as Val-de-Marne:", ""]
    L += holdout_lines(r["town_holdout"], SEEDS)
    return L


def _cost(r: dict) -> list[str]:
    """Sections 2–5: speed, scaling, the ablation and simplification."""
    L = []
    s = r["speed"]
    L += ["", "## 2. Speed", "",
          f"{s['name']} ({s['rows']:,} rows), end to end in a fresh subprocess each time (reading, building, "
          f"writing GeoJSON): median of {s['runs']} runs"
          + (f" after {s['warmup']} warm-up run" if s["warmup"] else " (no warm-up)")
          + " each. Peak memory is that of the whole process tree (the command and its worker processes): the "
          "sum of their proportional set size (PSS, pages shared after a fork split between the processes "
          "sharing them) sampled from `/proc` by a small launcher, or the largest single process's "
          "`ru_maxrss` if higher (so the bench's own memory is not counted); the largest over the runs.", ""]
    L += speed_lines(s)
    if "scaling" in r:
        L += ["", "## 3. How cost grows", "",
              "Ours only, end to end (`boundaries build … -q` in a fresh subprocess, one run each): k copies of the "
              "Val-de-Marne table and outlines, copy i translated by a multiple of 40 km in Lambert-93 and renamed "
              "to département `{i+1:02d}`, written as CSV.gz + GeoJSON in a temporary folder. A size is run only "
              "if its time, projected from the previous sizes, fits in the bench's time budget "
              f"(`--budget`, {r['budget']:.0f} s for the whole run).", ""]
        L += scaling_lines(r["scaling"])
    if "ablation" in r:
        L += ["", "## 4. Each accuracy step, switched off", "",
              "Ours with one step of `boundaries.Parameters` turned off at a time (the same data and "
              "protocols as above; Val-de-Marne on the seed-0 split only). A step is kept only where it pays.", ""]
        L += ablation_lines(r["ablation"])
    if "simplification" in r:
        L += ["", "## 5. Simplification that keeps the partition", "",
              "Val-de-Marne built with the defaults, written as GeoJSON plain, simplified by `--simplify` "
              "(`shapely.coverage_simplify` per commune, the outline kept), and simplified naively "
              "(`shapely.simplify` on each polygon alone, outline included), each checked by `boundaries check` "
              "against the commune outlines (overlaps and gaps counted above 1 m² and 5 cm wide).", ""]
        L += simplification_lines(r["simplification"])
    return L


def write_results(path: Path, env: dict, r: dict, quick: bool, seconds: float) -> str:
    """Write the whole RESULTS.md to ``path``; return the summary table (for the README block)."""
    L = header_lines(env, quick)
    summary = summary_lines(r, quick)
    L += ["", "## Summary", ""] + summary
    notes = caveat_lines(r)
    L += ["", "Where ours is not better:", ""] + ([f"- {n}" for n in notes] or ["- nowhere in this run."])
    L += _accuracy(r) + _cost(r)
    if r.get("national"):
        L += [""] + national_lines(r["national"])
    if r.get("land"):
        L += [""] + land_lines(r["land"])
    if r.get("uses"):
        L += [""] + uses_lines(r["uses"])
    if r.get("web"):
        L += [""] + web_lines(r["web"])
    L += ["", f"Bench run time: {seconds:.0f} s."]
    write_text(path, "\n".join(L) + "\n")
    return "\n".join(summary)
