"""National runs: an execution strategy for tables that cover several départements.

A build whose table covers several départements — ``all_departements``, several
``departement``, or simply a national table given with no selection — runs here:
the table is cut once by département (:func:`partition`: a CSV or an unsorted
Parquet file in one pass into per-département Parquet files under the work folder;
a Parquet file whose row groups each hold one département is read in place), then
the same build (:func:`boundaries.pipeline.build`) runs on each part, ``jobs`` at a
time, each writing its result as a *part* named by a content hash of everything
that decides it (the rows, the outlines, the method, the parameters, the version).
A rerun with the same work folder reuses the parts whose hash still matches, so a
crash costs one département. The rows that no département's outlines cover are
built as one more part, where they are reported (reason ``commune_without_outline``)
exactly as a single build reports them. :meth:`boundaries.report.Report.merge` joins
the reports; the stations are those of a single build, to the byte, whatever the
table's order, the number of processes and the parts reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import codes
from .errors import InputError, option
from .parallel import run_tasks
from .params import Parameters
from .read import REU_COLUMNS, AddressColumns, input_name, read_communes, read_parquet_files, read_table
from .report import Report
from .stations import check_unique_ids, colour_neighbours

#: Changes when what a part holds changes (2: geometries on the output grid; 3: station ids qualified by
#: their commune, new drop reasons; 4: no repeated consecutive vertex on the grid, neighbours within a gap
#: sharing a border; 5: one piece per station, MultiPolygon geometries, ``n_elsewhere``; 6: ``method_reason``
#: per commune), so older parts are rebuilt.
PART_FORMAT = 6
#: The label of the part holding the rows no département's outline covers.
LEFTOVER = "none"
#: File name, in a split, of the rows whose commune code gives no département.
NO_DEPARTEMENT_FILE = "_no_departement.parquet"
#: Rows per batch when a table is split (one batch in memory at a time, per process).
SPLIT_BATCH_ROWS = 500_000
#: Below this many rows a Parquet table is split by one process (forking costs more than it saves).
SPLIT_PARALLEL_MIN_ROWS = 2_000_000
#: How the split's files are written: read whole once, so no dictionary pages and no statistics
#: (a third faster to write, as large).
SPLIT_WRITE_OPTIONS = {"use_dictionary": False, "write_statistics": False}
#: Changes when a split's layout changes (2: a list of files per département), so older splits are redone.
SPLIT_FORMAT = 2


def applies(request) -> bool:
    """Whether ``request`` runs by département: asked for, or a whole table covering several."""
    if request.has_land:  # one process: the parts' cache keys do not cover the land layers
        return False
    if request.national:
        return True
    if request.departement or not request.whole_departements:
        return False
    return spans_departements(request.addresses, request.columns)


def spans_departements(addresses, columns: AddressColumns = AddressColumns()) -> bool:
    """Whether a table's rows belong to more than one département, read as little as possible.

    Parquet: from the row groups' statistics when they tell (else its commune column,
    row group by row group); CSV: its commune column; both stop at the second
    département; a frame: its column.
    A table without a commune column, or a point layer, is read whole by one build: False.
    """
    col = columns.commune or REU_COLUMNS["commune"]
    if isinstance(addresses, pd.DataFrame):
        return col in addresses.columns and _several(addresses[col].dropna().unique())
    if not isinstance(addresses, (str, Path)) or not Path(addresses).is_file():
        return False
    path = Path(addresses)
    if path.suffix.lower() in (".parquet", ".pq"):
        return _parquet_spans(path, col)
    if _is_csv(path):
        from .read import commune_column_batches

        seen: set = set()
        for values in commune_column_batches(path, col):
            seen |= set(_departements(pd.unique(values)))
            if len(seen - {""}) > 1:
                return True
    return False


def _several(commune_codes) -> bool:
    return len(set(_departements(commune_codes)) - {""}) > 1


def _parquet_spans(path: Path, col: str) -> bool:
    import pyarrow.parquet as pq

    from .read import check_parquet_rows

    try:
        schema = pq.read_schema(path)
        check_parquet_rows(path)  # a bomb: the single build says so
        if col not in schema.names or b"geo" in (schema.metadata or {}):
            return False
        groups = _row_group_departements(path, col)
        if groups is not None:
            return len(set(groups)) > 1
        # row group by row group, stopping at the second département: an unsorted table tells at once
        file, seen = pq.ParquetFile(path), set()
        for g in range(file.metadata.num_row_groups):
            values = file.read_row_group(g, columns=[col]).column(col).unique().to_pandas().astype(str)
            seen |= set(_departements(values)) - {""}
            if len(seen) > 1:
                return True
        return False
    except Exception:  # an unreadable file: the single build names the problem
        return False


def _row_group_departements(path: Path, col: str) -> list | None:
    """The département of each row group, from its statistics; None unless each holds exactly one.

    A row group whose smallest and largest codes (text) start with the same
    département holds only that département's rows: every code between them does too.
    """
    import pyarrow.parquet as pq

    import pyarrow as pa

    meta = pq.ParquetFile(path).metadata
    index = meta.schema.to_arrow_schema().get_field_index(col)
    kind = meta.schema.to_arrow_schema().field(index).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    out = []
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(index).statistics
        if stats is None or not stats.has_min_max or stats.null_count:
            return None
        low, high = _departements([str(stats.min), str(stats.max)])
        if low != high or not low:
            return None
        out.append(low)
    return out


@dataclass
class Partition:
    """An address table cut by département.

    Attributes
    ----------
    sizes : dict
        Rows per département (``""``: rows whose commune code gives none).
    kind : {"files", "filter", "frame"}
        How a département's rows are had: its own Parquet file of a split
        (``files``), a filtered read of the table (``filter``: a Parquet file whose row
        groups each hold one département), or a slice of the frame (``frame``).
    files : dict
        With ``files``: département → its files (one per slice of the split, in the
        table's order).
    table : object
        With ``filter``, the table's path; with ``frame``, the frame.
    row_deps : numpy.ndarray
        With ``frame``, each row's département.
    column : str
        The commune column.
    """

    sizes: dict
    kind: str
    column: str
    files: dict | None = None
    table: object = None
    row_deps: np.ndarray | None = None

    def source(self, deps: list) -> tuple:
        """What a task needs to read the rows of ``deps`` (see :func:`rows_of`): small, picklable."""
        if self.kind == "files":
            return ("files", [self.files[d] for d in deps if d in self.files])  # one list per département
        if self.kind == "filter":
            return ("filter", self.table, tuple(deps), self.column)
        return ("frame", self.table.loc[np.isin(self.row_deps, deps)].reset_index(drop=True))


def partition(addresses, folder, columns: AddressColumns = AddressColumns(), progress=None,
              jobs: int = 1) -> Partition:
    """Cut an address table by département, once (see :class:`Partition`).

    A CSV, or a Parquet file whose row groups mix départements, is split in one
    pass into Parquet files per département under ``folder`` (kept, and reused
    while the file is unchanged: :func:`split_table`; a Parquet file by ``jobs``
    processes, each over its own row groups); a Parquet file sorted by
    département is read in place; a frame is sliced in memory.
    """
    col = columns.commune or REU_COLUMNS["commune"]
    if isinstance(addresses, pd.DataFrame):
        if col not in addresses.columns:
            raise InputError(f"address table has no column {col!r} to cut by département; name it with "
                             f"{option('commune_column')}")
        which, distinct = pd.factorize(addresses[col].astype("string").fillna("").str.strip(), use_na_sentinel=False)
        row_deps = _departements(distinct)[which]
        labels, counts = np.unique(row_deps.astype(str), return_counts=True)
        return Partition(_sizes_by_departement(labels, counts), "frame", col, table=addresses, row_deps=row_deps)
    path = Path(addresses)
    if path.suffix.lower() in (".parquet", ".pq"):
        groups = _row_group_departements(path, col)
        if groups is not None:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            sizes = _sizes_by_departement(groups, [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
            return Partition(sizes, "filter", col, table=str(path.resolve()))
    files, sizes = _in_child(split_table, path, folder, columns, jobs, progress=progress)
    return Partition(sizes, "files", col, files={d: [str(Path(f).resolve()) for f in fs] for d, fs in files.items()})


def _in_child(func, *args, progress=None):
    """``func(*args, progress)`` in a forked child process, its result (or its error) sent back.

    A one-pass split of a large table leaves this process's allocator holding what
    the batches took; the workers forked later would each start from that size. In a
    child, the memory goes back to the system when it ends. The child's progress bars
    are drawn here: it sends each bar's total and steps through the pipe.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        try:
            send.send(("done", func(*args, _RemoteProgress(send) if progress else None)))
        except BaseException as exc:  # noqa: BLE001 -- handed to the parent, which raises it
            send.send(("error", exc))

    process = context.Process(target=child)
    process.start()
    send.close()
    try:
        kind, value = _child_messages(process, receive, progress)
    except BaseException:  # an interrupt: the child stops with us, not on its own as an orphan
        if process.is_alive():
            process.terminate()
        process.join()
        raise
    process.join()
    if kind == "error":
        raise value
    return value


def _child_messages(process, receive, progress) -> tuple:
    """Draw an :func:`_in_child` child's bars from its messages; its last one, ``("done"|"error", value)``."""
    with contextlib.ExitStack() as bars:
        bar = None
        while True:
            try:
                kind, value = receive.recv()
            except EOFError:  # the child died without a word (killed, out of memory)
                process.join()
                raise InputError(f"splitting the table by département stopped (exit code {process.exitcode}); "
                                 "nothing was written") from None
            if kind == "bar":
                bar = _labelled_bar(progress, *value)
                bar = bars.enter_context(bar) if bar is not None else None
            elif kind == "update":
                bar is not None and bar.update(value)
            else:
                return kind, value


class _RemoteProgress:
    """A progress callable whose bar is drawn by the parent process (see :func:`_in_child`)."""

    def __init__(self, pipe):
        self.pipe = pipe

    def __call__(self, total, label="communes"):
        self.pipe.send(("bar", (total, label)))
        return contextlib.nullcontext(self)

    def update(self, n):
        self.pipe.send(("update", n))


def _sizes_by_departement(deps, counts) -> dict:
    """Rows per département from counts per département (repeated labels added up), ``""`` last."""
    totals = pd.Series(np.asarray(counts, dtype=np.int64), index=pd.Index(list(deps), dtype=object)) \
        .groupby(level=0).sum()
    out = {d: int(n) for d, n in sorted(totals.items()) if d}
    if "" in totals.index:
        out[""] = int(totals[""])
    return out


def rows_of(source: tuple) -> pd.DataFrame:
    """The rows a :meth:`Partition.source` names, as the table's own columns."""
    kind = source[0]
    if kind == "frame":
        return source[1]
    if kind == "filter":
        _, path, deps, col = source
        return read_table(Path(path), deps, col)[0]
    frames = [read_parquet_files([Path(f) for f in files]) for files in source[1]]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def split_table(path, folder, columns: AddressColumns = AddressColumns(), jobs: int = 1,
                progress=None) -> tuple[dict, dict]:
    """Split a CSV(.gz) or Parquet address table into Parquet files per département, in one pass.

    Read from one unsorted file, each département would parse the whole file again
    (96 passes over 16 M rows). The table is read once, a batch at a time (memory:
    one batch per process), and each batch's rows are appended to their
    département's file (a CSV's columns as text, a Parquet file's as they are), in
    the table's order. A Parquet file of several row groups is split by ``jobs``
    processes, each over a run of consecutive row groups into its own *slice*: a
    département's rows are its files of every slice, in slice order, which is the
    table's order. The rows whose commune code gives no département go to
    :data:`NO_DEPARTEMENT_FILE`. The split is kept in ``folder`` under a name made of
    the file's path, size and modification time, and reused while the file is unchanged
    (the splits of other versions are removed by :func:`drop_other_splits` once a build starts).

    ``progress``: as for :func:`boundaries.pipeline.run`; a bar over the megabytes
    read is shown when it takes a ``label``.

    Returns
    -------
    (dict, dict)
        Département (``""`` for none) → its Parquet files, and the rows per département.
    """
    path = Path(path)
    col = columns.commune or REU_COLUMNS["commune"]
    # local processes: never more than this machine's cores, whatever a cluster's jobs say
    batches, schema, slices = _table_batches(path, col, max(1, min(jobs, os.cpu_count() or 1)))
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{col}|{SPLIT_FORMAT}".encode()) \
        .hexdigest()[:16]
    done = Path(folder) / f"input-{key}"
    if (done / "split.json").is_file():
        saved = json.loads((done / "split.json").read_text())
        return {d: [str(done / f) for f in fs] for d, fs in saved["files"].items()}, saved["rows"]
    tmp = Path(folder) / f"input-{key}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with _bytes_bar(progress, stat.st_size) as read:
        if len(slices) == 1:
            found = [_write_split(tmp, lambda: batches(slices[0]), schema, col, read)]
        else:
            found = _split_in_children(tmp, batches, schema, col, slices, read)
    files, rows = _joined_slices(found, [tmp / f"slice-{k}" for k in range(len(found))] if len(found) > 1
                                 else [tmp])
    files = {d: [str(Path(f).relative_to(tmp)) for f in fs] for d, fs in files.items()}
    (tmp / "split.json").write_text(json.dumps({"source": str(path), "rows": rows, "files": files}))
    tmp.rename(done)  # the splits of earlier versions go once the build starts (drop_other_splits)
    return {d: [str(done / f) for f in fs] for d, fs in files.items()}, rows


def _table_batches(path: Path, col: str, jobs: int = 1):
    """A function yielding ``(batch, bytes read so far)`` over the table, its batches' schema, and the slices.

    The function takes one of the slices: the row groups to read (a Parquet file's
    row groups cut into at most ``jobs`` runs of consecutive ones, about equal in
    rows), or None for the whole table (a CSV: one slice). A CSV is read by Arrow's
    reader, falling back to the checked pandas reader on anything odd (which names
    the problem); a Parquet file by row batches.
    """
    import pyarrow as pa

    from .read import NotPlainCSV, arrow_csv_batches, check_file, check_parquet_rows, csv_chunks, csv_header

    check_file(path, "address", "ADDRESSES")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
            check_parquet_rows(path)
            meta = pq.ParquetFile(path).metadata
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"cannot read Parquet address file {path}: {str(exc).splitlines()[0]}") from None
        if col not in schema.names:
            raise InputError(f"address file {path} has no column {col!r} to cut by département; name it with "
                             f"{option('commune_column')}")
        group_rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        # the schema kept whole, its pandas metadata too: a part reads back as the table's own rows

        def parquet(groups):
            size, done, total = path.stat().st_size, 0, max(sum(group_rows), 1)
            for batch in pq.ParquetFile(path).iter_batches(batch_size=SPLIT_BATCH_ROWS, row_groups=groups):
                done += batch.num_rows
                yield pa.Table.from_batches([batch], schema=schema), size * done // total
        return parquet, schema, _row_group_slices(group_rows, jobs)
    header = csv_header(path)
    if col not in header:
        raise InputError(f"address file {path} has no column {col!r} to cut by département; name it with "
                         f"{option('commune_column')}")
    schema = pa.schema([(c, pa.string()) for c in header])

    def csv(_groups=None):
        read, held = [0], []
        try:
            # Arrow's blocks (~130,000 rows) gathered to a split batch: a quarter of the
            # row groups to write, each four times larger, costs a third less to write
            for batch in arrow_csv_batches(path, header, lambda n: read.__setitem__(0, n)):
                held.append(batch)
                if sum(b.num_rows for b in held) >= SPLIT_BATCH_ROWS:
                    yield pa.Table.from_batches(held, schema=schema), read[0]
                    held = []
            if held:
                yield pa.Table.from_batches(held, schema=schema), read[0]
        except NotPlainCSV:
            yield None, 0  # start again, with the checked reader
            for chunk in csv_chunks(path):
                yield pa.Table.from_pandas(chunk, schema=schema, preserve_index=False), 0
    return csv, schema, [None]


def _row_group_slices(group_rows: list, jobs: int) -> list:
    """Row groups (positions) cut into at most ``jobs`` runs of consecutive ones, about equal in rows."""
    n = len(group_rows)
    if jobs <= 1 or n <= 1 or sum(group_rows) < SPLIT_PARALLEL_MIN_ROWS:
        return [list(range(n))]
    # the run of each row group: where its first row falls among ``jobs`` equal shares
    starts = np.concatenate([[0], np.cumsum(group_rows)[:-1]])
    run = np.minimum(starts * min(jobs, n) // max(sum(group_rows), 1), min(jobs, n) - 1)
    return [np.flatnonzero(run == k).tolist() for k in np.unique(run)]


def _split_in_children(folder: Path, batches, schema, col: str, slices: list, read) -> list:
    """:func:`_write_split` of each slice into ``folder/slice-K``, in forked processes at once.

    Each child counts its bytes read in shared memory; the bar shows their sum. A
    child that fails stops the others, and its error is raised here.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    counters = [context.Value("q", 0, lock=False) for _ in slices]
    children = []
    for k, groups in enumerate(slices):
        receive, send = context.Pipe(duplex=False)

        def child(k=k, groups=groups, send=send):
            try:
                counter = counters[k]
                send.send(("done", _write_split(folder / f"slice-{k}", lambda: batches(groups), schema, col,
                                                lambda n: setattr(counter, "value", n))))
            except BaseException as exc:  # noqa: BLE001 -- handed to the parent, which raises it
                send.send(("error", exc))

        process = context.Process(target=child)
        process.start()
        send.close()
        children.append((process, receive))
    try:
        return [_child_result(process, receive, lambda: read(sum(c.value for c in counters)))
                for process, receive in children]
    finally:
        for process, _ in children:
            if process.is_alive():
                process.terminate()
            process.join()


def _child_result(process, receive, tick):
    """What a :func:`_split_in_children` child sent (its error raised), ``tick()`` called while waiting."""
    while not receive.poll(0.25):
        tick()
    try:
        kind, value = receive.recv()
    except EOFError:  # the child died without a word (killed, out of memory)
        process.join()
        raise InputError(f"splitting the table by département stopped (exit code {process.exitcode}); "
                         "nothing was written") from None
    tick()
    if kind == "error":
        raise value
    return value


def _joined_slices(found: list, folders: list) -> tuple[dict, dict]:
    """Each département's files over the slices (in slice order) and its rows, ``""`` last."""
    files: dict = {}
    rows: dict = {}
    for (names, counts), folder in zip(found, folders):
        for dep, name in names.items():
            files.setdefault(dep, []).append(str(folder / name))
            rows[dep] = rows.get(dep, 0) + counts[dep]
    order = sorted(rows, key=lambda d: (d == "", d))
    return {d: files[d] for d in sorted(files)}, {d: rows[d] for d in order}


@contextlib.contextmanager
def _bytes_bar(progress, size: int):
    """A callable telling the split's bar (megabytes, when ``progress`` draws labelled bars) the bytes read so far."""
    megabytes = -(-size // MEGABYTE)
    with contextlib.ExitStack() as stack:
        bar = _labelled_bar(progress, megabytes, "reading the table (MB)")
        bar = stack.enter_context(bar) if bar is not None else None
        shown = [0]

        def read(n: int) -> None:
            now = min(megabytes, -(-n // MEGABYTE))
            if bar is not None and now > shown[0]:
                bar.update(now - shown[0])
                shown[0] = now
        yield read
        read(size)


def _write_split(folder: Path, batches, schema, col: str, read=None) -> tuple[dict, dict]:
    """Route every batch's rows to their département's file; returns (file names, rows per département).

    ``read(n)`` is told the bytes read so far after each batch.
    """
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    writers: dict = {}
    rows: dict = {}
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [w.close() for w in writers.values()])
        for table, done in batches():
            if table is None:  # the fast reader gave up: the checked one starts from the top
                for w in writers.values():
                    w.close()
                writers.clear()
                rows.clear()
                continue
            for dep, part in _by_departement(table, col):
                rows[dep] = rows.get(dep, 0) + part.num_rows
                if dep not in writers:
                    writers[dep] = pq.ParquetWriter(folder / (f"{dep}.parquet" if dep else NO_DEPARTEMENT_FILE),
                                                    schema, **SPLIT_WRITE_OPTIONS)
                writers[dep].write_table(part)
            if read is not None:
                read(done)
    files = {d: (f"{d}.parquet" if d else NO_DEPARTEMENT_FILE) for d in sorted(writers)}
    return files, {d: rows[d] for d in sorted(rows, key=lambda d: (d == "", d))}


def _by_departement(table, col: str):
    """``(département, its rows of table)`` for each département present, in the table's order.

    The codes are dictionary-encoded by Arrow: only the distinct ones (a batch has
    ~1,000 times fewer codes than rows) become Python strings.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table.column(col)
    if pa.types.is_floating(column.type):  # a numeric column: 4112.0 is 04112
        column = pc.cast(column, pa.int64())
    text = pc.fill_null(pc.utf8_trim_whitespace(pc.cast(column, pa.string())), "")
    encoded = pc.dictionary_encode(text).combine_chunks()
    labels, which = np.unique(_departements(encoded.dictionary.to_pylist()).astype(str), return_inverse=True)
    dep = which[encoded.indices.to_numpy(zero_copy_only=False)]
    order = np.argsort(dep, kind="stable")  # each département's rows together, in the table's order
    bounds = np.searchsorted(dep[order], np.arange(len(labels) + 1))
    grouped = table.take(pa.array(order))  # one gather, then slices that copy nothing
    for i, d in enumerate(labels):
        if bounds[i + 1] > bounds[i]:
            yield str(d), grouped.slice(bounds[i], bounds[i + 1] - bounds[i])


def _is_csv(path) -> bool:
    name = "".join(Path(path).suffixes[-2:]).lower()
    return name.endswith((".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz"))


@dataclass
class Plan:
    """Which parts a national run builds.

    Attributes
    ----------
    departements : list of str
        The départements asked for (all those of the table by default).
    todo : list of str
        Those with outlines, largest first.
    without_outline : list of str
        Those without any outline: their rows are only reported.
    leftover : list of str
        The départements (``""``: none) of the rows built in the :data:`LEFTOVER` part.
    out_of_scope : int
        Rows of the table not asked for.
    """

    departements: list
    todo: list
    without_outline: list
    leftover: list
    out_of_scope: int


def plan(request, sizes: dict, outline_deps: np.ndarray) -> Plan:
    """The parts of ``request`` for a table of ``sizes`` rows per département."""
    known = [d for d in sizes if d]
    whole = request.all_departements or not request.departement  # the whole table, not a selection
    if not whole:
        missing = [d for d in request.departement if d not in sizes]
        if missing:
            raise InputError(f"no address in département {', '.join(missing)} (the table has: "
                             f"{', '.join(known[:20])})")
    deps = known if whole else list(request.departement)
    if not deps:
        raise InputError(f"no address with a département code in the table; check the commune column "
                         f"({option('commune_column')})")
    with_outline = set(outline_deps.tolist())
    without = [d for d in deps if d not in with_outline]
    todo = sorted((d for d in deps if d in with_outline), key=lambda d: (-sizes[d], d))  # largest first
    # rows without a département are the whole table's, not a selection's
    leftover = [d for d in without if sizes.get(d)] + ([""] if whole and sizes.get("") else [])
    out_of_scope = sum(sizes.values()) - sum(sizes.get(d, 0) for d in set(deps) | set(leftover))
    return Plan(deps, todo, without, leftover, out_of_scope)


def build(request):
    """Build ``request`` by département (see the module docstring): a :class:`~boundaries.result.BuildResult`.

    The stations and the outlines come back on the output grid already (as
    :func:`boundaries.write.to_wgs84` leaves them): what is written, to the byte. The
    report's ``departements`` lists each part, its hash and whether it was reused.
    """
    started = time.perf_counter()
    layer = read_communes(request.communes, request.commune_field, request.communes_layer)
    outline_deps = np.asarray(codes.departement_of(layer.outlines["code"].to_numpy(dtype=object)), dtype=object)
    with _undone_on_refusal(request.work_dir) as refusable, _work_folder(request.work_dir) as work_dir:
        table = partition(request.addresses, work_dir, request.columns, request.progress, request.jobs)
        parts_plan = plan(request, table.sizes, outline_deps)
        refusable.clear()  # parts are built from here on: kept for a rerun, whatever happens
        drop_other_splits(work_dir, table)
        parts = build_parts(parts_plan, table, layer.outlines, outline_deps, work_dir, request)
        result = merge(parts, parts_plan, layer, request)
    result.report.seconds = time.perf_counter() - started
    return result


@contextlib.contextmanager
def _work_folder(work_dir):
    """The work folder (created), or a temporary one removed afterwards."""
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        yield Path(work_dir).resolve()  # absolute: a Dask worker may not run in this folder
        return
    with tempfile.TemporaryDirectory(prefix="boundaries-") as tmp:
        yield Path(tmp)


@contextlib.contextmanager
def _undone_on_refusal(work_dir):
    """Undo what this run makes in ``work_dir`` if the input is refused before any part is built.

    Yields a list holding one flag; clear it once parts are being built. Until then, an
    :class:`InputError` removes the folder if this run made it, else the entries it did
    not hold before (a split of the table). Parts and splits left by an interrupted or
    failed *build* stay, to be reused by a rerun.
    """
    refusable = [True]
    if work_dir is None:  # a temporary folder: removed anyway
        yield refusable
        return
    folder = Path(work_dir).absolute()
    made = folder  # the outermost folder this run creates
    while not made.parent.exists():
        made = made.parent
    before = set(os.listdir(folder)) if folder.is_dir() else None
    try:
        yield refusable
    except InputError:
        if refusable and before is None:
            shutil.rmtree(made, ignore_errors=True)
        elif refusable and folder.is_dir():
            for name in set(os.listdir(folder)) - before:
                _remove(folder / name)
        raise


def drop_other_splits(work_dir: Path, table: Partition) -> None:
    """Remove the splits in ``work_dir`` other than ``table``'s (of earlier versions of the file)."""
    if table.kind != "files":
        return
    folder = Path(work_dir).resolve()
    used = {Path(f).relative_to(folder).parts[0] for files in table.files.values() for f in files}
    for old in folder.glob("input-*"):
        if old.name not in used:
            shutil.rmtree(old, ignore_errors=True)


def _remove(path: Path) -> None:
    """Remove a file or a folder tree, whichever ``path`` is."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def build_parts(parts_plan: Plan, table: Partition, outlines, outline_deps, work_dir: Path, request) -> dict:
    """Build every part (:func:`build_part`), ``request.jobs`` at a time: label → the part's files."""
    tasks, weights = [], []
    for dep in parts_plan.todo:
        # each task gets its own département's outlines: less to send to each worker
        tasks.append((table.source([dep]), outlines[outline_deps == dep], dep, str(work_dir), request.for_part(dep)))
        weights.append(int((outline_deps == dep).sum()))
    if parts_plan.leftover:
        mine = np.isin(outline_deps, parts_plan.leftover)
        tasks.append((table.source(parts_plan.leftover), outlines[mine] if mine.any() else outlines, LEFTOVER,
                      str(work_dir), request.for_part(None, outlines_required=False)))
        weights.append(int(mine.sum()))
    # the bar counts communes (each département's, when it is done), for an ETA that
    # weighs a Paris against a Lozère
    return {info["departement"]: info for info in run_tasks(build_part, tasks, request.jobs, request.progress,
                                                             scheduler=request.scheduler, weights=weights)}


def build_part(source: tuple, outlines, label: str, work_dir: str, request) -> dict:
    """Build one part into the work folder (or find it done). Runs in a worker process or a Dask worker."""
    from .pipeline import build as build_one

    t0 = time.perf_counter()
    rows = rows_of(source)
    key = part_key(rows, outlines, label, request.method, request.params, request.columns, request.crs)
    paths = {kind: str(Path(work_dir) / f"{label}-{key}{suffix}") for kind, suffix in PART_FILES.items()}
    info = {"departement": label, "key": key, "rows": len(rows), **paths}
    if all(Path(p).is_file() for p in paths.values()):
        return {**info, "cached": True, "seconds": 0.0}
    result = build_one(replace(request, addresses=rows, communes=outlines.reset_index(drop=True)))
    _save_part(result, paths)
    for old in Path(work_dir).glob(f"{label}-*"):  # parts of earlier inputs of this département
        if not old.name.startswith(f"{label}-{key}"):
            old.unlink(missing_ok=True)
    return {**info, "cached": False, "seconds": round(time.perf_counter() - t0, 3)}


#: The files of a part, by what they hold (the stations last: a part counts only when all exist).
PART_FILES = {"report": ".report.json", "communes": ".communes.parquet", "neighbours": ".neighbours.npy",
              "stations": ".parquet"}


def _save_part(result, paths: dict) -> None:
    """Write a part's files, each atomically.

    On the output grid already, rounded and checked here, in parallel: the final
    write finds the merged layers on its grid and has nothing left to check.
    """
    from scipy import sparse

    from .write import atomic_path, to_wgs84

    with atomic_path(paths["report"]) as tmp:
        Path(tmp).write_text(result.report.to_json())
    with atomic_path(paths["communes"]) as tmp:
        to_wgs84(result.communes).to_parquet(tmp, index=False)
    # the stations that touch, as pairs of rows of the part: the merge finds only those across borders
    pairs = sparse.triu(result.neighbours, k=1).tocoo()
    with atomic_path(paths["neighbours"]) as tmp, open(tmp, "wb") as f:
        np.save(f, np.stack([pairs.row, pairs.col]).astype(np.int32))
    with atomic_path(paths["stations"]) as tmp:
        to_wgs84(result.stations).to_parquet(tmp, index=False)


def merge(parts: dict, parts_plan: Plan, layer, request):
    """One result from the parts: stations in département order, colours chosen again across borders."""
    from .colouring import greedy_colours
    from .result import BuildResult

    order = sorted(parts, key=lambda d: (d == LEFTOVER, d))
    stations, lengths = _read_parts([parts[d]["stations"] for d in order])
    check_unique_ids(stations["id_bv"])
    # colours were chosen per département: choose them again across their borders, from
    # each part's pairs of touching stations and the pairs found across borders
    block = np.repeat(np.arange(len(order)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    inner = np.concatenate([np.load(parts[d]["neighbours"]).astype(np.int64).reshape(2, -1) + start
                            for d, start in zip(order, starts)], axis=1)
    neighbours = colour_neighbours(stations, block, (inner[0], inner[1]))
    stations["colour"] = greedy_colours(neighbours)
    reports = [json.loads(Path(parts[d]["report"]).read_text()) for d in order]
    report = Report.merge(reports + [Report(rows_read=parts_plan.out_of_scope,
                                            rows_out_of_scope=parts_plan.out_of_scope)],
                          request.params.to_dict(), request.method)
    crs = next((r["inputs"].get("crs") for r in reports if r.get("inputs")), None)
    _national_details(report, parts, parts_plan, layer, request, crs)
    communes, _ = _read_parts([parts[d]["communes"] for d in order])
    communes = communes.sort_values("code", kind="stable").reset_index(drop=True)
    return BuildResult(stations=stations, report=report, communes=communes, neighbours=neighbours)


def _national_details(report: Report, parts: dict, parts_plan: Plan, layer, request, crs) -> None:
    """What only the whole run knows: its inputs, the outline repairs (read once), its parts."""
    report.outlines_repaired = layer.repaired
    report.codes_repaired["outlines"] = layer.codes_repaired
    if layer.repaired:
        report.warnings.append(f"{layer.where}: {layer.repaired:,} invalid outline geometries (self-intersections) "
                               "repaired with make_valid")
    report.inputs = {"addresses": input_name(request.addresses), "communes": input_name(request.communes),
                     **({"communes_layer": layer.layer} if layer.layer is not None else {}),
                     **({"addresses_layer": request.addresses_layer} if request.addresses_layer else {}),
                     "crs": crs or request.crs,
                     "departement": parts_plan.departements,
                     "work_dir": str(request.work_dir) if request.work_dir is not None else None}
    report.departements = {d: {k: v for k, v in parts[d].items() if k in ("key", "cached", "rows", "seconds")}
                           for d in sorted(parts) if d != LEFTOVER}
    report.departements_without_outline = parts_plan.without_outline


def _departements(commune_codes) -> np.ndarray:
    """The département of each commune code, lost zero restored (4112 is 04112); ``""`` for none."""
    known, _ = codes.repair_lost_zero(pd.Series(np.asarray(commune_codes, dtype=object), dtype="string").fillna(""))
    known = known.fillna("").tolist()
    if not known:
        return np.array([], dtype=object)
    return np.array([d if d and codes.is_departement_code(d) else "" for d in codes.departement_of(known)],
                    dtype=object)


#: Bytes in the megabyte of the split's progress bar.
MEGABYTE = 1_000_000


def _labelled_bar(progress, total: int, label: str):
    """``progress(total, label=label)`` when the callable takes a label (the command's bars do), else None."""
    import inspect

    if progress is None:
        return None
    try:
        parameters = inspect.signature(progress).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.name == "label" or p.kind is p.VAR_KEYWORD for p in parameters):
        return progress(total, label=label)
    return None


def part_key(rows: pd.DataFrame, outlines, dep: str, method: str, params: Parameters,
             columns: AddressColumns, crs: str | None) -> str:
    """The content hash naming a département's part (hex, 16 characters)."""
    from . import __version__

    h = hashlib.sha256()
    h.update(json.dumps({"version": __version__, "part_format": PART_FORMAT, "departement": dep, "method": method,
                         "params": params.to_dict(), "columns": vars(columns) if hasattr(columns, "__dict__")
                         else str(columns), "crs": crs}, sort_keys=True, default=str).encode())
    h.update(_table_digest(rows))
    h.update(str(outlines.crs).encode())
    for code, geom in zip(outlines["code"], outlines.geometry.values):
        h.update(str(code).encode() + b"\0" + geom.wkb)
    return h.hexdigest()[:16]


def _table_digest(rows: pd.DataFrame) -> bytes:
    """SHA-256 of a frame's values: its schema, then each column's Arrow buffers.

    The buffers are hashed where they lie (no IPC stream written first: growing one
    cost more than the hash); ~30× faster than hashing row by row. A column Arrow
    cannot type falls back to pandas' row hashes.
    """
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(rows, preserve_index=False).replace_schema_metadata(None)
    except (pa.ArrowException, TypeError, ValueError):
        return hashlib.sha256(pd.util.hash_pandas_object(rows.astype("string"), index=False)
                              .to_numpy().tobytes()).digest()
    h = hashlib.sha256(str(table.schema).encode())
    for column in table.columns:
        array = column.combine_chunks()
        h.update(f"|{len(array)}|{array.offset}|{array.null_count}|".encode())
        for buf in array.buffers():
            h.update(b"-" if buf is None else len(buf).to_bytes(8, "little"))
            if buf is not None:
                h.update(buf)
    return h.digest()


def _read_parts(paths: list[str]):
    """The parts' GeoParquet files (WGS84, written by :func:`_build_departement`) as one frame,
    and the number of rows of each file.

    Read with pyarrow and joined before the geometries are parsed: ``read_parquet``
    per part would parse the same CRS definition once per file (96 × 2 files).
    """
    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    tables = [pq.read_table(p) for p in paths]
    # a part without stations (the rows no outline covers) has no types to agree with
    full = [t for t in tables if t.num_rows] or tables[:1]
    df = pa.concat_tables(full).to_pandas()
    geometry = shapely.from_wkb(df["geometry"].to_numpy())
    return (gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=geometry, crs="EPSG:4326")[list(df.columns)],
            [t.num_rows for t in tables])
