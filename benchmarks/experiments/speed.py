"""Speed: ours and the yardstick end to end, each in a fresh subprocess."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from ..common import log, read_reu
from ..measure import run_child


def ours_cmd(csv, communes, out) -> list:
    """``boundaries build CSV --communes COMMUNES -o OUT -q`` (the command line of the venv)."""
    return [Path(sys.executable).parent / "boundaries", "build", csv, "--communes", communes, "-o", out, "-q"]


def yard_cmd(csv, communes, out) -> list:
    """The yardstick as a command: ``python -m benchmarks.yardstick CSV COMMUNES OUT``."""
    return [sys.executable, "-m", "benchmarks.yardstick", csv, communes, out]


def speed(csv: Path, communes: Path, runs: int, warmup: int, work: Path, name: str) -> dict:
    """``warmup`` then ``runs`` timed runs of each method: median wall and CPU time, peak memory."""
    rows = len(read_reu(csv))
    res = {"rows": rows, "runs": runs}
    for method, make in (("ours", ours_cmd), ("yardstick", yard_cmd)):
        out = work / f"{method}.geojson"
        for _ in range(warmup):
            run_child(make(csv, communes, out))
        got = []
        for i in range(runs):
            got.append(run_child(make(csv, communes, out)))
            g = got[-1]
            log(f"speed {name}: {method} run {i + 1}/{runs}: {g['seconds']:.2f} s (CPU {g['cpu']:.2f} s), "
                f"peak memory {g['mem'] / 2 ** 20:.0f} MiB, load before {g['load']:.2f}")
        res[method] = {"seconds": statistics.median(g["seconds"] for g in got),
                       "cpu": statistics.median(g["cpu"] for g in got),
                       "all": [g["seconds"] for g in got], "rss": max(g["mem"] for g in got),
                       "load": max(g["load"] for g in got)}
    return res
