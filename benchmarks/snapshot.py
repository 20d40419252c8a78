"""The code measured and the machine it runs on.

The working tree may change while the bench runs (someone editing the package): the
bench copies ``boundaries/`` once, at the start, and measures that copy throughout, in
its own process and in every command it times.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from . import measure
from .common import ROOT


def fingerprint(folder: Path) -> str:
    """A hash of the package's source (``*.py`` paths and contents)."""
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*.py")):
        if "__pycache__" in f.parts:
            continue
        h.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def snapshot(work: Path) -> str:
    """Copy ``boundaries/`` to ``work`` and measure that copy throughout, in this process and its children.

    Returns the copy's :func:`fingerprint`.
    """
    if "boundaries" in sys.modules:
        raise RuntimeError("boundaries was imported before the snapshot; run this as python -m benchmarks.run")
    shutil.copytree(ROOT / "boundaries", work / "boundaries", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(work))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(work), env.get("PYTHONPATH")) if p)
    measure.set_child_env(env)
    import boundaries

    assert Path(boundaries.__file__).resolve().parent == (work / "boundaries").resolve(), boundaries.__file__
    return fingerprint(work / "boundaries")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _git() -> tuple[str, list[str]]:
    """The commit checked out and the tracked files modified (``unknown``, [] without git)."""
    commit, dirty = "unknown", []
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = [line[3:] for line in subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True,
        ).stdout.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        pass
    return commit, dirty


def environment() -> dict:
    """Machine, versions and date of this run."""
    import geopandas
    import numpy as np
    import pandas as pd
    import pyogrio
    import pyproj
    import shapely

    import boundaries

    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    commit, dirty = _git()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical ({affinity} usable by this process)",
        "memory": f"{mem_kb / 1024 ** 2:.1f} GiB",
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "boundaries": boundaries.__version__,
        "shapely": f"{shapely.__version__} (GEOS {shapely.geos_version_string})",
        "geopandas": geopandas.__version__,
        "pyogrio": f"{pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__})",
        "pyproj": f"{pyproj.__version__} (PROJ {pyproj.proj_version_str})",
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "commit": commit,
        "modified": dirty,
    }
