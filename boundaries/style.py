"""QGIS styles for station and commune layers, and storing them inside a GeoPackage.

A GeoPackage can carry its own QGIS style: QGIS reads the table ``layer_styles``
(the schema QGIS itself creates, shared with its PostGIS and SpatiaLite
providers) and applies the row marked ``useAsDefault`` for a layer as soon as the
layer is opened — it wins over a sidecar ``.qml`` file. This module writes that
style with nothing but the standard library (``sqlite3`` and string templates),
so neither QGIS nor GDAL is needed to produce it.

What QGIS 3.22 (Debian 12's 3.22.16 with GDAL 3.6.2) was found to require, by
experiment (a row was altered one field at a time and the file reopened in QGIS):

* ``f_table_schema`` must be the empty string: QGIS selects styles with
  ``f_table_schema='' AND f_table_name=<layer> AND f_geometry_column=<column>``,
  so a NULL schema hides the style (a NULL catalog does not matter; we write
  ``''`` for both, as QGIS does).
* ``f_geometry_column`` must name the layer's geometry column as registered in
  ``gpkg_geometry_columns`` (``geom`` for GDAL/pyogrio output), so it is read
  from the file rather than assumed.
* ``useAsDefault = 1`` picks the style; without any default, QGIS falls back to
  the row with the latest ``update_time`` and ignores rows whose time is NULL.
* Registration in ``gpkg_contents`` is not strictly needed by QGIS 3.22: GDAL
  lists unregistered tables too (``LIST_ALL_TABLES=AUTO``), but hides them with
  ``LIST_ALL_TABLES=NO``. QGIS registers the table itself
  (``data_type='attributes'``, ``srs_id=0``), and so do we. No
  ``gpkg_extensions`` row is involved.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from xml.sax.saxutils import quoteattr

#: Fill colours for colour indices 0, 1, 2, …: ColorBrewer's qualitative "Pastel1"
#: (Cynthia Brewer, colorbrewer2.org), its first eight colours. They are of similar
#: lightness and saturation, so no colour draws the eye more than another — the
#: colour only tells touching stations apart; the rare indices 6 and 7 must not
#: stand out — and light enough for dark labels and outlines on top.
PALETTE: tuple[str, ...] = (
    "#FBB4AE",  # pastel red
    "#B3CDE3",  # pastel blue
    "#CCEBC5",  # pastel green
    "#DECBE4",  # pastel purple
    "#FED9A6",  # pastel orange
    "#FFFFCC",  # pastel yellow
    "#E5D8BD",  # pastel brown
    "#FDDAEC",  # pastel pink
)
#: Fill for any colour index beyond the palette (or missing): Pastel1's ninth, a pale grey.
OTHER_COLOUR = "#F2F2F2"
#: Station outlines: dark grey, 0.3 mm.
OUTLINE_COLOUR = "#333333"
OUTLINE_WIDTH_MM = 0.3
#: Commune outlines: near black, 0.6 mm, twice the stations' so a commune border reads as one.
COMMUNE_OUTLINE_COLOUR = "#1A1A1A"
COMMUNE_OUTLINE_WIDTH_MM = 0.6
#: Dropped addresses: dark red crosses, seen over any pastel fill.
DROPPED_COLOUR = "#B2182B"

#: The ring of a moved address cluster in the ``enclaves`` layer (dark blue: apart from the crosses).
ENCLAVE_COLOUR = "#2166AC"

#: Scale denominator at which station labels switch: zoomed out beyond 1:25,000 (a whole
#: commune or more on screen) a label names its commune (``Villebrune 0002``), zoomed in it
#: is the number alone (``0002``), the commune being obvious there.
STATION_DETAIL_SCALE = 25_000
#: Beyond 1:60,000 (a département on screen) station labels are hidden: there they crowd out
#: the commune names, the only labels readable at that scale.
STATION_LABEL_MAX_SCALE = 60_000
#: Commune names are shown from the widest view down to 1:5,000 (street level, where the
#: name at the commune's centre is rarely on screen and would hide station labels).
COMMUNE_LABEL_MIN_SCALE = 5_000

#: Columns of QGIS's ``layer_styles`` table, in QGIS's order.
LAYER_STYLES_COLUMNS: tuple[str, ...] = (
    "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
    "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time",
)

# The DDL QGIS 3.22 produces (through GDAL) when it saves a style into a GeoPackage.
_LAYER_STYLES_DDL = (
    'CREATE TABLE IF NOT EXISTS "layer_styles" ('
    ' "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,'
    ' "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256),'
    ' "f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT,'
    ' "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),'
    " \"update_time\" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)


def _rgba(hex_colour: str) -> str:
    """``"#RRGGBB"`` → QGIS's ``"r,g,b,255"``."""
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _fill_symbol(name: str, colour: str | None, outline: str = OUTLINE_COLOUR,
                 width_mm: float = OUTLINE_WIDTH_MM) -> str:
    """One QGIS simple-fill symbol (no fill when ``colour`` is None), in both the 3.x ``Option`` map and
    the older ``prop`` form."""
    props = {
        "color": _rgba(colour or "#000000"),
        "style": "solid" if colour else "no",
        "outline_color": _rgba(outline),
        "outline_style": "solid",
        "outline_width": f"{width_mm:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel" if colour else "round",
        "offset": "0,0",
        "offset_unit": "MM",
    }
    options = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in props.items())
    legacy = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    return (
        f'<symbol type="fill" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
        f'<Option type="Map">{options}</Option>{legacy}'
        f"</layer></symbol>"
    )


def _field(name: str) -> str:
    """A field reference in a QGIS expression: ``"name"``, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def _qml(renderer: str, labeling: str) -> str:
    """A QML document holding a renderer and a labeling (both XML elements)."""
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.16" styleCategories="Symbology|Labeling" labelsEnabled="1">\n'
        f"{renderer}\n{labeling}\n</qgis>\n"
    )


def category_labels() -> list[str]:
    """Legend labels of the station style's categories: ``colour 0`` … ``colour 7``, then the rest.

    They name the value of the ``colour`` field, so the legend reads as the
    attribute table and a filter such as ``"colour" = 3`` finds what the legend shows.
    """
    return [f"colour {i}" for i in range(len(PALETTE))] + [f"colour {len(PALETTE)}+ or none"]


def qml_style(colour_field: str = "colour", label_field: str = "numero_bv",
              commune_fields: tuple[str, str] | None = ("nom_commune", "code_commune")) -> str:
    """A QGIS style (QML) for a station layer: one fill colour per colour index, labelled by station number.

    The renderer is *categorized* on ``colour_field``, an integer colour index
    ``0 … k-1`` chosen so that touching stations differ: index ``i`` is filled
    with ``PALETTE[i]``, any other value (beyond the palette, or missing) with
    ``OTHER_COLOUR``; the legend reads ``colour 0`` … (:func:`category_labels`).
    Every station has a dark outline. Labels (rule-based, by scale) show
    ``label_field`` when zoomed in to 1:``STATION_DETAIL_SCALE`` or closer, and
    the commune's name (or code, when the name is empty) before it when zoomed
    out (to 1:``STATION_LABEL_MAX_SCALE``; none beyond), so that a label such as
    ``0012``, repeated in every commune, still says which station it is.

    Parameters
    ----------
    colour_field : str, default "colour"
        Integer attribute holding the colour index of each station.
    label_field : str, default "numero_bv"
        Attribute shown as the label: the station number within its commune
        (a string such as ``"0012"``). Pass ``"id_bv"`` and ``commune_fields=None``
        for layers without ``numero_bv`` (the label then includes the commune
        code, e.g. ``"75056_0012"``). A field absent from the layer gives no labels
        but is not an error in QGIS.
    commune_fields : (str, str) or None, default ("nom_commune", "code_commune")
        The commune's name and code fields, put before ``label_field`` at small
        scales; None labels with ``label_field`` at every scale.

    Returns
    -------
    str
        The QML document, readable by QGIS 3.22 and later (``loadNamedStyle``,
        a sidecar ``<name>.qml``, or the ``styleQML`` column of ``layer_styles``).

    Examples
    --------
    >>> qml = qml_style()
    >>> 'type="categorizedSymbol"' in qml and 'labelsEnabled="1"' in qml
    True
    """
    labels = category_labels()
    # value="" is QGIS's "all other values" category.
    values = [str(i) for i in range(len(PALETTE))] + [""]
    categories = "".join(f'<category render="true" value="{v}" symbol="{i}" label={quoteattr(lab)}/>'
                         for i, (v, lab) in enumerate(zip(values, labels)))
    symbols = "".join(_fill_symbol(str(i), c) for i, c in enumerate(PALETTE + (OTHER_COLOUR,)))
    renderer = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(colour_field)} symbollevels="0"'
                ' forceraster="0" enableorderby="0">'
                f"<categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2>")
    return _qml(renderer, _station_labeling(label_field, commune_fields))


def communes_qml_style(name_field: str = "nom", code_field: str = "code") -> str:
    """A QGIS style (QML) for the ``communes`` layer: outlines only, labelled with the commune's name.

    No fill (the stations below stay visible), a ``COMMUNE_OUTLINE_COLOUR``
    outline of ``COMMUNE_OUTLINE_WIDTH_MM`` mm, and the commune's name — its code
    when the name is empty, as with outlines that carry none — in italics, shown
    from the widest view down to 1:``COMMUNE_LABEL_MIN_SCALE``.

    Parameters
    ----------
    name_field, code_field : str
        The commune layer's name and code fields (``nom`` and ``code`` in our output).

    Returns
    -------
    str
        The QML document (see :func:`qml_style`).
    """
    symbol = _fill_symbol("0", None, COMMUNE_OUTLINE_COLOUR, COMMUNE_OUTLINE_WIDTH_MM)
    renderer = (f'<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">'
                f"<symbols>{symbol}</symbols></renderer-v2>")
    expression = f"coalesce(nullif({_field(name_field)}, ''), {_field(code_field)})"
    settings = _label_settings(expression, size=10, italic=True, priority=8,
                               scales=(COMMUNE_LABEL_MIN_SCALE, 0))
    return _qml(renderer, f'<labeling type="simple">{settings}</labeling>')


#: The fill of each status of ``crosswalk --layer`` (grey where nothing changed, warm where voters moved).
STATUS_COLOURS = {"unchanged": "#d9d9d9", "redrawn": "#fdae61", "split": "#d7191c", "merged": "#2c7bb6",
                  "new": "#1a9641"}


def crosswalk_qml_style() -> str:
    """A QGIS style (QML) for ``crosswalk --layer``: one fill per ``status``, labelled by ``id_bv``.

    Returns
    -------
    str
        The QML document (see :func:`qml_style`).
    """
    categories = "".join(f'<category render="true" value={quoteattr(v)} symbol="{i}" label={quoteattr(v)}/>'
                         for i, v in enumerate(STATUS_COLOURS))
    symbols = "".join(_fill_symbol(str(i), c) for i, c in enumerate(STATUS_COLOURS.values()))
    renderer = ('<renderer-v2 type="categorizedSymbol" attr="status" symbollevels="0" forceraster="0" '
                f'enableorderby="0"><categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2>')
    return _qml(renderer, _station_labeling("id_bv", None))


def dropped_qml_style() -> str:
    """A QGIS style (QML) for the ``dropped`` layer: a small dark-red cross per address not used.

    Without a style QGIS draws the points in a random colour, often one of the
    stations' fills; a thin cross stays visible over any fill and hides nothing.

    Returns
    -------
    str
        The QML document (see :func:`qml_style`), without labels.
    """
    return _marker_style("cross2", DROPPED_COLOUR, DROPPED_COLOUR, 1.6)


def enclaves_qml_style() -> str:
    """A QGIS style (QML) for the ``enclaves`` layer: a hollow dark-blue ring per moved address cluster.

    Distinct from the dropped addresses' crosses: these rows were used, and now lie in
    another station's polygon (see :mod:`boundaries.enclaves`).

    Returns
    -------
    str
        The QML document (see :func:`qml_style`), without labels.
    """
    return _marker_style("circle", None, ENCLAVE_COLOUR, 2.4)


def _marker_style(shape: str, fill: str | None, outline: str, size_mm: float) -> str:
    """A single-symbol point style: ``shape`` (a QGIS SimpleMarker name), ``size_mm`` wide, 0.3 mm stroke; no fill: hollow."""
    props = {"name": shape, "color": _rgba(fill) if fill else "0,0,0,0", "outline_color": _rgba(outline),
             "outline_width": "0.3", "outline_width_unit": "MM", "size": f"{size_mm:g}", "size_unit": "MM",
             "angle": "0", "offset": "0,0", "offset_unit": "MM", "scale_method": "diameter"}
    options = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in props.items())
    legacy = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    symbol = ('<symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">'
              f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0"><Option type="Map">{options}</Option>'
              f"{legacy}</layer></symbol>")
    renderer = (f'<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">'
                f"<symbols>{symbol}</symbols></renderer-v2>")
    return _qml(renderer, "").replace('labelsEnabled="1"', 'labelsEnabled="0"')


def _station_labeling(label_field: str, commune_fields: tuple[str, str] | None) -> str:
    """Rule-based labeling of the stations: ``label_field`` zoomed in, commune and number zoomed out."""
    if commune_fields is None:
        return f'<labeling type="simple">{_label_settings(label_field, is_expression=False)}</labeling>'
    name, code = (_field(f) for f in commune_fields)
    wide = f"coalesce(nullif({name}, ''), {code}) || ' ' || {_field(label_field)}"
    # fixed rule keys (QGIS would draw random UUIDs): the file stays reproducible
    rules = (
        f'<rule key="{{boundaries-stations-zoomed-in}}" description="zoomed in: number"'
        f' scalemindenom="0" scalemaxdenom="{STATION_DETAIL_SCALE}">'
        f'{_label_settings(label_field, is_expression=False)}</rule>'
        f'<rule key="{{boundaries-stations-zoomed-out}}" description="zoomed out: commune and number"'
        f' scalemindenom="{STATION_DETAIL_SCALE}" scalemaxdenom="{STATION_LABEL_MAX_SCALE}">'
        f'{_label_settings(wide)}</rule>'
    )
    return f'<labeling type="rule-based"><rules key="{{boundaries-stations-labels}}">{rules}</rules></labeling>'


def _label_settings(expression: str, size: int = 9, italic: bool = False, priority: int = 5,
                    scales: tuple[int, int] | None = None, is_expression: bool = True) -> str:
    """QGIS label settings: ``expression`` (a field name unless ``is_expression``) over each polygon's
    interior with a white halo.

    ``scales`` is (most zoomed-in, most zoomed-out) scale denominator, 0 for no limit;
    QGIS stores them as ``scaleMin`` and ``scaleMax``.
    """
    style = 'namedStyle="Italic" fontItalic="1" fontWeight="50"' if italic else 'namedStyle="Bold" fontWeight="75"'
    visibility = (f'scaleVisibility="1" scaleMin="{scales[0]}" scaleMax="{scales[1]}"' if scales
                  else 'scaleVisibility="0"')
    return (
        '<settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(expression)} isExpression="{int(is_expression)}" fontFamily="Sans Serif"'
        f' fontSize="{size}" fontSizeUnit="Point" {style} textColor="20,20,20,255" textOpacity="1"'
        ' multilineHeight="1" blendMode="0">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255"'
        ' bufferOpacity="0.8" bufferNoFill="1" bufferJoinStyle="128" bufferBlendMode="0"/>'
        "</text-style>"
        '<placement placement="1" centroidInside="1" centroidWhole="0" fitInPolygonOnly="0"'
        f' polygonPlacementFlags="2" priority="{priority}" dist="0" distUnits="MM" offsetType="0"/>'
        f'<rendering drawLabels="1" obstacle="1" obstacleType="1" displayAll="0" labelPerPart="0"'
        f' upsidedownLabels="0" {visibility} fontMinPixelSize="3" fontLimitPixelSize="0"/>'
        "</settings>"
    )


def write_gpkg_style(
    gpkg_path: str | os.PathLike,
    layer_name: str,
    qml: str,
    style_name: str | None = None,
    description: str = "boundaries: stations coloured so that touching stations differ, labelled by number",
    use_as_default: bool = True,
    timestamp: str | None = None,
) -> int:
    """Store a QGIS style for one layer in a GeoPackage's ``layer_styles`` table.

    Creates the table with QGIS's own schema if needed, registers it in
    ``gpkg_contents`` as an attribute table (as QGIS does), and inserts the
    style — or replaces the existing row with the same layer, geometry column
    and style name. With ``use_as_default`` the style becomes the one QGIS
    applies when the layer is opened (any other default of that layer is
    demoted). Uses only :mod:`sqlite3`; the file must not be open for writing
    elsewhere.

    Parameters
    ----------
    gpkg_path : str or os.PathLike
        An existing GeoPackage holding ``layer_name``.
    layer_name : str
        Feature table to style (its name in ``gpkg_contents``).
    qml : str
        QML document, e.g. from :func:`qml_style`.
    style_name : str, optional
        Name shown in QGIS's style list; defaults to ``layer_name`` (QGIS's own
        default).
    description : str
        Free text shown in QGIS's style list.
    use_as_default : bool, default True
        Make this the style QGIS loads with the layer.
    timestamp : str, optional
        ISO 8601 UTC time stored as the table's ``last_change`` and the style's
        ``update_time`` (default: now); a fixed one makes the file reproducible.

    Returns
    -------
    int
        The ``id`` of the style row.

    Raises
    ------
    FileNotFoundError
        If ``gpkg_path`` does not exist (sqlite3 would silently create an empty
        database).
    ValueError
        If the file is not a GeoPackage or has no feature table ``layer_name``.
    """
    path = os.fspath(gpkg_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    with _transaction(path) as con:
        key = ("", "", layer_name, _geometry_column(con, path, layer_name))
        _create_layer_styles(con, timestamp)
        return _replace_style(con, key, style_name or layer_name, qml, description, use_as_default, timestamp)


@contextlib.contextmanager
def _transaction(path: str):
    """A connection to ``path`` inside one transaction: committed on success, rolled back on error."""
    # Autocommit mode plus an explicit BEGIN, so the CREATE TABLE is inside the transaction too
    # (Python's implicit transactions start only at INSERT/UPDATE/DELETE).
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        with con:
            yield con
    finally:
        con.close()


def _geometry_column(con: sqlite3.Connection, path: str, layer_name: str) -> str:
    """The geometry column of feature table ``layer_name``, as ``gpkg_geometry_columns`` registers it.

    Raises
    ------
    ValueError
        If the file is not a GeoPackage or has no such feature table.
    """
    try:
        row = con.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?)",
            (layer_name,),
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path}: not a GeoPackage ({exc})") from exc
    if row is None:
        raise ValueError(f"{path}: no feature table {layer_name!r} in gpkg_geometry_columns")
    return row[0]


def _create_layer_styles(con: sqlite3.Connection, timestamp: str | None) -> None:
    """Create ``layer_styles`` if needed and register it in ``gpkg_contents`` as QGIS does."""
    con.execute(_LAYER_STYLES_DDL)
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id)"
        " SELECT 'layer_styles', 'attributes', 'layer_styles', '',"
        " coalesce(?, strftime('%Y-%m-%dT%H:%M:%fZ','now')), 0"
        " WHERE NOT EXISTS (SELECT 1 FROM gpkg_contents WHERE lower(table_name) = 'layer_styles')",
        (timestamp,),
    )


def _replace_style(con: sqlite3.Connection, key: tuple, style_name: str, qml: str, description: str,
                   use_as_default: bool, timestamp: str | None) -> int:
    """Insert the style row of ``key`` (catalog, schema, table, geometry column), replacing its namesake.

    With ``use_as_default`` the layer's other styles stop being its default first
    (QGIS applies the one default style). Returns the new row's ``id``.
    """
    if use_as_default:
        con.execute(
            "UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_catalog = ? AND f_table_schema = ?"
            " AND f_table_name = ? AND f_geometry_column = ?",
            key,
        )
    con.execute(
        "DELETE FROM layer_styles WHERE f_table_catalog = ? AND f_table_schema = ? AND f_table_name = ?"
        " AND f_geometry_column = ? AND styleName = ?",
        (*key, style_name),
    )
    cur = con.execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
        " styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)"
        " VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, '', NULL, coalesce(?, strftime('%Y-%m-%dT%H:%M:%fZ','now')))",
        (*key, style_name, qml, 1 if use_as_default else 0, description, timestamp),
    )
    return int(cur.lastrowid)
