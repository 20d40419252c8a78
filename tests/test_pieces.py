"""One piece per station (issue 18): detached parts go to the station around them unless they are enclaves."""

import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.checks import check_partition
from boundaries.fragments import reassign_pieces
from boundaries.tessellate import voronoi_partition

METRIC = "EPSG:2154"
OUTLINE = shapely.box(650_000, 6_860_000, 651_000, 6_861_000)


def _commune(island_rows: int, seed: int = 0):
    """Station A on the left half, B on the right, and ``island_rows`` of A's rows clustered inside B."""
    rng = np.random.default_rng(seed)
    x0, y0 = 650_000, 6_860_000
    a = np.column_stack([rng.uniform(x0 + 20, x0 + 480, 60), rng.uniform(y0 + 20, y0 + 980, 60)])
    b = np.column_stack([rng.uniform(x0 + 520, x0 + 980, 60), rng.uniform(y0 + 20, y0 + 980, 60)])
    isl = np.column_stack([x0 + 750 + rng.uniform(-8, 8, island_rows), y0 + 500 + rng.uniform(-8, 8, island_rows)])
    xy = np.vstack([a, b, isl])
    ids = ["94001_1"] * 60 + ["94001_2"] * 60 + ["94001_1"] * island_rows
    df = pd.DataFrame({"code_commune_ref": "94001", "id_brut_bv_reu": ids, "x": xy[:, 0], "y": xy[:, 1]})
    import geopandas as gpd

    outl = gpd.GeoDataFrame({"code": ["94001"], "nom": ["Test"]}, geometry=[OUTLINE], crs=METRIC)
    return df, outl


def _build(df, outl, **params):
    return boundaries.build(df, outl, columns=boundaries.AddressColumns(x="x", y="y"), crs=METRIC,
                            params=boundaries.Parameters(**params))


def test_a_small_island_goes_to_the_station_around_it_and_the_report_counts_it():
    df, outl = _commune(island_rows=3)
    built = _build(df, outl)
    assert (shapely.get_num_geometries(built.stations.geometry.values) == 1).all()
    commune = built.report.communes["94001"]
    assert commune["fragments_moved"] >= 1 and commune["fragment_rows_moved"] == 3
    assert commune["enclaves_kept"] == 0
    # the old rule (every part holding an address stays) kept it
    old = _build(df, outl, fragment_max_rows=0, enclave_min_share=0.0)
    assert shapely.get_num_geometries(old.stations.geometry.values).max() == 2
    assert old.report.communes["94001"]["enclaves_kept"] == 1


def test_the_enclaves_layer_shows_what_moved(tmp_path):
    import pyogrio

    df, outl = _commune(island_rows=3)
    built = _build(df, outl, fragment_max_rows=5)
    out = tmp_path / "stations.gpkg"
    built.write(str(out))
    layers = [name for name, _ in pyogrio.list_layers(out)]
    assert "enclaves" in layers
    enc = pyogrio.read_dataframe(out, layer="enclaves")
    assert list(enc.columns[:4]) == ["id_bv", "id_bv_holder", "code_commune", "rows"]
    assert enc["rows"].sum() == built.report.communes["94001"]["fragment_rows_moved"] == 3
    assert set(enc["id_bv"]) == {"94001_1"} and set(enc["id_bv_holder"]) == {"94001_2"}
    # the per-station count: the rows each station has in another's polygon
    n_elsewhere = built.stations.set_index("id_bv")["n_elsewhere"]
    assert n_elsewhere.to_dict() == {"94001_1": 3, **{k: 0 for k in n_elsewhere.index if k != "94001_1"}}
    holder = built.stations.set_index("id_bv").geometry["94001_2"]
    assert shapely.covers(holder, shapely.buffer(enc.geometry.values, 0)).all() or \
        shapely.distance(holder, enc.geometry.values).max() < 1e-6
    # nothing moved: the layer is there, empty
    built = _build(df, outl, fragment_max_rows=0, enclave_min_share=0.0)
    assert (built.stations["n_elsewhere"] == 0).all()
    built.write(str(tmp_path / "none.gpkg"))
    assert len(pyogrio.read_dataframe(tmp_path / "none.gpkg", layer="enclaves")) == 0


def test_a_big_enough_enclave_stays():
    df, outl = _commune(island_rows=40)
    built = _build(df, outl)
    a = built.stations.set_index("id_bv").geometry["94001_1"]
    assert shapely.get_num_geometries(a) == 2
    commune = built.report.communes["94001"]
    assert commune["enclaves_kept"] == 1 and commune["enclave_rows_kept"] == 40
    assert commune["fragment_rows_moved"] == 0


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(8, 120), n_stations=st.integers(2, 6),
       max_rows=st.integers(-1, 20), share=st.floats(0, 1), sliver=st.sampled_from([0.0, 10.0, 1e4]))
def test_pieces_keep_an_exact_partition_and_count_what_moved(seed, n, n_stations, max_rows, share, sliver):
    """Random Voronoi partitions with random labels (many islands), random rules: exact, counted, enclaves only."""
    rng = np.random.default_rng(seed)
    outline = shapely.box(0, 0, 1000, 800)
    xy = np.unique(np.round(rng.uniform([0, 0], [1000, 800], (n, 2)), 2), axis=0)
    station = rng.integers(0, n_stations, len(xy)).astype(str)
    rows = rng.integers(1, 6, len(xy))
    keys, polys = voronoi_partition(xy, station, outline, 100.0)
    out, moves = reassign_pieces(keys, polys, xy, rows, max_rows, share, sliver)
    assert check_partition(out, outline, 1e-3).ok
    assert abs(shapely.area(shapely.union_all(out)) - 800_000) < 1e-3
    assert int(moves.enclaves["rows"].sum()) == moves.moved_rows
    # every row moved now lies in its holder's polygon, not in its own station's
    assert all(moves.enclaves["holder"] != moves.enclaves["station"])
    pts = shapely.points(moves.enclaves["x"], moves.enclaves["y"])
    holder = np.asarray(moves.enclaves["holder"], dtype=int)
    assert shapely.covers(out[holder], pts).all()
    # parts only merge: fewer parts whenever one moved
    assert len(shapely.get_parts(out)) <= len(shapely.get_parts(polys))
    assert moves.moved == 0 or len(shapely.get_parts(out)) < len(shapely.get_parts(polys))
