"""User values the Python API and the command once let through as bugs (review 30, bugs 1, 8, 10).

- A CRS pyproj cannot read, or one of no horizontal coordinates (vertical, geocentric,
  engineering), given as ``crs=`` / ``--crs`` to build, evaluate, crosswalk or profile: an
  ``InputError`` naming the keyword and the value (exit 2, one line, nothing written), never
  pyproj's ``CRSError`` (exit 3).
- ``commune=29039`` / ``departement=29``: one code, as the command's single flag, or refused
  as the command refuses its string; never a ``TypeError``.
- ``boundaries.check(stations)`` without outlines: a GeoPackage's own communes layer, as the
  command, else an ``InputError`` naming ``communes``.
- The attributes the docs give check problems are the ``Problem``'s.
"""

import re
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import CRS

import boundaries
from boundaries.checks import Problem
from boundaries.cli import main
from boundaries.crosswalk import crosswalk
from boundaries.profile import profile
from boundaries.request import BuildRequest
from conftest import ROOT, TOWN

sys.path.insert(0, str(Path(__file__).parent))
from helpers import grid_town  # noqa: E402

#: One commune of two stations, 6 addresses a station: a build in well under a second.
PTS, OUTLINES, _ = grid_town("94", "EPSG:2154", origin=(652000, 6855000), n=1, stations_per_commune=2,
                             points_per_station=6)

#: CRS spellings pyproj refuses or that give no horizontal coordinates: names, EPSG codes that do
#: not exist, PROJ strings missing a parameter, vertical/geocentric/engineering CRSs, hostile text.
BAD_CRS = st.one_of(
    st.sampled_from(["lambert93", "Lambert 93", "foo", "EPSG:99999", "+proj=lcc", "EPSG:", "EPSG:-1", "EPSG:2154x",
                     "EPSG:5703", "EPSG:4978", 'LOCAL_CS["x"]', "{}", "EPSG:2154\nEPSG:4326", "\x1b]0;x\x07"]),
    st.integers(min_value=100_000, max_value=2**40).map(lambda n: f"EPSG:{n}"),
    st.integers(min_value=100_000, max_value=2**40),
    st.text(alphabet=list("EPSG:+=_ .-/\\\t\n\x00\x1b\x1e\x1d\x1fé$'\"{}[]0123456789lambert"), min_size=1, max_size=24),
)


def _horizontal(crs) -> bool:
    """Whether pyproj reads ``crs`` as a CRS of horizontal coordinates (a generated value may be one)."""
    try:
        parsed = CRS.from_user_input(crs)
    except Exception:
        return False
    return parsed.is_geographic or parsed.is_projected


def _refused(message: str, shown: str) -> None:
    assert "\n" not in message and shown in message and "EPSG:2154" in message, message


TRUTH = TOWN / "stations_truth.geojson"
#: Every Python door a user's CRS comes in by.
ENTRIES = {
    "build": lambda crs: boundaries.build(PTS, OUTLINES, crs=crs, jobs=1),
    "evaluate": lambda crs: boundaries.evaluate(TRUTH, holdout=PTS, crs=crs),
    "crosswalk": lambda crs: crosswalk(TRUTH, TRUTH, PTS, crs=crs),
    "profile": lambda crs: profile(TRUTH, TRUTH, addresses=PTS, crs=crs),
}
#: The command's: each line is refused before anything is read (``--all`` would make a work folder).
COMMANDS = {
    "build": ["build", str(TOWN / "addresses.csv"), "--communes", str(TOWN / "communes.geojson"), "--all"],
    "evaluate": ["evaluate", str(TRUTH), "--holdout", str(TOWN / "addresses.csv")],
    "crosswalk": ["crosswalk", str(TRUTH), str(TRUTH), "--addresses", str(TOWN / "addresses.csv")],
}


@settings(deadline=None)
@given(crs=BAD_CRS, entry=st.sampled_from(sorted(ENTRIES)))
def test_a_bad_crs_is_an_input_error_in_python(crs, entry):
    assume(crs != "" and not _horizontal(crs))
    with pytest.raises(boundaries.InputError) as err:
        ENTRIES[entry](crs)
    _refused(str(err.value), f"crs {crs!r}"[:30])


@settings(deadline=None)
@given(crs=BAD_CRS.filter(lambda c: isinstance(c, str) and "\x00" not in c), command=st.sampled_from(sorted(COMMANDS)))
def test_a_bad_crs_flag_exits_2_in_one_line_writing_nothing(crs, command):
    assume(crs != "" and not _horizontal(crs))
    with tempfile.TemporaryDirectory() as folder:
        out = ["-o", str(Path(folder) / ("x.csv" if command == "crosswalk" else "x.geojson"))]
        res = CliRunner().invoke(main, [*COMMANDS[command], *(out if command != "evaluate" else []), "--crs", crs])
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"boundaries: error: --crs {crs!r}"[:40]), res.output
        assert "internal error" not in res.output and "EPSG:2154" in res.output
        assert list(Path(folder).iterdir()) == []  # no output, no work folder of the national run


@settings(deadline=None)
@given(crs=st.sampled_from(["EPSG:4326", "epsg:4326", 4326, "urn:ogc:def:crs:EPSG::4326", "WGS84", "OGC:CRS84",
                            CRS.from_epsg(4326), "EPSG:4326+5703", None, ""]))
def test_every_spelling_pyproj_reads_still_builds(crs):
    result = boundaries.build(PTS, OUTLINES, crs=crs, jobs=1)
    assert sorted(result.stations["id_bv"]) == ["94001_1", "94001_2"]


#: Values of ``commune=`` / ``departement=`` a Python caller may pass: numbers (Python's and
#: numpy's), strings, lists of either, and values that are no code at all.
CODE_VALUES = st.one_of(
    st.integers(min_value=-10, max_value=10**6),
    st.integers(min_value=0, max_value=10**6).map(np.int64),
    st.integers(min_value=0, max_value=999).map(np.int32),
    st.text(alphabet=list("0123456789AB ,\t"), max_size=12),
    st.lists(st.one_of(st.integers(min_value=0, max_value=10**6), st.text(alphabet="0123456789AB", max_size=6)),
             max_size=3),
    st.sampled_from([True, 29.0, 94001.0, b"94001", None]),
)


def _outcome(**options):
    """The codes a request keeps, or the message it is refused with."""
    try:
        request = BuildRequest.create(PTS, OUTLINES, **options)
    except boundaries.InputError as exc:
        return str(exc)
    return request.commune, request.departement


def _as_flags(value) -> tuple:
    """What the command's repeatable flag hands over for ``value``: strings, one per flag."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


@settings(deadline=None)
@given(value=CODE_VALUES, keyword=st.sampled_from(["commune", "departement"]))
def test_a_code_of_any_python_type_is_the_command_s_code_or_refused(value, keyword):
    got = _outcome(**{keyword: value})  # never a TypeError
    assert got == _outcome(**{keyword: _as_flags(value)}) or isinstance(value, str), got
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        one = ((str(value),), ()) if keyword == "commune" else ((), (str(value),))
        assert got == one or (isinstance(got, str) and got.startswith(f"{keyword} '{value}' is not")), got


def test_an_int_commune_builds_that_commune():
    by_int = boundaries.build(PTS, OUTLINES, commune=94001, departement=94, jobs=1)
    by_str = boundaries.build(PTS, OUTLINES, commune="94001", departement="94", jobs=1)
    assert by_int.stations.equals(by_str.stations)


@pytest.fixture(scope="module")
def own_gpkg(tmp_path_factory):
    """A GeoPackage of ours (stations and communes layers)."""
    path = tmp_path_factory.mktemp("own") / "stations.gpkg"
    boundaries.build(PTS, OUTLINES, jobs=1).write(str(path))
    return path


@pytest.mark.parametrize("as_path", [str, Path])
def test_check_without_communes_uses_the_geopackage_s_own(own_gpkg, as_path):
    own = boundaries.check(as_path(own_gpkg))
    given_ = boundaries.check(own_gpkg, own_gpkg, communes_layer="communes")
    assert own.ok() and own.to_dict() == given_.to_dict()


@settings(deadline=None)
@given(form=st.sampled_from(["frame", "geojson", "gpkg_without_communes", "missing"]),
       name=st.text(alphabet=list("abc _-.é$"), min_size=1, max_size=8),
       layer=st.text(alphabet=list("abcCOMUNES_"), min_size=1, max_size=9).filter(lambda n: n != "communes"))
def test_check_without_any_outlines_names_the_keyword(own_gpkg, form, name, layer):
    stations = gpd.read_file(own_gpkg, layer="stations")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / f"{name}.{'geojson' if form == 'geojson' else 'gpkg'}")
        if form == "geojson":
            stations.to_file(path)
        elif form == "gpkg_without_communes":
            stations.to_file(path, layer=layer)
        with pytest.raises(boundaries.InputError) as err:
            boundaries.check(stations if form == "frame" else path)
    assert "give communes" in str(err.value)


def _named_problem_attributes(text: str) -> list[str]:
    """The backquoted names the text gives ``.problems`` items (``.problems`` (worst first, each with ``kind``…))."""
    found = re.search(r"\.problems`*\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)", text)
    assert found, "no description of .problems found"
    return re.findall(r"`+(\w+)`+", found.group(1))


@pytest.mark.parametrize("where", ["docs/pipelines.md", "boundaries.check"])
def test_the_documented_problem_attributes_exist(where):
    text = (ROOT / where).read_text() if where.endswith(".md") else boundaries.check.__doc__
    names = _named_problem_attributes(text)
    assert {"kind", "commune", "detail"} <= set(names), names
    problem = Problem("gap", "94001", ("94001_1",), 1.0, "a gap")
    assert [n for n in names if not hasattr(problem, n)] == []


#: Field names a user may type: near the real ones, with spaces, case, accents, controls.
FIELD_NAMES = st.text(alphabet=list("idbv_IDBV cod-é\t\x1b'"), min_size=1, max_size=10)


@settings(deadline=None)
@given(name=FIELD_NAMES, where=st.sampled_from(["check", "evaluate"]))
def test_a_named_id_field_that_is_absent_is_named(own_gpkg, name, where):
    layer = gpd.read_file(own_gpkg, layer="stations")
    assume(name.strip().lower() not in {c.lower().strip() for c in layer.columns})
    with pytest.raises(boundaries.InputError) as err:
        if where == "check":
            boundaries.check(layer, OUTLINES, id_field=name)
        else:
            boundaries.evaluate(layer, reference=TRUTH, reference_field=name)
    keyword = "id_field" if where == "check" else "reference_field"
    message = str(err.value)
    assert f"has no field {name!r} (fields: id_bv, " in message and f"give another to {keyword}" in message, message


@pytest.fixture(scope="module")
def built():
    return boundaries.build(PTS, OUTLINES, jobs=1)


@settings(deadline=None)
@given(parts=st.lists(st.text(alphabet=list("ab é-_."), min_size=1, max_size=5).filter(lambda p: p.strip(".")),
                      min_size=1, max_size=3),
       which=st.sampled_from(["path", "split", "report", "dropped", "file_as_folder"]))
def test_write_into_a_missing_folder_says_so_and_writes_nothing(built, parts, which):
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "plain.txt").write_text("x")
        missing = Path(root, *parts)
        target = {"path": (missing / "w.gpkg", {}), "file_as_folder": (Path(root, "plain.txt", "w.gpkg"), {}),
                  "split": (missing / "split", {"split": "commune"}),
                  "report": (Path(root, "w.geojson"), {"report": str(missing / "r.json")}),
                  "dropped": (Path(root, "w.geojson"), {"dropped": str(missing / "d.csv")})}[which]
        with pytest.raises(boundaries.InputError) as err:
            built.write(str(target[0]), **target[1])
        message = str(err.value)
        assert "no longer" not in message and ("does not exist; create it first (mkdir -p " in message
                                               or "is a file; give a path in a folder" in message), message
        assert sorted(p.name for p in Path(root).iterdir()) == ["plain.txt"]
