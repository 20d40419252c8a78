"""Many départements, one at a time: bounded memory, parallel, resumable.

A national run builds each département on its own — reading only its rows of the
table (:func:`boundaries.read.read_addresses` filters while reading) — and writes
each result as a *part* in a work folder, named by a content hash of everything
that decides it: the département's rows, its outlines, the method, the
parameters and the version of ``boundaries``. A rerun finds the parts whose hash
still matches and skips them, so a crash costs one département, and a refresh of
the table rebuilds only the départements whose rows changed. The parts are then
merged in département order; the output is the same whatever the number of
processes and whichever parts were reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import codes
from .errors import InputError
from .parallel import run_tasks
from .params import Parameters
from .read import REU_COLUMNS, AddressColumns, _read_table, input_name, read_communes
from .report import Report


#: Changes when what a part holds changes (2: geometries on the output grid), so older parts are rebuilt.
PART_FORMAT = 2


def departements_of_table(addresses, columns: AddressColumns = AddressColumns()) -> dict[str, int]:
    """Rows per département of an address table, reading its commune column only.

    Rows whose commune code gives no département are counted under ``""``.
    """
    col = columns.commune or REU_COLUMNS["commune"]
    if isinstance(addresses, pd.DataFrame):
        values = addresses[col]
    else:
        path = Path(addresses)
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            import pyarrow as pa

            # counted in Arrow, per distinct code: a national column has 16 M values, 35,000 distinct
            column = pq.read_table(path, columns=[col]).column(col)
            tally = pc.value_counts(pc.utf8_trim_whitespace(pc.cast(column, pa.string())))
            values = None
            per_code = pd.Series(tally.field("counts").to_numpy(zero_copy_only=False),
                                 index=tally.field("values").to_numpy(zero_copy_only=False))
        else:
            from .read import _sniff_text

            encoding, sep, _ = _sniff_text(path)
            values = pd.read_csv(path, sep=sep, encoding=encoding, usecols=[col], dtype=str,
                                 keep_default_na=False)[col]
    if values is not None:
        per_code = values.astype("string").str.strip().value_counts(dropna=False)
    deps = _departements(per_code.index)
    totals = pd.Series(per_code.to_numpy(dtype=np.int64), index=pd.Index(deps, dtype=object)).groupby(level=0).sum()
    out = {d: int(n) for d, n in sorted(totals.items()) if d}
    if "" in totals.index:
        out[""] = int(totals[""])  # rows without a usable commune code
    return out


def _departements(commune_codes) -> np.ndarray:
    """The département of each commune code, lost zero restored (4112 is 04112); ``""`` for none."""
    known, _ = codes.repair_lost_zero(pd.Series(np.asarray(commune_codes, dtype=object), dtype="string").fillna(""))
    known = known.fillna("").tolist()
    if not known:
        return np.array([], dtype=object)
    return np.array([d if d and codes.is_departement_code(d) else "" for d in codes.departement_of(known)],
                    dtype=object)


def split_csv(path, folder, columns: AddressColumns = AddressColumns(), progress=None) -> tuple[dict, dict]:
    """Split a CSV(.gz) address table into one Parquet file per département, in one pass.

    A national run builds each département from its own rows; read from one CSV, each
    département would parse the whole file again (96 passes over 16 M rows). The
    table is read once, in chunks (memory: one chunk), and each chunk's rows are
    appended to their département's file, every column kept as text. The split is
    kept in ``folder`` under a name made of the file's path, size and modification
    time, and reused while the file is unchanged.

    ``progress``: as for :func:`build_departements`; a bar over the megabytes read
    is shown when it takes a ``label``.

    Returns
    -------
    (dict, dict)
        Département → its Parquet file, and the rows per département (``""``: rows
        without a usable commune code, not written), as :func:`departements_of_table`.
        ``({}, {})`` when the table has no commune column to split by.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .read import _csv_header

    path = Path(path)
    col = columns.commune or REU_COLUMNS["commune"]
    header = _csv_header(path)
    if col not in header:
        return {}, {}
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{col}".encode()).hexdigest()[:16]
    done = Path(folder) / f"input-{key}"
    if (done / "split.json").is_file():
        saved = json.loads((done / "split.json").read_text())
        return {d: str(done / f) for d, f in saved["files"].items()}, saved["rows"]
    tmp = Path(folder) / f"input-{key}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    schema = pa.schema([(c, pa.string()) for c in header])
    writers, rows = {}, {}

    def route(table: pa.Table, commune: pd.Series) -> None:
        # each distinct code once (a chunk has ~1,000 times fewer codes than rows)
        which, distinct = pd.factorize(commune.fillna("").str.strip(), use_na_sentinel=False)
        dep = _departements(distinct)[which]
        for d, idx in pd.Series(dep).groupby(dep, sort=True).indices.items():
            rows[d] = rows.get(d, 0) + len(idx)
            if not d:
                continue
            if d not in writers:
                writers[d] = pq.ParquetWriter(tmp / f"{d}.parquet", schema)
            writers[d].write_table(table.take(pa.array(idx)))

    megabytes = -(-stat.st_size // MEGABYTE)
    with contextlib.ExitStack() as stack:
        bar = _labelled_bar(progress, megabytes, "reading the table (MB)")
        bar = stack.enter_context(bar) if bar is not None else None
        shown = [0]

        def read_bytes(n: int) -> None:
            if bar is not None:
                now = min(megabytes, -(-n // MEGABYTE))
                bar.update(now - shown[0])
                shown[0] = now

        _split_batches(path, header, schema, col, route, writers, rows, read_bytes)
        read_bytes(stat.st_size)
    (tmp / "split.json").write_text(json.dumps({"source": str(path), "rows": rows,
                                                "files": {d: f"{d}.parquet" for d in sorted(writers)}}))
    for old in Path(folder).glob("input-*"):  # splits of earlier versions of the file
        if old.name != tmp.name:
            shutil.rmtree(old, ignore_errors=True)
    tmp.rename(done)
    return {d: str(done / f"{d}.parquet") for d in sorted(writers)}, rows


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


def _split_batches(path, header, schema, col, route, writers, rows, read_bytes) -> None:
    """Route every chunk of the CSV to its départements' files (Arrow's reader, else the checked one)."""
    import pyarrow as pa

    from .read import NotPlainCSV, arrow_csv_batches, csv_chunks

    try:
        try:
            # Arrow's reader (threaded, ~20× faster than pandas'); anything it finds odd
            # sends the file to the checked pandas reader below, which names the problem
            for batch in arrow_csv_batches(path, header, read_bytes):
                table = pa.Table.from_batches([batch], schema=schema)
                route(table, table.column(col).to_pandas())
        except NotPlainCSV:
            for w in writers.values():
                w.close()
            writers.clear()
            rows.clear()
            for chunk in csv_chunks(path):
                route(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False), chunk[col])
    finally:
        for w in writers.values():
            w.close()


def _is_csv(addresses) -> bool:
    if isinstance(addresses, pd.DataFrame):
        return False
    name = "".join(Path(addresses).suffixes[-2:]).lower()
    return name.endswith((".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz"))


def _rows_of(addresses, dep: str, col: str, whole: bool = False) -> pd.DataFrame:
    """The département's rows of the table; ``whole``: the file holds only them (a split)."""
    if isinstance(addresses, pd.DataFrame):
        code, _ = codes.repair_lost_zero(addresses[col].astype("string").fillna("").str.strip())
        keep = code.str.startswith(dep)
        return addresses.loc[keep.to_numpy()].reset_index(drop=True)
    df, _ = _read_table(Path(addresses), None if whole else (dep,), col)
    df.attrs.pop("rows_skipped", None)  # the other départements' rows are counted once, by the caller
    return df


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


def _build_departement(addresses, outlines, dep: str, work_dir: str, method: str, params: Parameters,
                       columns: AddressColumns, crs: str | None, split: bool = False) -> dict:
    """Build one département into its part (or find it done). Runs in a worker process or a Dask worker.

    ``split``: ``addresses`` is the département's own file, made by :func:`split_csv`.
    """
    from scipy import sparse

    from .pipeline import build
    from .write import atomic_path, to_wgs84

    t0 = time.perf_counter()
    col = columns.commune or REU_COLUMNS["commune"]
    rows = _rows_of(addresses, dep, col, whole=split)
    mine = outlines[np.asarray(codes.departement_of(outlines["code"].to_numpy(dtype=object))) == dep]
    key = part_key(rows, mine, dep, method, params, columns, crs)
    stations_path = Path(work_dir) / f"{dep}-{key}.parquet"
    report_path = Path(work_dir) / f"{dep}-{key}.report.json"
    communes_path = Path(work_dir) / f"{dep}-{key}.communes.parquet"
    neighbours_path = Path(work_dir) / f"{dep}-{key}.neighbours.npy"
    paths = {"stations": str(stations_path), "report": str(report_path), "communes": str(communes_path),
             "neighbours": str(neighbours_path)}
    if all(Path(p).is_file() for p in paths.values()):
        return {"departement": dep, "key": key, "cached": True, "rows": len(rows), **paths, "seconds": 0.0}
    result = build(rows, mine.reset_index(drop=True), method=method, columns=columns, crs=crs, params=params,
                   departement=dep, jobs=1)
    with atomic_path(report_path) as tmp:
        Path(tmp).write_text(result.report.to_json())
    # On the output grid already, rounded and checked here, in parallel: the final
    # write finds the merged layers on its grid and has nothing left to check.
    with atomic_path(communes_path) as tmp:
        to_wgs84(result.communes).to_parquet(tmp, index=False)
    # the stations that touch, as pairs of rows of the part: the merge finds only those across borders
    pairs = sparse.triu(result.neighbours, k=1).tocoo()
    with atomic_path(neighbours_path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.stack([pairs.row, pairs.col]).astype(np.int32))
    with atomic_path(stations_path) as tmp:  # the stations last: a part counts only when all exist
        to_wgs84(result.stations).to_parquet(tmp, index=False)
    for old in Path(work_dir).glob(f"{dep}-*"):  # parts of earlier inputs of this département
        if not old.name.startswith(f"{dep}-{key}"):
            old.unlink(missing_ok=True)
    return {"departement": dep, "key": key, "cached": False, "rows": len(rows), **paths,
            "seconds": round(time.perf_counter() - t0, 3)}


def build_departements(
    addresses,
    communes,
    work_dir,
    *,
    departements=None,
    method: str = "voronoi",
    columns: AddressColumns = AddressColumns(),
    crs: str | None = None,
    commune_field: str | None = None,
    params: Parameters = Parameters(),
    jobs: int = 1,
    progress=None,
    scheduler: str | None = None,
):
    """Build several départements (default: every one of the table) one at a time, resumably.

    Parameters
    ----------
    addresses, communes, method, columns, crs, commune_field, params
        As for :func:`boundaries.build`; ``addresses`` is best a Parquet or CSV file
        (each département's rows are read on their own; a CSV is first split into one
        Parquet file per département by :func:`split_csv`, kept in ``work_dir``).
    work_dir : str or pathlib.Path
        Folder of the per-département parts (created); keep it between runs to resume.
    departements : list of str, optional
        The départements to build; default all those of the table.
    jobs : int
        Départements built at once, each in its own process (largest first).
    progress : callable, optional
        ``progress(total)``: a progress bar over the communes (outlines) of the
        départements, advanced by each département's communes when it is done. If
        it also takes a ``label`` keyword, a CSV table's split shows a bar of its own
        (``label="reading the table (MB)"``, total in megabytes).
    scheduler : str, optional
        Build the départements on a Dask cluster instead (each département one
        task, its communes built in turn): the scheduler's address
        (``tcp://host:8786``), or ``"local"`` for a local cluster of ``jobs``
        workers (needs ``boundaries[cluster]``). The workers read ``addresses`` and
        write into ``work_dir`` by the same paths as here (made absolute): on a
        cluster of several machines both must be on a filesystem they all see.

    Returns
    -------
    BuildResult
        All stations (sorted by commune, then number) and one merged report, whose
        ``departements`` lists each part, its hash and whether it was reused. The
        stations and the outlines are on the output grid already (as
        :func:`boundaries.write.to_wgs84` leaves them): what is written, to the byte.
    """
    import geopandas as gpd

    from .colouring import adjacency_across, greedy_colours
    from .pipeline import BuildResult

    started = time.perf_counter()
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    outlines, n_repaired = read_communes(communes, commune_field)
    split = {}
    if _is_csv(addresses):
        split, sizes = split_csv(addresses, work_dir, columns, progress)
    if not split:
        sizes = departements_of_table(addresses, columns)
    if departements:
        unknown = [d for d in departements if not codes.is_departement_code(d)]
        if unknown:
            raise InputError(f"--departement {unknown[0]!r} is not a département code (2 digits, 2A/2B, or 971…978)")
        missing = [d for d in departements if d not in sizes]
        if missing:
            raise InputError(f"no address in département {', '.join(missing)} (the table has: "
                             f"{', '.join(list(sizes)[:20])})")
        deps = list(dict.fromkeys(departements))
    else:
        deps = [d for d in sizes if d]
    if not deps:
        raise InputError("no address with a département code in the table; check the commune column")
    outline_dep = np.asarray(codes.departement_of(outlines["code"].to_numpy(dtype=object)))
    no_outline = [d for d in deps if d not in set(outline_dep)]
    todo = sorted((d for d in deps if d not in no_outline), key=lambda d: (-sizes[d], d))  # largest first
    # absolute paths: a Dask worker may not run in this folder
    source = addresses if isinstance(addresses, pd.DataFrame) else str(Path(addresses).resolve())
    # each task gets its own département's outlines (less to send to each worker), and its
    # own rows' file when the table was split
    tasks = [(str(Path(split[d]).resolve()) if d in split else source, outlines[outline_dep == d], d,
              str(work_dir.resolve()), method, params, columns, crs, d in split)
             for d in todo]
    # the bar counts communes (each département's, when it is done), for an ETA that
    # weighs a Paris against a Lozère
    communes_of = [int((outline_dep == d).sum()) for d in todo]
    parts = {info["departement"]: info
             for info in run_tasks(_build_departement, tasks, jobs, progress, scheduler=scheduler,
                                   weights=communes_of)}

    stations, lengths = _read_parts([parts[d]["stations"] for d in sorted(parts)])
    # colours were chosen per département: choose them again across their borders, from
    # each part's pairs of touching stations and the pairs found across borders
    block = np.repeat(np.arange(len(parts)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    inner = np.concatenate([np.load(parts[d]["neighbours"]).astype(np.int64) + start
                            for d, start in zip(sorted(parts), starts)], axis=1)
    neighbours = adjacency_across(stations.geometry.values.to_numpy(), block, (inner[0], inner[1]))
    stations["colour"] = greedy_colours(neighbours)
    reports = [json.loads(Path(parts[d]["report"]).read_text()) for d in sorted(parts)]
    report = merge_reports(reports, params, method)
    report.outlines_repaired = n_repaired
    report.codes_repaired["outlines"] = int(outlines.attrs.get("codes_repaired", 0))
    if n_repaired:
        report.warnings.append(f"{outlines.attrs.get('where', 'outline layer')}: {n_repaired:,} invalid outline "
                               "geometries (self-intersections) repaired with make_valid")
    report.inputs = {"addresses": input_name(addresses), "communes": input_name(communes),
                     "departement": deps, "work_dir": str(work_dir)}
    report.departements = {d: {k: v for k, v in parts[d].items()
                               if k not in ("stations", "report", "communes", "neighbours", "departement")}
                           for d in sorted(parts)}
    report.departements_without_outline = no_outline
    # rows never read by a département's build: other départements, no outline, no commune code
    unbuilt = sum(sizes[d] for d in no_outline) + sizes.get("", 0)
    other = sum(sizes.values()) - sum(sizes[d] for d in deps) - sizes.get("", 0)
    report.rows_read += other + unbuilt
    report.rows_out_of_scope += other
    report.rows_dropped["commune_without_outline"] = report.rows_dropped.get("commune_without_outline", 0) + unbuilt
    report.seconds = time.perf_counter() - started
    outlines_used, _ = _read_parts([parts[d]["communes"] for d in sorted(parts)])
    outlines_used = outlines_used.sort_values("code", kind="stable").reset_index(drop=True)
    return BuildResult(stations=stations, report=report, communes=outlines_used, neighbours=neighbours)


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
    df = pa.concat_tables(tables).to_pandas()
    geometry = shapely.from_wkb(df["geometry"].to_numpy())
    return (gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=geometry, crs="EPSG:4326")[list(df.columns)],
            [t.num_rows for t in tables])


def merge_reports(reports: list[dict], params: Parameters, method: str) -> Report:
    """One report from the per-département ones: counts added, lists and per-commune details joined."""
    out = Report(parameters=params.to_dict(), method=method)
    out.rows_dropped = {}
    for r in reports:
        for k in ("rows_read", "rows_out_of_scope", "rows_used", "rows_held_out", "stations_in", "stations_out",
                  "communes_built"):
            setattr(out, k, getattr(out, k) + int(r.get(k) or 0))
        for k, v in (r.get("rows_dropped") or {}).items():
            out.rows_dropped[k] = out.rows_dropped.get(k, 0) + int(v)
        out.duplicate_rows += int(r.get("duplicate_rows") or 0)
        out.codes_repaired["rows"] += int((r.get("codes_repaired") or {}).get("rows") or 0)
        out.warnings += [w for w in r.get("warnings") or [] if w not in out.warnings]
        out.stations_without_polygon += r.get("stations_without_polygon") or []
        out.communes_without_outline += r.get("communes_without_outline") or []
        out.communes.update(r.get("communes") or {})
    return out
