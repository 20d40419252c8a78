"""``boundaries web`` (issue 21, part 2): a static web map, its refusals, and the page in a real browser.

The command runs on the bundled town (built once into a temporary folder, one commune
renamed ``Évry-les-Châteaux`` so the search meets accents); the hostile classes (field
names and values, commune names, numbers at the limits) run :func:`boundaries.web.write_site`
on a few generated squares. The browser test serves the site with ``python -m http.server``
and opens it in Debian's headless Chromium (``tests/browser.py``).
"""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries import web
from boundaries.cli import main
from boundaries.errors import InputError
from browser import page_of, serve, skip, wait_for_tiles
from conftest import TOWN

ACCENTED = "Évry-les-Châteaux"


def need_assets() -> None:
    """Skip (fail in CI) when ``make web-assets`` has not put the JavaScript in the package."""
    try:
        web.vendor_folder()
    except InputError as exc:
        skip(str(exc))


@pytest.fixture(scope="module")
def town_inputs(tmp_path_factory):
    """The town built into a GeoPackage, and its outlines with commune 99003 renamed with accents."""
    folder = tmp_path_factory.mktemp("web-town")
    communes = gpd.read_file(TOWN / "communes.geojson")
    communes.loc[communes["code"] == "99003", "nom"] = ACCENTED
    communes.to_file(folder / "communes.geojson", driver="GeoJSON")
    stations = folder / "stations.gpkg"
    run(["build", str(TOWN / "addresses.csv"), "--communes", str(folder / "communes.geojson"), "-o", str(stations),
         "-q"], 0)
    return stations, folder / "communes.geojson"


@pytest.fixture(scope="module")
def town_site(town_inputs, tmp_path_factory):
    need_assets()
    stations, communes = town_inputs
    site = tmp_path_factory.mktemp("web-site") / "site"
    run(["web", str(stations), "--communes", str(communes), "-o", str(site)], 0)
    return site


def run(args, code: int):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, (result.output, result.exception)
    return result


def one_line_error(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("boundaries: error: "), result.output
    return lines[0]


def config_of(site: Path) -> dict:
    page = (site / "index.html").read_text(encoding="utf-8")
    inline = re.search(r'<script id="config" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(inline.group(1))


# --- the command on the town ------------------------------------------------------------------------------------

def test_site_holds_tiles_page_and_licences(town_site, town_inputs):
    stations = gpd.read_file(town_inputs[0], layer="stations")
    assert web.count_tiled(town_site / "stations.pmtiles", "stations") == stations.geometry.notna().sum()
    assert pyogrio.read_info(town_site / "stations.pmtiles")["crs"] == "EPSG:3857"
    meta = pyogrio.read_info(town_site / "stations.pmtiles")["dataset_metadata"]
    assert (meta["minzoom"], meta["maxzoom"]) == (str(web.MIN_ZOOM), str(web.MAX_ZOOM))
    assert pyogrio.read_info(town_site / "communes.pmtiles", layer="communes")["features"] >= 4
    for name in web.VENDOR_FILES:
        assert (town_site / "vendor" / name).is_file()
    assert "BSD" in (town_site / "vendor" / "pmtiles-LICENSE.txt").read_text()
    config = config_of(town_site)
    assert config["field"] == "colour" and len(config["labels"]) == len(config["colours"])
    index = json.loads((town_site / "communes.json").read_text(encoding="utf-8"))
    assert {"code": "99003", "name": ACCENTED, "key": "evry les chateaux"}.items() <= \
        next(c for c in index if c["code"] == "99003").items()
    page = (town_site / "index.html").read_text()
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


def test_results_field_colours_the_stations(town_inputs, tmp_path):
    need_assets()
    stations = gpd.read_file(town_inputs[0], layer="stations")
    results = tmp_path / "r.csv"
    pd.DataFrame({"codeBureauVote": stations["code_bv"], "inscrits": np.arange(len(stations)) * 10 + 100,
                  "Part de X": np.linspace(0.1, 0.9, len(stations))}).to_csv(results, sep=";", index=False)
    site = tmp_path / "site"
    run(["web", town_inputs[0], "--results", results, "--field", "Part de X", "-o", site], 0)
    config = config_of(site)
    assert (config["field"], config["kind"], len(config["labels"])) == ("Part de X", "quantile", web.QUANTILES)
    tiled = pyogrio.read_dataframe(site / "stations.pmtiles", layer="stations", read_geometry=False)
    assert tiled.groupby("id")["value"].first().between(0.1, 0.9).all()


def test_rerun_replaces_our_site_whole(town_inputs, tmp_path):
    need_assets()
    site = tmp_path / "site"
    run(["web", town_inputs[0], "-o", site, "-q"], 0)
    (site / "stale.txt").write_text("from before")
    run(["web", town_inputs[0], "-o", site, "-q"], 0)
    assert not (site / "stale.txt").exists() and (site / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary folder left


def test_refusals_write_nothing(town_inputs, tmp_path):
    need_assets()
    stations, communes = town_inputs
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert "not written by boundaries web" in one_line_error(run(["web", stations, "-o", foreign], 2))
    assert "is a file" in one_line_error(run(["web", stations, "-o", stations], 2))
    assert "holds the input" in one_line_error(run(["web", stations, "-o", stations.parent], 2))
    assert "no field 'nope'" in one_line_error(run(["web", stations, "--field", "nope", "-o", tmp_path / "s"], 2))
    assert "--field" in one_line_error(run(["web", stations, "--field", "nope", "-o", tmp_path / "s"], 2))
    assert "parent folder" in one_line_error(run(["web", stations, "-o", tmp_path / "a" / "b"], 2))
    zooms = ["--min-zoom", 9, "--max-zoom", 5]
    assert "--min-zoom" in one_line_error(run(["web", stations, *zooms, "-o", tmp_path / "s"], 2))
    assert (foreign / "notes.txt").read_text() == "keep me" and not (tmp_path / "s").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@settings(deadline=None)
@given(steps=st.lists(st.sampled_from([".", "sub/..", "./", "sub/./.."]), max_size=4),
       absolute=st.booleans(), slash=st.booleans(), target=st.sampled_from(["folder", "file"]))
def test_output_over_an_input_refused_however_spelt(town_inputs, tmp_path_factory, steps, absolute, slash, target):
    """``-o`` naming the input itself or a folder holding it (a site written before, put there), through
    ``./``, ``sub/..``, absolute or relative:
    exit 2 in one line, the input unchanged, nothing written beside."""
    base = tmp_path_factory.mktemp("over")
    (base / "data" / "sub").mkdir(parents=True)
    stations = base / "data" / "stations.gpkg"
    stations.write_bytes(town_inputs[0].read_bytes())
    (base / "data" / web.MARKER).write_text("")  # an earlier site, which the command would replace whole
    path = "/".join(["data", *steps] + (["stations.gpkg"] if target == "file" else []))
    path = (str(base / path) if absolute else path) + ("/" if slash else "")
    before = sorted(p.name for p in base.rglob("*"))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(base)
        one_line_error(run(["web", stations, "-o", path], 2))
    assert stations.read_bytes() == town_inputs[0].read_bytes()
    assert sorted(p.name for p in base.rglob("*")) == before


def test_missing_assets_refused_in_one_line(town_inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(web, "VENDOR", tmp_path / "no-vendor")
    message = one_line_error(run(["web", town_inputs[0], "-o", tmp_path / "site"], 2))
    assert "make web-assets" in message and not (tmp_path / "site").exists()


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_write_error_keeps_the_previous_site(town_inputs, tmp_path, monkeypatch, err):
    need_assets()
    site = tmp_path / "site"
    run(["web", town_inputs[0], "-o", site, "-q"], 0)
    before = {p.name: p.read_bytes() for p in site.iterdir() if p.is_file()}

    def fail(*args, **kwargs):
        raise OSError(err, "injected")

    monkeypatch.setattr(web, "write_tiles", fail)
    one_line_error(run(["web", town_inputs[0], "-o", site, "-q"], 2))
    assert {p.name: p.read_bytes() for p in site.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


# --- hostile classes --------------------------------------------------------------------------------------------

#: Characters that break HTML, JSON, JavaScript, MapLibre expressions or a terminal.
HOSTILE = st.lists(st.sampled_from(list("<>&\"'`\\/${}[]():;=,.- _aéÉœ\u2028\u2029\x1b\n\t")
                                   + ["</script>", "<!--"]), min_size=1, max_size=12).map("".join)


def squares(n: int = 4) -> gpd.GeoDataFrame:
    """``n`` squares of 100 m side by side in one commune, ids 99001_1…"""
    x = 2.3 + np.arange(n) * 0.0014
    geoms = shapely.box(x, 48.85, x + 0.0014, 48.851)
    return gpd.GeoDataFrame({"id_bv": [f"99001_{i + 1}" for i in range(n)], "code_commune": "99001",
                             "nom_commune": "Ville"}, geometry=geoms, crs=4326)


@settings(deadline=None)
@given(name=HOSTILE.filter(lambda s: s.strip() and s.lower() not in ("fid", "geometry", "geom")),
       values=st.lists(st.one_of(st.none(), HOSTILE, st.floats(allow_nan=True, allow_infinity=True)),
                       min_size=4, max_size=4),
       commune=HOSTILE)
def test_hostile_names_and_values_stay_data(tmp_path_factory, name, values, commune):
    """A field name, its values and a commune name of any characters: the page's inline JSON parses back to
    them (no ``</script>`` closes it), and the tiles carry them under fixed names."""
    need_assets()
    frame = squares().assign(**{name: pd.Series(values, dtype=object).map(
        lambda v: None if v is None else str(v))}, nom_commune=commune)
    site = tmp_path_factory.mktemp("hostile") / "site"
    if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):  # no value: refused
        with pytest.raises(InputError, match="has no value on any of the 4 stations"):
            web.write_site(frame, site, field=name)
        assert not site.exists()
        return
    result = web.write_site(frame, site, field=name)
    config = config_of(site)
    assert config["field"] == name and len(config["labels"]) == len(config["colours"])
    page = (site / "index.html").read_text(encoding="utf-8")
    inline = re.search(r'<script id="config" type="application/json">(.*?)</script>', page, re.S).group(1)
    assert not set("<>&\u2028\u2029") & set(inline)  # nothing in it can close the script or open a comment
    index = json.loads((site / "communes.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in index] == [commune]
    assert result.stations == 4


@settings(deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=40))
def test_classes_of_any_numbers(numbers):
    """Floats at the limits (inf, NaN, ±1e308, subnormals, all equal): every value in a class or none, the
    legend as long as its colours, the page's JSON valid (no NaN reaches it)."""
    classes = web.classify(pd.Series(numbers, dtype="float64"), "x")
    finite = np.isfinite(np.array(numbers))
    assert ((classes.cls >= 0) == finite).all() and (classes.cls < len(classes.labels)).all()
    assert len(classes.labels) == len(classes.colours) >= (1 if finite.any() else 0)
    json.loads(web.json_for_script({"labels": classes.labels}))


@settings(deadline=None)
@given(st.text(max_size=30))
def test_search_key_ignores_case_accents_and_normal_form(name):
    """The folded name of any text is the same in NFC, NFD and upper case, and is made of ``a-z0-9`` and single
    spaces: what the page folds from a query typed without accents finds it."""
    import unicodedata

    key = web.search_key([name])[0]
    assert re.fullmatch(r"([a-z0-9]+( [a-z0-9]+)*)?", key)
    for variant in (unicodedata.normalize("NFD", name), unicodedata.normalize("NFC", name)):
        assert web.search_key([variant])[0] == key


def test_unknown_field_names_the_fields_and_keyword(tmp_path):
    need_assets()
    with pytest.raises(InputError, match=r"no field 'x<' .*choose one with field$"):
        web.write_site(squares(), tmp_path / "site", field="x<")
    assert not (tmp_path / "site").exists()


# --- the page in a real browser ---------------------------------------------------------------------------------

def test_page_in_chromium_renders_and_finds_a_commune(town_site):
    """Served by ``python -m http.server`` (no range requests: the page reads the whole archive), opened in
    headless Chromium: stations rendered, the accented commune found with and without accents, the map zoomed
    to it with its stations in view, and no page error."""
    with serve(town_site) as url, page_of(url + "index.html") as page:
        assert page.evaluate("boundariesMap.queryRenderedFeatures({layers: ['stations-fill']}).length") > 0
        assert page.evaluate("boundariesMap.queryRenderedFeatures({layers: ['communes-line']}).length") > 0
        for query in (ACCENTED, "evry les chateaux", "EVRY-LES-CHÂTEAUX", "châteaux"):
            assert page.evaluate("(q) => boundariesSearch(q).map(c => c.code)", query) == ["99003"], query
        page.fill("#search", "evry chat")  # not a substring: nothing listed
        assert page.locator("#matches li").count() == 0
        page.fill("#search", "evry les")
        assert page.locator("#matches li").first.text_content() == f"{ACCENTED} (99003)"
        page.locator("#matches li").first.click()
        wait_for_tiles(page)
        found = page.evaluate("boundariesMap.queryRenderedFeatures({layers: ['stations-fill']})"
                              ".filter(f => f.properties.commune === '99003').map(f => f.properties.id)")
        assert found and all(i.startswith("99003_") for i in found)
        assert page.locator("#legend .row").count() == len(config_of(town_site)["legend"]["rows"])
        assert page.errors == []


def test_page_reads_ranges_from_a_server_that_serves_them(town_site):
    """From a static host that answers range requests, the page reads the archives by ranges (206), not whole."""
    with serve(town_site, ranges=True) as url:
        statuses = []
        with page_of(url + "index.html", on_response=statuses.append) as page:
            assert page.evaluate("boundariesMap.queryRenderedFeatures({layers: ['stations-fill']}).length") > 0
            assert page.errors == []
    tiles = [(status, u) for status, u in statuses if u.endswith(".pmtiles")]
    assert tiles and all(status == 206 for status, _ in tiles), tiles


@pytest.fixture(scope="module")
def town_page(town_site):
    """One Chromium page on the town's site for every example of a test (a browser per example: minutes)."""
    with serve(town_site) as url, page_of(url + "index.html") as page:
        yield page


@settings(deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=20))
def test_page_folds_names_as_python_does(town_page, names):
    """The page's fold of a query (JavaScript) equals :func:`boundaries.web.search_key` (the index), for any text."""
    assert town_page.evaluate("(names) => names.map(boundariesFold)", names) == list(web.search_key(names))
