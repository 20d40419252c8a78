"""Field names for pipelines and one geometry type: issue 18, item 9 (first half).

Every station (and commune outline) is a MultiPolygon in every format, so QGIS types
the layer MultiPolygon and GDAL declares it so; ``fields="etalab"`` (``--fields
etalab``) writes data.gouv.fr's names beside ours, copies of ours.
"""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.errors import InputError
from boundaries.fields import ETALAB_FIELDS, with_fields
from boundaries.geometry import as_multipolygons
from boundaries.result import OutputSpec
from boundaries.write import OUTPUT_GRID, to_wgs84

from clients import ogrinfo_summary
from conftest import ROOT, TOWN

ADDRESSES = pd.read_csv(TOWN / "addresses.csv", dtype=str, keep_default_na=False)
COMMUNES = str(TOWN / "communes.geojson")
#: A commune of the town with two stations and few rows: builds in a fraction of a second.
SMALL = ADDRESSES[ADDRESSES["code_commune_ref"] == "99003"].reset_index(drop=True)
#: A tenth of its rows: a build per hypothesis example.
TINY = SMALL.iloc[::10].reset_index(drop=True)
OUTLINE_99003 = gpd.read_file(COMMUNES).query("code == '99003'")
#: One file per format (GeoJSON, GeoJSONSeq both ways, GeoPackage, FlatGeobuf, GeoParquet).
SUFFIXES = (".geojson", ".geojsonl", ".geojsons", ".gpkg", ".fgb", ".parquet")


@pytest.fixture(scope="module")
def town_result():
    """The whole town (14 stations, most of them one Polygon before the fix)."""
    return boundaries.build(str(TOWN / "addresses.csv"), COMMUNES)


def read_layer(path, layer=None) -> gpd.GeoDataFrame:
    """A layer read back as a client would: GDAL (pyogrio), or pyarrow for GeoParquet (GDAL lacks the driver)."""
    if str(path).endswith(".parquet"):
        return gpd.read_parquet(path)
    return pyogrio.read_dataframe(path, layer=layer)


def declared_type(path, layer=None) -> str | None:
    """The layer's geometry type as the file declares it (GDAL's layer type; GeoParquet's ``geo`` metadata)."""
    if str(path).endswith(".parquet"):
        import pyarrow.parquet as pq

        geo = json.loads(pq.read_schema(path).metadata[b"geo"])
        return ",".join(geo["columns"]["geometry"]["geometry_types"])
    return pyogrio.read_info(path, layer=layer)["geometry_type"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_format_reads_back_as_multipolygons(town_result, tmp_path, suffix):
    path = tmp_path / f"town{suffix}"
    town_result.write(str(path), report=None)
    layer = "stations" if suffix in (".gpkg", ".fgb") else None
    back = read_layer(path, layer)
    assert len(back) == len(town_result.stations)
    assert set(back.geom_type) == {"MultiPolygon"}
    assert shapely.is_valid(back.geometry.values).all()
    if suffix in (".gpkg", ".fgb", ".parquet"):
        assert declared_type(path, layer) == "MultiPolygon"
    if suffix == ".gpkg":
        assert declared_type(path, "communes") == "MultiPolygon"
        assert set(read_layer(path, "communes").geom_type) == {"MultiPolygon"}


@pytest.mark.parametrize("suffix", (".geojson", ".gpkg", ".fgb"))
def test_ogrinfo_says_multipolygon(town_result, tmp_path, suffix):
    """GDAL's own tool (Debian's 3.6, the one QGIS 3.22 uses) declares every polygon layer Multi Polygon."""
    path = tmp_path / f"town{suffix}"
    town_result.write(str(path), report=None)
    layers, _ = ogrinfo_summary(path)
    polygonal = {name: layers[name]["geometry"] for name in ("stations", "communes") if name in layers} \
        or {name: info["geometry"] for name, info in layers.items()}
    assert polygonal and set(polygonal.values()) == {"Multi Polygon"}, polygonal


@pytest.mark.parametrize("fmt", ("gpkg", "fgb", "geojson"))
def test_split_files_of_one_polygon_communes_are_multipolygon_layers(town_result, tmp_path, fmt):
    """A commune whose stations are all one piece used to give a layer typed Polygon, its neighbour's
    MultiPolygon: one schema per file of a split, now one for all."""
    folder = tmp_path / "split"
    town_result.write(str(folder), fmt, split="commune", report=None)
    files = sorted(folder.glob(f"*.{fmt}"))
    assert len(files) > 1
    for path in files:
        layer = "stations" if fmt != "geojson" else None
        assert set(read_layer(path, layer).geom_type) == {"MultiPolygon"}, path.name
        if fmt != "geojson":
            assert declared_type(path, layer) == "MultiPolygon", path.name


def polygons():
    """Odd polygonal geometries in lon/lat near the grid: boxes down to a few grid steps, with a hole,
    several parts, empty."""
    step = st.integers(1, 2_000).map(lambda k: k * OUTPUT_GRID / 3)
    box = st.builds(lambda x, y, w, h: shapely.box(2 + x, 46 + y, 2 + x + w, 46 + y + h),
                    st.floats(0, 0.01), st.floats(0, 0.01), step, step)
    holed = box.map(lambda b: b.difference(shapely.box(*shapely.centroid(b).buffer(
        min(b.bounds[2] - b.bounds[0], b.bounds[3] - b.bounds[1]) / 4).bounds)))
    multi = st.lists(box, min_size=2, max_size=4).map(lambda bs: shapely.union_all(bs))
    return st.one_of(box, holed, multi, st.just(shapely.Polygon()), st.just(shapely.MultiPolygon()))


@settings(deadline=None)
@given(st.lists(st.tuples(polygons(), st.sampled_from(["99001", "99002"])), min_size=1, max_size=6))
def test_to_wgs84_gives_valid_multipolygons_on_the_grid(stations):
    """Whatever the shapes (empty, collapsing on the grid, overlapping in a commune), the written layer
    has one type and keeps on_grid_clean's guarantees: valid, on the grid, no repeated consecutive
    vertex. An empty polygon beside a collapsed one made the coverage clean-up raise (exit 3)."""
    geoms, communes = zip(*stations)
    gdf = gpd.GeoDataFrame({"code_commune": list(communes)}, geometry=list(geoms), crs="EPSG:4326")
    out = to_wgs84(gdf).geometry.values.to_numpy()
    assert set(shapely.get_type_id(out)) == {6}
    assert shapely.is_valid(out).all()
    assert shapely.equals_exact(shapely.remove_repeated_points(out, 0.0), out, tolerance=0.0).all()
    grid = shapely.set_precision(out, OUTPUT_GRID, mode="pointwise")
    assert shapely.equals_exact(grid, out, tolerance=0.0).all()


def test_as_multipolygons_leaves_other_types_and_missing_alone():
    """An empty of any type (set_precision turns an empty Polygon into LINEARRING EMPTY) is an empty
    MultiPolygon; a point or a missing value stays."""
    geoms = np.array([shapely.box(0, 0, 1, 1), shapely.Point(0, 0), None, shapely.Polygon(),
                      shapely.set_precision(shapely.Polygon(), OUTPUT_GRID, mode="pointwise")], dtype=object)
    out = as_multipolygons(geoms)
    assert [g.geom_type if g is not None else None for g in out] == ["MultiPolygon", "Point", None] + \
        ["MultiPolygon"] * 2
    assert out[3].is_empty and out[4].is_empty and geoms[0].geom_type == "Polygon"  # the input unchanged


# --- fields="etalab" ------------------------------------------------------------------------------

def etalab_number(station_id: str) -> str:
    """data.gouv.fr's numeroBureauVote of an REU station id: its number zero-padded to 4 digits, or as it is."""
    number = station_id.rsplit("_", 1)[-1]
    return number.zfill(4) if number.isdigit() else number


def assert_etalab_consistent(props: list[dict]) -> None:
    """Every row carries data.gouv.fr's names, equal to ours and to the Etalab form of id_bv."""
    for p in props:
        for theirs, ours in ETALAB_FIELDS.items():
            assert p[theirs] == p[ours], (theirs, p)
        assert p["numeroBureauVote"] == etalab_number(p["id_bv"]), p
        assert p["codeBureauVote"] == f"{p['codeCommune']}_{p['numeroBureauVote']}", p


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_fields_etalab_in_every_format(town_result, tmp_path, suffix):
    from helpers import file_properties
    from boundaries.write import output_format

    path = tmp_path / f"town{suffix}"
    town_result.write(str(path), report=None, fields="etalab")
    if suffix == ".geojsons":  # RFC 8142: a record separator before each feature
        props = [json.loads(line.strip("\x1e"))["properties"]
                 for line in path.read_text().split("\n") if line.strip("\x1e")]
    else:
        props = file_properties(path, output_format(str(path)), "stations" if suffix == ".gpkg" else None)
    assert len(props) == len(town_result.stations)
    assert list(props[0])[-len(ETALAB_FIELDS):] == list(ETALAB_FIELDS)
    assert_etalab_consistent(props)
    assert "99001_0001" in {p["codeBureauVote"] for p in props}  # FlatGeobuf: in its index's order


def test_fields_ours_is_the_default_and_adds_nothing(town_result, tmp_path):
    town_result.write(str(tmp_path / "a.geojson"), report=None)
    props = json.loads((tmp_path / "a.geojson").read_text())["features"][0]["properties"]
    assert not set(ETALAB_FIELDS) & set(props)


station_code = st.text("0123456789ABCXZabz", min_size=1, max_size=6)


@settings(deadline=None)
@given(st.lists(station_code, min_size=2, max_size=2, unique_by=etalab_number))
def test_fields_etalab_for_hostile_station_codes(tmp_path_factory, codes):
    """Station codes with letters, leading zeros, long numbers: codeBureauVote is id_bv in
    data.gouv.fr's form for every row."""
    assume(len({c.lstrip("0") or "0" for c in codes}) == 2)  # "07" and "7": one station number
    old = sorted(TINY["id_brut_bv_reu"].unique())
    table = TINY.assign(id_brut_bv_reu=TINY["id_brut_bv_reu"].map(dict(zip(old, (f"99003_{c}" for c in codes)))))
    result = boundaries.build(table, OUTLINE_99003)
    path = tmp_path_factory.mktemp("etalab") / "s.geojson"
    result.write(str(path), report=None, fields="etalab")
    props = [f["properties"] for f in json.loads(path.read_text())["features"]]
    assert len(props) == len(result.stations) == 2
    assert_etalab_consistent(props)


@settings(deadline=None)
@given(st.lists(st.sampled_from(list(ETALAB_FIELDS) + ["x", "code_bv_results"]), unique=True, max_size=4))
def test_fields_etalab_keeps_a_results_column_of_the_same_name(town_result, taken):
    """An election-results column already named codeCommune… stays, renamed ``<name>_results``; ours win."""
    stations = town_result.stations.assign(**{name: "from results" for name in taken})
    out = with_fields(stations, "etalab")
    assert out.geometry.name == stations.geometry.name and out.crs == stations.crs
    assert list(out.columns[-len(ETALAB_FIELDS) - 1:-1]) == list(ETALAB_FIELDS)
    for name in taken:
        kept = name + "_results" if name in ETALAB_FIELDS else name
        assert (out[kept] == "from results").all()
    assert_etalab_consistent(out.drop(columns=out.geometry.name).to_dict("records"))


@pytest.mark.parametrize("value", ["Etalab", "", "ours ", "insee"])
def test_unknown_field_set_is_one_line_naming_the_keyword(tmp_path, value):
    with pytest.raises(InputError, match=r"fields.*choose one of ours, etalab"):
        OutputSpec(str(tmp_path / "a.geojson"), fields=value)


def test_cli_fields_etalab_and_a_bad_value(tmp_path):
    small = tmp_path / "small.csv"
    SMALL.to_csv(small, index=False)
    out = tmp_path / "s.geojson"
    run = [sys.executable, "-m", "boundaries", "build", str(small), "--communes", COMMUNES, "-q"]
    ok = subprocess.run(run + ["-o", str(out), "--fields", "etalab"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert_etalab_consistent([f["properties"] for f in json.loads(out.read_text())["features"]])
    bad = subprocess.run(run + ["-o", str(tmp_path / "b.geojson"), "--fields", "bogus"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--fields" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "b.geojson").exists()


def test_etalab_output_follows_the_schema(town_result, tmp_path):
    """The GeoJSON with data.gouv.fr's names is valid against the schema (MultiPolygon geometries only),
    and its properties against the schema's etalab_properties."""
    import jsonschema

    from boundaries.schema import load_schema

    schema = load_schema()
    path = tmp_path / "town.geojson"
    town_result.write(str(path), report=None, fields="etalab")
    document = json.loads(path.read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    etalab = {**schema["$defs"]["etalab_properties"], "$defs": schema["$defs"]}
    assert list(etalab["properties"]) == list(ETALAB_FIELDS)
    for feature in document["features"]:
        jsonschema.Draft202012Validator(etalab).validate(feature["properties"])


#: PyQGIS: print the geometry type QGIS gives each layer named on the command line.
QGIS_TYPES = """
import sys
from qgis.core import QgsApplication, QgsVectorLayer, QgsWkbTypes
app = QgsApplication([], False)
app.initQgis()
for source in sys.argv[1:]:
    layer = QgsVectorLayer(source, "x", "ogr")
    print(source, layer.isValid(), QgsWkbTypes.displayString(layer.wkbType()))
    del layer
app.exitQgis()
"""


def test_qgis_types_every_layer_multipolygon(town_result, tmp_path):
    """QGIS 3.22 typed our GeoJSON layer Polygon (its first features) and "Save as" warned on the others."""
    from clients import pyqgis_python, qgis_env

    sources = []
    for suffix in (".geojson", ".geojsonl", ".fgb", ".gpkg"):
        path = tmp_path / f"town{suffix}"
        town_result.write(str(path), report=None)
        sources += [f"{path}|layername={name}" for name in ("stations", "communes")] if suffix == ".gpkg" \
            else [str(path)]
    proc = subprocess.run([pyqgis_python(), "-c", QGIS_TYPES, *sources], env=qgis_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line.rsplit(" ", 2) for line in proc.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert [source for source, _, _ in lines] == sources
    assert {(valid, kind) for _, valid, kind in lines} == {("True", "MultiPolygon")}, lines
