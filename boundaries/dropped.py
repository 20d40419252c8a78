"""The dropped addresses: every row of a build not used for a polygon, as a layer to examine.

:func:`dropped_rows` lists them from the reasons :func:`boundaries.clean.seed_stations`
gave (the rows held out to measure the build are not dropped, and rows of other
communes are out of scope: neither is listed), so the count of each reason is the
report's ``rows_dropped``. :func:`write_dropped` writes the list as GeoJSON,
GeoPackage (layer ``dropped``) or CSV (``longitude``/``latitude`` columns), by extension.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .clean import HELD_OUT

#: The columns of the layer, in order (the geometry, a point in WGS84, comes last).
DROPPED_COLUMNS = ("row", "id_bv", "code_commune", "reason")
#: The extensions ``dropped`` accepts, and the format of each.
DROPPED_FORMATS = {".geojson": "geojson", ".gpkg": "gpkg", ".csv": "csv"}
#: The layer's name in a GeoPackage.
DROPPED_LAYER = "dropped"


def dropped_rows(rows: pd.DataFrame, crs: str, numbered: bool = True):
    """The rows of a build not used for a polygon, as points in WGS84.

    Parameters
    ----------
    rows : pandas.DataFrame
        The scope's rows after :func:`boundaries.clean.seed_stations` (``row``,
        ``station``, ``commune``, ``x``, ``y``, ``reason``).
    crs : str
        The CRS of ``x``/``y`` (the address table's).
    numbered : bool
        Whether ``row`` counts the rows of the file. Rows skipped while reading (a
        ``departement`` or ``commune`` selection filters chunks of the file as it is
        read) leave positions that are not the file's: ``row`` is then null rather
        than a wrong line number.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`DROPPED_COLUMNS`, in input order: ``row`` is the data row number (1 for
        the first row after the header), ``reason`` one of
        :data:`boundaries.clean.REASONS`; the geometry is null for a row without
        usable coordinates (none, or not a place in WGS84).
    """
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    reason = rows["reason"].to_numpy(dtype=object)
    keep = pd.notna(reason) & (reason != HELD_OUT)
    sel = rows.loc[keep]
    x, y = sel["x"].to_numpy(dtype=float), sel["y"].to_numpy(dtype=float)
    if len(sel):
        x, y = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    # a point only where it is one on Earth: NaN, inf or degrees beyond the globe stay null
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    geom = np.full(len(sel), None, dtype=object)
    geom[ok] = shapely.points(np.round(x[ok], 7), np.round(y[ok], 7))
    return gpd.GeoDataFrame({
        "row": pd.array(sel["row"].to_numpy(dtype=np.int64) + 1 if numbered else [pd.NA] * len(sel), dtype="Int64"),
        "id_bv": sel["station"].to_numpy(dtype=object),
        "code_commune": sel["commune"].to_numpy(dtype=object),
        "reason": reason[keep],
    }, geometry=gpd.GeoSeries(geom, crs="EPSG:4326").values, crs="EPSG:4326")


def dropped_format(path: str) -> str:
    """The format of a dropped-addresses file from its extension (checked by :class:`~boundaries.result.OutputSpec`)."""
    from pathlib import Path

    return DROPPED_FORMATS[Path(path).suffix.lower()]


def write_dropped(gdf, path: str) -> None:
    """Write :func:`dropped_rows` to ``path`` atomically: GeoJSON (RFC 7946), GeoPackage or CSV by extension."""
    import pyogrio

    from .outputs import atomic_path
    from .write import spreadsheet_safe

    fmt = dropped_format(path)
    with atomic_path(path) as tmp:
        if fmt == "csv":
            table = pd.DataFrame({c: gdf[c].to_numpy() for c in DROPPED_COLUMNS})
            geom = gdf.geometry.values.to_numpy()
            table["longitude"], table["latitude"] = _coord(geom, "x"), _coord(geom, "y")
            spreadsheet_safe(table).to_csv(tmp, index=False, float_format="%.7f")
        elif fmt == "gpkg":
            pyogrio.write_dataframe(gdf, tmp, layer=DROPPED_LAYER, driver="GPKG", geometry_type="Point",
                                    dataset_options={"VERSION": "1.2"})
        else:
            pyogrio.write_dataframe(gdf, tmp, layer=DROPPED_LAYER, driver="GeoJSON", geometry_type="Point",
                                    layer_options={"RFC7946": "YES"})


def _coord(geom: np.ndarray, axis: str) -> np.ndarray:
    import shapely

    out = np.full(len(geom), np.nan)
    present = ~shapely.is_missing(geom)
    if present.any():
        get = shapely.get_x if axis == "x" else shapely.get_y
        out[present] = get(geom[present])
    return out


def append_layer(gdf, path: str) -> None:
    """Add the ``dropped`` layer to the GeoPackage being written at ``path`` (see :func:`boundaries.write.write_stations`)."""
    import pyogrio

    pyogrio.write_dataframe(gdf, path, layer=DROPPED_LAYER, driver="GPKG", geometry_type="Point", append=True,
                            dataset_options={"VERSION": "1.2"})
