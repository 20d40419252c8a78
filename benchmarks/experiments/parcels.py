"""Land layers on real addresses (issue 19): hold-out with and without ``parcels``/``buildings``/``streets``.

Run from the repository: ``python -m benchmarks.experiments.parcels [OUT.md]``. Val-de-Marne 2016
addresses, each commune built alone (``boundaries.build(table, communes, commune=code,
holdout=0.1, seed=s, jobs=1)``, the split every bench uses) on seeds 0, 1, 2: once with today's
default and once per land variant of :data:`VARIANTS` — Vincennes (94080: cadastral parcels and
buildings 2022), Choisy-le-Roi (94022: parcels 2018) and Villecresnes (94075: roads 2016), the files
of ``val-de-marne-2016/land/``. The score is the build's own ``report.holdout`` (share of held-out
addresses inside their own station). *Seconds* are the wall time of the call (reading the land
layer included) and the build's own ``report.seconds``.
"""

from __future__ import annotations

import sys
import time

from ..common import SHARED, log, read_reu

SEEDS = (0, 1, 2)
HOLDOUT = 0.1
LAND = SHARED / "val-de-marne-2016" / "land"
#: commune → (name, {variant label: {build keyword: file in ``LAND``}}); the first variant is without layers
VARIANTS = {
    "94080": ("Vincennes", {
        "without": {},
        "parcels": {"parcels": "vincennes-parcels-2022.geojson"},
        "buildings": {"buildings": "vincennes-buildings-2022.geojson"},
        "parcels + buildings": {"parcels": "vincennes-parcels-2022.geojson",
                                "buildings": "vincennes-buildings-2022.geojson"},
    }),
    "94022": ("Choisy-le-Roi", {
        "without": {},
        "parcels": {"parcels": "choisy-parcels-2018.geojson"},
    }),
    "94075": ("Villecresnes", {
        "without": {},
        "streets": {"streets": "villecresnes-roads-2016.geojson"},
    }),
}


def one_build(tab, communes, code: str, seed: int, layers: dict) -> dict:
    """One hold-out build of one commune with ``layers``: own-station share, test points, seconds."""
    import boundaries

    t0 = time.perf_counter()
    built = boundaries.build(tab, communes, commune=code, holdout=HOLDOUT, seed=seed, jobs=1,
                             **{k: LAND / f for k, f in layers.items()})
    wall = time.perf_counter() - t0
    h = built.report.holdout
    return {"own": h["own_station"], "test": h["test_points"], "seconds": wall,
            "build_seconds": built.report.seconds,
            "multipart": float((built.stations["n_parts"] > 1).mean()),
            "method": built.report.communes.get(code, {}).get("method")}


def measure(tab, communes, variants=None, seeds=SEEDS) -> list[dict]:
    """Every (commune, variant, seed) row, the build without layers first on each seed."""
    out = []
    for code, (name, by_label) in (variants or VARIANTS).items():
        for seed in seeds:
            for label, layers in by_label.items():
                out.append({"commune": code, "name": name, "variant": label, "seed": seed,
                            **one_build(tab, communes, code, seed, layers)})
                r = out[-1]
                log(f"land hold-out: {code} {label} seed {seed}: own {100 * r['own']:.2f} % of {r['test']}, "
                    f"{r['seconds']:.2f} s ({r['method']})")
    return out


def summarise(rows: list[dict]) -> list[dict]:
    """Per commune and variant: mean own station, gain on each seed against ``without``, median seconds."""
    import pandas as pd

    df = pd.DataFrame(rows)
    base = df[df["variant"] == "without"].set_index(["commune", "seed"])
    key = list(zip(df["commune"], df["seed"]))
    df["gain"] = df["own"].to_numpy() - base.loc[key, "own"].to_numpy()
    df["base_seconds"] = base.loc[key, "seconds"].to_numpy()
    out = []
    for (code, label), g in df.groupby(["commune", "variant"], sort=False):
        base_med = float(g["base_seconds"].median())
        out.append({"commune": code, "name": g["name"].iloc[0], "variant": label, "seeds": len(g),
                    "test": float(g["test"].mean()), "own": float(g["own"].mean()),
                    "gain_mean": float(g["gain"].mean()), "gain_min": float(g["gain"].min()),
                    "gain_by_seed": [float(x) for x in g["gain"]],
                    "multipart": float(g["multipart"].mean()), "method": g["method"].iloc[0],
                    "seconds": float(g["seconds"].median()),
                    "build_seconds": float(g["build_seconds"].median()),
                    "ratio": float(g["seconds"].median()) / base_med if base_med > 0 else None})
    return out


def land_holdout(csv=None, communes=None) -> dict:
    """The hold-out part of the bench's land section: raw rows and their summary."""
    folder = SHARED / "val-de-marne-2016"
    csv, communes = csv or folder / "addresses.csv.gz", communes or folder / "communes.geojson"
    rows = measure(read_reu(csv), communes)
    return {"rows": rows, "summary": summarise(rows), "holdout": HOLDOUT, "seeds": list(SEEDS)}


def main(argv: list[str]) -> None:
    from ..render.land import holdout_table

    out = "\n".join(holdout_table(land_holdout()))
    print(out)
    for a in argv:
        if a.endswith(".md"):
            with open(a, "w") as f:
                f.write(out + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
