"""Every command that reads ``--addresses`` takes the column flags the build takes.

A new user's address table had its own column names: ``build`` read it with
``--id-column``/``--x-column``…, but ``check``, ``preview``, ``report`` and ``profile``
then told them to "name it with --id-column", a flag those commands did not have. Each
command here reads the town's addresses with renamed columns: without the flags it names
flags it has; with them it gives what the REU-named table gives.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from boundaries.cli import main

from helpers import build_town

TOWN = Path(__file__).resolve().parents[1] / "fixtures" / "town"
#: The REU's column names and those of the user's table.
RENAMED = {"id_brut_bv_reu": "bureau", "code_commune_ref": "insee", "longitude": "coord_e", "latitude": "coord_n"}
FLAGS = ["--id-column", "bureau", "--commune-column", "insee", "--x-column", "coord_e", "--y-column", "coord_n"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cols")
    stations = build_town(tmp / "town.gpkg")
    renamed = tmp / "renamed.csv"
    pd.read_csv(TOWN / "addresses.csv", dtype=str).rename(columns=RENAMED).to_csv(renamed, index=False)
    source = tmp / "areas.geojson"  # one source area per commune, with a count to carry
    communes = gpd.read_file(TOWN / "communes.geojson")
    communes.assign(pop=1000 * (1 + pd.RangeIndex(len(communes)))).to_file(source)
    # the layer less one station: check must find it missing from either table
    layer = gpd.read_file(stations, layer="stations")
    short = tmp / "short.geojson"
    layer.iloc[1:].to_file(short)
    return tmp, stations, renamed, source, short


def _commands(tmp: Path, stations: Path, source: Path, short: Path, tag: str) -> dict[str, list[str]]:
    return {
        "check": ["check", str(short), "--communes", str(TOWN / "communes.geojson"), "--json"],
        "preview": ["preview", str(stations), "-o", str(tmp / f"p-{tag}.png"), "-q"],
        "report": ["report", str(stations), "-o", str(tmp / f"r-{tag}.html"), "-q", "--max-pictures", "1"],
        "profile": ["profile", str(stations), "--source", str(source), "-o", str(tmp / f"pr-{tag}.csv"), "-q"],
    }


@pytest.mark.parametrize("command", ["check", "preview", "report", "profile"])
def test_renamed_columns_without_flags_name_flags_the_command_has(built, command):
    tmp, stations, renamed, source, short = built
    argv = _commands(tmp, stations, source, short, "bare")[command] + ["--addresses", str(renamed)]
    res = CliRunner().invoke(main, argv)
    assert res.exit_code == 2, res.output
    named = set(re.findall(r"(--[a-z][a-z-]+)", res.output))
    assert "--id-column" in named or "--x-column" in named, res.output
    helped = set(re.findall(r"(--[a-z][a-z-]+)", CliRunner().invoke(main, [command, "--help"],
                                                                     terminal_width=200).output))
    assert named <= helped, named - helped


@pytest.mark.parametrize("command", ["check", "preview", "report", "profile"])
def test_renamed_columns_with_flags_give_what_the_reu_names_give(built, command):
    tmp, stations, renamed, source, short = built
    reu = CliRunner().invoke(main, _commands(tmp, stations, source, short, "reu")[command]
                             + ["--addresses", str(TOWN / "addresses.csv")])
    ours = CliRunner().invoke(main, _commands(tmp, stations, source, short, "own")[command]
                              + ["--addresses", str(renamed), *FLAGS])
    if command == "check":  # exit 1: the station taken out is a problem, found in both
        assert (reu.exit_code, ours.exit_code) == (1, 1), ours.output
        a, b = json.loads(reu.stdout), json.loads(ours.stdout)
        assert a == b and a["totals"]["missing_station"] == 1
        return
    assert (reu.exit_code, ours.exit_code) == (0, 0), ours.output
    if command == "profile":
        a, b = (pd.read_csv(tmp / f"pr-{t}.csv") for t in ("reu", "own"))
        pd.testing.assert_frame_equal(a, b)
        assert a["pop"].sum() > 0
    else:
        suffix = "png" if command == "preview" else "html"
        prefix = "p" if command == "preview" else "r"
        assert (tmp / f"{prefix}-own.{suffix}").read_bytes() == (tmp / f"{prefix}-reu.{suffix}").read_bytes()
