"""Resources, schedulers and option values at their limits (issue 17, items 8, 10, 12, 13).

A decompression bomb, a scheduler that never answers, a malformed scheduler address and
option values anywhere on the float line: each gives exit 2 and one line, never a hang, a
traceback, an exhausted memory or an absurd run.
"""

import contextlib
import socket
import threading
import time

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.cli import main
from boundaries.errors import InputError
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
