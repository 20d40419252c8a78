"""Resources, schedulers and option values at their limits (issue 17, items 8, 10, 12, 13).

A decompression bomb, a scheduler that never answers, a malformed scheduler address and
option values anywhere on the float line: each gives exit 2 and one line, never a hang, a
traceback, an exhausted memory or an absurd run.
"""

import contextlib
import gzip
import socket
import threading
import time
import zlib
from dataclasses import fields

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries import national, read
from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.params import Parameters
from boundaries.request import OPTION_RANGES
from conftest import TOWN


def _build(tmp_path, *args, addresses=None):
    """``boundaries build`` on the town (or ``addresses``) into tmp_path; the click result."""
    out = tmp_path / "out.geojson"
    return CliRunner().invoke(main, ["build", str(addresses or TOWN / "addresses.csv"), "--communes",
                                     str(TOWN / "communes.geojson"), "-o", str(out), "-q", *args])


def _one_line_exit_2(result):
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("boundaries: error:"), result.output
    assert "Traceback" not in result.output
    return lines[0]


# --------------------------------------------------------------------------------------
# item 13: the scheduler

@contextlib.contextmanager
def _silent_port():
    """A port on 127.0.0.1 that accepts connections and never says a word (closed at the end)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


def test_a_scheduler_that_accepts_and_never_answers_fails_within_the_timeout(tmp_path):
    pytest.importorskip("distributed", reason="--scheduler needs the cluster extra (distributed)")
    with _silent_port() as port:
        started = time.monotonic()
        result = _build(tmp_path, "--scheduler", f"tcp://127.0.0.1:{port}")
        elapsed = time.monotonic() - started
    line = _one_line_exit_2(result)
    assert "cannot reach the Dask scheduler" in line and "--scheduler" in line
    assert elapsed < 30
    assert not (tmp_path / "out.geojson").exists()


#: Addresses that are not ``[protocol://]host:port`` with a port from 1 to 65535.
MALFORMED = st.one_of(
    st.sampled_from(["tcp://", "foo:bar:baz", "tcp://host:99999", "tcp://127.0.0.1:0", "/tmp/scheduler.json",
                     "", " ", "tcp://127.0.0.1", "127.0.0.1:", "http://127.0.0.1:8786", "tcp://:8786",
                     "tcp://127.0.0.1:8786/x", "tcp://a b:1", "tcp://127.0.0.1:-1"]),
    st.text(alphabet=list(":/.[]tcp0123456789 \\\x00\x1bé-"), max_size=20).filter(
        lambda s: not s.count(":") == 1 or not s.rsplit(":", 1)[1].isdigit()),
    st.integers(min_value=65536, max_value=10**12).map(lambda p: f"tcp://127.0.0.1:{p}"),
)


@settings(deadline=None)
@given(address=MALFORMED)
def test_a_malformed_scheduler_address_is_refused_at_once(tmp_path_factory, address):
    tmp_path = tmp_path_factory.mktemp("sched")
    started = time.monotonic()
    result = _build(tmp_path, "--scheduler", address)
    assert time.monotonic() - started < 5
    line = _one_line_exit_2(result)
    assert "--scheduler" in line
    assert "__del__" not in result.output


def test_a_malformed_scheduler_address_is_an_input_error_from_python():
    import boundaries

    with pytest.raises(InputError, match="scheduler"):
        boundaries.build(TOWN / "addresses.csv", TOWN / "communes.geojson", scheduler="foo:bar:baz")


# --------------------------------------------------------------------------------------
# item 12: decompression bombs

HEADER = (TOWN / "addresses.csv").read_bytes().split(b"\n", 1)[0] + b"\n"
ROW = (TOWN / "addresses.csv").read_bytes().split(b"\n", 2)[1] + b"\n"


def _gzip_bomb(path, unit: bytes, size: int, header: bytes = HEADER) -> None:
    """A .gz of ``header`` then ``unit`` repeated to ``size`` bytes, compressed as it is written."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = unit * max(1, (1 << 20) // max(len(unit), 1))
    with open(path, "wb") as f:
        f.write(co.compress(header))
        for _ in range(size // len(block) + 1):
            f.write(co.compress(block))
        f.write(co.flush())


#: Bytes a bomb expands to in the tests: over INFLATE_CHECK_AFTER_BYTES, a second to write.
BOMB_BYTES = 3 * read.INFLATE_CHECK_AFTER_BYTES


def _read_with(path, reader: str):
    """Read ``path`` through one of the package's reading paths, to the end."""
    header = read.csv_header(path)
    if reader == "build":
        read.read_addresses(path)
    elif reader == "departement":
        read.read_addresses(path, commune_prefixes=("99",))
    elif reader == "commune column":
        for _ in read.commune_column_batches(path, "code_commune_ref"):
            pass
    elif reader == "checked":
        for _ in read.csv_chunks(path):
            pass
    elif reader == "arrow":
        for _ in read.arrow_csv_batches(path, header):
            pass
    else:
        national.split_table(path, path.parent / "work")


READERS = ["build", "departement", "commune column", "checked", "arrow", "split"]


def test_a_gzip_bomb_of_valid_rows_is_refused_in_one_line(tmp_path):
    bomb = tmp_path / "addresses.csv.gz"
    _gzip_bomb(bomb, ROW, BOMB_BYTES)
    assert bomb.stat().st_size * read.MAX_INFLATE_RATIO < BOMB_BYTES
    result = _build(tmp_path, addresses=bomb)
    line = _one_line_exit_2(result)
    assert f"expands more than {read.MAX_INFLATE_RATIO}×" in line and str(bomb) in line and "gunzip" in line
    assert not (tmp_path / "out.geojson").exists()


@settings(deadline=None)
@given(unit=st.one_of(st.just(ROW), st.binary(min_size=1, max_size=300),
                      st.text(alphabet=list('0123456789,;"\n\r\t ABéx_.-'), min_size=1, max_size=300)
                      .map(lambda t: t.encode())),
       reader=st.sampled_from(READERS))
def test_every_reader_refuses_a_gzip_bomb_early(tmp_path_factory, unit, reader):
    """Any repeated content (rows, one endless line, an open quote, binary) expanding past the cap."""
    folder = tmp_path_factory.mktemp("bomb")
    bomb = folder / "addresses.csv.gz"
    _gzip_bomb(bomb, unit, BOMB_BYTES)
    with pytest.raises(InputError):
        _read_with(bomb, reader)


@pytest.mark.parametrize("reader", READERS)
def test_a_genuine_gzip_table_is_read_by_every_reader(tmp_path, reader):
    """Real-looking rows (the town's, 10× compressible) well past the check's threshold: no refusal."""
    rows = (TOWN / "addresses.csv").read_bytes().split(b"\n", 1)[1]
    path = tmp_path / "addresses.csv.gz"
    with gzip.open(path, "wb") as f:
        f.write(HEADER)
        for _ in range(2 * read.INFLATE_CHECK_AFTER_BYTES // len(rows) + 1):
            f.write(rows)
    _read_with(path, reader)


def test_a_parquet_bomb_is_refused_before_it_is_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = read.PARQUET_CHECK_AFTER_ROWS + 1
    columns = dict(zip(HEADER.decode().strip().split(","), ROW.decode().strip().split(",")))
    table = pa.table({k: pa.array([v], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32)))
                      for k, v in columns.items()})
    bomb = tmp_path / "addresses.parquet"
    pq.write_table(table, bomb, compression="zstd")
    assert bomb.stat().st_size * read.MAX_PARQUET_ROWS_PER_BYTE < n
    with pytest.raises(InputError, match="rows in"):
        read.read_addresses(bomb, commune_prefixes=("99",))
    line = _one_line_exit_2(_build(tmp_path, addresses=bomb))
    assert "per byte" in line and str(bomb) in line


# --------------------------------------------------------------------------------------
# items 8 and 10: option values anywhere on the float line

def _small_town():
    """Commune 99003 of the town (406 rows, 2 stations): a build in a fraction of a second."""
    import geopandas as gpd
    import pandas as pd

    rows = pd.read_csv(TOWN / "addresses.csv", dtype=str)
    outlines = gpd.read_file(TOWN / "communes.geojson")
    return rows[rows["code_commune_ref"] == "99003"].reset_index(drop=True), outlines[outlines["code"] == "99003"]


SMALL_ROWS, SMALL_OUTLINE = _small_town()
#: Every numeric keyword of boundaries.build and its range.
RANGES = {**{f.name: f.metadata["range"] for f in fields(Parameters)},
          **{("simplify" if k == "simplify_m" else k): r for k, r in OPTION_RANGES.items()}}
#: Numbers at the float limits: NaN, ±inf, ±0, subnormals, huge and tiny values, huge integers.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-307, max_value=1e-307),  # subnormals and their neighbours
    st.sampled_from([0, -0.0, 5e-324, 1e-300, 1e308, -1e308, float("nan"), float("inf"), -1, 2**63, 2**64]),
    st.integers(min_value=-2**70, max_value=2**70),
)


def _build_small(**options):
    import boundaries

    return boundaries.build(SMALL_ROWS, SMALL_OUTLINE, **options)


def _assert_built(result):
    assert len(result.stations) == 2 and result.stations.geometry.notna().all()


def _inside(allowed):
    """Any number of a range (whole numbers for a whole range)."""
    if allowed.whole:
        return st.integers(min_value=int(allowed.low), max_value=int(allowed.high))
    return st.floats(min_value=allowed.low, max_value=allowed.high, exclude_max=allowed.high_open)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow on the way is an absurd run
@settings(deadline=None)
@given(data=st.data(), method=st.sampled_from(["voronoi", "hull", "auto"]))
def test_any_number_for_any_option_is_refused_in_one_line_or_builds(data, method):
    """Never an internal error, a warning of overflow or an absurd run: a refusal naming the option, or stations."""
    name = data.draw(st.sampled_from(sorted(RANGES)), label="name")
    value = data.draw(st.one_of(NUMBERS, _inside(RANGES[name])), label="value")
    options = {name: value, "method": method, **({"holdout": 0.2} if name == "seed" else {})}
    try:
        result = _build_small(**options)
    except InputError as exc:
        message = str(exc)
        assert name in message and "\n" not in message and str(RANGES[name]) in message
        assert not RANGES[name].accepts(value)
        return
    assert RANGES[name].accepts(value)
    _assert_built(result)


def _edges(allowed):
    """The values at the edges of a range: its ends (just below an open end) and its off value."""
    high = allowed.high - (1e-9 if allowed.high_open else 0)
    return [v for v in (allowed.low, high, allowed.off) if v is not None]


@pytest.mark.parametrize("name,value", [(n, v) for n, r in RANGES.items() for v in _edges(r)])
def test_every_value_at_the_edges_of_a_range_builds(name, value):
    """The ranges promise a build: their ends are not internal errors either."""
    method = "auto" if name.startswith(("auto", "hull")) else "voronoi"
    value = int(value) if RANGES[name].whole else value
    _assert_built(_build_small(**{name: value, "method": method, **({"holdout": 0.2} if name == "seed" else {})}))


ABSURD = ["nan", "inf", "-inf", "1e308", "-1e308", "1e-300", "-1", "5e-324"]


@pytest.mark.parametrize("name", sorted(RANGES))
def test_absurd_values_on_the_command_line_give_exit_2_and_one_line_naming_the_flag(tmp_path, name):
    flag = "--jobs" if name == "jobs" else "--" + name.replace("_", "-")
    whole = RANGES[name].whole
    for value in (["-5", "99999999999999999999"] if whole else ABSURD):
        if RANGES[name].accepts(float(value)):
            continue
        result = _build(tmp_path, flag, value)
        line = _one_line_exit_2(result)
        assert flag in line and str(RANGES[name]) in line, line
        assert not (tmp_path / "out.geojson").exists()


# --------------------------------------------------------------------------------------
# item 12: --commune keeps only its communes' rows while reading

def _town_files(folder):
    """The town's table as CSV, CSV.gz and Parquet (commune codes as text, and as numbers)."""
    import pandas as pd

    rows = pd.read_csv(TOWN / "addresses.csv", dtype=str)
    files = {"csv": TOWN / "addresses.csv", "gz": folder / "addresses.csv.gz", "parquet": folder / "a.parquet",
             "numeric": folder / "n.parquet"}
    with gzip.open(files["gz"], "wb") as f:
        f.write((TOWN / "addresses.csv").read_bytes())
    rows.to_parquet(files["parquet"], row_group_size=500)
    rows.assign(code_commune_ref=rows["code_commune_ref"].astype(int)).to_parquet(files["numeric"], row_group_size=500)
    return rows, files


@pytest.fixture(scope="module")
def town_files(tmp_path_factory):
    return _town_files(tmp_path_factory.mktemp("town"))


@pytest.mark.parametrize("kind", ["csv", "gz", "parquet", "numeric"])
def test_a_commune_selection_reads_only_that_communes_rows(town_files, kind):
    _, files = town_files
    table = read.read_addresses(files[kind], commune_prefixes=("99",), communes={"99003"})
    assert set(table.rows["commune"]) == {"99003"} and len(table.rows) == 406
    assert table.rows_skipped == 3827 - 406


@settings(deadline=None)
@given(selection=st.lists(st.sampled_from(["99001", "99002", "99003", "99004", "99005"]), min_size=1, max_size=3,
                          unique=True), kind=st.sampled_from(["csv", "gz", "parquet", "numeric"]))
def test_a_commune_selection_builds_the_same_bytes_as_one_read_whole(town_files, tmp_path_factory, selection, kind):
    """Filtered while read (any format) or selected after reading the whole table: the same stations and counts."""
    import boundaries
    from boundaries.write import write_stations

    rows, files = town_files
    folder = tmp_path_factory.mktemp("sel")
    communes = TOWN / "communes.geojson"
    if "99005" in selection:  # a commune without rows is refused by name, alone or among others
        with pytest.raises(InputError, match="no address in commune 99005"):
            boundaries.build(files[kind], communes, commune=selection, jobs=1)
        return
    filtered = boundaries.build(files[kind], communes, commune=selection, jobs=1)
    whole = boundaries.build(rows, communes, commune=selection, jobs=1)  # a frame: selected after reading
    write_stations(filtered.stations, str(folder / "filtered.geojson"))
    write_stations(whole.stations, str(folder / "whole.geojson"))
    assert (folder / "filtered.geojson").read_bytes() == (folder / "whole.geojson").read_bytes()
    assert filtered.report.rows_out_of_scope == whole.report.rows_out_of_scope
    assert filtered.report.rows_read == whole.report.rows_read
