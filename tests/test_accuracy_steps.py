"""The accuracy steps, each on a hand-made case: street-side seeds and fragment clean-up."""

import numpy as np
import pandas as pd
import pytest
import shapely

from boundaries.checks import check_partition
from boundaries.fragments import reassign_fragments
from boundaries.streets import frontage_seeds, parse_addresses
from boundaries.tessellate import voronoi_partition


def test_parse_addresses():
    parsed = parse_addresses(pd.Series([
        "12 Rue de la Paix 29900 Concarneau", "2 BIS Rue Maire 94700 Maisons-Alfort",
        "28 B Rue de Mars 94700 Maisons-Alfort", "Sentier des Bas 94500 Champigny", None,
    ]))
    assert parsed["number"].tolist()[:3] == [12, 2, 28]
    assert parsed["street"].tolist()[:3] == ["rue de la paix", "rue maire", "rue de mars"]
    assert np.isnan(parsed["number"].iloc[3]) and pd.isna(parsed["street"].iloc[4])
    # no-break spaces, a number suffix before an accented street, a lone letter that starts the street
    odd = parse_addresses(pd.Series(["5\u00a0Rue\u00a0\u00a0Haute 29000 Quimper", "7 ter Écoles 29000 Quimper",
                                     "3 Bérénice 29000 Quimper"]))
    assert odd["number"].tolist() == [5, 7, 3]
    assert odd["street"].tolist() == ["rue haute", "écoles", "bérénice"]



TRICKY_ADDRESSES = [
    "12345 29900 x", " 12345 rue 29900", "12 b 29900 city", "3 rue\nx 29000 q", "4  29000 q", "", "7",
    "8 rue 2990 x 29900 y", "9 rue 29900x 29000 y", "28 b\u00a0rue x 94700 y", "3 bérénice 29000 q",
    "12 b, rue x 29000 y", "12 bis", "12 quinquies rue x 29000 q", "12 bistro 29000 q", "12 a 29000 b 29001 c",
    "  5 rue x  29000 q", "5 rue\u2003x 29000 q", "5\true x 29000 q", "12 rue x 290001 y 29002 z",
    "12 ter\u00a0\u00a0rue  x 29000", "123456 rue 29000 x", "12 rue_x 29000_y 29001 z", "1 é 29000 x", "1 a 2",
    "1 a\u00a0 29000 x", "4 B, 29000 x", "0 rue \u00a0x\u00a0 29000\u00a0q", "7 Kérambrun 29000 Quimper", None,
]


def test_parse_addresses_agrees_with_the_reference_grammar():
    """The byte-offset shortcut gives what one capture of the whole grammar gives, odd rows included."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from boundaries.streets import _ADDRESS_RE

    got = parse_addresses(pd.Series(TRICKY_ADDRESSES * 3))
    low = pc.utf8_lower(pa.array(TRICKY_ADDRESSES * 3, pa.large_string()))
    full = pc.extract_regex(low, _ADDRESS_RE)
    number = pc.cast(pc.struct_field(full, "number"), pa.float64()).to_numpy(zero_copy_only=False)
    street = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.struct_field(full, "street"), r"[\s\pZ]+", " "))
    assert np.array_equal(got["number"].to_numpy(), number, equal_nan=True)
    assert [None if pd.isna(v) else v for v in got["street"]] == street.to_pylist()
    assert got["street"].notna().sum() >= 15  # the list is not all failures

def side(numbers, station, x0, y, street="rue a"):
    return pd.DataFrame({"unit": "00001", "station_key": station, "street": street,
                         "number": numbers, "px": [x0 + 20.0 * i for i in range(len(numbers))], "py": y})


def test_frontage_seeds_join_same_station_neighbours_only():
    rows = pd.concat([
        side([1, 3, 5], "A", 0, 10),  # odd side, one station: joined
        side([7, 9], "B", 60, 10),  # then another station: no point between 5 (A) and 7 (B)
        side([2, 4], "A", 0, -10),  # even side
    ])
    extra = frontage_seeds(rows, step_m=5, max_gap_m=100)
    assert set(extra["station_key"]) == {"A", "B"}
    a_odd = extra[(extra.station_key == "A") & (extra.sy == 10)]
    assert sorted(a_odd["sx"].round(6)) == [5, 10, 15, 25, 30, 35]  # strictly between houses
    b = extra[extra.station_key == "B"]
    assert b["sx"].min() > 60  # nothing between house 5 (x=40, A) and 7 (x=60, B)
    assert len(frontage_seeds(rows, step_m=5, max_gap_m=15)) == 0  # houses 20 m apart: too far
    assert len(frontage_seeds(rows, step_m=0, max_gap_m=100)) == 0  # switched off


def test_frontage_seeds_put_the_border_on_the_street_axis():
    # a street along y = 0: odd side (y = 12) is station A, even side (y = -12) station B,
    # but B's houses are sparse: plain Voronoi lets A's cells cross the axis between them
    outline = shapely.box(-50, -100, 450, 100)
    a = np.column_stack([np.arange(0, 401, 20.0), np.full(21, 12.0)])
    b = np.column_stack([np.arange(0, 401, 100.0), np.full(5, -12.0)])
    xy = np.vstack([a, b])
    st = np.array(["A"] * len(a) + ["B"] * len(b))
    _, plain = voronoi_partition(xy, st, outline, 500)
    rows = pd.DataFrame({"unit": "u", "station_key": st, "street": "rue", "px": xy[:, 0], "py": xy[:, 1],
                         "number": np.r_[np.arange(1, 42, 2), np.arange(2, 11, 2)]})
    extra = frontage_seeds(rows, step_m=5, max_gap_m=150)
    xy2 = np.vstack([xy, extra[["sx", "sy"]].to_numpy()])
    st2 = np.r_[st, extra["station_key"].to_numpy()]
    _, aware = voronoi_partition(xy2, st2, outline, 500)
    below_axis = shapely.box(0, -100, 400, 0)
    # the area of A south of the axis shrinks by far
    assert shapely.area(shapely.intersection(aware[0], below_axis)) < 0.2 * shapely.area(
        shapely.intersection(plain[0], below_axis))
    assert check_partition(aware, outline, 1e-3).ok


def test_fragments_without_addresses_go_to_the_longest_border():
    outline = shapely.box(0, 0, 300, 100)
    a_main, b_main = shapely.box(0, 0, 100, 100), shapely.box(100, 0, 300, 100)
    # A also owns a 10 × 10 island inside B, with no address in it
    island = shapely.box(200, 40, 210, 50)
    polys = np.array([shapely.union(a_main, island), shapely.difference(b_main, island)], dtype=object)
    seeds = np.array([[50.0, 50.0], [150.0, 50.0]])
    out, moved = reassign_fragments(np.array(["A", "B"]), polys, seeds, np.array([3, 3]), max_rows=0)
    assert moved == 1
    assert out[0].equals(a_main) and shapely.area(out[1]) == pytest.approx(20000)
    assert check_partition(out, outline, 1e-6).ok
    # with two addresses in the island and max_rows=1, it is a true enclave: it stays
    seeds = np.vstack([seeds, [[205.0, 45.0]]])
    out, moved = reassign_fragments(np.array(["A", "B"]), polys, seeds, np.array([3, 3, 2]), max_rows=1)
    assert moved == 0 and shapely.get_num_geometries(out[0]) == 2
    # the main part of a station never moves, even with no address
    out, moved = reassign_fragments(np.array(["A", "B"]), polys, np.empty((0, 2)), np.empty(0), max_rows=0)
    assert shapely.area(out[0]) >= 100 * 100


def test_smoothing_straightens_a_zigzag_border_but_respects_addresses():
    from boundaries.smooth import smooth_partition

    outline = shapely.box(0, 0, 400, 200)
    # the true border is x = 200; the two stations' points zig-zag across it
    ys = np.arange(5, 200, 10.0)
    a = np.column_stack([np.where(np.arange(len(ys)) % 2, 190.0, 170.0), ys])
    b = np.column_stack([np.where(np.arange(len(ys)) % 2, 230.0, 210.0), ys])
    xy = np.vstack([a, b, [[20, 100]], [[380, 100]]])
    st = np.array(["A"] * len(a) + ["B"] * len(b) + ["A", "B"])
    keys, polys = voronoi_partition(xy, st, outline, 500)
    truth_a = shapely.box(0, 0, 200, 200)
    smoothed = smooth_partition(polys, 80.0, xy, np.searchsorted(keys, st))
    assert check_partition(smoothed, outline, 1e-3).ok
    iou = lambda p, q: shapely.area(shapely.intersection(p, q)) / shapely.area(shapely.union(p, q))  # noqa: E731
    assert iou(smoothed[0], truth_a) > iou(polys[0], truth_a)
    # every address is still in its own station
    own = np.searchsorted(keys, st)
    assert shapely.contains_xy(smoothed[own], xy[:, 0], xy[:, 1]).all()
    assert smooth_partition(polys, 0.0) is polys or (smooth_partition(polys, 0.0) == polys).all()
    # an address of A across the straight border: its piece would go to B, and stays with A
    xy, st = np.vstack([xy, [[212.0, 100.0]]]), np.r_[st, ["A"]]
    keys, polys = voronoi_partition(xy, st, outline, 500)
    own = np.searchsorted(keys, st)
    assert not shapely.contains_xy(smooth_partition(polys, 80.0)[own[-1]], 212.0, 100.0)  # no address given
    smoothed = smooth_partition(polys, 80.0, xy, own)
    assert shapely.contains_xy(smoothed[own], xy[:, 0], xy[:, 1]).all()
    assert check_partition(smoothed, outline, 1e-3).ok


def test_hull_method_is_an_exact_partition_and_keeps_cores():
    from boundaries.tessellate import hull_partition

    rng = np.random.default_rng(4)
    outline = shapely.box(0, 0, 1000, 1000)
    a = rng.uniform((50, 50), (350, 350), size=(60, 2))  # a compact village core
    b = rng.uniform((400, 400), (950, 950), size=(200, 2))  # a larger town
    xy = np.vstack([a, b])
    st = np.array(["A"] * len(a) + ["B"] * len(b))
    keys, polys = hull_partition(xy, st, outline, 500, ratio=0.3, buffer_m=15)
    assert list(keys) == ["A", "B"]
    assert check_partition(polys, outline, 1e-3).ok
    assert shapely.contains_xy(polys[0], a[:, 0], a[:, 1]).all()
    assert shapely.contains_xy(polys[1], b[:, 0], b[:, 1]).all()
    # the core of A (its hull widened by 15 m) is A's
    core = shapely.buffer(shapely.concave_hull(shapely.multipoints(a), ratio=0.3), 15)
    assert shapely.area(shapely.difference(core, polys[0])) < 1.0


def test_hull_method_end_to_end(town):
    import boundaries

    addresses, communes, truth = town
    result = boundaries.build(addresses, communes, method="hull")
    assert result.report.stations_out == 14
    assert set(result.stations["method"]) == {"hull", "commune"}
    for c in result.report.communes.values():
        assert c["partition"]["ok"]


def test_auto_method_chooses_per_commune(town):
    import boundaries
    from boundaries.params import Parameters

    addresses, communes, truth = town
    result = boundaries.build(addresses, communes, method="auto")
    chosen = {code: c["method"] for code, c in result.report.communes.items()}
    assert chosen["99004"] == "commune"  # a single station needs no choice
    assert set(chosen.values()) <= {"voronoi", "hull", "commune"}
    by_commune = result.stations.groupby("code_commune")["method"].first().to_dict()
    assert by_commune == chosen
    # a hull allowed to lose every held-out address is always kept
    always = boundaries.build(addresses, communes, method="auto", params=Parameters(auto_max_loss=1.0))
    assert set(always.stations["method"]) == {"hull", "commune"}
    for c in result.report.communes.values():
        assert c["partition"]["ok"]


def test_empty_land_goes_whole_to_the_longest_border():
    # A's houses line the top edge, B's sit in the bottom-left corner: the land in
    # between, farther than 100 m from every house, borders A for much longer.
    from boundaries.emptyland import assign_empty_land

    outline = shapely.box(0, 0, 400, 400)
    a = np.column_stack([np.arange(10, 391, 20.0), np.full(20, 380.0)])
    gx, gy = np.meshgrid(np.arange(10, 91, 20.0), np.arange(10, 91, 20.0))
    b = np.column_stack([gx.ravel(), gy.ravel()])
    xy = np.vstack([a, b])
    st = np.array(["A"] * len(a) + ["B"] * len(b), dtype=object)
    keys, plain = voronoi_partition(xy, st, outline, 500)
    near_b = shapely.buffer(shapely.multipoints(b), 100.0 + 0.5)
    assert not shapely.within(plain[1], near_b)  # Voronoi gives B part of the far land

    polys, moved = assign_empty_land(keys, plain, outline, xy, st, 100.0, 0.0)
    assert moved == 1
    assert check_partition(polys, outline, 1.0).ok
    assert shapely.within(polys[1], near_b)  # B keeps only land near its houses
    assert shapely.area(polys[0]) > shapely.area(plain[0]) + 10_000
    # every house stays in its own station
    assert shapely.contains(polys[0], shapely.points(a)).all()
    assert shapely.contains(polys[1], shapely.points(b)).all()

    # a piece larger than the limit keeps its Voronoi split
    same, moved = assign_empty_land(keys, plain, outline, xy, st, 100.0, 1_000.0)
    assert moved == 0 and all(shapely.equals(same, plain))


def test_neighbour_agreement_counts_mixed_doors():
    from boundaries.scoring import neighbour_agreement

    # A's doors at x = 0..9, B's at x = 20..29, plus one B door among A's
    xy = np.vstack([np.column_stack([np.arange(10.0), np.zeros(10)]),
                    np.column_stack([np.arange(20.0, 30.0), np.zeros(10)]),
                    [[4.5, 0.1]]])
    seeds = pd.DataFrame({"unit": "u", "station_key": ["A"] * 10 + ["B"] * 11,
                          "sx": xy[:, 0], "sy": xy[:, 1], "rows": [1] * 20 + [3]})
    # a station alone in its unit agrees with itself
    alone = pd.DataFrame({"unit": "v", "station_key": ["C"] * 2, "sx": [0.0, 5.0], "sy": [0.0, 0.0], "rows": 1})
    got = neighbour_agreement(pd.concat([seeds, alone], ignore_index=True))
    assert got["A"] == pytest.approx(8 / 10)  # the doors at x = 4 and 5 have B's door nearest
    assert got["B"] == pytest.approx(10 / 13)  # its stray door weighs 3 rows
    assert got["C"] == 1.0


def test_stations_carry_parts_and_confidence(town):
    import boundaries

    st = boundaries.build(town[0], town[1]).stations
    assert (st["n_parts"] == shapely.get_num_geometries(st.geometry.values)).all()
    assert st["confidence"].between(0, 1).all()
    single = st["method"] == "commune"
    assert (st.loc[single, "confidence"] == (st.loc[single, "n_addresses"]
            / (st.loc[single, "n_addresses"] + st.loc[single, "n_dropped"])).round(3)).all()
    assert st.loc[~single, "confidence"].std() > 0  # it tells stations apart
