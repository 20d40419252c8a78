"""The last holes of issue 17: address files of several layers (item 9) and compressed results
files (item 12). An address GeoPackage is read only when its point layer is known (the only one, or
named with ``addresses_layer``), never its first layer silently; a ``--results`` file is decompressed
only through the capped reader, and compressions nothing can cap are refused in one line, exit 2."""

import bz2
import gzip
import json
import lzma
import os
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.read import read_addresses
from boundaries.results import check_results, read_results
from conftest import TOWN

#: Layer names from a hostile alphabet (quotes, spaces, separators, accents, SQL, controls) after a
#: letter: GDAL's GeoPackage writer refuses a name that starts with another character.
LAYER_NAMES = st.text(alphabet=list("ab_ Z9'\"-;.é()%$[]/\x1b\t"), max_size=10).map(lambda s: "L" + s)


def _town_points(rows: int = 60) -> gpd.GeoDataFrame:
    """The first ``rows`` town addresses with coordinates, as a point layer (every column kept)."""
    df = pd.read_csv(TOWN / "addresses.csv", dtype=str).dropna(subset=["longitude", "latitude"]).head(rows)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["longitude"].astype(float),
                                                            df["latitude"].astype(float)), crs="EPSG:4326")


def _layer(kind: str, points: gpd.GeoDataFrame):
    """A layer of ``kind`` made from the address points (the same columns: only the geometry differs)."""
    if kind == "point":
        return points
    if kind == "polygon":
        return points.assign(geometry=points.buffer(1e-4))
    if kind == "line":
        return points.assign(geometry=shapely.linestrings(
            np.stack([shapely.get_coordinates(points.geometry.values),
                      shapely.get_coordinates(points.geometry.values) + 1e-4], axis=1)))
    return pd.DataFrame(points.drop(columns="geometry"))


def _gpkg(path, layers) -> None:
    """Write ``(name, frame)`` pairs as the layers of one GeoPackage (a plain frame: a table without geometry)."""
    for name, frame in layers:
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", append=path.exists())


def _town_build(tmp_path, *extra):
    out = tmp_path / "o.geojson"
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(TOWN / "communes.geojson"),
                                    "-o", str(out), "-q", "-j", "1", *extra])
    return res, out


# -- address files of several layers ---------------------------------------------------------------


@settings(deadline=None)
@given(names=st.lists(LAYER_NAMES, min_size=1, max_size=4, unique_by=str.lower),
       kinds=st.lists(st.sampled_from(["point", "polygon", "line", "table"]), min_size=4, max_size=4))
def test_an_address_file_of_several_layers_is_read_only_when_its_point_layer_is_known(tmp_path_factory, names,
                                                                                      kinds):
    points = _town_points()
    path = tmp_path_factory.mktemp("layers") / "a.gpkg"
    try:
        _gpkg(path, [(n, _layer(k, points)) for n, k in zip(names, kinds)])
    except Exception:  # a name GDAL itself refuses to write: not ours to read
        assume(False)
    kinds = dict(zip(names, kinds))
    pointed = [n for n in names if kinds[n] == "point"]
    if len(pointed) == 1 and (len(names) > 1 or kinds[names[0]] == "point"):
        table = read_addresses(path)
        assert table.layer == pointed[0] and len(table.rows) == len(points)
    else:
        with pytest.raises(InputError) as err:
            read_addresses(path)
        message = str(err.value)
        assert "\n" not in message
        assert "addresses_layer" in message if len(pointed) > 1 else "point" in message
    for name in pointed:  # each point layer can be named, and is the one read
        table = read_addresses(path, addresses_layer=name)
        assert table.layer == name and np.allclose(table.rows["x"], points.geometry.x)
    for name in set(names) - set(pointed):
        with pytest.raises(InputError, match="not points"):
            read_addresses(path, addresses_layer=name)


@settings(deadline=None)
@given(empty=st.lists(st.booleans(), min_size=60, max_size=60))
def test_empty_points_of_an_address_layer_are_missing_coordinates_not_a_crash(tmp_path_factory, empty):
    points = _town_points().drop(columns=["longitude", "latitude"])  # the geometry gives x and y
    points.loc[np.array(empty), "geometry"] = shapely.Point()
    path = tmp_path_factory.mktemp("empty") / "a.gpkg"
    _gpkg(path, [("addresses", points)])
    rows = read_addresses(path).rows
    assert np.array_equal(np.isnan(rows["x"].to_numpy()), np.array(empty))
    assert np.isfinite(rows.loc[~np.array(empty), ["x", "y"]].to_numpy()).all()


def test_build_preview_and_report_name_the_address_layer(tmp_path):
    points = _town_points(10_000)
    path = tmp_path / "a.gpkg"
    _gpkg(path, [("reu_2019", points.head(50)), ("reu_2024", points)])
    out = tmp_path / "o.geojson"
    build = ["build", str(path), "--communes", str(TOWN / "communes.geojson"), "-o", str(out), "-q", "-j", "1"]
    res = CliRunner().invoke(main, build)
    assert res.exit_code == 2 and "reu_2019" in res.output and "--addresses-layer" in res.output
    assert os.listdir(tmp_path) == ["a.gpkg"]  # nothing written
    res = CliRunner().invoke(main, build + ["--addresses-layer", "reu_2024"])
    assert res.exit_code == 0, res.output
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["inputs"]["addresses_layer"] == "reu_2024"
    assert boundaries.build(path, TOWN / "communes.geojson", addresses_layer="reu_2024", jobs=1) \
        .report.inputs["addresses_layer"] == "reu_2024"
    for command, target in (("preview", "m.png"), ("report", "r.html")):
        args = [command, str(out), "-o", str(tmp_path / target), "--addresses", str(path), "-q"]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and "--addresses-layer" in res.output and not (tmp_path / target).exists()
        res = CliRunner().invoke(main, args + ["--addresses-layer", "reu_2024"])
        assert res.exit_code == 0, res.output


def test_evaluate_holdout_names_the_address_layer_it_reads(tmp_path):
    """evaluate --holdout reads test addresses as build does: the same refusal, and the flag it names exists."""
    points = _town_points(10_000)
    path = tmp_path / "test.gpkg"
    _gpkg(path, [("held_a", points.head(50)), ("held_b", points)])
    stations = tmp_path / "s.geojson"
    assert CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(TOWN / "communes.geojson"),
                                     "-o", str(stations), "-q", "-j", "1"]).exit_code == 0
    args = ["evaluate", str(stations), "--holdout", str(path), "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "held_a" in res.output and "--addresses-layer" in res.output, res.output
    res = CliRunner().invoke(main, args + ["--addresses-layer", "held_b"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["test_points"] > 0


def test_an_address_layer_option_on_a_table_is_refused(tmp_path):
    res, out = _town_build(tmp_path, "--addresses-layer", "reu")
    assert res.exit_code == 2 and "--addresses-layer" in res.output and not out.exists()


# -- compressed results files ----------------------------------------------------------------------


def _results_text() -> str:
    ids = sorted(pd.read_csv(TOWN / "addresses.csv", dtype=str)["id_brut_bv_reu"].dropna().unique())
    return "id_bv;votants\n" + "".join(f"{i};{10 + n}\n" for n, i in enumerate(ids))


def test_a_gzipped_results_file_joins_as_the_plain_one(tmp_path):
    text = _results_text()
    (tmp_path / "r.csv").write_text(text)
    (tmp_path / "r.csv.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "p").mkdir()
    (tmp_path / "z").mkdir()
    plain, out_plain = _town_build(tmp_path / "p", "--results", str(tmp_path / "r.csv"))
    zipped, out_zipped = _town_build(tmp_path / "z", "--results", str(tmp_path / "r.csv.gz"))
    assert plain.exit_code == 0 and zipped.exit_code == 0, plain.output + zipped.output
    assert out_plain.read_bytes() == out_zipped.read_bytes()
    assert '"votants"' in out_plain.read_text()


def test_a_results_bomb_is_refused_before_it_fills_memory(tmp_path):
    bomb = tmp_path / "r.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(_results_text().encode())
        for _ in range(64):  # 64 MiB of one byte: about 64 KiB compressed, 1,000×
            f.write(b"0" * (1 << 20))
    with pytest.raises(InputError, match="expands more than"):
        read_results(bomb)
    res, out = _town_build(tmp_path, "--results", str(bomb))
    assert res.exit_code == 2 and "results file" in res.output and "decompression bomb" in res.output
    assert len(res.output.strip().splitlines()) == 1 and not out.exists()


@settings(deadline=None)
@given(kind=st.sampled_from(["bz2", "xz", "zip", "zst", "tar"]), upper=st.booleans())
def test_results_compressed_beyond_a_cap_are_refused_in_one_line(tmp_path_factory, kind, upper):
    data = _results_text().encode()
    packed = {"bz2": bz2.compress, "xz": lzma.compress}.get(kind, lambda b: b)(data)
    path = tmp_path_factory.mktemp("c") / f"r.csv.{kind.upper() if upper else kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("r.csv", data)
    else:
        path.write_bytes(packed)
    with pytest.raises(InputError) as err:
        check_results(path)
    assert "\n" not in str(err.value) and "compressed" in str(err.value)


@settings(deadline=None)
@given(cut=st.floats(0, 1, exclude_max=True))
def test_a_gzipped_results_file_cut_short_is_refused_or_read_whole(tmp_path_factory, cut):
    whole = gzip.compress(_results_text().encode())
    path = tmp_path_factory.mktemp("cut") / "r.csv.gz"
    path.write_bytes(whole[: int(len(whole) * cut)])
    try:
        table = read_results(path)
    except InputError as err:
        assert "\n" not in str(err)
        return
    assert len(table) <= _results_text().count("\n") - 1  # a cut at a line end reads what is there
