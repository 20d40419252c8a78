"""Reading address tables and outlines: formats, encodings, column detection, clear errors."""

import gzip

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from boundaries.errors import InputError
from boundaries.read import AddressColumns, read_addresses, read_communes

HEADER = "code_commune_ref,id_brut_bv_reu,longitude,latitude,geo_type,geo_score,nb_adresses\n"
ROWS = "04112,04112_1,6.23,44.09,housenumber,0.9,2\n2A004,2A004_3,8.73,41.92,street,0.5,\n04112,04112_1,,,,,1\n"


def test_reu_csv_keeps_codes_as_strings(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + ROWS)
    _table = read_addresses(path)
    df, crs = _table.rows, _table.crs
    assert crs == "EPSG:4326"
    assert list(df["commune"]) == ["04112", "2A004", "04112"]
    assert list(df["station"]) == ["04112_1", "2A004_3", "04112_1"]
    assert df["x"].iloc[0] == pytest.approx(6.23) and np.isnan(df["x"].iloc[2])
    assert list(df["weight"]) == [2.0, 1.0, 1.0]  # a missing nb_adresses counts once
    assert list(df["geo_type"])[:2] == ["housenumber", "street"]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_separators_bom_and_latin1(tmp_path, sep):
    text = (HEADER + ROWS).replace(",", sep)
    path = tmp_path / "a.csv"
    path.write_bytes(("\ufeff" + text.replace("street", "rue-é")).encode("utf-8"))
    df = read_addresses(path).rows
    assert list(df["commune"]) == ["04112", "2A004", "04112"]
    path.write_bytes(text.replace("street", "rue-é").encode("cp1252"))
    df = read_addresses(path).rows
    assert df["geo_type"].iloc[1] == "rue-é"


def test_gzip_and_parquet(tmp_path):
    gz = tmp_path / "a.csv.gz"
    with gzip.open(gz, "wt") as f:
        f.write(HEADER + ROWS)
    df = read_addresses(gz).rows
    assert len(df) == 3
    pq = tmp_path / "a.parquet"
    pd.read_csv(gz, dtype=str).to_parquet(pq)
    df2 = read_addresses(pq).rows
    assert list(df2["commune"]) == list(df["commune"])
    assert np.allclose(df2["y"].fillna(0), df["y"].fillna(0))


def test_generic_point_table_with_named_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("bureau;insee;X;Y\nA1;94028;652000.5;6857000\nA2;94028;653000;6858000\n")
    _table = read_addresses(
        path, AddressColumns(station="bureau", commune="insee", x="X", y="Y"), crs="EPSG:2154"
    )
    df, crs = _table.rows, _table.crs
    # a bare station code is qualified by its commune: two communes never share a station id
    assert crs == "EPSG:2154" and list(df["station"]) == ["94028_A1", "94028_A2"] and df["x"].iloc[0] == 652000.5
    assert list(df["weight"]) == [1.0, 1.0]


def test_commune_derived_from_station_id_when_column_absent(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id_brut_bv_reu,longitude,latitude\n04112_1,6.2,44.1\n2A004_2,8.7,41.9\n")
    df = read_addresses(path).rows
    assert list(df["commune"]) == ["04112", "2A004"]


def test_decimal_commas(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('code_commune_ref;id_brut_bv_reu;longitude;latitude\n94028;94028_1;2,45;48,79\n')
    df = read_addresses(path).rows
    assert df["x"].iloc[0] == pytest.approx(2.45)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        (HEADER, "no rows"),
        ("code_commune_ref,longitude,latitude\n94028,2.4,48.8\n", "id_column"),
        ("code_commune_ref,id_brut_bv_reu,lat\n94028,94028_1,48.8\n", "x_column"),
    ],
)
def test_bad_tables_raise_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        read_addresses(path)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_addresses(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="not found"):
        read_communes(tmp_path / "nope.geojson")


def _outlines(**props):
    return gpd.GeoDataFrame(props, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs="EPSG:4326")


@pytest.mark.parametrize("field", ["code", "CODE_INSEE", "INSEE_COM", "insee", "codgeo"])
def test_commune_field_detected(tmp_path, field):
    path = tmp_path / "c.geojson"
    _outlines(**{field: ["04112", "04001"], "NOM": ["A", "B"]}).to_file(path)
    layer = read_communes(path)
    out, repaired = layer.outlines, layer.repaired
    assert list(out["code"]) == ["04001", "04112"] and list(out["nom"]) == ["B", "A"] and repaired == 0


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_outline_errors(tmp_path):
    path = tmp_path / "c.geojson"
    _outlines(name=["x", "y"]).to_file(path)
    with pytest.raises(InputError, match="with commune_field"):
        read_communes(path)
    with pytest.raises(InputError, match="no field 'zz'"):
        read_communes(path, commune_field="zz")
    shp = tmp_path / "c.shp"
    g = _outlines(code=["04112", "04001"])
    g.set_crs(None, allow_override=True).to_file(shp)
    with pytest.raises(InputError, match="no CRS"):
        read_communes(shp)
    notvector = tmp_path / "c.txt"
    notvector.write_text("hello")
    with pytest.raises(InputError, match="vector"):
        read_communes(notvector)


def test_invalid_outline_repaired_and_split_outline_merged():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    g = gpd.GeoDataFrame(
        {"code": ["04112", "04001", "04001"]},
        geometry=[bowtie, shapely.box(2, 0, 3, 1), shapely.box(3, 0, 4, 1)],
        crs="EPSG:4326",
    )
    layer = read_communes(g)
    out, repaired = layer.outlines, layer.repaired
    assert repaired == 1 and shapely.is_valid(out.geometry.values).all()
    assert list(out["code"]) == ["04001", "04112"]
    assert out.geometry.iloc[0].area == pytest.approx(2)


@pytest.mark.parametrize("encoding,sep", [("utf-8-sig", ","), ("utf-8", ";"), ("cp1252", "\t")])
def test_fast_csv_reader_reads_what_the_checked_reader_reads(tmp_path, encoding, sep):
    """Arrow's CSV reader (the fast path) and the pandas one (the checked path) give the same frame."""
    from boundaries.read import csv_chunks, read_table

    rows = [["code_commune_ref", "id_brut_bv_reu", "geo_adresse", "longitude", "latitude", "nb_adresses"],
            ["29001", "29001_1", f'"3 rue de l{sep}Église, bât. B 29000 Quimper"', "-4.1", "48.2", ""],
            ["4112", "4112_2", '"1 Rue ""Haute""\n(2e ligne) 04000 Digne"', "6.2", "44.1", "3"],
            ["29002", "29002_1", "", "", "48.3", "1"],
            ["94028", "94028_1", "Allée des Érables 94000 Créteil", "2.4", "48.8", "2"]]
    path = tmp_path / "table.csv"
    path.write_bytes("\n".join(sep.join(r) for r in rows).encode(encoding) + b"\n")
    from boundaries.read import arrow_csv_batches, csv_header

    assert sum(b.num_rows for b in arrow_csv_batches(path, csv_header(path))) == 4  # the fast path took it
    fast, _, _ = read_table(path)
    checked = pd.concat(list(csv_chunks(path)), ignore_index=True)
    assert fast.equals(checked) and list(fast.dtypes) == list(checked.dtypes)
    assert fast["geo_adresse"].iloc[1] == '1 Rue "Haute"\n(2e ligne) 04000 Digne'
    assert pd.isna(fast["longitude"].iloc[2])
    kept, _, skipped = read_table(path, ("04", "29"))  # filtered while read, the lost zero restored
    assert kept["id_brut_bv_reu"].tolist() == ["29001_1", "4112_2", "29002_1"]
    assert skipped == 1
