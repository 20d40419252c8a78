"""Write station layers and reports: atomically, deterministically, in WGS84.

Every file is written to a temporary file in the destination folder and renamed
over the destination only once complete (``os.replace``), so a reader never sees
a half-written file and an interrupted run leaves the previous output intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import shapely

from .errors import InputError

#: Decimal places of longitude/latitude in GeoJSON output (RFC 7946 advises ~7: ≈ 1 cm).
GEOJSON_DECIMALS = 7


def check_output_path(
    path: str, inputs: list[str] = (), what: str = "output", option: str = "-o",
    suffixes: tuple[str, ...] | None = (".geojson", ".json"),
) -> None:
    """Fail early, before any work, if ``path`` cannot be written.

    ``what`` and ``option`` name the file and its option in messages; ``suffixes``
    are the accepted extensions (None accepts any).
    """
    if path == "-":
        return
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(f"{what} {path}: unknown format {p.suffix!r}; write a .geojson file (or - for stdout)")
    if p.is_dir():
        raise InputError(f"{what} {path} is a folder; give a file name such as {p / 'stations.geojson'}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{what} folder {parent} does not exist; create it first (mkdir -p {parent})")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{what} folder {parent} is not writable; choose another {option} path")
    for source in inputs:
        if source and source != "-" and Path(source).exists() and p.exists() and p.resolve() == Path(source).resolve():
            raise InputError(f"{what} {path} is also an input; choose another {option} path")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    On error the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp", dir=path.parent or "."
    )
    os.close(fd)
    os.unlink(tmp)  # GDAL wants to create the file itself
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def to_wgs84(gdf):
    """Reproject to EPSG:4326 and round to the GeoJSON grid, keeping shapes valid.

    Coordinates are rounded point by point, so a border shared by two stations
    stays identical in both; the rare polygon that rounding makes invalid is
    snap-rounded instead (``set_precision``), which keeps it valid.
    """
    out = gdf.to_crs("EPSG:4326")
    grid = 10.0 ** -GEOJSON_DECIMALS
    geoms = shapely.set_precision(out.geometry.values.to_numpy(), grid, mode="pointwise")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.set_precision(shapely.make_valid(out.geometry.values.to_numpy()[invalid]), grid)
    if "code_commune" in out.columns:
        # Two vertices a hair apart may round to neighbouring grid points: snap each
        # commune's stations back into a clean coverage on the grid.
        for idx in out.groupby("code_commune", sort=False).indices.values():
            part = geoms[idx]
            if len(part) > 1 and not shapely.coverage_is_valid(part):
                cleaned = shapely.coverage_clean(part, snapping_distance=4 * grid)
                cleaned = shapely.set_precision(cleaned, grid, mode="pointwise")
                if shapely.is_valid(cleaned).all() and shapely.coverage_is_valid(cleaned):
                    geoms[idx] = cleaned
    out = out.set_geometry(np.asarray(geoms, dtype=object), crs="EPSG:4326")
    return out


def write_geojson(gdf, path: str) -> None:
    """Write a GeoDataFrame as RFC 7946 GeoJSON (WGS84, CCW exteriors, no ``crs``).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features in any CRS; reprojected to WGS84 and rounded to 7 decimals.
    path : str
        Destination ``.geojson`` file, or ``-`` for standard output.
    """
    import pyogrio

    wgs = to_wgs84(gdf)
    options = {"RFC7946": "YES", "COORDINATE_PRECISION": None, "WRITE_NAME": "NO"}
    options = {k: v for k, v in options.items() if v is not None}
    if path == "-":
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = os.path.join(tmpdir, "stations.geojson")
            pyogrio.write_dataframe(wgs, tmp, driver="GeoJSON", layer_options=options)
            with open(tmp, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        return
    with atomic_path(path, suffix=".geojson") as tmp:
        pyogrio.write_dataframe(wgs, tmp, driver="GeoJSON", layer_options=options)


def write_json(data: dict, path: str) -> None:
    """Write a JSON document atomically, keys in a stable order."""
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    with atomic_path(path, suffix=".json") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
