"""The QGIS style and its layer_styles row, checked without QGIS (test_clients.py opens them in QGIS)."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import pytest
import shapely

from boundaries.style import LAYER_STYLES_COLUMNS, PALETTE, qml_style, write_gpkg_style


def test_qml_is_xml_with_a_category_per_palette_colour_and_labels():
    root = ET.fromstring(qml_style("colour", "numero_bv").split("\n", 1)[1])  # past the DOCTYPE line
    assert root.tag == "qgis" and root.get("labelsEnabled") == "1"
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "colour"
    values = [c.get("value") for c in renderer.iter("category")]
    assert values == [str(i) for i in range(len(PALETTE))] + [""]  # "" = all other values
    assert len(renderer.find("symbols")) == len(values)
    assert root.find("labeling/rules/rule/settings/text-style").get("fieldName") == "numero_bv"  # zoomed in
    assert len(set(PALETTE)) == len(PALETTE)


def test_qml_quotes_field_names():
    root = ET.fromstring(qml_style('a"b', "x<y").split("\n", 1)[1])
    assert root.find("renderer-v2").get("attr") == 'a"b'
    assert root.find("labeling/rules/rule/settings/text-style").get("fieldName") == "x<y"


@pytest.fixture
def gpkg(tmp_path):
    path = tmp_path / "s.gpkg"
    gdf = gpd.GeoDataFrame({"colour": [0, 1]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
                           crs=4326)
    gdf.to_file(path, layer="stations", driver="GPKG", dataset_options={"VERSION": "1.2"})
    return path


def test_layer_styles_row_has_qgis_schema_and_keys(gpkg):
    sid = write_gpkg_style(gpkg, "stations", qml_style())
    con = sqlite3.connect(gpkg)
    cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
    assert tuple(cols) == LAYER_STYLES_COLUMNS
    row = dict(zip(cols, con.execute("SELECT * FROM layer_styles").fetchone()))
    assert row["id"] == sid
    # QGIS selects with f_table_schema='' and the layer's real geometry column
    assert (row["f_table_catalog"], row["f_table_schema"], row["f_table_name"], row["f_geometry_column"]) == \
        ("", "", "stations", "geom")
    assert row["styleName"] == "stations" and row["useAsDefault"] == 1 and row["update_time"]
    assert row["styleQML"] == qml_style()
    assert con.execute("SELECT data_type, srs_id FROM gpkg_contents WHERE table_name='layer_styles'").fetchone() \
        == ("attributes", 0)
    con.close()


def test_rewriting_replaces_the_row_and_one_default_remains(gpkg):
    write_gpkg_style(gpkg, "stations", "<qgis/>", style_name="a")
    write_gpkg_style(gpkg, "stations", "<qgis/>", style_name="b")
    write_gpkg_style(gpkg, "stations", qml_style(), style_name="a")
    con = sqlite3.connect(gpkg)
    got = con.execute("SELECT styleName, useAsDefault, styleQML = ? FROM layer_styles ORDER BY styleName",
                      (qml_style(),)).fetchall()
    assert got == [("a", 1, 1), ("b", 0, 0)]
    assert con.execute("SELECT count(*) FROM gpkg_contents WHERE table_name='layer_styles'").fetchone() == (1,)
    con.close()


def test_refuses_missing_file_non_gpkg_and_unknown_layer(gpkg, tmp_path):
    with pytest.raises(FileNotFoundError):
        write_gpkg_style(tmp_path / "nope.gpkg", "stations", "<qgis/>")
    assert not (tmp_path / "nope.gpkg").exists()
    other = tmp_path / "x.gpkg"
    other.write_text("not a database")
    with pytest.raises(ValueError, match="not a GeoPackage"):
        write_gpkg_style(other, "stations", "<qgis/>")
    with pytest.raises(ValueError, match="no feature table 'roads'"):
        write_gpkg_style(gpkg, "roads", "<qgis/>")
    con = sqlite3.connect(gpkg)  # nothing half-written
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name='layer_styles'").fetchone() == (0,)
    con.close()


def test_a_failed_write_leaves_no_table_behind(gpkg):
    con = sqlite3.connect(gpkg)
    con.execute("CREATE TRIGGER boom BEFORE INSERT ON gpkg_contents BEGIN SELECT RAISE(ABORT, 'boom'); END")
    con.commit()
    with pytest.raises(sqlite3.DatabaseError, match="boom"):
        write_gpkg_style(gpkg, "stations", qml_style())  # fails after CREATE TABLE, at the registration
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name='layer_styles'").fetchone() == (0,)
    con.close()
