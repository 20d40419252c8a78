"""Join an election-results table onto the stations, by station id.

Results files name stations ``codeBureauVote`` (``94028_0012``, the form of the
Ministry's files) or like the REU (``94028_12``); both are matched through
:func:`boundaries.codes.canonical_station`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import codes
from .errors import InputError, option

#: Columns accepted as a results table's station id (case-insensitive), in order.
RESULT_ID_FIELDS = ("codeBureauVote", "code_bv", "id_bv", "id_brut_bv_reu", "code_bureau_vote")


def read_results(source) -> pd.DataFrame:
    """Read a results table (CSV with ``,`` ``;`` or tab, UTF-8 or cp1252, or Parquet) as strings."""
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.is_file():
        raise InputError(f"results file {source} not found; check {option('results')}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path).astype("string")
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                return pd.read_csv(path, sep=None, engine="python", dtype=str, encoding=encoding,
                                   keep_default_na=False, na_values=[""])
            except UnicodeDecodeError:
                continue
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        raise InputError(f"results file {source} is not a readable table ({exc}); give a CSV or Parquet file") from None
    raise InputError(f"results file {source}: text is neither UTF-8 nor cp1252; re-save it as UTF-8")


def _as_numbers(values: pd.Series) -> pd.Series:
    """A column of numbers as numbers (``12,5`` French decimals too), anything else as text."""
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    if not present.any():
        return values
    for candidate in (text, text.str.replace(",", ".", regex=False)):
        numbers = pd.to_numeric(candidate.where(present), errors="coerce")
        if numbers[present].notna().all():
            whole = (numbers[present] == numbers[present].round()).all()
            return numbers.astype("Int64") if whole else numbers.astype("Float64")
    return values


def join_results(stations, results, id_field: str | None = None):
    """Copy a results table's columns onto the stations whose id matches.

    Parameters
    ----------
    stations : geopandas.GeoDataFrame
        Station layer with ``id_bv``.
    results : path or pandas.DataFrame
        One row per station; its id in ``id_field`` or a column of
        :data:`RESULT_ID_FIELDS`.
    id_field : str, optional
        The results' station-id column.

    Returns
    -------
    stations : geopandas.GeoDataFrame
        The stations with the results' other columns added (numbers as numbers,
        ``12,5`` read as 12.5; a name already
        used by the stations gets the suffix ``_results``); stations without a
        result get empty values.
    stats : dict
        ``results_rows``, ``matched_stations``, ``stations_without_result``,
        ``results_without_station`` (up to 20 ids listed) and ``id_field``.
    """
    table = read_results(results)
    if len(table) == 0:
        raise InputError(f"results table is empty (no data row); check {option('results')}")
    lower = {c.lower(): c for c in table.columns}
    field = id_field if id_field in table.columns else None
    if field is None and not id_field:
        field = next((lower[f.lower()] for f in RESULT_ID_FIELDS if f.lower() in lower), None)
    if field is None:
        raise InputError(
            f"results table has no station-id column (looked for {id_field or ', '.join(RESULT_ID_FIELDS)}; "
            f"columns: {', '.join(map(str, table.columns[:12]))}); name it with {option('results_id')}"
        )
    key = codes.canonical_station(table[field].astype("string").to_numpy(dtype=object, na_value=""))
    if pd.Series(key).duplicated().any():
        dup = pd.Series(table[field])[pd.Series(key).duplicated().to_numpy()].iloc[0]
        raise InputError(f"results table has several rows for station {dup}; give one row per station")
    extra = [c for c in table.columns if c != field]
    table = table.assign(**{c: _as_numbers(table[c]) for c in extra})
    renamed = {c: (f"{c}_results" if c in stations.columns else c) for c in extra}
    right = table[extra].rename(columns=renamed)
    right.index = key
    st_key = codes.canonical_station(stations["id_bv"].to_numpy(dtype=object))
    joined = right.reindex(st_key)
    out = stations.copy()
    for c in joined.columns:
        out[c] = joined[c].to_numpy()
    matched = np.isin(st_key, key)
    orphans = sorted(set(key) - set(st_key))
    stats = {
        "id_field": field,
        "results_rows": int(len(table)),
        "matched_stations": int(matched.sum()),
        "stations_without_result": int((~matched).sum()),
        "results_without_station": len(orphans),
        "results_without_station_ids": orphans[:20],
    }
    return out, stats
