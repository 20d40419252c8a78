"""PNG maps of station layers with matplotlib: one commune, stations in neighbour colours.

Stations are filled so that no two touching stations share a colour
(:func:`boundaries.colouring.neighbour_colours`), labelled with their number, the
commune outline drawn thick and the address points, when given, as small dots.
Everything is drawn in the territory's metric CRS (Lambert-93 on the mainland).

The output is deterministic: the same input gives the same PNG bytes (no date or
software version in the file). matplotlib is imported only when a map is drawn,
through its Agg canvas directly, so no pyplot state or GUI backend is involved.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

from .errors import InputError

#: Station fills: Paul Tol's "light" scheme (colour-blind safe, made for areas under
#: black labels), then his "muted" scheme for the rare map that needs more colours.
PALETTE = (
    "#77AADD", "#EE8866", "#EEDD88", "#44BB99", "#FFAABB", "#99DDFF", "#BBCC33", "#AAAA00", "#DDDDDD",
    "#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499",
)
#: Colours the neighbour colouring tries to stay within (the palette's first ones).
MAP_COLOURS = 5
#: Two stations closer than this (m) count as neighbours for the colouring, so that a
#: rounding sliver between them does not let them share a colour.
NEIGHBOUR_DISTANCE_M = 1.0
OUTLINE_COLOUR = "#222222"
HIGHLIGHT_COLOUR = "#000000"
POINT_COLOUR = "#333333"
#: PNG metadata written: nothing that changes between runs or versions.
PNG_METADATA = {"Software": None}


@dataclass
class MapData:
    """Everything a map needs, projected once (see :func:`prepare_map`).

    Attributes
    ----------
    stations : geopandas.GeoDataFrame
        The selected stations in ``crs``, with ``id_bv``, ``key`` (canonical id),
        ``code_commune``, ``number`` (label) and ``colour`` (palette index).
    outline : numpy.ndarray of shapely geometries
        Commune outlines in ``crs`` (possibly empty).
    outline_from_stations : bool
        True when no outline was given or found and the stations' union stands in.
    points : numpy.ndarray, shape (n, 2) or None
        Address points in ``crs``.
    crs : str
        The metric CRS of the drawing.
    title : str
        Commune code and name, or how many communes.
    note : str or None
        A warning line when outlines were given but hold none of the communes drawn
        (the stations' union stands in); None otherwise.
    """

    stations: object
    outline: np.ndarray
    outline_from_stations: bool
    points: np.ndarray | None
    crs: str
    title: str
    note: str | None = None


def load_stations(source, layer: str | None = None):
    """Read a station layer (path or GeoDataFrame), keeping every field.

    Adds the columns ``id_bv``, ``key`` (canonical station id) and ``code_commune``,
    detected as :func:`boundaries.read.read_stations` does for any tool's layer.
    ``layer`` names the layer of a file of several (:func:`boundaries.read.read_polygons`).
    """
    from pathlib import Path

    import geopandas as gpd

    from .read import check_file, check_local_path, read_station_file, read_stations

    gdf, where = source, None
    if not isinstance(source, gpd.GeoDataFrame):
        check_local_path(source, "station file", "STATIONS")
        check_file(Path(source), "station", "STATIONS")
        where = f"station file {source}"
        gdf = read_station_file(Path(source), where, layer)
    base = read_stations(gdf, where=where, id_keyword=None, commune_keyword=None)
    for col in gdf.columns:
        if col not in base.columns and col != gdf.geometry.name:
            base[col] = gdf[col].to_numpy()
    return base


def _communes_of(code: str) -> set[str]:
    """The station commune codes a ``--commune`` code selects (a PLM city: its arrondissements)."""
    from .codes import PLM_CITIES

    return {code, *PLM_CITIES.get(code, [])}


def _outline_rows(codes, commune: str | None, station_codes: set) -> np.ndarray:
    """Which outline rows to draw: the commune's own; for a PLM city its outline, else its
    arrondissements'; without ``commune``, those of the stations' communes (or their city)."""
    from .codes import ARRONDISSEMENT_CITY, PLM_CITIES

    codes = codes.astype("string")
    have = set(codes.dropna())
    if commune is not None:
        if commune in PLM_CITIES and commune not in have:
            return codes.isin(PLM_CITIES[commune]).fillna(False).to_numpy()
        return (codes == commune).fillna(False).to_numpy()
    wanted = {c for c in station_codes if c in have}
    wanted |= {ARRONDISSEMENT_CITY[c] for c in station_codes if c not in have and c in ARRONDISSEMENT_CITY}
    return codes.isin(wanted).fillna(False).to_numpy()


def _map_crs(codes_present) -> str:
    from .codes import departement_of, territory_crs

    for code in sorted(c for c in codes_present if isinstance(c, str) and c):
        return territory_crs(departement_of(code))
    return "EPSG:2154"


def _read_points(addresses, selected: set[str] | None, crs: str, addresses_layer: str | None = None) -> np.ndarray:
    """Address points of the selected communes, projected to ``crs``, as an (n, 2) array
    (``addresses_layer``: which layer of a vector file of several)."""
    import geopandas as gpd
    import pandas as pd

    from .codes import ARRONDISSEMENT_CITY

    if isinstance(addresses, gpd.GeoDataFrame):
        pts = addresses[~(addresses.geometry.is_empty | addresses.geometry.isna())]
        for col in ("code_commune_ref", "commune", "code_commune"):
            if selected is not None and col in pts.columns:
                pts = pts[pts[col].astype("string").isin(selected).fillna(False).to_numpy()]
                break
        pts = pts.to_crs(crs)
        return np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
    from .read import AddressTable

    if isinstance(addresses, AddressTable):
        df, src_crs = addresses.rows, addresses.crs
    elif isinstance(addresses, pd.DataFrame):
        df, src_crs = addresses, "EPSG:4326"
    else:
        from .read import read_addresses

        table = read_addresses(addresses, addresses_layer=addresses_layer)
        df, src_crs = table.rows, table.crs
    if selected is not None and "commune" in df.columns:
        commune = df["commune"].astype("string")
        city = commune.map(ARRONDISSEMENT_CITY)
        keep = commune.isin(selected).fillna(False) | city.isin(selected).fillna(False)
        df = df[keep.to_numpy()]
    x = df["x"].to_numpy(dtype=float)
    y = df["y"].to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    pts = gpd.GeoSeries(gpd.points_from_xy(x[ok], y[ok]), crs=src_crs).to_crs(crs)
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def prepare_map(stations, commune: str | None = None, addresses=None, outline=None,
                n_colours: int = MAP_COLOURS, *, layer: str | None = None,
                communes_layer: str | None = None, addresses_layer: str | None = None) -> MapData:
    """Select, project and colour what a map of ``commune`` shows.

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        A station layer (``boundaries build`` output or any tool's, see
        :func:`boundaries.read.read_stations`).
    commune : str, optional
        INSEE code of the commune to draw (``75056`` selects Paris's arrondissements).
        None draws every station of the layer.
    addresses : str, path, GeoDataFrame, (DataFrame, crs) or DataFrame, optional
        Address points to draw: a file :func:`boundaries.read.read_addresses` reads,
        a point layer, the table it returns, or a frame with ``x``/``y`` in EPSG:4326.
    outline : str, path or GeoDataFrame, optional
        Commune outlines (:func:`boundaries.read.read_communes`). Without it, or when
        the commune is not in it, the union of its stations stands in.
    n_colours : int
        Colours the neighbour colouring tries to stay within.
    layer, communes_layer : str, optional
        The layer to read from a ``stations`` or ``outline`` file of several
        (:func:`boundaries.read.read_polygons`).
    addresses_layer : str, optional
        The layer to read from an ``addresses`` vector file of several
        (:func:`boundaries.read.read_point_layer`).

    Returns
    -------
    MapData

    Raises
    ------
    InputError
        When ``commune`` has no station in the layer.
    """
    from .codes import station_number
    from .colouring import neighbour_colours

    st = _select_stations(load_stations(stations, layer), commune)
    present_codes = set(st["code_commune"].dropna())
    crs = _map_crs(present_codes if commune is None else {commune, *present_codes})
    if st.crs is None:
        raise InputError("the station layer has no CRS")
    st = st.to_crs(crs).reset_index(drop=True)
    geoms = st.geometry.values.to_numpy()
    st["number"] = station_number(st["id_bv"].to_numpy(dtype=object))
    st["colour"] = neighbour_colours(geoms, n_colours=n_colours, distance=NEIGHBOUR_DISTANCE_M)
    outline_geoms, name = _outlines(outline, commune, present_codes, crs, communes_layer)
    from_stations = len(outline_geoms) == 0
    if from_stations:
        outline_geoms = _stations_union(geoms, outline_geoms)
    title = _map_title(st, commune, name, present_codes)
    points = None
    if addresses is not None:
        sel = None if commune is None else _communes_of(commune)
        points = _read_points(addresses, sel, crs, addresses_layer)
    note = None
    if from_stations and outline is not None:
        shown = ", ".join(sorted(present_codes)[:5]) + (", …" if len(present_codes) > 5 else "")
        note = (f"the outlines hold none of the communes drawn ({shown or 'none'}): the stations' union is drawn "
                "instead (dashed); check the outline file and its commune-code field")
    return MapData(st, outline_geoms, from_stations, points, crs, title, note)


def _select_stations(st, commune: str | None):
    """The stations of ``commune`` (all of them when None).

    Raises
    ------
    InputError
        When the commune has no station, naming the communes the layer has.
    """
    if commune is None:
        return st
    code_commune = st["code_commune"].astype("string")
    st = st[code_commune.isin(_communes_of(commune)).fillna(False).to_numpy()]
    if len(st) == 0:
        present = sorted(set(code_commune.dropna()))
        shown = ", ".join(present[:10]) + (", …" if len(present) > 10 else "")
        raise InputError(f"no station of commune {commune} in the station layer (communes: {shown or 'none'})")
    return st


def _outlines(outline, commune: str | None, present_codes: set, crs: str,
              communes_layer: str | None = None) -> tuple[np.ndarray, str | None]:
    """The outlines to draw, projected to ``crs``, and the commune's name from them (None if unknown).

    Without an ``outline`` source the array is empty.
    """
    if outline is None:
        return np.empty(0, dtype=object), None
    from .read import read_communes

    out = read_communes(outline, communes_layer=communes_layer, codes=sorted(present_codes)).outlines
    out = out[_outline_rows(out["code"], commune, present_codes)]
    name = None
    if commune is not None:
        names = out.loc[out["code"] == commune, "nom"].dropna()
        name = str(names.iloc[0]) if len(names) else None
    return out.to_crs(crs).geometry.values.to_numpy(), name


def _stations_union(geoms: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """The union of the stations, standing in for a missing outline (``empty`` when none has land)."""
    import shapely

    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    return np.array([shapely.union_all(present)], dtype=object) if len(present) else empty


def _map_title(st, commune: str | None, name: str | None, present_codes: set) -> str:
    """Commune code and name (the name from the outlines, else the layer's ``nom_commune``), or a count."""
    has_names = "nom_commune" in st.columns
    if commune is not None:
        if name is None and has_names:
            names = st["nom_commune"].dropna()
            name = str(names.iloc[0]) if len(names) else None
        return f"{commune} {name}" if name else commune
    n = len(present_codes)
    if n != 1:
        return f"{n} communes"
    only = next(iter(present_codes))
    return f"{only} {st['nom_commune'].dropna().iloc[0]}" if has_names and st["nom_commune"].notna().any() else only


def _nice_length(span: float) -> float:
    """A round length (1, 2 or 5 × 10^k) near a fifth of ``span``."""
    target = max(span / 5.0, 1e-9)
    k = np.floor(np.log10(target))
    for m in (5, 2, 1):
        if m * 10**k <= target:
            return float(m * 10**k)
    return float(10**k)


def _label_points(geoms: np.ndarray) -> np.ndarray:
    """Where to write each station's number: a point inside its largest part."""
    import shapely

    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            out[i] = None
            continue
        parts = shapely.get_parts(g)
        out[i] = shapely.point_on_surface(parts[int(np.argmax(shapely.area(parts)))])
    return out


def draw_map(data: MapData, path_or_buffer=None, *, highlight=None, zoom: bool = True,
             title: str | None = None, size_in: tuple[float, float] = (8.0, 8.0), dpi: int = 120,
             labels: bool = True):
    """Draw a prepared map to PNG. See :func:`render_map` for the parameters."""
    import shapely

    st = data.stations
    geoms = st.geometry.values.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    hl = _highlighted(st, highlight, present)
    fig, ax = _figure(size_in, dpi)
    _draw_layers(ax, data, present, hl)
    cx, cy, half = _view(geoms[hl] if hl.any() and zoom else None, geoms[present], data.outline)
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)
    if labels and present.any():
        _draw_labels(ax, st, geoms, present, hl)
    _draw_scale_bar(ax, cx, cy, half)
    _draw_heading(fig, data, title, hl)
    return _save_png(fig, path_or_buffer, dpi)


def _highlighted(st, highlight, present: np.ndarray) -> np.ndarray:
    """Which stations to outline: those whose canonical id is among ``highlight`` and have land."""
    if highlight is None:
        return np.zeros(len(st), dtype=bool)
    from .codes import canonical_station

    wanted = [highlight] if isinstance(highlight, str) else list(highlight)
    keys = set(canonical_station(np.asarray(wanted, dtype=object)))
    return st["key"].isin(keys).to_numpy() & present


def _figure(size_in: tuple[float, float], dpi: int):
    """A figure on an Agg canvas (no pyplot state) and its one axes, square and without frame."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size_in, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.92))
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig, ax


def _draw_layers(ax, data: MapData, present: np.ndarray, hl: np.ndarray) -> None:
    """Stations in their colours (paler when some are highlighted), outline, highlighted stations, points."""
    st = data.stations
    palette = np.array(PALETTE, dtype=object)
    colours = palette[st["colour"].to_numpy() % len(palette)]
    if present.any():
        faded = hl.any()
        st[present].plot(ax=ax, color=list(colours[present]), edgecolor="#ffffff", linewidth=0.6,
                         alpha=0.55 if faded else 0.95, zorder=1)
    if len(data.outline):
        import geopandas as gpd

        gpd.GeoSeries(data.outline, crs=data.crs).boundary.plot(
            ax=ax, color=OUTLINE_COLOUR, linewidth=2.2, linestyle="--" if data.outline_from_stations else "-",
            zorder=3)
    if hl.any():
        st[hl].plot(ax=ax, color=list(colours[hl]), edgecolor=HIGHLIGHT_COLOUR, linewidth=2.8, zorder=4)
    if data.points is not None and len(data.points):
        ax.scatter(data.points[:, 0], data.points[:, 1], s=1.2, c=POINT_COLOUR, linewidths=0, alpha=0.8, zorder=5)


def _view(focus, shown: np.ndarray, outline: np.ndarray) -> tuple[float, float, float]:
    """Centre and half-width of the square view.

    The ``focus`` geometries (the highlighted stations, when zooming) with room
    around them; without a focus, everything shown and the outline.
    """
    import shapely

    if focus is not None:
        x0, y0, x1, y1 = shapely.total_bounds(focus)
        half = max(x1 - x0, y1 - y0) * 0.5 * 1.8 + 150.0
    else:
        extent = np.concatenate([shown, outline]) if len(outline) else shown
        if len(extent) == 0:
            x0 = y0 = x1 = y1 = 0.0
        else:
            x0, y0, x1, y1 = shapely.total_bounds(extent)
        half = max(x1 - x0, y1 - y0) * 0.5 * 1.04 + 10.0
    return (x0 + x1) / 2, (y0 + y1) / 2, half


def _draw_labels(ax, st, geoms: np.ndarray, present: np.ndarray, hl: np.ndarray) -> None:
    """Each station's number inside its largest part; smaller type on crowded maps, bold when highlighted."""
    from matplotlib import patheffects

    n_shown = int(present.sum())
    size = 10 if n_shown <= 30 else 8 if n_shown <= 80 else 6
    halo = [patheffects.withStroke(linewidth=2.5, foreground="#ffffff")]
    where = _label_points(geoms)
    numbers = st["number"].to_numpy(dtype=object)
    for i in np.flatnonzero(present):
        p = where[i]
        ax.text(p.x, p.y, str(numbers[i]), parse_math=False, ha="center", va="center",
                fontsize=size + (2 if hl[i] else 0),
                fontweight="bold" if hl[i] else "normal", color="#000000", path_effects=halo,
                zorder=6, clip_on=True)


def _draw_scale_bar(ax, cx: float, cy: float, half: float) -> None:
    """A round-length scale bar at the bottom left of the view."""
    from matplotlib import patheffects

    span = 2 * half
    length = _nice_length(span)
    bx, by = cx - half + span * 0.04, cy - half + span * 0.04
    ax.plot([bx, bx + length], [by, by], color="#000000", linewidth=3, solid_capstyle="butt", zorder=7)
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + length / 2, by + span * 0.012, text, parse_math=False, ha="center", va="bottom", fontsize=8, zorder=7,
            path_effects=[patheffects.withStroke(linewidth=2.5, foreground="#ffffff")])


def _draw_heading(fig, data: MapData, title: str | None, hl: np.ndarray) -> None:
    """Title, and a subtitle: station count, the outlined stations, what a dashed outline means."""
    st = data.stations
    heading = title if title is not None else data.title
    n_st = len(st)
    sub = f"{n_st} station{'s' if n_st != 1 else ''}"
    if hl.any():
        sub = "station " + ", ".join(st.loc[hl, "id_bv"].astype(str)) + " outlined · " + sub
    if data.outline_from_stations:
        sub += " · dashed outline: union of the stations (no commune outline)"
    fig.text(0.5, 0.975, heading, parse_math=False, ha="center", va="top", fontsize=13, fontweight="bold")
    fig.text(0.5, 0.945, sub, parse_math=False, ha="center", va="top", fontsize=8.5, color="#444444")


def _save_png(fig, path_or_buffer, dpi: int):
    """Save the PNG to a path (atomically), to a binary file, or return its bytes when None."""
    def save(target):
        fig.savefig(target, format="png", dpi=dpi, metadata=PNG_METADATA, facecolor="#ffffff")

    if path_or_buffer is None:
        buf = io.BytesIO()
        save(buf)
        return buf.getvalue()
    if isinstance(path_or_buffer, (str, os.PathLike)):
        from .write import atomic_path

        with atomic_path(path_or_buffer, suffix=".png") as tmp:
            save(tmp)
        return None
    save(path_or_buffer)
    return None


def render_map(stations, commune: str | None = None, addresses=None, outline=None, path_or_buffer=None, *,
               highlight=None, zoom: bool = True, title: str | None = None,
               size_in: tuple[float, float] = (8.0, 8.0), dpi: int = 120, labels: bool = True,
               n_colours: int = MAP_COLOURS, layer: str | None = None, communes_layer: str | None = None,
               addresses_layer: str | None = None):
    """Draw a PNG map of a commune's stations.

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        The station layer (any CRS).
    commune : str, optional
        INSEE code of the commune to draw; None draws the whole layer.
    addresses : optional
        Address points drawn as small dots (see :func:`prepare_map`).
    outline : str, pathlib.Path or geopandas.GeoDataFrame, optional
        Commune outlines, drawn thick; without them the stations' union is drawn dashed.
    path_or_buffer : str, os.PathLike, binary file object or None
        Where to write the PNG: a path (written atomically), an open binary file,
        or None to get the bytes back.
    highlight : str or list of str, optional
        Station id(s) to outline in black (``94068_7`` and ``94068_0007`` both match);
        the others are drawn paler.
    zoom : bool, default True
        With ``highlight``, centre the view on the highlighted stations.
    title : str, optional
        Heading; default the commune code and name.
    size_in, dpi
        Figure size in inches and resolution (default 960 × 960 pixels).
    labels : bool, default True
        Write each station's number inside it.
    n_colours : int, default :data:`MAP_COLOURS`
        Colours the neighbour colouring tries to stay within.
    layer, communes_layer, addresses_layer : str, optional
        The layer to read from a ``stations``, ``outline`` or ``addresses`` file of several.

    Returns
    -------
    bytes or None
        The PNG bytes when ``path_or_buffer`` is None.
    """
    data = prepare_map(stations, commune, addresses=addresses, outline=outline, n_colours=n_colours, layer=layer,
                       communes_layer=communes_layer, addresses_layer=addresses_layer)
    return draw_map(data, path_or_buffer, highlight=highlight, zoom=zoom, title=title, size_in=size_in,
                    dpi=dpi, labels=labels)
