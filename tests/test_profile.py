"""``boundaries profile``: counts of other areas carried onto stations (issue 20, part 1).

Conservation on random grids of source squares and station rectangles, address against
area weighting where they must differ (a park), the refusals (one line, exit 2, nothing
written) and determinism (the same bytes twice).
"""

from __future__ import annotations

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
from boundaries.profile import profile

#: Lambert-93 origin of the synthetic layers (central France).
X0, Y0 = 650_000.0, 6_600_000.0


def _cuts(draw, n: int, size: float) -> np.ndarray:
    """``n`` parts of [0, size] at random places (at least 1 m each)."""
    inner = draw(st.lists(st.integers(1, int(size) - 1), min_size=n - 1, max_size=n - 1, unique=True))
    return np.array([0.0, *sorted(inner), size])


@st.composite
def grids(draw):
    """A source grid of squares, station rectangles (columns cut into rows), counts and address points."""
    w, h = draw(st.integers(50, 3000)), draw(st.integers(50, 3000))
    gx, gy = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    xs, ys = np.linspace(0, w, gx + 1), np.linspace(0, h, gy + 1)
    squares = [shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, c in zip(xs[:-1], xs[1:])
               for b, d in zip(ys[:-1], ys[1:])]
    cols = _cuts(draw, draw(st.integers(1, min(4, w - 1))), w)
    rects = []
    for a, c in zip(cols[:-1], cols[1:]):
        rows = _cuts(draw, draw(st.integers(1, min(3, h - 1))), h)
        rects += [shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for b, d in zip(rows[:-1], rows[1:])]
    counts = draw(st.lists(st.floats(0, 1e7, allow_nan=False) | st.integers(0, 10**6).map(float),
                           min_size=len(squares), max_size=len(squares)))
    n = draw(st.integers(0, 60))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    pts = np.column_stack([X0 + rng.uniform(0.5, w - 0.5, n), Y0 + rng.uniform(0.5, h - 0.5, n)])
    on_edges = draw(st.integers(0, n))  # on the squares' and the stations' shared edges, where both hold them
    edges_x = np.concatenate([xs, cols])
    pts[:on_edges, 0] = X0 + edges_x[rng.integers(0, len(edges_x), on_edges)]
    pts[:on_edges:2, 1] = Y0 + ys[rng.integers(0, len(ys), len(pts[:on_edges:2]))]
    weights = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    return squares, rects, np.array(counts), pts, np.array(weights, dtype=float)


def _layers(squares, rects, counts, pts, weights):
    src = gpd.GeoDataFrame({"code": [f"0{i}" for i in range(len(squares))], "POP": counts},
                           geometry=squares, crs=2154)
    ids = [f"99001_{i + 1}" for i in range(len(rects))]
    stations = gpd.GeoDataFrame({"id_bv": ids}, geometry=rects, crs=2154)
    addresses = pd.DataFrame({"code_commune_ref": "99001", "id_brut_bv_reu": "99001_1", "x": pts[:, 0],
                              "y": pts[:, 1], "nb_adresses": weights})
    return src, stations, addresses


@settings(deadline=None)
@given(grids(), st.sampled_from(["addresses", "area"]))
def test_counts_are_conserved(grid, weights):
    """The stations' sum of a count is the source areas' sum, whatever the grid, the cuts and the points."""
    src, stations, addresses = _layers(*grid)
    result = profile(stations, src, addresses=addresses if len(addresses) else None, weights=weights,
                     crs="EPSG:2154")
    assert list(result.table["id_bv"]) == list(stations["id_bv"])
    assert result.table["POP"].sum() == pytest.approx(src["POP"].sum(), rel=1e-9, abs=1e-6)
    assert result.totals["POP"]["sources"] == pytest.approx(src["POP"].sum())
    share = result.table["area_fallback_share"]
    assert ((share >= -1e-12) & (share <= 1 + 1e-12)).all()
    if weights == "area" or len(addresses) == 0:
        assert result.fallback_share in (0.0, 1.0)


def test_a_park_holds_no_voter():
    """One area across a park and a block: address weights give the block everything, area weights half."""
    park = shapely.box(X0, Y0, X0 + 500, Y0 + 500)
    block = shapely.box(X0 + 500, Y0, X0 + 1000, Y0 + 500)
    rng = np.random.default_rng(1)
    pts = np.column_stack([X0 + rng.uniform(510, 990, 40), Y0 + rng.uniform(10, 490, 40)])
    src, stations, addresses = _layers([shapely.box(X0, Y0, X0 + 1000, Y0 + 500)], [park, block],
                                       np.array([1000.0]), pts, np.ones(40))
    by_address = profile(stations, src, addresses=addresses, crs="EPSG:2154").table
    by_area = profile(stations, src, addresses=addresses, weights="area", crs="EPSG:2154").table
    assert list(by_address["POP"]) == pytest.approx([0.0, 1000.0])
    assert list(by_area["POP"]) == pytest.approx([500.0, 500.0])
    assert list(by_address["area_fallback_share"]) == [0.0, 0.0]
    assert list(by_area["area_fallback_share"]) == [1.0, 1.0]


def test_an_area_without_address_falls_back_to_area():
    """An area holding no address is shared by area, and says so per station."""
    left, right = shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)
    src, stations, addresses = _layers([left, right], [shapely.box(X0, Y0, X0 + 150, Y0 + 100),
                                                       shapely.box(X0 + 150, Y0, X0 + 200, Y0 + 100)],
                                       np.array([100.0, 100.0]), np.array([[X0 + 20, Y0 + 50]]), np.ones(1))
    result = profile(stations, src, addresses=addresses, crs="EPSG:2154")
    assert list(result.table["POP"]) == pytest.approx([150.0, 50.0])
    assert list(result.table["area_fallback_share"]) == pytest.approx([50 / 150, 1.0])
    assert result.sources_without_address == 1 and result.fallback_share == pytest.approx(0.5)


def test_an_intensive_column_is_averaged_with_its_weight():
    left, right = shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)
    src, stations, _ = _layers([left, right], [shapely.box(X0, Y0, X0 + 200, Y0 + 100)], np.array([100.0, 300.0]),
                               np.empty((0, 2)), np.empty(0))
    src["RATE"] = [0.1, 0.3]
    table = profile(stations, src, intensive=["RATE:POP"]).table
    assert table["RATE"].iloc[0] == pytest.approx((0.1 * 100 + 0.3 * 300) / 400)
    with pytest.raises(InputError, match="'RATE' is of unknown kind"):
        profile(stations, src, extensive=["POP"])


# ------------------------------------------------------------------ the command: files, refusals, bytes

@pytest.fixture
def files(tmp_path):
    """A source layer (.gpkg), a ;-separated data table with codes of leading zeros, stations and addresses."""
    squares = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
    src = gpd.GeoDataFrame({"CODE_IRIS": ["0001", "0002", "0003"]}, geometry=squares, crs=2154)
    src.to_file(tmp_path / "iris.gpkg")
    (tmp_path / "data.csv").write_text("IRIS;DEP;LIBIRIS;P16_POP;TX\n0001;75;A;10;0,1\n0002;75;B;20;0,2\n"
                                       "0003;75;C;30;0,3\n", encoding="utf-8")
    rects = [shapely.box(X0, Y0, X0 + 150, Y0 + 100), shapely.box(X0 + 150, Y0, X0 + 300, Y0 + 100)]
    gpd.GeoDataFrame({"id_bv": ["99001_1", "99001_2"], "code_bv": ["99001_0001", "99001_0002"]},
                     geometry=rects, crs=2154).to_file(tmp_path / "stations.gpkg")
    _, _, addresses = _layers(squares, rects, np.zeros(3), np.array([[X0 + 50, Y0 + 50], [X0 + 250, Y0 + 50]]),
                              np.array([3.0, 1.0]))
    addresses.to_csv(tmp_path / "addresses.csv", index=False)
    return tmp_path


def _run(folder, *args, output="out.csv"):
    base = ["profile", str(folder / "stations.gpkg"), "--source", str(folder / "iris.gpkg"), "--crs", "EPSG:2154", "--data",
            str(folder / "data.csv"), "--key", "IRIS", "--addresses", str(folder / "addresses.csv"),
            "-o", str(folder / output)]
    return CliRunner().invoke(main, base + list(args))


def test_the_command_writes_a_table_keyed_by_station(files):
    res = _run(files, "--intensive", "TX:P16_POP")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(files / "out.csv", dtype={"id_bv": str, "code_bv": str})
    assert list(table.columns) == ["id_bv", "code_bv", "area_fallback_share", "P16_POP", "TX"]
    assert table["P16_POP"].sum() == pytest.approx(60.0)
    assert list(table["P16_POP"]) == pytest.approx([10 + 20 * 0.5, 20 * 0.5 + 30])  # 0002 holds no address


@pytest.mark.parametrize("suffix", [".csv", ".gpkg", ".geojson", ".fgb"])
def test_same_bytes_twice(files, suffix):
    for name in ("a", "b"):
        assert _run(files, output=name + suffix).exit_code == 0
    assert (files / ("a" + suffix)).read_bytes() == (files / ("b" + suffix)).read_bytes()
    if suffix != ".csv":
        layer = gpd.read_file(files / ("a" + suffix))
        assert {"id_bv", "code_bv", "area_fallback_share", "P16_POP"} <= set(layer.columns)


def _refused(res, folder, *words):
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert line.startswith("boundaries: error:") and "\n" not in line and "Traceback" not in line, line
    for word in words:
        assert word in line, line
    assert not (folder / "out.csv").exists()


def test_refusals(files):
    _refused(_run(files, "--extensive", "P16_POP"), files, "'TX' is of unknown kind", "--intensive")
    _refused(_run(files, "--columns", "LIBIRIS"), files, "'LIBIRIS'", "not numeric")
    _refused(_run(files, "--key", "NOPE"), files, "no column 'NOPE'", "--key")
    _refused(_run(files, "--source-key", "NOPE"), files, "'NOPE'", "--source-key")
    _refused(_run(files, "--intensive", "TX"), files, "COLUMN:WEIGHT_COLUMN")
    _refused(_run(files, "--intensive", "TX:NOPE"), files, "'NOPE'")
    (files / "data.csv").write_text("IRIS;P16_POP\n0001;10\n0002;20\n", encoding="utf-8")
    _refused(_run(files), files, "'0003'", "no row in the data")
    (files / "data.csv").write_text("IRIS;P16_POP\n1;10\n2;20\n3;30\n", encoding="utf-8")
    _refused(_run(files), files, "no code", "--source-key")  # leading zeros are kept: 1 is not 0001


def test_layers_that_do_not_overlap_or_have_no_crs(files):
    far = gpd.read_file(files / "iris.gpkg")
    far.geometry = far.geometry.translate(50_000, 0)
    far.to_file(files / "iris.gpkg")
    _refused(_run(files), files, "do not overlap")
    far.set_crs(None, allow_override=True).to_file(files / "iris.gpkg")
    _refused(_run(files), files, "has no CRS")


@settings(deadline=None)
@given(st.lists(st.sampled_from("0123456789AB"), min_size=1, max_size=9).map("".join),
       st.sampled_from([",", ";"]), st.integers(0, 2))
def test_codes_are_text_and_a_missing_row_is_named(code, sep, drop):
    """Codes of any digits (leading zeros, letters) match as text, whatever the separator; a source area
    with no row in the data is refused naming its code, never carried as zero."""
    codes = [code + s for s in ("x", "y", "z")]
    squares = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
    src = gpd.GeoDataFrame({"CODE": codes}, geometry=squares, crs=2154)
    stations = gpd.GeoDataFrame({"id_bv": ["99001_1"]}, geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 100)], crs=2154)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.csv"
        rows = [f"{c}{sep}{i + 1}" for i, c in enumerate(codes) if i != drop]
        data.write_text(f"IRIS{sep}N\n" + "\n".join(rows) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=f"source area '{codes[drop]}'.*no row in the data"):
            profile(stations, src, data, "IRIS")
        data.write_text(f"IRIS{sep}N\n" + "\n".join(f"{c}{sep}{i + 1}" for i, c in enumerate(codes)) + "\n",
                        encoding="utf-8")
        assert profile(stations, src, data, "IRIS").table["N"].iloc[0] == pytest.approx(6.0)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Stations and a source of three squares, written once for the hostile-table examples."""
    folder = tmp_path_factory.mktemp("hostile")
    squares = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
    gpd.GeoDataFrame({"CODE": ["a", "b", "c"]}, geometry=squares, crs=2154).to_file(folder / "iris.gpkg")
    gpd.GeoDataFrame({"id_bv": ["99001_1", "99001_2"]}, geometry=[shapely.box(X0, Y0, X0 + 150, Y0 + 100),
                     shapely.box(X0 + 150, Y0, X0 + 300, Y0 + 100)], crs=2154).to_file(folder / "stations.gpkg")
    return folder


_NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=';\n\r"'), min_size=1,
                 max_size=30)
_CELLS = st.one_of(st.floats(allow_nan=False).map(repr), st.integers(-10**20, 10**20).map(str),
                   st.sampled_from(["", " ", "0,5", "1e308", "-inf", "NaN", "00851", "x", "=1+1", "1 000"]))


@settings(deadline=None)
@given(st.lists(_NAMES, min_size=1, max_size=4, unique=True), st.data(), st.sampled_from([".csv", ".gpkg",
                                                                                         ".geojson"]))
def test_hostile_tables_give_a_profile_or_one_line(small, names, data, suffix):
    """Any header (control characters, quotes of other kinds, spaces, the names of our own columns) and
    any cell (huge, infinite, codes, formulas, text): exit 0 with the counts conserved, or one line and
    exit 2 with nothing written; never a traceback or exit 3."""
    rows = [[data.draw(_CELLS) for _ in names] for _ in range(3)]
    text = "IRIS;" + ";".join(names) + "\n" + "".join(f"{k};" + ";".join(r) + "\n" for k, r in zip("abc", rows))
    (small / "data.csv").write_text(text, encoding="utf-8")
    out = small / f"out{suffix}"
    out.unlink(missing_ok=True)
    res = CliRunner().invoke(main, ["profile", str(small / "stations.gpkg"), "--source", str(small / "iris.gpkg"),
                                    "--data", str(small / "data.csv"), "--key", "IRIS", "-o", str(out), "-q"])
    assert res.exit_code in (0, 2), res.output
    if res.exit_code == 2:
        line = res.output.strip()
        assert line.startswith("boundaries: error:") and "\n" not in line, line
        assert not out.exists()
    elif suffix == ".csv":
        table = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert list(table["id_bv"]) == ["99001_1", "99001_2"]
        values = table.drop(columns=["id_bv"]).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        assert np.isfinite(values).all(), table  # no count summed to infinity


def test_a_gzipped_bomb_and_our_own_names_are_refused(files):
    import gzip

    with gzip.open(files / "data.csv.gz", "wb") as f:
        f.write(b"IRIS;P16_POP\n" + b"0" * (24 << 20))
    res = CliRunner().invoke(main, ["profile", str(files / "stations.gpkg"), "--source", str(files / "iris.gpkg"),
                                    "--data", str(files / "data.csv.gz"), "--key", "IRIS", "-o",
                                    str(files / "out.csv")])
    _refused(res, files, "decompression bomb")
    (files / "data.csv").write_text("IRIS;area_fallback_share\n0001;1\n0002;2\n0003;3\n", encoding="utf-8")
    _refused(_run(files), files, "'area_fallback_share'", "rename it")


def test_layers_in_other_crss_are_reprojected():
    """Stations in WGS84 and areas in Lambert-93 give the profile of both in Lambert-93 (measured in metres)."""
    left, right = shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)
    src, stations, _ = _layers([left, right], [shapely.box(X0, Y0, X0 + 150, Y0 + 100),
                                               shapely.box(X0 + 150, Y0, X0 + 200, Y0 + 100)],
                               np.array([100.0, 100.0]), np.empty((0, 2)), np.empty(0))
    same = profile(stations, src).table["POP"]
    other = profile(stations.to_crs(4326), src).table["POP"]
    assert list(other) == pytest.approx(list(same), rel=1e-3)
    assert other.sum() == pytest.approx(200.0, rel=1e-6)


_ODD = st.sampled_from(["box", "bowtie", "nan", "inf", "huge", "empty", "none", "point", "line", "sliver", "far"])


def _odd_geometry(kind: str, i: int):
    x = X0 + 100 * i
    return {"box": shapely.box(x, Y0, x + 100, Y0 + 100),
            "bowtie": shapely.Polygon([(x, Y0), (x + 100, Y0 + 100), (x + 100, Y0), (x, Y0 + 100)]),
            "nan": shapely.Polygon([(x, Y0), (x + 100, Y0), (np.nan, Y0 + 100), (x, Y0 + 100)]),
            "inf": shapely.Polygon([(x, Y0), (x + 100, Y0), (np.inf, Y0 + 100), (x, Y0 + 100)]),
            "huge": shapely.Polygon([(x, Y0), (1e300, Y0), (x + 100, Y0 + 100), (x, Y0 + 100)]),
            "empty": shapely.Polygon(), "none": None, "point": shapely.Point(x + 50, Y0 + 50),
            "line": shapely.LineString([(x, Y0), (x + 100, Y0 + 100)]),
            "sliver": shapely.box(x, Y0, x + 1e-9, Y0 + 100), "far": shapely.box(x + 1e6, Y0, x + 1e6 + 100, Y0 + 100)
            }[kind]


@settings(deadline=None)
@given(st.lists(_ODD, min_size=1, max_size=5))
def test_odd_source_geometries_give_a_profile_or_one_refusal(kinds):
    """Bow-ties, NaN, infinite or absurd vertices, empty or null geometries, points and lines among the
    areas: a profile whose counts are those of the areas inside the stations, or an InputError; never
    a GEOS error half-way."""
    geoms = [_odd_geometry(k, i) for i, k in enumerate(kinds)]
    src = gpd.GeoDataFrame({"POP": np.arange(1.0, len(kinds) + 1)}, geometry=geoms, crs=2154)
    stations = gpd.GeoDataFrame({"id_bv": ["99001_1"]}, geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 100)],
                                crs=2154)
    try:
        result = profile(stations, src)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    boxes = [p for k, p in zip(kinds, src["POP"]) if k == "box"]
    assert result.table["POP"].sum() >= sum(boxes) - 1e-6
    assert np.isfinite(result.table["POP"]).all()


def test_positions_flags_and_text_codes_of_a_layer_are_not_counts():
    """A grid layer's own fields (Filosofi's): its x/y, its imputation flag and a commune code kept as
    text ("94067") are not summed onto the stations; the counts are."""
    park = shapely.box(X0, Y0, X0 + 500, Y0 + 500)
    block = shapely.box(X0 + 500, Y0, X0 + 1000, Y0 + 500)
    pts = np.column_stack([X0 + np.linspace(100, 900, 20), np.full(20, Y0 + 250)])
    src, stations, addresses = _layers([shapely.box(X0, Y0, X0 + 1000, Y0 + 500)], [park, block],
                                       np.array([1000.0]), pts, np.ones(20))
    src = src.assign(x=652000, y=6862000, imputed=1.0, commune_centroid="94067")
    table = profile(stations, src, addresses=addresses, crs="EPSG:2154").table
    assert "POP" in table.columns and table["POP"].sum() == pytest.approx(1000.0)
    assert not {"x", "y", "imputed", "commune_centroid"} & set(table.columns)


@pytest.mark.shared
def test_filosofi_cells_carry_their_counts_only(tmp_path):
    from conftest import SHARED

    land = SHARED / "val-de-marne-2016" / "land" / "filosofi-2019-200m-vincennes.gpkg"
    if not land.exists():
        pytest.skip(f"real data not found: {land}")
    import boundaries

    vdm = SHARED / "val-de-marne-2016"
    built = boundaries.build(vdm / "addresses.csv.gz", vdm / "communes.geojson", commune="94080", jobs=1)
    stations = tmp_path / "vincennes.gpkg"
    built.write(str(stations), report=None)
    res = CliRunner().invoke(main, ["profile", str(stations), "--source", str(land), "--addresses",
                                    str(vdm / "addresses.csv.gz"), "-o", str(tmp_path / "p.csv"), "-q"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "p.csv", dtype={"id_bv": str})
    assert {"ind", "men", "men_pauv"} <= set(table.columns)
    assert not {"x", "y", "imputed", "commune_centroid", "idcar_200m"} & set(table.columns)
    assert len(table) == len(built.stations) and (table["ind"] > 0).all()
