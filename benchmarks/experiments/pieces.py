"""One piece per station: multipart share against hold-out cost for the fragment rules (issue 18).

Run from the repository: ``python -m benchmarks.experiments.pieces [OUT.md]``. Val-de-Marne 2016,
default options but the fragment rule, ONE hold-out split (seed 0, 10 %): the time box of the
study allowed one seed; the spread between seeds is in benchmarks/RESULTS.md. Paris 2017
semi-synthetic IoU (arrondissement outlines) when ``--paris`` is given.
"""

from __future__ import annotations

import sys

import numpy as np
import shapely

from ..common import SHARED, log, read_reu

SEED = 0
HOLDOUT = 0.1
#: (label, Parameters overrides); the old row count first, then the share rule.
SETTINGS = tuple((label, {"fragment_sliver_m2": 0.0, "enclave_min_share": 0.0, **over}) for label, over in (
    ("rows ≤ 0 (old default)", {"fragment_max_rows": 0}),
    ("rows ≤ 3", {"fragment_max_rows": 3}),
    ("rows ≤ 8", {"fragment_max_rows": 8}),
    ("rows ≤ 10", {"fragment_max_rows": 10}),
    ("rows ≤ 10, sliver < 100 m² (new default)", {"fragment_max_rows": 10, "fragment_sliver_m2": 100.0}),
    ("rows ≤ 12", {"fragment_max_rows": 12}),
    ("rows ≤ 15", {"fragment_max_rows": 15}),
    ("rows ≤ 50", {"fragment_max_rows": 50}),
    ("rows ≤ 3 or share < 10 %", {"fragment_max_rows": 3, "enclave_min_share": 0.10}),
    ("rows ≤ 5 or share < 20 %", {"fragment_max_rows": 5, "enclave_min_share": 0.20}),
    ("rows ≤ 10 or share < 5 %", {"fragment_max_rows": 10, "enclave_min_share": 0.05}),
))


def one_setting(tab, communes, overrides: dict) -> dict:
    """Build with the hold-out split and these parameters; the multipart share, hold-out and what moved."""
    import boundaries

    params = boundaries.Parameters(**overrides)
    built = boundaries.build(tab, communes, holdout=HOLDOUT, seed=SEED, params=params)
    parts = shapely.get_num_geometries(built.stations.geometry.values)
    per = built.report.communes.values()
    return {
        "stations": len(parts),
        "multipart": int((parts > 1).sum()),
        "own_station": built.report.holdout["own_station"],
        "rows_moved": sum(c.get("fragment_rows_moved", 0) for c in per),
        "area_moved_m2": sum(c.get("fragment_area_moved_m2", 0.0) for c in per),
        "enclaves_kept": sum(c.get("enclaves_kept", 0) for c in per),
    }


def oracle_bound(tab, communes, costs=(0.3, 0.5, 1.0)) -> dict:
    """The fewest multipart stations any whole-part move can reach at a given hold-out cost.

    Built without the clean-up, each detached part's net cost is the test points of its
    own station inside it minus the others' (they become right once it moves); a station
    is one piece once all its detached parts move. Moving the cheapest stations first,
    knowing the test points (no rule can), bounds every rule of this kind.
    """
    import boundaries

    from ..common import METRIC, lonlat, to_metric
    from ..internals import canonical_station, holdout_split

    built = boundaries.build(tab, communes, holdout=HOLDOUT, seed=SEED,
                             params=boundaries.Parameters(fragment_max_rows=-1))
    stations = built.stations.to_crs(METRIC)
    parts, owner = shapely.get_parts(stations.geometry.values, return_index=True)
    lon, lat = lonlat(tab)
    px, py = to_metric(lon, lat)
    test = holdout_split(lon, lat, HOLDOUT, SEED) & np.isfinite(px)
    train = ~holdout_split(lon, lat, HOLDOUT, SEED) & np.isfinite(px)
    keys = canonical_station(tab["id_brut_bv_reu"].to_numpy(dtype=object))
    ids = stations["id_bv"].to_numpy(dtype=object)

    def located(mask):
        pt, part = shapely.STRtree(parts).query(shapely.points(px[mask], py[mask]), predicate="intersects")
        first = np.unique(pt, return_index=True)[1]
        return np.flatnonzero(mask)[pt[first]], part[first]

    tr_row, tr_part = located(train)
    te_row, te_part = located(test)
    rows = np.bincount(tr_part, minlength=len(parts))
    area = shapely.area(parts)
    order = np.lexsort((-area, -rows, owner))
    detached = np.ones(len(parts), dtype=bool)
    detached[order[np.r_[0, np.flatnonzero(np.diff(owner[order])) + 1]]] = False
    own = keys[te_row] == ids[owner[te_part]]
    net = np.bincount(te_part, weights=np.where(own, 1.0, -1.0), minlength=len(parts))
    split = np.unique(owner[detached])
    per_station = np.sort(np.bincount(owner, weights=np.where(detached, np.maximum(net, 0), 0))[split])
    spent = np.cumsum(per_station) / built.report.holdout["test_points"] * 100
    return {"multipart_without_clean_up": len(split),
            **{f"at_{c}": int(len(split) - (spent <= c).sum()) for c in costs}}


def paris_iou(overrides: dict) -> float:
    """Paris 2017 semi-synthetic: mean IoU against the official sectors (arrondissement outlines)."""
    import geopandas as gpd

    import boundaries

    from ..common import METRIC
    from .paris import PARIS_CLOSE_M, dissolve_outline, paris_points
    from .reference import reference_scores

    folder = SHARED / "paris-2017"
    pts, reference = paris_points(gpd.read_file(folder / "bureaux.geojson").to_crs(METRIC))
    arr = gpd.read_file(folder / "arrondissements.geojson").to_crs(METRIC)
    outl = gpd.GeoDataFrame({"code": arr["code"].astype(str)},
                            geometry=[dissolve_outline(g, PARIS_CLOSE_M) for g in arr.geometry.values], crs=METRIC)
    built = boundaries.build(pts, outl, columns=boundaries.AddressColumns(x="x", y="y"), crs=METRIC,
                             params=boundaries.Parameters(**overrides))
    return reference_scores(built.stations, reference)["iou_mean"]


def table(rows: list[dict], base: float) -> str:
    """The curve as a markdown table; the hold-out cost is against the first row."""
    head = ("| rule | multipart stations | hold-out own station | cost (points) | rows moved | area moved (ha) "
            "| enclaves kept | Paris IoU |\n|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        iou = f"{r['paris_iou']:.3f}" if r.get("paris_iou") is not None else "–"
        lines.append(f"| {r['label']} | {r['multipart']} / {r['stations']} ({100 * r['multipart'] / r['stations']:.1f} %)"
                     f" | {100 * r['own_station']:.2f} % | {100 * (base - r['own_station']):.2f} | {r['rows_moved']:,}"
                     f" | {r['area_moved_m2'] / 1e4:.1f} | {r['enclaves_kept']} | {iou} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    import geopandas as gpd

    folder = SHARED / "val-de-marne-2016"
    tab, communes = read_reu(folder / "addresses.csv.gz"), gpd.read_file(folder / "communes.geojson")
    only = [a for a in argv if not a.startswith("-") and not a.endswith(".md")]
    rows = []
    for label, overrides in SETTINGS:
        if only and label not in only:
            continue
        r = {"label": label, **one_setting(tab, communes, overrides)}
        r["paris_iou"] = paris_iou(overrides) if "--paris" in argv else None
        log(f"pieces: {r}")
        rows.append(r)
    out = table(rows, rows[0]["own_station"])
    if "--oracle" in argv:
        bound = oracle_bound(tab, communes)
        log(f"pieces: oracle {bound}")
        out += ("\n\nBound (knowing the test points): without clean-up "
                f"{bound['multipart_without_clean_up']} multipart; at most 0.3 / 0.5 / 1.0 point of hold-out, "
                f"no whole-part move leaves fewer than {bound['at_0.3']} / {bound['at_0.5']} / {bound['at_1.0']}.")
    print(out)
    for a in argv:
        if a.endswith(".md"):
            with open(a, "w") as f:
                f.write(out + "\n")


if __name__ == "__main__":
    np.random.seed(SEED)  # nothing here draws at random; the split is seeded by boundaries itself
    main(sys.argv[1:])
