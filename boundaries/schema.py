"""The output schema (``schema/stations.schema.json``) and the version stamp of outputs.

The schema is a JSON Schema (draft 2020-12) of the station properties, the
GeoJSON document, the GeoPackage's ``communes`` layer and the build report. It
ships inside the package (``boundaries/stations.schema.json``, a link to the file
at the repository root in a checkout), so :func:`load_schema` finds it installed.
"""

from __future__ import annotations

import json

#: Version of the station properties and report fields; a change to either is a new
#: version, noted in CHANGELOG.md: a property removed, renamed or changed in type or
#: meaning is a new major version, a property added a new minor one. Equal to the
#: schema file's ``version`` (tests/test_schema.py checks it).
SCHEMA_VERSION = "1.3.0"

#: Name of the schema file inside the package.
SCHEMA_FILE = "stations.schema.json"


def load_schema() -> dict:
    """The output schema, as a dict (JSON Schema draft 2020-12).

    Its ``$defs`` name each part: ``station_properties``, ``feature``,
    ``feature_collection`` (the document itself validates a GeoJSON output),
    ``commune_properties`` (GeoPackage layer ``communes``), ``report`` and
    ``output_metadata``; its ``version`` is :data:`SCHEMA_VERSION`.
    """
    from importlib.resources import files

    return json.loads(files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def output_metadata() -> dict:
    """What each output says about its writer: ``{"version": <boundaries>, "schema": SCHEMA_VERSION}``.

    Written as the GeoJSON foreign member ``boundaries``, and as JSON text under the
    key ``boundaries`` in GeoPackage dataset metadata, FlatGeobuf layer metadata and
    Parquet key-value metadata (see :func:`boundaries.write.write_stations`).
    """
    from . import __version__

    return {"version": __version__, "schema": SCHEMA_VERSION}
