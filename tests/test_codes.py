import numpy as np
import pytest

from boundaries import codes


@pytest.mark.parametrize(
    "commune, dep",
    [("94028", "94"), ("04112", "04"), ("2A004", "2A"), ("2B033", "2B"), ("97411", "974"), ("97611", "976")],
)
def test_departement_of(commune, dep):
    assert codes.departement_of(commune) == dep
    assert list(codes.departement_of(np.array([commune, "01001"], dtype=object))) == [dep, "01"]


@pytest.mark.parametrize(
    "dep, crs",
    [("94", "EPSG:2154"), ("2A", "EPSG:2154"), ("971", "EPSG:5490"), ("972", "EPSG:5490"),
     ("973", "EPSG:2972"), ("974", "EPSG:2975"), ("976", "EPSG:4471")],
)
def test_territory_crs(dep, crs):
    assert codes.territory_crs(dep) == crs


def test_code_bv_pads_numbers_and_keeps_other_codes():
    out = codes.code_bv(["94028", "04112", "2A004"], ["12", "1", "A"])
    assert list(out) == ["94028_0012", "04112_0001", "2A004_A"]


def test_station_number_and_sort_key():
    nums = codes.station_number(["94028_12", "94028_2", "94028_A", "29039_10"])
    assert list(nums) == ["12", "2", "A", "10"]
    order = np.argsort(codes.number_sort_key(nums), kind="stable")
    assert list(np.asarray(nums)[order]) == ["2", "10", "12", "A"]


def test_code_validators():
    assert codes.is_departement_code("2A") and codes.is_departement_code("974")
    assert not codes.is_departement_code("4") and not codes.is_departement_code("2C")
    assert codes.is_commune_code("04112") and codes.is_commune_code("2B033")
    assert not codes.is_commune_code("4112")


def test_plm_arrondissements_map_to_city():
    assert codes.ARRONDISSEMENT_CITY["75112"] == "75056"
    assert codes.ARRONDISSEMENT_CITY["69385"] == "69123"
    assert codes.ARRONDISSEMENT_CITY["13216"] == "13055"
    assert len(codes.PLM_CITIES["75056"]) == 20


def test_canonical_station_matches_reu_and_results_forms():
    out = codes.canonical_station(["94068_7", "94068_0007", "2A004_10", "29039_0", "29039_000", "X1", None])
    assert list(out[:5]) == ["94068_7", "94068_7", "2A004_10", "29039_0", "29039_0"]
    assert out[5] == "X1" and out[6] is None
    assert list(codes.commune_of_station(["94068_7", "2B033_1", "bad"])) == ["94068", "2B033", None]
