"""The plain-Voronoi yardstick: the method existing tools use, kept as a reference.

Voronoi cells of the unique points (the first row wins a shared coordinate),
dissolved by station and clipped to the commune. No cleaning, no weights. It is
not used by the tool: benchmarks and tests compare the tool against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def plain_voronoi(x: np.ndarray, y: np.ndarray, station: np.ndarray, outline) -> dict:
    """Station polygons of one commune by plain Voronoi.

    Parameters
    ----------
    x, y : numpy.ndarray
        Point coordinates in a metric CRS.
    station : numpy.ndarray
        The station of each point.
    outline : shapely geometry
        The commune, same CRS.

    Returns
    -------
    dict
        Station → polygon (clipped to the outline).
    """
    df = pd.DataFrame({"x": x, "y": y, "station": station}).dropna()
    df = df.drop_duplicates(["x", "y"], keep="first")
    if df["station"].nunique() == 1:
        return {df["station"].iloc[0]: outline}
    frame = shapely.buffer(shapely.envelope(outline), 1000.0)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(df[["x", "y"]].to_numpy()), extend_to=frame, ordered=True
        )
    )
    out = {}
    for st, idx in df.groupby("station").indices.items():
        out[st] = shapely.intersection(shapely.union_all(cells[idx]), outline)
    return out
