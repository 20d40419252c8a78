"""The ``boundaries`` command as a user runs it: outputs, messages, exit codes."""

import json
import os
import subprocess
import sys

import pytest

from helpers import grid_town

BIN = [sys.executable, "-m", "boundaries"]


def run(*args, cwd=None, check=False):
    proc = subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def small(tmp_path):
    addresses, outlines, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), seed=11)
    a, c = tmp_path / "addresses.csv", tmp_path / "communes.geojson"
    addresses.to_csv(a, index=False)
    outlines.to_file(c)
    return a, c


def test_build_writes_rfc7946_geojson_and_report(small, tmp_path):
    a, c = small
    out = tmp_path / "stations.geojson"
    proc = run("build", a, "--communes", c, "-o", out, check=True)
    assert "12 of 12 stations built" in proc.stderr
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    props = doc["features"][0]["properties"]
    assert props == {
        "id_bv": "94001_1", "code_bv": "94001_0001", "numero_bv": "0001", "code_commune": "94001",
        "nom_commune": "Commune 1", "code_departement": "94", "nom_departement": None,
        "n_addresses": 40, "n_weight": 40, "n_dropped": 0, "n_parts": 1, "n_elsewhere": 0, "confidence": props["confidence"], "method": "hull",
        "colour": props["colour"], "area_m2": props["area_m2"],
    }
    assert isinstance(props["colour"], int) and props["colour"] >= 0
    assert 0 < props["confidence"] <= 1
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    ring = ring[0] if isinstance(ring[0][0], list) else ring
    # counter-clockwise exterior (shoelace > 0), 7 decimals at most, in degrees
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
    assert area2 > 0
    assert all(len(repr(v).split(".")[-1]) <= 7 for pt in ring for v in pt)
    assert all(2 < x < 3 and 48 < y < 49 for x, y in ring)
    report = json.loads((tmp_path / "stations.report.json").read_text())
    assert report["stations_out"] == 12 and report["rows_read"] == 480
    assert set(report["communes"]) == {"94001", "94002", "94003", "94004"}


def test_same_input_same_bytes(small, tmp_path):
    a, c = small
    run("build", a, "--communes", c, "-o", tmp_path / "1.geojson", "-q", "--jobs", "1", check=True)
    run("build", a, "--communes", c, "-o", tmp_path / "2.geojson", "-q", "--jobs", "1", check=True)
    assert (tmp_path / "1.geojson").read_bytes() == (tmp_path / "2.geojson").read_bytes()
    # communes built in two processes, finishing in any order: the same bytes
    run("build", a, "--communes", c, "-o", tmp_path / "3.geojson", "-q", "--jobs", "2", check=True)
    assert (tmp_path / "1.geojson").read_bytes() == (tmp_path / "3.geojson").read_bytes()


def test_stdout_output_and_json_summary(small, tmp_path):
    a, c = small
    proc = run("build", a, "--communes", c, "-o", "-", "-q", check=True)
    assert json.loads(proc.stdout)["type"] == "FeatureCollection"
    assert proc.stderr == ""
    proc = run("build", a, "--communes", c, "-o", tmp_path / "s.geojson", "--json", check=True)
    summary = json.loads(proc.stdout)
    assert summary["stations_out"] == 12 and "communes" not in summary
    assert summary["report"].endswith("s.report.json")


def test_departement_selection_on_the_command_line(small, tmp_path):
    a, c = small
    out = tmp_path / "s.geojson"
    run("build", a, "--communes", c, "-o", out, "--commune", "94002", "--commune", "94003", "-q", check=True)
    codes = {f["properties"]["code_commune"] for f in json.loads(out.read_text())["features"]}
    assert codes == {"94002", "94003"}
    proc = run("build", a, "--communes", c, "-o", out, "--departement", "13")
    assert proc.returncode == 2


@pytest.mark.parametrize(
    "case, expect",
    [
        ("missing_addresses", "address file not found"),
        ("missing_outlines", "outline file not found"),
        ("missing_column", "--id-column"),
        ("no_commune_field", "--commune-field"),
        ("empty_departement", "no address in département 75"),
        ("missing_folder", "does not exist"),
        ("output_is_input", "also an input"),
        ("bad_extension", "unknown format"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(small, tmp_path, case, expect):
    a, c = small
    out = tmp_path / "out.geojson"
    args = ["build", a, "--communes", c, "-o", out]
    if case == "missing_addresses":
        args[1] = tmp_path / "nope.csv"
    elif case == "missing_outlines":
        args[3] = tmp_path / "nope.geojson"
    elif case == "missing_column":
        a.write_text(a.read_text().replace("id_brut_bv_reu", "bureau"))
    elif case == "no_commune_field":
        c.write_text(c.read_text().replace('"code"', '"identifiant"'))
    elif case == "empty_departement":
        args += ["--departement", "75"]
    elif case == "missing_folder":
        out = tmp_path / "no" / "such" / "out.geojson"
        args[5] = out
    elif case == "output_is_input":
        args[5] = c
    elif case == "bad_extension":
        out = tmp_path / "out.shp"
        args[5] = out
    before = sorted(os.listdir(tmp_path))
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and "Traceback" not in proc.stderr
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, no temporary left


def test_help_and_version():
    proc = run("--help", check=True)
    assert "build" in proc.stdout
    proc = run("build", "--help", check=True)
    for option in ("--communes", "--departement", "--commune", "--method", "--report", "--quiet", "--json",
                   "--id-column", "--commune-column", "--x-column", "--y-column", "--crs", "--commune-field"):
        assert option in proc.stdout
    assert run("--version", check=True).stdout.startswith("boundaries")


def test_metres_given_as_degrees_are_refused(tmp_path):
    addresses, outlines, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), n=1, seed=12)
    pts = addresses.copy()
    pts["longitude"], pts["latitude"] = 652500.0, 6850500.0
    a, c = tmp_path / "a.csv", tmp_path / "c.geojson"
    pts.to_csv(a, index=False)
    outlines.to_file(c)
    proc = run("build", a, "--communes", c, "-o", tmp_path / "o.geojson")
    assert proc.returncode == 2 and "--crs" in proc.stderr
    ok = run("build", a, "--communes", c, "-o", tmp_path / "o.geojson", "--crs", "EPSG:2154", "-q")
    assert ok.returncode == 0, ok.stderr


def test_cli_defaults_are_the_parameters_defaults_and_all_are_documented():
    """One set of defaults: every build option that sets a Parameters field has its default,
    and docs/method.md lists every field with that default."""
    import dataclasses
    import re
    from pathlib import Path

    from boundaries.cli import build as build_cmd
    from boundaries.params import Parameters

    fields = {f.name: f.default for f in dataclasses.fields(Parameters)}
    options = {p.name: p.default for p in build_cmd.params}
    shared = set(fields) & set(options)
    assert len(shared) >= 15
    for name in shared:
        assert options[name] == fields[name], name
    doc = (Path(__file__).parents[1] / "docs" / "method.md").read_text()
    for name, default in fields.items():
        row = re.search(rf"^\| `{name}` \| [^|]+ \| ([^|]+) \|", doc, re.M)
        assert row, f"{name} is not in the parameter table of docs/method.md"
        assert float(row.group(1)) == default, name
