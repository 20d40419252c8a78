"""The cleaning rules, one by one, on hand-made rows."""

import numpy as np
import pytest
import pandas as pd
import shapely

from boundaries.clean import flag_unusable, resolve_contested

SQUARE = shapely.box(0, 0, 1000, 1000)


def rows(data):
    df = pd.DataFrame(data, columns=["commune", "station", "px", "py", "geo_type", "geo_score", "weight"])
    df["unit"] = df["commune"].where(df["commune"] != "99999", None)
    df["station_key"] = df["commune"] + "\x1f" + df["station"]
    return df


def test_flag_unusable_reasons_in_order():
    df = rows(
        [
            ("00001", "00001_1", 10.0, 10.0, "housenumber", 0.9, 1),  # fine
            ("00001", "00001_1", np.nan, 10.0, None, np.nan, 1),  # no coordinates
            ("00001", "00001_2", 1050.0, 500.0, "housenumber", 0.9, 1),  # 50 m outside: kept
            ("00001", "00001_2", 1500.0, 500.0, "housenumber", 0.9, 1),  # 500 m outside: dropped
            ("00001", "00001_2", 500.0, 500.0, "municipality", 0.3, 1),  # town centre, 2 stations
            ("99999", "99999_1", np.nan, np.nan, None, np.nan, 1),  # no outline wins over no coords
        ]
    )
    reason = flag_unusable(df, pd.Series({"00001": SQUARE}), outside_tolerance_m=100.0)
    assert list(reason) == [
        None,
        "no_coordinates",
        None,
        "outside_commune",
        "municipality_geocode",
        "commune_without_outline",
    ]


def test_municipality_geocode_kept_in_single_station_commune():
    df = rows([("00001", "00001_1", 500.0, 500.0, "municipality", 0.3, 1)])
    reason = flag_unusable(df, pd.Series({"00001": SQUARE}), 100.0)
    assert list(reason) == [None]


def test_contested_coordinate_goes_to_heaviest_then_best_score_then_id():
    df = rows(
        [
            # point A: station 2 has more weight (2 rows) than station 1 (1 row of weight 1)
            ("00001", "00001_1", 100.0, 100.0, "housenumber", 0.99, 1),
            ("00001", "00001_2", 100.0, 100.0, "housenumber", 0.50, 1),
            ("00001", "00001_2", 100.0, 100.0, "housenumber", 0.50, 1),
            # point B: equal weight, station 3 has the better score
            ("00001", "00001_1", 200.0, 200.0, "housenumber", 0.80, 1),
            ("00001", "00001_3", 200.0, 200.0, "housenumber", 0.90, 1),
            # point C: equal weight and score: smallest id wins
            ("00001", "00001_4", 300.0, 300.0, "housenumber", 0.90, 1),
            ("00001", "00001_3", 300.004, 300.0, "housenumber", 0.90, 1),  # same cm: same place
        ]
    )
    lost, seeds = resolve_contested(df, grid_m=0.01)
    assert list(lost) == [True, False, False, True, False, True, False]
    winner = {(round(x), round(y)): k.split("\x1f")[1] for x, y, k in zip(seeds.sx, seeds.sy, seeds.station_key)}
    assert winner == {(100, 100): "00001_2", (200, 200): "00001_3", (300, 300): "00001_3"}


def test_nb_adresses_weight_beats_row_count():
    df = rows(
        [
            ("00001", "00001_1", 100.0, 100.0, "housenumber", 0.9, 5),
            ("00001", "00001_2", 100.0, 100.0, "housenumber", 0.9, 1),
            ("00001", "00001_2", 100.0, 100.0, "housenumber", 0.9, 1),
        ]
    )
    lost, seeds = resolve_contested(df, grid_m=0.01)
    assert list(lost) == [False, True, True]
    assert len(seeds) == 1


def test_seed_quality_imprecise_and_outliers():
    from boundaries.clean import flag_seed_quality

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 100, size=(30, 2))  # station 1 in the west
    b = rng.uniform(0, 100, size=(30, 2)) + [300, 0]  # station 2 in the east
    data = [("00001", "00001_1", x, y, "housenumber", 0.9, 1) for x, y in a]
    data += [("00001", "00001_2", x, y, "housenumber", 0.9, 1) for x, y in b]
    data += [
        ("00001", "00001_1", 305.0, 50.0, "street", 0.5, 1),  # street centre among station 2's doors
        ("00001", "00001_1", 360.0, 60.0, "housenumber", 0.9, 1),  # alone, far inside station 2
        ("00001", "00001_2", 350.0, 40.0, "housenumber", 0.9, 1),  # an ordinary door
    ]
    # a true enclave: three of station 1's doors together inside station 2
    data += [("00001", "00001_1", 340.0 + dx, 90.0, "housenumber", 0.9, 1) for dx in (0, 3, 6)]
    df = rows(data)
    reason = flag_seed_quality(df, imprecise_radius_m=30, outlier_neighbours=2, outlier_spread=3)
    assert reason[60] == "imprecise_geocode"
    assert reason[61] == "station_outlier"
    assert reason[62] is None and all(r is None for r in reason[63:])
    assert sum(r is not None for r in reason[:60]) == 0
    off = flag_seed_quality(df, imprecise_radius_m=0, outlier_neighbours=0, outlier_spread=3)
    assert all(r is None for r in off)


def test_station_on_shared_points_only_gets_a_share():
    df = rows(
        [
            ("00001", "00001_1", 100.0, 100.0, "housenumber", 0.9, 3),
            ("00001", "00001_2", 100.0, 100.0, "housenumber", 0.9, 1),  # only here, and loses
            ("00001", "00001_1", 500.0, 500.0, "housenumber", 0.9, 1),
            ("00001", "00001_3", 500.0, 500.0, "housenumber", 0.9, 2),  # wins here
        ]
    )
    lost, seeds = resolve_contested(df, grid_m=0.01, share_offset_m=3.0)
    assert list(lost) == [False, False, True, False]  # station 2 keeps its row as a share seed
    share = seeds[seeds.station_key.str.endswith("_2")]
    assert len(share) == 1
    assert np.hypot(share.sx.iloc[0] - 100, share.sy.iloc[0] - 100) == pytest.approx(3.0, abs=0.01)
    lost, seeds = resolve_contested(df, grid_m=0.01, share_offset_m=0.0)
    assert list(lost) == [False, True, True, False] and not seeds.station_key.str.endswith("_2").any()
