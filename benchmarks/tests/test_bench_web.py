"""The bench's web-map section (issue 21): ``boundaries web`` timed and its archives measured, in a budget.

Small: the town stands for Val-de-Marne, a national-shape table of 20,000 rows for all France.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from benchmarks.common import TOWN
from benchmarks.experiments import web as W
from benchmarks.render.web import WEB_END, WEB_START, line_row, web_lines
from benchmarks.run import parse_args

ROOT = Path(__file__).resolve().parents[2]
SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]
OLD = ("# Results\n\n<!-- uses:start -->\nuses kept\n<!-- uses:end -->\n\n"
       f"{WEB_START}\nan old web section\n{WEB_END}\n\nBench run time: 1 s.\n")


def test_only_web_measures_the_lines_and_replaces_only_its_section(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "val-de-marne-2016").symlink_to(TOWN)  # the town stands for the département
    out = tmp_path / "R.md"
    out.write_text(OLD)
    env = dict(os.environ, BOUNDARIES_SHARED_DATA=str(shared))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "web", "--out", out, "--cache", tmp_path / "cache",
         "--national-rows", "20000", "--national-departements", "2", "--web-factors", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "an old web section" not in text and text.count(WEB_START) == 1 and "uses kept" in text
    assert text.index("<!-- uses:end -->") < text.index(WEB_START) < text.index("Bench run time: 1 s.")
    run = r"[\d.]+ / [\d.]+ / [\d.]+ GB"
    town = re.search(rf"^\| Val-de-Marne 2016 \| ([\d,]+) \| ([\d,]+) / ([\d,]+) \| {run} \| {run} "
                     r"\| ([\d.]+) MB \| ([\d.]+) MB \| ([\d,]+) \| [\d.?]+ / [\d.?]+ \|$", text, re.M)
    assert town, text
    assert int(town[1].replace(",", "")) == sum(1 for _ in open(TOWN / "addresses.csv")) - 1  # rows read
    assert float(town[4]) > 0 and int(town[6].replace(",", "")) > 0
    summary = json.loads(next((tmp_path / "cache").glob("synth-20000r-2d-*/summary.json")).read_text())
    nat = re.search(r"^\| national shape, 20,000 rows \| 20,000 \| ([\d,]+) / ([\d,]+) \|", text, re.M)
    assert nat and int(nat[1].replace(",", "")) == summary["stations"]
    assert int(nat[2].replace(",", "")) == summary["communes"]
    assert "| target |" not in text  # 20,000 rows is not all France


def test_a_national_line_past_the_budget_is_skipped_with_its_projection(tmp_path):
    prev = {"rows": 1000, "build": {"seconds": 10.0}, "web": {"seconds": 5.0}, "bytes": 1}
    size = {"k": 16, "rows": 16000, "departements": 4}
    line = W.national_line(size, prev, tmp_path, tmp_path / "cache", 0, time.perf_counter() + 100)
    # (10 + 5) × 16, plus generating the 16,000 rows absent from the cache
    assert line["skipped"] and line["projected"] == pytest.approx(240 + W.nat.SYNTH_SECONDS_PER_ROW * 16000)
    assert "projected ≈ 240 s from the line before" in line["reason"]
    assert not (tmp_path / "cache").exists()  # nothing generated
    assert re.search(r"\| — \| — \| projected ≈ 240 s from the line before, \d+ s left \|\|\|\|$", line_row(line))


def test_no_budget_runs_nothing(tmp_path):
    res = W.web_bench(tmp_path, time.perf_counter(), TOWN, tmp_path / "cache", 20000, 2, (1,))
    assert [x["reason"] for x in res["lines"]] == ["no time left", "no time left"]
    assert not (tmp_path / "cache").exists()


def test_a_command_past_the_deadline_is_killed_and_said(tmp_path):
    line = {"name": "slow"}
    t0 = time.perf_counter()
    W.build_and_site(line, SLEEP, tmp_path / "s.gpkg", TOWN / "communes.geojson", tmp_path / "site", t0 + 1)
    assert time.perf_counter() - t0 < 20
    assert line["reason"].startswith("`boundaries build` still running at the deadline: killed after")
    assert "web" not in line and "bytes" not in line


def test_a_failed_command_gives_its_last_line(tmp_path):
    line = {"name": "bad"}
    cmd = W.build_cmd(tmp_path / "missing.csv", TOWN / "communes.geojson", tmp_path / "s.gpkg")
    W.build_and_site(line, cmd, tmp_path / "s.gpkg", TOWN / "communes.geojson", tmp_path / "site",
                     time.perf_counter() + 60)
    assert line["reason"].startswith("`boundaries build` failed: exit 2: ") and "missing.csv" in line["reason"]
    assert "|" in line_row(line)


def _measured(stations, total):
    a = total // 3
    return {"stations.pmtiles": total - a, "communes.pmtiles": a, "bytes": total, "stations": stations,
            "communes": 1, "bytes_per_station": total / stations,
            "build": {"seconds": 1.0, "cpu": 1.0, "mem": 1e8, "others": None},
            "web": {"seconds": 1.0, "cpu": 1.0, "mem": 1e8, "others": 0.5}}


LINE = st.one_of(
    st.builds(_measured, st.integers(1, 200_000), st.integers(0, 10**10)),
    st.fixed_dictionaries({"skipped": st.just(True), "reason": st.text(max_size=40)}),
    st.fixed_dictionaries({"reason": st.text(max_size=40),
                           "build": st.just({"seconds": 9.0, "cut": True})}),
    st.fixed_dictionaries({"reason": st.text(max_size=40), "build": st.just({"error": "exit 2: x"})}),
)


@settings(deadline=None)
@given(st.lists(LINE, min_size=1, max_size=4), st.sampled_from([1_000_000, 16_000_000, 32_000_000]))
def test_every_line_renders_nine_cells_and_the_target_says_the_truth(lines, rows):
    lines = [{"name": f"national shape {i}", "kind": "national", "rows": rows, **x} for i, x in enumerate(lines)]
    res = {"lines": lines, "zooms": [4, 14], "cache": "c", "jobs": 2, "budget_left": 1800.0}
    text = "\n".join(web_lines(res))
    assert text.startswith(WEB_START) and text.endswith(WEB_END)
    for x in lines:
        row = line_row(x).replace("\\|", "")
        assert row.count("|") == 10, row  # 9 cells, whatever the reason says
    target = [r for r in text.split("\n") if r.startswith("| all France")]
    if rows < W.nat.TARGET_ROWS:
        assert not target
        return
    last = lines[-1]
    verdict = target[0].rsplit("|", 2)[-2].strip()
    if "bytes" not in last:
        assert verdict == "—"
    else:
        assert verdict.startswith("**yes**" if last["bytes"] <= W.TARGET_BYTES else "**no**")


@pytest.mark.parametrize("total, verdict", [(300_000_000, "**yes**"), (300_000_001, "**no** (1.00× the target)"),
                                            (450_000_000, "**no** (1.50× the target)")])
def test_the_target_is_met_up_to_300_mb_included(total, verdict):
    line = {"name": "national shape", "kind": "national", "rows": 16_000_000, **_measured(69_432, total)}
    row = [r for r in web_lines({"lines": [line], "zooms": [4, 14], "cache": "c", "jobs": 2, "budget_left": 1.0})
           if r.startswith("| all France")]
    assert row and row[0].endswith(f"| {total / 1e6:.2f} MB for 69,432 stations | {verdict} |")


def test_web_options_parse():
    args = parse_args(["--only", "web", "--web-budget", "60", "--web-factors", "1,4"])
    assert (args.only, args.web_budget, args.web_factors) == ("web", 60.0, (1, 4))
    assert parse_args([]).web_factors == W.WEB_FACTORS and parse_args([]).web_budget == W.WEB_BUDGET
