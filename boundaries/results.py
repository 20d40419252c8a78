"""Join an election-results table onto the stations, by station id.

Results files name stations ``codeBureauVote`` (``94028_0012``, the form of the
Ministry's files) or like the REU (``94028_12``); both are matched through
:func:`boundaries.codes.results_key`, which also matches the Ministry's Paris, Lyon and
Marseille ids (the city and ``{arrondissement}{station:02d}``: ``75056_101``) with the REU's
(the arrondissement: ``75101_1``). A join that matches no station is refused.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import codes
from .errors import InputError, option
from .read import Inflated, check_unique_columns, is_gzip

#: Compressions pandas would decompress with no cap on the size (by file name ending): refused;
#: ``.gz`` is read through :class:`boundaries.read.Inflated`, which caps the expansion.
UNBOUNDED_COMPRESSIONS = (".bz2", ".xz", ".zip", ".zst", ".tar", ".tgz", ".lzma", ".z")

#: Columns accepted as a results table's station id (case-insensitive), in order.
RESULT_ID_FIELDS = ("codeBureauVote", "code_bv", "id_bv", "id_brut_bv_reu", "code_bureau_vote")


#: The Ministry of the Interior's code columns (lower case): département, commune, station. A
#: table as published, without a station-id column, gets ``codeBureauVote`` composed from them.
MINISTRY_CODE_FIELDS = ("code du département", "code de la commune", "code du b.vote")
#: The Ministry's letter codes of overseas départements (older files) and their INSEE numbers.
MINISTRY_OVERSEAS = {"ZA": "971", "ZB": "972", "ZC": "973", "ZD": "974", "ZS": "975", "ZM": "976"}

#: Most ids listed on each side of an unmatched join in the report (the rest are counted).
MAX_LISTED_IDS = 20


#: Names a results column may not take whatever their case: the GeoPackage's own feature id
#: and the geometry's usual names.
RESERVED_FIELDS = ("fid", "geometry", "geom")
#: Most results columns accepted (a GeoPackage holds 2,000 fields; results have a few dozen).
MAX_RESULT_COLUMNS = 1000
#: Longest results column name accepted (characters).
MAX_NAME_CHARS = 255


def read_results(source) -> pd.DataFrame:
    """Read a results table (CSV with ``,`` ``;`` or tab, UTF-8 or cp1252, or Parquet) as strings.

    A CSV row with more or fewer fields than the header is refused, naming its line. A
    ``.csv.gz`` is read through :class:`boundaries.read.Inflated` (a decompression bomb fails
    after a few MiB); other compressions, which nothing here can cap, are refused.
    """
    if isinstance(source, pd.DataFrame):
        return candidates_as_columns(source, "results table")
    path = Path(source)
    if not path.is_file():
        raise InputError(f"results file {source} not found; check {option('results')}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return candidates_as_columns(pd.read_parquet(path).astype("string"), f"results file {path}")
        data = _csv_bytes(path)
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(encoding)
                blocks = _text_blocks(text, f"results file {path}")
                if blocks is not None:
                    return blocks
                _check_fields(path, text)
                return pd.read_csv(io.StringIO(text), sep=None, engine="python", dtype=str,
                                   keep_default_na=False, na_values=[""])
            except UnicodeDecodeError:
                continue
    except InputError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError, ValueError, csv.Error) as exc:
        raise InputError(f"results file {source} is not a readable table ({exc}); give a CSV or Parquet file") from None
    raise InputError(f"results file {source}: text is neither UTF-8 nor cp1252; re-save it as UTF-8")


#: Names (lower case, spaces collapsed) of the column that opens a candidate's block in the
#: Ministry's files: ``N°Panneau`` (presidential, 2017-2022), ``N.Pan.`` (legislative, municipal).
PANEL_FIELDS = ("n°panneau", "n° panneau", "n.pan.", "n°pan", "n° pan", "numéro de panneau", "num panneau")


def _norm(name) -> str:
    return " ".join(str(name).replace("\ufeff", "").strip().lower().split())


def candidate_block(header) -> tuple[int, int] | None:
    """Where the first candidate's block of a Ministry header starts, and how many columns it spans.

    The block opens with a panel column (:data:`PANEL_FIELDS`) and holds ``Nom`` and
    ``Voix``; it ends at the header's end, at an empty or unnamed header, or where the
    panel column comes again (the following candidates' blocks). None when the header
    has no such block (a plain table, one column per candidate).
    """
    names = [_norm(h) for h in header]
    start = next((i for i, n in enumerate(names) if n in PANEL_FIELDS), None)
    if start is None:
        return None
    again = re.compile(re.escape(names[start]) + r"(\.\d+)?")
    end = next((j for j in range(start + 1, len(names)) if not names[j] or names[j].startswith("unnamed:")
                or again.fullmatch(names[j])), len(names))
    block = names[start:end]
    return (start, end - start) if {"nom", "voix"} <= set(block) else None


def _text_blocks(text: str, where: str) -> pd.DataFrame | None:
    """A Ministry CSV with candidate blocks (side by side or one row per candidate) as one row per
    station, or None when its header has no block (:func:`candidate_block`)."""
    records = list(_records(text))
    if not records or candidate_block(records[0][1]) is None:
        return None
    header = records[0][1]
    width = max(len(r) for _, r in records)
    frame = pd.DataFrame([r + [None] * (width - len(r)) for _, r in records[1:]], dtype="string")
    lines = np.array([n for n, _ in records[1:]])
    return _blocks_to_columns(header, frame, lines, where)


def _records(text: str):
    """(line number, fields) of each non-blank CSV record, the separator sniffed on the header."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        return
    reader = csv.reader(io.StringIO(text), dialect)
    for record in reader:
        if record:
            yield reader.line_num, record


def candidates_as_columns(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """A table with candidate blocks (:func:`candidate_block`) as one row per station; others unchanged."""
    if candidate_block(table.columns) is None:
        return table.copy()
    frame = pd.DataFrame(table.astype("string").to_numpy(dtype=object), dtype="string")
    return _blocks_to_columns([str(c) for c in table.columns], frame, np.arange(len(table)) + 2, where)


def _blocks_to_columns(header, frame: pd.DataFrame, lines: np.ndarray, where: str) -> pd.DataFrame:
    """One row per station, its totals once and one column of votes per candidate.

    ``frame``: the data rows, padded with None; ``lines``: their line numbers. A
    candidate's column is named ``NOM Prénom`` (``Nom`` without a ``Prénom``), the
    columns ordered by panel number, then name. Rows of one station (the long layout)
    must agree on every station column; a row cut inside a block is refused.
    """
    start, width = candidate_block(header)
    names = [_norm(h) for h in header[start:start + width]]
    _check_block_rows(frame, start, width, lines, where)
    n_blocks = (frame.shape[1] - start) // width
    stations = frame.iloc[:, :start].set_axis([str(h) for h in header[:start]], axis=1)
    check_unique_columns(list(stations.columns), where)
    group = _station_groups(stations, lines, where)
    parts = [frame.iloc[:, start + k * width:start + (k + 1) * width].set_axis(names, axis=1).assign(station=group)
             for k in range(n_blocks)]
    votes = pd.concat(parts, ignore_index=True)
    votes = votes[votes[names].fillna("").apply(lambda c: c.str.strip() != "").any(axis=1)]  # no candidate
    wide = _candidate_columns(votes, where)
    first = stations.groupby(group, sort=False).head(1).set_index(group[~pd.Series(group).duplicated().to_numpy()])
    out = first.join(wide).reset_index(drop=True)
    return out.astype("string")


def _check_block_rows(frame: pd.DataFrame, start: int, width: int, lines: np.ndarray, where: str) -> None:
    """Refuse a row shorter than the station columns, or whose candidate fields do not fill whole blocks."""
    present = frame.notna().to_numpy()
    text = frame.fillna("").apply(lambda c: c.str.strip() != "").to_numpy()
    last = lambda m: np.where(m.any(axis=1), m.shape[1] - np.argmax(m[:, ::-1], axis=1), 0)  # noqa: E731
    length, used = last(present), last(text)
    whole = start + (np.maximum(length - start, 0) // width) * width
    # a trailing separator leaves empty fields after the last whole block: not a cut block
    bad = (length < start) | (((length - start) % width != 0) & (used > whole))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where}: line {lines[i]} has {int(length[i])} fields, not the {start} station fields "
                         f"followed by whole candidate blocks of {width}; fix that line (a field too many or "
                         "missing)")


def _station_groups(stations: pd.DataFrame, lines: np.ndarray, where: str) -> np.ndarray:
    """The station of each row (0, 1, … in order of first appearance); refused when its rows disagree.

    A station is named by the Ministry's code columns, or an id column of
    :data:`RESULT_ID_FIELDS`; without either, by all its columns.
    """
    lower = {_norm(c): c for c in stations.columns}
    keys = [lower[f] for f in MINISTRY_CODE_FIELDS if f in lower]
    if len(keys) < len(MINISTRY_CODE_FIELDS):
        keys = [lower[f.lower()] for f in RESULT_ID_FIELDS if f.lower() in lower][:1] or list(stations.columns)
    key_text = stations[keys].fillna("").apply(lambda c: c.str.strip()).agg("\x1f".join, axis=1)
    group = pd.factorize(key_text)[0]
    others = [c for c in stations.columns if c not in keys]
    if others:
        values = stations[others].fillna("").apply(lambda c: c.str.strip())
        differ = values.groupby(group).transform("nunique") > 1
        if differ.any().any():
            col = differ.columns[differ.any().to_numpy()][0]
            rows = np.flatnonzero(differ[col].to_numpy())
            same = rows[group[rows] == group[rows[0]]]
            vals = values[col].to_numpy()[same]
            j = int(same[np.flatnonzero(vals != vals[0])[0]])
            station = " / ".join(str(v) for v in stations[keys].iloc[same[0]])
            raise InputError(f"{where}: station {station[:60]} has {col} {vals[0][:20]!r} on line {lines[same[0]]} "
                             f"and {values[col].iloc[j][:20]!r} on line {lines[j]}; give each station's totals once, "
                             "the same on each of its rows")
    return group


def _candidate_columns(votes: pd.DataFrame, where: str) -> pd.DataFrame:
    """Votes by station (rows) and candidate (columns ``NOM Prénom``, by panel number then name)."""
    nom = votes["nom"].fillna("").str.strip()
    prenom = votes["prénom"].fillna("").str.strip() if "prénom" in votes.columns else pd.Series("", index=votes.index)
    name = (nom + " " + prenom).str.strip()
    if (name == "").any():
        raise InputError(f"{where}: a candidate block has no Nom; every candidate block needs a name")
    panel_col = next(c for c in votes.columns if c in PANEL_FIELDS)
    panel = pd.to_numeric(votes[panel_col].str.strip(), errors="coerce").fillna(np.inf)
    table = pd.DataFrame({"station": votes["station"].to_numpy(), "name": name.to_numpy(),
                          "panel": panel.to_numpy(), "voix": votes["voix"].str.strip().to_numpy()})
    twice = table.duplicated(["station", "name"], keep=False)
    if twice.any():
        raise InputError(f"{where}: candidate {table['name'][twice].iloc[0][:40]!r} appears twice for one station; "
                         "give each candidate once per station")
    order = table.groupby("name")["panel"].min().reset_index().sort_values(["panel", "name"])["name"].tolist()
    wide = table.pivot(index="station", columns="name", values="voix")
    return wide.reindex(columns=order)


def _csv_bytes(path: Path) -> bytes:
    """The bytes of a results CSV: a ``.gz`` decompressed with its expansion capped; other compressions refused."""
    ending = path.suffix.lower()
    if ending in UNBOUNDED_COMPRESSIONS:
        raise InputError(f"results file {path} is compressed as {ending}, which boundaries does not read "
                         "(it cannot cap how much it expands); decompress it, or gzip it, and give that file "
                         f"as {option('results')}")
    if is_gzip(path):
        with Inflated(path, "results file") as raw:
            return raw.read()
    return path.read_bytes()


def _check_fields(path: Path, text: str) -> None:
    """Refuse a CSV line with more or fewer fields than the header: pandas would shift or pad it silently.

    ``text``: the file's decoded text. The separator is sniffed as pandas does (``sep=None``:
    :class:`csv.Sniffer` on the first line).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as read_text's universal newlines
    first = text.split("\n", 1)[0]
    if not first.strip():
        return  # pandas says the file is empty
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        return  # one column: nothing to shift
    reader = csv.reader(io.StringIO(text), dialect)
    width = None
    for record in reader:
        if not record:
            continue  # a blank line: skipped by pandas too
        if width is None:
            width = len(record)
            check_unique_columns(record, f"results file {path}")
        elif len(record) != width:
            raise InputError(f"results file {path}: line {reader.line_num} has {len(record)} fields, the header "
                             f"{width}; fix that line (a separator too many or missing, an unclosed quote)")


def _as_numbers(values: pd.Series, where: str = "results table") -> pd.Series:
    """A column of numbers as numbers (``12,5`` French decimals too), anything else as text.

    A number that is not finite, or a whole number beyond the 64-bit integers, is refused
    (it would be written as another number).
    """
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    if not present.any():
        return values
    for candidate in (text, text.str.replace(",", ".", regex=False)):
        numbers = pd.to_numeric(candidate.where(present), errors="coerce")
        if numbers[present].notna().all():
            _check_range(numbers, present, values, where)
            whole = (numbers[present] == numbers[present].round()).all()
            return numbers.astype("Int64") if whole else numbers.astype("Float64")
    return values


#: Public name of :func:`_as_numbers` (``crosswalk`` carries the columns it makes numbers).
as_numbers = _as_numbers


def _check_range(numbers: pd.Series, present: pd.Series, values: pd.Series, where: str) -> None:
    """Refuse infinities, and whole numbers outside int64 (1e23 would become -9.2e18).

    Integers pandas parsed as int64 are in range: they are not checked through
    floats, which would round 9223372036854775296 up to 2**63 and refuse it.
    """
    if pd.api.types.is_signed_integer_dtype(numbers.dtype):
        return
    as_float = numbers.astype("float64").to_numpy(na_value=np.nan)
    bad = ~np.isfinite(as_float)
    whole = np.isfinite(as_float) & (as_float == np.round(as_float))
    if whole[present.to_numpy(dtype=bool)].all():
        bad |= np.abs(as_float) >= 2.0 ** 63
    bad &= present.to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where}: column {values.name!r}, data row {i + 1} holds {str(values.iloc[i])[:40]!r}, "
                         "not a number a station layer can hold (infinite, or beyond ±9.2e18); correct it")


def results_id_field(table: pd.DataFrame, id_field: str | None = None) -> str:
    """The results table's station-id column: ``id_field``, else the first of :data:`RESULT_ID_FIELDS`."""
    lower = {str(c).lower(): c for c in table.columns}
    field = id_field if id_field in table.columns else None
    if field is None and not id_field:
        field = next((lower[f.lower()] for f in RESULT_ID_FIELDS if f.lower() in lower), None)
    if field is None:
        raise InputError(
            f"results table has no station-id column (looked for {id_field or ', '.join(RESULT_ID_FIELDS)}; "
            f"columns: {', '.join(map(str, table.columns[:12]))}); name it with {option('results_id')}"
        )
    return field


def with_station_ids(table: pd.DataFrame, id_field: str | None = None,
                     where: str = "results table") -> tuple[pd.DataFrame, str]:
    """The table and its station-id column; a Ministry table as published gets one composed.

    With no id column (nor ``id_field``) but the Ministry's three code columns
    (:data:`MINISTRY_CODE_FIELDS`, any case), ``codeBureauVote`` is composed as
    :func:`ministry_station_ids` says and replaces them.
    """
    lower = {str(c).strip().lower(): c for c in table.columns}
    known = any(f.lower() in lower for f in RESULT_ID_FIELDS)
    if id_field or known or not all(f in lower for f in MINISTRY_CODE_FIELDS):
        return table, results_id_field(table, id_field)
    columns = [lower[f] for f in MINISTRY_CODE_FIELDS]
    ids = ministry_station_ids(*(table[c] for c in columns), where=where)
    return table.drop(columns=columns).assign(codeBureauVote=ids), "codeBureauVote"


def ministry_station_ids(departement: pd.Series, commune: pd.Series, station: pd.Series,
                         where: str = "results table") -> np.ndarray:
    """``{INSEE commune}_{station}`` from the Ministry's département, commune and station codes.

    The commune code is the département's (``75``, ``2A``, ``971``; the letter codes
    ``ZA`` … ``ZM`` of older files as their numbers) followed by the commune's number
    within it, zero-padded (``56`` → ``75056``, ``1`` in ``971`` → ``97101``). A code
    that does not have this form is refused, naming its data row.
    """
    dep = departement.astype("string").str.strip().str.upper().replace(MINISTRY_OVERSEAS)
    com = commune.astype("string").str.strip()
    num = station.astype("string").str.strip()
    width = 5 - dep.str.len()
    ok = (dep.str.fullmatch(r"\d{2}|2[AB]|97\d") & com.str.fullmatch(r"\d{1,3}") & num.str.fullmatch(r"\w{1,8}")
          ).fillna(False).astype(bool) & (com.str.len() <= width).fillna(False).astype(bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok.to_numpy())[0])
        shown = " / ".join(repr(str(v.iloc[i])[:12]) for v in (departement, commune, station))
        raise InputError(f"{where}: data row {i + 1} has département / commune / station codes {shown}, "
                         "not the Ministry's form (e.g. 75 / 56 / 101); correct that row, or give a "
                         f"station-id column named with {option('results_id')}")
    padded = [c.str.zfill(int(w)) for w, c in ((2, com[width == 2]), (3, com[width == 3]))]
    commune_code = dep + pd.concat(padded).reindex(com.index)
    return (commune_code + "_" + num).to_numpy(dtype=object)


def result_names(table: pd.DataFrame, field: str, station_columns, where: str = "results table") -> dict:
    """Each results column (but the id) and the name it takes on the stations; refused when they cannot all fit.

    A name the stations already use gets ``_results`` (documented); one that would
    still meet a station field, ``fid`` or another results column in another case
    (``ID_BV`` beside ``id_bv``: GeoPackage and shapefile names ignore case), or too
    many columns or too long a name, is refused in one line naming them.
    """
    extra = [c for c in table.columns if c != field]
    renamed = {c: (f"{c}_results" if c in station_columns else str(c)) for c in extra}
    taken = {str(s).lower(): str(s) for s in [*station_columns, *RESERVED_FIELDS]}
    clash, seen = [], {}
    for c, name in renamed.items():
        other = taken.get(name.lower()) or seen.get(name.lower())
        if other is not None or not name.strip():
            clash.append(f"{c!r} (no name)" if other is None else f"{c!r} (reserved)"
                         if other.lower() in RESERVED_FIELDS and other.lower() == name.lower()
                         and other not in seen.values() else f"{c!r} (beside {other!r})")
        seen[name.lower()] = str(c)
    if clash:
        raise InputError(f"{where}: columns {', '.join(clash[:5])} would meet another field once written "
                         "(names are compared ignoring case; fid is the GeoPackage's own); rename them")
    long = [str(c)[:40] + "…" for c in extra if len(str(c)) > MAX_NAME_CHARS]
    if len(extra) > MAX_RESULT_COLUMNS or long:
        raise InputError(f"{where}: {len(extra):,} columns" + (f", {len(long)} named with over {MAX_NAME_CHARS} "
                         f"characters (e.g. {long[0]!r})" if long else "") + f"; keep at most "
                         f"{MAX_RESULT_COLUMNS:,} columns of at most {MAX_NAME_CHARS} characters")
    return renamed


def result_keys(table: pd.DataFrame, field: str) -> np.ndarray:
    """The key of each results row (:func:`boundaries.codes.results_key`; refused when two rows name one station)."""
    key = codes.results_key(table[field].astype("string").to_numpy(dtype=object, na_value=""))
    twice = pd.Series(key).duplicated(keep=False).to_numpy()
    if twice.any():
        dup = sorted(set(map(str, pd.Series(table[field])[twice])))
        raise InputError(f"results table has several rows for station {', '.join(dup[:5])}"
                         f"{' and more' if len(dup) > 5 else ''}; give one row per station")
    return key


def check_results(source, id_field: str | None = None) -> None:
    """Check a results table before a build: readable, one id column, one row per station, columns that fit.

    The same checks :func:`join_results` makes, made before the build, so a bad
    results file is refused before it, not after.
    """
    from .stations import STATION_COLUMNS

    table = read_results(source)
    if len(table) == 0:
        raise InputError(f"results table is empty (no data row); check {option('results')}")
    where = _where(source)
    table, field = with_station_ids(table, id_field, where)
    result_keys(table, field)
    result_names(table, field, [*STATION_COLUMNS, "geometry"], where)
    for c in table.columns:
        if c != field:
            _as_numbers(table[c], where)


def _where(source) -> str:
    return "results table" if isinstance(source, pd.DataFrame) else f"results file {source}"


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
        :func:`match_stats`: ``results_rows``, ``matched_stations``, the
        stations without a result and the results rows without a station, each
        counted and listed (up to :data:`MAX_LISTED_IDS` ids), and ``id_field``.

    Raises
    ------
    InputError
        An unreadable table, a row with more or fewer fields than the header, no
        id column, two rows for one station, columns that would meet the stations'
        fields, a number no layer can hold; two stations of ``stations`` with one id;
        or no station matched by any row (:func:`refuse_no_match`).
    """
    table = read_results(results)
    if len(table) == 0:
        raise InputError(f"results table is empty (no data row); check {option('results')}")
    table, field = with_station_ids(table, id_field, _where(results))
    key = result_keys(table, field)
    renamed = result_names(table, field, list(stations.columns), _where(results))
    extra = list(renamed)
    table = table.assign(**{c: _as_numbers(table[c], _where(results)) for c in extra})
    right = table[extra].rename(columns=renamed)
    right.index = key
    st_key = codes.results_key(stations["id_bv"].to_numpy(dtype=object))
    twice = pd.Series(st_key).duplicated()
    if twice.any():
        raise InputError(f"the station layer has two stations {st_key[twice.to_numpy()][0]}: a result would be "
                         "copied onto both; give one feature per station")
    refuse_no_match(st_key, stations["id_bv"], key, table[field], _where(results))
    joined = right.reindex(st_key)
    out = stations.copy()
    for c in joined.columns:
        # the column's own array: ``to_numpy`` would turn Int64 with a gap into float64 (613 -> 613.0)
        out[c] = joined[c].array
    return out, match_stats(field, st_key, stations["id_bv"], key)


def refuse_no_match(st_key, st_ids, key, result_ids, where: str) -> None:
    """Refuse a join in which no results row names a station: the ids are of another form.

    ``st_key``, ``key``: the keys of the stations and of the results rows
    (:func:`boundaries.codes.results_key`); ``st_ids``, ``result_ids``: the ids as given,
    one of each side shown in the one-line message so the user sees how they differ.
    """
    found = np.isin(np.asarray(key, dtype=object), np.asarray(st_key, dtype=object))
    if len(st_key) == 0 or len(key) == 0 or found.any():
        return
    ours = next((str(v) for v in np.asarray(st_ids, dtype=object) if not pd.isna(v) and str(v)), "(none)")
    theirs = next((str(v) for v in np.asarray(result_ids, dtype=object) if not pd.isna(v) and str(v)), "(none)")
    raise InputError(f"{where}: no results row matches a station (results ids like {theirs[:40]!r}, station ids "
                     f"like {ours[:40]!r}); give the results' station-id column with {option('results_id')}, or "
                     "write its ids {commune}_{station} as the stations' (94028_12 and 94028_0012 match)")


def match_stats(field: str, st_key: np.ndarray, st_ids, key: np.ndarray) -> dict:
    """How the stations and the results rows matched, for the report's ``results`` section.

    Parameters
    ----------
    field : str
        The results' station-id column.
    st_key, key : numpy.ndarray
        The canonical ids of the stations and of the results rows.
    st_ids : array-like
        The stations' ``id_bv`` as the layer gives them (listed as they are).

    Returns
    -------
    dict
        The counts, then on each side the unmatched ids, sorted, at most
        :data:`MAX_LISTED_IDS` (``*_ids``), and how many more were left out (``*_unlisted``).
    """
    matched = np.isin(st_key, key)
    missing = sorted(map(str, np.asarray(st_ids, dtype=object)[~matched]))
    orphans = sorted(map(str, np.setdiff1d(np.asarray(key, dtype=str), np.asarray(st_key, dtype=str))))
    return {
        "id_field": field,
        "results_rows": int(len(key)),
        "matched_stations": int(matched.sum()),
        "stations_without_result": len(missing),
        "results_without_station": len(orphans),
        "results_without_station_ids": orphans[:MAX_LISTED_IDS],
        "results_without_station_unlisted": max(len(orphans) - MAX_LISTED_IDS, 0),
        "stations_without_result_ids": missing[:MAX_LISTED_IDS],
        "stations_without_result_unlisted": max(len(missing) - MAX_LISTED_IDS, 0),
    }
