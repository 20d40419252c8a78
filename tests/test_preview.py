"""Neighbour colouring, PNG previews and the HTML review page."""

from __future__ import annotations

import io
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

import boundaries
from boundaries.colouring import adjacency, adjacency_across, greedy_colours, neighbour_colours
from boundaries.errors import InputError
from boundaries.preview import render_map
from boundaries.review import review_stations, write_review_html
from boundaries.write import write_geojson
from conftest import shared_path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def touching_pairs(geoms) -> list[tuple[int, int]]:
    """Every pair of geometries that intersect, by brute force (independent of the STRtree)."""
    geoms = list(geoms)
    return [(i, j) for i in range(len(geoms)) for j in range(i + 1, len(geoms))
            if geoms[i] is not None and geoms[j] is not None and geoms[i].intersects(geoms[j])]


def assert_proper(geoms, colours):
    pairs = touching_pairs(geoms)
    clashes = [(i, j) for i, j in pairs if colours[i] == colours[j]]
    assert not clashes, f"touching geometries share a colour: {clashes[:5]}"
    return pairs


@pytest.fixture(scope="module")
def town_built(tmp_path_factory):
    """The town built once and written as GeoJSON: (stations path, report dict, communes path)."""
    from conftest import TOWN

    folder = tmp_path_factory.mktemp("town")
    result = boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson")
    path = folder / "stations.geojson"
    write_geojson(result.stations, str(path))
    return path, result.report.to_dict(), TOWN / "communes.geojson", TOWN / "addresses.csv"


# --------------------------------------------------------------------------------------
# colouring


def test_adjacency_across_blocks_is_the_whole_adjacency():
    """Inner pairs given per block, pairs across blocks found: the same graph as adjacency()."""
    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 100, size=(80, 2))
    geoms = shapely.buffer(shapely.points(centres), rng.uniform(2, 9, size=80))
    geoms[5] = None
    block = (centres[:, 0] // 34).astype(int)  # three vertical strips
    order = np.argsort(block, kind="stable")
    geoms, block = geoms[order], block[order]
    whole = adjacency(geoms)
    rows, cols = whole.nonzero()
    inner = block[rows] == block[cols]
    got = adjacency_across(geoms, block, (rows[inner], cols[inner]))
    assert (block[rows] != block[cols]).any()  # there are pairs across blocks to find
    assert (got != whole).nnz == 0
    # pairs given across blocks are not taken on trust: a false one is dropped
    fake_r, fake_c = np.array([0]), np.array([len(geoms) - 1])
    assert block[0] != block[-1] and not whole[0, len(geoms) - 1]
    got = adjacency_across(geoms, block, (np.r_[rows[inner], fake_r], np.r_[cols[inner], fake_c]))
    assert (got != whole).nnz == 0
    assert np.array_equal(greedy_colours(got), neighbour_colours(geoms))


def test_grid_corner_touches_count_and_four_colours_suffice():
    # An 8 × 8 grid of squares: squares meeting at a corner only are neighbours too, so
    # every 2 × 2 block is a clique of four. Edge-only adjacency would need 2 colours.
    n = 8
    squares = [shapely.box(i, j, i + 1, j + 1) for i in range(n) for j in range(n)]
    colours = neighbour_colours(squares, n_colours=4)
    assert_proper(squares, colours)
    for i in range(n - 1):
        for j in range(n - 1):
            block = {colours[a * n + b] for a in (i, i + 1) for b in (j, j + 1)}
            assert len(block) == 4, (i, j, block)
    assert colours.max() == 3  # exactly four colours: the bound is met, not exceeded
    assert np.array_equal(colours, neighbour_colours(squares, n_colours=4))


def test_adjacency_matches_brute_force_and_has_no_self_loops():
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 100, size=(60, 2))
    geoms = shapely.buffer(shapely.points(centres), rng.uniform(2, 9, size=60))
    a = adjacency(geoms)
    got = {(int(i), int(j)) for i, j in zip(*a.nonzero()) if i < j}
    assert got == set(touching_pairs(geoms))
    assert not a.diagonal().any()
    assert (a != a.T).nnz == 0


def test_order_largest_degree_first_then_input_order():
    # a star: the centre (given last) has the most neighbours and is coloured first
    centre = shapely.box(0, 0, 3, 3)
    leaves = [shapely.box(-1, 0, 0, 1), shapely.box(3, 0, 4, 1), shapely.box(0, 3, 1, 4), shapely.box(1.5, -1, 2.5, 0)]
    colours = neighbour_colours(leaves + [centre], n_colours=3)
    assert colours[-1] == 0
    # the leaves do not touch each other: each takes the least used free colour, lowest index on a tie
    assert colours[:-1].tolist() == [1, 2, 1, 2]
    # null and empty geometries have no neighbour, but a colour index all the same (spread by use)
    out = neighbour_colours([None, shapely.Polygon(), centre], n_colours=2)
    assert out.tolist() == [0, 1, 0]
    assert neighbour_colours([]).shape == (0,)
    with pytest.raises(ValueError):
        neighbour_colours([centre], n_colours=0)


def test_too_few_colours_go_above_n_colours_never_clash():
    # five mutually touching pieces (slices of a disc) need five colours
    disc = shapely.Point(0, 0).buffer(10)
    slices = [shapely.intersection(disc, shapely.Polygon([(0, 0), (20 * np.cos(a), 20 * np.sin(a)),
                                                          (20 * np.cos(a + 1.3), 20 * np.sin(a + 1.3))]))
              for a in np.linspace(0, 2 * np.pi, 5, endpoint=False)]
    slices.append(shapely.Point(0, 0).buffer(1))  # touches every slice
    colours = neighbour_colours(slices, n_colours=3)
    assert_proper(slices, colours)
    assert colours.max() >= 3


def test_town_stations_never_share_a_colour_with_a_neighbour(town_built):
    path, *_ = town_built
    st = gpd.read_file(path).to_crs(2154)
    colours = neighbour_colours(st.geometry.values)
    pairs = assert_proper(st.geometry.values, colours)
    assert len(pairs) > 14  # the test compares real neighbours
    for _, group in st.groupby("code_commune"):
        assert_proper(group.geometry.values, neighbour_colours(group.geometry.values))


# --------------------------------------------------------------------------------------
# PNG


def test_png_is_a_real_deterministic_picture(town_built, tmp_path):
    path, _, communes, addresses = town_built
    first = render_map(path, "99001", addresses=addresses, outline=communes)
    second = render_map(path, "99001", addresses=addresses, outline=communes)
    assert first.startswith(PNG_SIGNATURE)
    assert len(first) > 20_000
    assert first == second
    assert b"Software" not in first and b"atplotlib" not in first
    # written to a path (atomically, nothing left behind) and to a buffer: the same bytes
    out = tmp_path / "map.png"
    assert render_map(path, "99001", addresses=addresses, outline=communes, path_or_buffer=out) is None
    assert out.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]
    buf = io.BytesIO()
    render_map(path, "99001", addresses=addresses, outline=communes, path_or_buffer=buf)
    assert buf.getvalue() == first

    from PIL import Image

    img = Image.open(io.BytesIO(first)).convert("RGB")
    assert img.size == (960, 960)
    assert len(img.getcolors(maxcolors=1 << 20)) > 50  # filled, labelled: not a blank canvas
    # the addresses and the highlight change the picture
    assert render_map(path, "99001", outline=communes) != first
    assert render_map(path, "99001", addresses=addresses, outline=communes, highlight="99001_0006") != first


def test_render_unknown_commune_and_fallback_outline(town_built):
    path, *_ = town_built
    with pytest.raises(InputError, match="no station of commune 12345"):
        render_map(path, "12345")
    png = render_map(path, "99002", size_in=(4, 4), dpi=50)  # no outline file: the stations' union
    assert png.startswith(PNG_SIGNATURE)


# --------------------------------------------------------------------------------------
# review


def synthetic_layer():
    """Six stations in a row with controlled quality fields, in Lambert-93."""
    boxes = [shapely.box(700000 + 100 * i, 6600000, 700100 + 100 * i, 6600100) for i in range(6)]
    boxes[4] = shapely.MultiPolygon([boxes[4], shapely.box(700400, 6600200, 700450, 6600250)])
    boxes[4] = shapely.MultiPolygon([*boxes[4].geoms, shapely.box(700400, 6600300, 700450, 6600350)])
    return gpd.GeoDataFrame({
        "id_bv": [f"94999_{i + 1}" for i in range(6)],
        "code_commune": "94999",
        "nom_commune": 'Ville <b>"&',
        "n_addresses": [100, 100, 100, 50, 100, 100],
        "n_dropped": [0, 0, 1, 50, 0, 0],
        "confidence": [0.95, 0.30, 0.70, 0.90, 0.92, 0.99],
    }, geometry=boxes, crs="EPSG:2154")


def test_review_ranks_worst_first_with_reasons():
    layer = synthetic_layer()
    report = {"stations_without_polygon": [{"id_bv": "94999_7", "code_commune": "94999",
                                            "reason": "all_rows_dropped", "detail": "every row dropped"}]}
    r = review_stations(layer, report, min_confidence=0.8)
    assert list(r["id_bv"]) == ["94999_7", "94999_2", "94999_4", "94999_3", "94999_5"]
    assert list(r["rank"]) == [1, 2, 3, 4, 5]
    assert (np.diff(r["score"].to_numpy()) <= 0).all()
    by_id = r.set_index("id_bv")
    assert by_id.loc["94999_7", "flags"] == "no_polygon" and not by_id.loc["94999_7", "has_polygon"]
    assert by_id.loc["94999_2", "flags"] == "low_confidence"
    assert "confidence 0.300 below 0.8" in by_id.loc["94999_2", "reasons"]
    assert by_id.loc["94999_4", "flags"] == "dropped"  # half its rows dropped
    assert by_id.loc["94999_5", "flags"] == "many_parts" and by_id.loc["94999_5", "n_parts"] == 3
    assert "94999_1" not in by_id.index and "94999_6" not in by_id.index
    # thresholds are parameters
    assert "94999_3" not in set(review_stations(layer, min_confidence=0.6)["id_bv"])
    assert "94999_5" not in set(review_stations(layer, max_parts=3)["id_bv"])


def test_review_takes_check_problems():
    layer = synthetic_layer()
    layer.loc[5, "geometry"] = shapely.box(700450, 6600000, 700650, 6600100)  # overlaps station 5
    check = {"problems": [{"kind": "overlap", "commune": "94999", "stations": ["94999_5", "94999_0006"],
                           "area_m2": 5000.0, "detail": "94999_5 and 94999_0006 overlap on 5,000.0 m²"}]}
    r = review_stations(layer, None, check).set_index("id_bv")
    assert "check" in r.loc["94999_6", "flags"] and "overlap" in r.loc["94999_6", "reasons"]
    assert r.loc["94999_6", "rank"] < r.loc["94999_2", "rank"]  # a failed check outranks low confidence


def image_sources(text: str) -> list[str]:
    return re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", text, flags=re.I)


def test_html_page_is_self_contained_ranked_and_deterministic(town_built, tmp_path):
    path, report, communes, addresses = town_built
    layer = gpd.read_file(path)
    layer.loc[layer["id_bv"] == "99001_3", "confidence"] = 0.42
    layer.loc[layer["id_bv"] == "99001_3", "nom_commune"] = "Saint-<script>alert(1)</script>"
    out = tmp_path / "review.html"
    text = write_review_html(layer, out, report=report, outline=communes, addresses=addresses, max_pictures=3)
    assert out.read_text(encoding="utf-8") == text
    assert [p.name for p in tmp_path.iterdir()] == ["review.html"]
    review = review_stations(layer, report)
    assert len(review) >= 4 and review["id_bv"].iloc[0] == "99001_3"
    for sid in review["id_bv"]:
        assert f">{sid}<" in text
    # worst first: the ranking table lists the ids in the review's order
    table = text[text.index("<h2>Ranking</h2>"): text.index("<h2>Pictures</h2>")]
    positions = [table.index(f">{sid}<") for sid in review["id_bv"]]
    assert positions == sorted(positions)
    # self-contained: only data: URIs as sources, no remote reference, no script
    sources = image_sources(text)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "&lt;script&gt;" in text
    assert f"{len(review) - 3} more flagged station" in text
    # the same input gives the same bytes
    again = write_review_html(layer, None, report=report, outline=communes, addresses=addresses, max_pictures=3)
    assert again == text


def test_html_without_flags_says_so(town_built):
    path, *_ = town_built
    text = write_review_html(path, None, max_parts=10, min_confidence=0.0, max_dropped_share=1.0)
    assert "No station needs a look." in text and "<img" not in text


# --------------------------------------------------------------------------------------
# real data


@pytest.mark.shared
def test_val_de_marne_preview_and_review(tmp_path):
    folder = shared_path("val-de-marne-2016")
    picked = ["94076", "94046"]  # communes with low-confidence stations
    result = boundaries.build(folder / "addresses.csv.gz", folder / "communes.geojson", commune=picked)
    path = tmp_path / "stations.geojson"
    write_geojson(result.stations, str(path))
    st = gpd.read_file(path).to_crs(2154)
    for code in picked:
        geoms = st.loc[st["code_commune"] == code].geometry.values
        assert_proper(geoms, neighbour_colours(geoms))
        png = tmp_path / f"{code}.png"
        render_map(path, code, outline=folder / "communes.geojson", path_or_buffer=png)
        assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 50_000
    report = json.loads(json.dumps(result.report.to_dict()))
    from boundaries.checks import check_stations

    check = check_stations(path, folder / "communes.geojson")
    review = review_stations(path, report, check)
    assert review["flags"].str.contains("low_confidence").any()
    assert (np.diff(review["score"].to_numpy()) <= 0).all()
    text = write_review_html(path, tmp_path / "review.html", report=report, check=check,
                             outline=folder / "communes.geojson", max_pictures=5)
    for sid in review["id_bv"]:
        assert f">{sid}<" in text
    assert len(image_sources(text)) == 5 and "https://" not in text
