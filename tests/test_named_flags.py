"""A message that tells the user to pass a flag names a flag the command has.

A new user fed another tool's station layer to ``evaluate``, ``preview`` and ``profile`` and
was told to use ``--station-commune-field``, which only ``check`` and ``web`` had. Each
command here gets a layer without a usable id or commune field; whatever flag its one
line names must be in that command's ``--help``.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.cli import main

TOWN = Path(__file__).resolve().parents[1] / "fixtures" / "town"


def _layer(path: Path, fields: dict) -> Path:
    """Two squares near Paris with ``fields`` (one value per square), in EPSG:4326."""
    squares = [shapely.box(2.30, 48.85, 2.31, 48.86), shapely.box(2.31, 48.85, 2.32, 48.86)]
    gpd.GeoDataFrame(fields, geometry=squares, crs="EPSG:4326").to_file(path)
    return path


def _flags_named(message: str) -> list[str]:
    return re.findall(r"(--[a-z][a-z-]+)", message)


def _help_flags(command: str) -> set[str]:
    res = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
    return set(re.findall(r"(--[a-z][a-z-]+)", res.output))


def _commands(tmp: Path, layer: Path) -> dict[str, list[str]]:
    own = _layer(tmp / "ours.geojson", {"id_bv": ["75119_5", "75119_6"]})
    return {
        "evaluate": ["evaluate", str(layer), "--reference", str(own)],
        "evaluate-reference": ["evaluate", str(own), "--reference", str(layer)],
        "check": ["check", str(layer), "--communes", str(TOWN / "communes.geojson")],
        "preview": ["preview", str(layer), "-o", str(tmp / "p.png")],
        "report": ["report", str(layer), "-o", str(tmp / "r.html")],
        "web": ["web", str(layer), "-o", str(tmp / "site")],
    }


# ids another tool writes: no commune prefix, or no id field at all
LAYERS = {
    "ids without commune": {"ID": ["19-5", "19-6"]},
    "no id field": {"nom": ["a", "b"]},
}


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("case", ["evaluate", "evaluate-reference", "check", "preview", "report", "web"])
def test_the_flag_a_message_names_exists(tmp_path, kind, case):
    layer = _layer(tmp_path / "theirs.geojson", LAYERS[kind])
    argv = _commands(tmp_path, layer)[case]
    res = CliRunner().invoke(main, argv)
    assert res.exit_code == 2, res.output
    named = _flags_named(res.output.splitlines()[-1])
    assert set(named) <= _help_flags(argv[0]), (res.output, named)


def test_evaluate_takes_the_commune_from_a_named_field(tmp_path):
    theirs = _layer(tmp_path / "theirs.geojson", {"num": ["5", "6"], "insee": ["75119", "75119"]})
    ours = _layer(tmp_path / "ours.geojson", {"id_bv": ["75119_5", "75119_6"]})
    res = CliRunner().invoke(main, ["evaluate", str(ours), "--reference", str(theirs), "--reference-field", "num",
                                    "--reference-commune-field", "insee", "--json"])
    assert res.exit_code == 0, res.output
    assert '"iou_mean": 1.0' in res.output and '"stations_missing": 0' in res.output


@settings(deadline=None)
@given(ids=st.lists(st.text(alphabet="0123456789-ABab ", min_size=1, max_size=8), min_size=2, max_size=2))
def test_any_commune_less_id_names_an_existing_flag(tmp_path_factory, ids):
    tmp = tmp_path_factory.mktemp("ids")
    layer = _layer(tmp / "theirs.geojson", {"ID": ids})
    res = CliRunner().invoke(main, ["preview", str(layer), "-o", str(tmp / "p.png")])
    if res.exit_code == 2:
        assert set(_flags_named(res.output.splitlines()[-1])) <= _help_flags("preview"), res.output
