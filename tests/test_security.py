"""Limits and security: local files only, no network, no code from the input, bounded reads.

See "Limits and security" in docs/reliability.md.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from boundaries.errors import InputError
from boundaries.read import (MAX_FIELD_CHARS, MAX_LINE_BYTES, GDAL_OFFLINE, _LineLimited, check_local_path,
                             read_addresses, read_communes)

BIN = [sys.executable, "-m", "boundaries"]
ROOT = Path(__file__).resolve().parents[1]
TOWN = ROOT / "fixtures" / "town"

REMOTE = [
    "http://example.org/addresses.csv",
    "https://example.org/communes.geojson",
    "ftp://example.org/a.csv",
    "s3://bucket/a.parquet",
    "/vsicurl/https://example.org/communes.gpkg",
    "/vsis3/bucket/communes.gpkg",
    "/vsizip//vsicurl/https://example.org/c.zip",
    "/vsistdin/",
    "WFS:https://example.org/wfs",
    "PG:dbname=x",
]


@pytest.mark.parametrize("url", REMOTE)
def test_urls_and_virtual_paths_are_refused(url):
    with pytest.raises(InputError, match="local files only"):
        read_addresses(url)
    with pytest.raises(InputError, match="local files only"):
        read_communes(url)


@pytest.mark.parametrize("which", ["addresses", "communes"])
def test_cli_refuses_a_url_in_one_line_exit_2(tmp_path, which):
    a, c = str(TOWN / "addresses.csv"), str(TOWN / "communes.geojson")
    url = "/vsicurl/https://example.org/x.geojson"
    args = [url, "--communes", c] if which == "addresses" else [a, "--communes", url]
    proc = subprocess.run([*BIN, "build", *args, "-o", str(tmp_path / "o.geojson")], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "local files only" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.geojson").exists()


def test_local_names_with_a_colon_still_read(tmp_path):
    odd = tmp_path / "data:2024.csv"
    odd.write_bytes((TOWN / "addresses.csv").read_bytes())
    check_local_path(str(odd), "address file", "ADDRESSES")  # exists: a file, not a connection string
    rows = read_addresses(odd).rows
    assert len(rows) > 0


@pytest.mark.parametrize("name", ["communes.vrt", "communes.geojson"])
def test_gdal_virtual_datasets_are_refused(tmp_path, name):
    vrt = tmp_path / name
    vrt.write_text('<OGRVRTDataSource><OGRVRTLayer name="c"><SrcDataSource>/vsicurl/https://example.org/c.gpkg'
                   "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
    with pytest.raises(InputError, match="virtual dataset"):
        read_communes(vrt)


def test_gdal_reads_offline_and_restores_its_settings():
    import pyogrio

    read_communes(TOWN / "communes.geojson")
    assert all(pyogrio.get_gdal_config_option(k) is None for k in GDAL_OFFLINE)


def header_row(tmp_path, name, address):
    path = tmp_path / name
    with open(path, "w") as f:
        f.write("code_commune_ref,id_brut_bv_reu,longitude,latitude,geo_adresse\n")
        f.write("99001,99001_1,2.35,48.85,12 Rue A 99001 Ville\n")
        f.write(f'99001,99001_1,2.35,48.85,"{address}"\n')
        f.write("99001,99001_1,2.36,48.86,14 Rue A 99001 Ville\n")
    return path


def test_a_50_mb_field_is_refused_after_reading_about_one_mib(tmp_path):
    path = header_row(tmp_path, "huge.csv", "x" * 50_000_000)
    with pytest.raises(InputError, match="longer than 1 MiB") as err:
        read_addresses(path)
    assert len(str(err.value).splitlines()) == 1
    # the guard stops reading early: memory is not the field's size
    guard = _LineLimited(path, gz=False)
    buf = bytearray(1 << 18)
    with pytest.raises(InputError):
        while guard.readinto(buf):
            pass
    assert guard.f.tell() <= MAX_LINE_BYTES + (1 << 18) + 1000
    guard.close()


def test_an_unclosed_quote_swallowing_the_file_is_refused(tmp_path):
    path = tmp_path / "quote.csv"
    with open(path, "w") as f:
        f.write("code_commune_ref,id_brut_bv_reu,longitude,latitude,geo_adresse\n")
        f.write('99001,99001_1,2.35,48.85,"12 Rue A\n')  # the quote never closes
        for _ in range(60_000):
            f.write("99001,99001_1,2.35,48.85,12 Rue A 99001 Ville\n")
    with pytest.raises(InputError, match="unclosed quote"):
        read_addresses(path)


def test_a_long_field_within_a_line_is_refused(tmp_path):
    path = header_row(tmp_path, "long.csv", "y" * (MAX_FIELD_CHARS + 1))
    with pytest.raises(InputError, match=r"row 2, column 'geo_adresse' holds a field of 65,537 characters"):
        read_addresses(path)
    ok = header_row(tmp_path, "ok.csv", "y" * 1000)
    assert len(read_addresses(ok).rows) == 3


def test_a_long_field_in_parquet_is_refused(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"code_commune_ref": ["99001"], "id_brut_bv_reu": ["99001_1"], "longitude": [2.3],
                  "latitude": [48.8], "geo_adresse": ["z" * (MAX_FIELD_CHARS + 5)]}).to_parquet(path)
    with pytest.raises(InputError, match="holds a field"):
        read_addresses(path)


def test_cli_huge_field_one_line_exit_2_bounded_memory(tmp_path):
    path = header_row(tmp_path, "huge.csv", "x" * 50_000_000)
    # measured from a fresh parent: RUSAGE_CHILDREN is the peak of every child it ever waited for
    probe = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.stderr.write(p.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe, *BIN, "build", str(path), "--communes",
                           str(TOWN / "communes.geojson"), "-o", str(tmp_path / "o.geojson")],
                          capture_output=True, text=True)
    code, peak_kb = map(int, proc.stdout.split())
    assert code == 2 and "longer than 1 MiB" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert peak_kb / 1024 < 400, f"peak {peak_kb / 1024:.0f} MB"


def test_no_code_from_the_input_is_ever_run():
    """The package never evaluates, unpickles or shells out: checked in its source."""
    banned_calls = {"eval", "exec", "compile", "__import__"}
    for path in (ROOT / "boundaries").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                assert not any(n and n.split(".")[0] in ("pickle", "marshal", "shelve", "dill") for n in names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in banned_calls, f"{path}: {node.func.id}()"
            if isinstance(node, ast.keyword) and node.arg == "shell":
                assert not (isinstance(node.value, ast.Constant) and node.value.value), f"{path}: shell=True"
