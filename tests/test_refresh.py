"""``boundaries refresh``: the derived fields of a hand-edited station file, recomputed; the rest kept."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaries.errors import InputError
from boundaries.refresh import AREA_TOLERANCE_M2_PER_M, refresh

from helpers import edited_gpkg, file_properties

#: GeoPackage tables refresh must leave byte for byte as they were.
KEPT_TABLES = ("communes", "dropped", "layer_styles", "gpkg_metadata", "gpkg_metadata_reference")
FORMATS = {"geojson": ".geojson", "geojsonseq": ".geojsonl", "gpkg": ".gpkg", "fgb": ".fgb", "parquet": ".parquet"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The bundled town built once and written in every format: {fmt: path}."""
    import boundaries
    from conftest import TOWN

    result = boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson", jobs=1)
    folder = tmp_path_factory.mktemp("built")
    paths = {}
    for fmt, suffix in FORMATS.items():
        paths[fmt] = folder / f"stations{suffix}"
        result.write(str(paths[fmt]))
    return paths


def read(path, layer: str = "stations"):
    import geopandas as gpd

    return gpd.read_parquet(path) if str(path).endswith(".parquet") else gpd.read_file(path, layer=layer) \
        if str(path).endswith(".gpkg") else gpd.read_file(path)


def tables(path) -> dict:
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in KEPT_TABLES}
    finally:
        con.close()


def fresh_fields(gdf):
    """area_m2 and n_parts computed from scratch: Lambert-93 area (the town is mainland), parts counted."""
    metric = gdf.to_crs("EPSG:2154").geometry.values.to_numpy()
    return np.round(shapely.area(metric), 1), shapely.get_num_geometries(gdf.geometry.values.to_numpy())


def assert_refreshed(out_path, layer: str = "stations"):
    """The written layer's derived fields are those of its geometries, and its colours are proper."""
    from boundaries.colouring import COLOUR_GAP_M, COLOUR_MIN_BORDER_M, adjacency

    out = read(out_path, layer)
    area, parts = fresh_fields(out)
    # an area within rounding of the one written stays as written (AREA_TOLERANCE_M2_PER_M), others are fresh
    outline_m = np.nan_to_num(shapely.length(out.to_crs("EPSG:2154").geometry.values.to_numpy()))
    assert (np.abs(out["area_m2"].to_numpy(dtype=float) - area) <= AREA_TOLERANCE_M2_PER_M * outline_m + 0.15).all()
    assert (out["n_parts"].to_numpy() == parts).all()
    a = adjacency(out.to_crs("EPSG:2154").geometry.values.to_numpy(), COLOUR_GAP_M, COLOUR_MIN_BORDER_M).tocoo()
    colours = out["colour"].to_numpy()
    assert not (colours[a.row] == colours[a.col]).any(), "two touching stations share a colour"
    assert out["colour"].dtype.kind == "i" and out["n_parts"].dtype.kind == "i"
    return out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_unedited_file_comes_back_the_same(built, tmp_path, fmt):
    """Refreshing a file nothing edited changes no field, in every format (colours too: FlatGeobuf's order)."""
    out = tmp_path / f"out{FORMATS[fmt]}"
    result = refresh(built[fmt], out)
    assert result.changed == {"area_m2": 0, "n_parts": 0, "colour": 0}
    assert file_properties(out, fmt, "stations" if fmt == "gpkg" else None) == \
        file_properties(built[fmt], fmt, "stations" if fmt == "gpkg" else None)
    if fmt == "gpkg":
        assert tables(out) == tables(built[fmt])
        assert result.check is not None and result.check.ok()


def move_vertex(gdf, i: int, dx: float, dy: float):
    """Move the first vertex of station ``i``'s first part by (dx, dy) degrees (its ring stays closed)."""
    geom = gdf.geometry.iloc[i]
    part = shapely.get_geometry(geom, 0)
    ring = np.array(part.exterior.coords)
    ring[0] += (dx, dy)
    ring[-1] = ring[0]
    moved = shapely.Polygon(ring, [h.coords for h in part.interiors])
    rest = [shapely.get_geometry(geom, k) for k in range(1, shapely.get_num_geometries(geom))]
    gdf.loc[gdf.index[i], "geometry"] = shapely.MultiPolygon([moved, *rest])
    return gdf


def split_station(gdf, i: int):
    """Cut station ``i`` in two by a north-south line through its centre: the east half a new station."""
    import pandas as pd

    geom = gdf.geometry.iloc[i]
    (x0, y0, x1, y1), cx = geom.bounds, geom.centroid.x
    west = shapely.intersection(geom, shapely.box(x0 - 1, y0 - 1, cx, y1 + 1))
    east = shapely.difference(geom, west)
    row = gdf.iloc[[i]].copy()
    row["id_bv"] = row["code_commune"] + "_99"
    row["numero_bv"] = "99"
    row["code_bv"] = row["code_commune"] + "_0099"
    gdf.loc[gdf.index[i], "geometry"] = shapely.MultiPolygon(shapely.get_parts(west).tolist())
    row["geometry"] = [shapely.MultiPolygon(shapely.get_parts(east).tolist())]
    return pd.concat([gdf, row], ignore_index=True)


def test_moved_vertex_and_split_station_are_recomputed(built, tmp_path):
    """A vertex moved and a station split by hand: fresh areas and parts, proper colours, other layers kept."""
    gdf = read(built["gpkg"])
    gdf = split_station(move_vertex(gdf, 0, 0.001, 0.0005), 3)
    src = edited_gpkg(built["gpkg"], gdf, tmp_path / "edited.gpkg")
    result = refresh(src, tmp_path / "out.gpkg")
    out = assert_refreshed(tmp_path / "out.gpkg")
    assert len(out) == 15 and result.changed["area_m2"] >= 2
    assert tables(tmp_path / "out.gpkg") == tables(built["gpkg"])
    assert not result.check.ok()  # the moved vertex opened a gap or an overlap: the check says so


def test_deleted_piece_changes_n_parts(built, tmp_path):
    gdf = read(built["gpkg"])
    i = int(np.flatnonzero(gdf["n_parts"].to_numpy() > 1)[0])
    parts = shapely.get_parts(gdf.geometry.iloc[i])
    gdf.loc[gdf.index[i], "geometry"] = shapely.MultiPolygon(sorted(parts, key=shapely.area)[1:])
    out = tmp_path / "out.geojson"
    result = refresh(edited_gpkg(built["gpkg"], gdf, tmp_path / "e.gpkg"), out)
    assert result.changed["n_parts"] == 1
    assert read(out)["n_parts"].iloc[i] == len(parts) - 1
    assert_refreshed(out)


EDITS = st.lists(st.tuples(st.sampled_from(["move", "split", "merge", "delete_part"]), st.integers(0, 13),
                           st.floats(-0.002, 0.002), st.floats(-0.002, 0.002)), min_size=1, max_size=3)


def apply_edit(gdf, kind, i, dx, dy):
    i = i % len(gdf)
    if kind == "move":
        return move_vertex(gdf, i, dx, dy)
    if kind == "split":
        return split_station(gdf, i) if not gdf["id_bv"].str.endswith("_99").any() else gdf
    geom = gdf.geometry.iloc[i]
    if kind == "delete_part" and shapely.get_num_geometries(geom) > 1:
        gdf.loc[gdf.index[i], "geometry"] = shapely.MultiPolygon(shapely.get_parts(geom)[1:].tolist())
        return gdf
    if kind == "merge":  # into the next station of the same commune, if any
        same = np.flatnonzero((gdf["code_commune"] == gdf["code_commune"].iloc[i]).to_numpy())
        j = next((int(k) for k in same if k != i), None)
        if j is not None:
            merged = shapely.union(gdf.geometry.iloc[j], geom)
            gdf.loc[gdf.index[j], "geometry"] = shapely.MultiPolygon(shapely.get_parts(merged).tolist())
            return gdf.drop(index=gdf.index[i]).reset_index(drop=True)
    return gdf


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS, fmt=st.sampled_from(["gpkg", "geojson", "fgb"]))
def test_random_edits_are_refreshed(built, tmp_path, edits, fmt):
    """Any sequence of hand edits (vertices moved, stations split or merged, pieces deleted), any format."""
    gdf = read(built["gpkg"])
    for edit in edits:
        gdf = apply_edit(gdf, *edit)
    folder = tmp_path / f"e{abs(hash(str(edits))) % 10 ** 8}"
    folder.mkdir(exist_ok=True)
    if fmt == "gpkg":
        src = edited_gpkg(built["gpkg"], gdf, folder / "in.gpkg")
    else:
        src = folder / f"in{FORMATS[fmt]}"
        gdf.to_file(src)
    out = folder / f"out{FORMATS[fmt]}"
    result = refresh(src, out)
    refreshed = assert_refreshed(out)
    assert list(refreshed["id_bv"]) == list(gdf["id_bv"]) or fmt == "fgb"
    assert sorted(refreshed["id_bv"]) == sorted(gdf["id_bv"])
    if fmt == "gpkg":
        assert tables(out) == tables(built["gpkg"])
        assert result.check is not None


@pytest.mark.parametrize("field", ["id_bv", "code_commune"])
def test_foreign_layer_is_refused_naming_the_field(built, tmp_path, field):
    gdf = read(built["geojson"]).drop(columns=[field])
    src = tmp_path / "foreign.geojson"
    gdf.to_file(src)
    with pytest.raises(InputError, match=f"no {field} field"):
        refresh(src, tmp_path / "out.geojson")
    assert not (tmp_path / "out.geojson").exists()


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "boundaries", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_cli_refusals_are_one_line_exit_2(built, tmp_path):
    """No output, the input as output, a foreign file: one line, exit 2, nothing written."""
    from conftest import TOWN

    for args in ([built["gpkg"]], [built["gpkg"], "-o", built["gpkg"]],
                 [built["gpkg"], "-o", tmp_path / "x.gpkg", "--in-place"],
                 [TOWN / "communes.geojson", "-o", tmp_path / "x.geojson"]):
        proc = run("refresh", *args)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())


def test_cli_in_place_keeps_mode_and_prints_the_check(built, tmp_path):
    src = tmp_path / "s.gpkg"
    shutil.copyfile(built["gpkg"], src)
    src.chmod(0o640)
    proc = run("refresh", src, "--in-place")
    assert proc.returncode == 0, proc.stderr
    assert "14 stations in 4 communes: clean" in proc.stdout
    assert "changed: area_m2 0, n_parts 0, colour 0" in proc.stderr
    assert (src.stat().st_mode & 0o777) == 0o640
    assert tables(src) == tables(built["gpkg"])
    assert [p.name for p in tmp_path.iterdir()] == ["s.gpkg"]


def test_geopackage_into_another_format_is_checked_with_its_own_communes(built, tmp_path):
    result = refresh(built["gpkg"], tmp_path / "out.fgb")
    assert result.check is not None and result.check.totals["communes"] == 4
    assert_refreshed(tmp_path / "out.fgb")


def test_a_station_whose_geometry_was_deleted(built, tmp_path):
    """A station's whole geometry deleted by hand: no parts, no area, and the check names a null geometry."""
    gdf = read(built["gpkg"])
    gdf.loc[gdf.index[2], "geometry"] = None
    result = refresh(edited_gpkg(built["gpkg"], gdf, tmp_path / "e.gpkg"), tmp_path / "out.gpkg")
    out = read(tmp_path / "out.gpkg")
    assert out["n_parts"].iloc[2] == 0 and not out["area_m2"].iloc[2] > 0  # empty: 0 (or null)
    assert result.check.totals["null_geometry"] == 1


def test_a_foreign_geopackage_layer_is_written_afresh(built, tmp_path):
    """A GeoPackage whose station layer has another name (another tool's file, our fields): its rows replaced."""
    src = tmp_path / "other.gpkg"
    read(built["gpkg"]).to_file(src, layer="bureaux")
    result = refresh(src, tmp_path / "out.gpkg", layer="bureaux")
    assert result.check is None  # no communes layer, none given
    assert_refreshed(tmp_path / "out.gpkg", "bureaux")
