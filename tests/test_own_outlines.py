"""``preview`` and ``report`` on a GeoPackage of ours use its own ``communes`` layer.

A new user's previews of a build's GeoPackage said "union of the stations (no commune
outline)" though the file holds the outlines, which ``refresh`` already read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from boundaries import cli, preview
from boundaries.cli import main

TOWN = Path(__file__).resolve().parents[1] / "fixtures" / "town"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("own") / "town.gpkg"
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(TOWN / "communes.geojson"),
                                    "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out


def test_preview_draws_the_geopackages_own_outlines(built, tmp_path, monkeypatch):
    seen = {}
    real = preview.prepare_map

    def spy(*args, **kwargs):
        data = real(*args, **kwargs)
        seen["stand_in"] = data.outline_from_stations
        seen["outline"] = len(data.outline)
        return data

    monkeypatch.setattr(preview, "prepare_map", spy)
    res = CliRunner().invoke(main, ["preview", str(built), "-o", str(tmp_path / "p.png"), "-q"])
    assert res.exit_code == 0, res.output
    assert seen["outline"] == 4 and not seen["stand_in"]  # the town's four communes, from the file itself


def test_a_geojson_has_no_own_outlines(tmp_path):
    layer = tmp_path / "s.geojson"
    layer.write_text('{"type": "FeatureCollection", "features": []}')
    assert cli._outlines_or_own(str(layer), None, None) == (None, None)


def test_communes_given_win(built):
    assert cli._outlines_or_own(str(built), "x.geojson", "lay") == ("x.geojson", "lay")
    assert cli._outlines_or_own(str(built), None, None) == (str(built), "communes")


def test_check_reads_the_geopackages_own_outlines(built, tmp_path):
    res = CliRunner().invoke(main, ["check", str(built), "--json"])
    assert res.exit_code in (0, 1), res.output
    import json

    doc = json.loads(res.output)
    assert len(doc["communes"]) == 4 and doc["summary"]["problems"] == 0  # checked against its 4 outlines


def test_check_without_outlines_says_to_give_them(tmp_path):
    layer = tmp_path / "s.geojson"
    layer.write_text('{"type": "FeatureCollection", "features": []}')
    res = CliRunner().invoke(main, ["check", str(layer)])
    assert res.exit_code == 2 and "--communes" in res.output
