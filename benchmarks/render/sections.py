"""The tables of sections 1–5: hold-out, reference scores, ablation, simplification, speed, scaling."""

from __future__ import annotations

from .markdown import f3, pct, table


def holdout_lines(h: dict, seeds) -> list[str]:
    """The hold-out table (one row per seed and their mean), the per-commune summary and the checks."""
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



REF_HEADER = ["method", "IoU mean", "IoU median", "IoU min", "area right", "stations missing"]


def reference_rows(label: str, s: dict) -> list:
    """One row of a reference table (:data:`REF_HEADER`) from ``boundaries.evaluate``'s summary."""
    return [label, f3(s["iou_mean"]), f3(s["iou_median"]), f3(s["iou_min"]), pct(s["area_right"]),
            s["stations_missing"]]


def ablation_lines(rows: list[dict]) -> list[str]:
    """One row per variant of :data:`benchmarks.experiments.ablation.ABLATION`."""
    return table(
        ["variant", "parameters", "VdM hold-out own station (seed 0)", "Paris IoU mean", "Paris area right",
         "town IoU mean", "town area right"],
        [[r["label"], ", ".join(f"`{k}={v}`" for k, v in r["params"].items()) or "—", pct(r["vdm_own"]),
          f3(r["paris_iou"]), pct(r["paris_right"]), f3(r["town_iou"]), pct(r["town_right"])] for r in rows],
    )



def simplification_lines(rows: list[dict]) -> list[str]:
    """Size, vertices and `boundaries check` of each simplified layer."""
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



def speed_lines(s: dict) -> list[str]:
    """Both methods' timings and the ratio of their median wall times."""
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



def scaling_lines(res: list[dict]) -> list[str]:
    """One row per size, with its ratios to 1× (or why it was not run)."""
    base = res[0]
    rows = [[f"{r['k']}×", f"{r['rows']:,}", f"{r['communes']:,}", f"{r['seconds']:.2f}", f"{r['cpu']:.2f}",
             f"{r['rows'] / r['seconds']:,.0f}", f"{r['mem'] / 2 ** 20:,.0f} MiB",
             f"{r['seconds'] / base['seconds']:.2f}", f"{r['cpu'] / base['cpu']:.2f}", f"{r['mem'] / base['mem']:.2f}",
             f"{r['load']:.2f}"] if not r["skipped"] else
            [f"{r['k']}×", f"{r['rows']:,}", f"{r['communes']:,}",
             f"not run: projected ≈ {r['projected']:.0f} s, past the bench's time budget"] + [""] * 7 for r in res]
    return table(["size", "rows", "communes", "seconds", "CPU s", "rows/s", "peak memory", "time / 1×", "CPU / 1×",
                  "memory / 1×", "load before"], rows)

