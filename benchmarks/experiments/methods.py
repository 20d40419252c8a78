"""Which method should be the default: voronoi, hull and auto on the official maps we hold.

For each method of :data:`METHODS`: the Paris 2017 sectors (semi-synthetic points, the
dissolved arrondissements of :mod:`benchmarks.experiments.paris`), the generated town's
truth, and the Val-de-Marne 10 % hold-out on :data:`SEEDS` (the protocol of
:mod:`benchmarks.experiments.holdout`). The street-aligned Paris points of
:mod:`benchmarks.experiments.land` add the method ``streets`` (the only one with a layer).
Per commune, hull is compared with voronoi (IoU on the maps, own-station share on the
hold-out), and ``auto`` says what it chose and why.

Run alone: ``python -m benchmarks.experiments.methods`` (seeded, prints a Markdown table;
``--seeds 0`` for a shorter run).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from ..common import METRIC, SHARED, TOWN, log, lonlat, read_reu, to_metric
from ..internals import canonical_station, geoms_by_key, holdout_accuracy, holdout_split
from .holdout import HOLDOUT, SEEDS
from .land import LAND_CASES, LAND_SEED, street_points
from .paris import dissolved_arrondissements, paris_points

METHODS = ("voronoi", "hull", "auto")
#: Each line of the table: a label, the method and the parameters changed (``auto``'s margin, in shares).
VARIANTS = tuple((m, m, {}) for m in METHODS) + (
    ("auto, margin 0 (hull unless it loses any point)", "auto", {"auto_max_loss": 0.0}),
    ("auto, margin 2 points", "auto", {"auto_max_loss": 0.02}),
)
VDM = SHARED / "val-de-marne-2016"


def map_scores(stations, reference) -> tuple[dict, pd.DataFrame]:
    """``boundaries.evaluate`` against the official polygons: the summary, and IoU / area right per commune."""
    import boundaries

    ev = boundaries.evaluate(stations, reference=reference)
    per = ev.per_station.assign(commune=ev.per_station["id_reference"].astype(str).str.slice(0, 5))
    by = per.groupby("commune").agg(iou=("iou", "mean"), ref=("area_reference_m2", "sum"),
                                    right=("area_right_m2", "sum"))
    by["area_right"] = by["right"] / by["ref"]
    return ev.summary, by[["iou", "area_right"]]


def auto_choices(report) -> pd.DataFrame:
    """Per commune of a build: the method used and its reason (``method_reason``)."""
    rows = [(code, c.get("method"), c.get("method_reason")) for code, c in report.communes.items()]
    return pd.DataFrame(rows, columns=["commune", "method", "reason"]).set_index("commune")


def maps(method: str, inputs: dict, params=None) -> dict:
    """One method (and its ``params``) on the Paris sectors and on the town's truth."""
    import geopandas as gpd

    import boundaries

    pts, reference, outlines = inputs["paris"]
    paris = boundaries.build(pts, outlines, columns=boundaries.AddressColumns(x="x", y="y"), crs=METRIC,
                             method=method, params=params)
    town = boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson", method=method, params=params)
    out = {}
    for name, built, ref in (("paris", paris, reference),
                             ("town", town, gpd.read_file(TOWN / "stations_truth.geojson"))):
        summary, by = map_scores(built.stations, ref)
        out[name] = {"iou": summary["iou_mean"], "area": summary["area_right"], "by_commune": by,
                     "choices": auto_choices(built.report)}
    log(f"methods: {method}: Paris IoU {out['paris']['iou']:.3f}, town IoU {out['town']['iou']:.3f}")
    return out


def vdm_context() -> dict:
    """The Val-de-Marne table, its test coordinates in metres and station keys (read once)."""
    import geopandas as gpd

    tab = read_reu(VDM / "addresses.csv.gz")
    lon, lat = lonlat(tab)
    px, py = to_metric(lon, lat)
    communes = VDM / "communes.geojson"
    return {"tab": tab, "lon": lon, "lat": lat, "px": px, "py": py, "communes": communes,
            "outline_codes": set(gpd.read_file(communes)["code"].astype(str)),
            "commune": tab["code_commune_ref"].to_numpy(dtype=object),
            "keys": canonical_station(tab["id_brut_bv_reu"].to_numpy(dtype=object))}


def vdm_holdout(method: str, ctx: dict, seeds, params=None) -> dict:
    """One method's own-station share per seed and per commune (mean of the seeds), and auto's choices."""
    import boundaries

    shares, per_commune, choices = [], [], None
    for seed in seeds:
        held = holdout_split(ctx["lon"], ctx["lat"], HOLDOUT, seed)
        test = held & np.isin(ctx["commune"], list(ctx["outline_codes"]))
        built = boundaries.build(ctx["tab"], ctx["communes"], holdout=HOLDOUT, seed=seed, method=method,
                                 params=params)
        acc = holdout_accuracy(geoms_by_key(built.stations), ctx["px"][test], ctx["py"][test], ctx["keys"][test])
        shares.append(acc["own_station"])
        per_commune.append(pd.Series(acc["inside_own"], index=ctx["commune"][test]).groupby(level=0).mean())
        if choices is None:
            choices = auto_choices(built.report)
        log(f"methods: {method}: VdM seed {seed}: own station {100 * acc['own_station']:.2f} %")
    return {"seeds": shares, "own": float(np.mean(shares)),
            "by_commune": pd.concat(per_commune, axis=1).mean(axis=1), "choices": choices}


def vdm_yardstick(ctx: dict, seeds) -> pd.Series:
    """The plain-Voronoi yardstick's own-station share per commune (mean of the seeds), on the same splits."""
    from benchmarks.yardstick import yardstick_build

    per_commune = []
    for seed in seeds:
        held = holdout_split(ctx["lon"], ctx["lat"], HOLDOUT, seed)
        test = held & np.isin(ctx["commune"], list(ctx["outline_codes"]))
        yard = yardstick_build(VDM / "addresses.csv.gz", ctx["communes"], None, rows=~held)
        acc = holdout_accuracy(geoms_by_key(yard), ctx["px"][test], ctx["py"][test], ctx["keys"][test])
        per_commune.append(pd.Series(acc["inside_own"], index=ctx["commune"][test]).groupby(level=0).mean())
    return pd.concat(per_commune, axis=1).mean(axis=1)


def street_aligned(methods) -> dict:
    """The first case of :data:`LAND_CASES`: each method without a layer, then ``streets`` with it."""
    import geopandas as gpd

    import boundaries

    folder = SHARED / "paris-2017"
    raw = gpd.read_file(folder / "bureaux.geojson").to_crs(METRIC)
    sectors = gpd.GeoDataFrame(
        {"id_bv": [f"751{int(a):02d}_{int(n)}" for a, n in zip(raw["arrondissement"], raw["num_bv"])]},
        geometry=raw.geometry.values, crs=METRIC)
    outlines, _ = dissolved_arrondissements(gpd.read_file(folder / "arrondissements.geojson").to_crs(METRIC))
    setback, spacing = LAND_CASES[0]
    pts = street_points(gpd.read_file(folder / "streets.geojson"), sectors, setback, spacing,
                        np.random.default_rng(LAND_SEED))
    cols = boundaries.AddressColumns(x="x", y="y")
    out = {}
    for m in (*methods, "streets"):
        layer = {"streets": folder / "streets.geojson"} if m == "streets" else {"method": m}
        summary, _ = map_scores(boundaries.build(pts, outlines, columns=cols, crs=METRIC, **layer).stations, sectors)
        out[m] = {"iou": summary["iou_mean"], "area": summary["area_right"]}
        log(f"methods: street-aligned Paris, {m}: IoU {out[m]['iou']:.3f}")
    return out


def methods(seeds=SEEDS, with_streets: bool = True) -> dict:
    """Every measure of the module for every line of :data:`VARIANTS` (see the module's docstring)."""
    import geopandas as gpd

    import boundaries

    folder = SHARED / "paris-2017"
    pts, reference = paris_points(gpd.read_file(folder / "bureaux.geojson").to_crs(METRIC))
    outlines, _ = dissolved_arrondissements(gpd.read_file(folder / "arrondissements.geojson").to_crs(METRIC))
    inputs = {"paris": (pts, reference, outlines)}
    ctx = vdm_context()
    res = {}
    for label, m, kw in VARIANTS:
        params = boundaries.Parameters(**kw)
        res[label] = {**maps(m, inputs, params), "vdm": vdm_holdout(m, ctx, seeds, params)}
    return {"seeds": list(seeds), "methods": res, "yardstick": vdm_yardstick(ctx, seeds),
            "streets": street_aligned(METHODS) if with_streets else None}


def _wins(a: pd.Series, b: pd.Series, eps: float) -> str:
    """``wins / losses / ties`` of ``a`` against ``b`` (commune by commune, ties within ``eps``)."""
    d = (a - b).dropna()
    return f"{int((d > eps).sum())} / {int((d < -eps).sum())} / {int((d.abs() <= eps).sum())}"


def table(result: dict) -> str:
    """The Markdown tables of :func:`methods`' result."""
    res, seeds = result["methods"], result["seeds"]
    base = res["voronoi"]
    lines = [f"| method | Paris IoU mean | Paris area right | town IoU mean | town area right | "
             f"VdM hold-out own station (mean of {len(seeds)} seeds) | Δ vs voronoi (points) | "
             "worst commune Δ (points) | worst commune Δ vs yardstick (points) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m, r in res.items():
        d = 100 * (r["vdm"]["by_commune"] - base["vdm"]["by_commune"])
        y = 100 * (r["vdm"]["by_commune"] - result["yardstick"])
        lines.append(f"| {m} | {r['paris']['iou']:.3f} | {100 * r['paris']['area']:.2f} % | {r['town']['iou']:.3f} | "
                     f"{100 * r['town']['area']:.2f} % | {100 * r['vdm']['own']:.2f} % | "
                     f"{100 * (r['vdm']['own'] - base['vdm']['own']):+.2f} | {d.min():+.2f} ({d.idxmin()}) | "
                     f"{y.min():+.2f} ({y.idxmin()}) |")
    hull = res["hull"]
    lines += ["", "Hull against voronoi, commune by commune (wins / losses / ties):", "",
              "| measure | communes | hull wins / losses / ties |", "|---|---:|---:|",
              f"| Paris arrondissements, IoU mean (ties within 0.001) | {len(hull['paris']['by_commune'])} | "
              f"{_wins(hull['paris']['by_commune']['iou'], base['paris']['by_commune']['iou'], 1e-3)} |",
              f"| Paris arrondissements, area right (ties within 0.01 point) | {len(hull['paris']['by_commune'])} | "
              f"{_wins(hull['paris']['by_commune']['area_right'], base['paris']['by_commune']['area_right'], 1e-4)} |",
              f"| town communes, IoU mean (ties within 0.001) | {len(hull['town']['by_commune'])} | "
              f"{_wins(hull['town']['by_commune']['iou'], base['town']['by_commune']['iou'], 1e-3)} |",
              f"| VdM communes, hold-out own station (ties within 0.1 point) | {len(hull['vdm']['by_commune'])} | "
              f"{_wins(hull['vdm']['by_commune'], base['vdm']['by_commune'], 1e-3)} |"]
    lines += ["", "What `auto` chose (communes with several stations):", "", "| map | hull | voronoi |",
              "|---|---:|---:|"]
    for name, ch in (("Paris", res["auto"]["paris"]["choices"]), ("town", res["auto"]["town"]["choices"]),
                     (f"VdM (seed {seeds[0]})", res["auto"]["vdm"]["choices"])):
        counts = ch["method"].value_counts()
        lines.append(f"| {name} | {int(counts.get('hull', 0))} | {int(counts.get('voronoi', 0))} |")
    if result["streets"]:
        lines += ["", f"Paris street-aligned points ({LAND_CASES[0][0]:g} m setback, {LAND_CASES[0][1]:g} m "
                  "spacing), without a layer and with `--streets`:", "", "| method | IoU mean | area right |",
                  "|---|---:|---:|"]
        lines += [f"| {m} | {r['iou']:.3f} | {100 * r['area']:.2f} % |" for m, r in result["streets"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--no-streets", action="store_true", help="skip the street-aligned Paris lines")
    args = ap.parse_args()
    print(table(methods(tuple(args.seeds), not args.no_streets)))
