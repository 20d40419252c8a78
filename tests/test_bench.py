"""Smoke test of the bench: `python -m benchmarks.run --quick` writes a complete results file.

Only the structure and the (seeded) accuracy numbers are checked, never timings.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip().strip("*"))


def test_quick_bench_writes_sections_and_numbers(tmp_path):
    readme_before = (ROOT / "README.md").read_text()
    out = tmp_path / "R.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
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
