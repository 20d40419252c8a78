"""Paris 2012 → 2017: the crosswalk weighted by addresses against the one weighted by area.

Voters are stood in for by points along both sides of the real streets
(:func:`benchmarks.experiments.land.street_points`), each one labelled by the 2012 and
the 2017 sector that holds it: their true moves between the two maps. Two crosswalks
of the official sectors are then made, one weighted by area and one by the
addresses of *another* draw of street points (another seed and spacing, so it is
not scored on its own points), and each is scored by the share of voters it
misplaces: half the sum, over the (2012, 2017) pairs, of the gap between the voters
it sends along the pair (each 2012 sector's true count times its share) and the true
count. The 2022 first-round results (on the 2017 map) are carried back onto the
2012 map and their totals compared.

Run alone: ``python -m benchmarks.experiments.crosswalk`` (seeded, prints a Markdown table).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..common import METRIC, SHARED, log
from .land import street_points

CROSSWALK_SEED = 2012
#: (setback from the centre-line in m, spacing in m) of the points that are the voters, and of the addresses.
VOTERS, ADDRESSES = (4.0, 15.0), (6.0, 30.0)


def _sectors(path, arrondissement: str, number: str):
    """Official sectors with ids in the results' form (``75056_1905``: 19th, station 5)."""
    import geopandas as gpd

    raw = gpd.read_file(path).to_crs(METRIC)
    ids = [f"75056_{int(a)}{int(n):02d}" for a, n in zip(raw[arrondissement], raw[number])]
    return gpd.GeoDataFrame({"id_bv": ids}, geometry=raw.geometry.values, crs=METRIC)


def _labelled(points: pd.DataFrame, sectors, name: str) -> pd.Series:
    """The sector of ``sectors`` holding each point (NaN outside)."""
    import geopandas as gpd
    import shapely

    pts = gpd.GeoDataFrame(geometry=shapely.points(points["x"], points["y"]), crs=METRIC)
    hit = gpd.sjoin(pts, sectors, predicate="within", how="left")
    return hit[~hit.index.duplicated()]["id_bv"].rename(name)


def misplaced(pairs: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Share of the voters a crosswalk sends to the wrong new station (see the module docstring)."""
    true_flow = truth.groupby(["old_id", "new_id"]).size().rename("true")
    old_count = truth.groupby("old_id").size()
    sent = pairs.set_index(["old_id", "new_id"])["share_of_old"] * pairs["old_id"].map(old_count).fillna(0).to_numpy()
    both = pd.concat([true_flow, sent.rename("sent")], axis=1).fillna(0)
    return float((both["true"] - both["sent"]).abs().sum() / 2 / len(truth))


def crosswalk_bench() -> dict:
    """The summary of 2012 → 2017, the misplaced share of each weighting, and the 2022 results carried to 2012."""
    import geopandas as gpd

    import boundaries
    from boundaries.crosswalk import crosswalk

    old = _sectors(SHARED / "paris-2012" / "bureaux.gpkg", "arrondissement", "num_bv")
    new = _sectors(SHARED / "paris-2017" / "bureaux.geojson", "arrondissement", "num_bv")
    streets = gpd.read_file(SHARED / "paris-2017" / "streets.geojson")
    rng = np.random.default_rng(CROSSWALK_SEED)
    voters = street_points(streets, new, *VOTERS, rng)
    addresses = street_points(streets, new, *ADDRESSES, rng)
    truth = pd.concat([_labelled(voters, old, "old_id"), voters["id_brut_bv_reu"].rename("new_id")], axis=1).dropna()
    cols = boundaries.AddressColumns(x="x", y="y")
    out = {"voters": len(truth), "addresses": len(addresses)}
    t0 = time.perf_counter()
    by_area = crosswalk(old, new)
    out["seconds_area"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    by_addresses = crosswalk(old, new, addresses, columns=cols, crs=METRIC)
    out["seconds_addresses"] = time.perf_counter() - t0
    out["misplaced_area"] = misplaced(by_area.pairs, truth)
    out["misplaced_addresses"] = misplaced(by_addresses.pairs, truth)
    out["summary"] = by_addresses.summary
    log(f"crosswalk: misplaced {out['misplaced_area']:.2%} by area, {out['misplaced_addresses']:.2%} by addresses")
    back = crosswalk(new, old, addresses, columns=cols, crs=METRIC,
                     results=SHARED / "paris-2022" / "presidentielle-2022-t1.csv")
    out["carried"] = back.summary["results"]
    return out


def table(out: dict) -> str:
    """The bench lines as Markdown."""
    s, c = out["summary"], out["carried"]
    new, old = s["new_status"], s["old_status"]
    totals = c["totals"]
    lines = [
        "| Paris 2012 → 2017 (official sectors) | value |", "|---|---|",
        f"| sectors 2012 / 2017, pairs | {s['old']['stations']} / {s['new']['stations']}, {s['pairs']} |",
        "| 2017 sectors unchanged / split / merged / redrawn / new | "
        + " / ".join(str(new[k]) for k in ("unchanged", "split", "merged", "redrawn", "new")) + " |",
        "| 2012 sectors unchanged / split / merged / redrawn / gone | "
        + " / ".join(str(old[k]) for k in ("unchanged", "split", "merged", "redrawn", "gone")) + " |",
        f"| voters misplaced, area-weighted crosswalk ({out['voters']:,} street points) | {out['misplaced_area']:.2%} |",
        f"| voters misplaced, address-weighted ({out['addresses']:,} other street points) | "
        f"{out['misplaced_addresses']:.2%} |",
        f"| seconds, by area / by addresses | {out['seconds_area']:.1f} / {out['seconds_addresses']:.1f} |",
        f"| 2022 results carried onto 2012: stations carried / not | {c['carried']} / {len(c['not_carried'])} |",
    ]
    for col in ("Inscrits", "Votants", "Exprimés"):
        lines.append(f"| {col}: total of the carried stations → on the 2012 map | "
                     f"{totals[col]['results']:,.0f} → {totals[col]['carried']:,.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(crosswalk_bench()))
