"""The version of the output schema (``schema/stations.schema.json``)."""

#: Version of the station properties and report fields; a change to either is a new
#: version, noted in CHANGELOG.md.
SCHEMA_VERSION = "1.0.0"
