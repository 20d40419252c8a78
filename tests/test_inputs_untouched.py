"""Reading never writes beside an input: every command leaves the folder of the files it reads as it was.

GDAL keeps what it learns of a file it reads in ``FILE.aux.xml`` beside it unless told not to
(``GDAL_PAM_ENABLED``); a GeoPackage of ours carries metadata, which made ``check``, ``evaluate``,
``preview`` and ``report`` leave ``stations.gpkg.aux.xml`` beside the user's file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import TOWN


def _run(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "GDAL_PAM_ENABLED"}
    return subprocess.run([sys.executable, "-m", "boundaries", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A read-only folder of inputs: the town, built as a GeoPackage and as GeoJSON."""
    folder = tmp_path_factory.mktemp("inputs")
    shutil.copy(TOWN / "addresses.csv", folder)
    shutil.copy(TOWN / "communes.geojson", folder)
    for name in ("s.gpkg", "s.geojson"):
        done = _run("build", "addresses.csv", "--communes", "communes.geojson", "-o", name, "--report", "-",
                    "-q", cwd=folder)
        assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.parametrize("stations", ["s.gpkg", "s.geojson"])
@pytest.mark.parametrize("command", [
    ["check", "{s}", "--communes", "communes.geojson"],
    ["evaluate", "{s}", "--reference", "{s}"],
    ["preview", "{s}", "-o", "{out}/p.png"],
    ["report", "{s}", "--communes", "communes.geojson", "-o", "{out}/r.html"],
    ["refresh", "{s}", "-o", "{out}/r{suffix}"],
])
def test_commands_leave_the_input_folder_as_it_was(inputs, tmp_path, stations, command):
    before = {p.name: p.stat().st_mtime_ns for p in inputs.iterdir()}
    suffix = os.path.splitext(stations)[1]
    args = [a.format(s=stations, out=tmp_path, suffix=suffix) for a in command]
    done = _run(*args, "-q", cwd=inputs)
    assert done.returncode in (0, 1), done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in inputs.iterdir()} == before
