"""Write station layers and reports: atomically, deterministically, in WGS84.

Every file is written to a temporary file in the destination folder and renamed
over the destination only once complete (``os.replace``), so a reader never sees
a half-written file and an interrupted run leaves the previous output intact
(:mod:`boundaries.outputs`: the private temporary, modes, sets of files, OS errors).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .errors import InputError, option
from .geometry import as_multipolygons, polygonal_parts
from .outputs import (TMP_MARKER, StreamedFile, atomic_path, defer, output_set, reported,  # noqa: F401 (the API)
                      staged_file)

#: Decimal places of longitude/latitude in GeoJSON output (RFC 7946 advises ~7: ≈ 1 cm).
GEOJSON_DECIMALS = 7

#: The grid outputs are rounded to (degrees): 7 decimals, about 1 cm.
OUTPUT_GRID = 10.0 ** -GEOJSON_DECIMALS


def output_timestamp() -> str:
    """The time stamped in outputs that hold one (GeoPackage ``last_change``, style ``update_time``).

    ``SOURCE_DATE_EPOCH`` (seconds, the reproducible-builds convention) when set, else
    2000-01-01T00:00:00Z: the same input gives the same bytes whenever it is built.
    """
    from datetime import datetime, timezone

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    seconds = int(epoch) if epoch.strip().isdigit() else 946_684_800
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@contextlib.contextmanager
def gdal_config(**options):
    """Set GDAL config options for the duration of the block, then restore them."""
    import pyogrio

    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


#: Output formats and the file extensions that choose them.
FORMATS = {
    "geojson": (".geojson", ".json"),
    "geojsonseq": (".geojsonl", ".geojsons", ".geojsonseq"),
    "gpkg": (".gpkg",),
    "fgb": (".fgb",),
    "parquet": (".parquet", ".geoparquet"),
}


#: Every extension an output may have.
SUFFIXES = frozenset(s for suffixes in FORMATS.values() for s in suffixes)


#: How ``split`` cuts the output into files.
SPLITS = ("commune", "departement")


def output_format(path: str, fmt: str | None = None) -> str:
    """The format of an output: ``fmt`` when given, else from ``path``'s extension.

    Standard output (``-``) takes ``geojson`` or ``geojsonseq`` only.
    """
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise InputError(f"{option('fmt', fmt)}: unknown format; choose one of {', '.join(FORMATS)}")
        if path == "-" and fmt not in ("geojson", "geojsonseq"):
            raise InputError(f"{option('fmt', fmt)} cannot be streamed to stdout; write a file, or use geojson/geojsonseq")
        return fmt
    if path == "-":
        return "geojson"
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    if str(path).endswith(("/", os.sep)) or Path(path).is_dir():
        raise InputError(f"output {path} is a folder; give a file name such as "
                         f"{Path(path) / 'stations.gpkg'}, or {option('split')} commune to write one file per "
                         "commune into the folder")
    known = ", ".join(s for suffixes in FORMATS.values() for s in suffixes)
    raise InputError(f"output {path}: unknown format {suffix or '(no extension)'!r}; use one of {known}, "
                     f"or {option('fmt')}")


def check_output_path(
    path: str, inputs: list[str] = (), what: str = "output", option: str = "-o",
    suffixes: tuple[str, ...] | None = None, folder: bool = False,
) -> None:
    """Fail early, before any work, if ``path`` cannot be written.

    ``what`` and ``option`` name the file and its option in messages; ``suffixes``
    are the accepted extensions (None accepts any); with ``folder``, ``path`` is a
    folder to write into (created if its parent exists). A device, a FIFO, a socket
    (or a symlink to one) is refused, in a split folder too, and so is a name too long
    for a file; an OS error met while looking (a path too long) is one line too.
    """
    if path == "-":
        return
    if not folder and str(path).endswith(("/", os.sep)):  # a folder to be: Path() drops the slash
        example = f"stations{suffixes[0]}" if suffixes else "stations.geojson"
        raise InputError(f"{what} {path} is a folder; give a file name such as {Path(path) / example}")
    with reported(path):
        _check_output_place(Path(path), what, option, suffixes, folder)
    for source in inputs:
        if source and source != "-" and Path(source).exists() and Path(path).exists() \
                and Path(path).resolve() == Path(source).resolve():
            raise InputError(f"{what} {path} is also an input; choose another {option} path")


def _check_output_place(p: Path, what: str, flag: str, suffixes, folder: bool) -> None:
    """:func:`check_output_path`'s checks of the place itself (``flag``: the option, for messages)."""
    from .outputs import check_name_length, refuse_special, special_kind

    stdout_ok = what == "output" and not folder
    refuse_special(p, what, flag, stdout_ok=stdout_ok)
    if folder:
        if p.exists() and not p.is_dir():
            raise InputError(f"{what} {p} is a file; {option('split')} writes a folder: give a folder path")
        parent = p if p.is_dir() else (p.parent if str(p.parent) else Path("."))
        if p.is_dir():  # the files a split may replace: its codes' files, index.csv, report.json
            for entry in p.iterdir():
                if (entry.suffix.lower() in SUFFIXES or entry.name in ("index.csv", "report.json")) \
                        and special_kind(entry):
                    raise InputError(f"{what} {p} holds {entry.name}, {special_kind(entry)} that a file of "
                                     f"{option('split')} would replace; remove it, or give the split another folder")
    else:
        if p.is_dir():  # before the extension: a folder has none, and "unknown format ''" does not say why
            example = f"stations{suffixes[0]}" if suffixes else "stations.geojson"
            raise InputError(f"{what} {p} is a folder; give a file name such as {p / example}")
        if suffixes and p.suffix.lower() not in suffixes:
            raise InputError(f"{what} {p}: unknown format {p.suffix!r}; use one of {', '.join(suffixes)}")
        parent = p.parent if str(p.parent) else Path(".")
        check_name_length(p, what)
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{what} folder {parent} is a file, not a folder; choose another {flag} path")
    if not parent.is_dir():
        raise InputError(f"{what} folder {parent} does not exist; create it first (mkdir -p {parent})")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{what} folder {parent} is not writable; choose another {flag} path")


def to_wgs84(gdf, *, repair: bool = True):
    """Reproject to EPSG:4326 and round to the GeoJSON grid, keeping shapes valid for every client.

    Coordinates are rounded point by point, so a border shared by two stations
    stays identical in both; the rare polygon that rounding makes invalid is
    snap-rounded instead (``set_precision``), which keeps it valid. A commune whose
    stations rounding left as they were (already on the grid: a layer read back
    from an output) is not checked again. Last, the vertices that rounding made
    equal to the one before are dropped (:func:`on_grid_clean`): GEOS accepts them,
    QGIS's own validator (the one it uses while editing) reports each one. Every
    polygon comes out a MultiPolygon (:func:`boundaries.geometry.as_multipolygons`):
    one geometry type per layer, in every format.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygons in any CRS.
    repair : bool, default True
        False (``boundaries refresh``): only what the grid needs. No commune's
        stations are snapped back into one coverage, and a geometry invalid as
        given is rounded point by point and left invalid, for the check to report
        (see :func:`boundaries.refresh.refresh`).

    Returns
    -------
    geopandas.GeoDataFrame
    """
    out = gdf.to_crs("EPSG:4326")
    grid = OUTPUT_GRID
    before = out.geometry.values.to_numpy()
    geoms = shapely.set_precision(before, grid, mode="pointwise")
    moved = ~shapely.equals_exact(before, geoms, tolerance=0.0)
    # an empty polygon comes back LINEARRING EMPTY, which the coverage functions refuse
    geoms[shapely.is_empty(geoms)] = shapely.MultiPolygon()
    given_invalid = None if repair else ~shapely.is_valid(before) & ~shapely.is_missing(before)
    invalid = ~shapely.is_valid(geoms) if repair else ~shapely.is_valid(geoms) & ~given_invalid
    if invalid.any():
        # "structure" keeps polygons polygonal (no stray lines of a collapsed spike: a
        # GeometryCollection that the coverage clean-up below would refuse)
        fixed = shapely.make_valid(out.geometry.values.to_numpy()[invalid], method="structure", keep_collapsed=False)
        geoms[invalid] = polygonal_parts(shapely.set_precision(fixed, grid))
        moved |= invalid
    if repair and "code_commune" in out.columns and moved.any():
        _clean_communes(geoms, moved, out.groupby("code_commune", sort=False).indices.values())
    out = out.set_geometry(as_multipolygons(on_grid_clean(geoms, given_invalid)), crs="EPSG:4326")
    if "n_parts" in out.columns:  # rounding can join two parts that touched at a corner
        out["n_parts"] = shapely.get_num_geometries(out.geometry.values.to_numpy())
    return out


def _clean_communes(geoms: np.ndarray, moved: np.ndarray, groups) -> None:
    """Snap each commune's rounded stations back into a clean coverage on the grid, in place.

    Two vertices a hair apart may round to neighbouring grid points; ``groups`` are
    the row indices of each commune.
    """
    grid = OUTPUT_GRID
    for idx in groups:
        part = geoms[idx]
        if len(part) > 1 and moved[idx].any() and not shapely.coverage_is_valid(part):
            try:
                cleaned = shapely.coverage_clean(part, snapping_distance=4 * grid)
            except shapely.errors.GEOSException:  # left as rounded: valid, a hair off a coverage
                continue
            cleaned = shapely.set_precision(cleaned, grid, mode="pointwise")
            if shapely.is_valid(cleaned).all() and shapely.coverage_is_valid(cleaned):
                geoms[idx] = cleaned


def on_grid_clean(geoms: np.ndarray, keep=None) -> np.ndarray:
    """Geometries on the output grid without a repeated consecutive vertex or a ring collapsed on the grid.

    Exact repeats only (tolerance 0): a border shared by two stations has the same
    vertices on both sides, so both lose the same ones and stay one coverage. A
    geometry this leaves invalid (a ring or part that rounding flattened to a line)
    is snap-rounded (``set_precision``'s default mode drops what collapses), and
    emptied geometries keep their empty polygon.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries on the grid :data:`OUTPUT_GRID`.
    keep : numpy.ndarray of bool, optional
        Geometries never snap-rounded (invalid as given: left so, for a check to report).

    Returns
    -------
    numpy.ndarray
        New array; the input is not changed.
    """
    out = shapely.remove_repeated_points(geoms, 0.0)
    bad = ~shapely.is_valid(out) & ~shapely.is_missing(out)
    if keep is not None:
        bad &= ~keep
    if bad.any():
        out[bad] = shapely.remove_repeated_points(
            polygonal_parts(shapely.set_precision(geoms[bad], OUTPUT_GRID)), 0.0)
    return out


#: Key of the version stamp in outputs (GeoJSON member, GDAL metadata item, Parquet metadata).
METADATA_KEY = "boundaries"


def metadata_json() -> str:
    """:func:`boundaries.schema.output_metadata` as one line of JSON text."""
    from .schema import output_metadata

    return json.dumps(output_metadata(), ensure_ascii=False)


def _write_geoparquet(gdf, path: str, metadata: dict) -> None:
    """Write GeoParquet (WKB, snappy, as ``GeoDataFrame.to_parquet``) with extra file metadata.

    ``to_parquet`` cannot add a key-value pair beside ``geo``: the table it would
    write is made by geopandas' own helper, and given the extra keys. Should that
    private helper change, the file is written by ``to_parquet`` and rewritten with
    the keys added (same content, one more write).
    """
    import pyarrow.parquet as pq

    extra = {k.encode(): v.encode() for k, v in metadata.items()}
    try:
        from geopandas.io.arrow import _geopandas_to_arrow

        table = _geopandas_to_arrow(gdf, index=False, geometry_encoding="WKB", write_covering_bbox=False)
    except (ImportError, TypeError):
        gdf.to_parquet(path, index=False, geometry_encoding="WKB", write_covering_bbox=False)
        table = pq.read_table(path)
    # our own file object: pyarrow keeps its file open when a write fails (a full disk), we close it
    with open(path, "wb") as f:
        pq.write_table(table.replace_schema_metadata({**_version_free(table.schema.metadata or {}), **extra}), f,
                       compression="snappy")


def _version_free(metadata: dict) -> dict:
    """The schema metadata without what names the versions of the libraries that wrote it.

    Same input, same bytes: pandas' own key (its version, of no use with no index) is
    dropped, and geopandas' ``creator`` (its version) from ``geo``; ours says who wrote it.
    """
    out = {k: v for k, v in metadata.items() if k != b"pandas"}
    if b"geo" in out:
        geo = json.loads(out[b"geo"])
        geo.pop("creator", None)
        out[b"geo"] = json.dumps(geo).encode()
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
    write_stations(gdf, path, "geojson")


def write_stations(gdf, path: str, fmt: str | None = None, communes=None, style_qml: str | None = "auto",
                   dropped=None, enclaves=None, *, repair: bool = True) -> None:
    """Write a station layer in any output format, atomically, in WGS84.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The stations, in any CRS (reprojected to WGS84, rounded to 7 decimals).
    path : str
        Destination file, or ``-`` for standard output (``geojson``/``geojsonseq``).
    fmt : str, optional
        One of :data:`FORMATS`; from ``path``'s extension when not given.
    communes : geopandas.GeoDataFrame, optional
        ``gpkg`` only: the outlines used, written as a second layer ``communes``.
    style_qml : str, optional
        ``gpkg`` only: a QGIS style stored as the ``stations`` layer's default style;
        ``"auto"`` (the default) stores :func:`boundaries.style.qml_style` when the
        layer has the ``colour`` and ``numero_bv`` fields, None stores none. With a
        station style, the ``communes`` and ``dropped`` layers get theirs too
        (:func:`boundaries.style.communes_qml_style`, :func:`boundaries.style.dropped_qml_style`).
    dropped : geopandas.GeoDataFrame, optional
        ``gpkg`` only: the dropped addresses (:func:`boundaries.dropped.dropped_rows`),
        written as a layer ``dropped``.
    enclaves : geopandas.GeoDataFrame, optional
        ``gpkg`` only: the moved address clusters (:func:`boundaries.enclaves.enclave_points`),
        written as a layer ``enclaves``.
    repair : bool, default True
        As for :func:`to_wgs84` (False: only what the grid needs, for ``refresh``).

    Notes
    -----
    Every format but ``geojsonseq`` carries :func:`boundaries.schema.output_metadata`
    (the tool's and the schema's versions) as noted below. String properties stay
    strings (GDAL would otherwise write a value such as ``[1, 2]`` as JSON).

    - ``geojson``: RFC 7946 (no ``crs`` member, counter-clockwise exteriors); the
      foreign member ``"boundaries": {"version": ..., "schema": ...}``.
    - ``geojsonseq``: one RFC 7946 feature per line (``.geojsons``: RFC 8142
      record separators), for ``jq`` and ``ogr2ogr /vsistdin/``; no version stamp
      (there is no place for one).
    - ``gpkg``: GeoPackage 1.2 (read by older GDAL and QGIS without warnings); the
      stamp, as JSON text, in the dataset metadata item ``boundaries``
      (``gpkg_metadata``, time stamp fixed as ``last_change``'s).
    - ``fgb``: FlatGeobuf with its spatial index (features in the index's order);
      the stamp in the layer metadata item ``boundaries`` (the header's metadata).
    - ``parquet``: GeoParquet (WKB geometry, written by pyarrow); the stamp in the
      file's key-value metadata ``boundaries``, beside ``geo``.
    """
    fmt = output_format(path, fmt)
    wgs = to_wgs84(gdf, repair=repair)
    meta = metadata_json()
    if fmt in ("geojson", "geojsonseq"):
        _write_geojson_text(wgs, path, fmt, meta)
        return
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            _write_geoparquet(wgs, tmp, {METADATA_KEY: meta})
        elif fmt == "fgb":
            _write_flatgeobuf(wgs, tmp, meta)
        else:
            _write_geopackage(wgs, tmp, meta, communes, style_qml, dropped, enclaves)


def _geojson_layer_options(path: str, fmt: str, meta: str) -> dict:
    """GDAL layer options of a ``geojson`` or ``geojsonseq`` output (see :func:`write_stations`)."""
    if fmt == "geojson":
        return {"RFC7946": "YES", "WRITE_NAME": "NO", "AUTODETECT_JSON_STRINGS": "NO",
                "FOREIGN_MEMBERS_COLLECTION": f'{{"{METADATA_KEY}": {meta}}}'}
    # GeoJSONSeq honours AUTODETECT_JSON_STRINGS without listing it: GDAL warns
    return {"RS": "YES" if str(path).lower().endswith(".geojsons") else "NO", "AUTODETECT_JSON_STRINGS": "NO"}


def _write_geojson_text(wgs, path: str, fmt: str, meta: str) -> None:
    """Write GeoJSON or GeoJSONSeq to ``path`` atomically, or to standard output when ``path`` is ``-``.

    Parameters
    ----------
    wgs : geopandas.GeoDataFrame
        The stations, already in WGS84 and rounded (:func:`to_wgs84`).
    path : str
        Destination file, or ``-``.
    fmt : str
        ``geojson`` or ``geojsonseq``.
    meta : str
        :func:`metadata_json` (``geojson`` only carries it).
    """
    import pyogrio

    driver = "GeoJSON" if fmt == "geojson" else "GeoJSONSeq"
    options = _geojson_layer_options(path, fmt, meta)

    def write(tmp):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "dataset .* does not support layer creation option "
                                    "AUTODETECT_JSON_STRINGS", RuntimeWarning)
            pyogrio.write_dataframe(wgs, tmp, driver=driver, layer_options=options)

    if path == "-":
        # GDAL writes files: write one in a private folder, then copy its bytes out (at
        # the end of the output set, if one is open: after the files it writes)
        streamed = StreamedFile(os.path.join(tmpdir := tempfile.mkdtemp(prefix="boundaries-"), "stations.json"),
                                tmpdir)
        try:
            write(streamed.tmp)
        except BaseException:
            streamed.discard()
            raise
        if not defer(streamed):
            try:
                streamed.commit()
            finally:
                streamed.discard()
        return
    with atomic_path(path) as tmp:
        write(tmp)


def _write_flatgeobuf(wgs, tmp: str, meta: str) -> None:
    """Write FlatGeobuf with its spatial index, the stamp in the layer metadata."""
    import pyogrio

    # the layer named, not taken from the (random) temporary file name
    pyogrio.write_dataframe(wgs, tmp, layer="stations", driver="FlatGeobuf",
                            layer_options={"SPATIAL_INDEX": "YES"}, layer_metadata={METADATA_KEY: meta})


def _write_geopackage(wgs, tmp: str, meta: str, communes, style_qml: str | None, dropped=None,
                      enclaves=None) -> None:
    """Write a GeoPackage 1.2: ``stations``, optionally ``communes``, ``dropped`` and ``enclaves``, and their QGIS styles.

    Parameters
    ----------
    wgs : geopandas.GeoDataFrame
        The stations in WGS84 (:func:`to_wgs84`).
    tmp : str
        The (temporary) file to write.
    meta : str
        :func:`metadata_json`, stored as the dataset metadata item ``boundaries``.
    communes : geopandas.GeoDataFrame or None
        Outlines written as a second layer ``communes``.
    style_qml : str or None
        As for :func:`write_stations` (``"auto"``, a QML document, or None). With a
        station style, ``communes`` gets :func:`boundaries.style.communes_qml_style`.
    dropped : geopandas.GeoDataFrame or None
        The dropped addresses, written as a layer ``dropped`` (:mod:`boundaries.dropped`).
    enclaves : geopandas.GeoDataFrame or None
        The moved address clusters, written as a layer ``enclaves`` (:mod:`boundaries.enclaves`).
    """
    import pyogrio

    gpkg = {"driver": "GPKG", "dataset_options": {"VERSION": "1.2"}}
    stamp = output_timestamp()
    # gpkg_contents.last_change and gpkg_metadata_reference.timestamp: not the clock
    with gdal_config(OGR_CURRENT_DATE=stamp):
        pyogrio.write_dataframe(wgs, tmp, layer="stations", dataset_metadata={METADATA_KEY: meta}, **gpkg)
        if communes is not None:
            pyogrio.write_dataframe(to_wgs84(communes), tmp, layer="communes", append=True, **gpkg)
        if dropped is not None:
            from .dropped import append_layer

            append_layer(dropped, tmp)
        if enclaves is not None:
            from .enclaves import append_layer as append_enclaves

            append_enclaves(enclaves, tmp)
    style_qml = _station_style(wgs, style_qml)
    if style_qml:
        from .style import communes_qml_style, dropped_qml_style, enclaves_qml_style, write_gpkg_style

        write_gpkg_style(tmp, "stations", style_qml, timestamp=stamp)
        if communes is not None and {"code", "nom"} <= set(communes.columns):
            # without it QGIS fills the outlines with an opaque random colour, over the stations
            write_gpkg_style(tmp, "communes", communes_qml_style(), timestamp=stamp,
                             description="boundaries: commune outlines, no fill, labelled by name")
        if dropped is not None:
            write_gpkg_style(tmp, "dropped", dropped_qml_style(), timestamp=stamp,
                             description="boundaries: addresses not used, one cross each")
        if enclaves is not None:
            write_gpkg_style(tmp, "enclaves", enclaves_qml_style(), timestamp=stamp,
                             description="boundaries: address clusters inside another station's polygon, one ring each")


def _station_style(wgs, style_qml: str | None) -> str | None:
    """The QML to store: ``"auto"`` means :func:`boundaries.style.qml_style` when the fields it styles exist."""
    if style_qml != "auto":
        return style_qml
    if {"colour", "numero_bv"} <= set(wgs.columns):
        from .style import qml_style

        return qml_style()
    return None


def write_split(gdf, folder: str, by: str, fmt: str = "geojson", communes=None, style_qml: str | None = "auto"):
    """Write one file per commune or département into ``folder``, then ``index.csv``.

    Files are named by the unit's code (``94028.geojson``, ``94.gpkg``); the index
    lists, per file, the unit's code and name, its stations and the file's size and
    SHA-256, sorted by code. The files and the index are written as one
    :func:`boundaries.outputs.output_set`: all complete before any is renamed into
    the folder, the index last, so an index always describes complete files and a
    failure (a full disk) leaves the folder as it was.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Stations with ``code_commune`` and ``code_departement``.
    folder : str
        Destination folder (created if missing, and removed again if the split fails
        and leaves it empty; its parent must exist).
    by : {"commune", "departement"}
    fmt : str
        One of :data:`FORMATS` (not streamed).
    communes : geopandas.GeoDataFrame, optional
        Outlines for the GeoPackage ``communes`` layer (``code``), split alike.
    """
    field = "code_commune" if by == "commune" else "code_departement"
    _check_split_codes(gdf[field], by)  # before any file: a code names a file, and must stay inside the folder
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(exist_ok=True)
    try:
        with output_set():
            rows = _write_split_files(gdf, folder, by, fmt, communes, style_qml)
            index = pd.DataFrame(rows, columns=[by, "nom", "file", "stations", "bytes", "sha256"])
            with atomic_path(folder / "index.csv") as tmp:
                spreadsheet_safe(index).to_csv(tmp, index=False, lineterminator="\n")
    except BaseException:
        if created:
            with contextlib.suppress(OSError):  # only when empty: nothing of anyone else's is removed
                folder.rmdir()
        raise
    return index


def _write_split_files(gdf, folder: Path, by: str, fmt: str, communes, style_qml) -> list[dict]:
    """Write the files of :func:`write_split` (staged in the open output set); the index's rows."""
    import hashlib

    from . import codes

    field = "code_commune" if by == "commune" else "code_departement"
    names = "nom_commune" if by == "commune" else "nom_departement"
    ext = FORMATS[fmt][0]
    rows = []
    for code, part in gdf.groupby(field, sort=True):
        path = folder / f"{code}{ext}"
        outl = None
        if communes is not None and len(communes):
            unit = communes["code"] if by == "commune" else pd.Series(codes.departement_of(
                communes["code"].to_numpy(dtype=object)), index=communes.index)
            outl = communes[(unit == code).to_numpy()]
        write_stations(part, str(path), fmt, communes=outl, style_qml=style_qml)
        data = Path(staged_file(path)).read_bytes()  # still staged: the set renames it at its end
        name = part[names].dropna()
        rows.append({by: code, "nom": name.iloc[0] if len(name) else "", "file": path.name,
                     "stations": len(part), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return rows


#: First characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(df):
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas: a cell starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's advice for
    CSV files opened in Excel or LibreOffice); numbers are left as they are."""
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            text = values.astype("string")
            risky = text.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[col] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out


def _check_split_codes(values, by: str) -> None:
    """Refuse a split whose file names would not be plain codes: a hostile or broken code (``../x``,
    ``/etc``, a newline, an empty one) must never name a path, and no station may be left out."""
    from . import codes

    valid = codes.is_commune_code if by == "commune" else codes.is_departement_code
    for code in pd.unique(values.to_numpy(dtype=object)):
        if not (isinstance(code, str) and valid(code)):
            shown = "no code" if code is None or code != code else f"the code {code!r}"
            raise InputError(
                f"{option('split', by)}: a station has {shown}, which cannot name a file (a "
                f"{'five-character INSEE commune code such as 94028' if by == 'commune' else 'département code such as 94'}"
                f" is needed); correct the codes of the input, or write one file without {option('split')}"
            )


def default_report_path(output: str) -> str:
    """Where the report of ``output`` goes: ``stations.geojson`` → ``stations.report.json``.

    A folder (``--split``) gets ``report.json`` inside it.
    """
    p = Path(output)
    if p.is_dir() or not p.suffix:
        return str(p / "report.json")
    if p.suffix.lower() in {s for suffixes in FORMATS.values() for s in suffixes}:
        return str(p.with_suffix("")) + ".report.json"
    return output + ".report.json"


def write_json(data: dict, path: str) -> None:
    """Write a JSON document atomically, keys in their order, laid out by :func:`boundaries.report.json_text`."""
    from .report import json_text

    text = json_text(data) + "\n"
    with atomic_path(path, suffix=".json") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
