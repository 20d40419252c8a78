"""The bad-input catalogue (issue #7): every case drives the real ``boundaries build`` command.

Two kinds of case:

- ``absorb``: dirt the tool absorbs. It goes on (exit 0) and the report counts exactly
  what it did (rows dropped by reason, outlines repaired, codes repaired, duplicates…).
- ``error``: input the tool refuses. Exit code 2, one line on stderr saying what is
  wrong, where and how to fix it, no traceback, and no file written (no output, no
  report, no temporary file).

The town is tiny and generated here: two square communes near Créteil (94001, 94002;
EPSG:4326), two stations each made of vertical halves, eight address rows per station
(32 rows in all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

BIN = [sys.executable, "-m", "boundaries"]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_SKIP = "runs as root, where permissions do not block reading or writing"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "absorb" or "error"
    feeds: str  # what the case gives the tool
    expect: str  # what must happen (for errors: a phrase of the one stderr line)


#: The catalogue: one entry per case, each run by a test below.
CATALOGUE = [
    # --- dirt the tool absorbs: exit 0, the report counts it ----------------------------------------------
    Case("latin1_csv", "absorb", "CSV encoded in Latin-1/cp1252 (accented geo_adresse)", "all 32 rows used"),
    Case("semicolon_separator", "absorb", "CSV separated by ';'", "all 32 rows used"),
    Case("tab_separator", "absorb", "CSV separated by tabs", "all 32 rows used"),
    Case("utf8_bom", "absorb", "UTF-8 CSV with a byte-order mark before its first column name", "all 32 rows used"),
    Case("decimal_comma", "absorb", "';' CSV with decimal commas (2,41)", "all 32 rows used"),
    Case("nan_coordinates", "absorb", "3 rows with NaN coordinates", "rows_dropped.no_coordinates == 3"),
    Case("inf_coordinates", "absorb", "2 rows with inf / -inf coordinates", "rows_dropped.no_coordinates == 2"),
    Case("empty_coordinates", "absorb", "4 rows with empty longitude/latitude", "rows_dropped.no_coordinates == 4"),
    Case("absurd_coordinates", "absorb", "2 rows beyond ±180/±90 (999, -999)", "rows_dropped.no_coordinates == 2"),
    Case("null_island", "absorb", "2 rows at 0, 0 (a minority outside France)", "rows_dropped.outside_commune == 2"),
    Case("duplicate_rows", "absorb", "5 rows repeated identically",
         "kept (each adds its weight), counted: duplicate_rows == 5"),
    Case("invalid_outline", "absorb", "a self-intersecting outline", "made valid: outlines_repaired == 1, a warning"),
    Case("commune_without_outline", "absorb", "94002 absent from the outlines",
         "communes_without_outline == [94002], its 16 rows and 2 stations reported, 94001 built"),
    Case("lost_leading_zero", "absorb", "codes 4001 / 4001_1 for 04001 / 04001_1 (CSV)",
         "repaired with one warning line: codes_repaired.rows == 32, codeBureauVote 04001_0001"),
    Case("lost_leading_zero_quiet", "absorb", "the same with -q", "no stderr, the report still says it"),
    Case("lost_leading_zero_national", "absorb", "codes 4001 beside 94001, built per département (two --departement)",
         "repaired in the 04 part: codes_repaired.rows == 32, 8 stations"),
    Case("lost_leading_zero_parquet", "absorb", "Parquet whose commune column is an integer (4001)",
         "repaired: codes_repaired.rows == 32"),
    Case("lost_leading_zero_departement", "absorb", "codes 4001 (CSV and integer Parquet) with --departement 04",
         "the rows are in département 04 (read filter), repaired"),
    Case("outline_code_lost_zero", "absorb", "outline code field stored as an integer (4001)",
         "repaired: codes_repaired.outlines == 2"),
    # --- errors: exit 2, one line on stderr, nothing written -----------------------------------------------
    Case("missing_addresses", "error", "an address path that does not exist", "address file not found"),
    Case("addresses_is_folder", "error", "a folder as the address table", "is a folder, not a file"),
    Case("unreadable_addresses", "error", "an address file without read permission (chmod 000)", "not readable"),
    Case("missing_outlines", "error", "an outline path that does not exist", "outline file not found"),
    Case("binary_csv", "error", "binary bytes in addresses.csv", "not a text table"),
    Case("png_as_parquet", "error", "a PNG picture renamed addresses.parquet", "not a Parquet file"),
    Case("outline_not_vector", "error", "plain text as communes.geojson", "as a vector layer"),
    Case("empty_table", "error", "an empty address file (0 bytes)", "is empty"),
    Case("header_only", "error", "an address file with a header and no row", "has a header but no rows"),
    Case("missing_column", "error", "no latitude column", "--y-column"),
    Case("swapped_lonlat", "error", "longitude and latitude exchanged", "look swapped"),
    Case("nowhere_near_france", "error", "every point 100° east of France", "outside France"),
    Case("lambert93_metres", "error", "Lambert-93 metres in the degree columns", "--crs EPSG:2154"),
    Case("outline_no_code_field", "error", "outlines without a commune-code field", "--commune-field"),
    Case("no_commune_in_outlines", "error", "outlines of other communes only (75101, 75102)",
         "none of the 2 communes"),
    Case("outline_without_crs", "error", "a shapefile without .prj", "has no CRS"),
    Case("output_folder_missing", "error", "-o into a folder that does not exist", "does not exist"),
    Case("output_parent_is_file", "error", "-o whose folder is a regular file", "is a file, not a folder"),
    Case("output_folder_not_writable", "error", "-o into a read-only folder (chmod 555)", "not writable"),
    Case("output_is_outlines", "error", "-o equal to the --communes file", "also an input"),
    Case("output_is_addresses", "error", "-o equal to the (Parquet) address table", "also an input"),
    Case("report_is_input", "error", "--report equal to the --communes file", "also an input"),
]
CASES = {c.id: c for c in CATALOGUE}
ABSORB = [c.id for c in CATALOGUE if c.kind == "absorb"]
ERRORS = [c.id for c in CATALOGUE if c.kind == "error"]

BOXES = {"94001": (2.40, 48.78, 2.42, 48.80), "94002": (2.42, 48.78, 2.44, 48.80)}


def town_rows(codes=("94001", "94002")) -> pd.DataFrame:
    """32 REU rows: per commune two stations (west and east halves), 8 points each on a grid."""
    rows = []
    for code, (x0, y0, x1, y1) in zip(codes, BOXES.values()):
        for s in (1, 2):
            for i in range(8):
                fx = (s - 1) / 2 + (0.1 + 0.8 * (i % 4) / 3) / 2
                fy = 0.25 + 0.5 * (i // 4)
                rows.append({
                    "code_commune_ref": code,
                    "id_brut_bv_reu": f"{code}_{s}",
                    "id": f"{code}-{s}-{i}",
                    "geo_adresse": f"{2 * i + s} Rue de l'Église 94000 Créteil",
                    "geo_type": "housenumber",
                    "geo_score": "0.9",
                    "longitude": f"{x0 + (x1 - x0) * fx:.6f}",
                    "latitude": f"{y0 + (y1 - y0) * fy:.6f}",
                    "nb_adresses": "1",
                })
    return pd.DataFrame(rows, dtype=str)


def town_outlines(codes=("94001", "94002")) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": list(codes), "nom": ["Un", "Deux"]},
                            geometry=[shapely.box(*b) for b in BOXES.values()], crs="EPSG:4326")


def run(*args):
    return subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_catalogue_covers_the_issue():
    assert len(CATALOGUE) >= 20 and len(CASES) == len(CATALOGUE)
    assert {c.kind for c in CATALOGUE} == {"absorb", "error"}


# ------------------------------------------------------------------------------------------------------------
# absorbed dirt
# ------------------------------------------------------------------------------------------------------------


def _absorb_setup(case: str, tmp_path: Path):
    """Write the case's inputs; return (address path, outline path, extra args, expected report counts)."""
    rows, outlines = town_rows(), town_outlines()
    a, c = tmp_path / "addresses.csv", tmp_path / "communes.geojson"
    csv = dict(index=False)
    expect: dict = {"rows_read": 32, "rows_used": 32, "stations_out": 4}
    args: list = []
    if case == "latin1_csv":
        rows.to_csv(a, encoding="cp1252", **csv)
        assert "É".encode("cp1252") in a.read_bytes()
    elif case == "semicolon_separator":
        rows.to_csv(a, sep=";", **csv)
    elif case == "tab_separator":
        rows.to_csv(a, sep="\t", **csv)
    elif case == "utf8_bom":
        rows = rows[["id_brut_bv_reu"] + [k for k in rows.columns if k != "id_brut_bv_reu"]]
        rows.to_csv(a, encoding="utf-8-sig", **csv)
        assert a.read_bytes().startswith(b"\xef\xbb\xbfid_brut_bv_reu")
    elif case == "decimal_comma":
        rows["longitude"] = rows["longitude"].str.replace(".", ",")
        rows["latitude"] = rows["latitude"].str.replace(".", ",")
        rows.to_csv(a, sep=";", **csv)
    elif case in ("nan_coordinates", "inf_coordinates", "empty_coordinates", "absurd_coordinates", "null_island"):
        values = {"nan_coordinates": [("NaN", "NaN"), ("nan", "48.79"), ("2.41", "NaN")],
                  "inf_coordinates": [("inf", "48.79"), ("2.41", "-inf")],
                  "empty_coordinates": [("", "")] * 4,
                  "absurd_coordinates": [("999", "48.79"), ("2.41", "-999")],
                  "null_island": [("0", "0"), ("0.0", "0.0")]}[case]
        for i, (x, y) in enumerate(values):  # the first row of each station is spoilt, then the second…
            k = (i % 4) * 8 + i // 4
            rows.loc[k, ["longitude", "latitude"]] = [x, y]
        rows.to_csv(a, **csv)
        reason = "outside_commune" if case == "null_island" else "no_coordinates"
        expect.update(rows_used=32 - len(values), dropped={reason: len(values)})
    elif case == "duplicate_rows":
        rows = pd.concat([rows, rows.iloc[[0, 5, 9, 17, 30]]], ignore_index=True)
        rows.to_csv(a, **csv)
        expect.update(rows_read=37, rows_used=37, duplicate_rows=5)
    elif case == "invalid_outline":
        x0, y0, x1, y1 = BOXES["94002"]
        d = 0.001  # the last edge crosses the first: a small bow-tie at the south-west corner
        bowtie = shapely.Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0 + d, y0 - d)])
        assert not bowtie.is_valid
        outlines.loc[1, "geometry"] = bowtie
        rows.to_csv(a, **csv)
        expect.update(outlines_repaired=1, warning="repaired with make_valid")
    elif case == "commune_without_outline":
        outlines = outlines.iloc[:1]
        rows.to_csv(a, **csv)
        expect.update(rows_used=16, stations_out=2, dropped={"commune_without_outline": 16},
                      communes_without_outline=["94002"],
                      without_polygon={("94002_1", "commune_without_outline"), ("94002_2", "commune_without_outline")})
    elif case in ("lost_leading_zero", "lost_leading_zero_quiet"):
        rows = town_rows(("04001", "04002"))
        outlines = town_outlines(("04001", "04002"))
        rows["code_commune_ref"] = rows["code_commune_ref"].str.lstrip("0")
        rows["id_brut_bv_reu"] = rows["id_brut_bv_reu"].str.lstrip("0")
        rows.to_csv(a, **csv)
        assert a.read_text().splitlines()[1].startswith("4001,4001_1,")
        expect.update(codes_repaired={"rows": 32, "outlines": 0}, code_bv="04001_0001",
                      warning="lost its leading zero")
        if case.endswith("quiet"):
            args.append("-q")
            expect["warning"] = None
    elif case == "lost_leading_zero_departement":
        rows = pd.concat([town_rows(("04001", "04002")), town_rows(("94001", "94002")).iloc[:3]], ignore_index=True)
        outlines = town_outlines(("04001", "04002"))
        rows["code_commune_ref"] = rows["code_commune_ref"].str.lstrip("0").astype(int)
        rows["id_brut_bv_reu"] = rows["id_brut_bv_reu"].str.lstrip("0")
        rows.to_csv(a, **csv)
        rows.to_parquet(tmp_path / "addresses.parquet")
        args += ["--departement", "04", "-q"]
        expect.update(rows_read=35, rows_used=32, rows_out_of_scope=3, codes_repaired={"rows": 32, "outlines": 0},
                      code_bv="04001_0001", also_parquet=True)
    elif case == "lost_leading_zero_national":
        rows = pd.concat([town_rows(("04001", "04002")), town_rows()], ignore_index=True)
        outlines = pd.concat([town_outlines(("04001", "04002")), outlines], ignore_index=True)
        rows["code_commune_ref"] = rows["code_commune_ref"].str.lstrip("0")
        rows["id_brut_bv_reu"] = rows["id_brut_bv_reu"].str.lstrip("0")
        rows.to_csv(a, **csv)
        args += ["--departement", "04", "--departement", "94", "-q"]
        expect.update(rows_read=64, rows_used=64, stations_out=8, codes_repaired={"rows": 32, "outlines": 0},
                      code_bv="04001_0001", communes={"04001", "04002", "94001", "94002"})
    elif case == "lost_leading_zero_parquet":
        rows = town_rows(("04001", "04002"))
        outlines = town_outlines(("04001", "04002"))
        rows["code_commune_ref"] = rows["code_commune_ref"].astype(int)
        a = tmp_path / "addresses.parquet"
        rows.to_parquet(a)
        expect.update(codes_repaired={"rows": 32, "outlines": 0}, code_bv="04001_0001",
                      warning="code_commune_ref 4001 → 04001")
    elif case == "outline_code_lost_zero":
        rows = town_rows(("04001", "04002"))
        outlines = town_outlines(("04001", "04002"))
        outlines["code"] = outlines["code"].astype(int)
        rows.to_csv(a, **csv)
        expect.update(codes_repaired={"rows": 0, "outlines": 2}, code_bv="04001_0001",
                      warning="2 commune codes had lost their leading zero")
    else:  # pragma: no cover
        raise AssertionError(case)
    outlines.to_file(c)
    return a, c, args, expect


@pytest.mark.parametrize("case", ABSORB)
def test_absorbed(case, tmp_path):
    a, c, args, expect = _absorb_setup(case, tmp_path)
    out = tmp_path / "out" / "stations.geojson"
    out.parent.mkdir()
    proc = run("build", a, "--communes", c, "-o", out, "--jobs", "1", *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "out" / "stations.report.json").read_text())
    dropped = {k: v for k, v in report["rows_dropped"].items() if v}
    assert dropped == expect.get("dropped", {})
    assert report["rows_read"] == expect["rows_read"]
    assert report["rows_used"] == expect["rows_used"]
    assert report["rows_out_of_scope"] == expect.get("rows_out_of_scope", 0)
    # every row accounted for, once
    assert report["rows_read"] == (report["rows_out_of_scope"] + report["rows_used"] + report["rows_held_out"]
                                   + sum(report["rows_dropped"].values()))
    assert report["stations_out"] == expect["stations_out"]
    assert report["stations_in"] == report["stations_out"] + len(report["stations_without_polygon"])
    assert {(s["id_bv"], s["reason"]) for s in report["stations_without_polygon"]} == expect.get("without_polygon",
                                                                                                  set())
    assert report["communes_without_outline"] == expect.get("communes_without_outline", [])
    assert report["outlines_repaired"] == expect.get("outlines_repaired", 0)
    assert report["codes_repaired"] == expect.get("codes_repaired", {"rows": 0, "outlines": 0})
    assert report["duplicate_rows"] == expect.get("duplicate_rows", 0)
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("boundaries: warning:")]
    if expect.get("warning"):
        assert len(warnings) == 1 and expect["warning"] in warnings[0], proc.stderr
        assert report["warnings"] == [warnings[0].removeprefix("boundaries: warning: ")]
    else:
        assert warnings == []
    if "-q" in args:
        assert proc.stderr == ""
        assert len(report["warnings"]) == 1  # silenced on the terminal, kept in the report
    if expect.get("also_parquet"):  # the Parquet read filter finds the same rows
        parquet_out = tmp_path / "out" / "parquet.geojson"
        again = run("build", tmp_path / "addresses.parquet", "--communes", c, "-o", parquet_out, "--jobs", "1", *args)
        assert again.returncode == 0, again.stderr
        assert gpd.read_file(parquet_out).drop(columns="geometry").equals(
            gpd.read_file(out).drop(columns="geometry"))
    stations = gpd.read_file(out)
    assert len(stations) == expect["stations_out"]
    if "code_bv" in expect:
        assert expect["code_bv"] in set(stations["code_bv"])
        communes = expect.get("communes", {"04001", "04002"})
        assert set(stations["code_commune"]) == communes
        assert set(stations["id_bv"]) == {f"{c}_{s}" for c in communes for s in (1, 2)}


# ------------------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------------------


def _error_setup(case: str, tmp_path: Path):
    """Write the case's inputs into tmp_path/in; return the command's arguments."""
    src, outdir = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    outdir.mkdir()
    rows, outlines = town_rows(), town_outlines()
    a, c, out = src / "addresses.csv", src / "communes.geojson", outdir / "stations.geojson"
    extra: list = []
    write_rows, write_outlines = True, True
    if case == "missing_addresses":
        a = src / "nope.csv"
        write_rows = False
    elif case == "addresses_is_folder":
        a = src / "folder.csv"
        a.mkdir()
        write_rows = False
    elif case == "unreadable_addresses":
        rows.to_csv(a, index=False)
        a.chmod(0)
        write_rows = False
    elif case == "missing_outlines":
        c = src / "nope.geojson"
        write_outlines = False
    elif case == "binary_csv":
        a.write_bytes(bytes(range(256)) * 8)
        write_rows = False
    elif case == "png_as_parquet":
        a = src / "addresses.parquet"
        a.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
        write_rows = False
    elif case == "outline_not_vector":
        c.write_text("these are not commune outlines\n")
        write_outlines = False
    elif case == "empty_table":
        a.write_bytes(b"")
        write_rows = False
    elif case == "header_only":
        rows.iloc[:0].to_csv(a, index=False)
        write_rows = False
    elif case == "missing_column":
        rows = rows.drop(columns=["latitude"])
    elif case == "swapped_lonlat":
        rows[["longitude", "latitude"]] = rows[["latitude", "longitude"]].to_numpy()
    elif case == "nowhere_near_france":
        rows["longitude"] = (rows["longitude"].astype(float) + 100).map("{:.6f}".format)
    elif case == "lambert93_metres":
        pts = gpd.GeoSeries(gpd.points_from_xy(rows["longitude"].astype(float), rows["latitude"].astype(float)),
                            crs=4326).to_crs(2154)
        rows["longitude"], rows["latitude"] = pts.x.round(1), pts.y.round(1)
    elif case == "outline_no_code_field":
        outlines = outlines.rename(columns={"code": "identifiant"})
    elif case == "no_commune_in_outlines":
        outlines["code"] = ["75101", "75102"]
    elif case == "outline_without_crs":
        c = src / "communes.shp"
        outlines.set_crs(None, allow_override=True).to_file(c)
        assert not (src / "communes.prj").exists()
        write_outlines = False
    elif case == "output_folder_missing":
        out = outdir / "missing" / "stations.geojson"
    elif case == "output_parent_is_file":
        (outdir / "afile").write_text("x")
        out = outdir / "afile" / "stations.geojson"
    elif case == "output_folder_not_writable":
        outdir.chmod(0o555)
    elif case == "output_is_outlines":
        out = c
    elif case == "output_is_addresses":
        a = out = src / "addresses.parquet"
        rows.to_parquet(a)
        write_rows = False
    elif case == "report_is_input":
        extra = ["--report", c]
    else:  # pragma: no cover
        raise AssertionError(case)
    if write_rows:
        rows.to_csv(a, index=False)
    if write_outlines:
        outlines.to_file(c)
    return ["build", a, "--communes", c, "-o", out, "--jobs", "1", *extra]


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
@pytest.mark.parametrize("case", ERRORS)
def test_refused(case, tmp_path):
    if case in ("unreadable_addresses", "output_folder_not_writable") and AS_ROOT:
        pytest.skip(ROOT_SKIP)
    args = _error_setup(case, tmp_path)
    before = listing(tmp_path)
    proc = run(*args)
    (tmp_path / "out").chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("boundaries: error: ")
    assert CASES[case].expect in lines[0], lines[0]
    assert proc.stdout == ""
    assert listing(tmp_path) == before  # no output, no report, no temporary file


def test_error_lines_say_where_and_how(tmp_path):
    """The coordinate errors name the file, an example row and the option that fixes them."""
    args = _error_setup("swapped_lonlat", tmp_path)
    line = run(*args).stderr.strip()
    assert "addresses.csv" in line and "data row 1" in line
    assert "--x-column latitude --y-column longitude" in line
    # the fix the message gives works
    ok = run(*args, "--x-column", "latitude", "--y-column", "longitude", "-q")
    assert ok.returncode == 0, ok.stderr


def test_code_repair_and_france_extent():
    from boundaries.codes import in_france, repair_lost_zero

    fixed, mask = repair_lost_zero(pd.Series(["4112", "04112", "2A004", None, "75056"], dtype="string"))
    assert list(fixed.fillna("-")) == ["04112", "04112", "2A004", "-", "75056"] and list(mask) == [1, 0, 0, 0, 0]
    # a station id is repaired only when it starts with a four-digit commune code and "_"
    fixed, mask = repair_lost_zero(pd.Series(["4112_1", "04112_1", "0012", "4112"], dtype="string"), station=True)
    assert list(fixed) == ["04112_1", "04112_1", "0012", "4112"] and list(mask) == [1, 0, 0, 0]
    lon = [2.35, 55.45, 45.17, -52.33, 48.85, 0.0, 9.15]
    lat = [48.85, -20.88, -12.78, 4.93, 2.35, 0.0, 42.0]
    assert list(in_france(lon, lat)) == [True, True, True, True, False, False, True]
