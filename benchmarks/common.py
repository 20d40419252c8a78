"""What every part of the bench shares: its paths, its progress log, and reading the REU table.

Nothing here imports ``boundaries``: the bench copies the package first (see
:mod:`benchmarks.snapshot`) and only then imports it, inside the functions that use it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BOUNDARIES_SHARED_DATA", ROOT.parent / "shared" / "data"))
TOWN = ROOT / "fixtures" / "town"
README = ROOT / "README.md"
METHOD_DOC = ROOT / "docs" / "method.md"
METRIC = "EPSG:2154"

_T0 = time.perf_counter()


def log(msg: str) -> None:
    """One progress line on stderr, with the seconds since the bench started."""
    print(f"[bench {time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def read_reu(path) -> pd.DataFrame:
    """The REU table as strings, empty cells as NaN (what ``boundaries.build`` is given)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], low_memory=False)


def lonlat(tab: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of the table as floats (NaN where missing or unreadable)."""
    lon = pd.to_numeric(tab["longitude"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lat = pd.to_numeric(tab["latitude"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return lon, lat


def to_metric(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude to Lambert-93 metres (NaN stays NaN)."""
    from pyproj import Transformer

    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    x[ok], y[ok] = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True).transform(lon[ok], lat[ok])
    return x, y


def points_in(polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``polygon`` (rejection sampling).

    The test suite has the same ten lines in ``tests/helpers.py`` (it imports nothing
    from the bench); ``benchmarks/tests/test_common.py`` checks that both draw the
    same points, so the Paris numbers of the bench and of the tests stay comparable.
    """
    import shapely

    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((0, 2))
    shapely.prepare(polygon)
    while len(out) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(2 * n, 16), 2))
        out = np.vstack([out, xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]])
    return out[:n]
