"""The output schema (schema/stations.schema.json) against real outputs of every format.

The town is built once, with a hold-out, ``simplify`` and a results join so that the
report's optional parts and the extra (results) properties are there; it is written
to every format. Each file is read back as its readers see it (GeoJSON as JSON text,
the others through Arrow, so types are the file's own) and validated. Integers are
checked strictly: ``312.0`` is not an integer here, although JSON Schema would let it be one.
"""

import copy
import json
from importlib.resources import files

import jsonschema
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

import boundaries
from boundaries.clean import REASONS
from boundaries.params import Parameters
from boundaries.report import NO_POLYGON_DETAILS as _DETAILS
from boundaries.stations import STATION_COLUMNS
from boundaries.report import Report
from boundaries.schema import SCHEMA_FILE, SCHEMA_VERSION, load_schema, output_metadata
from boundaries.tessellate import METHODS
from conftest import ROOT, TOWN
from helpers import file_properties

SCHEMA = load_schema()
#: The file written for each format.
FILES = {"geojson": "s.geojson", "geojsonseq": "s.geojsonl", "gpkg": "s.gpkg", "fgb": "s.fgb",
         "parquet": "s.parquet"}
#: Formats that carry the version stamp, and how it is read back (as JSON text).
STAMPS = {
    "geojson": lambda p: json.dumps(json.loads(p.read_text())["boundaries"]),
    "gpkg": lambda p: pyogrio.read_info(p, layer="stations")["dataset_metadata"]["boundaries"],
    "fgb": lambda p: pyogrio.read_info(p)["layer_metadata"]["boundaries"],
    "parquet": lambda p: pq.read_schema(p).metadata[b"boundaries"].decode(),
}

# An integer is an int (not 312.0, not True): the files must keep integer columns integer.
_STRICT = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_STRICT)


def validator(name: str | None = None):
    """A validator of the whole document (the GeoJSON output), or of one of its ``$defs``."""
    schema = SCHEMA if name is None else {**SCHEMA, "$ref": f"#/$defs/{name}"}
    return Validator(schema)


def errors(name, instance) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(instance)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The town built once (hold-out, simplify, results), written to every format."""
    out = tmp_path_factory.mktemp("schema")
    results = {"codeBureauVote": ["99001_0001", "99001_0002", "99999_0001"], "inscrits": ["900", "800", "10"],
               "exprimes_pct": ["51,5", "48", "60,25"], "method": ["x", "y", "z"], "note": ["[1, 2]", "{}", ""]}
    result = boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson", holdout=0.1, simplify="web",
                              results=pd.DataFrame(results), jobs=1)
    for fmt, name in FILES.items():
        result.write(str(out / name), fmt)
    return out, result


def station_properties(out, fmt) -> list[dict]:
    return file_properties(out / FILES[fmt], fmt, "stations" if fmt == "gpkg" else None)


# --- the schema file itself ----------------------------------------------------------

def test_schema_is_valid_json_schema_and_its_version_is_schema_version():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["version"] == SCHEMA_VERSION
    assert output_metadata() == {"version": boundaries.__version__, "schema": SCHEMA_VERSION}


def test_packaged_schema_is_the_repository_file():
    """boundaries/stations.schema.json (a link in a checkout, the file in a wheel) is schema/'s."""
    packaged = files("boundaries").joinpath(SCHEMA_FILE).read_bytes()
    assert packaged == (ROOT / "schema" / SCHEMA_FILE).read_bytes()


def test_changelog_records_the_schema_version():
    assert f"schema {SCHEMA_VERSION}" in (ROOT / "CHANGELOG.md").read_text().lower()


def test_schema_lists_exactly_the_columns_the_tool_writes(written):
    """A column added, removed or renamed without the schema (and its version) changing fails here."""
    station = SCHEMA["$defs"]["station_properties"]
    assert list(station["properties"]) == STATION_COLUMNS
    assert station["required"] == STATION_COLUMNS
    commune = SCHEMA["$defs"]["commune_properties"]
    columns = [c for c in written[1].communes.columns if c != "geometry"]
    assert list(commune["properties"]) == columns and commune["required"] == columns


def test_schema_lists_exactly_the_report_fields_and_their_values():
    report = SCHEMA["$defs"]["report"]
    fields = list(Report().to_dict())
    assert list(report["properties"]) == fields and report["required"] == fields
    assert list(report["properties"]["tool"]["properties"]) == list(Report().to_dict()["tool"])
    assert list(report["properties"]["parameters"]["properties"]) == list(Parameters().to_dict())
    assert report["properties"]["method"]["enum"] == list(METHODS)
    assert SCHEMA["$defs"]["rows_dropped"]["propertyNames"]["enum"] == list(REASONS)
    without = report["properties"]["stations_without_polygon"]["items"]["properties"]["reason"]["enum"]
    assert without == list(_DETAILS)


# --- every output against it ---------------------------------------------------------

@pytest.mark.parametrize("fmt", list(FILES))
def test_every_feature_of_every_format_is_valid(written, fmt):
    out, result = written
    props = station_properties(out, fmt)
    assert len(props) == len(result.stations) > 0
    bad = [(p["id_bv"], e) for p in props for e in errors("station_properties", p)]
    assert not bad, bad[:5]
    # in the written order, the results' columns after the tool's
    assert list(props[0])[:len(STATION_COLUMNS)] == STATION_COLUMNS
    assert {"inscrits", "exprimes_pct", "method_results", "note"} <= set(props[0])
    # what JSON Schema cannot say
    assert all(p["code_bv"] == f"{p['code_commune']}_{p['numero_bv']}" for p in props)
    assert {p["note"] for p in props} >= {"[1, 2]", "{}"}  # strings, not JSON


def test_geojson_document_is_a_valid_feature_collection(written):
    out, _ = written
    doc = json.loads((out / FILES["geojson"]).read_text())
    assert not list(validator().iter_errors(doc))
    assert not errors("feature_collection", doc)
    for line in (out / FILES["geojsonseq"]).read_text().splitlines():
        assert not errors("feature", json.loads(line))


def test_report_is_valid(written):
    out, result = written
    report = json.loads((out / "s.report.json").read_text())
    assert report["holdout"] and report["simplify"] and report["results"]  # the optional parts are there
    assert not errors("report", report)
    # a default build's report: the optional parts null
    plain = {**report, "holdout": None, "simplify": None, "results": None}
    assert not errors("report", plain)
    assert report["tool"] == {"name": "boundaries", "version": boundaries.__version__, "schema": SCHEMA_VERSION}


def test_geopackage_communes_layer_is_valid(written):
    out, result = written
    rows = file_properties(out / FILES["gpkg"], "gpkg", "communes")
    assert len(rows) == len(result.communes) > 0
    assert not [e for r in rows for e in errors("commune_properties", r)]


@pytest.mark.parametrize("fmt", list(STAMPS))
def test_each_format_carries_the_schema_version(written, fmt):
    out, _ = written
    stamp = json.loads(STAMPS[fmt](out / FILES[fmt]))
    assert stamp == output_metadata() and stamp["schema"] == SCHEMA_VERSION
    assert not errors("output_metadata", stamp)


def test_geojsonseq_has_no_stamp_and_parquet_keeps_geo(written):
    """GeoJSONSeq has no collection to hold the stamp (the schema says so); Parquet keeps GeoParquet's ``geo``."""
    out, _ = written
    for line in (out / FILES["geojsonseq"]).read_text().splitlines():
        assert set(json.loads(line)) == {"type", "properties", "geometry"}
    assert "GeoJSONSeq has no place for it" in SCHEMA["$defs"]["output_metadata"]["description"]
    geo = json.loads(pq.read_schema(out / FILES["parquet"]).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"


# --- the schema rejects what is wrong --------------------------------------------------

BROKEN_PROPERTIES = [
    ("missing code_bv", lambda p: p.pop("code_bv")),
    ("unknown method", lambda p: p.update(method="delaunay")),
    ("count as text", lambda p: p.update(n_addresses="312")),
    ("count as a float", lambda p: p.update(n_addresses=312.0)),
    ("confidence above 1", lambda p: p.update(confidence=1.5)),
    ("station number not padded", lambda p: p.update(numero_bv="12")),
    ("station number with _", lambda p: p.update(numero_bv="12_0001")),
    ("code_bv without _", lambda p: p.update(code_bv="99001-0001")),
    ("INSEE commune, bad département", lambda p: p.update(code_departement="9")),
    ("INSEE commune, code_bv of another form", lambda p: p.update(code_bv="X_0001")),
    ("null code", lambda p: p.update(code_commune=None)),
    ("no part", lambda p: p.update(n_parts=0)),
    ("extra property as JSON", lambda p: p.update(note=[1, 2])),
]


@pytest.mark.parametrize("what, breaks", BROKEN_PROPERTIES, ids=[b[0] for b in BROKEN_PROPERTIES])
def test_a_broken_feature_is_rejected(written, what, breaks):
    out, _ = written
    props = station_properties(out, "geojson")[0]
    assert not errors("station_properties", props)
    broken = copy.deepcopy(props)
    breaks(broken)
    assert errors("station_properties", broken), what


def test_a_broken_document_report_or_commune_is_rejected(written):
    out, _ = written
    doc = json.loads((out / FILES["geojson"]).read_text())
    for name, change in (
        ("crs member", lambda d: d.update(crs={"type": "name"})),
        ("no stamp", lambda d: d.pop("boundaries")),
        ("point geometry", lambda d: d["features"][0].update(geometry={"type": "Point", "coordinates": [2.9, 46.5]})),
        ("ring of one position", lambda d: d["features"][0]["geometry"]["coordinates"][0][0].__delitem__(slice(1, None))),
        ("latitude out of range", lambda d: d["features"][0]["geometry"]["coordinates"][0][0].__setitem__(1, 91)),
    ):
        broken = copy.deepcopy(doc)
        change(broken)
        assert list(validator().iter_errors(broken)), name
    report = json.loads((out / "s.report.json").read_text())
    for name, change in (
        ("unknown drop reason", lambda r: r["rows_dropped"].update(bad_luck=1)),
        ("no schema in tool", lambda r: r["tool"].pop("schema")),
        ("negative count", lambda r: r.update(rows_used=-1)),
        ("missing field", lambda r: r.pop("communes")),
        ("commune without partition", lambda r: next(iter(r["communes"].values())).pop("partition")),
    ):
        broken = copy.deepcopy(report)
        change(broken)
        assert errors("report", broken), name
    commune = file_properties(out / FILES["gpkg"], "gpkg", "communes")[0]
    for change in (lambda c: c.update(extra=1), lambda c: c.update(method="x"), lambda c: c.pop("code")):
        broken = dict(commune)
        change(broken)
        assert errors("commune_properties", broken)
