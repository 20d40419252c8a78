"""The land layers section of RESULTS.md (issue 19): Paris street-aligned, hold-out, the targets.

The section sits between ``LAND_START`` and ``LAND_END``, so ``--only land`` replaces it alone.
"""

from __future__ import annotations

from .markdown import f3, pct, table

LAND_START, LAND_END = "<!-- land:start -->", "<!-- land:end -->"
#: The issue's targets: Paris with streets, hold-out gain with parcels, cost of a layer.
TARGET_IOU, TARGET_AREA = 0.93, 0.975
TARGET_GAIN = 0.01
TARGET_RATIO = 2.0
#: The communes whose parcels the hold-out target is judged on.
PARCEL_COMMUNES = ("94080", "94022")


def paris_pairs(paris: dict) -> list[tuple[dict, dict]]:
    """Each Paris case as (without streets, with streets), in the order measured."""
    cases = paris["cases"]
    off = {(c["setback_m"], c["spacing_m"]): c for c in cases if not c["streets"]}
    return [(off[(c["setback_m"], c["spacing_m"])], c) for c in cases
            if c["streets"] and (c["setback_m"], c["spacing_m"]) in off]


def _ratio(v) -> str:
    return "n/a" if v is None else f"{v:.2f}×"


def paris_table(paris: dict) -> list[str]:
    """One row per setback and spacing: IoU mean and area right without / with streets, seconds."""
    rows = []
    for a, b in paris_pairs(paris):
        rows.append([f"{a['setback_m']:g} m / {a['spacing_m']:g} m", f"{a['points']:,}",
                     f"{f3(a['iou_mean'])} / {pct(a['area_right'])}", f"{f3(b['iou_mean'])} / {pct(b['area_right'])}",
                     f"{a['seconds']:.1f}", f"{b['seconds']:.1f}",
                     _ratio(b["seconds"] / a["seconds"] if a["seconds"] else None)])
    return table(["setback / spacing", "points", "without: IoU mean / area right", "streets: IoU mean / area right",
                  "seconds without", "seconds with", "× without"], rows)


def holdout_table(hold: dict) -> list[str]:
    """One row per commune and variant: own station, gain per seed, seconds (median) and the ratio."""
    rows = []
    for s in hold["summary"]:
        base = s["variant"] == "without"
        rows.append([f"{s['commune']} {s['name']}", s["variant"] + ("" if base else f" (`{s['method']}`)"),
                     f"{s['test']:,.0f}", pct(s["own"]),
                     "—" if base else f"{100 * s['gain_mean']:+.2f} / {100 * s['gain_min']:+.2f}",
                     "—" if base else " ".join(f"{100 * g:+.2f}" for g in s["gain_by_seed"]),
                     pct(s["multipart"]), f"{s['seconds']:.2f} ({s['build_seconds']:.2f})",
                     "—" if base else _ratio(s["ratio"])])
    return table(["commune", "layers (method)", "test points", "own station (mean)",
                  "gain, points (mean / worst seed)", "gain per seed", "multipart", "seconds, wall (build)",
                  "× without"], rows)


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def target_rows(land: dict) -> list[list[str]]:
    """The issue's targets, each with the value measured and met / not met."""
    out = []
    pairs = paris_pairs(land["paris"]) if land.get("paris") else []
    if pairs:
        ok = [b["iou_mean"] >= TARGET_IOU and (b["area_right"] or 0) >= TARGET_AREA for _, b in pairs]
        worst = min(pairs, key=lambda p: p[1]["iou_mean"])[1]
        out.append([f"Paris street-aligned, `streets`: IoU mean ≥ {TARGET_IOU:.2f} and area right ≥ "
                    f"{100 * TARGET_AREA:.1f} % (every case)",
                    f"{sum(ok)} of {len(ok)} cases; lowest {f3(worst['iou_mean'])} / {pct(worst['area_right'])}",
                    _met(all(ok))])
    summary = land["holdout"]["summary"] if land.get("holdout") else []
    parcels = [s for s in summary if s["variant"] == "parcels" and s["commune"] in PARCEL_COMMUNES]
    if parcels:
        out.append([f"Hold-out, `parcels`: ≥ {100 * TARGET_GAIN:g} point better than without (mean of the seeds)",
                    ", ".join(f"{s['commune']} {100 * s['gain_mean']:+.2f}" for s in parcels),
                    _met(all(s["gain_mean"] >= TARGET_GAIN for s in parcels))])
        out.append(["Hold-out, `parcels`: no commune worse, on any seed",
                    ", ".join(f"{s['commune']} worst seed {100 * s['gain_min']:+.2f}" for s in parcels),
                    _met(all(s["gain_min"] >= 0 for s in parcels))])
    out += _cost_rows(pairs, summary)
    return out


def _cost_rows(pairs, summary) -> list[list[str]]:
    """One cost target row per layer variant: the largest ratio of seconds with / without."""
    ratios: dict[str, list[tuple[str, float]]] = {}
    for a, b in pairs:
        if a["seconds"]:
            ratios.setdefault("streets (Paris)", []).append(
                (f"{a['setback_m']:g}/{a['spacing_m']:g} m", b["seconds"] / a["seconds"]))
    for s in summary:
        if s["variant"] != "without" and s["ratio"] is not None:
            ratios.setdefault(s["variant"], []).append((s["commune"], s["ratio"]))
    return [[f"Cost, `{label}`: ≤ {TARGET_RATIO:g}× the build time without (wall; hold-out: median of the seeds)",
             ", ".join(f"{where} {r:.2f}×" for where, r in vals), _met(max(r for _, r in vals) <= TARGET_RATIO)]
            for label, vals in ratios.items()]


def worse_lines(land: dict) -> list[str]:
    """Every layer that loses hold-out accuracy on some seed, said plainly (no target covers it)."""
    summary = land["holdout"]["summary"] if land.get("holdout") else []
    worse = [s for s in summary if s["variant"] != "without" and s["gain_min"] < 0]
    if not worse:
        return []
    return ["", "Worse than without on some seed: " + "; ".join(
        f"{s['commune']} {s['name']} with `{s['variant']}` ({100 * s['gain_mean']:+.2f} points on the mean, "
        f"worst seed {100 * s['gain_min']:+.2f})" for s in worse) + "."]


def land_lines(land: dict, env: dict | None = None) -> list[str]:
    """The section, between ``LAND_START`` and ``LAND_END``; with ``env`` (``--only land``) a line says when."""
    L = [LAND_START, "## Land layers (issue 19)", ""]
    if env:
        L += [f"Measured alone (`python -m benchmarks.run --only land`) on {env['date']}, commit {env['commit']}.", ""]
    L += ["### Targets", ""] + table(["target", "measured", ""], target_rows(land)) + worse_lines(land)
    if land.get("paris"):
        L += ["", "### Paris 2017, street-aligned semi-synthetic", "",
              "`benchmarks/experiments/land.py` (seed 2017): addresses along both sides of "
              "`paris-2017/streets.geojson` every *spacing* metres, *setback* metres from the centre-line, labelled "
              "by the official sector holding them; the 20 arrondissements rebuilt with the default method, "
              "without and with `streets`, `jobs=1`, scored against the sectors. Seconds: one build each.", ""]
        L += paris_table(land["paris"])
    if land.get("holdout"):
        h = land["holdout"]
        L += ["", "### Val-de-Marne 2016, hold-out per commune", "",
              f"`benchmarks/experiments/parcels.py`: each commune built alone, {100 * h['holdout']:g} % hold-out on "
              f"seeds {', '.join(map(str, h['seeds']))} (`boundaries.build(..., commune=code, holdout=0.1, seed=s, "
              "jobs=1)`), scored by its `report.holdout`; the layers from `val-de-marne-2016/land/`. About 300 test "
              "points per commune and seed: one point is about 3 addresses. Seconds: median over the seeds of the "
              "call's wall time (reading the layer included), the build's own `report.seconds` in brackets; "
              "*× without* compares the wall medians.", ""]
        L += holdout_table(h)
    return L + ["", LAND_END]
