"""Hold-out accuracy: the same 10 % split for ours and the yardstick, scored by the same function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..common import log, lonlat, read_reu, to_metric
from ..internals import canonical_station, geoms_by_key, holdout_accuracy, holdout_split
from ..render.markdown import pct

HOLDOUT = 0.1
SEEDS = (0, 1, 2)

#: The fragment rule before issue 18 (every detached piece holding an address stayed): the
#: baseline of the one-piece measure (multipart share, hold-out cost, area moved).
PIECES_BEFORE = {"fragment_max_rows": 0, "fragment_sliver_m2": 0.0}


def _one_seed(ctx: dict, seed: int, first: bool, name: str) -> tuple[dict, dict, pd.DataFrame]:
    """One split: the scores of both methods, the agreement checks and the per-commune shares."""
    import boundaries
    from benchmarks.yardstick import yardstick_build

    tab, px, py, keys_all, commune = ctx["tab"], ctx["px"], ctx["py"], ctx["keys"], ctx["commune"]
    held = holdout_split(ctx["lon"], ctx["lat"], HOLDOUT, seed)
    test = held & np.isin(commune, list(ctx["outline_codes"]))

    def score(gdf):
        return holdout_accuracy(geoms_by_key(gdf), px[test], py[test], keys_all[test])

    log(f"{name}: seed {seed}: {int(held.sum()):,} rows held out, {int(test.sum()):,} test points; building ours")
    built = boundaries.build(tab, ctx["communes"], holdout=HOLDOUT, seed=seed)
    res = {"ours": score(built.stations)}
    res["ours"]["multipart"] = float((built.stations["n_parts"] > 1).mean())
    res["ours"]["area_moved_m2"] = sum(c.get("fragment_area_moved_m2", 0.0) for c in built.report.communes.values())
    if ctx.get("pieces"):
        log(f"{name}: seed {seed}: ours with the fragment rule of before issue 18")
        before = boundaries.build(tab, ctx["communes"], holdout=HOLDOUT, seed=seed,
                                  params=boundaries.Parameters(**PIECES_BEFORE))
        res["before"] = score(before.stations)
        res["before"]["multipart"] = float((before.stations["n_parts"] > 1).mean())
    log(f"{name}: seed {seed}: yardstick on the same {int((~held).sum()):,} training rows")
    res["yardstick"] = score(yardstick_build(ctx["csv"], ctx["communes"], None, rows=~held))
    rep_h = built.report.holdout
    check = {
        "seed": seed,
        "test_points_equal": rep_h["test_points"] == res["ours"]["test_points"],
        "own_diff": abs(rep_h["own_station"] - res["ours"]["own_station"]),
        "unc_diff": abs(rep_h["uncovered"] - res["ours"]["uncovered"]),
    }
    if first:
        log(f"{name}: seed {seed}: ours again from the training rows alone")
        alone = score(boundaries.build(tab.loc[~held].reset_index(drop=True), ctx["communes"]).stations)
        check["routes_points_differing"] = int((alone["inside_own"] != res["ours"]["inside_own"]).sum()
                                               + (alone["covered"] != res["ours"]["covered"]).sum())
    per_commune = pd.DataFrame({
        "seed": seed, "commune": commune[test],
        "ours": res["ours"]["inside_own"], "yardstick": res["yardstick"]["inside_own"],
    }).groupby("commune").agg(n=("ours", "size"), ours=("ours", "mean"), yardstick=("yardstick", "mean"))
    log(f"{name}: seed {seed}: own station ours {pct(res['ours']['own_station'])}, "
        f"yardstick {pct(res['yardstick']['own_station'])}")
    return res, check, per_commune


def holdout_compare(csv: Path, communes: Path, seeds, name: str, pieces: bool = False) -> dict:
    """10 % hold-out, same split for both methods; scored by the same function.

    Ours is ``boundaries.build(table, communes, holdout=0.1, seed=s)`` (its polygons
    are built without the held-out rows), scored here like the yardstick; its own
    ``report.holdout`` must say the same. On the first seed ours is also built from
    the training rows alone (``boundaries.build(train_df, communes)``): both routes
    must give the same score. With ``pieces``, ours is built again with the fragment
    rule of before issue 18 (:data:`PIECES_BEFORE`) to measure what one piece per
    station costs; the share of multipart stations is recorded for both.

    Returns
    -------
    dict
        ``per_seed`` (one row per seed), ``by_commune`` (worst difference first) and
        ``checks`` (the agreement checks), DataFrames.
    """
    import geopandas as gpd

    tab = read_reu(csv)
    lon, lat = lonlat(tab)
    px, py = to_metric(lon, lat)
    ctx = {"tab": tab, "csv": csv, "communes": communes, "pieces": pieces, "lon": lon, "lat": lat, "px": px, "py": py,
           "outline_codes": set(gpd.read_file(communes)["code"].astype(str)),
           "commune": tab["code_commune_ref"].to_numpy(dtype=object),
           "keys": canonical_station(tab["id_brut_bv_reu"].to_numpy(dtype=object))}
    per_seed, per_commune, checks = [], [], []
    for seed in seeds:
        res, check, pc = _one_seed(ctx, seed, seed == seeds[0], name)
        checks.append(check)
        per_commune.append(pc)
        per_seed.append({"seed": seed, "test_points": res["ours"]["test_points"],
                         **{f"{m}_{k}": res[m][k] for m in res for k in ("own_station", "uncovered", "multipart",
                                                                         "area_moved_m2") if k in res[m]}})
    pc = pd.concat([d.reset_index() for d in per_commune])
    pc["diff"] = pc["ours"] - pc["yardstick"]
    by_commune = pc.groupby("commune").agg(
        n=("n", "sum"), ours=("ours", "mean"), yardstick=("yardstick", "mean"), diff=("diff", "mean"),
        worst_seed_diff=("diff", "min"),
    ).sort_values("diff", kind="stable")
    return {"per_seed": pd.DataFrame(per_seed), "by_commune": by_commune, "checks": pd.DataFrame(checks)}
