"""Read address tables and commune outlines into the package's canonical frames.

Addresses become a :class:`pandas.DataFrame` with the columns

``row`` (position in the file), ``commune``, ``station`` (codes, as strings),
``x``, ``y`` (floats in the table's CRS, NaN when missing), ``geo_type``,
``address`` (``geo_adresse``), ``geo_score``, ``weight`` (``nb_adresses``, 1 when absent) and
``station_problem`` (why the station id is unusable, else None: see
:func:`boundaries.codes.qualify_stations`);

outlines a :class:`geopandas.GeoDataFrame` with ``code``, ``nom`` and the geometry,
one row per commune code.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .codes import qualify_stations, repair_lost_zero
from .errors import InputError, option

#: Column names of the INSEE REU address table.
REU_COLUMNS = {
    "station": "id_brut_bv_reu",
    "commune": "code_commune_ref",
    "x": "longitude",
    "y": "latitude",
    "geo_type": "geo_type",
    "geo_score": "geo_score",
    "weight": "nb_adresses",
}
#: The optional columns an address table is read for.
OPTIONAL_COLUMNS = ("geo_type", "geo_adresse", "geo_score", "nb_adresses")
#: Other names accepted for the coordinates when the REU names are absent.
_X_ALIASES = ("longitude", "lon", "lng", "long", "x")
_Y_ALIASES = ("latitude", "lat", "y")
#: Fields accepted as the commune code of an outline file (case-insensitive), in order.
COMMUNE_FIELDS = ("code", "code_insee", "insee_com", "insee", "codgeo", "insee_arm")
NAME_FIELDS = ("nom", "nom_com", "name", "libelle", "libgeo", "nom_commune")
#: Fields accepted as the département name of an outline file (case-insensitive), in order.
DEPARTEMENT_NAME_FIELDS = ("nom_dep", "nom_departement", "libelle_departement", "dep_name", "nom_dept")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml", ".sqlite")


@dataclass(frozen=True)
class AddressColumns:
    """Which input columns hold what. ``None`` means: the REU name, or a known alias."""

    station: str | None = None
    commune: str | None = None
    x: str | None = None
    y: str | None = None


#: Input paths that would make GDAL or pyarrow read from the network or through a virtual
#: file system: refused (inputs are local files only).
_REMOTE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|/vsi[a-z0-9_]*/?|[a-z][a-z0-9_]+:(?!\\))", re.IGNORECASE)
#: Longest line accepted in a CSV address table (bytes; a REU row is about 200).
MAX_LINE_BYTES = 1 << 20
#: Longest field accepted in an address table (characters; ``geo_adresse`` is under 200).
MAX_FIELD_CHARS = 1 << 16
#: Largest ratio of decompressed to compressed bytes accepted in a ``.gz`` table (a count: bytes
#: per byte). A REU CSV export gzips 5–15× (Val-de-Marne's: 9.8×); a file expanding 200 times
#: more than it weighs is a decompression bomb (gzip reaches about 1,000× on repeated text).
MAX_INFLATE_RATIO = 200
#: Decompressed bytes read before :data:`MAX_INFLATE_RATIO` applies: the ratio of a small
#: file (a header and a few rows) means nothing.
INFLATE_CHECK_AFTER_BYTES = 8 << 20
#: Most rows accepted per byte of a Parquet file (a count per byte). Real address rows hold
#: coordinates that do not compress: over 10 bytes a row; far more rows than bytes are
#: repeated values a few bytes describe (a bomb), which would fill memory once read.
MAX_PARQUET_ROWS_PER_BYTE = 1
#: Rows of a Parquet file below which :data:`MAX_PARQUET_ROWS_PER_BYTE` does not apply.
PARQUET_CHECK_AFTER_ROWS = 1_000_000


def check_local_path(source, what: str, option: str) -> None:
    """Refuse URLs (``http://``, ``s3://``…), GDAL virtual paths (``/vsicurl/``…) and
    connection strings (``PG:``, ``WFS:``): the tool reads local files only, never the network."""
    raw = os.fspath(source) if isinstance(source, (str, os.PathLike)) else str(source)
    if _REMOTE_RE.match(raw) and not Path(raw).exists():
        raise InputError(
            f"{what} {raw!r} is a URL or a GDAL virtual path: boundaries reads local files only "
            f"(download it first, then give its path as {option})"
        )


def check_file(path: Path, what: str, flag: str) -> None:
    """Refuse a missing, folder or unreadable input file, in one line naming ``flag``."""
    check_local_path(path, what, flag)
    if not path.exists():
        raise InputError(f"{what} file not found: {path} (check the path given as {flag})")
    if path.is_dir():
        raise InputError(f"{what} path is a folder, not a file: {path} ({flag} takes a file)")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} file is not readable: {path} (check its permissions)")


def is_gzip(path) -> bool:
    """Whether a table is read through gzip (its name ends in ``.gz``)."""
    return Path(path).suffix.lower() == ".gz"


def check_inflation(path, decompressed: int, compressed: int, what: str = "address file") -> None:
    """Refuse a compressed table that expands more than :data:`MAX_INFLATE_RATIO` times (a bomb).

    ``decompressed``: bytes produced so far; ``compressed``: bytes of the file read to produce them;
    ``what``: how the message names the file (``results file``).
    """
    if decompressed > INFLATE_CHECK_AFTER_BYTES and decompressed > MAX_INFLATE_RATIO * max(compressed, 1):
        raise InputError(
            f"{what} {path} expands more than {MAX_INFLATE_RATIO}× when decompressed "
            f"({decompressed >> 20:,} MiB from the first {max(compressed, 1) >> 10:,} KiB; a "
            + ("REU export expands 5 to 15×): a decompression bomb, or not an address table" if what == "address file"
               else "table of text expands under 20×): a decompression bomb")
            + "; if it is genuine, decompress it yourself (gunzip) and give the .csv"
        )


def check_parquet_rows(path, where: str | None = None, fix: str = "give it as a plain CSV") -> None:
    """Refuse a Parquet file holding more than :data:`MAX_PARQUET_ROWS_PER_BYTE` rows per byte (a bomb).

    ``where`` names the file in the message (default: ``address file PATH``); ``fix`` says
    what to give instead.
    """
    import pyarrow.parquet as pq

    rows, size = pq.ParquetFile(path).metadata.num_rows, os.path.getsize(path)
    if rows > PARQUET_CHECK_AFTER_ROWS and rows > MAX_PARQUET_ROWS_PER_BYTE * size:
        what = "address table" if where is None else "layer"
        raise InputError(
            f"{where or f'address file {path}'} declares {rows:,} rows in {size:,} bytes, more than "
            f"{MAX_PARQUET_ROWS_PER_BYTE} per byte (a real row takes over 10): repeated values that would fill "
            f"memory once read, not an {what}; if it is genuine, {fix}"
        )


class Inflated(io.RawIOBase):
    """The decompressed bytes of a ``.gz`` file, read as a stream and checked by :func:`check_inflation`.

    Every reader of a gzipped table (Arrow's and pandas') reads through this, so a
    file that expands without bound fails after a few MiB, whatever reads it.
    """

    def __init__(self, path, what: str = "address file"):
        import gzip

        self.path, self.what = path, what
        self.raw = open(path, "rb")
        self.f = gzip.GzipFile(fileobj=self.raw, mode="rb")
        self.decompressed = 0

    def readable(self):
        return True

    @property
    def compressed(self) -> int:
        """Bytes of the compressed file read so far."""
        return self.raw.tell()

    def readinto(self, buffer):
        n = self.f.readinto(buffer)
        self.decompressed += n
        check_inflation(self.path, self.decompressed, self.raw.tell(), self.what)
        return n

    def close(self):
        if not self.closed:
            self.f.close()
            self.raw.close()
        super().close()


def sniff_text(path: Path) -> tuple[str, str, str]:
    """Return (encoding, separator, header line) of a CSV, gzipped or not."""
    import gzip

    opener = gzip.open if is_gzip(path) else open
    try:
        with opener(path, "rb") as f:
            head = f.read(64 * 1024)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read address file {path}: {exc}") from None
    if b"\x00" in head:
        raise InputError(
            f"address file {path} is not a text table (binary content); give a CSV, CSV.gz or Parquet file"
        )
    try:
        text = head.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a multi-byte character cut by the 64 KiB window
            text = head[: exc.start].decode("utf-8-sig")
            encoding = "utf-8-sig"
        else:
            text = head.decode("cp1252", errors="replace")
            encoding = "cp1252"
    header = text.splitlines()[0] if text.strip() else ""
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        sep = ","
    return encoding, sep, header


#: Rows per chunk when a CSV is filtered while read.
CSV_CHUNK_ROWS = 500_000

#: Bytes of CSV text Arrow's reader parses per batch (one batch of rows in memory at a time).
ARROW_CSV_BLOCK_BYTES = 1 << 24


def read_parquet_files(paths: list) -> pd.DataFrame:
    """Parquet files of one schema (the slices of a split table), joined in order, as :func:`read_table` reads one.

    Joined as Arrow tables before pandas sees them: the frame is the one a single
    file holding all their rows would give, dtypes included.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tables = [pq.read_table(p) for p in paths]
    except Exception as exc:  # pyarrow raises many kinds
        raise InputError(f"cannot read the split of the address table ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); delete the work folder's input-* "
                         "folders to split the table again") from None
    df = (tables[0] if len(tables) == 1 else pa.concat_tables(tables)).to_pandas()
    check_field_sizes(df, paths[0])
    return df


def read_table(path: Path, prefixes=None, commune_col: str = "code_commune_ref",
               communes=None) -> tuple[pd.DataFrame, str | None, int]:
    """Read a CSV(.gz)/Parquet table, or a point layer, as strings. Returns (frame, crs, rows skipped).

    With ``prefixes``, only rows whose ``commune_col`` starts with one of them are
    kept, filtered while reading (a table without that column is read whole); with
    ``communes`` too (a set of codes), only the rows of those communes.
    """
    if path.suffix.lower() in (".parquet", ".pq", ".geoparquet"):
        return _read_parquet(path, prefixes, commune_col, communes)
    if path.suffix.lower() in VECTOR_SUFFIXES:
        return read_point_layer(path)[:2] + (0,)
    df, skipped = _read_csv(path, prefixes, commune_col, communes)
    return df, None, skipped


def _prefix_filter(schema, prefixes, commune_col: str):
    """A pyarrow dataset filter: the commune code starts with one of ``prefixes``."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    import pyarrow as pa

    cond = None
    kind = schema.field(commune_col).type
    for p in prefixes:
        if p and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            # "29" ≤ code < "2:" is exactly "starts with 29", and a range is checked
            # against each row group's min/max: the others are never read
            field = ds.field(commune_col)
            c = (field >= p) & (field < p[:-1] + chr(ord(p[-1]) + 1))
        else:
            # a numeric column lost the leading zeros: 4112 is 04112
            text = ds.field(commune_col).cast(pa.string())
            c = pc.starts_with(pc.utf8_lpad(text, width=5, padding="0"), pattern=p)
        cond = c if cond is None else (cond | c)
    return cond


def _read_parquet(path: Path, prefixes, commune_col: str, communes=None) -> tuple[pd.DataFrame, str | None, int]:
    """A Parquet table (filtered by row group with ``prefixes``, by batch with ``communes``), or a GeoParquet point layer."""
    try:
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        skipped = 0
        schema = pq.read_schema(path)
        check_unique_columns(schema.names, f"address file {path}")
        check_parquet_rows(path)
        if prefixes and commune_col in schema.names and b"geo" not in (schema.metadata or {}):
            table = _filtered_parquet(path, _prefix_filter(schema, prefixes, commune_col), commune_col, communes)
            skipped = pq.ParquetFile(path).metadata.num_rows - table.num_rows
        else:
            table = pq.read_table(path)
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises many kinds
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"PAR1":
            raise InputError(f"address file {path} is not a Parquet file (it does not start with PAR1); "
                             "give a CSV, CSV.gz or Parquet table, or rename it to its real format") from None
        raise InputError(f"cannot read Parquet address file {path}: {msg}") from None
    df = table.to_pandas()
    check_field_sizes(df, path)
    if b"geo" in (table.schema.metadata or {}):
        import geopandas as gpd

        gdf = gpd.read_parquet(path)
        return _points_to_columns(gdf), (gdf.crs.to_string() if gdf.crs else None), skipped
    return df, None, skipped


def _filtered_parquet(path: Path, prefix_filter, commune_col: str, communes):
    """The rows of a Parquet file passing ``prefix_filter`` (row groups skipped by their statistics),
    and with ``communes``, of those communes only: filtered batch by batch, a département never whole."""
    import pyarrow.dataset as ds

    import pyarrow as pa

    dataset = ds.dataset(path, format="parquet")
    if not communes:
        return dataset.to_table(filter=prefix_filter)
    scanner = dataset.scanner(filter=prefix_filter)
    kept = [batch.filter(pa.array(_code_matches(_as_code(batch.column(commune_col).to_pandas()), (), communes)))
            for batch in scanner.to_batches()]
    return pa.Table.from_batches(kept, schema=scanner.projected_schema)


def _read_csv(path: Path, prefixes, commune_col: str, communes=None) -> tuple[pd.DataFrame, int]:
    """A CSV(.gz) table as strings, filtered with ``prefixes`` and ``communes``: (frame, rows skipped)."""
    header = csv_header(path)
    filtered = bool(prefixes) and commune_col in header
    try:
        # Arrow's reader first (threaded, several times faster); anything it finds odd
        # goes to the checked pandas reader below, which names the problem
        import pyarrow as pa

        batches, skipped = [], 0
        for batch in arrow_csv_batches(path, header):
            if filtered:
                keep = _code_matches(batch.column(commune_col).to_pandas(), prefixes, communes)
                skipped += int((~keep).sum())
                batch = batch.filter(pa.array(keep))
            batches.append(batch)
        schema = pa.schema([(c, pa.string()) for c in header])
        return pa.Table.from_batches(batches, schema=schema).to_pandas(), skipped
    except NotPlainCSV:
        pass
    kept, skipped = [], 0
    for chunk in csv_chunks(path):
        if filtered:
            keep = _code_matches(chunk[commune_col], prefixes, communes)
            skipped += int((~keep).sum())
            chunk = chunk.loc[keep]
        kept.append(chunk)
    return (pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=header)), skipped


def _code_matches(commune: pd.Series, prefixes, communes=None) -> np.ndarray:
    """Rows whose commune code (lost zero restored) starts with one of ``prefixes`` and, with
    ``communes``, is one of them; each distinct code looked at once."""
    which, distinct = pd.factorize(commune.fillna("").str.strip(), use_na_sentinel=False)
    if not len(distinct):
        return np.zeros(len(commune), dtype=bool)
    code, _ = repair_lost_zero(pd.Series(np.asarray(distinct, dtype=object), dtype="string"))
    code = code.fillna("")
    keep = code.str.startswith(tuple(prefixes)).to_numpy(dtype=bool) if prefixes else np.ones(len(code), dtype=bool)
    if communes:
        keep &= code.isin(list(communes)).to_numpy(dtype=bool)
    return keep[which]


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV(.gz) address table (InputError if it has none, or one name twice)."""
    _, sep, header = sniff_text(path)
    if not header.strip():
        raise InputError(f"address file {path} is empty: it needs a header line and rows")
    names = _split_header(header, sep)
    check_unique_columns(names, f"address file {path}")
    return names


def check_unique_columns(names, where: str, used=()) -> None:
    """Refuse a table with two columns of one name (``longitude`` twice): which one is meant cannot be told.

    ``used``: names the build reads, also refused twice in different cases (``Longitude``, ``LONGITUDE``).
    """
    used = {u.strip().lower() for u in used if u}
    seen: dict = {}
    for i, name in enumerate(map(str, names)):
        key = name.strip().lower() if name.strip().lower() in used else name.strip()
        if key in seen:
            raise InputError(f"{where} has two columns named {name!r} (columns {seen[key] + 1} and {i + 1}); "
                             "remove or rename one of them")
        seen[key] = i


class NotPlainCSV(Exception):
    """A CSV that Arrow's fast reader should leave to the checked one."""


def arrow_csv_batches(path: Path, header: list[str], read_bytes=None):
    """The rows of a plain CSV(.gz) as Arrow record batches of strings (raises :class:`NotPlainCSV`).

    ``read_bytes``, if given, is called after each batch with about how far into
    the file its rows reach, in bytes: a progress bar's position. For a plain file,
    the text of the rows parsed so far (fields, separators, line ends; quotes
    uncounted); for ``.gz``, the compressed bytes read, which Arrow's read-ahead
    keeps a few blocks in front of the rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    encoding, sep, _ = sniff_text(path)
    if len(set(header)) != len(header):
        raise NotPlainCSV("repeated column names")
    options = dict(
        read_options=pcsv.ReadOptions(column_names=header, skip_rows=1, block_size=ARROW_CSV_BLOCK_BYTES,
                                      encoding="utf8" if encoding.startswith("utf-8") else encoding),
        parse_options=pcsv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in header}, null_values=[""],
                                            strings_can_be_null=True, quoted_strings_can_be_null=True),
    )
    gz = is_gzip(path)
    try:
        with (Inflated(path) if gz else pa.OSFile(str(path))) as raw:
            parsed = 0  # the header line: a few hundred bytes, left out
            with pcsv.open_csv(raw, **options) as reader:
                for batch in reader:
                    for column in batch.columns:
                        lengths = pc.binary_length(column)
                        longest = pc.max(lengths).as_py()
                        if longest is not None and longest > MAX_FIELD_CHARS:
                            raise NotPlainCSV("a field over the size limit")
                        parsed += (pc.sum(lengths).as_py() or 0) + batch.num_rows  # + a separator or line end
                    if read_bytes is not None:
                        read_bytes(raw.compressed if gz else parsed)
                    yield batch
    except (pa.ArrowException, UnicodeError, OSError) as exc:
        raise NotPlainCSV(str(exc)) from None


def commune_column_batches(path: Path, column: str):
    """The values of one column of a CSV(.gz), a batch at a time (numpy arrays of strings or None).

    Arrow's reader parses that column alone; a file it finds odd is read by the
    checked reader. Nothing is yielded when the file has no such column.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    header = csv_header(path)
    if column not in header:
        return
    encoding, sep, _ = sniff_text(path)
    try:
        with (Inflated(path) if is_gzip(path) else pa.OSFile(str(path))) as raw, pcsv.open_csv(
                raw, read_options=pcsv.ReadOptions(
                column_names=header, skip_rows=1, block_size=ARROW_CSV_BLOCK_BYTES,
                encoding="utf8" if encoding.startswith("utf-8") else encoding),
                parse_options=pcsv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True,
                                                newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()},
                                                    strings_can_be_null=True)) as reader:
            for batch in reader:
                yield batch.column(0).to_numpy(zero_copy_only=False)
        return
    except (pa.ArrowException, UnicodeError, OSError):
        pass
    for chunk in csv_chunks(path):
        yield chunk[column].to_numpy(dtype=object)


def csv_chunks(path: Path):
    """A CSV(.gz) address table in chunks of :data:`CSV_CHUNK_ROWS` rows, every value a string.

    The encoding and separator are sniffed; each chunk is checked (line and field
    sizes) before it is yielded, and a file that cannot be parsed raises
    :class:`InputError` naming it. Memory stays about one chunk, whatever the file's size.
    """
    encoding, sep, header = sniff_text(path)
    if not header.strip():
        raise InputError(f"address file {path} is empty: it needs a header line and rows")
    options = dict(
        sep=sep,
        dtype=str,
        encoding=encoding,
        keep_default_na=False,
        na_values=[""],
        quoting=csv.QUOTE_MINIMAL,
        low_memory=False,
    )
    first_row = 0
    try:
        # Read through a guard on line length: a giant line or field is refused.
        with _LineLimited(path, is_gzip(path)) as raw, \
                pd.read_csv(raw, chunksize=CSV_CHUNK_ROWS, **options) as chunks:
            for chunk in chunks:
                check_field_sizes(chunk, path, first_row)
                first_row += len(chunk)
                yield chunk
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot parse address file {path} as a table: {msg}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"address file {path} is empty: it needs a header line and rows") from None


class _LineLimited(io.RawIOBase):
    """A CSV file (gzipped or not) read as bytes, refusing any record over :data:`MAX_LINE_BYTES`.

    Counts the bytes since the end of the last record (a newline outside quotes) in
    each block read, so a file of one endless line, or an unclosed quote swallowing the
    rest of the file, fails after reading ``MAX_LINE_BYTES``, not the whole of it: the
    parser never buffers more than that for one record.
    """

    def __init__(self, path: Path, gz: bool):
        self.path = path
        self.f = Inflated(path) if gz else open(path, "rb")
        self.run = 0  # bytes since the end of the last record
        self.line = 1
        self.quoted = False  # inside a quoted field at the end of the last block

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.f.read(min(len(buffer), 1 << 18))
        n = len(data)
        buffer[:n] = data
        if self.quoted or b'"' in data:
            # a newline inside quotes does not end a record: track the quote parity
            arr = np.frombuffer(data, dtype=np.uint8)
            inside = (np.cumsum(arr == 34, dtype=np.uint8) & 1).astype(bool) ^ self.quoted
            ends = np.flatnonzero((arr == 10) & ~inside)
            last = int(ends[-1]) if len(ends) else -1
            if n:
                self.quoted = bool(inside[-1])
        else:
            last = data.rfind(b"\n")
        if last < 0:
            self.run += n
        else:
            self.line += data.count(b"\n")
            self.run = n - last - 1
        if self.run > MAX_LINE_BYTES:
            raise InputError(
                f"address file {self.path}: by line {self.line:,}, one record is longer than "
                f"{MAX_LINE_BYTES >> 20} MiB (an address row is about 200 bytes): not an address table, or an "
                "unclosed quote"
            )
        return n

    def close(self):
        self.f.close()
        super().close()


def check_field_sizes(df: pd.DataFrame, where, first_row: int = 0) -> None:
    """Refuse a field longer than :data:`MAX_FIELD_CHARS` (a broken quote swallowing lines, or junk)."""
    for col in df.columns:
        values = df[col]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        lengths = (values if pd.api.types.is_string_dtype(values) else values.astype("string")).str.len()
        too_long = lengths.to_numpy(dtype=float, na_value=0) > MAX_FIELD_CHARS
        if too_long.any():
            i = int(np.flatnonzero(too_long)[0])
            raise InputError(
                f"address file {where}: row {first_row + i + 1:,}, column {col!r} holds a field of "
                f"{int(lengths.iloc[i]):,} characters (limit {MAX_FIELD_CHARS:,}): a broken quote, or not an "
                "address table"
            )


def _split_header(header: str, sep: str) -> list[str]:
    return [h.strip().strip('"').lstrip("\ufeff") for h in next(csv.reader([header], delimiter=sep))]


def _points_to_columns(gdf) -> pd.DataFrame:
    """A point layer as a plain table with ``x``/``y`` columns from its geometry."""
    import shapely

    geom = gdf.geometry.values
    types = shapely.get_type_id(geom)
    bad = (types != 0) & ~shapely.is_missing(geom)
    if bad.any():
        raise InputError("address layer has non-point geometries; give one point per address")
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    # an empty point (a row without coordinates) makes GEOS raise: NaN, as a table's blank cell
    present = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    xy = np.full((len(geom), 2), np.nan)
    xy[present, 0], xy[present, 1] = shapely.get_x(geom[present]), shapely.get_y(geom[present])
    df["x"], df["y"] = xy[:, 0], xy[:, 1]
    return df


def read_point_layer(path, layer: str | None = None, keyword: str = "addresses_layer"):
    """The point layer of a vector file as a plain table: (frame, its CRS, the layer's name).

    The layer is ``layer`` when given; else the file's only layer, or its only layer
    that can hold points (:func:`choose_layer`). Several point layers, or a layer of
    polygons, lines or no geometry, are refused: taking the first silently could build
    from a stale or an outline layer. ``keyword`` is the option that names the layer.
    """
    import geopandas as gpd
    import pyogrio

    where = f"address file {path}"
    _refuse_indirection(path)
    try:
        with _gdal_offline():
            chosen = choose_layer(pyogrio.list_layers(path), layer, None, where, keyword, wanted="points")
            gdf = gpd.read_file(path, layer=chosen)
    except InputError:
        raise
    except Exception as exc:  # GDAL raises many kinds
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read address layer {path}: {msg}") from None
    return _points_to_columns(gdf), (gdf.crs.to_string() if gdf.crs is not None else None), chosen


#: The polygon layers of our own GeoPackage output: its ``stations`` and its ``communes``.
OUR_LAYERS = frozenset({"stations", "communes"})


def read_polygons(path, layer: str | None, prefer: str, where: str, keyword: str):
    """Read the polygon layer of a vector file: (GeoDataFrame, the layer's name).

    The layer is ``layer`` when given; else the file's only layer, or its only layer
    that can hold polygons; in our own GeoPackage (layers ``stations`` and ``communes``)
    the one named ``prefer``. A file with several polygon layers, or whose layer holds
    points, lines or no geometry, is refused: silently taking the first could build
    from a stale or a point layer. ``keyword`` is the option that names the layer.
    A (Geo)Parquet file is read by pyarrow (:func:`read_geoparquet`), not GDAL.

    Raises
    ------
    InputError
        No such layer, several candidates, or a layer without polygons.
    Exception
        Whatever GDAL raises on a file it cannot read (the caller words it).
    """
    import geopandas as gpd
    import pyogrio

    if is_parquet(path):  # GDAL's Parquet driver is often missing (pyogrio's needs libduckdb): pyarrow reads it
        return read_geoparquet(path, layer, prefer, where, keyword)
    _refuse_indirection(path)
    with _gdal_offline(), warnings.catch_warnings():
        # a NaN vertex makes shapely warn while decoding: it is refused in one line later
        warnings.simplefilter("ignore", RuntimeWarning)
        chosen = choose_layer(pyogrio.list_layers(path), layer, prefer, where, keyword)
        return gpd.read_file(path, layer=chosen), chosen


#: Suffixes of a (Geo)Parquet file (a file starting with ``PAR1`` is one too, whatever its name).
PARQUET_SUFFIXES = (".parquet", ".pq", ".geoparquet")


def is_parquet(path) -> bool:
    """Whether ``path`` is to be read as Parquet: a Parquet suffix, or a file starting with ``PAR1``."""
    if str(path).lower().endswith(PARQUET_SUFFIXES):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def read_geoparquet(path, layer: str | None, prefer: str, where: str, keyword: str):
    """Read a GeoParquet file with pyarrow (geopandas), as :func:`read_polygons` reads other formats.

    Its one layer is named after the file (as GDAL names it), so ``layer`` and the
    polygon checks of :func:`choose_layer` apply unchanged.

    Raises
    ------
    InputError
        Not a Parquet file, a Parquet table without GeoParquet metadata, a bomb
        (:func:`check_parquet_rows`), two columns of one name, no such layer, or no polygons.
    Exception
        Whatever pyarrow raises on a file it cannot read (the caller words it).
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    with open(path, "rb") as f:
        if f.read(4) != b"PAR1":
            raise InputError(f"{where} is not a Parquet file (it does not start with PAR1); give GeoParquet, "
                             "or rename it to its real format (.geojson, .gpkg…)")
    schema = pq.read_schema(path)
    _check_geo_metadata(schema.metadata or {}, where)
    check_parquet_rows(path, where, "give it as GeoPackage")
    check_unique_columns(schema.names, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # as in read_polygons: NaN vertices are refused later
        gdf = gpd.read_parquet(path)
    # the kind from the geometries themselves: the metadata's geometry_types is a claim, often empty
    return gdf, choose_layer([[Path(path).stem, _kind_of(gdf.geom_type)]], layer, prefer, where, keyword)


def _check_geo_metadata(metadata: dict, where: str) -> None:
    """Refuse a Parquet file whose ``geo`` metadata is missing or names no primary geometry column."""
    import json

    if b"geo" not in metadata:
        raise InputError(f"{where} is a Parquet table without GeoParquet metadata (no 'geo' key), so it has no "
                         "geometry: write it with GeoDataFrame.to_parquet, or give GeoJSON or GeoPackage")
    try:
        geo = json.loads(metadata[b"geo"])
        geo["columns"][geo["primary_column"]].get("encoding")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(f"{where}: its GeoParquet metadata ('geo') does not name a primary geometry column; "
                         "write the file again with GeoDataFrame.to_parquet, or give GeoJSON or GeoPackage") from None


def _kind_of(geom_types) -> str:
    """A GDAL-style layer geometry type for a column's geometry type names (``Unknown`` when mixed or empty)."""
    names = set(geom_types.dropna())
    if len(names) == 1:
        return next(iter(names))
    return "MultiPolygon" if names and names <= {"Polygon", "MultiPolygon"} else "Unknown"


def choose_layer(layers, layer: str | None, prefer: str | None, where: str, keyword: str,
                 wanted: str = "polygons") -> str:
    """The layer to read among ``layers`` (pyogrio's ``[name, geometry type]`` pairs); see :func:`read_polygons`.

    ``wanted``: ``"polygons"`` (outlines, stations), ``"points"`` (addresses) or ``"lines"`` (streets).
    """
    kinds = {str(n): (None if g is None else str(g)) for n, g in layers}
    fits, one = {"points": (_may_hold_points, "point"), "lines": (_may_hold_lines, "line")}.get(
        wanted, (_may_hold_polygons, "polygon"))
    if not kinds:
        raise InputError(f"{where} has no layer: give a file with the {wanted}")
    if layer is not None:
        if layer not in kinds:
            raise InputError(f"{where} has no layer {layer!r} (layers: {_layer_list(kinds)}); "
                             f"name one of them with {option(keyword)}")
        chosen = layer
    else:
        candidates = [n for n, g in kinds.items() if fits(g)]
        if len(kinds) == 1:
            chosen = next(iter(kinds))
        elif prefer in candidates and set(candidates) == OUR_LAYERS:
            chosen = prefer
        elif len(candidates) == 1:
            chosen = candidates[0]
        elif not candidates:
            raise InputError(f"{where} has no {one} layer (layers: {_layer_list(kinds)}): give the {wanted}")
        else:
            raise InputError(f"{where} has {len(candidates)} {one} layers ({_layer_list(kinds, candidates)}): "
                             f"say which one to read with {option(keyword)}")
    if not fits(kinds[chosen]):
        raise InputError(f"{where}: layer {chosen!r} holds {_kind_name(kinds[chosen])}, not {wanted}; "
                         + (f"name the {one} layer with {option(keyword)}" if len(kinds) > 1
                            else f"give the {wanted}"))
    return chosen


def _may_hold_polygons(kind: str | None) -> bool:
    """Whether a layer of this GDAL geometry type can hold polygons (an untyped layer can)."""
    if kind is None:
        return False
    base = kind.replace("3D ", "").replace("2.5D ", "").split(" ")[0]
    return "Polygon" in base or "Surface" in base or base in ("Unknown", "Geometry", "GeometryCollection")


def _may_hold_points(kind: str | None) -> bool:
    """Whether a layer of this GDAL geometry type can hold points (an untyped layer can)."""
    if kind is None:
        return False
    base = kind.replace("3D ", "").replace("2.5D ", "").split(" ")[0]
    return "Point" in base or base in ("Unknown", "Geometry", "GeometryCollection")


def _may_hold_lines(kind: str | None) -> bool:
    """Whether a layer of this GDAL geometry type can hold lines (an untyped layer can)."""
    if kind is None:
        return False
    base = kind.replace("3D ", "").replace("2.5D ", "").split(" ")[0]
    return "LineString" in base or "Curve" in base or base in ("Unknown", "Geometry", "GeometryCollection")


def read_line_layer(path, layer: str | None, where: str, keyword: str):
    """Read the line layer of a vector file (streets): (GeoDataFrame, the layer's name).

    The layer is chosen as :func:`read_polygons` chooses (:func:`choose_layer`, lines
    wanted); VRT files are refused and GDAL reads offline.
    """
    import geopandas as gpd
    import pyogrio

    _refuse_indirection(path)
    with _gdal_offline(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN vertices are refused in one line later
        chosen = choose_layer(pyogrio.list_layers(path), layer, None, where, keyword, wanted="lines")
        return gpd.read_file(path, layer=chosen), chosen


def _kind_name(kind: str | None) -> str:
    return "no geometry" if kind is None else kind.lower().replace("linestring", "line") + "s"


def _layer_list(kinds: dict, names=None, shown: int = 8) -> str:
    """``'a' (Polygon), 'b' (Point)…``: the first layers of a file, and how many more."""
    names = list(kinds) if names is None else names
    text = ", ".join(f"{n!r} ({kinds[n] or 'no geometry'})" for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


#: GDAL settings while an input is read: nothing fetched from the network (GML schemas,
#: xlinks), no sibling-file listing.
GDAL_OFFLINE = {
    "GML_DOWNLOAD_WFS_SCHEMA": "NO",
    "GML_SKIP_RESOLVE_ELEMS": "ALL",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".boundaries-no-network",
    "GDAL_HTTP_MAX_RETRY": "0",
}


def _gdal_offline():
    """GDAL with remote fetching switched off (:data:`GDAL_OFFLINE`), for the duration of a block."""
    from .write import gdal_config

    return gdal_config(**GDAL_OFFLINE)


def _refuse_indirection(path) -> None:
    """Refuse GDAL virtual datasets (VRT): they name other files, URLs or commands to read."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    except OSError:
        return
    if head.startswith((b"<ogrvrtdatasource", b"<vrtdataset")) or (b"<ogrvrtdatasource" in head):
        raise InputError(f"{path} is a GDAL virtual dataset (VRT), which can point to other files or the "
                         "network: give the data itself (GeoJSON, GeoPackage, shapefile…)")


def _find(columns: list[str], wanted: str | None, aliases: tuple[str, ...]) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    for name in ([wanted] if wanted else list(aliases)):
        if name in columns:
            return name
        if name.lower() in lower:
            return lower[name.lower()]
    return None


#: Largest ``nb_adresses`` accepted (register lines merged into one address row: a few hundred at most).
#: Sums of weights stay exact integers in float64 and in int64 under it, whatever the table's size.
MAX_WEIGHT = 1_000_000


def check_number_column(values: pd.Series, where: str) -> None:
    """Refuse a column that cannot hold numbers: lists, structs, dates, booleans (a Parquet table's types).

    Text is accepted (its cells are parsed one by one, an unparsable one is missing).
    """
    kind = values.dtype
    if pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
        return
    if pd.api.types.is_string_dtype(kind) and not pd.api.types.is_object_dtype(kind):
        return
    if pd.api.types.is_object_dtype(kind):
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty", "integer", "floating",
                                                               "mixed-integer-float", "decimal"):
            return
        # a mix: text and numbers are fine, anything else is named (a Python loop, in this rare case only)
        odd = next((v for v in values.dropna() if isinstance(v, (bool, np.bool_))
                    or not isinstance(v, (str, int, float, np.number))), None)
        if odd is None:
            return
        kind = type(odd).__name__
    raise InputError(f"{where}: column {values.name!r} holds {kind} values, not numbers; give its coordinates "
                     "(or weights) as numbers or text")


def checked_weights(values: pd.Series, where: str) -> np.ndarray:
    """``nb_adresses`` as floats: empty cells NaN; a negative, non-numeric, non-finite or absurd one refused.

    A weight is a count of register lines: anything but a number from 0 to :data:`MAX_WEIGHT`
    means the column is not what it claims, and would make the station counts wrong
    (1e308 summed to a negative count).
    """
    check_number_column(values, where)
    if pd.api.types.is_numeric_dtype(values):
        raw = np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        present = ~np.isnan(raw)
    else:
        text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
        present = (text.notna() & (text != "")).to_numpy(dtype=bool)
        raw = pd.to_numeric(text.where(present), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = present & ~(np.isfinite(raw) & (raw >= 0) & (raw <= MAX_WEIGHT))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where}: data row {i + 1}, column {values.name!r} holds {str(values.iloc[i])[:40]!r}: a weight must "
                         f"be a number from 0 to {MAX_WEIGHT:,} (the register lines at the address); "
                         f"{int(bad.sum()):,} rows are like it")
    return raw


def _to_float(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        out = np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)  # a writable copy
    else:
        text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
        out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def _as_code(values: pd.Series) -> pd.Series:
    """Codes as stripped strings (a numeric Parquet column becomes text)."""
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    s = values.astype("string").str.strip()
    return s.mask(s == "")


def input_name(source) -> str:
    """How the report names an input: its path, or its type when it was in memory."""
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else f"<{type(source).__name__}>"


@dataclass
class AddressTable:
    """What :func:`read_addresses` returns: the canonical rows and what reading learnt.

    Attributes
    ----------
    rows : pandas.DataFrame
        The canonical address frame (see the module docstring).
    crs : str
        CRS of ``x``/``y``.
    where : str
        How messages name the source (``address file …``, or ``address table`` in memory).
    x_column, y_column : str
        The columns the coordinates came from.
    rows_skipped : int
        Rows left out while reading (other départements than ``commune_prefixes``).
    codes_repaired : int
        Rows whose commune code or station id had lost its leading zero.
    codes_repaired_example : str or None
        One such repair, for the report's warning.
    stations_qualified : int
        Rows whose bare station id was prefixed by its commune (``1`` → ``29046_1``).
    stations_merged : int
        Rows whose station id was another form of an earlier one of its commune
        (``29046_01`` after ``29046_1``), given that form.
    stations_example : str or None
        One such repair, for the report's warning.
    rows_repaired : int
        Rows with any code repaired: a lost leading zero, a station id qualified or merged.
    layer : str or None
        The layer read from a vector file (None for a table or a frame).
    """

    rows: pd.DataFrame
    crs: str
    where: str = "address table"
    x_column: str = "longitude"
    y_column: str = "latitude"
    rows_skipped: int = 0
    codes_repaired: int = 0
    codes_repaired_example: str | None = None
    stations_qualified: int = 0
    stations_merged: int = 0
    stations_example: str | None = None
    rows_repaired: int = 0
    layer: str | None = None


#: What a user's CRS may be: one of horizontal coordinates (a compound CRS has one inside).
_CRS_HINT = "give an EPSG code such as EPSG:2154 (Lambert-93) or EPSG:4326 (longitude/latitude)"


def check_crs(crs, keyword: str = "crs"):
    """Refuse a user's CRS that pyproj cannot read, or that gives no horizontal coordinates.

    Parameters
    ----------
    crs : str, int, pyproj.CRS or None
        Anything :meth:`pyproj.CRS.from_user_input` reads; ``None`` or ``""``: the default.
    keyword : str
        The option that gave it, named in the message.

    Returns
    -------
    The same ``crs``, unchanged (its spelling reaches the outputs as given).

    Raises
    ------
    InputError
        One line naming the option and the value, and an EPSG code to give instead.
    """
    if crs is None or (isinstance(crs, str) and not crs):
        return crs
    from pyproj import CRS

    shown = repr(crs if isinstance(crs, str | int) and not isinstance(crs, bool) else type(crs).__name__)
    try:
        parsed = CRS.from_user_input(crs)
    except Exception as exc:  # CRSError, and TypeError or ValueError for odd Python values
        raise InputError(f"{option(keyword)} {shown[:200]} is not a CRS pyproj knows{_proj_reason(exc)}; "
                         f"{_CRS_HINT}") from None
    if not (parsed.is_geographic or parsed.is_projected):
        raise InputError(f"{option(keyword)} {shown[:200]} is not a CRS of horizontal coordinates "
                         f"({parsed.type_name}); {_CRS_HINT}")
    return crs


def _proj_reason(exc: Exception) -> str:
    """PROJ's reason for refusing a CRS (``crs not found: EPSG:99999``), short, in brackets; or nothing."""
    reason = str(exc).splitlines()[0] if str(exc) else ""
    found = re.search(r"proj_create: (.*?)\)?$", reason)
    if not found:
        return ""
    text = re.sub("[\x00-\x1f\x7f-\x9f]", lambda m: repr(m.group())[1:-1], found.group(1))  # PROJ echoes the value
    return f" ({text[:150]}…)" if len(text) > 150 else f" ({text})"


def read_addresses(source, columns: AddressColumns = AddressColumns(), crs: str | None = None,
                   commune_prefixes: tuple[str, ...] | None = None, communes=None,
                   addresses_layer: str | None = None) -> AddressTable:
    """Read an address table into the canonical address frame.

    Parameters
    ----------
    source : str, pathlib.Path, pandas.DataFrame or pyarrow.Table
        The INSEE REU table (CSV, CSV.gz, Parquet) or any point table with named
        columns, or a point layer GDAL reads (GeoPackage, GeoJSON…).
    columns : AddressColumns
        Names of the station, commune and coordinate columns when they differ
        from the REU's.
    crs : str, optional
        CRS of the coordinates; default that of the layer, else EPSG:4326.
    commune_prefixes : tuple of str, optional
        Keep only rows whose commune code starts with one of these (a
        département's code), filtered while a CSV or Parquet file is read, so a
        national table never sits in memory whole (Parquet: pyarrow dataset
        filter; CSV: read in chunks). The number of rows skipped is the result's
        ``rows_skipped``.
    communes : collection of str, optional
        With ``commune_prefixes``: keep only the rows of these communes (codes,
        arrondissements included), filtered the same way, chunk by chunk.
    addresses_layer : str, optional
        The layer to read from a vector file of several (see :func:`read_point_layer`).

    Returns
    -------
    AddressTable

    Raises
    ------
    InputError
        When the file is missing or unreadable, a required column is absent, a
        vector file has several point layers and no ``addresses_layer`` (or none), or
        ``crs`` is not a CRS of horizontal coordinates (:func:`check_crs`).
    """
    check_crs(crs)  # before the table is read: a misspelt CRS is the user's, not a bug
    df, layer_crs, where, skipped, layer = _load_addresses(source, columns, commune_prefixes, communes,
                                                           addresses_layer)
    if len(df.columns) == 0:
        raise InputError(f"{where} has no columns: it needs a header line and rows")
    df.columns = [str(c) for c in df.columns]
    names = _address_columns(list(df.columns), columns, where)
    check_unique_columns(df.columns, where, [*names.values(), *OPTIONAL_COLUMNS])
    for key in ("x", "y"):
        check_number_column(df[names[key]], where)
    if len(df) == 0:
        _refuse_no_rows(where, skipped, commune_prefixes, communes)
    station, commune, fixed, example = _codes(df, names, where)
    out = pd.DataFrame({
        "row": np.arange(len(df), dtype=np.int64),
        "commune": commune.to_numpy(dtype=object, na_value=None),
        "station": station.to_numpy(dtype=object, na_value=None),
        "x": _to_float(df[names["x"]]),
        "y": _to_float(df[names["y"]]),
    })
    blank = blank_rows(out)
    if blank.all():
        raise InputError(f"{where} has no address row: its {len(df):,} rows are empty (no station id, commune or "
                         "coordinates); give the table with its address rows")
    ids = qualify_stations(station, commune) if names["commune"] is not None else None
    if ids is not None:
        station = ids.station
        out["station"] = station.to_numpy(dtype=object, na_value=None)
        _refuse_unusable_ids(ids.problem, df, names, where, ~blank)
    out["station_problem"] = ids.problem if ids is not None else None
    _add_geocoding(out, df, where)
    return AddressTable(out, crs or layer_crs or "EPSG:4326", where=where, x_column=names["x"],
                        y_column=names["y"], rows_skipped=skipped, codes_repaired=int(fixed.sum()),
                        codes_repaired_example=example, layer=layer,
                        **_id_repairs(ids, df[names["station"]], station, fixed))


def blank_rows(rows: pd.DataFrame) -> np.ndarray:
    """Canonical rows without a commune code, a station id or coordinates: empty lines (``,,,,``)."""
    return ((rows["commune"].fillna("") == "") & (rows["station"].fillna("") == "")
            & rows["x"].isna() & rows["y"].isna()).to_numpy(dtype=bool)


def _refuse_no_rows(where: str, skipped: int, commune_prefixes, communes) -> None:
    """Refuse a table without rows, naming the selection when it left every row out."""
    if skipped and communes:
        raise InputError(f"no address in commune {', '.join(sorted(communes))} in {where}; "
                         f"check {option('departement')} / {option('commune')}")
    if skipped:
        raise InputError(f"no address in département {', '.join(commune_prefixes)} in {where}; "
                         f"check {option('departement')} / {option('commune')}")
    raise InputError(f"{where} has a header but no rows: give the table with its address rows")


def _load_addresses(source, columns: AddressColumns, prefixes, communes=None, layer: str | None = None):
    """The raw table of ``source``: (frame, layer CRS, how messages name it, rows skipped while read,
    the layer read from a vector file)."""
    if hasattr(source, "schema") and hasattr(source, "to_pandas") and not isinstance(source, pd.DataFrame):
        source = source.to_pandas()  # a pyarrow Table (or RecordBatch)
    if isinstance(source, pd.DataFrame):
        if hasattr(source, "geometry") and hasattr(source, "crs"):
            return _points_to_columns(source), (source.crs.to_string() if source.crs is not None else None), \
                "address table", 0, None
        return source, None, "address table", 0, None
    check_local_path(source, "address file", option("addresses"))
    path = Path(source)
    check_file(path, "address", option("addresses"))
    if path.suffix.lower() in VECTOR_SUFFIXES:
        df, layer_crs, layer = read_point_layer(path, layer)
        return df, layer_crs, f"address file {path}", 0, layer
    if layer is not None:  # a table has no layers: the option was meant for another file
        raise InputError(f"address file {path} is a table, not a vector file with layers: "
                         f"{option('addresses_layer')} applies to a GeoPackage or other vector file; drop it")
    df, layer_crs, skipped = read_table(path, prefixes, columns.commune or REU_COLUMNS["commune"], communes)
    return df, layer_crs, f"address file {path}", skipped, None


def _address_columns(cols: list[str], columns: AddressColumns, where: str) -> dict:
    """The table's column for each of station, x, y and commune (None: taken from the station id)."""
    def need(key: str, keyword: str, aliases: tuple[str, ...]) -> str:
        name = _find(cols, getattr(columns, key), aliases)
        if name is None:
            wanted = getattr(columns, key) or " or ".join(repr(a) for a in aliases[:3])
            shown = ", ".join(cols[:12]) + (", …" if len(cols) > 12 else "")
            raise InputError(
                f"{where} has no column {wanted} for the {key} (columns: {shown}); name it with {option(keyword)}"
            )
        return name

    names = {"station": need("station", "id_column", (REU_COLUMNS["station"],)),
             "x": need("x", "x_column", _X_ALIASES), "y": need("y", "y_column", _Y_ALIASES),
             "commune": _find(cols, columns.commune, (REU_COLUMNS["commune"],))}
    if names["commune"] is None and columns.commune:
        need("commune", "commune_column", (columns.commune,))
    return names


def _codes(df: pd.DataFrame, names: dict, where: str):
    """Station ids and commune codes as text, lost leading zeros restored.

    Returns (station, commune, repaired mask, an example of a repair or None).
    """
    station, station_fixed = repair_lost_zero(_as_code(df[names["station"]]), station=True)
    if names["commune"] is not None:
        raw_commune = _as_code(df[names["commune"]])
        commune, commune_fixed = repair_lost_zero(raw_commune)
    else:
        # No commune column: the REU station id starts with the commune code.
        prefix = station.str.extract(r"^(\d{5}|2[AB]\d{3})_", expand=False)
        if prefix.isna().mean() > 0.5:
            raise InputError(
                f"{where} has no commune column ('code_commune_ref') and its station ids do not start "
                f"with a commune code; name the column with {option('commune_column')}"
            )
        commune = prefix.astype("string")
        raw_commune, commune_fixed = commune, np.zeros(len(df), dtype=bool)
    fixed = station_fixed | commune_fixed
    example = None
    if fixed.any():
        i = int(np.flatnonzero(fixed)[0])
        before = raw_commune.iloc[i] if commune_fixed[i] else df[names["station"]].iloc[i]
        after = commune.iloc[i] if commune_fixed[i] else station.iloc[i]
        column = names["commune"] if commune_fixed[i] else names["station"]
        example = f"{column} {str(before).strip()} → {after} on data row {i + 1}"
    return station, commune, fixed, example


def _refuse_unusable_ids(problem: np.ndarray, df: pd.DataFrame, names: dict, where: str, counted: np.ndarray) -> None:
    """Refuse a table most of whose station ids are empty or name another commune than the row's.

    A few such rows are dropped and counted (``no_station_id``,
    ``station_of_other_commune``); most of them means the wrong columns. Only the
    ``counted`` rows are weighed (not empty lines: a spreadsheet's trailing ``;;;;``).
    """
    for kind, what in (("no_station_id", "no station id (an empty cell, or a commune code and '_' alone)"),
                       ("station_of_other_commune", "a station id naming another commune than their "
                                                    f"{names['commune']!r}")):
        bad = (problem == kind) & counted
        if bad.sum() > 0.5 * counted.sum():
            i = int(np.flatnonzero(bad)[0])
            example = f"data row {i + 1}: {names['station']} {df[names['station']].iloc[i]!s}, " \
                      f"{names['commune']} {df[names['commune']].iloc[i]!s}"
            raise InputError(f"{where}: {int(bad.sum()):,} of {int(counted.sum()):,} rows have {what} ({example}); check "
                             f"which columns hold the station id and the commune ({option('id_column')}, "
                             f"{option('commune_column')})")


def _id_repairs(ids, raw: pd.Series, station: pd.Series, fixed: np.ndarray) -> dict:
    """The :class:`AddressTable` fields saying which station ids :func:`~boundaries.codes.qualify_stations` changed."""
    if ids is None:
        return {"rows_repaired": int(fixed.sum())}
    changed = ids.qualified | ids.merged
    out = {"stations_qualified": int(ids.qualified.sum()), "stations_merged": int(ids.merged.sum()),
           "rows_repaired": int((fixed | changed).sum())}
    if changed.any():
        i = int(np.flatnonzero(changed)[0])
        out["stations_example"] = f"{str(raw.iloc[i]).strip()} → {station.iloc[i]} on data row {i + 1}"
    return out


def _add_geocoding(out: pd.DataFrame, df: pd.DataFrame, where: str = "address table") -> None:
    """The optional REU columns: ``geo_type``, ``address``, ``geo_score`` and ``weight`` (1 when absent)."""
    cols = list(df.columns)
    gt = _find(cols, None, ("geo_type",))
    out["geo_type"] = (
        df[gt].astype("string").str.strip().str.lower().to_numpy(dtype=object, na_value=None) if gt else None
    )
    ga = _find(cols, None, ("geo_adresse",))
    # kept in Arrow: 16 M Python strings would cost more than parsing them (boundaries.streets)
    out["address"] = df[ga].astype("string").array if ga else None
    gs = _find(cols, None, ("geo_score",))
    out["geo_score"] = _to_float(df[gs]) if gs else np.nan
    w = _find(cols, None, ("nb_adresses",))
    weight = checked_weights(df[w], where) if w else np.ones(len(df))
    weight[~(weight > 0)] = 1.0  # a missing or zero weight counts once
    out["weight"] = weight


@dataclass
class OutlineLayer:
    """What :func:`read_communes` returns: the outlines and what reading repaired.

    Attributes
    ----------
    outlines : geopandas.GeoDataFrame
        ``code``, ``nom``, ``nom_dep`` (None where the file has no such field) and the
        geometry in the file's CRS, one row per commune code, sorted by code.
    where : str
        How messages name the source.
    repaired : int
        Invalid outlines (self-intersections) repaired with ``make_valid``.
    codes_repaired : int
        Codes that had lost their leading zero (a numeric code field).
    layer : str or None
        The layer read from the file (None for a layer given in memory).
    field_note : str or None
        Why the code field read is not the first one detected (it holds more of the
        addresses' communes), as a warning line; None when it is.
    """

    outlines: object
    where: str = "outline layer"
    repaired: int = 0
    codes_repaired: int = 0
    layer: str | None = None
    field_note: str | None = None


def read_communes(source, commune_field: str | None = None, communes_layer: str | None = None,
                  codes=None) -> OutlineLayer:
    """Read commune outlines, one row per commune code.

    Parameters
    ----------
    source : str, pathlib.Path or geopandas.GeoDataFrame
        Any polygon layer GDAL reads (GeoJSON, shapefile, GeoPackage…), or GeoParquet.
    commune_field : str, optional
        The field holding the INSEE code; detected among ``code``, ``code_insee``,
        ``INSEE_COM``, ``insee``, ``codgeo``, ``INSEE_ARM`` (case-insensitive) when not given:
        the first found, or, with ``codes``, the one holding most of them.
    communes_layer : str, optional
        The layer to read from a file of several (see :func:`read_polygons`).
    codes : array-like of str, optional
        The commune codes to outline (the addresses'): among several detected fields,
        the one holding most of them is read (IGN's arrondissements: ``INSEE_ARM``
        rather than ``INSEE_COM``, the city's code on every row).

    Returns
    -------
    OutlineLayer

    Raises
    ------
    InputError
        An unreadable file, no CRS, no code field, no polygon, several polygon layers
        and no ``communes_layer``, or vertices that cannot be coordinates
        (:func:`refuse_bad_vertices`).
    """
    gdf, where, layer = _load_outlines(source, communes_layer)
    if gdf.crs is None:
        raise InputError(f"{where} has no CRS; add one (e.g. a .prj file, or ogr2ogr -a_srs EPSG:2154)")
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    field = _find(cols, commune_field, COMMUNE_FIELDS)
    if field is None:
        if commune_field:
            raise InputError(f"{where} has no field {commune_field!r} (fields: {', '.join(cols)})")
        raise InputError(
            f"{where} has no commune-code field (looked for {', '.join(COMMUNE_FIELDS)}; fields: "
            f"{', '.join(cols) or 'none'}); name it with {option('commune_field')}"
        )
    field, note = (field, None) if commune_field or codes is None else _matching_field(gdf, cols, field, codes, where)
    out, code_fixed = _outline_frame(gdf, field, cols, where)
    refuse_bad_vertices(out.geometry.values, out["code"].to_numpy(dtype=object), out.crs, where, "commune")
    out, n_invalid = _repaired(out)
    if out["code"].duplicated().any():  # a commune in several features: one outline
        first = out.groupby("code", sort=True)[["nom", "nom_dep"]].first()
        merged = out.dissolve(by="code", sort=True, aggfunc="first")
        merged[["nom", "nom_dep"]] = first
        out = merged.reset_index()[["code", "nom", "nom_dep", "geometry"]]
    out = out.sort_values("code", kind="stable").reset_index(drop=True)
    return OutlineLayer(out, where=where, repaired=n_invalid, codes_repaired=int(code_fixed.sum()), layer=layer,
                        field_note=note)


def _matching_field(gdf, cols: list[str], first: str, codes, where: str) -> tuple[str, str | None]:
    """Among the detected code fields, the one holding most of ``codes``; and a note when not ``first``.

    Ties, and a file where no field holds any of them, keep ``first`` (the detection order).
    """
    found = list(dict.fromkeys(f for alias in COMMUNE_FIELDS if (f := _find(cols, None, (alias,)))))
    if len(found) < 2:
        return first, None
    wanted = pd.unique(pd.Series(codes, dtype=object).dropna())
    hits = {f: int(np.isin(wanted, repair_lost_zero(_as_code(gdf[f]))[0].dropna().to_numpy(dtype=object)).sum())
            for f in found}
    best = max(found, key=lambda f: (hits[f], f == first))  # the first maximum: detection order
    if best == first:
        return first, None
    return best, (f"{where}: commune codes read from field {best!r}, which holds {hits[best]:,} of the addresses' "
                  f"{len(wanted):,} communes ({first!r} holds {hits[first]:,}); give the commune field explicitly to "
                  "silence this")


def _load_outlines(source, layer: str | None = None):
    """The outline layer of ``source`` (a path or a GeoDataFrame), how messages name it, the layer read."""
    import geopandas as gpd

    if isinstance(source, gpd.GeoDataFrame):
        return source, "outline layer", None
    check_local_path(source, "outline file", option("communes"))
    path = Path(source)
    check_file(path, "outline", option("communes"))
    where = f"outline file {path}"
    try:
        gdf, layer = read_polygons(path, layer, "communes", where, "communes_layer")
        return gdf, where, layer
    except InputError:
        raise
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"cannot read {where} as a vector layer ({msg}); give GeoJSON, shapefile or GeoPackage"
        ) from None


def _outline_frame(gdf, field: str, cols: list[str], where: str):
    """The polygons of ``gdf`` as ``code``, ``nom``, ``nom_dep``, geometry; and which codes were repaired."""
    import geopandas as gpd
    import shapely

    name_field = _find(cols, None, NAME_FIELDS)
    dep_name_field = _find(cols, None, DEPARTEMENT_NAME_FIELDS)
    polygonal = np.isin(shapely.get_type_id(gdf.geometry.values), (3, 6))
    if not polygonal.any():
        raise InputError(f"{where} has no polygon: commune outlines must be polygons or multipolygons")
    gdf = gdf.loc[polygonal]
    code, code_fixed = repair_lost_zero(_as_code(gdf[field]))

    def text(name):
        return gdf[name].astype("string").to_numpy(dtype=object, na_value=None) if name else None

    out = gpd.GeoDataFrame({"code": code.to_numpy(dtype=object, na_value=None), "nom": text(name_field),
                            "nom_dep": text(dep_name_field)}, geometry=gdf.geometry.values, crs=gdf.crs)
    return out[out["code"].notna()], code_fixed


def refuse_bad_vertices(geoms, labels, crs, where: str, what: str) -> None:
    """Refuse geometries with a vertex that cannot be a coordinate in ``crs`` (:func:`~boundaries.geometry.vertex_faults`).

    A NaN, ±Infinity or absurd vertex (1e300) would empty its feature, or stop GEOS in
    the middle of a run: one line instead, naming the first features by ``labels``
    (their codes or ids) and how to fix them. When most features lie beyond ±180/±90 in
    a geographic CRS, the whole layer is in another unit (metres in a GeoJSON, which is
    WGS84 when it says nothing): the line says so.
    """
    from .geometry import VERTEX_NOT_FINITE, VERTEX_OK, coordinate_limits, vertex_faults

    faults = vertex_faults(geoms, crs)
    bad = np.flatnonzero(faults != VERTEX_OK)
    if not len(bad):
        return
    from pyproj import CRS

    if CRS.from_user_input(crs).is_geographic and (faults == 2).sum() > len(faults) / 2:
        import shapely

        x, y = shapely.get_coordinates(geoms[bad[faults[bad] == 2][0]])[0]
        raise InputError(
            f"{where}: coordinates are not longitude/latitude in degrees (e.g. {x:.1f}, {y:.1f}, beyond "
            f"±180/±90), though its CRS is {CRS.from_user_input(crs).name} (a GeoJSON without a crs member is "
            "WGS84 by definition); if they are metres, reproject the file to WGS84 (ogr2ogr -s_srs EPSG:2154 "
            "-t_srs EPSG:4326) or write its CRS into it (ogr2ogr -a_srs EPSG:2154)"
        )
    shown = ", ".join(str(labels[i]) if labels[i] is not None else f"feature {i + 1}" for i in bad[:5])
    more = f" and {len(bad) - 5:,} more" if len(bad) > 5 else ""
    x_max, y_max = coordinate_limits(crs)
    kinds = [k for k, found in (("NaN or ±Infinity", (faults[bad] == VERTEX_NOT_FINITE).any()),
                                (f"beyond ±{x_max:g}/±{y_max:g}", (faults[bad] != VERTEX_NOT_FINITE).any())) if found]
    raise InputError(
        f"{where}: {len(bad):,} {what} geometr{'y has' if len(bad) == 1 else 'ies have'} a vertex that cannot "
        f"be a coordinate ({' or '.join(kinds)}): {what} {shown}{more}; repair these geometries (e.g. in QGIS) "
        "or drop their features"
    )


def _repaired(out):
    """Invalid outlines made valid (their polygonal parts); and how many there were."""
    import shapely

    invalid = ~shapely.is_valid(out.geometry.values)
    if invalid.any():
        from .geometry import polygonal_parts

        out.loc[invalid, "geometry"] = polygonal_parts(shapely.make_valid(out.geometry.values[invalid]))
    return out, int(invalid.sum())


#: Fields accepted as a station layer's station id (case-insensitive), in order.
STATION_ID_FIELDS = ("id_bv", "code_bv", "codebureauvote", "id_brut_bv_reu", "code_bureau", "bureau")
#: Fields accepted as a station layer's commune code, in order.
STATION_COMMUNE_FIELDS = ("code_commune", "insee_com", "code_insee", "code_commune_ref", "codgeo", "insee", "com")


def read_stations(source, id_field: str | None = None, commune_field: str | None = None, what: str = "station",
                  layer: str | None = None, layer_keyword: str = "layer", bad_vertices: bool = False,
                  where: str | None = None, id_keyword: str | None = "id_field", commune_needed: bool = True,
                  commune_keyword: str | None = "station_commune_field"):
    """Read a station polygon layer made by any tool.

    Parameters
    ----------
    source : str, pathlib.Path or geopandas.GeoDataFrame
        Any vector layer GDAL reads, or GeoParquet (read by pyarrow).
    id_field, commune_field : str, optional
        Fields of the station id and of its commune; detected when not given
        (the commune is taken from the id's ``{insee}_`` prefix when no field has it).
    what : str
        How the layer is called in messages.
    layer, layer_keyword : str, optional
        The layer to read from a file of several (:func:`read_polygons`); its option.
    bad_vertices : bool
        Keep geometries with a vertex that cannot be a coordinate (``check`` reports
        them); by default they are refused (:func:`refuse_bad_vertices`).
    where : str, optional
        How messages name a layer given in memory (default: ``station layer``).
    id_keyword : str or None
        The option that names the id field, for messages (``old_id`` for ``crosswalk``); None
        where the caller has no such option (the message then says to rename the field).
    commune_keyword : str or None
        The option that names the commune field, for messages; None where the caller has
        no such option (the message then says to add a ``code_commune`` field).
    commune_needed : bool
        Refuse a layer whose communes cannot be found (no field, ids without a commune
        prefix); when False their ``code_commune`` is left empty.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id_bv`` (the id as written), ``key`` (canonical id: ``94068_0007`` → ``94068_7``),
        ``code_commune`` and the geometry (null geometries kept), in the layer's CRS.
    """
    import geopandas as gpd

    from . import codes

    if isinstance(source, gpd.GeoDataFrame):
        gdf, where = source, where or f"{what} layer"
    else:
        gdf, where = _station_source(source, what, layer, layer_keyword)
    if gdf.crs is None:
        raise InputError(f"{where} has no CRS; add one (e.g. ogr2ogr -a_srs EPSG:4326)")
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    field = _find(cols, id_field, STATION_ID_FIELDS)
    if field is None and id_field:  # the field the user named, not the ones we look for
        raise InputError(f"{where} has no field {id_field!r} (fields: {', '.join(cols) or 'none'}); "
                         + (f"give another to {option(id_keyword)}" if id_keyword else "rename the id field id_bv"))
    if field is None:
        raise InputError(
            f"{where} has no station id field (looked for {', '.join(STATION_ID_FIELDS)}; fields: "
            f"{', '.join(cols) or 'none'}); "
            + (f"name it with {option(id_keyword)}" if id_keyword else "rename the id field id_bv")
        )
    raw = _as_code(gdf[field]).to_numpy(dtype=object, na_value=None)
    commune = _station_communes(gdf, cols, raw, commune_field, where, commune_needed, commune_keyword)
    if not bad_vertices:
        refuse_bad_vertices(gdf.geometry.values, raw, gdf.crs, where, what)
    return gpd.GeoDataFrame(
        {"id_bv": raw, "key": _station_keys(raw, commune), "code_commune": commune},
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    )


def _station_keys(ids: np.ndarray, commune: np.ndarray) -> np.ndarray:
    """Canonical keys; a bare id (``5``, no ``{insee}_`` prefix) is qualified by its commune field (``75119_5``).

    Another tool's layer may keep the commune and the station number apart: the key must be
    the one the same station has in a REU table (as a build qualifies bare ids).
    """
    from . import codes

    ids = np.asarray(ids, dtype=object)
    com = pd.Series(np.asarray(commune, dtype=object), dtype="string")
    bare = (pd.isna(pd.Series(codes.commune_of_station(ids), dtype=object)).to_numpy()
            & com.str.fullmatch(r"\d{5}|2[AB]\d{3}").fillna(False).to_numpy(dtype=bool)
            & ~pd.isna(pd.Series(ids, dtype=object)).to_numpy())
    qualified = ids.copy()
    qualified[bare] = (com[bare] + "_" + pd.Series(ids[bare], dtype="string").str.strip()).to_numpy(dtype=object)
    return codes.canonical_station(qualified)


def _station_communes(gdf, cols: list[str], ids: np.ndarray, commune_field: str | None, where: str,
                      needed: bool = True, keyword: str | None = "station_commune_field") -> np.ndarray:
    """Each station's commune code: from its field (named, or detected), else from its id's ``{insee}_`` prefix."""
    from . import codes

    com_field = _find(cols, commune_field, STATION_COMMUNE_FIELDS)
    if commune_field and com_field is None:
        raise InputError(f"{where} has no field {commune_field!r} (fields: {', '.join(cols)})")
    if com_field is not None:
        return _as_code(gdf[com_field]).to_numpy(dtype=object, na_value=None)
    commune = codes.commune_of_station(ids)
    if needed and pd.isna(pd.Series(commune, dtype=object)).mean() > 0.5:
        # name only an option the caller has: a flag that does not exist is no advice
        how = (f"name the field with {option(keyword)}" if keyword else
               "add a code_commune field (the INSEE code, e.g. 75119) or write the ids as 75119_5")
        raise InputError(
            f"{where} has no commune field (looked for {', '.join(STATION_COMMUNE_FIELDS)}) and its ids "
            f"do not start with a commune code (e.g. {_first_id(ids)}); {how}"
        )
    return commune


def _first_id(ids: np.ndarray) -> str:
    """The first non-empty id, quoted, for a message."""
    found = next((str(i) for i in ids if i is not None and str(i) != ""), "")
    return repr(found)


def gpkg_layers(path) -> list[str]:
    """The layers of a GeoPackage (known by its SQLite header, whatever its name); [] for any other file."""
    import pyogrio

    try:
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return []
        return [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception:  # not readable as one: the reader says so later, in its own words
        return []


def own_communes_layer(path) -> bool:
    """True when ``path`` is a GeoPackage holding a ``communes`` layer (as a build of ours writes)."""
    return Path(path).is_file() and "communes" in gpkg_layers(path)


def outlines_or_own(stations, communes, communes_layer: str | None = None):
    """``communes`` and its layer, else the ``communes`` layer a GeoPackage of ours holds beside its stations.

    Returns ``(communes, communes_layer)``; ``communes`` stays None when neither is there
    (a frame of stations, or a file without that layer): the caller refuses it.
    """
    if communes is not None or not isinstance(stations, str | os.PathLike) or not own_communes_layer(stations):
        return communes, communes_layer
    return stations, "communes"


def _station_source(source, what: str, layer: str | None, layer_keyword: str):
    """The station layer of a path given as ``what`` (STATIONS, REFERENCE), checked local and readable."""
    argument = {"station": "STATIONS"}.get(what, what.upper())  # as the commands' --help calls it
    check_local_path(source, f"{what} file", argument)
    path = Path(source)
    check_file(path, what, argument)
    where = f"{what} file {path}"
    return read_station_file(path, where, layer, layer_keyword), where


#: Characters a dBase field name holds: a shapefile round trip (ogr2ogr, QGIS's "Save as")
#: cuts ``n_addresses`` to ``n_addresse`` and ``code_commune`` to ``code_commu``.
DBF_NAME_CHARS = 10


def restore_cut_names(gdf):
    """``gdf`` with our station fields' names given back in full where a shapefile cut them.

    A cut name is restored only where it stands for one of our fields alone and that
    field is not there under its full name (another tool's ``code_commu`` beside our
    ``code_commune`` stays as it is).
    """
    from .schema import load_schema

    defs = load_schema()["$defs"]
    long = [p for part in ("station_properties", "etalab_properties") for p in defs[part]["properties"]
            if len(p) > DBF_NAME_CHARS]
    cut: dict[str, list[str]] = {}
    for name in long:
        cut.setdefault(name[:DBF_NAME_CHARS], []).append(name)
    names = {c: full[0] for c, full in cut.items()
             if c in gdf.columns and len(full) == 1 and full[0] not in gdf.columns}
    return gdf.rename(columns=names) if names else gdf


def read_station_file(path, where: str, layer: str | None = None, layer_keyword: str = "layer"):
    """The station polygon layer of the file ``path`` (:func:`read_polygons`), every field kept.

    Our fields' names cut by a shapefile are restored (:func:`restore_cut_names`).
    """
    try:
        return restore_cut_names(read_polygons(path, layer, "stations", where, layer_keyword)[0])
    except InputError:
        raise
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read {where} as a vector layer ({msg})") from None
