"""A station id field the user names but the layer lacks is called by its name.

``check --id-field idbv`` on a layer with ``id_bv`` said the layer "has no station id
field (looked for id_bv, …)", as if id_bv were not there: the message must name the
field asked for and the fields there are.
"""

from __future__ import annotations

import re

import geopandas as gpd
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.cli import main

NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)


@settings(deadline=None)
@given(wanted=NAMES.filter(lambda n: n.strip().lower() not in {"id_bv", "code_commune"}))
def test_a_named_id_field_that_is_absent_is_named(tmp_path_factory, wanted):
    tmp = tmp_path_factory.mktemp("named")
    layer = tmp / "st.geojson"
    gpd.GeoDataFrame({"id_bv": ["75119_5"], "code_commune": ["75119"]}, geometry=[shapely.box(2.3, 48.8, 2.31, 48.81)],
                     crs="EPSG:4326").to_file(layer)
    communes = tmp / "c.geojson"
    gpd.GeoDataFrame({"code": ["75119"]}, geometry=[shapely.box(2.3, 48.8, 2.31, 48.81)],
                     crs="EPSG:4326").to_file(communes)
    res = CliRunner().invoke(main, ["check", str(layer), "--communes", str(communes), "--id-field", wanted])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and "looked for" not in line, line
    assert "no field" in line and "id_bv" in line and "--id-field" in line, line
