"""Atomic output: a build killed (SIGKILL) while writing leaves the old output or none, never a cut file.

Every output goes to ``.{name}.boundaries-tmp-{pid}-{random}{suffix}`` beside it and
is renamed over it once complete (:func:`boundaries.write.atomic_path`); a killed
run's temporary file is hidden, marked, and removed by the next successful write.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from boundaries.write import TMP_MARKER, atomic_path
from helpers import synth_folder

BIN = [sys.executable, "-m", "boundaries"]


@pytest.fixture(scope="module")
def slow_input(tmp_path_factory):
    """A département of 30,000 rows: a build of a few seconds, a 0.5 MB output."""
    folder = tmp_path_factory.mktemp("atomic")
    synth_folder(folder, 30_000, 1, seed=3)
    a, c = folder / "addresses.parquet", folder / "communes.gpkg"
    ref = {}
    for ext in ("geojson", "gpkg"):
        out = folder / f"reference.{ext}"
        subprocess.run([*BIN, "build", a, "--communes", c, "-o", out, "-q"], check=True, capture_output=True)
        ref[ext] = out.read_bytes()
    return a, c, ref


def temporaries(folder, name):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}{TMP_MARKER}"))


def kill_while_writing(a, c, out, timeout=120):
    """Start a build into ``out``, SIGKILL it as soon as its temporary output appears."""
    proc = subprocess.Popen([*BIN, "build", str(a), "--communes", str(c), "-o", str(out), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if temporaries(out.parent, out.name):
                seen = True
                break
            time.sleep(0.0005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    return seen, proc.returncode


@pytest.mark.parametrize("ext", ["geojson", "gpkg"])
@pytest.mark.parametrize("old", [True, False], ids=["old-output", "no-output"])
def test_sigkill_mid_write_leaves_old_output_or_none(slow_input, tmp_path, ext, old):
    a, c, ref = slow_input
    out = tmp_path / f"stations.{ext}"
    old_bytes = b"previous complete output\n" * 100
    if old:
        out.write_bytes(old_bytes)
    seen, code = kill_while_writing(a, c, out)
    assert code == -signal.SIGKILL
    assert seen, "the build never started writing its output"
    if out.exists() and out.read_bytes() != (old_bytes if old else None):
        # the kill landed after the rename: then the file is the whole new output
        assert out.read_bytes() == ref[ext]
    elif old:
        assert out.read_bytes() == old_bytes
    else:
        assert not out.exists()
    # what a killed run leaves: hidden, marked files only, never a name with an output's look
    visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert visible in ([], [out.name]), visible
    left = temporaries(tmp_path, out.name)
    assert all(TMP_MARKER in name and name.startswith(".") for name in left)
    # the next successful build replaces the output and removes the killed run's leftovers
    subprocess.run([*BIN, "build", a, "--communes", c, "-o", out, "-q"], check=True, capture_output=True)
    assert out.read_bytes() == ref[ext]
    assert temporaries(tmp_path, out.name) == []
    assert temporaries(tmp_path, "stations.report.json") == []


def test_atomic_path_keeps_a_running_writers_temporary(tmp_path):
    """Leftovers of a live process (another build of the same output) are not touched."""
    target = tmp_path / "s.geojson"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".s.geojson{TMP_MARKER}{dead.pid}-abc.geojson"
    live = tmp_path / f".s.geojson{TMP_MARKER}{os.getppid()}-xyz.geojson"
    other = tmp_path / f".t.geojson{TMP_MARKER}{dead.pid}-abc.geojson"
    for p in (stale, live, other):
        p.write_text("partial")
    with atomic_path(target) as tmp:
        assert os.path.basename(tmp).startswith(f".s.geojson{TMP_MARKER}{os.getpid()}-")
        with open(tmp, "w") as f:
            f.write("{}")
    assert target.read_text() == "{}"
    assert not stale.exists() and live.exists() and other.exists()


def test_atomic_path_error_leaves_target_untouched(tmp_path):
    target = tmp_path / "s.gpkg"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert temporaries(tmp_path, "s.gpkg") == []
