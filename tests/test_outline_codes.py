"""Outline files whose code field is not the obvious one (a new user's trial, 2026-12-07, bugs 2 and 3).

IGN's ARRONDISSEMENT_MUNICIPAL layer has ``INSEE_ARM`` (751xx) and ``INSEE_COM`` (75056 on every row):
the field read is the one holding most of the addresses' communes; outline rows sharing one code are
dissolved into one outline, and the hull overlay survives such an outline of many parts. ``web`` refuses
outlines holding none of the stations' communes in one line (exit 2, nothing written); ``preview`` and
``report`` draw them with one warning line.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.cli import main
from boundaries.preview import prepare_map
from boundaries.read import COMMUNE_FIELDS, read_communes
from boundaries.tessellate import HULL_BALANCE_M2, SNAP_GRID_M
from conftest import TOWN

#: The town's commune codes.
TOWN_CODES = ["99001", "99002", "99003", "99004"]


def _town_outlines():
    return gpd.read_file(TOWN / "communes.geojson")


@pytest.fixture(scope="module")
def town_stations(tmp_path_factory):
    """The town's stations as a GeoJSON file (built once)."""
    path = tmp_path_factory.mktemp("stations") / "stations.geojson"
    boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson", jobs=1).write(path)
    return path


# -- bug 2a: the hull overlay, snap-rounded, met cores that only touch -----------------------


@settings(deadline=None)
@given(widths=st.lists(st.floats(2.0, 50.0), min_size=2, max_size=5), height=st.floats(2.0, 30.0),
       eps=st.floats(1e-6, SNAP_GRID_M / 2.5), band=st.booleans())
def test_the_snap_rounded_hull_overlay_takes_cores_that_collapse_into_lines(widths, height, eps, band):
    """Cores overlapping by less than the snap grid meet in lines once snap-rounded: GEOS refused the
    mixed collection (``Overlay input is mixed-dimension``, exit 3 on IGN's arrondissements coded 75056)."""
    from boundaries import tessellate

    edges = np.concatenate([[0.0], np.cumsum(widths)])
    cells = [shapely.box(a, 0, b, height) for a, b in zip(edges[:-1], edges[1:])]
    cores = [shapely.box(max(a - eps, 0), 0, min(b + eps, edges[-1]), height) for a, b in zip(edges[:-1], edges[1:])]
    if band:  # a station whose core lies over the others', with no cell of its own
        cells.append(shapely.Polygon())
        cores.append(shapely.box(edges[0] + 1, height / 4, edges[-1] - 1, height / 2))
    out = tessellate._cores_over_cells(np.array(cores, dtype=object), np.array(cells, dtype=object), SNAP_GRID_M)
    assert np.isin(shapely.get_type_id(out), (3, 6)).all()
    assert abs(shapely.area(out).sum() - edges[-1] * height) <= HULL_BALANCE_M2


@settings(deadline=None)
@given(nx=st.integers(1, 3), ny=st.integers(1, 3), gap=st.sampled_from([0.0, 2e-6, 3e-5]),
       code=st.sampled_from(TOWN_CODES))
def test_outline_rows_sharing_one_code_are_one_outline_and_build(tmp_path_factory, nx, ny, gap, code):
    """A commune cut into pieces of one code (touching, or apart by streets): dissolved into one outline,
    its stations partition that outline, exit 0."""
    town = _town_outlines()
    row = town[town["code"] == code].iloc[0]
    x0, y0, x1, y1 = row.geometry.bounds
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    boxes = [shapely.box(a, b, c, d) for a, c in zip(xs[:-1], xs[1:]) for b, d in zip(ys[:-1], ys[1:])]
    pieces = shapely.intersection(row.geometry, np.array(boxes, dtype=object))
    if gap:
        pieces = shapely.buffer(pieces, -gap, join_style="mitre")
    pieces = pieces[~shapely.is_empty(pieces)]
    cut = gpd.GeoDataFrame({"code": [code] * len(pieces), "nom": [row["nom"]] * len(pieces)},
                           geometry=list(pieces), crs=town.crs)
    outlines = read_communes(cut).outlines
    assert list(outlines["code"]) == [code]
    assert abs(outlines.geometry.iloc[0].area - shapely.union_all(pieces).area) < 1e-12
    result = boundaries.build(TOWN / "addresses.csv", cut, commune=[code], jobs=1)
    assert result.report.stations_out > 0


# -- bug 2b: the code field holding the addresses' communes ----------------------------------

#: A field name in any case (GDAL drivers and shapefiles change it).
CASES = st.sampled_from([str.lower, str.upper, str.title])


@settings(deadline=None)
@given(pair=st.lists(st.sampled_from(COMMUNE_FIELDS), min_size=2, max_size=2, unique=True),
       case=CASES, decoy=st.sampled_from(["one city", "other codes", "empty"]))
def test_the_field_holding_the_addresses_communes_is_read(pair, case, decoy):
    """Two detected code fields: the one holding the addresses' codes is read, wherever it comes in
    the detection order; with ``commune_field`` the named one; without codes, the first (as before)."""
    first, later = sorted(pair, key=COMMUNE_FIELDS.index)
    town = _town_outlines()
    n = len(town)
    decoys = {"one city": ["75056"] * n, "other codes": [f"2900{i}" for i in range(n)], "empty": [None] * n}
    for matching, other in ((later, first), (first, later)):
        frame = town.drop(columns="code").assign(**{case(matching): TOWN_CODES, case(other): decoys[decoy]})
        layer = read_communes(frame, codes=TOWN_CODES)
        assert list(layer.outlines["code"]) == TOWN_CODES
        assert (layer.field_note is not None) == (matching == later)
        named = read_communes(frame, commune_field=case(other), codes=TOWN_CODES).outlines
        assert len(named) == (1 if decoy == "one city" else 0 if decoy == "empty" else n)
    frame = town.drop(columns="code").assign(**{case(first): decoys[decoy], case(later): TOWN_CODES})
    assert read_communes(frame).field_note is None  # no codes: the detection order, as before


def test_ign_arrondissements_are_read_by_insee_arm_with_a_warning(tmp_path):
    """IGN's ARRONDISSEMENT_MUNICIPAL shape: INSEE_ARM holds the addresses' codes, INSEE_COM one city's."""
    town = _town_outlines()
    ign = town.drop(columns="code").assign(INSEE_ARM=town["code"], INSEE_COM="99001")
    path = tmp_path / "ARRONDISSEMENT_MUNICIPAL.shp"
    ign.to_file(path)
    out = tmp_path / "am.gpkg"
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 communes, 14 of 14 stations built" in res.output
    assert "read from field 'INSEE_ARM'" in res.output and "'INSEE_COM' holds 1" in res.output
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(path), "-o",
                                    str(tmp_path / "com.gpkg"), "--commune-field", "INSEE_COM", "-q"])
    assert res.exit_code == 0, res.output  # the field named is read: one outline, the other rows reported


# -- bug 3: outlines holding none of the stations' communes ----------------------------------

#: Commune-like codes from a hostile alphabet, none of the town's.
OTHER_CODES = st.lists(st.text(alphabet="0123456789AB_ .\x1b", min_size=1, max_size=6), min_size=1, max_size=4,
                       unique=True).filter(lambda cs: not set(cs) & set(TOWN_CODES))


@settings(deadline=None)
@given(codes=OTHER_CODES)
def test_web_refuses_outlines_of_other_communes_in_one_line(tmp_path_factory, town_stations, codes):
    folder = tmp_path_factory.mktemp("web")
    town = _town_outlines()
    other = town.iloc[:len(codes)].assign(code=codes)
    path = folder / "other.geojson"
    other.to_file(path)
    site = folder / "site"
    res = CliRunner().invoke(main, ["web", str(town_stations), "--communes", str(path), "-o", str(site)])
    if "JavaScript is not installed" in res.output:
        pytest.skip("the web map's vendored JavaScript is not installed (make web-assets)")
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "none of the 4 communes of the stations" in lines[0] and "--communes" in lines[0]
    assert "Traceback" not in res.output and not site.exists()


@settings(deadline=None)
@given(kept=st.lists(st.sampled_from(TOWN_CODES), max_size=4, unique=True), codes=OTHER_CODES,
       commune=st.sampled_from([None, *TOWN_CODES]))
def test_preview_says_when_the_outlines_hold_none_of_its_communes(town_stations, kept, codes, commune):
    """The note is set exactly when the stations' union stands in for outlines that were given."""
    town = _town_outlines()
    other = town.iloc[:len(codes)].assign(code=codes)
    outlines = gpd.GeoDataFrame(list(town[town["code"].isin(kept)].itertuples(index=False)) +
                                list(other.itertuples(index=False)), columns=town.columns, crs=town.crs)
    data = prepare_map(town_stations, commune, outline=outlines)
    drawn = set(kept) & ({commune} if commune else set(TOWN_CODES))
    assert (data.note is not None) == (not drawn) == data.outline_from_stations


@pytest.mark.parametrize("command", ["preview", "report"])
def test_preview_and_report_warn_on_outlines_of_other_communes(tmp_path, town_stations, command):
    other = _town_outlines().assign(code=["29001", "29002", "29003", "29004"])
    path = tmp_path / "other.geojson"
    other.to_file(path)
    out = tmp_path / ("p.png" if command == "preview" else "r.html")
    res = CliRunner().invoke(main, [command, str(town_stations), "--communes", str(path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    warnings = [line for line in res.output.splitlines() if line.startswith("boundaries: warning:")]
    assert len(warnings) == 1 and "none of the communes" in warnings[0] and out.exists()
    res = CliRunner().invoke(main, [command, str(town_stations), "--communes", str(TOWN / "communes.geojson"),
                                    "-o", str(out)])
    assert res.exit_code == 0 and "none of the communes" not in res.output
