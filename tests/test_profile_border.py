"""``boundaries profile`` at the stations' edge, with many columns, and the source field it matches.

- A source area only partly inside the stations carries its covered share of its count,
  never its whole count onto the few addresses of it that lie inside (review 29, finding 3:
  a Paris IRIS carried whole onto a Gentilly station): conservation on the covered part.
- A data table of more than a hundred columns gives no pandas PerformanceWarning
  (review 29, papercut 4): the run is warning-free.
- ``key`` without ``source_key``: the source field whose codes match the most, even when
  another is named like the key, said in a warning (review 29, papercut 5).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.profile import profile, write_profile

#: Lambert-93 origin of the synthetic layers (central France).
X0, Y0 = 650_000.0, 6_600_000.0


def _stations(rects) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id_bv": [f"99001_{i + 1}" for i in range(len(rects))]}, geometry=list(rects), crs=2154)


def _addresses(pts, weights) -> pd.DataFrame:
    return pd.DataFrame({"code_commune_ref": "99001", "id_brut_bv_reu": "99001_1", "x": pts[:, 0], "y": pts[:, 1],
                         "nb_adresses": weights})


@st.composite
def partial_cover(draw):
    """Source squares over a field; stations over a random part of it (some may overlap); points in them."""
    n, size = draw(st.integers(1, 4)), draw(st.integers(60, 2000))
    squares = [shapely.box(X0 + i * size, Y0 + j * size, X0 + (i + 1) * size, Y0 + (j + 1) * size)
               for i in range(n) for j in range(n)]
    counts = np.array(draw(st.lists(st.floats(0, 1e6, allow_nan=False) | st.integers(0, 10**5).map(float),
                                    min_size=n * n, max_size=n * n)))
    rects = []
    for _ in range(draw(st.integers(1, 5))):  # anywhere across the squares' edges, overlapping or not
        x, y = draw(st.floats(-0.5, n - 0.2)), draw(st.floats(-0.5, n - 0.2))
        w, h = draw(st.floats(0.05, n)), draw(st.floats(0.05, n))
        rects.append(shapely.box(X0 + x * size, Y0 + y * size, X0 + (x + w) * size, Y0 + (y + h) * size))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    inside = shapely.union_all(rects)
    pts = shapely.get_coordinates(shapely.points(rng.uniform(X0 - size, X0 + (n + 1) * size, (200, 2))))
    pts = pts[shapely.contains_xy(inside, pts[:, 0], pts[:, 1])][: draw(st.integers(0, 60))]  # the stations' own
    return squares, counts, rects, pts, rng.integers(1, 50, len(pts)).astype(float)


def _covered(squares, rects) -> np.ndarray:
    """Each square's share inside the stations' territory (their union, gaps under 2 × 50 m closed), apart from the code."""
    from boundaries.profile import TERRITORY_CLOSING_M as d

    territory = shapely.buffer(shapely.buffer(shapely.union_all(rects), d, join_style="mitre"), -d, join_style="mitre")
    return shapely.area(shapely.intersection(squares, territory)) / shapely.area(squares)


@settings(deadline=None)
@given(partial_cover(), st.sampled_from(["addresses", "area"]))
def test_only_the_covered_part_is_carried(case, weights):
    """The stations hold each source area's count × its covered share: not more, however the addresses lie."""
    squares, counts, rects, pts, w = case
    src = gpd.GeoDataFrame({"POP": counts}, geometry=squares, crs=2154)
    result = profile(_stations(rects), src, addresses=_addresses(pts, w) if len(pts) else None, weights=weights,
                     crs="EPSG:2154")
    covered = _covered(squares, rects)
    expected = float((counts * covered).sum())
    assert result.table["POP"].sum() == pytest.approx(expected, rel=1e-9, abs=1e-6)
    totals = result.totals["POP"]
    assert totals["stations"] == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert totals["sources_covered"] == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert totals["sources"] == pytest.approx(float(counts[covered > 0].sum()), rel=1e-9)
    assert (result.table["POP"] >= -1e-9).all()


def test_an_area_across_the_edge_gives_its_covered_share_only():
    """Review 29: an IRIS 2 % inside the stations, holding 6 of their addresses, gave them all its people."""
    station = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    across = shapely.box(X0 + 980, Y0, X0 + 1980, Y0 + 1000)  # 2 % of it inside the station
    pts = np.column_stack([np.full(6, X0 + 990.0), Y0 + np.linspace(100, 900, 6)])
    src = gpd.GeoDataFrame({"POP": [4407.0]}, geometry=[across], crs=2154)
    result = profile(_stations([station]), src, addresses=_addresses(pts, np.ones(6)), crs="EPSG:2154")
    assert result.table["POP"].iloc[0] == pytest.approx(4407 * 0.02)
    assert result.totals["POP"] == pytest.approx({"stations": 4407 * 0.02, "sources_covered": 4407 * 0.02,
                                                  "sources": 4407.0})


def test_the_command_says_the_carried_and_the_source_totals(tmp_path):
    station = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    _stations([station]).to_file(tmp_path / "stations.gpkg")
    gpd.GeoDataFrame({"POP": [100.0, 50.0]}, geometry=[station, shapely.box(X0 + 500, Y0, X0 + 1500, Y0 + 1000)],
                     crs=2154).to_file(tmp_path / "src.gpkg")
    res = CliRunner().invoke(main, ["profile", str(tmp_path / "stations.gpkg"), "--source", str(tmp_path / "src.gpkg"),
                                    "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output
    assert "POP: 125 on the stations, 125 in the source areas' part inside them (150 in the whole areas" in res.output


# ------------------------------------------------------------------ many columns: no warning

def _quiet_profile(*args, **kwargs):
    """profile() with every warning an error but DeprecationWarnings: Python hides those from users,
    and the ones here come from maup's own use of pandas."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", DeprecationWarning)
        return profile(*args, **kwargs)


@settings(deadline=None)
@given(st.integers(101, 130), st.booleans(), st.sampled_from(["addresses", "area"]))
def test_many_columns_give_no_warning(n, code_bv, weights):
    """A hundred count columns and more (base-ic has 114): no pandas PerformanceWarning, no warning at all."""
    squares = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
    columns = [f"C{i}" for i in range(n)]
    values = np.arange(3 * n, dtype=float).reshape(3, n)
    src = gpd.GeoDataFrame(pd.DataFrame(values, columns=columns), geometry=squares, crs=2154)
    stations = _stations([shapely.box(X0, Y0, X0 + 150, Y0 + 100), shapely.box(X0 + 150, Y0, X0 + 300, Y0 + 100)])
    if code_bv:
        stations["code_bv"] = ["99001_0001", "99001_0002"]
    result = _quiet_profile(stations, src, addresses=_addresses(np.array([[X0 + 50, Y0 + 50]]), np.ones(1)),
                            weights=weights, crs="EPSG:2154")
    assert list(result.table.columns[-n:]) == columns and list(result.stations.columns[-n:]) == columns
    assert result.table[columns].sum().to_numpy() == pytest.approx(values.sum(axis=0))


@pytest.mark.parametrize("suffix", [".csv", ".gpkg"])
def test_a_table_as_wide_as_base_ic_gives_no_warning(tmp_path, suffix):
    """The 114 columns of INSEE's base-ic activity table, read from a CSV, written out: no warning."""
    squares = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
    gpd.GeoDataFrame({"CODE": ["A", "B", "C"]}, geometry=squares, crs=2154).to_file(tmp_path / "src.gpkg")
    columns = [f"P16_C{i}" for i in range(114)]
    rows = [";".join([code] + [str(i + j) for j in range(114)]) for i, code in enumerate("ABC")]
    (tmp_path / "data.csv").write_text(";".join(["IRIS"] + columns) + "\n" + "\n".join(rows) + "\n",
                                       encoding="utf-8")
    stations = _stations([shapely.box(X0, Y0, X0 + 300, Y0 + 100)])
    result = _quiet_profile(stations, tmp_path / "src.gpkg", tmp_path / "data.csv", "IRIS", crs="EPSG:2154")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_profile(result, str(tmp_path / f"out{suffix}"))
    assert list(result.table.columns[-114:]) == columns and result.table["P16_C0"].sum() == pytest.approx(3.0)


# ------------------------------------------------------------------ which source field matches the key

@settings(deadline=None)
@given(st.integers(1, 12), st.data())
def test_the_field_matching_the_most_is_taken(n, data):
    """The field named like the key is taken only when no other matches more; else a warning names both."""
    named, other = (data.draw(st.just(n) | st.integers(0, n)) for _ in range(2))  # often whole: a profile
    first = data.draw(st.booleans())  # the other field before or after the one named like the key
    codes = [f"75101{i:04d}" for i in range(n)]
    fields = {"IRIS": [c if i < named else f"{i:04d}" for i, c in enumerate(codes)],
              "DCOMIRIS": [c if i < other else f"X{i}" for i, c in enumerate(codes)]}
    if first:
        fields = dict(reversed(list(fields.items())))
    squares = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(n)]
    src = gpd.GeoDataFrame(fields, geometry=squares, crs=2154)
    table = pd.DataFrame({"IRIS": codes, "POP": [float(i + 1) for i in range(n)]})
    stations = _stations([shapely.box(X0, Y0, X0 + 100 * n, Y0 + 100)])
    if named == other == 0:
        with pytest.raises(InputError, match="no code of the data's column 'IRIS'.*source_key"):
            _profile_table(stations, src, table)
        return
    if max(named, other) < n:
        with pytest.raises(InputError, match="has no row in the data"):  # the areas no code matched
            _profile_table(stations, src, table)
        return
    result = _profile_table(stations, src, table)
    chosen = "IRIS" if named >= other else "DCOMIRIS"
    assert result.source_key == chosen
    if chosen == "IRIS":
        assert result.warnings == []
    else:
        (line,) = result.warnings
        assert "'DCOMIRIS'" in line and "'IRIS'" in line and "source_key='IRIS'" in line and "\n" not in line
    assert result.table["POP"].sum() == pytest.approx(n * (n + 1) / 2)


def _profile_table(stations, src, table):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        table.to_csv(path, index=False)
        return profile(stations, src, path, "IRIS")


def test_the_command_names_the_field_and_its_flag(tmp_path):
    squares = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(2)]
    gpd.GeoDataFrame({"IRIS": ["0101", "0102"], "DCOMIRIS": ["751010101", "751010102"]}, geometry=squares,
                     crs=2154).to_file(tmp_path / "iris.gpkg")
    (tmp_path / "data.csv").write_text("IRIS,POP\n751010101,10\n751010102,20\n", encoding="utf-8")
    _stations([shapely.box(X0, Y0, X0 + 200, Y0 + 100)]).to_file(tmp_path / "stations.gpkg")
    base = ["profile", str(tmp_path / "stations.gpkg"), "--source", str(tmp_path / "iris.gpkg"), "--data",
            str(tmp_path / "data.csv"), "--key", "IRIS", "-o", str(tmp_path / "p.csv")]
    res = CliRunner().invoke(main, base + ["--json"])
    assert res.exit_code == 0, res.output
    assert "boundaries: warning: source areas matched on their field 'DCOMIRIS'" in res.stderr
    assert "give --source-key IRIS to match on it" in res.stderr
    import json

    summary = json.loads(res.stdout)
    assert summary["source_key"] == "DCOMIRIS" and "--source-key IRIS" in summary["warnings"][0]
    res = CliRunner().invoke(main, base + ["--source-key", "IRIS"])
    assert res.exit_code == 2 and "field IRIS; name the field with --source-key" in res.output


@pytest.mark.shared
def test_paris_census_matches_dcomiris(tmp_path):
    """Review 29: paris-census's IRIS field holds 4 digits, DCOMIRIS the 9 of the table's key."""
    from conftest import shared_path

    census, bureaux = shared_path("paris-census"), shared_path("paris-2017", "bureaux.geojson")
    raw = gpd.read_file(bureaux)
    stations = gpd.GeoDataFrame({"id_bv": [f"751{int(a):02d}_{int(n)}" for a, n in
                                           zip(raw["arrondissement"], raw["num_bv"])]},
                                geometry=raw.geometry.values, crs=raw.crs)
    stations.to_file(tmp_path / "paris.gpkg")
    res = CliRunner().invoke(main, ["profile", str(tmp_path / "paris.gpkg"), "--source",
                                    str(census / "iris-2013.gpkg"), "--data", str(census / "rp2011-cs8.csv"),
                                    "--key", "IRIS", "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output
    assert "matched on their field 'DCOMIRIS' (992 of 992" in res.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(stations)


@settings(deadline=None)
@given(street=st.floats(1.0, 90.0), count=st.floats(1.0, 1e5))
def test_a_street_between_sectors_is_the_stations_land(street, count):
    """An official map leaves the streets out between its sectors: an IRIS across a street is carried whole."""
    west = shapely.box(X0, Y0, X0 + 500, Y0 + 500)
    east = shapely.box(X0 + 500 + street, Y0, X0 + 1000 + street, Y0 + 500)
    iris = shapely.box(X0, Y0, X0 + 1000 + street, Y0 + 500)
    src = gpd.GeoDataFrame({"POP": [count]}, geometry=[iris], crs=2154)
    result = profile(_stations([west, east]), src, weights="area", crs="EPSG:2154")
    assert result.table["POP"].sum() == pytest.approx(count, rel=1e-9)
