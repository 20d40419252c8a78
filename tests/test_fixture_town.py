"""The bundled synthetic example ``fixtures/town/`` and its generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOWN = FIXTURES / "town"
SCRIPT = FIXTURES / "make_town.py"
SEED = 20241
FILES = ("README.md", "addresses.csv", "communes.geojson", "stations_truth.geojson")
METRIC_CRS = "EPSG:2154"
AREA_TOLERANCE_M2 = 1.0
REU_COLUMNS = [
    "code_commune_ref",
    "reconstitution_code_commune",
    "id_brut_bv_reu",
    "id",
    "geo_adresse",
    "geo_type",
    "geo_score",
    "longitude",
    "latitude",
    "api_line",
    "nb_bv_commune",
    "nb_adresses",
]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("town")
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--seed", str(SEED)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def addresses() -> pd.DataFrame:
    return pd.read_csv(TOWN / "addresses.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    return gpd.read_file(TOWN / "communes.geojson").to_crs(METRIC_CRS)


@pytest.fixture(scope="module")
def stations() -> gpd.GeoDataFrame:
    return gpd.read_file(TOWN / "stations_truth.geojson").to_crs(METRIC_CRS)


@pytest.mark.parametrize("name", FILES)
def test_regeneration_is_byte_identical(regenerated: Path, name: str) -> None:
    assert (regenerated / name).read_bytes() == (TOWN / name).read_bytes(), (
        f"{name} differs from the committed fixture; rerun fixtures/make_town.py")


def test_no_unexpected_files(regenerated: Path) -> None:
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in TOWN.iterdir()) == sorted(FILES)


def test_communes_tile_the_region(communes: gpd.GeoDataFrame) -> None:
    assert list(communes["code"]) == ["99001", "99002", "99003", "99004"]
    assert communes.is_valid.all()
    assert shapely.coverage_is_valid(communes.geometry.to_numpy())
    union = shapely.union_all(communes.geometry.to_numpy())
    assert abs(communes.area.sum() - union.area) < AREA_TOLERANCE_M2


def test_stations_partition_their_commune(stations: gpd.GeoDataFrame,
                                          communes: gpd.GeoDataFrame) -> None:
    outline = dict(zip(communes["code"], communes.geometry))
    assert set(stations["code_commune"]) == set(outline)
    for code, group in stations.groupby("code_commune"):
        polygons = group.geometry.to_numpy()
        assert shapely.is_valid(polygons).all(), code
        union = shapely.union_all(polygons)
        assert abs(shapely.area(polygons).sum() - union.area) < AREA_TOLERANCE_M2, code
        assert shapely.symmetric_difference(union, outline[code]).area < AREA_TOLERANCE_M2, code


def test_station_identifiers(stations: gpd.GeoDataFrame, addresses: pd.DataFrame) -> None:
    for _, row in stations.iterrows():
        code, n = row["id_bv"].split("_")
        assert code == row["code_commune"]
        assert row["code_bv"] == f"{code}_{int(n):04d}"
    counts = addresses.groupby("id_brut_bv_reu").size()
    assert set(stations["id_bv"]) == set(counts.index)
    assert (stations.set_index("id_bv")["n_addresses_true"] == counts).all()


def test_geojson_is_rfc7946() -> None:
    for name in ("communes.geojson", "stations_truth.geojson"):
        text = (TOWN / name).read_text(encoding="utf-8")
        assert '"crs"' not in text
        frame = gpd.read_file(TOWN / name)
        for polygon in shapely.get_parts(frame.geometry.to_numpy()):
            assert shapely.is_ccw(polygon.exterior)
            assert not any(shapely.is_ccw(ring) for ring in polygon.interiors)


def test_addresses_layout(addresses: pd.DataFrame) -> None:
    assert list(addresses.columns) == REU_COLUMNS
    assert (addresses["reconstitution_code_commune"] == "").all()
    assert (addresses["api_line"] == "synthetic").all()
    assert addresses["id"].astype(int).is_unique
    station_number = addresses["id_brut_bv_reu"].str.split("_").str[1].astype(int)
    order = pd.DataFrame({"code": addresses["code_commune_ref"], "n": station_number,
                          "id": addresses["id"].astype(int)})
    assert order.equals(order.sort_values(["code", "n", "id"]))
    n_stations = addresses.groupby("code_commune_ref")["id_brut_bv_reu"].transform("nunique")
    assert (addresses["nb_bv_commune"].astype(int) == n_stations).all()


def test_noise_is_present(addresses: pd.DataFrame) -> None:
    geo_type = addresses["geo_type"]
    assert (geo_type == "street").sum() > 0
    assert (geo_type == "municipality").sum() > 0
    empty = addresses["longitude"] == ""
    assert empty.sum() > 0
    assert (addresses.loc[empty, "latitude"] == "").all()
    located = addresses[~empty]
    stations_per_point = located.groupby(["longitude", "latitude"])["id_brut_bv_reu"].nunique()
    assert (stations_per_point > 1).any()
