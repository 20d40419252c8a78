"""Smoke test of the bench: `python -m benchmarks.run --quick` writes a complete results file.

Only the structure and the (seeded) accuracy numbers are checked, never timings.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip().strip("*"))


def test_quick_bench_writes_sections_and_numbers(tmp_path):
    readme_before = (ROOT / "README.md").read_text()
    out = tmp_path / "R.md"
    # --quick runs the national section at 1 M rows; here at 20,000 (its own test checks it in depth)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out), "--cache", str(tmp_path / "cache"),
         "--national-rows", "20000", "--national-departements", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[bench" in proc.stderr  # progress lines go to stderr
    text = out.read_text()

    # header: machine, versions, date
    for label in ("| date |", "| machine |", "| Python |", "| boundaries |", "| shapely |", "GEOS",
                  "| geopandas |", "| pyogrio |", "GDAL", "| pyproj |", "PROJ", "| numpy |", "| pandas |"):
        assert label in text, label
    assert re.search(r"\| date \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \|", text)

    # sections
    for section in ("## Summary", "## 1. Accuracy against the plain-Voronoi yardstick",
                    "### The generated town", "## 2. Speed"):
        assert section in text, section
    assert "## 3. How cost grows" not in text  # --quick: no scaling
    # --quick: the national section at one size only (-j 2, its resume, -j 1)
    assert "## 6. All France at national shape" in text
    assert re.search(r"^\| 1× \| 20,000 \| 2 \| [\d,]+ / [\d,]+ \(of ", text, re.M)
    assert "| 4× |" not in text and re.search(r"^\| 20,000 \| [\d.]+ \| [\d.]+ \| \*\*[\d.]+\*\* \|", text, re.M)

    # reference scores: ours and the yardstick, IoU in [0, 1], area right in %
    rows = {m: re.search(rf"^\| {m} \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) % \| (\d+) \|$", text, re.M)
            for m in ("ours", "yardstick")}
    for m, row in rows.items():
        assert row, m
        mean, median, low, right, missing = (_number(g) for g in row.groups())
        assert 0 <= low <= median <= 1 and 0 <= mean <= 1 and 0 < right <= 100, m
        assert missing == 0
    # the seeded town scores are what the tool is for: ours beats plain Voronoi on the truth
    assert _number(rows["ours"].group(1)) > _number(rows["yardstick"].group(1))

    # hold-out: three seeds and their mean, both methods, and the agreement check
    for seed in (0, 1, 2):
        assert re.search(rf"^\| seed {seed} \| [\d,]+ \| [\d.]+ % \| [\d.]+ % \| [+-][\d.]+ \|", text, re.M)
    mean = re.search(r"^\| \*\*mean of 3\*\* \| [\d,]+ \| \*\*([\d.]+) %\*\* \| \*\*([\d.]+) %\*\*", text, re.M)
    assert mean and 50 < _number(mean.group(1)) <= 100 and 50 < _number(mean.group(2)) <= 100
    assert "Per commune (4 communes" in text
    # ours' own report.holdout and the build from the training rows alone agree with the bench's scoring
    assert "says the same as the scoring above: **yes**" in text
    assert "ours scores the same: **yes** (0 test points classified differently)" in text

    # speed: both methods, wall and CPU seconds, rows/s, peak memory, load, and the ratio
    for label in ("ours (`boundaries build … -q`)", "yardstick (`python -m benchmarks.yardstick`)"):
        row = re.search(rf"^\| {re.escape(label)} \| ([\d.]+) \| [\d., ]+ \| ([\d.]+) \| ([\d,]+) \| ([\d,]+) MiB "
                        r"\| [\d.]+ \|$", text, re.M)
        assert row, label
        assert all(_number(g) > 0 for g in row.groups()), label
    assert re.search(r"Ratio yardstick / ours \(median wall times\): \*\*[\d.]+\*\*", text)
    assert "Where ours is not better:" in text
    assert re.search(r"hashes to `[0-9a-f]{12}`", text)  # the package source measured

    # a quick run never touches the README
    assert (ROOT / "README.md").read_text() == readme_before


# --------------------------------------------------------------------------- the national section

NATIONAL_TINY = ["--national-rows", "20000", "--national-departements", "2", "--national-factors", "1,2"]


def _run_only_national(tmp_path, *extra):
    out = tmp_path / "R.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "national", "--out", str(out), "--no-readme",
         "--cache", str(tmp_path / "cache"), *NATIONAL_TINY, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return out.read_text(), proc.stderr


def test_national_section_tiny(tmp_path):
    """20,000 and 40,000 rows (2 and 4 départements): every table filled, with numbers that add up."""
    readme_before = (ROOT / "README.md").read_text()
    text, log = _run_only_national(tmp_path)
    # -j 1 right after -j 2 at each size (the same load from the rest of the machine), then the resume
    order = re.findall(r"national: ((?:build|resume) -j \d at [\d,]+ rows): ", log)
    assert order == ["build -j 2 at 20,000 rows", "build -j 1 at 20,000 rows", "build -j 2 at 40,000 rows",
                     "build -j 1 at 40,000 rows", "resume -j 2 at 40,000 rows"], order
    assert text.count("<!-- national:start -->") == 1 and text.count("<!-- national:end -->") == 1
    assert "## 6. All France at national shape" in text
    assert "## 1. Accuracy" not in text  # the other sections did not run
    # inputs, generated into the given cache (not the default one)
    assert re.search(r"^\| 1× \| 20,000 \| 2 \| [\d,]+ \| [\d,]+ \| [\d.]+ MB \| — \| written in \d+ s \|$", text, re.M)
    assert re.search(r"^\| 2× \| 40,000 \| 4 \| ", text, re.M)
    assert len(list((tmp_path / "cache").glob("synth-20000r-2d-s0-*/addresses.parquet"))) == 1

    num = r"([\d.,]+)"
    rows = {}
    for k, n, deps in ((1, 20_000, 2), (2, 40_000, 4)):
        m = re.search(rf"^\| {k}× \| {n:,} \| {deps} \| {num} / {num} \(of {num} / {num}\) \| {num} \| {num} \| {num} "
                      rf"\| {num} \| {num} GB \| {num} GB \| {num} GB \| {num} \| {num} \| {num} cores \|$", text, re.M)
        assert m, (k, text)
        (st, co, st_table, co_table, wall, cpu, rate, per_m, mem, rss, single, ratio, per_row, others) = (
            _number(g) for g in m.groups())
        # the run did the work: every generated station and commune built
        assert st > 0 and co > 0 and st == st_table and co == co_table, m.group(0)
        assert wall > 0 and cpu > 0 and rate > 0
        slack = 0.05 / wall + 0.005  # the wall time is shown to 0.1 s
        assert abs(rate - n / wall) <= slack * rate + 1  # rows/s is rows over the wall time shown
        assert abs(per_m - wall / (n / 1e6)) <= slack * per_m + 0.01
        assert 0 < single <= rss + 0.01 and 0 < mem and 0 <= others <= (os.cpu_count() or 2) + 0.5
        rows[k] = (wall, ratio, per_row)
    assert rows[1][1] == 1.00 and rows[1][2] == 1.00
    assert abs(rows[2][1] - rows[2][0] / rows[1][0]) <= rows[2][1] * (0.05 / rows[1][0] + 0.05 / rows[2][0]) + 0.01
    growth = re.search(r"time\(2×\) / time\(1×\) = \*\*([\d.]+)\*\* \(per row ([\d.]+)\)", text)
    assert growth and abs(_number(growth.group(1)) - rows[2][1]) < 0.01
    assert f"no finished `-j 2` run at {16_000_000:,} rows" in text  # the target size was not run

    # -j 1 against -j 2 at both sizes
    for n in (20_000, 40_000):
        m = re.search(rf"^\| {n:,} \| {num} \| {num} \| \*\*{num}\*\* \| {num} \| {num} \| {num} GB \| {num} GB "
                      rf"\| {num} cores \| {num} cores \|$", text, re.M)
        assert m, n
        one, two, speedup = (_number(g) for g in m.groups()[:3])
        assert one > 0 and two > 0 and abs(speedup - one / two) <= 0.01 + speedup * (0.05 / one + 0.05 / two)
    # the resume reuses every part of the largest size and builds the same stations
    first = re.search(r"^\| parts deleted first \(`-j 2`\) \| [\d.]+ \| [\d.]+ \| [\d.]+ GB \| 0 of 4 \| ([\d,]+) / ",
                      text, re.M)
    again = re.search(r"^\| parts kept \(resume, `-j 2`\) \| ([\d.]+) \| [\d.]+ \| [\d.]+ GB \| 4 of 4 \| ([\d,]+) / ",
                      text, re.M)
    assert first and again and first.group(1) == again.group(2) and _number(again.group(1)) > 0
    # the unsorted layouts at the largest size, each with the natural command and with --all, after the resume
    layouts = re.findall(r"national: build (mixed|csv) (natural|all) -j 2 at 40,000 rows: ", log)
    assert layouts == [("mixed", "natural"), ("mixed", "all"), ("csv", "natural"), ("csv", "all")], layouts
    assert log.index("resume -j 2 at 40,000 rows: ") < log.index("build mixed natural")
    for table, command in (("Parquet shuffled", "`-j 2` (natural: no `--all`)"), ("Parquet shuffled", "`--all -j 2`"),
                           ("CSV.gz shuffled", "`-j 2` (natural: no `--all`)"), ("CSV.gz shuffled", "`--all -j 2`")):
        m = re.search(rf"^\| {re.escape(table)}[^|]*\| {re.escape(command)} \| {num} \| {num} \| {num} GB \| {num} GB "
                      rf"\| {num} GB \| {num} / {num} \(of {num} / {num}\) \| (yes|\*\*no\*\*) \| (yes|\*\*no\*\*) "
                      rf"\| (\w+); other command: (\w+) \| {num} cores \|$", text, re.M)
        assert m, (table, command)
        built, of = m.groups()[5:7], m.groups()[7:9]
        assert built == of  # every station and commune built
        # the golden line: the natural command and --all give the same bytes on the same table; against the
        # sorted table's the cell says it (ties between equidistant points may follow the rows' order)
        assert m.group(13) == "identical", (table, command)
        assert m.group(12) in ("identical", "differs"), (table, command)
    assert re.search(r"^\| Parquet sorted by commune[^|]*\| `--all -j 2` \| .* \| reference \| [\d.]+ cores \|$",
                     text, re.M)
    golden = re.search(r"^Golden line, the other runs .*$", text, re.M)
    assert golden and golden.group(0).count("**identical**") == 3 and "differs" not in text  # -j 1 twice, resume
    assert (ROOT / "README.md").read_text() == readme_before


def test_national_section_past_its_deadline_still_writes(tmp_path):
    """No time left: nothing runs or is generated, and the section says so instead of failing."""
    text, _ = _run_only_national(tmp_path, "--national-budget", "0")
    assert "## 6. All France at national shape" in text
    # -j 2 and -j 1 at both sizes, the 4 unsorted runs, and the sorted one again beside them in the layout table
    assert text.count("not run: past the deadline") == 9
    assert "not run: no finished -j 2 run at this size to resume" in text
    assert text.count("| not generated |") == 2
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_synth_inputs_are_cached_by_their_arguments(tmp_path):
    from benchmarks.experiments.national import synth_inputs

    a = synth_inputs(5_000, 1, 0, tmp_path)
    assert not a["cached"] and a["summary"]["rows"] == 5_000
    b = synth_inputs(5_000, 1, 0, tmp_path)
    assert b["cached"] and b["folder"] == a["folder"] and b["seconds"] == 0
    c = synth_inputs(5_000, 1, 1, tmp_path)
    assert not c["cached"] and c["folder"] != a["folder"]
    d = synth_inputs(5_000, 1, 0, tmp_path, layouts=True)  # the unsorted layouts: a folder of their own
    assert not d["cached"] and d["folder"] != a["folder"] and d["layouts"]
    assert set(d["bytes"]) == {"addresses.parquet", "addresses.mixed.parquet", "addresses.csv.gz"}
    assert synth_inputs(5_000, 1, 0, tmp_path, layouts=True)["cached"]
    assert not list(tmp_path.glob("*.tmp-*"))  # no temporary folder left


def test_write_section_replaces_only_its_block(tmp_path):
    from benchmarks.render.files import NAT_END, NAT_START, write_section

    path = tmp_path / "R.md"
    path.write_text("# Benchmarks\n\n## 5. Other\n\nkept\n\nBench run time: 9 s.\n")
    write_section(path, {}, [NAT_START, "## 6. first", NAT_END], quick=False)
    text = path.read_text()
    assert text.index("kept") < text.index("## 6. first") < text.index("Bench run time: 9 s.")
    write_section(path, {}, [NAT_START, "## 6. second", NAT_END], quick=False)
    text = path.read_text()
    assert "## 6. second" in text and "first" not in text and text.count(NAT_START) == 1
    assert text.startswith("# Benchmarks\n\n## 5. Other\n\nkept\n") and text.endswith("Bench run time: 9 s.\n")


_POOL = """
import multiprocessing, os, time
from concurrent.futures import ProcessPoolExecutor

READY = {ready!r}

def hold(i):
    block = bytearray(200 * 2 ** 20)  # 200 MiB, touched
    # both workers hold their block at once, however loaded the machine: wait for the other's
    open(os.path.join(READY, str(i)), "w").close()
    while len(os.listdir(READY)) < 2:
        time.sleep(0.05)
    time.sleep(1.5)
    return len(block)

if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        print(sum(pool.map(hold, range(2))))
"""


def test_run_child_counts_the_workers_of_a_pool(tmp_path):
    """Two workers holding 200 MiB each at once: the tree's peak is about twice the largest process's."""
    from benchmarks.measure import run_child

    script = tmp_path / "pool.py"
    (tmp_path / "ready").mkdir()
    script.write_text(_POOL.replace("{ready!r}", repr(str(tmp_path / "ready"))))
    g = run_child([sys.executable, script])
    assert g["rss_single"] > 200 * 2 ** 20
    assert g["mem"] > 400 * 2 ** 20 and g["mem"] > 1.6 * g["rss_single"]
    assert g["rss"] >= g["mem"] * 0.9 and g["rss_upper"] >= g["rss"]
    assert g["procs"] >= 3 and not g["cut"]
    cut = run_child([sys.executable, script], timeout=0.5)
    assert cut["cut"] and cut["seconds"] < 5


def test_scaling_goes_on_after_a_skipped_size(monkeypatch, tmp_path):
    """A size skipped for the budget has no time: the next one is projected from the sizes run
    (the bench stopped with a KeyError when the 4× size was skipped)."""
    import time

    import benchmarks.experiments.scaling as scaling

    monkeypatch.setattr(scaling, "scaled_inputs",
                        lambda csv, communes, factors, folder: {k: (f"a{k}", f"b{k}", k * 10, k) for k in factors})
    monkeypatch.setattr(scaling, "run_child", lambda cmd: {"seconds": 100.0, "cpu": 1.0, "mem": 1, "load": 0.0})
    monkeypatch.setattr(scaling, "ours_cmd", lambda a, b, out: [])
    res = scaling.scaling("x", "y", (1, 4, 16), tmp_path, time.perf_counter() + 150)
    assert [(r["k"], r["skipped"]) for r in res] == [(1, False), (4, True), (16, True)]
    assert res[2]["projected"] == 1600.0  # from the 1× size's 100 s, not from the skipped 4×
