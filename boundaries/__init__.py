"""boundaries — rebuild the territory of each French polling station from its voters' addresses.

>>> import boundaries
>>> result = boundaries.build("addresses.csv.gz", "communes.geojson", departement="94")  # doctest: +SKIP
>>> result.write("stations.gpkg")  # doctest: +SKIP

The API is :func:`build`, :func:`check` and :func:`evaluate` (see
:mod:`boundaries.api`) and the names of ``__all__``; every other module is
private and may change without notice. The output's columns are described by
``schema/stations.schema.json``, whose version is :data:`SCHEMA_VERSION`.

Public names are imported on first use, so that ``boundaries --help`` answers
without loading the geo stack.
"""

import os
from importlib import import_module

# GDAL saves what it learns of a file it reads (its metadata) in a FILE.aux.xml beside it: reading the
# user's GeoPackage must not write beside it. An explicit setting of the user's is kept.
os.environ.setdefault("GDAL_PAM_ENABLED", "NO")

__version__ = "0.1.0"

_PUBLIC = {
    "AddressColumns": "read",
    "BoundariesError": "errors",
    "BuildResult": "result",
    "InputError": "errors",
    "LayerCheck": "checks",
    "Parameters": "params",
    "PartitionError": "errors",
    "Report": "report",
    "SCHEMA_VERSION": "schema",
    "Scores": "scoring",
    "build": "api",
    "check": "api",
    "evaluate": "api",
    "load_schema": "schema",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'boundaries' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
