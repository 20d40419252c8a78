"""A static web map of a station layer: vector tiles (PMTiles) and one page, no server needed.

:func:`write_site` writes a folder that any static host (or ``python -m http.server``)
serves: ``stations.pmtiles`` and ``communes.pmtiles`` (written by GDAL's PMTiles driver,
EPSG:3857, zoom :data:`MIN_ZOOM`–:data:`MAX_ZOOM`), ``communes.json`` (the search index:
each commune's name and bounds), ``index.html`` with ``app.js`` and ``style.css``, and
MapLibre GL JS and the pmtiles reader copied from the package (``make web-assets``) with
their licences. The stations are filled by one field, its classes computed here and
written into the page; the page shows a legend, a hover box and a search by commune.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, option

#: The zoom levels the tiles are cut for (GDAL simplifies the polygons below the highest).
MIN_ZOOM, MAX_ZOOM = 4, 14
#: The file that marks a folder as a site this module wrote (it may be replaced by a new one).
MARKER = ".boundaries-web"
#: Where ``make web-assets`` puts the vendored JavaScript, and the files a site needs from it.
VENDOR = Path(__file__).with_name("webassets") / "vendor"
VENDOR_FILES = ("maplibre-gl.js", "maplibre-gl.css", "maplibre-gl-LICENSE.txt", "pmtiles.js",
                "pmtiles-LICENSE.txt", "VERSIONS.txt")
#: The page's own files (this package's code), copied beside ``index.html``.
PAGE_FILES = ("index.html", "app.js", "style.css")
#: Default colouring fields, in order of preference.
DEFAULT_FIELDS = ("colour", "n_addresses", "confidence")
#: Quantile classes of a numeric field; a field with at most :data:`MAX_CATEGORIES` values is drawn by value.
QUANTILES = 5
MAX_CATEGORIES = 8
#: Sequential colours (light to dark) for quantiles, and distinct ones for categories.
SEQUENTIAL = ("#fff5b8", "#fdc46b", "#f4845f", "#c5416b", "#6a1a6e")
CATEGORICAL = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
MISSING_COLOUR = "#cccccc"
#: The legend of the default fill by ``colour`` (the map colouring: a number that only tells
#: neighbours apart, meaningless to a reader): no value rows, this note instead.
COLOUR_NOTE = "colours only tell neighbouring stations apart"
#: Station fields shown in the hover box besides the chosen one, when the layer has them.
HOVER_FIELDS = ("n_addresses", "confidence")


@dataclass
class Classes:
    """The chosen field's classes: each station's class number and the legend.

    Attributes
    ----------
    field : str
        The field (as the layer or the results name it).
    kind : str
        ``quantile`` or ``category``.
    cls : numpy.ndarray
        Each station's class (``-1``: no value).
    labels, colours : list of str
        One per class, in the legend's order.
    """

    field: str
    kind: str
    cls: np.ndarray
    labels: list = dc_field(default_factory=list)
    colours: list = dc_field(default_factory=list)


def vendor_folder() -> Path:
    """The vendored JavaScript, checked complete.

    Raises
    ------
    InputError
        A file missing: ``make web-assets`` was not run (or npm could not install).
    """
    missing = [name for name in VENDOR_FILES if not (VENDOR / name).is_file()]
    if missing:
        raise InputError(f"the web map's JavaScript is not installed ({VENDOR / missing[0]} is missing); "
                         "run: make web-assets (it needs npm), then run boundaries web again")
    return VENDOR


def check_site_folder(output, inputs) -> Path:
    """Refuse a site folder that cannot be written, or whose writing would lose a file.

    The folder may be missing (its parent must exist), empty, or a site written
    earlier (it holds :data:`MARKER`), which is replaced whole; anything else is
    refused, and so is a folder that holds (or is) an input.
    """
    if output is None or str(output) in ("", "-"):
        raise InputError(f"boundaries web writes a folder; give its path as {option('output')}")
    path = Path(output)
    from .outputs import refuse_special

    refuse_special(path, "site folder", "-o")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise InputError(f"site folder {path}: its parent folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"site folder {path}: cannot write in {parent} (check its permissions)")
    if path.exists() and not path.is_dir():
        raise InputError(f"site folder {path} is a file; give a folder path (e.g. {path.with_suffix('')}-site)")
    _refuse_inputs_inside(path, inputs)
    if path.is_dir() and any(path.iterdir()) and not (path / MARKER).is_file():
        raise InputError(f"site folder {path} is not empty and was not written by boundaries web; "
                         "give a new or empty folder")
    return path


def _refuse_inputs_inside(path: Path, inputs) -> None:
    """An input inside the site folder would be deleted when the folder is replaced."""
    site = path.resolve()
    for source in inputs:
        if source is None or not isinstance(source, (str, os.PathLike)):
            continue
        there = Path(source).resolve()
        if there == site or site in there.parents:
            raise InputError(f"site folder {path} holds the input {source}; give the site another folder")


def search_key(names) -> np.ndarray:
    """Names folded for an accent-insensitive search, as the page folds what is typed.

    Accents dropped (NFD, combining marks removed), ``œ``/``æ`` spelt out, lower case,
    every run of other characters one space: ``Saint-Étienne`` → ``saint etienne``.
    """
    text = pd.Series(names, dtype=object).fillna("").astype(str)
    for a, b in (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE")):
        text = text.str.replace(a, b, regex=False)
    text = text.str.lower().str.normalize("NFD").str.replace(_COMBINING, "", regex=True)
    return text.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip().to_numpy(dtype=object)


#: Combining marks (the accents NFD separates), as the page's ``/\p{M}/gu`` removes them.
_COMBINING = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"


def load_stations(stations, layer=None, id_field=None, station_commune_field=None):
    """The station layer with every field, its ``id_bv`` and ``code_commune`` as :func:`read_stations` finds them.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer's fields (``id_bv`` and ``code_commune`` replaced by the detected
        ones), stations without a geometry left out.
    """
    from .read import check_file, check_local_path, read_station_file, read_stations

    if isinstance(stations, (str, os.PathLike)):
        check_local_path(stations, "station file", "STATIONS")
        check_file(Path(stations), "station", "STATIONS")
        where = f"station file {stations}"
        full = read_station_file(Path(stations), where, layer)
    else:
        full, where = stations, "station layer"
    ids = read_stations(full, id_field, station_commune_field, where=where)
    out = full.copy()
    out["id_bv"] = ids["id_bv"].to_numpy(dtype=object)
    out["code_commune"] = ids["code_commune"].to_numpy(dtype=object)
    keep = ~(out.geometry.isna() | out.geometry.is_empty).to_numpy()
    if not keep.any():
        raise InputError(f"{where} has no station with a geometry; nothing to draw")
    return out[keep].reset_index(drop=True)


def choose_field(stations, field=None, results_columns=()) -> str:
    """The field to colour by: ``field`` (checked), else the first numeric results column, else a default.

    Raises
    ------
    InputError
        ``field`` is not a field of the stations (or of the results joined), or has
        no value on any station (:func:`has_values`).
    """
    names = [c for c in stations.columns if c != stations.geometry.name]
    if field is not None:
        if field not in names:
            shown = ", ".join(repr(n) for n in names[:30])
            raise InputError(f"no field {field!r} to colour by (fields: {shown}); choose one with {option('field')}")
        if not has_values(stations[field]):
            raise InputError(f"field {field!r} has no value on any of the {len(stations):,} stations: nothing to "
                             f"colour by; choose another with {option('field')}")
        return field
    numeric = [c for c in results_columns if pd.api.types.is_numeric_dtype(stations[c])]
    fallback = [c for c in DEFAULT_FIELDS if c in names]
    return (numeric or fallback or [None])[0]


def has_values(values: pd.Series) -> bool:
    """True when a value is neither missing, nor empty or blank text, nor a number that is not finite."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return bool(np.isfinite(values.astype("float64").to_numpy(na_value=np.nan)).any())
    text = values.astype("string").str.strip()
    return bool((text.notna() & (text != "")).any())


def classify(values: pd.Series, field) -> Classes:
    """Classes of ``values``: by value when there are few (or text), else quantiles.

    Numbers that are not finite, and empty values, get class ``-1`` (drawn grey).
    """
    if field is None:
        return Classes(None, "category", np.zeros(len(values), dtype=np.int32), ["station"], [CATEGORICAL[0]])
    numbers = pd.to_numeric(values, errors="coerce") if pd.api.types.is_numeric_dtype(values) else None
    if numbers is not None:
        numbers = numbers.astype("float64").to_numpy(na_value=np.nan)
        finite = np.isfinite(numbers)
        distinct = np.unique(numbers[finite])
        if len(distinct) > MAX_CATEGORIES:
            return _quantiles(numbers, finite, field)
        return _categories(np.where(finite, numbers, np.nan), distinct, field, _number_label)
    text = values.astype("string").to_numpy(dtype=object, na_value=None)
    present = np.array([v is not None and v != "" for v in text], dtype=bool)
    counts = pd.Series(text[present], dtype=object).value_counts(sort=True)
    top = np.array(sorted(counts.index[:len(CATEGORICAL) - 1], key=str), dtype=object)
    return _categories(np.where(present, text, None), top, field, str, other=len(counts) > len(top))


def _quantiles(numbers: np.ndarray, finite: np.ndarray, field) -> Classes:
    """:data:`QUANTILES` classes of equal counts (fewer where values repeat)."""
    edges = np.unique(np.quantile(numbers[finite], np.linspace(0, 1, QUANTILES + 1)))
    inner = edges[1:-1]
    cls = np.where(finite, np.searchsorted(inner, np.where(finite, numbers, 0), side="right"), -1)
    n = len(edges) - 1
    colours = [SEQUENTIAL[round(i * (len(SEQUENTIAL) - 1) / max(n - 1, 1))] for i in range(n)]
    labels = [f"{_number_label(edges[i])} – {_number_label(edges[i + 1])}" for i in range(n)]
    return Classes(field, "quantile", cls.astype(np.int32), labels, colours)


def _categories(values: np.ndarray, top: np.ndarray, field, label, other: bool = False) -> Classes:
    """One class per value of ``top`` (values elsewhere: ``other`` class or none)."""
    lookup = {v: i for i, v in enumerate(top.tolist())}
    fallback = len(top) if other else -1
    cls = pd.Series(values, dtype=object).map(lookup)
    known = pd.Series(values, dtype=object).notna().to_numpy()
    cls = np.where(cls.notna(), cls.fillna(-1), np.where(known, fallback, -1)).astype(np.int32)
    labels = [label(v) for v in top.tolist()] + (["other"] if other else [])
    colours = [CATEGORICAL[i % len(CATEGORICAL)] for i in range(len(labels))]
    return Classes(field, "category", cls, labels, colours)


def _number_label(value) -> str:
    """A number as the legend shows it: whole numbers without decimals, others with at most 3."""
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.3g}" if abs(value) >= 1000 else f"{value:.3g}"


def commune_outlines(stations, communes=None, commune_field=None, communes_layer=None):
    """The outlines drawn and searched: ``communes`` read (:func:`read_communes`), else the stations' union.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``nom`` (the code where no name is known) and the geometry, in EPSG:4326.

    Raises
    ------
    InputError
        When ``communes`` holds none of the stations' communes (nor their city's, for
        Paris, Lyon and Marseille): a map of no commune would be drawn.
    """
    import shapely

    if communes is not None:
        from .read import read_communes
        from .scope import match_units

        station_codes = stations["code_commune"].dropna().astype(str).to_numpy(dtype=object)
        layer = read_communes(communes, commune_field, communes_layer, station_codes)
        out = layer.outlines[["code", "nom", "geometry"]]
        units = set(match_units(station_codes, out["code"])) - {None}
        if not units:
            raise InputError(_no_outline_message(station_codes, out["code"], layer.where))
        out = out[out["code"].isin(units)].to_crs(4326)
    else:
        codes = stations["code_commune"].fillna("").astype(str)
        names = stations["nom_commune"] if "nom_commune" in stations else pd.Series(None, index=stations.index)
        frame = stations.assign(code=codes, nom=names)[["code", "nom", stations.geometry.name]]
        frame = frame.set_geometry(shapely.make_valid(frame.geometry.values)).to_crs(4326)
        out = frame.dissolve(by="code", aggfunc="first", sort=True).reset_index()
        out = out[out["code"] != ""]
    out = out.reset_index(drop=True)
    out["nom"] = out["nom"].where(out["nom"].notna() & (out["nom"].astype(str) != ""), out["code"]).astype(str)
    return out


def _no_outline_message(station_codes, outline_codes, where: str) -> str:
    """The line refusing outlines that hold none of the stations' communes (as ``build`` says it)."""
    communes = pd.unique(pd.Series(station_codes, dtype=object))
    example = communes[0] if len(communes) else "none"
    looks = outline_codes.iloc[0] if len(outline_codes) else "none"
    return (f"none of the {len(communes):,} communes of the stations is in the {where} (e.g. {example}; its codes "
            f"look like {looks}); give the outlines of these communes with {option('communes')}, or name their "
            f"code field with {option('commune_field')}")


def commune_index(outlines) -> list:
    """The page's search index: each commune's code, name, folded name (:func:`search_key`) and bounds."""
    bounds = np.round(outlines.geometry.bounds.to_numpy(dtype=float), 6)
    keys = search_key(outlines["nom"])
    return [{"code": str(c), "name": str(n), "key": str(k), "bbox": b.tolist()}
            for c, n, k, b in zip(outlines["code"], outlines["nom"], keys, bounds)]


def tile_frame(stations, classes: Classes):
    """The stations as the tiles carry them, under fixed property names (whatever the field is called).

    ``id``, ``commune``, ``name``, ``cls`` (class number), ``value`` (the field's
    value, as text for categories) and the :data:`HOVER_FIELDS` the layer has.
    """
    import geopandas as gpd

    props = {"id": stations["id_bv"].astype(str), "commune": stations["code_commune"].fillna("").astype(str),
             "name": (stations["nom_commune"] if "nom_commune" in stations else stations["code_commune"])
             .fillna("").astype(str), "cls": classes.cls}
    if classes.field is not None:
        values = stations[classes.field]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric:
            floats = pd.to_numeric(values, errors="coerce").astype("float64")
            props["value"] = floats.where(np.isfinite(floats))
        else:
            props["value"] = values.astype("string").fillna("")
    for name in HOVER_FIELDS:
        if name in stations and name != classes.field and pd.api.types.is_numeric_dtype(stations[name]):
            props[name] = pd.to_numeric(stations[name], errors="coerce").astype("float64")
    return gpd.GeoDataFrame(props, geometry=stations.geometry.values, crs=stations.crs)


def write_tiles(frame, path, layer: str, min_zoom: int = MIN_ZOOM, max_zoom: int = MAX_ZOOM) -> None:
    """Write ``frame`` as a PMTiles archive of one layer (GDAL's PMTiles driver, EPSG:3857)."""
    import pyogrio

    pyogrio.write_dataframe(frame.to_crs(3857), str(path), layer=layer, driver="PMTiles",
                            dataset_options={"MINZOOM": str(min_zoom), "MAXZOOM": str(max_zoom), "NAME": layer})


def count_tiled(path, layer: str) -> int:
    """How many features of ``layer`` the archive holds, read back by pyogrio (at its highest zoom).

    A feature cut by tile edges comes back in pieces: they are counted once, by ``id``.
    """
    import pyogrio

    table = pyogrio.read_dataframe(str(path), layer=layer, columns=["id"] if layer == "stations" else ["code"],
                                   read_geometry=False)
    return int(table.iloc[:, 0].nunique())


def json_for_script(data) -> str:
    """JSON that can sit inside ``<script>``: ``<``, ``>``, ``&`` and the line separators escaped."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


@dataclass
class Site:
    """What :func:`write_site` wrote: the folder, the field and its classes, the counts read back."""

    folder: Path
    classes: Classes
    stations: int
    communes: int
    results: dict | None = None


def write_site(stations, output, communes=None, results=None, field=None, *, results_id=None, layer=None,
               communes_layer=None, commune_field=None, id_field=None, station_commune_field=None,
               min_zoom: int = MIN_ZOOM, max_zoom: int = MAX_ZOOM) -> Site:
    """Write a static web map of ``stations`` into the folder ``output``.

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        A station layer (any format ``build`` writes, or another tool's).
    output : str or pathlib.Path
        The site folder: new, empty, or a site written earlier (replaced whole).
    communes : str or pathlib.Path, optional
        Commune outlines, drawn on top and searched by name; default: the stations'
        union by commune, named by their ``nom_commune``.
    results : str or pandas.DataFrame, optional
        A results table joined onto the stations as ``build`` joins it (by station id).
    field : str, optional
        The field the stations are filled by (a field of the layer, or a column of
        ``results``); default: the first numeric results column, else ``colour``,
        ``n_addresses`` or ``confidence``. Few values (or text): one colour per value;
        else quantiles.
    results_id : str, optional
        The results' station-id column (detected).
    layer, communes_layer : str, optional
        The layer to read from a file of several.
    commune_field, id_field, station_commune_field : str, optional
        The outlines' commune-code field, the stations' id and commune fields (detected).
    min_zoom, max_zoom : int
        The zoom levels the tiles are cut for (:data:`MIN_ZOOM`, :data:`MAX_ZOOM`).

    Returns
    -------
    Site

    Raises
    ------
    InputError
        Unreadable inputs, an unknown ``field``, a folder that is not ours or holds an
        input, the vendored JavaScript missing (``make web-assets``), a disk error.
    """
    if not 0 <= min_zoom <= max_zoom <= 15:
        raise InputError(f"zoom levels {min_zoom}–{max_zoom}: give 0 ≤ {option('min_zoom')} ≤ "
                         f"{option('max_zoom')} ≤ 15")
    folder = check_site_folder(output, [stations, communes, results])
    vendor = vendor_folder()
    frame = load_stations(stations, layer, id_field, station_commune_field)
    stats, extra = None, []
    if results is not None:
        from .results import join_results

        before = set(frame.columns)
        frame, stats = join_results(frame, results, results_id)
        extra = [c for c in frame.columns if c not in before]
    classes = classify(frame[chosen] if (chosen := choose_field(frame, field, extra)) else frame.index.to_series(),
                       chosen)
    outlines = commune_outlines(frame, communes, commune_field, communes_layer)
    config = page_config(frame, classes, min_zoom, max_zoom, note=COLOUR_NOTE if field is None and chosen == "colour"
                         else None)
    with _new_folder(folder) as work:
        write_tiles(tile_frame(frame, classes), work / "stations.pmtiles", "stations", min_zoom, max_zoom)
        write_tiles(outlines[["code", "nom", "geometry"]], work / "communes.pmtiles", "communes", min_zoom, max_zoom)
        (work / "communes.json").write_text(json_for_script(commune_index(outlines)), encoding="utf-8")
        _write_page(work, vendor, config)
        n_stations, n_communes = count_tiled(work / "stations.pmtiles", "stations"), len(outlines)
    return Site(folder, classes, n_stations, n_communes, stats)


def page_config(frame, classes: Classes, min_zoom: int, max_zoom: int, note: str | None = None) -> dict:
    """The page's settings, inlined in ``index.html``: the field, its classes and colours, the map's bounds.

    ``fill`` is the stations' MapLibre ``fill-color`` (:func:`fill_expression`) and ``legend``
    what the legend shows (:func:`legend_of`; ``note``: a line shown instead of the value rows).
    """
    has_missing = bool((classes.cls < 0).any())
    return {"field": classes.field, "kind": classes.kind, "labels": classes.labels, "colours": classes.colours,
            "missing": MISSING_COLOUR, "minzoom": min_zoom, "maxzoom": max_zoom,
            "bounds": np.round(frame.to_crs(4326).total_bounds, 6).tolist(),
            "hover": [h for h in HOVER_FIELDS if h in frame and h != classes.field],
            "has_missing": has_missing, "fill": fill_expression(classes.colours),
            "legend": legend_of(classes, has_missing, note)}


def fill_expression(colours) -> str | list:
    """The stations' ``fill-color``: class ``i`` (the tiles' ``cls``) in ``colours[i]``, others grey.

    A ``match`` needs at least one label and output besides its input and fallback
    (MapLibre refuses ``["match", input, fallback]`` and draws nothing): with no
    class, every station is drawn in :data:`MISSING_COLOUR`, a plain colour.
    """
    if not len(colours):
        return MISSING_COLOUR
    pairs = [x for i, c in enumerate(colours) for x in (i, c)]
    return ["match", ["get", "cls"], *pairs, MISSING_COLOUR]


def legend_of(classes: Classes, has_missing: bool, note: str | None = None) -> dict:
    """The legend: a ``title``, a ``note`` (or None) and ``rows`` of (label, colour).

    With ``note`` (the default fill by ``colour``) the rows are left out: the colours
    tell neighbours apart and mean nothing else.
    """
    title = "Stations" if classes.field is None or note else str(classes.field)
    rows = [] if note else [[label, colour] for label, colour in zip(classes.labels, classes.colours)]
    if has_missing and not note:
        rows.append(["no value", MISSING_COLOUR])
    return {"title": title, "note": note, "rows": rows}


def _write_page(work: Path, vendor: Path, config: dict) -> None:
    """``index.html`` (the configuration inlined), the page's script and style, the vendored files."""
    here = Path(__file__).with_name("webassets")
    page = (here / "index.html").read_text(encoding="utf-8")
    (work / "index.html").write_text(page.replace("/*CONFIG*/{}", json_for_script(config)), encoding="utf-8")
    for name in PAGE_FILES[1:]:
        shutil.copyfile(here / name, work / name)
    (work / "vendor").mkdir()
    for name in VENDOR_FILES:
        shutil.copyfile(vendor / name, work / "vendor" / name)
    (work / MARKER).write_text("written by boundaries web; the folder is replaced whole by the next run\n",
                               encoding="utf-8")


@contextlib.contextmanager
def _new_folder(folder: Path):
    """A private folder beside ``folder``, renamed onto it when the block ends well, else removed.

    An earlier site at ``folder`` is moved aside first and removed once the new one is in place
    (put back if the rename fails): the folder is always the old site or the whole new one.
    """
    from .outputs import current_umask, reported

    parent = folder.absolute().parent
    with reported(folder, str(parent)):
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name[:40]}.", suffix=".tmp", dir=parent))
    try:
        with reported(folder, str(parent)):
            yield work
            for path in [work, *work.rglob("*")]:
                path.chmod((0o777 if path.is_dir() else 0o666) & ~current_umask())
            _swap(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _swap(work: Path, folder: Path) -> None:
    """Put ``work`` at ``folder``, the site there before (if any) removed only once that succeeded."""
    if not folder.exists():
        os.rename(work, folder)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name[:40]}.", suffix=".old", dir=folder.absolute().parent))
    os.rename(folder, old / "site")
    try:
        os.rename(work, folder)
    except OSError:
        os.rename(old / "site", folder)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
