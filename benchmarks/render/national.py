"""Section 6, all France at national shape: its tables, its README row and its caveats."""

from __future__ import annotations

from ..experiments.national import (
    TABLES, TARGET_MEMORY, TARGET_ROWS, TARGET_SECONDS, national_runs, national_target_run, why_not,
)
from ..measure import SAMPLE_PERIOD
from .markdown import GB, cores, gb, table

NAT_START, NAT_END = "<!-- national:start -->", "<!-- national:end -->"

#: How the tables name each layout of the address table.
LAYOUT_NAMES = {
    "sorted": f"Parquet sorted by commune, one row group per département (`{TABLES['sorted']}`)",
    "mixed": f"Parquet shuffled, fixed-size row groups each spanning all départements (`{TABLES['mixed']}`)",
    "csv": f"CSV.gz shuffled (`{TABLES['csv']}`)",
}


def command_name(r: dict) -> str:
    """The command of a run as the tables name it."""
    if r.get("command", "all") == "all":
        return f"`--all -j {r['jobs']}`"
    return f"`-j {r['jobs']}` (natural: no `--all`)"


def _intro(n: dict, env: dict | None) -> list[str]:
    L = ["## 6. All France at national shape", "",
         "`boundaries build DIR/TABLE --communes DIR/communes.gpkg [--all] -j J -q -o OUT.fgb` end to "
         "end in a fresh subprocess (one run each), on tables written by `python -m benchmarks.synth --rows N "
         f"--departements K --seed {n['seed']}` ({n['base_rows']:,} rows × "
         f"{', '.join(str(s['k']) for s in n['sizes'])}, the départements scaled alike, at most 96; kept "
         "between bench runs in a cache folder outside the repository, keyed by the arguments and "
         f"the generator's source hash: `{n['cache']}`). Before each timed run the parts folder "
         "`OUT.fgb.parts/` is deleted, so nothing is reused, except in the *resume* run. Peak memory: that of the "
         "whole process tree (the command and its pool workers): their summed PSS (pages shared after the fork "
         "split between the processes), sampled from `/proc` every few seconds once the processes are GB-sized "
         "(reading it costs the kernel a page-table walk, kept under 2 % of a core), with the summed RSS "
         f"(every {SAMPLE_PERIOD:g} s; each shared page counted in every process: an over-count) and the largest "
         "single process "
         "(`ru_maxrss`) beside it; 1 GB = 10⁹ bytes. *Built*: the stations and communes the run's report "
         "(`OUT.report.json`: `stations_out`, `communes_built`) says it built, against those of the generated "
         "table. *Others' CPU*: the cores the rest of the machine kept busy on average during the run (all busy "
         "time in `/proc/stat` less the command's own CPU time, over its wall time): on 2 cores, anything above "
         "0 slows the command's wall time down. *Output*: the SHA-256 of the run's FlatGeobuf against that of "
         "the sorted `--all` run at the same size, and (*other command*) against the same table built by the "
         "other command: that one must be identical, the natural command and `--all` giving the same bytes; "
         "against the sorted table a shuffled one may differ, as the cleaning breaks some ties between "
         "equidistant points by the rows' order (one row of 16 M in the generated table)."]
    if env:
        L += ["", f"Measured on its own (`python -m benchmarks.run --only national`) from {n['started']} to "
              f"{n.get('finished', '?')}, commit {env['commit']}"
              + (f" with uncommitted changes in {', '.join(env['modified'])}" if env["modified"] else "")
              + f", package source hash `{env['measured']}`; load average "
              + "{:.2f} {:.2f} {:.2f}".format(*n["load_start"]) + " at its start, "
              + ("{:.2f} {:.2f} {:.2f}".format(*n["load_end"]) if "load_end" in n else "?") + " at its end."]
    return L


def _inputs(n: dict) -> list[str]:
    rows = []
    for s in n["sizes"]:
        inp = n["inputs"].get((s["rows"], s["departements"]))
        if inp is None or inp.get("cut"):
            rows.append([f"{s['k']}×", f"{s['rows']:,}", s["departements"], "", "", "", "",
                         "not generated" if inp is None else f"cut after {inp['seconds']:.0f} s"])
            continue
        sm, b = inp["summary"], inp.get("bytes", {})
        others = ", ".join(f"`{name}` {b[name] / 1e6:,.1f} MB" for name in (TABLES["mixed"], TABLES["csv"])
                           if name in b) or "—"
        rows.append([f"{s['k']}×", f"{sm['rows']:,}", sm["departements"], f"{sm['communes']:,}", f"{sm['stations']:,}",
                     f"{inp['parquet_bytes'] / 1e6:,.1f} MB", others,
                     "from the cache" if inp["cached"] else f"written in {inp['seconds']:.0f} s"])
    return ["", "Inputs:", ""] + table(["size", "rows", "départements", "communes", "stations", "addresses.parquet",
                                        "unsorted layouts", "this run"], rows)


def _built(r: dict) -> str:
    return (f"{r['stations_out']:,} / {r['communes_built']:,} "
            f"(of {r['stations_in_table']:,} / {r['communes_in_table']:,})")


def _by_size(n: dict) -> list[str]:
    jobs = n["jobs"]
    base = next((r for r in national_runs(n, "build", jobs) if r["k"] == n["sizes"][0]["k"]), None)
    rows = []
    for r in (r for r in n.get("runs", []) if r["kind"] == "build" and r["jobs"] == jobs
              and r.get("layout", "sorted") == "sorted"):
        why = why_not(r)
        head = [f"{r['k']}×", f"{r['rows']:,}", r["departements"]]
        if why:
            rows.append(head + [why] + [""] * 10)
            continue
        rows.append(head + [
            _built(r), f"{r['seconds']:.1f}", f"{r['cpu']:.1f}", f"{r['rows'] / r['seconds']:,.0f}",
            f"{r['seconds'] / (r['rows'] / 1e6):.2f}", gb(r["mem"]), gb(r["rss"]), gb(r["rss_single"]),
            f"{r['seconds'] / base['seconds']:.2f}" if base else "—",
            f"{(r['seconds'] / base['seconds']) / (r['rows'] / base['rows']):.2f}" if base else "—",
            cores(r)])
    L = ["", f"By size, sorted Parquet, `--all -j {jobs}`:", ""]
    L += table(["size", "rows", "départements", "stations / communes built (of the table's)", "wall s", "CPU s",
                "rows/s", "s per M rows", "peak memory (tree PSS)", "tree RSS sum", "largest process",
                "time / 1×", "time per row / 1×", "others' CPU"], rows)
    done = national_runs(n, "build", jobs)
    if base and len(done) > 1:
        L += ["", "Growth (linear: time / 1× equal to the row ratio, time per row / 1× equal to 1): " + "; ".join(
            f"time({r['k'] / base['k']:g}×) / time(1×) = **{r['seconds'] / base['seconds']:.2f}** "
            f"(per row {(r['seconds'] / base['seconds']) / (r['rows'] / base['rows']):.2f})"
            for r in done[1:]) + "."]
    return L


def _met(ok: bool, ratio: float) -> str:
    return "**yes**" if ok else f"**no** ({ratio:.2f}× the target)"


def _targets(n: dict) -> list[str]:
    t = national_target_run(n)
    L = ["", f"Targets (issue): all France, {TARGET_ROWS:,} rows, sorted Parquet, `--all -j 2`, on this machine:", ""]
    if not t:
        return L + [f"Not measured in this run (no finished `-j 2` run at {TARGET_ROWS:,} rows)."]
    return L + table(["target", "measured", "met"], [
        [f"wall time ≤ {TARGET_SECONDS:.0f} s", f"{t['seconds']:.1f} s",
         _met(t["seconds"] <= TARGET_SECONDS, t["seconds"] / TARGET_SECONDS)],
        [f"peak memory ≤ {TARGET_MEMORY / GB:.0f} GB",
         f"{gb(t['mem'])} (tree PSS; tree RSS sum {gb(t['rss'])}, largest process {gb(t['rss_single'])})",
         _met(t["mem"] <= TARGET_MEMORY, t["mem"] / TARGET_MEMORY)]])


def _jobs1(n: dict) -> list[str]:
    j1_all = [r for r in n.get("runs", []) if r["kind"] == "build" and r["jobs"] == 1]
    if not j1_all:
        return []
    done = national_runs(n, "build", n["jobs"])
    rows, noisy = [], False
    for r in j1_all:
        why = why_not(r)
        two = next((x for x in done if x["rows"] == r["rows"]), None)
        if why or not two:
            rows.append([f"{r['rows']:,}", why or "no `-j 2` run at this size"] + [""] * 8)
            continue
        rows.append([f"{r['rows']:,}", f"{r['seconds']:.1f}", f"{two['seconds']:.1f}",
                     f"**{r['seconds'] / two['seconds']:.2f}**", f"{r['cpu']:.1f}", f"{two['cpu']:.1f}",
                     gb(r["mem"]), gb(two["mem"]), cores(r), cores(two)])
        if not 1 <= r["seconds"] / two["seconds"] <= 2.05:
            noisy = True
    L = ["", "`-j 1` against `-j 2` (2 cores; speed-up 2 is the most there is):", ""]
    L += table(["rows", "`-j 1` wall s", "`-j 2` wall s", "speed-up", "`-j 1` CPU s", "`-j 2` CPU s",
                "`-j 1` peak memory", "`-j 2` peak memory", "others' CPU, `-j 1`", "others' CPU, `-j 2`"], rows)
    if noisy:
        L += ["", "On 2 cores a speed-up above 2 can only come from the rest of the machine taking more of it "
              "during the `-j 1` run than during the `-j 2` one (the *others' CPU* columns); one below 1 from "
              "the reverse, or from too few départements to share between the two workers while paying for "
              "the pool. The CPU seconds are less affected by the machine's load."]
    return L


def _resume(n: dict) -> list[str]:
    res_all = [r for r in n.get("runs", []) if r["kind"] == "resume"]
    if not res_all:
        return []
    r, jobs = res_all[0], n["jobs"]
    first = next((x for x in national_runs(n, "build", jobs) if x["rows"] == r["rows"]), None)
    why = why_not(r)
    L = ["", f"Resume: the same command run again at {r['rows']:,} rows with its parts folder kept:", ""]
    if why or not first:
        return L + [why or "not run"]
    L += table(["run", "wall s", "CPU s", "peak memory", "parts reused", "stations / communes built"], [
        [f"parts deleted first (`-j {jobs}`)", f"{first['seconds']:.1f}", f"{first['cpu']:.1f}",
         gb(first["mem"]), f"{first['parts_reused']} of {first['parts']}",
         f"{first['stations_out']:,} / {first['communes_built']:,}"],
        [f"parts kept (resume, `-j {r['jobs']}`)", f"{r['seconds']:.1f}", f"{r['cpu']:.1f}", gb(r["mem"]),
         f"{r['parts_reused']} of {r['parts']}", f"{r['stations_out']:,} / {r['communes_built']:,}"]])
    return L + ["", f"The resume took **{100 * r['seconds'] / first['seconds']:.0f} %** of the first run's wall "
                "time (it still reads each département's rows to hash them, then merges the parts and writes "
                "the output)."]


def _layout_row(r: dict) -> list:
    head = [LAYOUT_NAMES[r.get("layout", "sorted")], command_name(r)]
    why = why_not(r)
    if why:
        return head + [why] + [""] * 9
    return head + [f"{r['seconds']:.1f}", f"{r['cpu']:.1f}", gb(r["mem"]), gb(r["rss"]), gb(r["rss_single"]),
                   _built(r), "yes" if r["seconds"] <= TARGET_SECONDS else "**no**",
                   "yes" if r["mem"] <= TARGET_MEMORY else "**no**",
                   r.get("golden", "?") + (f"; other command: {r['pair']}" if r.get("pair") else ""), cores(r)]


def _layouts(n: dict) -> list[str]:
    last = n["sizes"][-1]["rows"]
    runs = [r for r in n.get("runs", []) if r["kind"] == "build" and r["rows"] == last and r["jobs"] == n["jobs"]]
    if not any(r.get("layout", "sorted") != "sorted" for r in runs):
        return []
    L = ["", f"Layouts and commands at {last:,} rows ({n['sizes'][-1]['departements']} départements), `-j {n['jobs']}`: "
         "the sorted table, a Parquet table whose row groups each hold rows of every département (shuffled "
         "with the seed, so no row group can be skipped by its statistics), and a shuffled CSV.gz, each "
         "built by the natural command (`boundaries build TABLE --communes communes.gpkg -o fr.fgb -j 2`) and "
         "with `--all` (the CSV then split first into one Parquet file per département, inside the timed run). "
         "The targets are those of all France (wall time and peak memory of the whole process tree):", ""]
    L += table(["table", "command", "wall s", "CPU s", "peak memory (tree PSS)", "tree RSS sum",
                "largest process", "stations / communes built (of the table's)",
                f"wall ≤ {TARGET_SECONDS:.0f} s", f"memory ≤ {TARGET_MEMORY / GB:.0f} GB",
                "output vs sorted `--all`", "others' CPU"], [_layout_row(r) for r in runs])
    return L


def _golden(n: dict) -> list[str]:
    """The golden line for the runs outside the layout table (``-j 1``, the resume)."""
    last = n["sizes"][-1]["rows"]
    others = [r for r in n.get("runs", []) if r.get("golden") not in (None, "reference")
              and not (r["kind"] == "build" and r["rows"] == last and r["jobs"] == n["jobs"])]
    if not others:
        return []
    return ["", "Golden line, the other runs (their FlatGeobuf against the sorted `--all` run's at the same size): "
            + "; ".join(f"{r['kind']} `-j {r['jobs']}` at {r['rows']:,} rows **{r['golden']}**" for r in others)
            + "."]


def _footer(n: dict) -> list[str]:
    L = []
    for r in (r for r in n.get("runs", []) if r.get("error")):
        L += ["", f"The {r['kind']} run ({LAYOUT_NAMES[r.get('layout', 'sorted')]}, {command_name(r)}) at "
              f"{r['rows']:,} rows failed: `{r['error']}`"]
    if n.get("interrupted"):
        L += ["", "**The section was interrupted**: the runs above are those finished before."]
    elif any(why_not(r) for r in n.get("runs", [])):
        L += ["", f"Runs without numbers were skipped or cut to keep the section within its time budget "
              f"(`--national-budget`, {n.get('budget', 0):.0f} s), or failed."]
    return L


def national_lines(n: dict, env: dict | None = None) -> list[str]:
    """Section 6: tables of the national runs, between ``NAT_START`` and ``NAT_END``.

    With ``env`` (the section measured on its own, ``--only national``), a line says when
    and on which code.
    """
    return ([NAT_START] + _intro(n, env) + _inputs(n) + _by_size(n) + _targets(n) + _jobs1(n) + _resume(n)
            + _layouts(n) + _golden(n) + _footer(n) + [NAT_END])


def national_summary_row(n: dict) -> list | None:
    """The README summary row: the 16 M run against the targets (or the largest run done)."""
    t = national_target_run(n)
    if t:
        return [f"All France, national shape ({t['rows']:,} rows, {t['departements']} départements), "
                f"sorted Parquet, `--all -j 2`: wall / peak memory (targets ≤ {TARGET_SECONDS:.0f} s / "
                f"≤ {TARGET_MEMORY / GB:.0f} GB)",
                f"{t['seconds']:.0f} s ({'met' if t['seconds'] <= TARGET_SECONDS else 'not met'}) / {gb(t['mem'])} "
                f"({'met' if t['mem'] <= TARGET_MEMORY else 'not met'})", "—"]
    done = national_runs(n, "build", n["jobs"])
    if not done:
        return None
    r = done[-1]
    target = next((x for x in n.get("runs", []) if x["kind"] == "build" and x["jobs"] == 2
                   and x.get("layout", "sorted") == "sorted" and x["rows"] == TARGET_ROWS), None)
    status = "not in this run" if target is None else (why_not(target) or "").split(" (")[0].split(":")[0]
    return [f"National shape, largest run ({r['rows']:,} rows, {r['departements']} départements), "
            f"`--all -j {r['jobs']}`: wall / peak memory (all France, {TARGET_ROWS:,} rows: {status})",
            f"{r['seconds']:.0f} s / {gb(r['mem'])}", "—"]


def national_caveats(n: dict) -> list[str]:
    """Every national target missed, growth worse than linear, run cut or failed, output that differs."""
    notes = []
    t = national_target_run(n)
    if t and t["seconds"] > TARGET_SECONDS:
        notes.append(f"All France ({t['rows']:,} rows, `-j 2`): {t['seconds']:.0f} s, over the {TARGET_SECONDS:.0f} s "
                     f"target ({t['seconds'] / TARGET_SECONDS:.2f}×).")
    if t and t["mem"] > TARGET_MEMORY:
        notes.append(f"All France ({t['rows']:,} rows, `-j 2`): peak memory {gb(t['mem'])}, over the "
                     f"{TARGET_MEMORY / GB:.0f} GB target.")
    if not t:
        notes.append(f"All France ({TARGET_ROWS:,} rows) was not measured in this run.")
    done = national_runs(n, "build", n["jobs"])
    if len(done) > 1:
        base, last = done[0], done[-1]
        k = last["rows"] / base["rows"]
        if last["seconds"] / base["seconds"] > 1.25 * k:
            notes.append(f"National shape: {k:g}× the rows cost {last['seconds'] / base['seconds']:.1f}× the wall "
                         "time of 1× — more than linear.")
    for r in n.get("runs", []):
        why, what = why_not(r), f"{r['kind']} {LAYOUT_NAMES[r.get('layout', 'sorted')]}, {command_name(r)}"
        if why and not r.get("skipped"):
            notes.append(f"National shape, {what} at {r['rows']:,} rows: {why}.")
        if r.get("pair") == "differs":
            notes.append(f"National shape, {what} at {r['rows']:,} rows: its output differs from the same "
                         "table's built by the other command (SHA-256).")
        if r.get("golden") == "differs" and r.get("layout", "sorted") == "sorted":
            notes.append(f"National shape, {what} at {r['rows']:,} rows: its output differs from the sorted "
                         "`--all` run's (SHA-256).")
        if not why and r.get("layout", "sorted") != "sorted" and r["rows"] == TARGET_ROWS and (
                r["seconds"] > TARGET_SECONDS or r["mem"] > TARGET_MEMORY):
            notes.append(f"All France, {what}: {r['seconds']:.0f} s / {gb(r['mem'])}, over the targets "
                         f"({TARGET_SECONDS:.0f} s / {TARGET_MEMORY / GB:.0f} GB).")
    return notes
