"""Each accuracy step switched off in turn: Val-de-Marne hold-out, Paris and town IoU."""

from __future__ import annotations

from pathlib import Path

from boundaries.request import BuildRequest

from ..common import METRIC, TOWN, log, read_reu
from ..render.markdown import f3, pct
from .holdout import HOLDOUT
from .reference import reference_scores

#: The method a build uses when none is named (the rows below switch one thing off from it).
DEFAULT_METHOD = BuildRequest.method

#: Each accuracy step switched off in turn (issue: keep what helps, drop what does not).
ABLATION = (
    ("all steps (the defaults)", {}),
    ("without the imprecise-geocode rule", {"imprecise_radius_m": 0.0}),
    ("with robust outlier removal (off by default)", {"outlier_neighbours": 6}),
    ("without street-aware seeds", {"frontage_step_m": 0.0}),
    ("without fragment clean-up", {"fragment_max_rows": -1}),
    ("with the fragment rule of before issue 18 (every piece with an address kept)",
     {"fragment_max_rows": 0, "fragment_sliver_m2": 0.0}),
    ("without border smoothing", {"smooth_window_m": 0.0}),
    ("with empty land whole to one station, 100 m (off by default)", {"empty_land_m": 100.0}),
    ("with empty land whole to one station, 200 m (off by default)", {"empty_land_m": 200.0}),
    ("--method voronoi (the default before issue 19: Voronoi cells only)", {"method": "voronoi"}),
    ("--method auto (per commune: hull unless an internal hold-out says it loses)", {"method": "auto"}),
    ("none of them", {"imprecise_radius_m": 0.0, "frontage_step_m": 0.0, "fragment_max_rows": -1,
                      "smooth_window_m": 0.0}),
)


def ablation(csv: Path, communes: Path, paris_inputs, seed: int = 0) -> list[dict]:
    """Ours with each accuracy step switched off: VdM hold-out, Paris and town IoU."""
    import boundaries

    tab = read_reu(csv)
    pts, reference, paris_outlines = paris_inputs
    cols = boundaries.AddressColumns(x="x", y="y")
    rows = []
    for label, kw in ABLATION:
        kw_params = {k: v for k, v in kw.items() if k != "method"}
        method = kw.get("method", DEFAULT_METHOD)
        params = boundaries.Parameters(**kw_params)
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
