"""Same input, same bytes: in every output format, run after run, whatever ``--jobs``.

GeoPackage stamps a time in ``gpkg_contents.last_change``, the style's ``update_time`` and
the version metadata's ``gpkg_metadata_reference.timestamp``: it is fixed
(``SOURCE_DATE_EPOCH``, else 2000-01-01), not the clock.
FlatGeobuf's layer is named ``stations``, not after the temporary file.
"""

import sqlite3
import subprocess
import sys
import time

import pytest

import boundaries
from boundaries.write import FORMATS, write_stations
from helpers import grid_town

BIN = [sys.executable, "-m", "boundaries"]


@pytest.fixture(scope="module")
def town():
    addresses, outlines, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), seed=11)
    return addresses, outlines


@pytest.fixture(scope="module")
def builds(town):
    a, c = town
    return [boundaries.build(a, c, jobs=1), boundaries.build(a, c, jobs=1), boundaries.build(a, c, jobs=2)]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_same_bytes_twice_and_with_two_jobs(builds, tmp_path, fmt):
    ext = FORMATS[fmt][0]
    data = []
    for i, result in enumerate(builds):
        path = tmp_path / f"{i}{ext}"
        write_stations(result.stations, str(path), fmt, communes=result.communes)
        data.append(path.read_bytes())
        time.sleep(1.1)  # a clock-based time stamp would differ
    assert data[0] == data[1], f"{fmt}: two builds of the same input differ"
    assert data[0] == data[2], f"{fmt}: jobs=1 and jobs=2 differ"


def test_geopackage_time_stamp_is_fixed_or_source_date_epoch(builds, tmp_path, monkeypatch):
    path = tmp_path / "a.gpkg"
    write_stations(builds[0].stations, str(path), "gpkg", communes=builds[0].communes)
    with sqlite3.connect(path) as con:
        stamps = {r[0] for r in con.execute("SELECT last_change FROM gpkg_contents")}
        stamps |= {r[0] for r in con.execute("SELECT update_time FROM layer_styles")}
        stamps |= {r[0] for r in con.execute("SELECT timestamp FROM gpkg_metadata_reference")}
    assert stamps == {"2000-01-01T00:00:00.000Z"}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1718409600")
    write_stations(builds[0].stations, str(path), "gpkg")
    with sqlite3.connect(path) as con:
        stamps = {r[0] for r in con.execute("SELECT last_change FROM gpkg_contents UNION "
                                            "SELECT timestamp FROM gpkg_metadata_reference")}
    assert stamps == {"2024-06-15T00:00:00.000Z"}
    import pyogrio

    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None  # restored after the write


def test_cli_gpkg_and_report_same_bytes(town, tmp_path):
    a, c = town
    a_path, c_path = tmp_path / "a.csv", tmp_path / "c.geojson"
    a.to_csv(a_path, index=False)
    c.to_file(c_path)
    for name, jobs in (("1.gpkg", "1"), ("2.gpkg", "2")):
        subprocess.run([*BIN, "build", a_path, "--communes", c_path, "-o", tmp_path / name, "-q", "--jobs", jobs],
                       check=True, capture_output=True)
    assert (tmp_path / "1.gpkg").read_bytes() == (tmp_path / "2.gpkg").read_bytes()
