"""The bundled town's outputs against the recorded ones (fixtures/golden, made by fixtures/make_golden.py).

A change of structure must change no output byte. The binary formats' bytes depend
on the libraries that write them (GEOS, GDAL, PROJ, pyarrow): where the versions are
the recorded ones every file must be identical; elsewhere the GeoJSON's features are
compared (attributes equal, every vertex within 1e-9 degree) and the reports must be
equal in every count.
"""

import importlib.util
import json

import geopandas as gpd
import pytest
import shapely

from conftest import ROOT

GOLDEN = ROOT / "fixtures" / "golden"


def _make_golden():
    spec = importlib.util.spec_from_file_location("make_golden", ROOT / "fixtures" / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden")
    return folder, _make_golden().build_all(folder)


def test_reports_equal_the_recorded_ones(built):
    _, runs = built
    saved = json.loads((GOLDEN / "outputs.json").read_text())["runs"]
    assert runs.keys() == saved.keys()
    for name in runs:
        assert runs[name]["report"] == saved[name]["report"], name


def test_outputs_equal_the_recorded_ones(built):
    folder, runs = built
    golden = _make_golden()
    saved = json.loads((GOLDEN / "outputs.json").read_text())
    if saved["versions"] == golden.versions():
        differ = [f for name, r in runs.items() for f, h in r["files"].items()
                  if saved["runs"][name]["files"].get(f) != h]
        assert not differ, f"these outputs changed: {differ} (if on purpose, run python fixtures/make_golden.py)"
        assert all(r["files"].keys() == saved["runs"][n]["files"].keys() for n, r in runs.items())
    new, old = gpd.read_file(folder / "town.geojson"), gpd.read_file(GOLDEN / "town.geojson")
    columns = [c for c in old.columns if c != "geometry"]
    assert list(new.columns) == list(old.columns) and new[columns].equals(old[columns])
    assert shapely.equals_exact(new.geometry.values, old.geometry.values, tolerance=1e-9).all()
