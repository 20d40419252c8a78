"""The bench: accuracy against the plain-Voronoi yardstick, speed, and how cost grows.

    .venv/bin/python -m benchmarks.run [--quick] [--only national] [--out benchmarks/RESULTS.md]

One run measures everything and writes a Markdown file (default
``benchmarks/RESULTS.md``); a full run also replaces the block between
``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md with the summary
table, and the same block in docs/method.md with the table of accuracy steps.
``--quick`` is a smoke test: the generated town only, one timed run, no scaling,
the national section at 1 M rows only, README and docs untouched.

The national section (all France at national shape: ``boundaries build … --all -j 2``
on tables of 1, 4 and 16 M rows from ``benchmarks/synth.py``, ``-j 1`` against ``-j 2``,
a resumed run) has its own time budget (``--national-budget``) and runs alone with
``--only national``: its tables then replace that section of ``--out`` and its row of
the README summary, the rest untouched. Its generated tables are kept between runs in
``$BOUNDARIES_BENCH_CACHE`` (default ``~/.cache/boundaries-bench``, ``--cache``),
keyed by the generator's arguments and source.

Everything is seeded and deterministic except the timings. Real data is read from
``../shared/data`` (or ``$BOUNDARIES_SHARED_DATA``); generated inputs for the
scaling runs go to a temporary folder, never into the repository. Progress lines
go to stderr.
"""

from __future__ import annotations

import argparse
import gzip
import os
import hashlib
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BOUNDARIES_SHARED_DATA", ROOT.parent / "shared" / "data"))
TOWN = ROOT / "fixtures" / "town"
README = ROOT / "README.md"
METHOD_DOC = ROOT / "docs" / "method.md"
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"

HOLDOUT = 0.1
SEEDS = (0, 1, 2)
PARIS_SEED = 2017
PARIS_VOTERS_PER_POINT = 10
PARIS_MIN_POINTS = 3
#: The published arrondissements are the sectors themselves (one part each, gaps up to a
#: few metres between them): a closing this wide dissolves them into one outline.
PARIS_CLOSE_M = 4.0
SCALE_FACTORS = (1, 4, 16)
SCALE_STEP_M = 40_000.0  # copies of the département sit on a 40 km grid in Lambert-93
METRIC = "EPSG:2154"

_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[bench {time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the code measured

#: Set by :func:`snapshot`: children import ``boundaries`` from there too.
_CHILD_ENV: dict | None = None


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

    The working tree may change while the bench runs (someone editing the package):
    without a snapshot, the in-process sections and each timed subprocess could each
    measure a different version.
    """
    global _CHILD_ENV
    if "boundaries" in sys.modules:
        raise RuntimeError("boundaries was imported before the snapshot; run this as python -m benchmarks.run")
    shutil.copytree(ROOT / "boundaries", work / "boundaries", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(work))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(work), env.get("PYTHONPATH")) if p)
    _CHILD_ENV = env
    import boundaries

    assert Path(boundaries.__file__).resolve().parent == (work / "boundaries").resolve(), boundaries.__file__
    return fingerprint(work / "boundaries")


# --------------------------------------------------------------------------- environment


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def environment() -> dict:
    """Machine, versions and date of this run."""
    import geopandas
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
    commit, dirty = "unknown", []
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = [line[3:] for line in subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True,
        ).stdout.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        pass
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


# --------------------------------------------------------------------------- helpers


def pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f} %"


def f3(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def read_reu(path) -> pd.DataFrame:
    """The REU table as strings, empty cells as NaN (what ``boundaries.build`` is given)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], low_memory=False)


def lonlat(tab: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lon = pd.to_numeric(tab["longitude"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lat = pd.to_numeric(tab["latitude"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return lon, lat


def to_metric(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    x[ok], y[ok] = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True).transform(lon[ok], lat[ok])
    return x, y


def geoms_by_key(gdf) -> dict:
    """Canonical station key → polygon in EPSG:2154 (the same keys for both methods)."""
    from boundaries.codes import canonical_station

    m = gdf.to_crs(METRIC)
    return dict(zip(canonical_station(m["id_bv"].to_numpy()), m.geometry.values))


def points_in(polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``polygon`` (rejection sampling)."""
    import shapely

    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((0, 2))
    shapely.prepare(polygon)
    while len(out) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(2 * n, 16), 2))
        out = np.vstack([out, xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]])
    return out[:n]


# --------------------------------------------------------------------------- accuracy


def holdout_compare(csv: Path, communes: Path, seeds, name: str) -> dict:
    """10 % hold-out, same split for both methods; scored by the same function.

    Ours is ``boundaries.build(table, communes, holdout=0.1, seed=s)`` (its polygons
    are built without the held-out rows), scored here like the yardstick; its own
    ``report.holdout`` must say the same. On the first seed ours is also built from
    the training rows alone (``boundaries.build(train_df, communes)``): both routes
    must give the same score.
    """
    import geopandas as gpd

    import boundaries
    from benchmarks.yardstick import yardstick_build
    from boundaries.codes import canonical_station
    from boundaries.scoring import holdout_accuracy, holdout_split

    tab = read_reu(csv)
    lon, lat = lonlat(tab)
    px, py = to_metric(lon, lat)
    outline_codes = set(gpd.read_file(communes)["code"].astype(str))
    commune = tab["code_commune_ref"].to_numpy(dtype=object)
    keys_all = canonical_station(tab["id_brut_bv_reu"].to_numpy(dtype=object))
    per_seed, per_commune, checks = [], [], []
    for seed in seeds:
        held = holdout_split(lon, lat, HOLDOUT, seed)
        test = held & np.isin(commune, list(outline_codes))

        def score(gdf):
            return holdout_accuracy(geoms_by_key(gdf), px[test], py[test], keys_all[test])

        log(f"{name}: seed {seed}: {int(held.sum()):,} rows held out, {int(test.sum()):,} test points; building ours")
        built = boundaries.build(tab, communes, holdout=HOLDOUT, seed=seed)
        res = {"ours": score(built.stations)}
        log(f"{name}: seed {seed}: yardstick on the same {int((~held).sum()):,} training rows")
        res["yardstick"] = score(yardstick_build(csv, communes, None, rows=~held))
        rep_h = built.report.holdout
        check = {
            "seed": seed,
            "test_points_equal": rep_h["test_points"] == res["ours"]["test_points"],
            "own_diff": abs(rep_h["own_station"] - res["ours"]["own_station"]),
            "unc_diff": abs(rep_h["uncovered"] - res["ours"]["uncovered"]),
        }
        if seed == seeds[0]:
            log(f"{name}: seed {seed}: ours again from the training rows alone")
            alone = score(boundaries.build(tab.loc[~held].reset_index(drop=True), communes).stations)
            check["routes_points_differing"] = int((alone["inside_own"] != res["ours"]["inside_own"]).sum()
                                                   + (alone["covered"] != res["ours"]["covered"]).sum())
        checks.append(check)
        per_seed.append({"seed": seed, "test_points": res["ours"]["test_points"],
                         **{f"{m}_{k}": res[m][k] for m in res for k in ("own_station", "uncovered")}})
        per_commune.append(pd.DataFrame({
            "seed": seed, "commune": commune[test],
            "ours": res["ours"]["inside_own"], "yardstick": res["yardstick"]["inside_own"],
        }).groupby("commune").agg(n=("ours", "size"), ours=("ours", "mean"), yardstick=("yardstick", "mean")))
        log(f"{name}: seed {seed}: own station ours {pct(res['ours']['own_station'])}, "
            f"yardstick {pct(res['yardstick']['own_station'])}")
    pc = pd.concat([d.reset_index() for d in per_commune])
    pc["diff"] = pc["ours"] - pc["yardstick"]
    by_commune = pc.groupby("commune").agg(
        n=("n", "sum"), ours=("ours", "mean"), yardstick=("yardstick", "mean"), diff=("diff", "mean"),
        worst_seed_diff=("diff", "min"),
    ).sort_values("diff", kind="stable")
    return {"per_seed": pd.DataFrame(per_seed), "by_commune": by_commune, "checks": pd.DataFrame(checks)}


def holdout_lines(h: dict, seeds) -> list[str]:
    ps = h["per_seed"]
    rows = []
    for r in ps.itertuples():
        rows.append([f"seed {r.seed}", f"{r.test_points:,}", pct(r.ours_own_station), pct(r.yardstick_own_station),
                     f"{100 * (r.ours_own_station - r.yardstick_own_station):+.2f}",
                     pct(r.ours_uncovered), pct(r.yardstick_uncovered)])
    m = ps.mean(numeric_only=True)
    rows.append([f"**mean of {len(ps)}**", f"{m.test_points:,.0f}", f"**{pct(m.ours_own_station)}**",
                 f"**{pct(m.yardstick_own_station)}**",
                 f"**{100 * (m.ours_own_station - m.yardstick_own_station):+.2f}**",
                 pct(m.ours_uncovered), pct(m.yardstick_uncovered)])
    lines = table(["split", "test points", "own station, ours", "own station, yardstick", "Δ (points)",
                   "uncovered, ours", "uncovered, yardstick"], rows)
    bc = h["by_commune"]
    worse = bc[bc["diff"] < 0]
    worst = bc.iloc[0]
    lines += ["", f"Per commune ({len(bc)} communes, own-station share ours minus yardstick, in points, mean of "
              f"the {len(ps)} seeds): worst **{100 * worst['diff']:+.2f}** ({worst.name}, {int(worst['n']):,} test "
              f"points over the seeds), best {100 * bc['diff'].max():+.2f}, median {100 * bc['diff'].median():+.2f}; "
              f"ours is below the yardstick in **{len(worse)}** commune(s); worst single commune-seed "
              f"{100 * bc['worst_seed_diff'].min():+.2f}."]
    if len(worse):
        lines += ["", "Communes where ours is below the yardstick (mean of the seeds):", ""]
        lines += table(["commune", "test points", "ours", "yardstick", "Δ (points)"],
                       [[c, f"{int(r['n']):,}", pct(r["ours"]), pct(r["yardstick"]), f"{100 * r['diff']:+.2f}"]
                        for c, r in worse.head(10).iterrows()])
        if len(worse) > 10:
            lines.append(f"… and {len(worse) - 10} more.")
    ck = h["checks"]
    agree = bool(ck["test_points_equal"].all() and ck["own_diff"].max() < 1e-4 and ck["unc_diff"].max() < 1e-4)
    first = ck.iloc[0]
    same = first["routes_points_differing"] == 0
    lines += ["", f"Checks: ours is `boundaries.build(table, communes, holdout=0.1, seed=s)`, and its own "
              f"`report.holdout` says the same as the scoring above: {'**yes**' if agree else '**NO**'} (test points "
              f"equal for every seed: {bool(ck['test_points_equal'].all())}; largest own-station difference "
              f"{100 * ck['own_diff'].max():.4f} points, uncovered {100 * ck['unc_diff'].max():.4f} points). "
              f"Built instead from the training rows alone (`boundaries.build(train_df, communes)`, seed "
              f"{int(first['seed'])}), ours scores the same: {'**yes**' if same else '**NO**'} "
              f"({int(first['routes_points_differing'])} test points classified differently)."]
    return lines


def reference_scores(gdf, reference) -> dict:
    from boundaries.scoring import evaluate

    return evaluate(gdf, reference=reference).summary


def reference_rows(label: str, s: dict) -> list:
    return [label, f3(s["iou_mean"]), f3(s["iou_median"]), f3(s["iou_min"]), pct(s["area_right"]),
            s["stations_missing"]]


REF_HEADER = ["method", "IoU mean", "IoU median", "IoU min", "area right", "stations missing"]


def dissolve_outline(geom, close_m: float):
    """One outline from parts separated by thin gaps: a morphological closing, holes filled."""
    import shapely

    closed = shapely.buffer(shapely.buffer(geom, close_m, quad_segs=4), -close_m, quad_segs=4)
    return shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(closed)])


def paris(log_name="paris") -> dict:
    """Points drawn in the official sectors, rebuilt inside the arrondissements (and the city)."""
    import geopandas as gpd
    import shapely

    import boundaries
    from benchmarks.yardstick import yardstick_stations

    folder = SHARED / "paris-2017"
    sectors = gpd.read_file(folder / "bureaux.geojson").to_crs(METRIC)
    rng = np.random.default_rng(PARIS_SEED)
    parts = []
    for arr, num, voters, geom in zip(sectors["arrondissement"], sectors["num_bv"], sectors["nbr_elect_f"],
                                      sectors.geometry):
        code = f"751{int(arr):02d}"
        n = max(int(voters) // PARIS_VOTERS_PER_POINT, PARIS_MIN_POINTS)
        xy = points_in(geom, n, rng)
        parts.append(pd.DataFrame({"code_commune_ref": code, "id_brut_bv_reu": f"{code}_{int(num)}",
                                   "x": xy[:, 0], "y": xy[:, 1]}))
    pts = pd.concat(parts, ignore_index=True)
    reference = gpd.GeoDataFrame(
        {"id_bv": [f"751{int(a):02d}_{int(n)}" for a, n in zip(sectors["arrondissement"], sectors["num_bv"])]},
        geometry=sectors.geometry.values, crs=METRIC,
    )
    log(f"{log_name}: {len(pts):,} points in {len(reference)} sectors")
    cols = boundaries.AddressColumns(x="x", y="y")
    out = {"points": len(pts), "sectors": len(reference)}
    published = gpd.read_file(folder / "arrondissements.geojson").to_crs(METRIC)
    dissolved = gpd.GeoDataFrame({"code": published["code"].astype(str)},
                                 geometry=[dissolve_outline(g, PARIS_CLOSE_M) for g in published.geometry.values],
                                 crs=METRIC)
    out["outlines"] = {
        "parts_published": int(shapely.get_num_geometries(published.geometry.values).sum()),
        "parts_dissolved": int(shapely.get_num_geometries(dissolved.geometry.values).sum()),
        "added_share": float(dissolved.area.sum() / published.area.sum() - 1),
        "sector_area_left_out_m2": float(shapely.area(shapely.difference(
            published.geometry.values, dissolved.geometry.values)).sum()),
    }
    variants = (("arrondissements", dissolved), ("city", gpd.read_file(folder / "commune.geojson")))
    for outline_name, outl in variants:
        ours = boundaries.build(pts, outl, columns=cols, crs=METRIC)
        outl_m = outl.to_crs(METRIC)
        outlines = dict(zip(outl_m["code"].astype(str), outl_m.geometry.values))
        commune = pts["code_commune_ref"].to_numpy(dtype=object)
        if outline_name == "city":
            commune = np.full(len(pts), "75056", dtype=object)
        ids, _, geoms = yardstick_stations(pts["x"].to_numpy(), pts["y"].to_numpy(),
                                           pts["id_brut_bv_reu"].to_numpy(dtype=object), commune, outlines)
        yard = gpd.GeoDataFrame({"id_bv": ids}, geometry=list(geoms), crs=METRIC)
        if outline_name == "arrondissements":
            out["_inputs"] = (pts, reference, outl)  # for the ablation, not written
        out[outline_name] = {"ours": reference_scores(ours.stations, reference),
                             "yardstick": reference_scores(yard, reference)}
        log(f"{log_name}: {outline_name} outlines: IoU mean ours {f3(out[outline_name]['ours']['iou_mean'])}, "
            f"yardstick {f3(out[outline_name]['yardstick']['iou_mean'])}")
    return out


#: Each accuracy step switched off in turn (issue: keep what helps, drop what does not).
ABLATION = (
    ("all steps (the defaults)", {}),
    ("without the imprecise-geocode rule", {"imprecise_radius_m": 0.0}),
    ("with robust outlier removal (off by default)", {"outlier_neighbours": 6}),
    ("without street-aware seeds", {"frontage_step_m": 0.0}),
    ("without fragment clean-up", {"fragment_max_rows": -1}),
    ("without border smoothing", {"smooth_window_m": 0.0}),
    ("with empty land whole to one station, 100 m (off by default)", {"empty_land_m": 100.0}),
    ("with empty land whole to one station, 200 m (off by default)", {"empty_land_m": 200.0}),
    ("--method hull (concave-hull cores, then Voronoi)", {"method": "hull"}),
    ("--method auto (per commune, by an internal hold-out)", {"method": "auto"}),
    ("none of them", {"imprecise_radius_m": 0.0, "frontage_step_m": 0.0, "fragment_max_rows": -1,
                      "smooth_window_m": 0.0}),
)


def ablation(csv: Path, communes: Path, paris_inputs, seed: int = 0) -> list[dict]:
    """Ours with each accuracy step switched off: VdM hold-out, Paris and town IoU."""
    import boundaries
    from boundaries.params import Parameters

    tab = read_reu(csv)
    pts, reference, paris_outlines = paris_inputs
    cols = boundaries.AddressColumns(x="x", y="y")
    rows = []
    for label, kw in ABLATION:
        kw_params = {k: v for k, v in kw.items() if k != "method"}
        method = kw.get("method", "voronoi")
        params = Parameters(**kw_params)
        h = boundaries.build(tab, communes, holdout=HOLDOUT, seed=seed, params=params, method=method).report.holdout
        p = reference_scores(boundaries.build(pts, paris_outlines, columns=cols, crs=METRIC, params=params,
                                              method=method).stations, reference)
        t = reference_scores(boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson",
                                              params=params, method=method).stations, TOWN / "stations_truth.geojson")
        rows.append({"label": label, "params": kw, "vdm_own": h["own_station"], "paris_iou": p["iou_mean"],
                     "paris_right": p["area_right"], "town_iou": t["iou_mean"], "town_right": t["area_right"]})
        log(f"ablation: {label}: VdM own station {pct(h['own_station'])}, Paris IoU {f3(p['iou_mean'])}, "
            f"town IoU {f3(t['iou_mean'])}")
    return rows


def ablation_lines(rows: list[dict]) -> list[str]:
    return table(
        ["variant", "parameters", "VdM hold-out own station (seed 0)", "Paris IoU mean", "Paris area right",
         "town IoU mean", "town area right"],
        [[r["label"], ", ".join(f"`{k}={v}`" for k, v in r["params"].items()) or "—", pct(r["vdm_own"]),
          f3(r["paris_iou"]), pct(r["paris_right"]), f3(r["town_iou"]), pct(r["town_right"])] for r in rows],
    )


#: Tolerances compared in the simplification table (metres: the levels fine, web and overview).
SIMPLIFY_TOLERANCES = (1.0, 10.0, 50.0)


def simplification(csv: Path, communes: Path, folder: Path) -> list[dict]:
    """Val-de-Marne written plain, with ``coverage_simplify`` (ours) and with a naive per-polygon simplify.

    Each is written as GeoJSON and checked by ``boundaries check`` (``check_stations``):
    the naive one shows the gaps and overlaps it opens between neighbours.
    """
    import shapely

    import boundaries
    from boundaries.checks import check_stations
    from boundaries.simplify import simplify_stations
    from boundaries.write import write_stations

    stations = boundaries.build(csv, communes).stations
    metric = stations.to_crs(METRIC)
    rows = []

    def measure(label, tol, layer):
        path = folder / f"simplify-{label}-{tol:g}.geojson"
        write_stations(layer, str(path))
        check = check_stations(str(path), str(communes))
        t = check.totals
        rows.append({"label": label, "tolerance": tol, "bytes": path.stat().st_size,
                     "vertices": int(shapely.get_num_coordinates(layer.geometry.values.to_numpy()).sum()),
                     "ok": check.ok(), "overlap_m2": t.get("overlap_m2", 0.0), "gap_m2": t.get("gap_m2", 0.0),
                     "problems": len(check.errors())})
        log(f"simplify: {label} {tol:g} m: {rows[-1]['bytes']:,} bytes, check ok {rows[-1]['ok']}")

    measure("none", 0.0, stations)
    for tol in SIMPLIFY_TOLERANCES:
        measure("coverage", tol, simplify_stations(stations, tol)[0])
        naive = metric.set_geometry(shapely.simplify(metric.geometry.values.to_numpy(), tol)).to_crs(4326)
        measure("naive", tol, naive)
    return rows


def simplification_lines(rows: list[dict]) -> list[str]:
    base = rows[0]["bytes"]
    return table(
        ["simplification", "tolerance", "GeoJSON size", "vs plain", "vertices", "`boundaries check`",
         "overlap m²", "gap m²"],
        [[{"none": "none", "coverage": "ours: `coverage_simplify` per commune",
           "naive": "naive: `shapely.simplify` per polygon"}[r["label"]],
          f"{r['tolerance']:g} m" if r["tolerance"] else "—", f"{r['bytes'] / 1024:,.0f} KiB",
          f"{base / r['bytes']:.1f}× smaller" if r["tolerance"] else "—", f"{r['vertices']:,}",
          "passes" if r["ok"] else f"fails ({r['problems']} problems)", f"{r['overlap_m2']:,.0f}",
          f"{r['gap_m2']:,.0f}"] for r in rows],
    )


def town_reference() -> dict:
    import geopandas as gpd

    import boundaries
    from benchmarks.yardstick import yardstick_build

    csv, communes, truth = TOWN / "addresses.csv", TOWN / "communes.geojson", TOWN / "stations_truth.geojson"
    ref = gpd.read_file(truth)
    ours = boundaries.build(csv, communes).stations
    yard = yardstick_build(csv, communes, None)
    return {"ours": reference_scores(ours, ref), "yardstick": reference_scores(yard, ref), "stations": len(ref)}


# --------------------------------------------------------------------------- speed


#: How often the launcher samples the memory of the measured process tree (seconds).
SAMPLE_PERIOD = 0.2

#: A small launcher between the bench and each measured command. On Linux a child's
#: ``ru_maxrss`` includes the memory high-water of the process it was forked from (exec
#: keeps it), so forking the command straight from this (large) bench process would
#: report at least the bench's own RSS. The launcher is a bare interpreter (≈ 10 MiB,
#: standard library only); it times its only child and reports:
#:
#: - ``mem``, the figure the tables give as peak memory: the peak physical memory of the
#:   **process tree** (the command and every process under it, e.g. the pool workers of
#:   ``-j 2``): the sum of their ``Pss`` (``/proc/PID/smaps_rollup``: pages shared after a
#:   fork split between the processes sharing them), or ``rss_single`` if higher. Reading
#:   ``Pss`` makes the kernel walk each process's page tables (~50 ms per GB), so it is
#:   sampled only as often as keeps that under 2 % of one core (every ``SAMPLE_PERIOD`` s
#:   for small processes, every few seconds for GB-sized ones; ``pss_samples`` counts the
#:   samples): a peak shorter than that can be missed;
#: - ``rss``: the peak of the tree's summed ``VmRSS`` (cheap: every ``SAMPLE_PERIOD`` s), or
#:   ``rss_single`` if higher:
#:   a page shared by a forked worker and its parent counts once per process, so this
#:   over-counts physical memory;
#: - ``pss``: the sampled peak of the summed ``Pss`` alone;
#: - ``rss_single``: ``ru_maxrss`` from ``os.wait4``: the largest peak of any one process of
#:   the tree (exact, but blind to the sum: what this bench reported before it sampled);
#: - ``rss_upper``: the sum of every process's own peak (``VmHWM``), an upper bound of ``rss``;
#: - ``cpu``: user + system seconds of the whole tree (reaped workers included).
#:
#: It runs the command in a session of its own, and kills that session (the command and
#: its workers) after ``timeout`` seconds or when the launcher is told to stop.
_LAUNCHER = r"""
import json, os, signal, subprocess, sys, threading, time
timeout = float(sys.argv[1])
period = float(sys.argv[2])
PSS_SHARE = 0.02
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL, start_new_session=True)
peak = {"rss": 0, "pss": 0, "procs": 0, "pss_samples": 0}
hwm = {}
cut = []
done = threading.Event()

def kill(*_):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass

def stopped(signum, frame):
    kill()
    sys.exit(128 + signum)

def field(pid, name, key):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None

def tree():
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    s = f.read()
            except OSError:
                continue
            children.setdefault(int(s[s.rindex(b")") + 2:].split()[1]), []).append(int(d))
    out, todo = [], [p.pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out

def sample():
    n, next_pss = 0, 0.0
    while not done.wait(0 if n == 0 else period):
        if time.perf_counter() - t0 > timeout:
            cut.append(True)
            kill()
            return
        pids = tree()
        rss = 0
        for pid in pids:
            r = field(pid, "status", b"VmRSS:")
            h = field(pid, "status", b"VmHWM:")
            rss += r or 0
            if h:
                hwm[pid] = h
        peak["rss"] = max(peak["rss"], rss)
        peak["procs"] = max(peak["procs"], len(pids))
        if time.perf_counter() >= next_pss:
            # PSS costs the kernel a walk of each process's page tables (~50 ms for 1 GB of small
            # pages): read it only as often as keeps that under PSS_SHARE of one core
            c0 = time.perf_counter()
            peak["pss"] = max(peak["pss"], sum(field(pid, "smaps_rollup", b"Pss:") or 0 for pid in pids))
            peak["pss_samples"] += 1
            next_pss = time.perf_counter() + (time.perf_counter() - c0) / PSS_SHARE
        n += 1

signal.signal(signal.SIGTERM, stopped)
signal.signal(signal.SIGINT, stopped)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
_, status, usage = os.wait4(p.pid, 0)
seconds = time.perf_counter() - t0
done.set()
sampler.join()
single = usage.ru_maxrss * 1024
hwm[p.pid] = max(hwm.get(p.pid, 0), single)
print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                  "rc": os.waitstatus_to_exitcode(status), "cut": bool(cut),
                  "mem": max(peak["pss"], single), "rss": max(peak["rss"], single), "rss_single": single,
                  "pss": peak["pss"],
                  "rss_upper": sum(hwm.values()), "procs": peak["procs"], "samples_period": period,
                  "pss_samples": peak["pss_samples"]}))
"""


class ChildFailed(RuntimeError):
    """A measured command exited with an error: its exit code ``rc`` and the end of its ``stderr``."""

    def __init__(self, cmd, rc, stderr: str):
        super().__init__(f"{' '.join(map(str, cmd))} failed (exit {rc}): {stderr}")
        self.rc, self.stderr = rc, stderr


def _busy_seconds() -> float | None:
    """CPU seconds every core of the machine has spent busy since boot (``/proc/stat``), or None."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(f[:8]) - f[3] - (f[4] if len(f) > 4 else 0)) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def run_child(cmd: list, cwd=ROOT, timeout: float | None = None) -> dict:
    """Run ``cmd`` in a fresh process: wall ``seconds``, ``cpu`` seconds, peak memory in bytes (``mem``
    of the process tree, and ``rss``, ``pss``, ``rss_single``, ``rss_upper``: see ``_LAUNCHER``), ``load``
    (the 1-minute load average before), and ``others``: the cores that the rest of the machine kept
    busy on average meanwhile (all busy CPU time less the command's, over the wall time; the
    launcher's sampling is counted there), or None where ``/proc/stat`` cannot be read.

    With ``timeout``, a command still running after that many seconds is killed with its
    workers and the result says ``cut`` (its ``seconds`` are the time it ran).
    """
    load = os.getloadavg()[0]
    busy0 = _busy_seconds()
    proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(1e12 if timeout is None else max(timeout, 0.0)),
                           str(SAMPLE_PERIOD), *map(str, cmd)], cwd=cwd, capture_output=True, text=True,
                          env=_CHILD_ENV)
    busy1 = _busy_seconds()
    try:
        g = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        g = {"rc": "?"}
    if proc.returncode != 0 or (g["rc"] != 0 and not g.get("cut")):
        raise ChildFailed(cmd, g["rc"], proc.stderr[-2000:])
    g["load"] = load
    g["others"] = (None if busy0 is None or busy1 is None or g["seconds"] <= 0
                   else max(0.0, (busy1 - busy0 - g["cpu"]) / g["seconds"]))
    return g


def ours_cmd(csv, communes, out) -> list:
    return [Path(sys.executable).parent / "boundaries", "build", csv, "--communes", communes, "-o", out, "-q"]


def yard_cmd(csv, communes, out) -> list:
    return [sys.executable, "-m", "benchmarks.yardstick", csv, communes, out]


def speed(csv: Path, communes: Path, runs: int, warmup: int, work: Path, name: str) -> dict:
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


def speed_lines(s: dict) -> list[str]:
    rows = []
    for method, label in (("ours", "ours (`boundaries build … -q`)"),
                          ("yardstick", "yardstick (`python -m benchmarks.yardstick`)")):
        r = s[method]
        rows.append([label, f"{r['seconds']:.2f}", ", ".join(f"{t:.2f}" for t in r["all"]), f"{r['cpu']:.2f}",
                     f"{s['rows'] / r['seconds']:,.0f}", f"{r['rss'] / 2 ** 20:,.0f} MiB", f"{r['load']:.2f}"])
    ratio = s["yardstick"]["seconds"] / s["ours"]["seconds"]
    cpu_ratio = s["yardstick"]["cpu"] / s["ours"]["cpu"]
    header = ["method", "median s", "runs (s)", "median CPU s", "rows/s", "peak memory", "max load before"]
    return table(header, rows) + [
        "", f"Ratio yardstick / ours (median wall times): **{ratio:.2f}** "
        f"({'ours is faster' if ratio > 1 else 'ours is slower'}); CPU time ratio {cpu_ratio:.2f}."]


# --------------------------------------------------------------------------- scaling


def scaled_inputs(csv: Path, communes: Path, factors, folder: Path) -> dict:
    """k copies of the département on a 40 km grid in Lambert-93, renamed to départements 01, 02…"""
    import geopandas as gpd
    from pyproj import Transformer

    tab = read_reu(csv)
    lon, lat = lonlat(tab)
    x, y = to_metric(lon, lat)
    ok = np.isfinite(x)
    back = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)
    outl = gpd.read_file(communes).to_crs(METRIC)
    side = int(np.ceil(np.sqrt(max(factors))))
    copies, outlines = [], []
    for i in range(max(factors)):
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
        if res:
            last = res[-1]
            growth = max(1.0, (last["seconds"] / res[0]["seconds"]) / (last["k"] / res[0]["k"])) if len(res) > 1 else 1.0
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


def scaling_lines(res: list[dict]) -> list[str]:
    base = res[0]
    rows = [[f"{r['k']}×", f"{r['rows']:,}", f"{r['communes']:,}", f"{r['seconds']:.2f}", f"{r['cpu']:.2f}",
             f"{r['rows'] / r['seconds']:,.0f}", f"{r['mem'] / 2 ** 20:,.0f} MiB",
             f"{r['seconds'] / base['seconds']:.2f}", f"{r['cpu'] / base['cpu']:.2f}", f"{r['mem'] / base['mem']:.2f}",
             f"{r['load']:.2f}"] if not r["skipped"] else
            [f"{r['k']}×", f"{r['rows']:,}", f"{r['communes']:,}",
             f"not run: projected ≈ {r['projected']:.0f} s, past the bench's time budget"] + [""] * 7 for r in res]
    return table(["size", "rows", "communes", "seconds", "CPU s", "rows/s", "peak memory", "time / 1×", "CPU / 1×",
                  "memory / 1×", "load before"], rows)


# --------------------------------------------------------------------------- national shape

NATIONAL_ROWS = 1_000_000  # the 1× size
NATIONAL_DEPARTEMENTS = 6  # at 1×, scaled with the rows (6 / 24 / 96)
NATIONAL_FACTORS = (1, 4, 16)
NATIONAL_SEED = 0
NATIONAL_JOBS = 2
NATIONAL_JOBS1_SIZES = 2  # -j 1 too at the first this many sizes (1 M and 4 M rows)
NATIONAL_BUDGET = 1800.0  # seconds for the whole section (generation included), default
MAX_DEPARTEMENTS = 96  # what benchmarks.synth writes at most
#: The issue's targets: all France (16 M rows) with --jobs 2 on this 2-core, 24 GB machine.
TARGET_ROWS, TARGET_SECONDS, TARGET_MEMORY = 16_000_000, 180.0, 4e9
GB = 1e9
#: Generated national-shape tables are kept here between bench runs (outside the repository).
CACHE = Path(os.environ.get("BOUNDARIES_BENCH_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "boundaries-bench")
NAT_START, NAT_END = "<!-- national:start -->", "<!-- national:end -->"
#: How a generated folder's rows cost in time, to project a generation not yet cached
#: (measured: 16 M rows in ~90 s; doubled for a busy machine).
SYNTH_SECONDS_PER_ROW = 12e-6


def synth_key(rows: int, departements: int, seed: int) -> str:
    """The cache folder's name: the generator's arguments and a hash of its source."""
    gen = hashlib.sha256((ROOT / "benchmarks" / "synth.py").read_bytes()).hexdigest()[:12]
    return f"synth-{rows}r-{departements}d-s{seed}-{gen}"


def synth_inputs(rows: int, departements: int, seed: int, cache: Path, timeout: float | None = None) -> dict:
    """``addresses.parquet``, ``communes.gpkg`` and ``summary.json`` for these arguments, in ``cache``.

    Found there when an earlier run wrote them (same arguments, same ``benchmarks/synth.py``),
    else written once by ``python -m benchmarks.synth`` in a child process, into a temporary
    folder renamed when complete (a cut run leaves no half-written folder behind).
    Returns ``folder``, ``summary``, ``cached`` and ``seconds`` (generation time, 0 if cached),
    or ``cut`` if the generation ran past ``timeout``.
    """
    folder = Path(cache) / synth_key(rows, departements, seed)
    names = ("addresses.parquet", "communes.gpkg", "summary.json")

    def found(seconds, cached):
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        return {"folder": folder, "summary": summary, "cached": cached, "seconds": seconds,
                "parquet_bytes": (folder / "addresses.parquet").stat().st_size}

    if all((folder / n).is_file() for n in names):
        return found(0.0, True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        g = run_child([sys.executable, "-m", "benchmarks.synth", "--rows", rows, "--departements", departements,
                       "--seed", seed, "-o", tmp, "-q"], timeout=timeout)
        if g.get("cut"):
            return {"folder": folder, "cut": True, "seconds": g["seconds"]}
        try:
            if folder.exists() and not all((folder / n).is_file() for n in names):
                shutil.rmtree(folder)  # incomplete: written by hand or by an older bench
            tmp.rename(folder)
        except OSError:  # written meanwhile by another bench run: keep that one
            if not all((folder / n).is_file() for n in names):
                raise
        return found(g["seconds"], False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def national_cmd(folder: Path, out: Path, jobs: int) -> list:
    return [Path(sys.executable).parent / "boundaries", "build", folder / "addresses.parquet",
            "--communes", folder / "communes.gpkg", "--all", "-j", jobs, "-q", "-o", out]


def _remove_outputs(out: Path) -> None:
    shutil.rmtree(Path(f"{out}.parts"), ignore_errors=True)
    out.unlink(missing_ok=True)
    out.with_suffix(".report.json").unlink(missing_ok=True)


def national(work: Path, deadline: float, cache: Path = CACHE, rows: int = NATIONAL_ROWS,
             departements: int = NATIONAL_DEPARTEMENTS, factors=NATIONAL_FACTORS, seed: int = NATIONAL_SEED,
             jobs: int = NATIONAL_JOBS, jobs1_sizes: int = NATIONAL_JOBS1_SIZES, res: dict | None = None) -> dict:
    """All France at national shape: ``boundaries build … --all -j 2`` on generated tables of
    ``rows × k`` rows (``departements × k`` départements, at most 96) for each ``k`` of ``factors``.

    Runs, in this order: ``-j jobs`` at each size, followed at the first ``jobs1_sizes``
    sizes by ``-j 1`` (right after, so that both see about the same load from the rest of
    the machine); then the same command again at the largest size with its parts kept
    (``resume``). Each timed run but the resume starts without a parts folder, so nothing is
    reused. A run whose projected time would end after ``deadline`` (a
    ``time.perf_counter()`` value) is skipped, and one still going at the deadline is
    killed; either is said so in ``res``, which holds whatever was measured (pass a dict to
    keep it if this raises). A ``-j 1`` run that would leave too little time for the larger
    ``-j jobs`` runs is put off to the end.
    """
    res = {} if res is None else res
    sizes = [{"k": k, "rows": rows * k, "departements": min(MAX_DEPARTEMENTS, departements * k)} for k in factors]
    res.update(base_rows=rows, seed=seed, jobs=jobs, cache=str(cache), sizes=sizes, runs=[], inputs={},
               started=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), load_start=os.getloadavg())
    plan = []
    for i, s in enumerate(sizes):
        plan.append(("build", s, jobs, False))
        if i < jobs1_sizes and jobs != 1:
            plan.append(("build", s, 1, False))
    plan.append(("resume", sizes[-1], jobs, False))
    out_dir = work / "national"
    out_dir.mkdir(parents=True, exist_ok=True)

    def done(kind, j=None):
        return national_runs(res, kind, j)

    def project(n):
        """The time of ``-j jobs`` at ``n`` rows from the finished ones (growth no better than linear)."""
        prev = done("build", jobs)
        if not prev:
            return None
        last, base = prev[-1], prev[0]
        growth = (max(1.0, (last["seconds"] / base["seconds"]) / (last["rows"] / base["rows"]))
                  if len(prev) > 1 else 1.0)
        return last["seconds"] * (n / last["rows"]) * growth

    i = 0
    while i < len(plan):
        kind, size, j, deferred = plan[i]
        i += 1
        n = size["rows"]
        # a projection of this run's time from what has run (None: nothing to go by)
        same = [r for r in done("build", j) if r["rows"] == n]
        first = [r for r in done("build", jobs) if r["rows"] == n]
        projected = None
        if kind == "build" and j == jobs:
            projected = project(n)
        elif kind == "build" and first:  # -j 1 after -j 2 at this size: at most about twice
            projected = 2 * first[0]["seconds"]
            later = [project(x["rows"]) or 0 for x in sizes if x["rows"] > n]
            left = deadline - time.perf_counter()
            if not deferred and later and projected + sum(later) > left >= sum(later):
                plan.append((kind, size, j, True))
                log(f"national: -j {j} at {n:,} rows put off to the end: ≈ {projected:.0f} s, and the larger "
                    f"-j {jobs} runs need ≈ {sum(later):.0f} s of the {left:.0f} s left")
                continue
        run = {"kind": kind, "k": size["k"], "rows": n, "departements": size["departements"], "jobs": j}
        res["runs"].append(run)
        if kind == "resume" and not same:
            run.update(skipped=True, reason=f"no finished -j {j} run at this size to resume")
            log(f"national: resume at {n:,} rows skipped: {run['reason']}")
            continue
        key = (n, size["departements"])
        cached = (Path(cache) / synth_key(n, size["departements"], seed) / "summary.json").is_file()
        if key not in res["inputs"] and projected is not None and not cached:
            projected += SYNTH_SECONDS_PER_ROW * n
        left = deadline - time.perf_counter()
        if left <= 0 or (projected is not None and projected > left):
            run.update(skipped=True, projected=projected, reason="past the deadline")
            res["deadline_hit"] = res.get("deadline_hit") or left <= 0
            log(f"national: {kind} -j {j} at {n:,} rows skipped: projected "
                f"{'?' if projected is None else f'{projected:.0f}'} s, {max(left, 0):.0f} s left")
            continue
        if key not in res["inputs"]:
            log(f"national: inputs {n:,} rows, {size['departements']} départements, seed {seed} (cache {cache})")
            inp = synth_inputs(n, size["departements"], seed, Path(cache), timeout=left)
            res["inputs"][key] = inp
            if inp.get("cut"):
                run.update(cut=True, seconds=inp["seconds"], reason="generating its inputs ran past the deadline")
                res["deadline_hit"] = True
                log(f"national: generating {n:,} rows cut at the deadline after {inp['seconds']:.0f} s")
                continue
            how = "found in the cache" if inp["cached"] else f"written in {inp['seconds']:.1f} s"
            log(f"national: inputs {how}: {inp['summary']['communes']:,} communes, "
                f"{inp['summary']['stations']:,} stations")
        inp = res["inputs"][key]
        if inp.get("cut"):
            run.update(skipped=True, reason="its inputs were not generated")
            continue
        out = out_dir / f"n{n}-j{j}.gpkg"
        if kind == "build":
            _remove_outputs(out)  # nothing reused
        try:
            g = run_child(national_cmd(inp["folder"], out, j), timeout=deadline - time.perf_counter())
        except ChildFailed as e:  # a failed build: said in the tables, the other runs go on
            lines = [x.strip() for x in e.stderr.splitlines() if x.strip()]
            run.update(error=f"exit {e.rc}: " + (lines[-1][-400:] if lines else "no message"))
            log(f"national: {kind} -j {j} at {n:,} rows FAILED: {e}")
            _remove_outputs(out)
            continue
        run.update(g)
        if g.get("cut"):
            run["reason"] = "still running at the deadline: killed"
            res["deadline_hit"] = True
            log(f"national: {kind} -j {j} at {n:,} rows cut at the deadline after {g['seconds']:.0f} s")
            _remove_outputs(out)
            continue
        rep = json.loads(out.with_suffix(".report.json").read_text(encoding="utf-8"))
        deps = rep.get("departements") or {}
        run.update(stations_out=rep["stations_out"], communes_built=rep["communes_built"],
                   rows_used=rep["rows_used"], rows_read=rep["rows_read"], parts=len(deps),
                   parts_reused=sum(bool(d.get("cached")) for d in deps.values()),
                   stations_in_table=inp["summary"]["stations"], communes_in_table=inp["summary"]["communes"],
                   output_bytes=out.stat().st_size)
        log(f"national: {kind} -j {j} at {n:,} rows: {g['seconds']:.1f} s (CPU {g['cpu']:.1f} s), peak memory "
            f"{g['mem'] / GB:.2f} GB (tree RSS {g['rss'] / GB:.2f} GB, largest process "
            f"{g['rss_single'] / GB:.2f} GB), "
            f"{run['stations_out']:,} stations in {run['communes_built']:,} communes, "
            f"{run['parts_reused']}/{run['parts']} parts reused; others' CPU {_cores(g)}")
        if not (kind == "build" and j == jobs and size is sizes[-1]):  # that one is resumed next
            _remove_outputs(out)
    for size in sizes:
        _remove_outputs(out_dir / f"n{size['rows']}-j{jobs}.gpkg")
    res["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    res["load_end"] = os.getloadavg()
    return res


def _gb(v) -> str:
    return f"{v / GB:.2f} GB"


def _cores(r: dict) -> str:
    return "?" if r.get("others") is None else f"{r['others']:.2f} cores"


def _why_not(r: dict) -> str | None:
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


def national_runs(n: dict, kind: str = "build", jobs: int | None = None) -> list[dict]:
    """The runs of this kind and job count that finished, in order."""
    return [r for r in n.get("runs", []) if r["kind"] == kind and (jobs is None or r["jobs"] == jobs)
            and _why_not(r) is None]


def national_target_run(n: dict) -> dict | None:
    return next((r for r in national_runs(n, "build", 2) if r["rows"] == TARGET_ROWS), None)


def national_lines(n: dict, env: dict | None = None) -> list[str]:
    """Section 6: tables of the national runs, between ``NAT_START`` and ``NAT_END``.

    With ``env`` (the section measured on its own, ``--only national``), a line says when
    and on which code.
    """
    jobs = n["jobs"]
    runs = n.get("runs", [])
    L = [NAT_START, "## 6. All France at national shape", "",
         f"`boundaries build DIR/addresses.parquet --communes DIR/communes.gpkg --all -j J -q -o OUT.gpkg` end to "
         "end in a fresh subprocess (one run each), on tables written by `python -m benchmarks.synth --rows N "
         f"--departements K --seed {n['seed']}` ({n['base_rows']:,} rows × "
         f"{', '.join(str(s['k']) for s in n['sizes'])}, the départements scaled alike, at most 96; kept "
         "between bench runs in a cache folder outside the repository, keyed by the arguments and "
         f"the generator's source hash: `{n['cache']}`). Before each timed run the parts folder "
         "`OUT.gpkg.parts/` is deleted, so nothing is reused, except in the *resume* run. Peak memory: that of the "
         "whole process tree (the command and its pool workers): their summed PSS (pages shared after the fork "
         "split between the processes), sampled from `/proc` every few seconds once the processes are GB-sized "
         "(reading it costs the kernel a page-table walk, kept under 2 % of a core), with the summed RSS "
         f"(every {SAMPLE_PERIOD:g} s; each shared page counted in every process: an over-count) and the largest "
         "single process "
         "(`ru_maxrss`) beside it; 1 GB = 10⁹ bytes. *Built*: the stations and communes the run's report "
         "(`OUT.report.json`: `stations_out`, `communes_built`) says it built, against those of the generated "
         "table. *Others' CPU*: the cores the rest of the machine kept busy on average during the run (all busy "
         "time in `/proc/stat` less the command's own CPU time, over its wall time): on 2 cores, anything above "
         "0 slows the command's wall time down."]
    if env:
        L += ["", f"Measured on its own (`python -m benchmarks.run --only national`) from {n['started']} to "
              f"{n.get('finished', '?')}, commit {env['commit']}"
              + (f" with uncommitted changes in {', '.join(env['modified'])}" if env["modified"] else "")
              + f", package source hash `{env['measured']}`; load average "
              + "{:.2f} {:.2f} {:.2f}".format(*n["load_start"]) + " at its start, "
              + ("{:.2f} {:.2f} {:.2f}".format(*n["load_end"]) if "load_end" in n else "?") + " at its end."]
    # inputs
    rows = []
    for s in n["sizes"]:
        inp = n["inputs"].get((s["rows"], s["departements"]))
        if inp is None or inp.get("cut"):
            rows.append([f"{s['k']}×", f"{s['rows']:,}", s["departements"], "", "", "",
                         "not generated" if inp is None else f"cut after {inp['seconds']:.0f} s"])
            continue
        sm = inp["summary"]
        rows.append([f"{s['k']}×", f"{sm['rows']:,}", sm["departements"], f"{sm['communes']:,}", f"{sm['stations']:,}",
                     f"{inp['parquet_bytes'] / 1e6:,.1f} MB",
                     "from the cache" if inp["cached"] else f"written in {inp['seconds']:.0f} s"])
    L += ["", "Inputs:", ""] + table(["size", "rows", "départements", "communes", "stations", "addresses.parquet",
                                      "this run"], rows)
    # scale
    base = next((r for r in national_runs(n, "build", jobs) if r["k"] == n["sizes"][0]["k"]), None)
    rows = []
    for r in (r for r in runs if r["kind"] == "build" and r["jobs"] == jobs):
        why = _why_not(r)
        head = [f"{r['k']}×", f"{r['rows']:,}", r["departements"]]
        if why:
            rows.append(head + [why] + [""] * 10)
            continue
        rows.append(head + [
            f"{r['stations_out']:,} / {r['communes_built']:,} "
            f"(of {r['stations_in_table']:,} / {r['communes_in_table']:,})",
            f"{r['seconds']:.1f}", f"{r['cpu']:.1f}", f"{r['rows'] / r['seconds']:,.0f}",
            f"{r['seconds'] / (r['rows'] / 1e6):.2f}", _gb(r["mem"]), _gb(r["rss"]), _gb(r["rss_single"]),
            f"{r['seconds'] / base['seconds']:.2f}" if base else "—",
            f"{(r['seconds'] / base['seconds']) / (r['rows'] / base['rows']):.2f}" if base else "—",
            _cores(r)])
    L += ["", f"By size, `-j {jobs}`:", ""]
    L += table(["size", "rows", "départements", "stations / communes built (of the table's)", "wall s", "CPU s",
                "rows/s", "s per M rows", "peak memory (tree PSS)", "tree RSS sum", "largest process",
                "time / 1×", "time per row / 1×", "others' CPU"], rows)
    done = national_runs(n, "build", jobs)
    if base and len(done) > 1:
        L += ["", "Growth (linear: time / 1× equal to the row ratio, time per row / 1× equal to 1): " + "; ".join(
            f"time({r['k'] / base['k']:g}×) / time(1×) = **{r['seconds'] / base['seconds']:.2f}** "
            f"(per row {(r['seconds'] / base['seconds']) / (r['rows'] / base['rows']):.2f})"
            for r in done[1:]) + "."]
    # targets
    t = national_target_run(n)
    L += ["", f"Targets (issue): all France, {TARGET_ROWS:,} rows, `-j 2`, on this machine:", ""]
    if t:
        ok_t, ok_m = t["seconds"] <= TARGET_SECONDS, t["mem"] <= TARGET_MEMORY
        L += table(["target", "measured", "met"], [
            [f"wall time ≤ {TARGET_SECONDS:.0f} s", f"{t['seconds']:.1f} s",
             "**yes**" if ok_t else f"**no** ({t['seconds'] / TARGET_SECONDS:.2f}× the target)"],
            [f"peak memory ≤ {TARGET_MEMORY / GB:.0f} GB",
             f"{_gb(t['mem'])} (tree PSS; tree RSS sum {_gb(t['rss'])}, largest process {_gb(t['rss_single'])})",
             "**yes**" if ok_m else f"**no** ({t['mem'] / TARGET_MEMORY:.2f}× the target)"]])
    else:
        L += [f"Not measured in this run (no finished `-j 2` run at {TARGET_ROWS:,} rows)."]
    # jobs 1 vs 2
    j1_all = [r for r in runs if r["kind"] == "build" and r["jobs"] == 1]
    if j1_all:
        rows, noisy = [], False
        for r in j1_all:
            why = _why_not(r)
            two = next((x for x in done if x["rows"] == r["rows"]), None)
            if why or not two:
                rows.append([f"{r['rows']:,}", why or "no `-j 2` run at this size"] + [""] * 8)
                continue
            rows.append([f"{r['rows']:,}", f"{r['seconds']:.1f}", f"{two['seconds']:.1f}",
                         f"**{r['seconds'] / two['seconds']:.2f}**", f"{r['cpu']:.1f}", f"{two['cpu']:.1f}",
                         _gb(r["mem"]), _gb(two["mem"]), _cores(r), _cores(two)])
            if not 1 <= r["seconds"] / two["seconds"] <= 2.05:
                noisy = True
        L += ["", "`-j 1` against `-j 2` (2 cores; speed-up 2 is the most there is):", ""]
        L += table(["rows", "`-j 1` wall s", "`-j 2` wall s", "speed-up", "`-j 1` CPU s", "`-j 2` CPU s",
                    "`-j 1` peak memory", "`-j 2` peak memory", "others' CPU, `-j 1`", "others' CPU, `-j 2`"],
                   rows)
        if noisy:
            L += ["", "On 2 cores a speed-up above 2 can only come from the rest of the machine taking more of it "
                  "during the `-j 1` run than during the `-j 2` one (the *others' CPU* columns); one below 1 from "
                  "the reverse, or from too few départements to share between the two workers while paying for "
                  "the pool. The CPU seconds are less affected by the machine's load."]
    # resume
    res_all = [r for r in runs if r["kind"] == "resume"]
    if res_all:
        r = res_all[0]
        first = next((x for x in done if x["rows"] == r["rows"]), None)
        why = _why_not(r)
        L += ["", f"Resume: the same command run again at {r['rows']:,} rows with its parts folder kept:", ""]
        if why or not first:
            L += [why or "not run"]
        else:
            L += table(["run", "wall s", "CPU s", "peak memory", "parts reused", "stations / communes built"], [
                [f"parts deleted first (`-j {jobs}`)", f"{first['seconds']:.1f}", f"{first['cpu']:.1f}",
                 _gb(first["mem"]), f"{first['parts_reused']} of {first['parts']}",
                 f"{first['stations_out']:,} / {first['communes_built']:,}"],
                [f"parts kept (resume, `-j {r['jobs']}`)", f"{r['seconds']:.1f}", f"{r['cpu']:.1f}", _gb(r["mem"]),
                 f"{r['parts_reused']} of {r['parts']}", f"{r['stations_out']:,} / {r['communes_built']:,}"]])
            L += ["", f"The resume took **{100 * r['seconds'] / first['seconds']:.0f} %** of the first run's wall "
                  "time (it still reads each département's rows to hash them, then merges the parts and writes "
                  "the output)."]
    failed = [r for r in runs if r.get("error")]
    for r in failed:
        L += ["", f"The {r['kind']} run with `-j {r['jobs']}` at {r['rows']:,} rows failed: `{r['error']}`"]
    if n.get("interrupted"):
        L += ["", "**The section was interrupted**: the runs above are those finished before."]
    elif any(_why_not(r) for r in runs):
        L += ["", f"Runs without numbers were skipped or cut to keep the section within its time budget "
              f"(`--national-budget`, {n.get('budget', 0):.0f} s), or failed."]
    return L + [NAT_END]


def national_summary_row(n: dict) -> list | None:
    """The README summary row: the 16 M run against the targets (or the largest run done)."""
    t = national_target_run(n)
    if t:
        return [f"All France, national shape ({t['rows']:,} rows, {t['departements']} départements), "
                f"`--all -j 2`: wall / peak memory (targets ≤ {TARGET_SECONDS:.0f} s / "
                f"≤ {TARGET_MEMORY / GB:.0f} GB)",
                f"{t['seconds']:.0f} s ({'met' if t['seconds'] <= TARGET_SECONDS else 'not met'}) / {_gb(t['mem'])} "
                f"({'met' if t['mem'] <= TARGET_MEMORY else 'not met'})", "—"]
    done = national_runs(n, "build", n["jobs"])
    if not done:
        return None
    r = done[-1]
    target = next((x for x in n.get("runs", []) if x["kind"] == "build" and x["jobs"] == 2
                   and x["rows"] == TARGET_ROWS), None)
    status = "not in this run" if target is None else (_why_not(target) or "").split(" (")[0].split(":")[0]
    return [f"National shape, largest run ({r['rows']:,} rows, {r['departements']} départements), "
            f"`--all -j {r['jobs']}`: wall / peak memory (all France, {TARGET_ROWS:,} rows: {status})",
            f"{r['seconds']:.0f} s / {_gb(r['mem'])}", "—"]


def national_caveats(n: dict) -> list[str]:
    notes = []
    t = national_target_run(n)
    if t and t["seconds"] > TARGET_SECONDS:
        notes.append(f"All France ({t['rows']:,} rows, `-j 2`): {t['seconds']:.0f} s, over the {TARGET_SECONDS:.0f} s "
                     f"target ({t['seconds'] / TARGET_SECONDS:.2f}×).")
    if t and t["mem"] > TARGET_MEMORY:
        notes.append(f"All France ({t['rows']:,} rows, `-j 2`): peak memory {_gb(t['mem'])}, over the "
                     f"{TARGET_MEMORY / GB:.0f} GB target.")
    if not t:
        notes.append(f"All France ({TARGET_ROWS:,} rows) was not measured in this run.")
    done = national_runs(n, "build", n["jobs"])
    if len(done) > 1:
        base, last = done[0], done[-1]
        k = last["rows"] / base["rows"]
        if last["seconds"] / base["seconds"] > 1.25 * k:
            notes.append(f"National shape: {k:g}× the rows cost {last['seconds'] / base['seconds']:.1f}× the wall "
                         "time of 1× — more than linear.")
    for r in n.get("runs", []):
        why = _why_not(r)
        if why and not r.get("skipped"):
            notes.append(f"National shape, {r['kind']} `-j {r['jobs']}` at {r['rows']:,} rows: {why}.")
    return notes


# --------------------------------------------------------------------------- report


def header_lines(env: dict, quick: bool) -> list[str]:
    mod = env["modified"]
    lines = [
        "# Benchmarks" + (" (quick smoke run)" if quick else ""),
        "",
        "Written by `make bench` (`.venv/bin/python -m benchmarks.run" + (" --quick" if quick else "") + "`); "
        "do not edit by hand. Everything is seeded except the timings. The yardstick is the plain Voronoi "
        "of `benchmarks/yardstick.py` (unique points, first row wins a shared coordinate, dissolved, clipped; "
        "no cleaning): the method existing tools use.",
        "",
        "| | |",
        "|---|---|",
        f"| date | {env['date']} |",
        f"| machine | {env['cpu']}, {env['cores']}, {env['memory']} RAM; {env['os']} |",
        f"| load average (1, 5, 15 min) | {env['load']} at the start, {env.get('load_end', '?')} at the end "
        "(a shared machine: wall times are noisy, CPU times less so) |",
        f"| Python | {env['python']} |",
        f"| boundaries | {env['boundaries']}, commit {env['commit']}"
        + (f" with uncommitted changes in {', '.join(mod)}" if mod else "")
        + f"; the package source measured (copied at the start, used by every section) hashes to "
        f"`{env['measured']}`"
        + (" — **the working tree's `boundaries/` changed while the bench ran**; the copy taken at the start "
           "was measured throughout" if env.get("tree_changed") else "") + " |",
        f"| shapely | {env['shapely']} |",
        f"| geopandas | {env['geopandas']} |",
        f"| pyogrio | {env['pyogrio']} |",
        f"| pyproj | {env['pyproj']} |",
        f"| numpy | {env['numpy']} |",
        f"| pandas | {env['pandas']} |",
    ]
    return lines


def summary_lines(r: dict, quick: bool) -> list[str]:
    rows = []
    if "vdm_holdout" in r:
        m = r["vdm_holdout"]["per_seed"].mean(numeric_only=True)
        worst = r["vdm_holdout"]["by_commune"].iloc[0]
        rows.append(["Val-de-Marne 2016, 10 % hold-out, own station (mean of 3 seeds)",
                     pct(m.ours_own_station), pct(m.yardstick_own_station)])
        rows.append(["Val-de-Marne 2016, worst commune, own station Δ ours − yardstick",
                     f"{100 * worst['diff']:+.2f} points ({worst.name})", "—"])
    if "paris" in r:
        p = r["paris"]["arrondissements"]
        rows.append(["Paris 2017 semi-synthetic (arrondissement outlines), IoU mean / area right",
                     f"{f3(p['ours']['iou_mean'])} / {pct(p['ours']['area_right'])}",
                     f"{f3(p['yardstick']['iou_mean'])} / {pct(p['yardstick']['area_right'])}"])
    t = r["town"]
    rows.append(["Generated town, IoU mean / area right", f"{f3(t['ours']['iou_mean'])} / {pct(t['ours']['area_right'])}",
                 f"{f3(t['yardstick']['iou_mean'])} / {pct(t['yardstick']['area_right'])}"])
    m = r["town_holdout"]["per_seed"].mean(numeric_only=True)
    rows.append(["Generated town, 10 % hold-out, own station (mean of 3 seeds)", pct(m.ours_own_station),
                 pct(m.yardstick_own_station)])
    s = r["speed"]
    rows.append([f"{s['name']} end to end, median of {s['runs']} (peak memory)",
                 f"{s['ours']['seconds']:.2f} s ({s['ours']['rss'] / 2 ** 20:,.0f} MiB)",
                 f"{s['yardstick']['seconds']:.2f} s ({s['yardstick']['rss'] / 2 ** 20:,.0f} MiB)"])
    if "scaling" in r:
        last = [x for x in r["scaling"] if not x["skipped"]][-1]
        rows.append([f"{last['k']}× Val-de-Marne ({last['rows']:,} rows), ours: time / memory vs 1×",
                     f"{last['seconds']:.1f} s, ×{last['seconds'] / r['scaling'][0]['seconds']:.1f} / "
                     f"{last['mem'] / 2 ** 20:,.0f} MiB", "—"])
    if r.get("national") and national_summary_row(r["national"]):
        rows.append(national_summary_row(r["national"]))
    return table(["measure", "ours", "plain-Voronoi yardstick"], rows)


def caveat_lines(r: dict) -> list[str]:
    """Every place where ours is not better than the yardstick, said plainly."""
    notes = []
    for key, name in (("vdm_holdout", "Val-de-Marne"), ("town_holdout", "The town")):
        if key not in r:
            continue
        ps, bc = r[key]["per_seed"], r[key]["by_commune"]
        d = 100 * (ps["ours_own_station"] - ps["yardstick_own_station"])
        if (d < 0).any():
            notes.append(f"{name}, hold-out: ours is below the yardstick for seed(s) "
                         f"{', '.join(str(x) for x in ps.loc[d < 0, 'seed'])} ({', '.join(f'{v:+.2f}' for v in d[d < 0])} "
                         f"points); mean over the seeds {d.mean():+.2f} points.")
        worse = bc[bc["diff"] < 0]
        if len(worse):
            notes.append(f"{name}, hold-out per commune: ours is below the yardstick in {len(worse)} of {len(bc)} "
                         f"communes (mean of the seeds), worst {100 * worse['diff'].min():+.2f} points "
                         f"({worse.index[0]}, {int(worse['n'].iloc[0]):,} test points over the seeds).")
    for key, name in (("town", "The town"),):
        o, y = r[key]["ours"], r[key]["yardstick"]
        for m in ("iou_mean", "iou_median", "iou_min", "area_right"):
            if o[m] < y[m]:
                notes.append(f"{name} against its true polygons: {m} {o[m]:.3f} for ours < {y[m]:.3f} for the yardstick.")
    if "paris" in r:
        for outline in ("arrondissements", "city"):
            o, y = r["paris"][outline]["ours"], r["paris"][outline]["yardstick"]
            diffs = {m: o[m] - y[m] for m in ("iou_mean", "iou_median", "iou_min", "area_right")}
            if all(abs(v) < 5e-4 for v in diffs.values()):
                notes.append(f"Paris ({outline} outlines): ours and the yardstick score the same (largest difference "
                             f"{max(abs(v) for v in diffs.values()):.4f}): the points are clean and uniform, with no "
                             "shared coordinate, outlier or street address, so this test measures the Voronoi core "
                             "only and shows no gain.")
            else:
                bad = [f"{m} {v:+.3f}" for m, v in diffs.items() if v < 0]
                if bad:
                    notes.append(f"Paris ({outline} outlines): ours below the yardstick on {', '.join(bad)}.")
    s = r["speed"]
    if s["ours"]["seconds"] > s["yardstick"]["seconds"]:
        notes.append(f"Speed: ours takes {s['ours']['seconds'] / s['yardstick']['seconds']:.2f}× the yardstick's "
                     f"wall time on {s['name']} ({s['ours']['seconds']:.2f} s vs {s['yardstick']['seconds']:.2f} s; "
                     f"CPU {s['ours']['cpu']:.2f} s vs {s['yardstick']['cpu']:.2f} s) and "
                     f"{s['ours']['rss'] / s['yardstick']['rss']:.2f}× its peak memory.")
    if "scaling" in r:
        for x in r["scaling"]:
            if x["skipped"]:
                notes.append(f"Scaling: the {x['k']}× size ({x['rows']:,} rows) was not run: its projected time "
                             f"(≈ {x['projected']:.0f} s) would have taken the bench past its time budget.")
        done = [x for x in r["scaling"] if not x["skipped"]]
        base, last = done[0], done[-1]
        k = last["k"] / base["k"]
        if last["cpu"] / base["cpu"] > 1.25 * k or last["seconds"] / base["seconds"] > 1.25 * k:
            notes.append(f"Scaling: {k:g}× the rows cost {last['seconds'] / base['seconds']:.1f}× the wall time and "
                         f"{last['cpu'] / base['cpu']:.1f}× the CPU time of 1× — more than linear.")
    if r.get("national"):
        notes += national_caveats(r["national"])
    return notes


def write_results(path: Path, env: dict, r: dict, quick: bool, seconds: float) -> str:
    L = header_lines(env, quick)
    summary = summary_lines(r, quick)
    L += ["", "## Summary", ""] + summary
    notes = caveat_lines(r)
    L += ["", "Where ours is not better:", ""] + ([f"- {n}" for n in notes] or ["- nowhere in this run."])
    L += ["", "## 1. Accuracy against the plain-Voronoi yardstick", ""]
    if "vdm_holdout" in r:
        L += ["### Val-de-Marne 2016 (real addresses, 10 % hold-out)", "",
              f"`boundaries.scoring.holdout_split(longitude, latitude, {HOLDOUT}, seed)` on the raw table picks "
              "whole coordinates to hold out; ours is `boundaries.build` on the other rows, the yardstick "
              "`yardstick_build` on the same rows; both are scored by `boundaries.scoring.holdout_accuracy` in "
              "EPSG:2154 on the held-out rows whose commune has an outline, keys from "
              "`boundaries.codes.canonical_station`. *Own station*: share of test addresses inside their own "
              "station's polygon; *uncovered*: in no polygon (outside the simplified commune outlines).", ""]
        L += holdout_lines(r["vdm_holdout"], SEEDS)
    if "paris" in r:
        p = r["paris"]
        L += ["", "### Paris 2017, semi-synthetic (official sectors as truth)", "",
              f"{p['points']:,} points drawn uniformly inside the {p['sectors']} official sectors (one per "
              f"{PARIS_VOTERS_PER_POINT} French voters `nbr_elect_f`, at least {PARIS_MIN_POINTS}; seed {PARIS_SEED}), "
              "labelled `751AA_N`, rebuilt by both methods and scored with `boundaries.evaluate(..., "
              "reference=sectors)`. *Area right*: share of the sectors' area given to the right station.", ""]
        o = p["outlines"]
        L += table(["outlines"] + REF_HEADER, [
            ["arrondissements (751xx), dissolved"] + reference_rows("ours", p["arrondissements"]["ours"]),
            ["arrondissements (751xx), dissolved"] + reference_rows("yardstick", p["arrondissements"]["yardstick"]),
            ["whole city, coarse (75056, with the woods)"] + reference_rows("ours", p["city"]["ours"]),
            ["whole city, coarse (75056, with the woods)"] + reference_rows("yardstick", p["city"]["yardstick"]),
        ])
        L += ["", f"The arrondissement outlines: `arrondissements.geojson` as published gives each arrondissement "
              f"as a MultiPolygon whose parts are its official sectors ({o['parts_published']} parts for 20 "
              "arrondissements; the sectors do not touch, gaps up to a few metres), so the file carries the very "
              "borders being measured: a method that reassigns detached pieces to a neighbour rebuilds the "
              "sectors from it (ours with its fragment step did: IoU mean 1.000 while this bench was written). The bench therefore dissolves each arrondissement "
              f"with a {PARIS_CLOSE_M:g} m closing, holes filled ({o['parts_dissolved']} parts left; "
              f"+{100 * o['added_share']:.2f} % area, the land between sectors; "
              f"{o['sector_area_left_out_m2']:.0f} m² of sector area left out), the same outlines for both methods.",
              "",
              "With the whole-city outline, the two woods (no voters, not in any sector) are given to the "
              "stations around them, which lowers their IoU for both methods."]
    t = r["town"]
    L += ["", "### The generated town (`fixtures/town`, true polygons known)", "",
          f"{t['stations']} true stations (`stations_truth.geojson`); both methods built from all of "
          "`addresses.csv`, scored with `boundaries.evaluate(..., reference=truth)`.", ""]
    L += table(REF_HEADER, [reference_rows("ours", t["ours"]), reference_rows("yardstick", t["yardstick"])])
    L += ["", "10 % hold-out on the town, same protocol as Val-de-Marne:", ""]
    L += holdout_lines(r["town_holdout"], SEEDS)
    s = r["speed"]
    L += ["", "## 2. Speed", "",
          f"{s['name']} ({s['rows']:,} rows), end to end in a fresh subprocess each time (reading, building, "
          f"writing GeoJSON): median of {s['runs']} runs"
          + (f" after {s['warmup']} warm-up run" if s["warmup"] else " (no warm-up)")
          + " each. Peak memory is that of the whole process tree (the command and its worker processes): the "
          "sum of their proportional set size (PSS, pages shared after a fork split between the processes "
          "sharing them) sampled from `/proc` by a small launcher, or the largest single process's "
          "`ru_maxrss` if higher (so the bench's own memory is not counted); the largest over the runs.", ""]
    L += speed_lines(s)
    if "scaling" in r:
        L += ["", "## 3. How cost grows", "",
              "Ours only, end to end (`boundaries build … -q` in a fresh subprocess, one run each): k copies of the "
              "Val-de-Marne table and outlines, copy i translated by a multiple of 40 km in Lambert-93 and renamed "
              "to département `{i+1:02d}`, written as CSV.gz + GeoJSON in a temporary folder. A size is run only "
              "if its time, projected from the previous sizes, fits in the bench's time budget "
              f"(`--budget`, {r['budget']:.0f} s for the whole run).", ""]
        L += scaling_lines(r["scaling"])
    if "ablation" in r:
        L += ["", "## 4. Each accuracy step, switched off", "",
              "Ours with one step of `boundaries.params.Parameters` turned off at a time (the same data and "
              "protocols as above; Val-de-Marne on the seed-0 split only). A step is kept only where it pays.", ""]
        L += ablation_lines(r["ablation"])
    if "simplification" in r:
        L += ["", "## 5. Simplification that keeps the partition", "",
              "Val-de-Marne built with the defaults, written as GeoJSON plain, simplified by `--simplify` "
              "(`shapely.coverage_simplify` per commune, the outline kept), and simplified naively "
              "(`shapely.simplify` on each polygon alone, outline included), each checked by `boundaries check` "
              "against the commune outlines (overlaps and gaps counted above 1 m² and 5 cm wide).", ""]
        L += simplification_lines(r["simplification"])
    if r.get("national"):
        L += [""] + national_lines(r["national"])
    L += ["", f"Bench run time: {seconds:.0f} s."]
    text = "\n".join(L) + "\n"
    write_text(path, text)
    return "\n".join(summary)


def write_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (the package's temporary-file-then-rename)."""
    from boundaries.write import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def update_block(path: Path, text: str, date: str) -> bool:
    """Replace the block between the bench markers in ``path`` (README.md, docs/method.md)."""
    doc = path.read_text()
    if MARK_START not in doc or MARK_END not in doc:
        log(f"{path.name}: markers {MARK_START} … {MARK_END} not found; not updated")
        return False
    head, rest = doc.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    link = "benchmarks/RESULTS.md" if path.parent == ROOT else "../benchmarks/RESULTS.md"
    block = (f"{MARK_START}\n{text}\n\nMeasured {date} by `make bench`; details, machine and versions in "
             f"[benchmarks/RESULTS.md]({link}).\n{MARK_END}")
    path.write_text(head + block + tail)
    return True


def write_section(path: Path, env: dict, lines: list[str], quick: bool) -> None:
    """Put the national section into ``path`` (``--only national``): in place of the one there, else
    before its closing run-time line, else at its end; a new file gets the header first."""
    block = "\n".join(lines)
    if path.exists():
        doc = path.read_text()
        if NAT_START in doc and NAT_END in doc:
            head, rest = doc.split(NAT_START, 1)
            doc = head + block + rest.split(NAT_END, 1)[1]
        elif "\nBench run time:" in doc:
            head, tail = doc.rsplit("\nBench run time:", 1)
            doc = head + "\n" + block + "\n\nBench run time:" + tail
        else:
            doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    else:
        doc = "\n".join(header_lines(env, quick)) + "\n\n" + block + "\n"
    write_text(path, doc)


def update_row(path: Path, row: list, prefixes=("| All France", "| National shape")) -> bool:
    """Replace the row starting with one of ``prefixes`` in the bench block of ``path``, or add it
    after the block's last table row (``--only national``: the other rows stay as they were)."""
    doc = path.read_text()
    if MARK_START not in doc or MARK_END not in doc:
        log(f"{path.name}: markers {MARK_START} … {MARK_END} not found; not updated")
        return False
    head, rest = doc.split(MARK_START, 1)
    block, tail = rest.split(MARK_END, 1)
    lines = block.split("\n")
    line = "| " + " | ".join(str(c) for c in row) + " |"
    found = [i for i, x in enumerate(lines) if x.startswith(prefixes)]
    rows = [i for i, x in enumerate(lines) if x.startswith("|")]
    if found:
        lines[found[0]] = line
    elif rows:
        lines.insert(rows[-1] + 1, line)
    else:
        log(f"{path.name}: no summary table in the bench block; not updated")
        return False
    path.write_text(head + MARK_START + "\n".join(lines) + MARK_END + tail)
    return True


def _factors(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas, e.g. 1,4,16") from None
    if not out or min(out) < 1 or list(out) != sorted(set(out)):
        raise argparse.ArgumentTypeError(f"{text!r}: give increasing whole numbers ≥ 1, e.g. 1,4,16")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the town only, one timed run, no scaling, the national section at 1 M rows only")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md", help="Markdown output")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not update README.md and docs/method.md (never done with --quick)")
    parser.add_argument("--budget", type=float, default=840.0, metavar="SECONDS",
                        help="skip a scaling size whose projected time would end the run after this (default 840)")
    parser.add_argument("--only", choices=["national"],
                        help="run this section alone: its tables replace the same section of --out (the rest of "
                             "the file is kept), and its row of the README summary")
    parser.add_argument("--cache", type=Path, default=CACHE, metavar="DIR",
                        help="where the generated national-shape tables are kept between runs "
                             "(default $BOUNDARIES_BENCH_CACHE or ~/.cache/boundaries-bench)")
    parser.add_argument("--national-rows", type=int, default=NATIONAL_ROWS, metavar="N",
                        help=f"rows of the 1× national-shape table (default {NATIONAL_ROWS:,})")
    parser.add_argument("--national-departements", type=int, default=NATIONAL_DEPARTEMENTS, metavar="K",
                        help=f"its départements, scaled with the rows, at most 96 (default {NATIONAL_DEPARTEMENTS})")
    parser.add_argument("--national-factors", type=_factors, default=None, metavar="1,4,16",
                        help="sizes as multiples of --national-rows (default 1,4,16; 1 with --quick)")
    parser.add_argument("--national-budget", type=float, default=NATIONAL_BUDGET, metavar="SECONDS",
                        help="time for the national section, generation included: a run that would end later "
                             f"is skipped, one still going is killed (default {NATIONAL_BUDGET:.0f})")
    args = parser.parse_args(argv)
    factors = args.national_factors or ((1,) if args.quick else NATIONAL_FACTORS)

    started = time.perf_counter()
    if not args.quick and not args.only:
        missing = [p for p in (SHARED / "val-de-marne-2016", SHARED / "paris-2017") if not p.exists()]
        if missing:
            print(f"bench: real data not found: {', '.join(map(str, missing))} (../shared/data beside the "
                  "checkout, or $BOUNDARIES_SHARED_DATA); use --quick for the town only", file=sys.stderr)
            return 2
    vdm = SHARED / "val-de-marne-2016"
    vdm_csv, vdm_communes = vdm / "addresses.csv.gz", vdm / "communes.geojson"
    r: dict = {}
    with tempfile.TemporaryDirectory(prefix="boundaries-bench-") as tmp:
        work = Path(tmp)
        measured = snapshot(work / "code")
        env = environment()
        env["measured"] = measured
        what = ("quick" if args.quick else "full") + (" bench, national section only," if args.only else " bench")
        log(f"{what} on {env['cpu']}, load {env['load']}; measuring "
            f"boundaries/ as it is now (source {measured}, commit {env['commit']}); writing {args.out}")

        if not args.only:
            log("town: reference IoU")
            r["town"] = town_reference()
            r["town_holdout"] = holdout_compare(TOWN / "addresses.csv", TOWN / "communes.geojson", SEEDS, "town")
            if not args.quick:
                r["vdm_holdout"] = holdout_compare(vdm_csv, vdm_communes, SEEDS, "val-de-marne")
                r["paris"] = paris()
                r["ablation"] = ablation(vdm_csv, vdm_communes, r["paris"].pop("_inputs"))
                r["simplification"] = simplification(vdm_csv, vdm_communes, work)
            if args.quick:
                r["speed"] = speed(TOWN / "addresses.csv", TOWN / "communes.geojson", 1, 0, work, "town")
                r["speed"].update(name="Generated town", warmup=0)
            else:
                r["speed"] = speed(vdm_csv, vdm_communes, 3, 1, work, "val-de-marne")
                r["speed"].update(name="Val-de-Marne 2016", warmup=1)
                r["scaling"] = scaling(vdm_csv, vdm_communes, SCALE_FACTORS, work, started + args.budget - 15)
        nat = r["national"] = {"budget": args.national_budget}
        log(f"national: {args.national_rows:,} rows × {', '.join(map(str, factors))}, budget "
            f"{args.national_budget:.0f} s, inputs cached in {args.cache}")
        try:
            national(work, time.perf_counter() + args.national_budget, args.cache, args.national_rows,
                     args.national_departements, factors, res=nat)
        except KeyboardInterrupt:
            nat["interrupted"] = True
            log("national: interrupted; writing what was measured")
    r["budget"] = args.budget
    env["load_end"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    env["tree_changed"] = fingerprint(ROOT / "boundaries") != measured
    if env["tree_changed"]:
        log("note: boundaries/ changed in the working tree during the run; the snapshot taken at the start "
            "was measured throughout")
    seconds = time.perf_counter() - started
    if args.only:
        write_section(args.out, env, national_lines(nat, env), args.quick)
        log(f"wrote the national section into {args.out}")
        row = national_summary_row(nat)
        if not args.quick and not args.no_readme and row and update_row(README, row):
            log(f"updated the national row of the summary in {README}")
        log(f"done in {seconds:.0f} s")
        return 0
    summary = write_results(args.out, env, r, args.quick, seconds)
    log(f"wrote {args.out}")
    if not args.quick and not args.no_readme:
        if update_block(README, summary, env["date"]):
            log(f"updated the summary in {README}")
        if "ablation" in r and update_block(METHOD_DOC, "\n".join(ablation_lines(r["ablation"])), env["date"]):
            log(f"updated the step table in {METHOD_DOC}")
    log(f"done in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
