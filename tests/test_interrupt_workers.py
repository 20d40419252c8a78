"""Ctrl-C during a build with worker processes: the command stops, and so do its workers.

A new user's ``timeout -s INT 7 boundaries build … -j 2`` printed "interrupted; nothing was
written" and then hung for ten minutes, a worker stuck on a lock: the whole process group
had taken the SIGINT (as a terminal's Ctrl-C and QGIS's Cancel send it). Interrupted at
several moments, the command must exit 130 within seconds, leave no worker behind and
write nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "val-de-marne-2016"
#: Seconds the command has to stop after the interrupt (it stops its workers in STOP_GRACE_S at most).
STOP_WITHIN_S = 30


_WITH_STACKS = ("import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
                "sys.argv[0] = 'boundaries'; from boundaries.__main__ import run; run()")


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/val-de-marne-2016 is absent")
@pytest.mark.parametrize("delay_s", [1.0, 2.5, 4.0])
def test_an_interrupt_stops_the_workers_too(tmp_path, delay_s):
    out = tmp_path / "vdm.gpkg"
    # the command's entry point, with every thread's stack on SIGUSR1: a hang says where it waits
    argv = [sys.executable, "-c", _WITH_STACKS, "build", str(SHARED / "addresses.csv.gz"), "--communes",
            str(SHARED / "communes.geojson"), "-o", str(out), "-j", "2", "-q"]
    # its own process group, as a terminal's job: the SIGINT goes to every process of it
    proc = subprocess.Popen(argv, start_new_session=True, stderr=subprocess.PIPE, text=True)
    time.sleep(delay_s)
    workers = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(2.0)
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        pytest.fail(f"still running {STOP_WITHIN_S} s after Ctrl-C (workers {workers}, "
                    f"states {[_state(w) for w in workers]}); stderr and stacks:\n{err}")
    if proc.returncode == 0:
        pytest.skip(f"the build finished within {delay_s} s: nothing to interrupt")
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "boundaries: error: interrupted; nothing was written", err
    assert not out.exists() and not list(tmp_path.iterdir())
    left = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]
    assert not left, f"workers still alive: {left}"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _alive(pids: list[int]) -> list[int]:
    return [p for p in pids if _state(p) not in ("gone", "Z")]


def _wait_gone(pids: list[int], within_s: float) -> list[int]:
    deadline = time.monotonic() + within_s
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(pids)


def test_dropping_the_results_stops_the_running_workers():
    from boundaries.parallel import run_tasks

    before = set(_children(os.getpid()))  # other tests' helpers (a server, Xvfb) are children too
    results = run_tasks(_nap, [(0.05,), (60.0,), (60.0,)], jobs=2)
    next(results)
    workers = [w for w in _children(os.getpid()) if w not in before]
    assert workers
    t0 = time.monotonic()
    results.close()  # the caller gave up (an error, an interrupt): no one waits a minute for the rest
    assert time.monotonic() - t0 < 15
    assert not _wait_gone(workers, 5.0)


def test_stop_workers_ends_a_pool_whose_results_wait_unread():
    from boundaries.parallel import run_tasks, stop_workers

    before = set(_children(os.getpid()))
    results = run_tasks(_nap, [(0.05,), (60.0,), (60.0,)], jobs=2)
    next(results)  # suspended between two results, as when Ctrl-C lands in the caller's code
    workers = [w for w in _children(os.getpid()) if w not in before]
    assert workers
    stop_workers()
    assert not _wait_gone(workers, 10.0)
    results.close()

