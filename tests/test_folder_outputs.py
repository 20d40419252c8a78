"""An output named as a folder gets "is a folder" and an example file name, not "unknown format ''".

A new user typed ``-o adir`` and ``-o adir/`` and was told of an unknown format
``'(no extension)'``: true, but not why, nor what to type instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from boundaries.cli import main

ROOT = Path(__file__).resolve().parents[1]
TOWN = ROOT / "fixtures" / "town"
GOLDEN = ROOT / "fixtures" / "golden" / "town.geojson"


def _argv(command: str, out: str) -> list[str]:
    return {
        "build": ["build", str(TOWN / "addresses.csv"), "--communes", str(TOWN / "communes.geojson"), "-o", out],
        "preview": ["preview", str(GOLDEN), "-o", out],
        "report": ["report", str(GOLDEN), "-o", out],
        "refresh": ["refresh", str(GOLDEN), "-o", out],
    }[command]


@pytest.mark.parametrize("form", ["existing", "existing/", "new/"])
@pytest.mark.parametrize("command", ["build", "preview", "report", "refresh"])
def test_a_folder_as_output_is_called_a_folder(tmp_path, command, form):
    folder = tmp_path / "out"
    if form.startswith("existing"):
        folder.mkdir()
    out = str(folder) + ("/" if form.endswith("/") else "")
    res = CliRunner().invoke(main, _argv(command, out))
    assert res.exit_code == 2, res.output
    line = res.output.strip().splitlines()[-1]
    assert "is a folder" in line and "unknown format" not in line, line
    assert not any(folder.iterdir()) if folder.exists() else True
