"""All France at national shape: ``boundaries build`` on generated tables of 1, 4 and 16 M rows.

At each size ``--all -j 2`` on the sorted Parquet table (one row group per département),
``-j 1`` beside it at the smaller sizes, a resumed run at the largest; then, at the
largest size, the unsorted layouts — a Parquet whose row groups each span all
départements and a shuffled CSV.gz — each with the natural command (no ``--all``) and
with ``--all``. Every output is a FlatGeobuf whose SHA-256 is compared with that of the
sorted ``--all -j 2`` run at the same size (the golden line: the output does not depend
on the layout, the command or the job count). Runs that would not fit in the section's
time budget are skipped, and said so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from ..common import ROOT, log
from ..measure import ChildFailed, run_child

NATIONAL_ROWS = 1_000_000  # the 1× size
NATIONAL_DEPARTEMENTS = 6  # at 1×, scaled with the rows (6 / 24 / 96)
NATIONAL_FACTORS = (1, 4, 16)
NATIONAL_SEED = 0
NATIONAL_JOBS = 2
NATIONAL_JOBS1_SIZES = 2  # -j 1 too at the first this many sizes (1 M and 4 M rows)
NATIONAL_BUDGET = 2700.0  # seconds for the whole section (generation included), default
MAX_DEPARTEMENTS = 96  # what benchmarks.synth writes at most
#: The issue's targets: all France (16 M rows) with --jobs 2 on this 2-core, 24 GB machine.
TARGET_ROWS, TARGET_SECONDS, TARGET_MEMORY = 16_000_000, 150.0, 3e9
#: Generated national-shape tables are kept here between bench runs (outside the repository).
CACHE = Path(os.environ.get("BOUNDARIES_BENCH_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "boundaries-bench")
#: How a generated folder's rows cost in time, to project a generation not yet cached
#: (measured: 16 M rows in ~90 s; doubled for a busy machine); the unsorted layouts cost more.
SYNTH_SECONDS_PER_ROW = 12e-6
SYNTH_LAYOUTS_SECONDS_PER_ROW = 30e-6
#: The address tables of a generated folder, by layout (``benchmarks.synth --layout both
#: --csv --csv-order shuffled`` writes all three).
TABLES = {"sorted": "addresses.parquet", "mixed": "addresses.mixed.parquet", "csv": "addresses.csv.gz"}
#: The unsorted runs at the largest size: (layout, command); "natural" is without ``--all``.
LAYOUT_RUNS = (("mixed", "natural"), ("mixed", "all"), ("csv", "natural"), ("csv", "all"))
#: A layout run's time, projected as this many times the sorted ``--all`` run's at its size.
LAYOUT_PROJECTION = 2.0


def synth_key(rows: int, departements: int, seed: int, layouts: bool = False) -> str:
    """The cache folder's name: the generator's arguments and a hash of its source."""
    gen = hashlib.sha256((ROOT / "benchmarks" / "synth.py").read_bytes()).hexdigest()[:12]
    return f"synth-{rows}r-{departements}d-s{seed}{'-layouts' if layouts else ''}-{gen}"


def _names(layouts: bool) -> tuple[str, ...]:
    tables = tuple(TABLES.values()) if layouts else (TABLES["sorted"],)
    return tables + ("communes.gpkg", "summary.json")


def _found(folder: Path, seconds: float, cached: bool, layouts: bool) -> dict:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    names = [TABLES["sorted"]] + ([TABLES["mixed"], TABLES["csv"]] if layouts else [])
    return {"folder": folder, "summary": summary, "cached": cached, "seconds": seconds, "layouts": layouts,
            "parquet_bytes": (folder / TABLES["sorted"]).stat().st_size,
            "bytes": {name: (folder / name).stat().st_size for name in names}}


def synth_inputs(rows: int, departements: int, seed: int, cache: Path, timeout: float | None = None,
                 layouts: bool = False) -> dict:
    """The generated tables, ``communes.gpkg`` and ``summary.json`` for these arguments, in ``cache``.

    Found there when an earlier run wrote them (same arguments, same ``benchmarks/synth.py``),
    else written once by ``python -m benchmarks.synth`` in a child process, into a temporary
    folder renamed when complete (a cut run leaves no half-written folder behind). With
    ``layouts``, the folder also holds the unsorted Parquet and the shuffled CSV.gz
    (:data:`TABLES`).

    Returns
    -------
    dict
        ``folder``, ``summary``, ``cached``, ``seconds`` (generation time, 0 if cached) and
        the files' sizes, or ``cut`` if the generation ran past ``timeout``.
    """
    folder = Path(cache) / synth_key(rows, departements, seed, layouts)
    names = _names(layouts)
    if all((folder / n).is_file() for n in names):
        return _found(folder, 0.0, True, layouts)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    extra = ["--layout", "both", "--csv", "--csv-order", "shuffled"] if layouts else []
    try:
        g = run_child([sys.executable, "-m", "benchmarks.synth", "--rows", rows, "--departements", departements,
                       "--seed", seed, *extra, "-o", tmp, "-q"], timeout=timeout)
        if g.get("cut"):
            return {"folder": folder, "cut": True, "seconds": g["seconds"]}
        try:
            if folder.exists() and not all((folder / n).is_file() for n in names):
                shutil.rmtree(folder)  # incomplete: written by hand or by an older bench
            tmp.rename(folder)
        except OSError:  # written meanwhile by another bench run: keep that one
            if not all((folder / n).is_file() for n in names):
                raise
        return _found(folder, g["seconds"], False, layouts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def national_cmd(folder: Path, out: Path, jobs: int, layout: str = "sorted", command: str = "all") -> list:
    """``boundaries build TABLE --communes communes.gpkg [--all] -j J -q -o OUT``."""
    return [Path(sys.executable).parent / "boundaries", "build", folder / TABLES[layout],
            "--communes", folder / "communes.gpkg", *(["--all"] if command == "all" else []),
            "-j", jobs, "-q", "-o", out]


def _remove_outputs(out: Path) -> None:
    shutil.rmtree(Path(f"{out}.parts"), ignore_errors=True)
    out.unlink(missing_ok=True)
    out.with_suffix(".report.json").unlink(missing_ok=True)


def sha256(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def why_not(r: dict) -> str | None:
    """Why a run has no numbers (None when it has them)."""
    if r.get("skipped"):
        if r.get("projected") is not None:
            return f"not run: projected ≈ {r['projected']:.0f} s, past the section's deadline"
        return f"not run: {r.get('reason', 'past the deadline')}"
    if r.get("cut"):
        return f"cut: {r.get('reason', 'at the deadline')} (after {r['seconds']:.0f} s)"
    if r.get("error"):
        return "failed (the error is below the tables)"
    if "seconds" not in r:
        return "interrupted"
    return None


def national_runs(n: dict, kind: str = "build", jobs: int | None = None, layout: str | None = "sorted",
                  command: str | None = "all") -> list[dict]:
    """The runs of this kind, job count, layout and command that finished, in order (None: any)."""
    return [r for r in n.get("runs", []) if r["kind"] == kind and (jobs is None or r["jobs"] == jobs)
            and (layout is None or r.get("layout", "sorted") == layout)
            and (command is None or r.get("command", "all") == command) and why_not(r) is None]


def national_target_run(n: dict) -> dict | None:
    """The sorted ``--all -j 2`` run at all-France size, if it finished."""
    return next((r for r in national_runs(n, "build", 2) if r["rows"] == TARGET_ROWS), None)


def plan_runs(sizes: list[dict], jobs: int, jobs1_sizes: int) -> list[dict]:
    """The runs in order: ``-j jobs`` at each size (``-j 1`` right after at the first
    ``jobs1_sizes``, so both see about the same load), the resume, then the unsorted layouts."""
    def step(kind, size, j, layout="sorted", command="all"):
        return {"kind": kind, "size": size, "jobs": j, "layout": layout, "command": command, "deferred": False}

    plan = []
    for i, s in enumerate(sizes):
        plan.append(step("build", s, jobs))
        if i < jobs1_sizes and jobs != 1:
            plan.append(step("build", s, 1))
    plan.append(step("resume", sizes[-1], jobs))
    plan += [step("build", sizes[-1], jobs, layout, command) for layout, command in LAYOUT_RUNS]
    return plan


def national(work: Path, deadline: float, cache: Path = CACHE, rows: int = NATIONAL_ROWS,
             departements: int = NATIONAL_DEPARTEMENTS, factors=NATIONAL_FACTORS, seed: int = NATIONAL_SEED,
             jobs: int = NATIONAL_JOBS, jobs1_sizes: int = NATIONAL_JOBS1_SIZES, res: dict | None = None) -> dict:
    """All France at national shape: ``boundaries build … -j 2`` on generated tables of
    ``rows × k`` rows (``departements × k`` départements, at most 96) for each ``k`` of ``factors``.

    Runs the steps of :func:`plan_runs`. Each timed run but the resume starts without a
    parts folder, so nothing is reused. A run whose projected time would end after
    ``deadline`` (a ``time.perf_counter()`` value) is skipped, and one still going at the
    deadline is killed; either is said so in ``res``, which holds whatever was measured
    (pass a dict to keep it if this raises). A ``-j 1`` run that would leave too little
    time for the larger ``-j jobs`` runs is put off to the end.
    """
    res = {} if res is None else res
    sizes = [{"k": k, "rows": rows * k, "departements": min(MAX_DEPARTEMENTS, departements * k)} for k in factors]
    res.update(base_rows=rows, seed=seed, jobs=jobs, cache=str(cache), sizes=sizes, runs=[], inputs={},
               started=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), load_start=os.getloadavg())
    section = _Section(res, work / "national", deadline, Path(cache), seed, sizes, jobs)
    plan = plan_runs(sizes, jobs, jobs1_sizes)
    i = 0
    while i < len(plan):
        section.step(plan[i], plan)
        i += 1
    for size in sizes:
        _remove_outputs(section.output(size["rows"], jobs))
    res["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    res["load_end"] = os.getloadavg()
    return res


class _Section:
    """The state of one national section while its plan runs: results, deadline, inputs."""

    def __init__(self, res: dict, out_dir: Path, deadline: float, cache: Path, seed: int, sizes, jobs: int):
        self.res, self.out_dir, self.deadline, self.cache = res, out_dir, deadline, cache
        self.seed, self.sizes, self.jobs = seed, sizes, jobs
        out_dir.mkdir(parents=True, exist_ok=True)

    def output(self, rows: int, jobs: int, layout: str = "sorted", command: str = "all") -> Path:
        return self.out_dir / f"n{rows}-{layout}-{command}-j{jobs}.fgb"

    def project(self, n: int) -> float | None:
        """The time of sorted ``--all -j jobs`` at ``n`` rows from the finished ones (growth no better than linear)."""
        prev = national_runs(self.res, "build", self.jobs)
        if not prev:
            return None
        last, base = prev[-1], prev[0]
        growth = (max(1.0, (last["seconds"] / base["seconds"]) / (last["rows"] / base["rows"]))
                  if len(prev) > 1 else 1.0)
        return last["seconds"] * (n / last["rows"]) * growth

    def reference(self, n: int) -> dict | None:
        """The sorted ``--all -j jobs`` run at ``n`` rows, if it finished: the golden output."""
        return next((r for r in national_runs(self.res, "build", self.jobs) if r["rows"] == n), None)

    def projected(self, st: dict, plan: list) -> tuple[float | None, bool]:
        """This step's projected seconds, and whether it was put off to the end of ``plan`` instead."""
        n, j = st["size"]["rows"], st["jobs"]
        if st["kind"] != "build":
            return None, False
        if st["layout"] != "sorted":
            ref = self.reference(n)
            base = ref["seconds"] if ref else self.project(n)
            return (None if base is None else LAYOUT_PROJECTION * base), False
        if j == self.jobs:
            return self.project(n), False
        first = self.reference(n)
        if not first:
            return None, False
        projected = 2 * first["seconds"]  # -j 1 after -j 2 at this size: at most about twice
        later = [self.project(x["rows"]) or 0 for x in self.sizes if x["rows"] > n]
        left = self.deadline - time.perf_counter()
        if not st["deferred"] and later and projected + sum(later) > left >= sum(later):
            plan.append({**st, "deferred": True})
            log(f"national: -j {j} at {n:,} rows put off to the end: ≈ {projected:.0f} s, and the larger "
                f"-j {self.jobs} runs need ≈ {sum(later):.0f} s of the {left:.0f} s left")
            return projected, True
        return projected, False

    def step(self, st: dict, plan: list) -> None:
        """Run one step of the plan (or say why not) and record it in ``res["runs"]``."""
        size, j = st["size"], st["jobs"]
        n = size["rows"]
        projected, deferred = self.projected(st, plan)
        if deferred:
            return
        run = {"kind": st["kind"], "k": size["k"], "rows": n, "departements": size["departements"], "jobs": j,
               "layout": st["layout"], "command": st["command"]}
        self.res["runs"].append(run)
        name = label(run)
        if st["kind"] == "resume" and not self.reference(n):
            run.update(skipped=True, reason=f"no finished -j {j} run at this size to resume")
            log(f"national: {name} skipped: {run['reason']}")
            return
        layouts = bool(LAYOUT_RUNS) and n == self.sizes[-1]["rows"]  # unsorted layouts: at the largest size only
        key = (n, size["departements"])
        cached = (self.cache / synth_key(n, size["departements"], self.seed, layouts) / "summary.json").is_file()
        if key not in self.res["inputs"] and projected is not None and not cached:
            projected += (SYNTH_LAYOUTS_SECONDS_PER_ROW if layouts else SYNTH_SECONDS_PER_ROW) * n
        left = self._left()
        if left <= 0 or (projected is not None and projected > left):
            run.update(skipped=True, projected=projected, reason="past the deadline")
            self.res["deadline_hit"] = self.res.get("deadline_hit") or left <= 0
            log(f"national: {name} skipped: projected "
                f"{'?' if projected is None else f'{projected:.0f}'} s, {max(left, 0):.0f} s left")
            return
        inp = self.inputs(size, layouts, run)
        if inp is None:
            return
        self.measure(st, run, inp)

    def _left(self) -> float:
        return self.deadline - time.perf_counter()

    def inputs(self, size: dict, layouts: bool, run: dict) -> dict | None:
        """The generated tables of this size (generated on first use), or None when they are not there."""
        n, key = size["rows"], (size["rows"], size["departements"])
        if key not in self.res["inputs"]:
            log(f"national: inputs {n:,} rows, {size['departements']} départements, seed {self.seed}"
                f"{', every layout' if layouts else ''} (cache {self.cache})")
            inp = synth_inputs(n, size["departements"], self.seed, self.cache, timeout=self._left(), layouts=layouts)
            self.res["inputs"][key] = inp
            if inp.get("cut"):
                run.update(cut=True, seconds=inp["seconds"], reason="generating its inputs ran past the deadline")
                self.res["deadline_hit"] = True
                log(f"national: generating {n:,} rows cut at the deadline after {inp['seconds']:.0f} s")
                return None
            how = "found in the cache" if inp["cached"] else f"written in {inp['seconds']:.1f} s"
            log(f"national: inputs {how}: {inp['summary']['communes']:,} communes, "
                f"{inp['summary']['stations']:,} stations")
        inp = self.res["inputs"][key]
        if inp.get("cut"):
            run.update(skipped=True, reason="its inputs were not generated")
            return None
        return inp

    def measure(self, st: dict, run: dict, inp: dict) -> None:
        """Time the command, read its report, hash its output against the golden one."""
        n, j, name = run["rows"], run["jobs"], label(run)
        out = self.output(n, j, run["layout"], run["command"])
        if run["kind"] == "build":
            _remove_outputs(out)  # nothing reused
        try:
            g = run_child(national_cmd(inp["folder"], out, j, run["layout"], run["command"]), timeout=self._left())
        except ChildFailed as e:  # a failed build: said in the tables, the other runs go on
            lines = [x.strip() for x in e.stderr.splitlines() if x.strip()]
            run.update(error=f"exit {e.rc}: " + (lines[-1][-400:] if lines else "no message"))
            log(f"national: {name} FAILED: {e}")
            _remove_outputs(out)
            return
        run.update(g)
        if g.get("cut"):
            run["reason"] = "still running at the deadline: killed"
            self.res["deadline_hit"] = True
            log(f"national: {name} cut at the deadline after {g['seconds']:.0f} s")
            _remove_outputs(out)
            return
        self.record(run, inp, out)
        keep = run["kind"] == "build" and j == self.jobs and run["layout"] == "sorted" and n == self.sizes[-1]["rows"]
        if not keep:  # that one is resumed next
            _remove_outputs(out)

    def record(self, run: dict, inp: dict, out: Path) -> None:
        """The run's counts from its report, its output's hash and how that compares with the golden one."""
        rep = json.loads(out.with_suffix(".report.json").read_text(encoding="utf-8"))
        deps = rep.get("departements") or {}
        run.update(stations_out=rep["stations_out"], communes_built=rep["communes_built"],
                   rows_used=rep["rows_used"], rows_read=rep["rows_read"], parts=len(deps),
                   parts_reused=sum(bool(d.get("cached")) for d in deps.values()),
                   stations_in_table=inp["summary"]["stations"], communes_in_table=inp["summary"]["communes"],
                   output_bytes=out.stat().st_size, sha256=sha256(out))
        ref = self.reference(run["rows"])
        run["golden"] = ("reference" if ref is run else "no reference" if ref is None
                         else "identical" if ref["sha256"] == run["sha256"] else "differs")
        # the natural command and --all on the same table must agree to the byte, whatever its order
        pair = next((r for r in self.res.get("runs", []) if r is not run and r.get("sha256")
                     and r["rows"] == run["rows"] and r.get("layout") == run.get("layout")
                     and r.get("command") != run.get("command") and r["kind"] == "build"), None)
        if pair is not None:
            run["pair"] = pair["pair"] = "identical" if pair["sha256"] == run["sha256"] else "differs"
        g = run
        log(f"national: {label(run)}: {g['seconds']:.1f} s (CPU {g['cpu']:.1f} s), peak memory "
            f"{g['mem'] / 1e9:.2f} GB (tree RSS {g['rss'] / 1e9:.2f} GB, largest process "
            f"{g['rss_single'] / 1e9:.2f} GB), {run['stations_out']:,} stations in {run['communes_built']:,} "
            f"communes, {run['parts_reused']}/{run['parts']} parts reused; output {run['golden']}; others' CPU "
            + ("?" if g.get("others") is None else f"{g['others']:.2f} cores"))


def label(run: dict) -> str:
    """How the log names a run: ``build -j 2 at 1,000,000 rows`` (sorted ``--all``), or with its layout."""
    how = "" if run.get("layout", "sorted") == "sorted" else f" {run['layout']} {run['command']}"
    return f"{run['kind']}{how} -j {run['jobs']} at {run['rows']:,} rows"
