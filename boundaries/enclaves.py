"""The enclaves layer: address clusters the fragment clean-up put inside another station's polygon.

:func:`boundaries.fragments.reassign_pieces` gives a station's detached part to the
neighbour around it unless it is a true enclave; the rows in a part given away now
lie in another station's polygon. :func:`enclave_points` lists one point per such
part (``id_bv``: the station the rows belong to; ``id_bv_holder``: the station
whose polygon holds them; ``rows``), so a GIS user sees what the one-piece rule
moved; its ``rows`` add up to the report's ``fragment_rows_moved``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import codes

#: The columns of the layer, in order (the geometry, a point in WGS84, comes last).
ENCLAVE_COLUMNS = ("id_bv", "id_bv_holder", "code_commune", "rows")
#: The layer's name in a GeoPackage.
ENCLAVE_LAYER = "enclaves"


def enclave_points(unit_info: dict, table: pd.DataFrame):
    """One point per moved part holding address rows, in WGS84.

    Parameters
    ----------
    unit_info : dict
        Each unit's build details; ``enclaves`` as :func:`boundaries.pipeline.build_unit`
        stores them (station keys, rows, a point inside the part in the unit's metric CRS).
    table : pandas.DataFrame
        The stations (``station_key``, ``id_bv``), to name the keys.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`ENCLAVE_COLUMNS` and a point, by commune then station key.
    """
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    id_of = dict(zip(table["station_key"], table["id_bv"]))
    parts = []
    for unit in sorted(unit_info):
        found = unit_info[unit].get("enclaves")
        if found is None or not len(found["rows"]):
            continue
        to_wgs84 = Transformer.from_crs(codes.territory_crs(codes.departement_of(unit)), "EPSG:4326", always_xy=True)
        lon, lat = to_wgs84.transform(np.asarray(found["x"], dtype=float), np.asarray(found["y"], dtype=float))
        parts.append(gpd.GeoDataFrame({
            "id_bv": [id_of.get(k, k) for k in found["station"]],
            "id_bv_holder": [id_of.get(k, k) for k in found["holder"]],
            "code_commune": unit,
            "rows": np.asarray(found["rows"], dtype=np.int64),
        }, geometry=shapely.points(np.round(lon, 7), np.round(lat, 7)), crs="EPSG:4326"))
    if not parts:
        return gpd.GeoDataFrame({c: pd.Series(dtype="int64" if c == "rows" else object) for c in ENCLAVE_COLUMNS},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326").values, crs="EPSG:4326")
    return pd.concat(parts, ignore_index=True)


def append_layer(gdf, path: str) -> None:
    """Add the ``enclaves`` layer to the GeoPackage being written at ``path``."""
    import pyogrio

    pyogrio.write_dataframe(gdf, path, layer=ENCLAVE_LAYER, driver="GPKG", geometry_type="Point", append=True,
                            dataset_options={"VERSION": "1.2"})
