"""A station layer saved as a shapefile keeps working: our field names cut to 10 characters are restored.

A GIS officer's round trip (``ogr2ogr st.shp stations.gpkg stations``, or QGIS's "Save
as") cuts ``n_addresses`` to ``n_addresse`` and ``code_commune`` to ``code_commu``:
``report`` then lost its address counts without a word and ``refresh`` refused the layer.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.cli import main
from boundaries.read import DBF_NAME_CHARS, restore_cut_names
from boundaries.schema import load_schema

from helpers import build_town

TOWN = Path(__file__).resolve().parents[1] / "fixtures" / "town"
DEFS = load_schema()["$defs"]
LONG = sorted(p for part in ("station_properties", "etalab_properties") for p in DEFS[part]["properties"]
              if len(p) > DBF_NAME_CHARS)


@settings(deadline=None)
@given(st.sets(st.sampled_from(LONG), min_size=1), st.booleans())
def test_cut_names_come_back_whole_and_others_stay(fields, with_full_beside):
    cut = {f: f[:DBF_NAME_CHARS] for f in fields}
    data = {c: [1] for c in cut.values()}
    if with_full_beside:  # another tool's cut-looking field beside our full one: left alone
        first = sorted(fields)[0]
        data[first] = [2]
    data["autre_champ_long"] = [3]
    gdf = gpd.GeoDataFrame(data, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    out = restore_cut_names(gdf)
    for f, c in cut.items():
        if with_full_beside and f == sorted(fields)[0]:
            assert c in out.columns and f in out.columns
        else:
            assert f in out.columns and c not in out.columns
    assert "autre_champ_long" in out.columns


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shp")
    gpkg = build_town(tmp / "town.gpkg")
    shp = tmp / "town.shp"
    subprocess.run(["ogr2ogr", str(shp), str(gpkg), "stations"], check=True, capture_output=True)
    assert "n_addresse" in gpd.read_file(shp).columns  # GDAL did cut it
    return tmp, gpkg, shp


def test_report_reads_the_cut_address_counts(round_trip):
    from boundaries.review import review_stations

    _, gpkg, shp = round_trip
    ours = review_stations(str(gpkg), max_parts=1, min_confidence=1.0).set_index("id_bv")
    cut = review_stations(str(shp), max_parts=1, min_confidence=1.0).set_index("id_bv")
    assert (cut["n_addresses"].sort_index() == ours["n_addresses"].sort_index()).all()
    assert ours["n_addresses"].sum() > 0


def test_refresh_takes_the_shapefile(round_trip):
    tmp, _, shp = round_trip
    res = CliRunner().invoke(main, ["refresh", str(shp), "-o", str(tmp / "r.gpkg"), "--communes",
                                    str(TOWN / "communes.geojson")])
    assert res.exit_code == 0, res.output
    out = gpd.read_file(tmp / "r.gpkg", layer="stations")
    assert {"code_commune", "n_addresses"} <= set(out.columns)
