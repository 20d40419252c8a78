"""Simplification that keeps the partition (``--simplify``) against a naive per-polygon simplify."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..common import METRIC, log

#: Tolerances compared in the simplification table (metres: the levels fine, web and overview).
SIMPLIFY_TOLERANCES = (1.0, 10.0, 50.0)


def simplification(csv: Path, communes: Path, folder: Path) -> list[dict]:
    """Val-de-Marne written plain, with ``coverage_simplify`` (ours) and with a naive per-polygon simplify.

    Ours is ``boundaries.build(…, simplify=tolerance)``; the naive layer is ours unsimplified
    with ``shapely.simplify`` on each polygon. Each is written as GeoJSON
    (``BuildResult.write``) and checked by ``boundaries.check``: the naive one shows the gaps
    and overlaps it opens between neighbours.
    """
    import shapely

    import boundaries

    plain = boundaries.build(csv, communes)
    metric = plain.stations.to_crs(METRIC)
    rows = []

    def measure(label, tol, result):
        path = folder / f"simplify-{label}-{tol:g}.geojson"
        result.write(str(path), report=None)
        check = boundaries.check(str(path), str(communes))
        t = check.totals
        rows.append({"label": label, "tolerance": tol, "bytes": path.stat().st_size,
                     "vertices": int(shapely.get_num_coordinates(result.stations.geometry.values.to_numpy()).sum()),
                     "ok": check.ok(), "overlap_m2": t.get("overlap_m2", 0.0), "gap_m2": t.get("gap_m2", 0.0),
                     "problems": len(check.errors())})
        log(f"simplify: {label} {tol:g} m: {rows[-1]['bytes']:,} bytes, check ok {rows[-1]['ok']}")

    measure("none", 0.0, plain)
    for tol in SIMPLIFY_TOLERANCES:
        measure("coverage", tol, boundaries.build(csv, communes, simplify=tol))
        naive = metric.set_geometry(shapely.simplify(metric.geometry.values.to_numpy(), tol)).to_crs(4326)
        measure("naive", tol, dataclasses.replace(plain, stations=naive))
    return rows
