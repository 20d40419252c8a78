"""How cost grows: k copies of Val-de-Marne side by side, ours end to end at each size."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..common import METRIC, log, lonlat, read_reu, to_metric
from ..measure import run_child
from .speed import ours_cmd

SCALE_FACTORS = (1, 4, 16)
SCALE_STEP_M = 40_000.0  # copies of the département sit on a 40 km grid in Lambert-93


def _copies(tab, outl, n: int) -> tuple[list, list]:
    """``n`` copies of the table and outlines, copy i moved on the grid and renamed to département i+1."""
    from pyproj import Transformer

    lon, lat = lonlat(tab)
    x, y = to_metric(lon, lat)
    ok = np.isfinite(x)
    back = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)
    side = int(np.ceil(np.sqrt(n)))
    copies, outlines = [], []
    for i in range(n):
        dx, dy = (i % side) * SCALE_STEP_M, (i // side) * SCALE_STEP_M
        dep = f"{i + 1:02d}"
        c = tab.copy()
        c["code_commune_ref"] = dep + c["code_commune_ref"].str.slice(2)
        c["id_brut_bv_reu"] = dep + c["id_brut_bv_reu"].str.slice(2)
        lo, la = np.full(len(c), np.nan), np.full(len(c), np.nan)
        lo[ok], la[ok] = back.transform(x[ok] + dx, y[ok] + dy)
        c["longitude"], c["latitude"] = lo, la
        copies.append(c)
        o = outl.copy()
        o["code"] = dep + o["code"].astype(str).str.slice(2)
        o["geometry"] = o.geometry.translate(dx, dy)
        outlines.append(o)
    return copies, outlines


def scaled_inputs(csv: Path, communes: Path, factors, folder: Path) -> dict:
    """k copies of the département on a 40 km grid in Lambert-93, renamed to départements 01, 02…"""
    import geopandas as gpd

    tab = read_reu(csv)
    outl = gpd.read_file(communes).to_crs(METRIC)
    copies, outlines = _copies(tab, outl, max(factors))
    out = {}
    for k in factors:
        a, b = folder / f"x{k}.csv.gz", folder / f"x{k}.communes.geojson"
        with gzip.open(a, "wt", encoding="utf-8", compresslevel=1, newline="") as f:
            for i in range(k):
                copies[i].to_csv(f, index=False, header=(i == 0), float_format="%.7f")
        gpd.GeoDataFrame(pd.concat(outlines[:k], ignore_index=True), crs=METRIC).to_crs(4326).to_file(b, driver="GeoJSON")
        out[k] = (a, b, k * len(tab), k * len(outl))
        log(f"scaling: wrote {k}× input ({k * len(tab):,} rows, {k * len(outl)} communes)")
    return out


def scaling(csv: Path, communes: Path, factors, folder: Path, deadline: float) -> list[dict]:
    """Each size in turn; a size whose projected time would pass ``deadline`` is skipped, and said so."""
    inputs = scaled_inputs(csv, communes, factors, folder)
    res = []
    for k, (a, b, rows, n_communes) in inputs.items():
        done = [r for r in res if not r["skipped"]]  # a skipped size has no time to project from (the first runs)
        if done:
            last = done[-1]
            growth = (max(1.0, (last["seconds"] / done[0]["seconds"]) / (last["k"] / done[0]["k"]))
                      if len(done) > 1 else 1.0)
            projected = last["seconds"] * (k / last["k"]) * growth
            left = deadline - time.perf_counter()
            if projected > left:
                res.append({"k": k, "rows": rows, "communes": n_communes, "skipped": True, "projected": projected})
                log(f"scaling: {k}× skipped: projected {projected:.0f} s, {max(left, 0):.0f} s left in the budget")
                continue
        g = run_child(ours_cmd(a, b, folder / f"x{k}.out.geojson"))
        res.append({"k": k, "rows": rows, "communes": n_communes, "skipped": False, **g})
        log(f"scaling: {k}× ({rows:,} rows): {g['seconds']:.2f} s (CPU {g['cpu']:.2f} s), "
            f"peak memory {g['mem'] / 2 ** 20:.0f} MiB, load before {g['load']:.2f}")
    return res
