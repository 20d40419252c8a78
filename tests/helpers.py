"""Helpers shared by tests: synthetic communes and points, IoU, and the bench's tools as commands.

The tests import nothing from ``benchmarks``: the national-shape generator and the
plain-Voronoi yardstick are run as the commands they are (``python -m benchmarks.synth``,
``python -m benchmarks.yardstick``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]


def points_in(polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``polygon`` (rejection sampling).

    The same ten lines as ``benchmarks/common.py``'s (the bench's Paris points);
    ``benchmarks/tests/test_common.py`` checks that both draw the same points.
    """
    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((0, 2))
    shapely.prepare(polygon)
    while len(out) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(2 * n, 16), 2))
        out = np.vstack([out, xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]])
    return out[:n]


def iou(a, b) -> float:
    union = shapely.area(shapely.union(a, b))
    return float(shapely.area(shapely.intersection(a, b)) / union) if union else 0.0


def grid_town(code_prefix: str, crs: str, origin=(0.0, 0.0), size_m=2000.0, n=2, seed=0,
              stations_per_commune=3, points_per_station=40):
    """``n × n`` square communes in ``crs``, each split in vertical station strips.

    Returns (addresses DataFrame in EPSG:4326 with REU columns, outlines GeoDataFrame, truth GeoDataFrame).
    """
    rng = np.random.default_rng(seed)
    ox, oy = origin
    rows, outlines, truth = [], [], []
    k = 0
    for i in range(n):
        for j in range(n):
            k += 1
            code = f"{code_prefix}{k:03d}" if len(code_prefix) == 2 else f"{code_prefix}{k:02d}"
            x0, y0 = ox + i * size_m, oy + j * size_m
            outlines.append((code, f"Commune {k}", shapely.box(x0, y0, x0 + size_m, y0 + size_m)))
            w = size_m / stations_per_commune
            for s in range(stations_per_commune):
                strip = shapely.box(x0 + s * w, y0, x0 + (s + 1) * w, y0 + size_m)
                truth.append((f"{code}_{s + 1}", code, strip))
                for x, y in points_in(strip, points_per_station, rng):
                    rows.append((code, f"{code}_{s + 1}", x, y))
    pts = pd.DataFrame(rows, columns=["code_commune_ref", "id_brut_bv_reu", "x", "y"])
    lonlat = gpd.GeoSeries(gpd.points_from_xy(pts.x, pts.y), crs=crs).to_crs(4326)
    pts["longitude"], pts["latitude"] = lonlat.x.round(8), lonlat.y.round(8)
    pts["geo_type"], pts["geo_score"], pts["nb_adresses"] = "housenumber", 0.9, 1
    outl = gpd.GeoDataFrame(outlines, columns=["code", "nom", "geometry"], crs=crs).to_crs(4326)
    tru = gpd.GeoDataFrame(truth, columns=["id_bv", "code", "geometry"], crs=crs)
    return pts.drop(columns=["x", "y"]), outl, tru


def synth_folder(folder: Path, rows: int, departements: int, seed: int, *extra: str) -> Path:
    """Run ``python -m benchmarks.synth`` into ``folder``: ``addresses.parquet``, ``communes.gpkg``…"""
    subprocess.run([sys.executable, "-m", "benchmarks.synth", "--rows", str(rows), "--departements",
                    str(departements), "--seed", str(seed), "-o", str(folder), "-q", *extra],
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    return Path(folder)


def synth_table(tmp_path_factory, rows: int, departements: int, seed: int):
    """A small national-shape table (one Parquet file) and its outlines, generated into a temp folder."""
    folder = synth_folder(tmp_path_factory.mktemp("synth"), rows, departements, seed)
    return folder / "addresses.parquet", folder / "communes.gpkg"


def national_build(addresses, communes, work_dir, **options):
    """``boundaries.build`` département by département, its parts in ``work_dir`` (``all_departements``)."""
    import boundaries

    return boundaries.build(addresses, communes, all_departements=True, work_dir=str(work_dir), **options)


def single_build(addresses, communes, **options):
    """The whole table in one build, in this process (what a national run must equal)."""
    from boundaries.pipeline import build
    from boundaries.request import BuildRequest

    return build(BuildRequest.create(addresses, communes, **options))


def yardstick(addresses_csv, communes, folder: Path):
    """The plain-Voronoi yardstick's stations (``python -m benchmarks.yardstick``), in EPSG:2154, by ``id_bv``.

    Its output is RFC 7946 GeoJSON (7 decimals, about 1 cm): read back, its polygons move
    by that much.
    """
    out = Path(folder) / "yardstick.geojson"
    subprocess.run([sys.executable, "-m", "benchmarks.yardstick", str(addresses_csv), str(communes), str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    return gpd.read_file(out).to_crs(2154).set_index("id_bv").geometry


def file_properties(path, fmt: str, layer: str | None = None) -> list[dict]:
    """Every feature's properties in the file's own types: GeoJSON(Seq) as JSON text, GeoParquet through
    pyarrow, the other formats through GDAL's Arrow reader (``layer`` of a GeoPackage)."""
    import json

    import pyarrow.parquet as pq
    import pyogrio

    if fmt == "geojson":
        return [f["properties"] for f in json.loads(Path(path).read_text())["features"]]
    if fmt == "geojsonseq":
        return [json.loads(line)["properties"] for line in Path(path).read_text().splitlines()]
    if fmt == "parquet":
        return pq.read_table(path).drop_columns(["geometry"]).to_pylist()
    meta, table = pyogrio.read_arrow(path, layer=layer)
    return table.drop_columns([meta["geometry_name"] or "wkb_geometry"]).to_pylist()


def edited_gpkg(source, gdf, target):
    """A copy of the GeoPackage ``source`` whose stations are ``gdf`` (stale fields and all), as QGIS saves an edit."""
    import shutil
    import sqlite3

    import pyogrio

    shutil.copyfile(source, target)
    con = sqlite3.connect(target)
    with con:
        con.execute("DELETE FROM stations")
    con.close()
    pyogrio.write_dataframe(gdf, target, layer="stations", driver="GPKG", append=True, promote_to_multi=True)
    return target


def build_town(output: Path, *flags: str) -> Path:
    """``boundaries build`` of the bundled town into ``output`` (through the command), checked to succeed."""
    from click.testing import CliRunner

    from boundaries.cli import main

    town = ROOT / "fixtures" / "town"
    res = CliRunner().invoke(main, ["build", str(town / "addresses.csv"), "--communes", str(town / "communes.geojson"),
                                    "-o", str(output), "-q", *flags])
    assert res.exit_code == 0, res.output
    return output
