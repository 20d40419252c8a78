"""The Python API on synthetic communes: scope, territories, PLM, accounting."""

import numpy as np
import pandas as pd
import pytest
import shapely

import boundaries
from boundaries.checks import check_partition
from boundaries.errors import InputError

from helpers import grid_town, iou


def assert_accounted(result, addresses):
    r = result.report
    assert r.rows_read == len(addresses)
    assert r.rows_read == r.rows_out_of_scope + r.rows_used + sum(r.rows_dropped.values())
    assert r.stations_in == r.stations_out + len(r.stations_without_polygon)
    assert r.stations_out == len(result.stations)
    assert sum(c["rows_read"] for c in r.communes.values()) == r.rows_read - r.rows_out_of_scope


def partitions_ok(result, outlines, crs):
    st = result.stations.to_crs(crs)
    outl = outlines.to_crs(crs).set_index("code").geometry
    for code, group in st.groupby("code_commune"):
        check = check_partition(group.geometry.values, outl[code], area_tolerance_m2=5.0)
        assert check.ok, (code, check.problems())


@pytest.mark.parametrize(
    "prefix, crs, origin",
    [
        ("94", "EPSG:2154", (652000, 6850000)),  # Val-de-Marne, Lambert-93
        ("2A", "EPSG:2154", (1180000, 6100000)),  # Corse-du-Sud
        ("974", "EPSG:2975", (340000, 7660000)),  # La Réunion, UTM 40S
        ("971", "EPSG:5490", (650000, 1780000)),  # Guadeloupe, UTM 20N
        ("973", "EPSG:2972", (350000, 550000)),  # Guyane, UTM 22N
        ("976", "EPSG:4471", (515000, 8580000)),  # Mayotte, UTM 38S
    ],
)
def test_territories_rebuild_strips(prefix, crs, origin):
    addresses, outlines, truth = grid_town(prefix, crs, origin=origin, seed=1)
    result = boundaries.build(addresses, outlines)
    assert_accounted(result, addresses)
    assert result.report.rows_used == len(addresses)
    assert len(result.stations) == len(truth)
    partitions_ok(result, outlines, crs)
    got = result.stations.to_crs(crs).set_index("id_bv").geometry
    scores = [iou(got[i], g) for i, g in zip(truth["id_bv"], truth.geometry)]
    assert np.mean(scores) > 0.8
    assert result.stations["code_commune"].str.startswith(prefix).all()


def test_departement_and_commune_selection():
    a1, o1, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), seed=2)
    a2, o2, _ = grid_town("04", "EPSG:2154", origin=(950000, 6330000), seed=3)
    addresses, outlines = pd.concat([a1, a2]), pd.concat([o1, o2])
    only94 = boundaries.build(addresses, outlines, departement="94")
    assert set(only94.stations["code_commune"].str[:2]) == {"94"}
    assert only94.report.rows_out_of_scope == len(a2)
    assert_accounted(only94, addresses)
    one = boundaries.build(addresses, outlines, commune=["04002"])
    assert set(one.stations["code_commune"]) == {"04002"}
    assert list(one.stations["id_bv"]) == ["04002_1", "04002_2", "04002_3"]
    with pytest.raises(InputError, match="no address in département 13"):
        boundaries.build(addresses, outlines, departement="13")
    with pytest.raises(InputError, match="not a département code"):
        boundaries.build(addresses, outlines, departement="940")


def test_paris_arrondissements_built_in_city_outline_or_their_own():
    addresses, outlines, truth = grid_town("751", "EPSG:2154", origin=(645000, 6860000), seed=4)
    # the grid's codes are 75101..75104: arrondissements of Paris
    city = outlines.dissolve().assign(code="75056", nom="Paris")[["code", "nom", "geometry"]]
    in_city = boundaries.build(addresses, city)
    assert in_city.report.rows_used == len(addresses)
    assert sorted(in_city.stations["code_commune"].unique()) == ["75101", "75102", "75103", "75104"]
    assert in_city.stations["nom_commune"].isna().all()
    assert in_city.report.communes["75101"]["outline"] == "75056"
    merged = shapely.union_all(in_city.stations.to_crs(2154).geometry.values)
    assert check_partition(in_city.stations.to_crs(2154).geometry.values, city.to_crs(2154).geometry.iloc[0], 5.0).ok
    assert merged.area == pytest.approx(city.to_crs(2154).area.iloc[0], rel=1e-6)
    own = boundaries.build(addresses, outlines)
    assert own.report.communes["75101"]["outline"] == "75101"
    assert len(own.stations) == len(in_city.stations) == len(truth)
    # --commune 75056 selects the arrondissements
    sel = boundaries.build(addresses, city, commune="75056")
    assert len(sel.stations) == len(truth)


def test_noise_is_dropped_and_reported():
    addresses, outlines, truth = grid_town("94", "EPSG:2154", origin=(652000, 6850000), n=1, seed=5)
    extra = pd.DataFrame(
        {
            "code_commune_ref": ["94001", "94001", "94001", "94099", "94001"],
            "id_brut_bv_reu": ["94001_1", "94001_4", "94001_2", "94099_1", "94001_3"],
            "longitude": [np.nan, np.nan, 3.5, 2.4, addresses.longitude.iloc[0]],
            "latitude": [np.nan, np.nan, 48.0, 48.8, addresses.latitude.iloc[0]],
            "geo_type": [None, None, "housenumber", "housenumber", "housenumber"],
            "geo_score": [np.nan, np.nan, 0.9, 0.9, 0.1],
            "nb_adresses": [1, 1, 1, 1, 1],
        }
    )
    data = pd.concat([addresses, extra], ignore_index=True)
    result = boundaries.build(data, outlines)
    r = result.report
    assert_accounted(result, data)
    assert r.rows_dropped["no_coordinates"] == 2
    assert r.rows_dropped["outside_commune"] == 1
    assert r.rows_dropped["commune_without_outline"] == 1
    assert r.rows_dropped["contested_coordinate"] == 1  # station 3's row on station 1's first point
    assert r.communes_without_outline == ["94099"]
    missing = {s["id_bv"]: s["reason"] for s in r.stations_without_polygon}
    assert missing == {"94001_4": "all_rows_dropped", "94099_1": "commune_without_outline"}
    row = result.stations.set_index("id_bv").loc["94001_2"]
    assert row["n_dropped"] == 1 and row["n_addresses"] == 40


def test_single_station_commune_gets_its_outline():
    addresses, outlines, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), n=1, seed=6,
                                       stations_per_commune=1)
    result = boundaries.build(addresses, outlines)
    assert list(result.stations["method"]) == ["commune"]
    got = result.stations.to_crs(2154).geometry.iloc[0]
    assert iou(got, outlines.to_crs(2154).geometry.iloc[0]) > 0.999999


def test_output_is_sorted_and_deterministic():
    addresses, outlines, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), seed=7,
                                       stations_per_commune=12, points_per_station=10)
    a = boundaries.build(addresses, outlines).stations
    b = boundaries.build(addresses.sample(frac=1, random_state=3), outlines).stations
    assert list(a["id_bv"][:3]) == ["94001_1", "94001_2", "94001_3"]
    assert list(a["id_bv"][9:12]) == ["94001_10", "94001_11", "94001_12"]
    assert list(a.columns) == boundaries.pipeline.STATION_COLUMNS + ["geometry"]
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-9).all()


def test_broken_partition_stops_the_build_naming_the_commune(monkeypatch, tmp_path):
    """A tessellation bug must never reach the output: exit 3, the commune named, no file."""
    from click.testing import CliRunner

    import boundaries.tessellate as tessellate
    from boundaries.cli import main

    def broken(xy, station, outline, margin_m):
        keys = np.unique(station)
        return keys, np.array([shapely.box(*outline.bounds)] * len(keys), dtype=object)  # overlapping

    monkeypatch.setattr(tessellate, "voronoi_partition", broken)
    addresses, outlines, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), n=1, seed=8)
    # voronoi: hull's overlay would fall back to (these) cells only where its own pieces fail to add up
    with pytest.raises(boundaries.PartitionError, match="commune 94001"):
        boundaries.build(addresses, outlines, method="voronoi")
    a, c, out = tmp_path / "a.csv", tmp_path / "c.geojson", tmp_path / "out.geojson"
    addresses.to_csv(a, index=False)
    outlines.to_file(c)
    res = CliRunner().invoke(main, ["build", str(a), "--communes", str(c), "-o", str(out), "--method", "voronoi"])
    assert res.exit_code == 3
    assert "commune 94001" in res.output and "overlap" in res.output and "Traceback" not in res.output
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_files_are_filtered_by_departement_while_read(tmp_path, monkeypatch, fmt):
    """A national table is never read whole for one département: CSV in chunks, Parquet by a filter."""
    import boundaries.read

    a1, o1, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), seed=2)
    a2, o2, _ = grid_town("04", "EPSG:2154", origin=(950000, 6330000), seed=3)
    table = pd.concat([a2, a1, a2.assign(id="x")], ignore_index=True)  # 94 in the middle of the file
    path = tmp_path / f"national.{fmt}"
    table.to_csv(path, index=False) if fmt == "csv" else table.to_parquet(path)
    monkeypatch.setattr(boundaries.read, "CSV_CHUNK_ROWS", 97)  # many chunks, 94 across their borders
    read = boundaries.read.read_addresses(path, commune_prefixes=("94",))
    assert len(read.rows) == len(a1) and read.rows_skipped == 2 * len(a2)
    outlines = pd.concat([o1, o2])
    from_file = boundaries.build(path, outlines, departement="94")
    in_memory = boundaries.build(a1, o1)
    assert from_file.report.rows_read == len(table)
    assert from_file.report.rows_out_of_scope == 2 * len(a2)
    assert_accounted(from_file, table)
    assert list(from_file.stations["id_bv"]) == list(in_memory.stations["id_bv"])
    assert from_file.stations.geometry.geom_equals_exact(in_memory.stations.geometry, 1e-9).all()
