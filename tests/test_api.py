"""The Python API: boundaries.build/check/evaluate, the same as the command, without a shell."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from dataclasses import fields

import geopandas as gpd
import pandas as pd
import pyarrow.csv as pacsv
import pytest
import shapely
from click.testing import CliRunner

import boundaries
from boundaries.api import option_help
from boundaries.request import KEYWORDS
from boundaries.cli import main
from boundaries.params import Parameters
from conftest import ROOT, TOWN

ADDRESSES, COMMUNES, TRUTH = TOWN / "addresses.csv", TOWN / "communes.geojson", TOWN / "stations_truth.geojson"

# options of `boundaries build` that say where and how to write: BuildResult.write's, not build's
WRITE_OPTIONS = {"output", "fmt", "split", "report_path", "dropped", "fields", "quiet", "as_json"}  # BuildResult.write's


@pytest.fixture(scope="module")
def built():
    return boundaries.build(ADDRESSES, COMMUNES, jobs=1)


def test_build_returns_stations_and_report(built):
    assert isinstance(built, boundaries.BuildResult)
    assert isinstance(built.report, boundaries.Report)
    st = built.stations
    assert isinstance(st, gpd.GeoDataFrame) and st.crs.to_epsg() == 4326
    assert len(st) == built.report.stations_out == built.report.stations_in
    assert st["id_bv"].is_unique and shapely.is_valid(st.geometry.values.to_numpy()).all()
    d = built.report.to_dict()
    assert json.loads(built.report.to_json()) == d
    assert d["rows_read"] == (d["rows_out_of_scope"] + d["rows_used"] + d["rows_held_out"]
                              + sum(d["rows_dropped"].values()))
    assert set(d["communes"]) == set(st["code_commune"])


def test_text_columns_have_the_callers_string_dtype(built):
    """The build works on object columns (faster), and hands back pandas' own string dtype, option restored."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        infer = pd.get_option("future.infer_string")
    expected = pd.Series(["a"]).dtype  # what pandas makes of text here (str under pandas 3, object before)
    for layer in (built.stations, built.communes):
        text = [c for c in layer.columns if c != "geometry" and pd.api.types.infer_dtype(layer[c]) == "string"]
        assert "id_bv" in text or "code" in text
        assert all(layer[c].dtype == expected for c in text), {c: layer[c].dtype for c in text}
        assert layer.columns.dtype == pd.Index(["a"]).dtype
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pd.get_option("future.infer_string") == infer


def test_report_json_is_one_line_per_commune(built):
    """Two levels laid out, deeper values on one line: the same document as json.dumps."""
    text = built.report.to_json()
    assert json.loads(text) == json.loads(json.dumps(built.report.to_dict()))
    lines = text.splitlines()
    codes = sorted(built.report.communes)
    commune_lines = [ln for ln in lines if ln.startswith('    "') and ln.split('"')[1] in codes]
    assert len(commune_lines) == len(codes)  # each commune: its key and its whole entry on one line
    for ln in commune_lines:
        code = ln.split('"')[1]
        assert json.loads(ln.split(": ", 1)[1].rstrip(",")) == json.loads(json.dumps(built.report.communes[code]))
    assert lines[0] == "{" and lines[-1] == "}" and any(ln.startswith('  "rows_read": ') for ln in lines)


def test_api_and_command_write_the_same_bytes(built, tmp_path):
    """The command is a thin shell: the API's result written is the command's file."""
    built.write(str(tmp_path / "api.geojson"))
    res = CliRunner().invoke(main, ["build", str(ADDRESSES), "--communes", str(COMMUNES), "-o",
                                    str(tmp_path / "cli.geojson"), "-q", "-j", "1"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "api.geojson").read_bytes() == (tmp_path / "cli.geojson").read_bytes()
    report = json.loads((tmp_path / "api.report.json").read_text())
    assert report["stations_out"] == len(built.stations)


def test_keyword_option_is_the_command_option(tmp_path):
    """frontage_step_m=0 in Python is --frontage-step-m 0 (and the older --frontage-step 0)."""
    result = boundaries.build(ADDRESSES, COMMUNES, jobs=1, frontage_step_m=0, smooth_window_m=0)
    result.write(str(tmp_path / "api.geojson"), report=None)
    for flags in (["--frontage-step-m", "0", "--smooth-window-m", "0"], ["--frontage-step", "0", "--smooth-window", "0"]):
        out = tmp_path / f"cli{flags[0]}.geojson"
        res = CliRunner().invoke(main, ["build", str(ADDRESSES), "--communes", str(COMMUNES), "-o", str(out),
                                        "-q", "-j", "1", *flags])
        assert res.exit_code == 0, res.output
        assert out.read_bytes() == (tmp_path / "api.geojson").read_bytes()
    assert result.report.parameters["frontage_step_m"] == 0
    default = boundaries.build(ADDRESSES, COMMUNES, jobs=1)
    assert not default.stations.geometry.geom_equals(result.stations.geometry).all()


def test_inputs_in_memory_give_the_same_stations(built):
    frame = pd.read_csv(ADDRESSES, dtype=str)
    table = pacsv.read_csv(ADDRESSES, convert_options=pacsv.ConvertOptions(
        column_types={c: "string" for c in frame.columns}))
    outlines = gpd.read_file(COMMUNES)
    for addresses in (frame, table):
        other = boundaries.build(addresses, outlines, jobs=1)
        assert other.stations.drop(columns="geometry").equals(built.stations.drop(columns="geometry"))
        assert other.stations.geometry.geom_equals_exact(built.stations.geometry, 1e-9).all()
        assert other.report.inputs["addresses"] == f"<{type(addresses).__name__}>"


def test_every_command_option_is_a_keyword():
    """Same names: each option of `boundaries build` is a keyword of boundaries.build, and back."""
    command = main.commands["build"]
    dests = {p.name for p in command.params} - WRITE_OPTIONS
    signature = set(inspect.signature(boundaries.build).parameters) - {"options", "params", "columns"}
    keywords = (signature | set(KEYWORDS) | {f.name for f in fields(Parameters)}) - {"params", "columns"}
    assert dests <= keywords, dests - keywords
    assert keywords - dests == {"progress"}  # progress is Python's


def test_every_parameter_is_a_command_option_with_its_documentation():
    command = main.commands["build"]
    by_name = {p.name: p for p in command.params}
    docs = option_help()
    for f in fields(Parameters):
        opt = by_name[f.name]
        assert "--" + f.name.replace("_", "-") in opt.opts
        assert opt.default == f.default
        # one description, the numpydoc's (less its pointers into the code, for the API docs)
        assert opt.help == re.sub(r" \(boundaries\.[\w.]+\)", "", docs[f.name]) and len(opt.help) > 20
    assert by_name["holdout"].help == docs["holdout"]


def test_unknown_or_bad_option_is_an_input_error():
    with pytest.raises(boundaries.InputError, match="frontage_step_m"):
        boundaries.build(ADDRESSES, COMMUNES, frontage_step=10)
    with pytest.raises(boundaries.InputError, match="hull_ratio"):
        boundaries.build(ADDRESSES, COMMUNES, hull_ratio=2)
    with pytest.raises(boundaries.InputError, match="jobs"):
        boundaries.build(ADDRESSES, COMMUNES, jobs=-1)
    with pytest.raises(boundaries.InputError, match="method"):
        boundaries.build(ADDRESSES, COMMUNES, method="delaunay")
    with pytest.raises(boundaries.InputError, match="missing.csv"):
        boundaries.build(TOWN / "missing.csv", COMMUNES)
    assert issubclass(boundaries.InputError, boundaries.BoundariesError)
    assert issubclass(boundaries.PartitionError, boundaries.BoundariesError)


def test_check_returns_the_command_result(built):
    clean = boundaries.check(built.stations, COMMUNES)
    assert isinstance(clean, boundaries.LayerCheck) and clean.ok()
    holed = built.stations.drop(index=0)  # a station removed: its land is a gap
    found = boundaries.check(holed, COMMUNES)
    assert not found.ok()
    assert "gap" in {p.kind for p in found.problems}
    assert found.to_dict()["totals"]["gap_m2"] > 1000


def test_evaluate_against_reference_and_holdout(built):
    scores = boundaries.evaluate(built.stations, reference=TRUTH)
    assert isinstance(scores, boundaries.Scores)
    assert scores.summary["mode"] == "reference" and 0.3 < scores.summary["iou_mean"] <= 1
    test = pd.read_csv(ADDRESSES, dtype=str).iloc[::10]
    held = boundaries.evaluate(built.stations, holdout=test)
    assert held.summary["mode"] == "holdout" and held.summary["own_station"] > 0.9
    with pytest.raises(boundaries.InputError, match="exactly one"):
        boundaries.evaluate(built.stations)


def test_public_names():
    for name in boundaries.__all__:
        assert getattr(boundaries, name) is not None
    assert callable(boundaries.build) and callable(boundaries.check) and callable(boundaries.evaluate)
    assert {"build", "check", "evaluate", "InputError", "Report", "BuildResult"} <= set(boundaries.__all__)
    assert not any(n.startswith("_") for n in boundaries.__all__ if n != "__version__")


def test_import_is_light_and_module_entry_point_works(tmp_path):
    """`import boundaries` loads no geometry; `python -m boundaries` is the command."""
    code = "import sys, boundaries; print('shapely' in sys.modules, 'geopandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]
    helped = subprocess.run([sys.executable, "-m", "boundaries", "build", "--help"], capture_output=True,
                            text=True, cwd=ROOT)
    assert helped.returncode == 0 and "--frontage-step-m" in helped.stdout
    bad = subprocess.run([sys.executable, "-m", "boundaries", "build", str(tmp_path / "none.csv"), "--communes",
                          str(COMMUNES), "-o", str(tmp_path / "s.geojson")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "none.csv" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "s.geojson").exists()


def test_columns_object_or_keywords(built):
    """Renamed columns named by keyword (the CLI's --x-column) or by one AddressColumns object."""
    frame = pd.read_csv(ADDRESSES, dtype=str).rename(columns={"longitude": "gx", "latitude": "gy"})
    with pytest.raises(boundaries.InputError, match="--x-column|longitude"):
        boundaries.build(frame, COMMUNES, jobs=1)
    by_keyword = boundaries.build(frame, COMMUNES, x_column="gx", y_column="gy", jobs=1)
    by_object = boundaries.build(frame, COMMUNES, columns=boundaries.AddressColumns(x="gx", y="gy"), jobs=1)
    for other in (by_keyword, by_object):
        assert other.stations.geometry.geom_equals_exact(built.stations.geometry, 1e-9).all()


def test_write_takes_pathlib_paths(tmp_path):
    """``BuildResult.write`` takes a ``pathlib.Path`` for the stations, the report and the dropped list."""
    import json
    from pathlib import Path

    town = Path(__file__).resolve().parents[1] / "fixtures" / "town"
    result = boundaries.build(town / "addresses.csv", town / "communes.geojson")
    report = result.write(tmp_path / "s.geojson", dropped=tmp_path / "d.csv")
    assert report == str(tmp_path / "s.report.json")
    assert json.loads(Path(report).read_text())["inputs"]["output"] == str(tmp_path / "s.geojson")
    assert (tmp_path / "s.geojson").stat().st_size > 0 and (tmp_path / "d.csv").is_file()
