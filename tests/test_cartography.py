"""The GeoPackage opens well in QGIS alone: styled communes, labels that name their commune, an even palette.

The styles are checked as XML (no QGIS needed), as rows of the built file's
``layer_styles``, and in a real PyQGIS render of the town GeoPackage
(``tests/qgis_render.py``, run with Debian's ``python3``): the commune borders are
drawn, the stations' colours show through the communes layer, labels are drawn.
The render test skips, with the reason, where python3-qgis is absent.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.style import (COMMUNE_OUTLINE_WIDTH_MM, OTHER_COLOUR, PALETTE, STATION_DETAIL_SCALE,
                              STATION_LABEL_MAX_SCALE, communes_qml_style, dropped_qml_style,
                              enclaves_qml_style, qml_style)
from clients import HERE, TIMEOUT, pyqgis_python, qgis_env
from conftest import TOWN


def _xml(qml: str) -> ET.Element:
    return ET.fromstring(qml.split("\n", 1)[1])  # past the DOCTYPE line


def _lab(hex_colour: str) -> tuple[float, float]:
    """CIE L* (lightness) and C* (chroma) of an sRGB colour (D65)."""
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    f = np.cbrt(xyz / np.array([0.95047, 1.0, 1.08883]))
    lightness, a, b = 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])
    return float(lightness), float(np.hypot(a, b))


def test_palette_is_even_light_and_distinct():
    """No fill draws the eye: every colour light (L* ≥ 75) and soft (C* ≤ 35), lightness within 20."""
    lab = [_lab(c) for c in PALETTE]
    lightness = [v[0] for v in lab]
    assert min(lightness) >= 75 and max(lightness) - min(lightness) <= 20, dict(zip(PALETTE, lab))
    assert max(v[1] for v in lab) <= 35, dict(zip(PALETTE, lab))
    assert len({c.upper() for c in PALETTE + (OTHER_COLOUR,)}) == len(PALETTE) + 1


def test_legend_says_what_it_shows():
    labels = [c.get("label") for c in _xml(qml_style()).iter("category")]
    assert labels[:len(PALETTE)] == [f"colour {i}" for i in range(len(PALETTE))]
    assert all(not label.isdigit() and "colour" in label for label in labels), labels


def test_station_labels_name_the_commune_beyond_the_detail_scale():
    rules = list(_xml(qml_style()).iter("rule"))
    near, far = rules
    assert (near.get("scalemindenom"), near.get("scalemaxdenom")) == ("0", str(STATION_DETAIL_SCALE))
    assert (far.get("scalemindenom"), far.get("scalemaxdenom")) == (str(STATION_DETAIL_SCALE),
                                                                     str(STATION_LABEL_MAX_SCALE))
    assert near.find("settings/text-style").get("fieldName") == "numero_bv"
    assert '"nom_commune"' in far.find("settings/text-style").get("fieldName")


def test_communes_style_is_an_outline_with_names():
    root = _xml(communes_qml_style())
    props = {o.get("name"): o.get("value") for o in root.iter("Option") if o.get("name")}
    assert props["style"] == "no" and float(props["outline_width"]) == COMMUNE_OUTLINE_WIDTH_MM
    assert root.find("labeling").get("type") == "simple" and root.get("labelsEnabled") == "1"
    assert root.find("labeling/settings/text-style").get("fieldName") == "coalesce(nullif(\"nom\", ''), \"code\")"


field_names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@settings(deadline=None)
@given(colour=field_names, label=field_names, name=field_names, code=field_names)
def test_styles_stay_valid_xml_and_quote_any_field_name(colour, label, name, code):
    """Hostile field names (quotes, <, &, non-Latin scripts) give valid QML whose expressions quote them."""
    root = _xml(qml_style(colour, label, (name, code)))
    assert root.find("renderer-v2").get("attr") == colour
    near, far = (r.find("settings/text-style").get("fieldName") for r in root.iter("rule"))
    assert near == label
    quoted = ['"' + f.replace('"', '""') + '"' for f in (name, code, label)]
    assert far == f"coalesce(nullif({quoted[0]}, ''), {quoted[1]}) || ' ' || {quoted[2]}"
    communes = _xml(communes_qml_style(name, code)).find("labeling/settings/text-style").get("fieldName")
    assert communes == f"coalesce(nullif({quoted[0]}, ''), {quoted[1]})"


@pytest.fixture(scope="module")
def town_gpkg(tmp_path_factory):
    out = tmp_path_factory.mktemp("carto") / "town.gpkg"
    proc = subprocess.run([sys.executable, "-m", "boundaries", "build", TOWN / "addresses.csv", "--communes",
                           TOWN / "communes.geojson", "-o", out, "-q"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def test_every_layer_has_a_default_style(town_gpkg):
    con = sqlite3.connect(town_gpkg)
    rows = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault"))
    con.close()
    # every layer of the file: QGIS draws an unstyled one in a random colour
    assert set(rows) == {"stations", "communes", "dropped", "enclaves"}
    assert rows["communes"] == communes_qml_style() and rows["stations"] == qml_style()
    assert rows["enclaves"] == enclaves_qml_style() and rows["dropped"] == dropped_qml_style()


def render(gpkg, png, width=700, *extent) -> dict:
    """The GeoPackage's layers opened alone in PyQGIS, drawn to ``png`` (see tests/qgis_render.py)."""
    proc = subprocess.run([pyqgis_python(), HERE / "qgis_render.py", gpkg, png, str(width), *extent],
                          env=qgis_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pixels(png) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def test_qgis_draws_outlines_over_visible_stations_with_labels(town_gpkg, tmp_path):
    png = tmp_path / "town.png"
    info = render(town_gpkg, png, 900, "communes")  # about 1:50,000: station labels name their commune
    order = info["order"]
    assert order.index("communes") < order.index("stations"), order  # communes drawn above (top first)
    assert info["renderers"]["communes"] == "singleSymbol" and info["labels"]["communes"]
    assert [r[1:] for r in info["label_rules"]["stations"]] == [[0, STATION_DETAIL_SCALE],
                                                                [STATION_DETAIL_SCALE, STATION_LABEL_MAX_SCALE]]
    img = _pixels(png)
    # commune borders: a dark pixel within 2 px of (nearly) every point along the outlines
    dark = (img.max(axis=2) < 80)
    near = [dark[max(0, y - 2):y + 3, max(0, x - 2):x + 3].any() for x, y in info["outline_px"]]
    assert len(near) > 50 and np.mean(near) > 0.95, np.mean(near)
    # the stations show through the communes layer: each colour the town uses covers many pixels
    con = sqlite3.connect(town_gpkg)
    used = {PALETTE[c] for (c,) in con.execute("SELECT DISTINCT colour FROM stations")}
    con.close()
    for colour in used:
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(img - rgb).max(axis=2) <= 3).sum() > 500, colour
    # labels: the map with labels differs from the same map without, in many pixels
    changed = (np.abs(img - _pixels(tmp_path / "town.nolabels.png")).max(axis=2) > 60).sum()
    assert changed > 2000, changed
