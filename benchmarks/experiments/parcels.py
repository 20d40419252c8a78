"""Parcels and buildings as the land a commune is cut along (issue 19): hold-out against today's default.

Run from the repository: ``python -m benchmarks.experiments.parcels [OUT.md]``. Val-de-Marne 2016
addresses, Vincennes (94080: cadastral parcels 2022, buildings 2022) and Choisy-le-Roi (94022: parcels
2018), a 10 % hold-out split on seeds 0, 1, 2 (``boundaries.build(..., holdout=0.1, seed=s)``, the
split every bench uses). Each commune is built alone, once with today's default and once per layer
variant; a variant replaces only the tessellation step of ``build_unit`` (the same seeds, then the
same empty-land, fragment, repair and partition checks) by :func:`boundaries.parcels.parcel_partition`
or :func:`boundaries.parcels.building_partition` — that is how ``--parcels`` / ``--buildings`` would be
wired. Runtime is the build's own ``report.seconds`` (reading the land layer not counted; its cleaning is).
"""

from __future__ import annotations

import contextlib
import sys
import time

import numpy as np

from ..common import SHARED, log, read_reu

SEEDS = (0, 1, 2)
HOLDOUT = 0.1
LAND = SHARED / "val-de-marne-2016" / "land"
#: commune → {layer label: file}
COMMUNES = {
    "94080": {"parcels": "vincennes-parcels-2022.geojson", "buildings": "vincennes-buildings-2022.geojson"},
    "94022": {"parcels": "choisy-parcels-2018.geojson", "lots": "choisy-parcels-2018.geojson"},
}
#: layer → (column, values dropped): Choisy's parcels flagged ``buildable`` 0 are strips of road or lanes
FILTERS = {"lots": ("buildable", {"0"})}
#: variant label → (layer, partition function name, keyword arguments)
VARIANTS = {
    "parcels, empty by longest border": ("parcels", "parcel_partition", {"fill": "border"}),
    "parcels, empty by longest border, mixed to majority": ("parcels", "parcel_partition",
                                                            {"fill": "border", "split_mixed": False}),
    "parcels, empty by Voronoi (default)": ("parcels", "parcel_partition", {"fill": "voronoi"}),
    "parcels, empty left to Voronoi": ("parcels", "parcel_partition", {"fill": "none"}),
    "parcels without road strips, empty by Voronoi": ("lots", "parcel_partition", {"fill": "voronoi"}),
    "buildings (lots +6 m), empty by longest border": ("buildings", "building_partition", {"fill": "border"}),
    "buildings (lots +6 m), empty left to Voronoi": ("buildings", "building_partition", {"fill": "none"}),
    "buildings (lots +6 m), empty by Voronoi (default)": ("buildings", "building_partition", {"fill": "voronoi"}),
}


def read_land(path, crs: str = "EPSG:2154", drop=None):
    """A land layer's geometries in the build's metric CRS (Lambert-93 for the Val-de-Marne), ``drop`` filtered out."""
    import geopandas as gpd

    gdf = gpd.read_file(path)
    if drop is not None:
        gdf = gdf[~gdf[drop[0]].astype(str).isin(drop[1])]
    return gdf.to_crs(crs).geometry.to_numpy()


@contextlib.contextmanager
def land_tessellation(geoms, func_name: str, kwargs: dict):
    """Within the block, ``build_unit`` tessellates by the land layer (one process: jobs=1).

    The pipeline's tessellation step does not receive the seeds' row counts; the wrapper of
    ``build_unit`` hands them over (the seeds are in the same order as ``xy``).
    """
    from boundaries import parcels, pipeline

    func = getattr(parcels, func_name)
    orig_unit, orig_tess, held = pipeline.build_unit, pipeline.tessellate, {}

    def unit(u, outline, s, method, params):
        held["rows"] = s["rows"].to_numpy()
        return orig_unit(u, outline, s, method, params)

    def tess(xy, station, outline, method, params):
        return func(xy, station, held["rows"], outline, geoms, params, **kwargs)

    pipeline.build_unit, pipeline.tessellate = unit, tess
    try:
        yield
    finally:
        pipeline.build_unit, pipeline.tessellate = orig_unit, orig_tess


def one_build(tab, communes, code: str, seed: int) -> dict:
    """One hold-out build of one commune: own-station share, test points, seconds."""
    import boundaries

    t0 = time.perf_counter()
    built = boundaries.build(tab, communes, commune=code, holdout=HOLDOUT, seed=seed, jobs=1)
    h = built.report.holdout
    multipart = float((built.stations["n_parts"] > 1).mean())
    return {"own": h["own_station"], "test": h["test_points"], "seconds": time.perf_counter() - t0,
            "multipart": multipart}


def measure(tab, communes) -> list[dict]:
    """Every (commune, variant, seed) row: the default first, then each layer variant."""
    out = []
    land = {code: {name: read_land(LAND / f, drop=FILTERS.get(name)) for name, f in layers.items()}
            for code, layers in COMMUNES.items()}
    for code, geoms in land.items():
        for seed in SEEDS:
            out.append({"commune": code, "variant": "default", "seed": seed, **one_build(tab, communes, code, seed)})
            log(f"parcels: {out[-1]}")
            for label, (layer, func, kwargs) in VARIANTS.items():
                if layer not in geoms:
                    continue
                with land_tessellation(geoms[layer], func, kwargs):
                    out.append({"commune": code, "variant": label, "seed": seed,
                                **one_build(tab, communes, code, seed)})
                log(f"parcels: {out[-1]}")
    return out


def table(rows: list[dict]) -> str:
    """Mean over the seeds per commune and variant, and the gain against the default in points."""
    import pandas as pd

    df = pd.DataFrame(rows)
    g = df.groupby(["commune", "variant"], sort=False).agg(
        own=("own", "mean"), worst=("own", "min"), test=("test", "mean"), seconds=("seconds", "mean"),
        multipart=("multipart", "mean"))
    base = df[df["variant"] == "default"].set_index(["commune", "seed"])["own"]
    df["gain"] = df["own"].to_numpy() - base.loc[list(zip(df["commune"], df["seed"]))].to_numpy()
    gain = df.groupby(["commune", "variant"], sort=False)["gain"].agg(["mean", "min"])
    lines = ["| commune | method | hold-out own station (mean of 3 seeds) | gain (points, mean / worst seed) "
             "| multipart share | seconds per build |", "|---|---|---|---|---|---|"]
    for (code, variant), r in g.iterrows():
        gm, gw = gain.loc[(code, variant)]
        lines.append(f"| {code} | {variant} | {100 * r['own']:.2f} % | {100 * gm:+.2f} / {100 * gw:+.2f} "
                     f"| {100 * r['multipart']:.1f} % | {r['seconds']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    import geopandas as gpd

    folder = SHARED / "val-de-marne-2016"
    tab, communes = read_reu(folder / "addresses.csv.gz"), gpd.read_file(folder / "communes.geojson")
    out = table(measure(tab, communes))
    print(out)
    for a in argv:
        if a.endswith(".md"):
            with open(a, "w") as f:
                f.write(out + "\n")


if __name__ == "__main__":
    np.random.seed(0)  # nothing here draws at random; the split is seeded by boundaries itself
    main(sys.argv[1:])
