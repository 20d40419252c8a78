"""Field names for pipelines: data.gouv.fr's names written beside ours (``fields="etalab"``).

data.gouv.fr's "Proposition de contours des bureaux de vote" (Etalab, from the REU)
and the Ministry's results name a station's properties in camelCase:
``codeBureauVote`` (``"94028_0012"``: the commune code, ``_``, the number zero-padded
to four digits), ``codeCommune``, ``nomCommune``, ``numeroBureauVote`` (``"0012"``),
``codeDepartement``, ``nomDepartement``. Each is a copy of one of our columns
(:data:`ETALAB_FIELDS`), so a pipeline written for their files reads ours unchanged.
"""

from __future__ import annotations

from .errors import InputError, option

#: The field sets an output can carry: ours only, or ours and data.gouv.fr's.
FIELD_SETS = ("ours", "etalab")

#: data.gouv.fr's (Etalab) name → our column it copies, in the order they are written.
ETALAB_FIELDS = {
    "codeBureauVote": "code_bv",
    "codeCommune": "code_commune",
    "nomCommune": "nom_commune",
    "numeroBureauVote": "numero_bv",
    "codeDepartement": "code_departement",
    "nomDepartement": "nom_departement",
}

#: Suffix of a column (from ``results``) whose name a field set takes.
TAKEN_SUFFIX = "_results"


def check_fields(fields: str) -> str:
    """``fields`` if it names a field set of :data:`FIELD_SETS`, else one line saying which exist."""
    if fields not in FIELD_SETS:
        raise InputError(f"{option('fields', fields)}: unknown field set; choose one of {', '.join(FIELD_SETS)}")
    return fields


def with_fields(stations, fields: str = "ours"):
    """The station layer with the field set ``fields``: a new frame, or ``stations`` itself for ``ours``.

    With ``etalab``, each name of :data:`ETALAB_FIELDS` is added after the other
    properties (before the geometry) as a copy of our column. A column already so
    named (copied from an election-results table) is kept as ``<name>_results``,
    as a results column named like one of ours is.

    Parameters
    ----------
    stations : geopandas.GeoDataFrame
        Built stations, with the columns of :data:`boundaries.stations.STATION_COLUMNS`.
    fields : {"ours", "etalab"}

    Returns
    -------
    geopandas.GeoDataFrame
    """
    if check_fields(fields) == "ours":
        return stations
    import geopandas as gpd
    import pandas as pd

    taken = {name: name + TAKEN_SUFFIX for name in ETALAB_FIELDS if name in stations.columns}
    out = stations.rename(columns=taken)
    geometry = out.geometry.name
    added = out[list(ETALAB_FIELDS.values())].set_axis(list(ETALAB_FIELDS), axis=1)
    properties = pd.DataFrame(out[[c for c in out.columns if c != geometry]])
    return gpd.GeoDataFrame(pd.concat([properties, added, out[[geometry]]], axis=1), geometry=geometry,
                            crs=stations.crs)
