"""Street-aware seeds: the addresses themselves trace each street side.

In France a station is a list of streets and house-number ranges, often by side
(even/odd). ``geo_adresse`` gives each address its street and number; the
addresses of one street side, in number order, trace that side's frontage. Where
consecutive addresses of a side belong to the same station, points interpolated
between them extend the station along the frontage, so that Voronoi borders fall
between stations' frontages (on the street axis, between two sides) instead of
cutting across a row of houses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: ``12 Rue de la Paix 29900 Concarneau``, ``2 BIS Rue Maire 94700 …``, ``28 B Rue de Mars …``
#: (RE2 syntax, run by Arrow over the whole column: ``[^\pL\pN_]|$`` is the end of a
#: word, ``[\s\pZ]`` any space, no-break ones included.) The reference grammar: what
#: :func:`parse_addresses` computes, mostly without running it (see there).
_ADDRESS_RE = (
    r"^[\s\pZ]*(?P<number>\d{1,5})[\s\pZ]*"
    r"(?:(?:bis|ter|quater|quinquies|[a-z])(?:[^\pL\pN_]|$))?"
    r"[\s\pZ]*(?P<street>.+?)[\s\pZ]+\d{5}(?:[^\pL\pN_]|$)"
)
#: The grammar in three parts matched apart: capturing its lazy street group costs RE2
#: about 3 µs per address (16 M in a national table), and so do its Unicode classes
#: in any capturing match; a plain (DFA) match or a short capture is ten times cheaper.
_NUMBER_RE = r"^(?P<head>[\s\pZ]*(?P<number>\d{1,5})[\s\pZ]*)"
_SUFFIX_RE = r"^(?:bis|ter|quater|quinquies|[a-z])(?:[^\pL\pN_]|$)"
_SUFFIX_HEAD_RE = r"^(?P<head>(?:bis|ter|quater|quinquies|[a-z])(?:[^\pL\pN_]|$)[\s\pZ]*)"
_POSTCODE_RE = r"[\s\pZ]+\d{5}(?:[^\pL\pN_]|$)"
#: A street needing its spaces made single: two in a row, or one that is not " ".
_ODD_SPACE_RE = r"[\s\pZ][\s\pZ]|[\t\n\f\r\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
#: Rows parsed per batch: small arrays, reused by the allocator instead of fresh pages.
_BATCH_ROWS = 1 << 16


def parse_addresses(text: pd.Series) -> pd.DataFrame:
    """House number and street of each ``geo_adresse`` (NaN/None when it has no number).

    The grammar is :data:`_ADDRESS_RE`, computed without running it on most rows: the
    street is cut out by byte offsets, from the end of the head (number, suffix,
    spaces) to the first postcode after it. Rows where that shortcut cannot be sure to
    agree with the grammar (a postcode inside the head, a line break) are parsed by
    the full regex. About 0.6 µs per address.

    Returns
    -------
    pandas.DataFrame
        ``number`` (float) and ``street`` (lower-cased, single-spaced).
    """
    import pyarrow as pa

    values = pa.array(text.astype("string")).cast(pa.large_string())
    if isinstance(values, pa.ChunkedArray):  # pandas' Arrow-backed strings
        values = values.combine_chunks()
    number, street = [], []
    for lo in range(0, max(len(values), 1), _BATCH_ROWS):
        n, s = _parse_batch(values[lo: lo + _BATCH_ROWS])
        number.append(n)
        street.append(s)
    return pd.DataFrame({"number": np.concatenate(number), "street": np.concatenate(street)})


def _offsets(found) -> np.ndarray:
    """An Arrow integer column as int64 offsets, -1 for null."""
    out = found.to_numpy(zero_copy_only=False)
    return np.where(np.isnan(out), -1, out).astype(np.int64) if out.dtype.kind == "f" else out.astype(np.int64)


def _parse_batch(values) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    low = pc.utf8_lower(values)
    length = _offsets(pc.binary_length(low))
    head = pc.extract_regex(low, _NUMBER_RE)
    head_end = _offsets(pc.binary_length(pc.struct_field(head, "head")))
    number = pc.cast(pc.struct_field(head, "number"), pa.float64()).to_numpy(zero_copy_only=False)
    # a suffix (bis, ter, a letter) ends the head where it stands alone: a cheap match
    # finds those rows, a capture measures them
    rest = _byte_slices(low, head_end, length)
    suffixed = np.flatnonzero(pc.fill_null(pc.match_substring_regex(rest, _SUFFIX_RE), False)
                              .to_numpy(zero_copy_only=False))
    if len(suffixed):
        more = pc.extract_regex(rest.take(pa.array(suffixed)), _SUFFIX_HEAD_RE)
        head_end[suffixed] += _offsets(pc.binary_length(pc.struct_field(more, "head")))
    postcode = _offsets(pc.find_substring_regex(low, _POSTCODE_RE))
    # the lazy street ends at the first postcode after the head (at least one character)
    ok = (head_end >= 0) & (postcode > head_end)
    unsure = (head_end >= 0) & (postcode >= 0) & (postcode <= head_end)
    unsure |= pc.fill_null(pc.match_substring(low, "\n"), False).to_numpy(zero_copy_only=False)
    number = np.where(ok, number, np.nan)
    cut = _byte_slices(low, np.where(ok, head_end, -1), postcode)
    street = pc.utf8_trim_whitespace(cut).to_numpy(zero_copy_only=False)  # object array
    odd = np.flatnonzero(pc.fill_null(pc.match_substring_regex(cut, _ODD_SPACE_RE), False)
                         .to_numpy(zero_copy_only=False))
    if len(odd):
        street[odd] = _single_spaced(cut.take(pa.array(odd)))
    if unsure.any():
        idx = np.flatnonzero(unsure)
        full = pc.extract_regex(low.take(pa.array(idx)), _ADDRESS_RE)
        number[idx] = pc.cast(pc.struct_field(full, "number"), pa.float64()).to_numpy(zero_copy_only=False)
        street[idx] = _single_spaced(pc.struct_field(full, "street"))
    return number, street


def _single_spaced(street) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.utf8_trim_whitespace(pc.replace_substring_regex(street, r"[\s\pZ]+", " ")).to_numpy(zero_copy_only=False)


def _byte_slices(values, start: np.ndarray, stop: np.ndarray):
    """``values[i][start[i]:stop[i]]`` in bytes, as a new Arrow array; null where ``start < 0``.

    Arrow slices strings by one start and stop for the whole column only; here each
    row has its own, so the bytes are gathered with numpy from the column's buffers.
    """
    import pyarrow as pa

    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset: values.offset + len(values) + 1]
    # a slice of a bigger array shares its buffers: keep to this slice's bytes
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    offsets = offsets - offsets[0]
    keep = start >= 0
    some = keep & (stop > start)
    first = offsets[:-1][some] + start[some]
    last = offsets[:-1][some] + stop[some]
    # a byte mask of the kept ranges (disjoint, one per row) by a running sum of +1/-1 marks
    marks = np.zeros(len(data) + 1, dtype=np.int8)
    marks[first] += 1
    marks[last] -= 1
    kept = data[np.cumsum(marks[:-1], dtype=np.int8).view(bool)]
    new_offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.where(some, stop - start, 0), out=new_offsets[1:])
    validity = pa.array(keep).buffers()[1]
    return pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(new_offsets), pa.py_buffer(kept),
                                            validity, int((~keep).sum()))


def frontage_seeds(rows: pd.DataFrame, step_m: float, max_gap_m: float) -> pd.DataFrame:
    """Points between consecutive same-station addresses of each street side.

    Parameters
    ----------
    rows : pandas.DataFrame
        Used rows with ``unit``, ``station_key``, ``px``, ``py``, ``number``, ``street``.
    step_m : float
        Spacing of the interpolated points.
    max_gap_m : float
        Two consecutive addresses farther apart than this are not joined (a gap in
        the numbering, a bend, another station's houses between them).

    Returns
    -------
    pandas.DataFrame
        ``unit``, ``station_key``, ``sx``, ``sy`` of the interpolated points.
    """
    empty = pd.DataFrame({"unit": [], "station_key": [], "sx": [], "sy": []})
    ok = rows["number"].notna() & rows["street"].notna()
    if step_m <= 0 or not ok.any():
        return empty
    ok = ok.to_numpy()
    # the string keys as integer codes in their sorted order: grouped, sorted and compared
    # as numbers, in the same order as the strings
    unit, unit_names = pd.factorize(rows["unit"].to_numpy(dtype=object)[ok], sort=True)
    street = pd.factorize(rows["street"].to_numpy(dtype=object)[ok], sort=True)[0]
    key, key_names = pd.factorize(rows["station_key"].to_numpy(dtype=object)[ok], sort=True)
    number = rows["number"].to_numpy(dtype=float)[ok]
    r = pd.DataFrame({"unit": unit, "street": street, "side": (number % 2).astype(np.int8), "number": number,
                      "station_key": key, "px": rows["px"].to_numpy(dtype=float)[ok],
                      "py": rows["py"].to_numpy(dtype=float)[ok]})
    # one point per house: the mean position of its rows, for its station
    houses = (
        r.groupby(["unit", "street", "side", "number", "station_key"], sort=True)[["px", "py"]].mean().reset_index()
    )
    same_side = (
        (houses["unit"].to_numpy()[1:] == houses["unit"].to_numpy()[:-1])
        & (houses["street"].to_numpy()[1:] == houses["street"].to_numpy()[:-1])
        & (houses["side"].to_numpy()[1:] == houses["side"].to_numpy()[:-1])
    )
    same_station = houses["station_key"].to_numpy()[1:] == houses["station_key"].to_numpy()[:-1]
    # a house number held by two stations breaks the side: no joining across it
    distinct_numbers = houses["number"].to_numpy()[1:] != houses["number"].to_numpy()[:-1]
    x, y = houses["px"].to_numpy(), houses["py"].to_numpy()
    dx, dy = x[1:] - x[:-1], y[1:] - y[:-1]
    dist = np.hypot(dx, dy)
    join = same_side & same_station & distinct_numbers & (dist <= max_gap_m) & (dist > step_m)
    start = np.flatnonzero(join)
    if len(start) == 0:
        return empty
    n_new = np.floor(dist[start] / step_m).astype(np.int64)  # points strictly inside the segment
    n_new = np.where(dist[start] / step_m == n_new, n_new - 1, n_new)
    seg = np.repeat(start, n_new)
    k = np.arange(n_new.sum()) - np.repeat(np.cumsum(n_new) - n_new, n_new) + 1
    t = k * step_m / dist[seg]
    return pd.DataFrame(
        {
            "unit": np.asarray(unit_names, dtype=object)[houses["unit"].to_numpy()[seg]],
            "station_key": np.asarray(key_names, dtype=object)[houses["station_key"].to_numpy()[seg]],
            "sx": x[seg] + t * dx[seg],
            "sy": y[seg] + t * dy[seg],
        }
    )
