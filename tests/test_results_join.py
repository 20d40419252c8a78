"""Results that join, and results that do not: Paris/Lyon/Marseille ids, joins matching nothing, the web
map's fill, plurals in messages, whole counts carried whole (review 29: finding 2, papercuts 3, 8, 11)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries import codes, web
from boundaries.cli import main
from boundaries.crosswalk import crosswalk, whole_as_integers
from boundaries.errors import InputError, plural
from boundaries.report import results_line
from boundaries.results import join_results, match_stats, ministry_station_ids
from browser import skip
from conftest import TOWN, shared_path

#: MapLibre's style validator, installed by ``make web-assets`` (npm ci in web/).
STYLE_SPEC = Path(__file__).resolve().parents[1] / "web/node_modules/@maplibre/maplibre-gl-style-spec/dist/index.cjs"
#: The three cities: the Ministry's commune code and the REU's arrondissement codes.
PLM = list(codes.PLM_CITIES.items())


def layer(ids, x0: float = 2.3) -> gpd.GeoDataFrame:
    """Stations of ``ids``, squares side by side (degrees)."""
    x = x0 + np.arange(len(ids)) * 0.001
    return gpd.GeoDataFrame({"id_bv": list(ids)}, geometry=shapely.box(x, 48.85, x + 0.001, 48.851), crs=4326)


def need_assets() -> None:
    """Skip (fail in CI) when ``make web-assets`` has not put the JavaScript in the package."""
    try:
        web.vendor_folder()
    except InputError as exc:
        skip(str(exc))


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line(result, code: int = 2) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == code and len(lines) == 1 and lines[0].startswith("boundaries: error: "), result.output
    return lines[0]


# --- Paris, Lyon, Marseille: the Ministry's city form and the REU's arrondissements ---------------------------

plm_station = st.sampled_from(PLM).flatmap(lambda c: st.tuples(
    st.just(c[0]), st.integers(1, len(c[1])), st.integers(1, 99), st.integers(0, 2)))


@settings(deadline=None)
@given(plm_station)
def test_city_form_and_arrondissement_form_are_one_key(station):
    """``75056_101``, ``75056_0101``, ``75101_1``, ``75101_0001`` … for any arrondissement and station of the
    three cities, any zero padding: one key, the REU's."""
    city, arr, n, pad = station
    reu = f"{codes.PLM_CITIES[city][arr - 1]}_{n}"
    forms = [f"{city}_{'0' * pad}{arr * 100 + n}", f"{city}_{arr * 100 + n:04d}", reu,
             f"{codes.PLM_CITIES[city][arr - 1]}_{n:04d}", f" {reu} "]
    assert set(codes.results_key(forms)) == {reu}


@settings(deadline=None)
@given(city=st.sampled_from(list(codes.PLM_CITIES)), number=st.integers(0, 99999))
def test_city_codes_naming_no_arrondissement_are_kept(city, number):
    """A city-form code whose hundreds name no arrondissement (0, beyond 20/9/16) or station 00 is not
    rewritten: it stays the city's, as canonical_station makes it."""
    arr, n = divmod(number, 100)
    key = codes.results_key([f"{city}_{number}"])[0]
    if 1 <= arr <= len(codes.PLM_CITIES[city]) and n >= 1:
        assert key == f"{codes.PLM_CITIES[city][arr - 1]}_{n}"
    else:
        assert key == f"{city}_{number}"


def test_other_communes_and_odd_ids_are_untouched():
    ids = ["94028_0012", "29039_1", "2A004_3", "75056_A", "", None, "75056", "69123_", "x_101"]
    assert list(codes.results_key(ids)) == list(codes.canonical_station(ids))


@settings(deadline=None)
@given(city=st.sampled_from(["69123", "13055"]), picks=st.sets(st.tuples(st.integers(1, 16), st.integers(1, 60)),
                                                               min_size=1, max_size=30),
       published=st.booleans())
def test_lyon_marseille_results_join_reu_stations(city, picks, published):
    """Generated Lyon / Marseille stations with the REU's arrondissement ids, results in the Ministry's form
    (its three code columns as published, or ``codeBureauVote``): every station matched, its own votes."""
    arrs = codes.PLM_CITIES[city]
    picks = sorted((a, n) for a, n in picks if a <= len(arrs))
    if not picks:
        return
    ids = [f"{arrs[a - 1]}_{n}" for a, n in picks]
    bv = [f"{a}{n:02d}" for a, n in picks]
    votes = [str(7 * i + 1) for i in range(len(picks))]
    if published:
        table = pd.DataFrame({"Code du département": city[:2], "Code de la commune": city[2:], "Code du b.vote": bv,
                              "Votants": votes})
    else:
        table = pd.DataFrame({"codeBureauVote": [f"{city}_{b:0>4}" for b in bv], "Votants": votes})
    out, stats = join_results(layer(ids), table)
    assert stats["matched_stations"] == len(ids) and stats["results_without_station"] == 0
    assert out["Votants"].tolist() == [int(v) for v in votes]


def test_ministry_codes_compose_the_city_form():
    ids = ministry_station_ids(pd.Series(["75", "69", "13"]), pd.Series(["56", "123", "55"]),
                               pd.Series(["101", "0915", "1620"]))
    assert list(codes.results_key(ids)) == ["75101_1", "69389_15", "13216_20"]


def test_paris_2022_results_join_the_reu_ids():
    """The real Paris 2022 file (its ``Code du b.vote`` without leading zeros) joins the 2017 sectors named as the
    REU names them (``75101_1``): every results row of a sector found, votes on the right station; the sectors
    named in the city form (``75056_101``) match the same way."""
    results = shared_path("paris-2022", "presidentielle-2022-t1.csv")
    sectors = gpd.read_file(shared_path("paris-2017", "bureaux.geojson"))
    arr, num = sectors["arrondissement"].astype(int), sectors["num_bv"].astype(int)
    reu = sectors.assign(id_bv=[f"751{a:02d}_{n}" for a, n in zip(arr, num)])[["id_bv", "geometry"]]
    out, stats = join_results(reu, results)
    raw = pd.read_csv(results, dtype=str)
    assert stats["matched_stations"] >= 890 and stats["results_rows"] == len(raw) == 899
    first = out.loc[out["id_bv"] == "75101_1"].iloc[0]
    row = raw.loc[raw["Code du b.vote"] == "101"].iloc[0]
    assert (first["MACRON"], first["Inscrits"]) == (int(row["MACRON"]), int(row["Inscrits"]))
    city = reu.assign(id_bv=[f"75056_{a * 100 + n}" for a, n in zip(arr, num)])
    assert join_results(city, results)[1]["matched_stations"] == stats["matched_stations"]


# --- a join that matches nothing is bad input; a partial one a warning ------------------------------------------

@settings(deadline=None)
@given(ours=st.sets(st.integers(1, 300), min_size=1, max_size=20), theirs=st.sets(st.integers(1, 300), min_size=1,
                                                                               max_size=20),
       form=st.sampled_from(["{c}_{n:04d}", "{c}_{n}", "{n}"]))
def test_no_station_matched_is_refused_in_one_line(ours, theirs, form):
    """Results of another commune (or bare codes, of none): refused, naming an id of each side and the option."""
    table = pd.DataFrame({"codeBureauVote": [form.format(c="29039", n=n) for n in sorted(theirs)],
                          "Inscrits": "1"})
    with pytest.raises(InputError) as caught:
        join_results(layer([f"94028_{n}" for n in sorted(ours)]), table)
    message = str(caught.value)
    assert "\n" not in message and "no results row matches a station" in message
    assert f"94028_{min(ours)}" in message and table["codeBureauVote"].iloc[0] in message
    assert "results_id" in message


@pytest.fixture(scope="module")
def town_gpkg(tmp_path_factory):
    out = tmp_path_factory.mktemp("town") / "town.gpkg"
    assert cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", out, "-q"
               ).exit_code == 0
    return out


def test_build_with_results_matching_nothing_exits_2_writing_nothing(tmp_path):
    results = tmp_path / "r.csv"
    results.write_text("Code du département,Code de la commune,Code du b.vote,Inscrits\n75,56,101,1082\n")
    out = tmp_path / "s.gpkg"
    line = one_line(cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", out,
                        "--results", results))
    assert "results ids like '75056_101'" in line and "station ids like '99001_1'" in line
    assert "--results-id" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_partial_match_is_reported_on_stderr(tmp_path):
    results = tmp_path / "r.csv"
    results.write_text("code_bv,Inscrits\n99001_0001,10\n99001_0077,3\n")
    result = cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o",
                 tmp_path / "s.gpkg", "--results", results)
    assert result.exit_code == 0
    assert re.search(r"results: 1 station matched on code_bv, 13 without a result \(99001_2, .* and 8 more\), "
                     r"1 results row without a station \(99001_77\)", result.output), result.output


def test_crosswalk_carrying_nothing_exits_2(town_gpkg, tmp_path):
    results = tmp_path / "r.csv"
    results.write_text("codeBureauVote,Inscrits\n75056_0101,1082\n")
    line = one_line(cli("crosswalk", town_gpkg, town_gpkg, "-o", tmp_path / "x.csv", "--results", results,
                        "--carried", tmp_path / "c.csv"))
    assert "no results row matches a station" in line and "'75056_0101'" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_crosswalk_partial_carry_warns_and_writes_whole_counts_whole(town_gpkg, tmp_path):
    results = tmp_path / "r.csv"
    results.write_text("codeBureauVote,Inscrits,Part\n99001_0001,1082,0.5\n99001_0077,3,0.25\n")
    result = cli("crosswalk", town_gpkg, town_gpkg, "-o", tmp_path / "x.csv", "--results", results,
                 "--carried", tmp_path / "c.csv")
    assert result.exit_code == 0
    assert "warning: 1 of 2 results rows carried; 1 not" in result.output and "99001_0077" in result.output
    carried = (tmp_path / "c.csv").read_text().splitlines()
    assert carried[1] == "99001_1,1.0,1082,0.5", carried[:3]


@settings(deadline=None)
@given(st.lists(st.one_of(st.integers(-10 ** 9, 10 ** 9).map(float), st.just(np.nan),
                          st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=20))
def test_whole_counts_stay_integers_only_when_every_value_is(values):
    """Any mix of whole numbers, fractions and missing values: integers when every value present is whole (the
    same numbers), else the column untouched."""
    frame = pd.DataFrame({"n": values})
    out = whole_as_integers(frame, ["n"])
    known = np.array([v for v in values if not np.isnan(v)])
    if (known == np.round(known)).all():
        assert str(out["n"].dtype) == "Int64"
        assert out["n"].isna().tolist() == [bool(np.isnan(v)) for v in values]
        assert np.array_equal(out["n"].dropna().to_numpy(dtype=float), known)
    else:
        assert out["n"].equals(frame["n"])


def test_crosswalk_splitting_a_station_keeps_decimals():
    old = layer(["99001_1", "99001_2"])
    new = gpd.GeoDataFrame({"id_bv": ["99001_1", "99001_2", "99001_3"]},
                           geometry=shapely.box(2.3 + np.array([0, 0.0005, 0.001]), 48.85,
                                                2.3 + np.array([0.0005, 0.001, 0.002]), 48.851), crs=4326)
    table = pd.DataFrame({"code_bv": ["99001_1", "99001_2"], "Inscrits": [101, 40]})
    carried = crosswalk(old, new, results=table).carried
    assert carried["Inscrits"].dtype.kind == "f" and carried["Inscrits"].sum() == pytest.approx(141)


# --- the web map: a --field with no value, a fill MapLibre accepts, an honest default legend -------------------

def test_web_field_without_values_exits_2(town_gpkg, tmp_path):
    results = tmp_path / "r.csv"
    results.write_text("code_bv,Inscrits,Vide\n99001_0001,10,\n")
    need_assets()
    line = one_line(cli("web", town_gpkg, "-o", tmp_path / "site", "--results", results, "--field", "Vide"))
    assert "field 'Vide' has no value on any of the 14 stations" in line and "--field" in line
    assert not (tmp_path / "site").exists()


def validate_fill(fills: list) -> list:
    """MapLibre's own style validator (its style-spec package, as ``make web-assets`` installs it) on each fill."""
    node = shutil.which("node")
    if node is None or not STYLE_SPEC.is_file():
        skip("node or MapLibre's style-spec package (web/node_modules, make web-assets) not found")
    script = (f"const spec = require({json.dumps(str(STYLE_SPEC))});"
              "const fills = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(fills.map(f => spec.validateStyleMin({version: 8, sources: {s: {type: "
              "'vector', url: 'pmtiles://x'}}, layers: [{id: 'f', type: 'fill', source: 's', 'source-layer': 's', "
              "paint: {'fill-color': f}}]}).map(e => e.message))));")
    done = subprocess.run([node, "-e", script], input=json.dumps(fills), capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@settings(deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.none(), max_size=30))
def test_fill_expression_is_valid_maplibre_for_any_classes(values):
    """Whatever the classes (none at all, one, many): the page's fill is an expression MapLibre's validator
    accepts (a ``match`` with no class made the page blank), with one colour per class."""
    classes = web.classify(pd.Series(values, dtype="float64"), "x")
    fill = web.fill_expression(classes.colours)
    assert validate_fill([fill]) == [[]]
    if classes.colours:
        assert fill[3::2][:len(classes.colours)] == classes.colours


def test_default_colour_fill_has_an_honest_legend(tmp_path):
    frame = layer([f"99001_{i}" for i in range(1, 5)]).assign(code_commune="99001", colour=[0, 1, 2, 0])
    need_assets()
    default = web.write_site(frame, tmp_path / "a")
    page = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    config = json.loads(re.search(r'<script id="config" type="application/json">(.*?)</script>', page, re.S)[1])
    assert config["legend"] == {"title": "Stations", "note": web.COLOUR_NOTE, "rows": []}
    assert config["fill"][0] == "match" and default.classes.field == "colour"
    chosen = web.page_config(frame, web.classify(frame["colour"], "colour"), 4, 14)
    assert chosen["legend"]["rows"] == [["0", web.CATEGORICAL[0]], ["1", web.CATEGORICAL[1]],
                                        ["2", web.CATEGORICAL[2]]]


# --- plurals ---------------------------------------------------------------------------------------------------

@settings(deadline=None)
@given(n=st.integers(0, 10 ** 7), noun=st.sampled_from(["commune", "station", "class", "results row", "box"]))
def test_plural_agrees_with_its_number(n, noun):
    text = plural(n, noun)
    number, word = text.split(" ", 1)
    assert int(number.replace(",", "")) == n
    assert word == noun if n == 1 else word in (noun + "s", noun + "es")


def test_messages_say_one_station_and_one_class(town_gpkg, tmp_path):
    stats = match_stats("code_bv", np.array(["99001_1", "99001_2"]), ["99001_1", "99001_2"],
                        np.array(["99001_1", "99001_9"]))
    assert results_line(stats).startswith("results: 1 station matched on code_bv, 1 without a result (99001_2), "
                                          "1 results row without a station (99001_9)")
    result = cli("check", town_gpkg, "--communes", TOWN / "communes.geojson")
    assert "14 stations in 4 communes" in result.output, result.output
    one, outline = tmp_path / "one.geojson", tmp_path / "c.geojson"
    gpd.read_file(town_gpkg, layer="stations").iloc[:1].to_file(one, driver="GeoJSON")
    communes = gpd.read_file(TOWN / "communes.geojson")
    communes[communes["code"] == "99001"].to_file(outline, driver="GeoJSON")
    result = cli("check", one, "--communes", outline)
    assert "1 station in 1 commune: 1 problem, 1 warning" in result.output, result.output
    results = tmp_path / "r.csv"
    results.write_text("code_bv,Inscrits\n99001_0001,10\n")
    need_assets()
    result = cli("web", town_gpkg, "-o", tmp_path / "site", "--results", results, "--field", "Inscrits")
    assert "14 stations by Inscrits (category, 1 class), 4 communes;" in result.output, result.output
