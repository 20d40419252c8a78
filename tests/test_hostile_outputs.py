"""Careless outputs (issue 17, items 3 and 8): special files, modes, full disks, closed pipes, long names.

Every output reaches its place through :mod:`boundaries.outputs`: never through a
device, a FIFO or a socket; with the umask's mode or the replaced file's; all the
files of a build renamed as one set, so a failure leaves the previous outputs whole.
"""

import contextlib
import errno
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries import outputs
from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.outputs import TMP_MARKER, atomic_path
from boundaries.write import write_split
from conftest import ROOT, TOWN
from helpers import grid_town

ADDRESSES, COMMUNES = TOWN / "addresses.csv", TOWN / "communes.geojson"
BUILD = ["build", str(ADDRESSES), "--communes", str(COMMUNES), "-q"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A built result of 4 communes × 2 stations (fast to write in every format), and its inputs."""
    folder = tmp_path_factory.mktemp("small")
    addresses, outlines, _ = grid_town("94", "EPSG:2154", origin=(652000, 6850000), seed=5,
                                       stations_per_commune=2, points_per_station=12)
    a, c = folder / "addresses.csv", folder / "communes.geojson"
    addresses.to_csv(a, index=False)
    outlines.to_file(c)
    return boundaries.build(str(a), str(c), jobs=1), a, c


def _temporaries(root):
    return [p for p in Path(root).rglob("*") if TMP_MARKER in p.name]


def _snapshot(root):
    return {p: p.read_bytes() for p in Path(root).rglob("*") if p.is_file()}


# ---------------------------------------------------------------- special files (item 3)

def _make_special(kind: str, where: Path) -> Path:
    """A FIFO, a socket, a symlink to either, or a symlink to /dev/null, at ``where``."""
    if kind in ("fifo", "link-to-fifo"):
        target = where if kind == "fifo" else where.with_name("pipe")
        os.mkfifo(target)
    elif kind in ("socket", "link-to-socket"):
        target = where if kind == "socket" else where.with_name("sock")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
        sock.close()  # the socket file stays
    else:
        target = Path(os.devnull)
    if target != where:
        where.symlink_to(target)
    return where


def _still_special(path: Path) -> bool:
    mode = os.stat(path).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


@settings(deadline=None)
@given(kind=st.sampled_from(["fifo", "link-to-fifo", "socket", "link-to-socket", "link-to-devnull"]),
       role=st.sampled_from(["output", "report", "split-file", "split-index"]),
       ext=st.sampled_from(["geojson", "gpkg", "fgb", "parquet", "geojsonl"]))
def test_a_special_file_as_any_output_is_refused_before_the_build(tmp_path_factory, kind, role, ext):
    root = tmp_path_factory.mktemp("special")
    args = ["-o", str(root / f"stations.{ext}")]
    if role == "output":
        special = _make_special(kind, root / f"stations.{ext}")
    elif role == "report":
        special = _make_special(kind, root / "r.json")
        args += ["--report", str(special)]
    else:
        (root / "split").mkdir()
        special = _make_special(kind, root / "split" / ("99001.geojson" if role == "split-file" else "index.csv"))
        args = ["-o", str(root / "split"), "--split", "commune"]
    before = _snapshot(root)
    with mock.patch("boundaries.pipeline.run", side_effect=AssertionError("the build started")):
        res = CliRunner().invoke(main, [*BUILD, *args])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and res.output.startswith("boundaries: error: ")
    assert "replace" in res.output and "internal error" not in res.output
    assert _still_special(special) and _snapshot(root) == before and not _temporaries(root)


@pytest.mark.parametrize("target", ["/dev/null", "/dev/stdout", "/dev/full", "/proc/self/fd/1"])
def test_system_paths_are_refused_and_left_as_they_are(tmp_path, target):
    """As root, ``-o /dev/null`` replaced /dev/null with a regular file: now refused, with ``-o -`` suggested."""
    before = os.lstat(target)
    res = CliRunner().invoke(main, [*BUILD, "-o", target])
    assert res.exit_code == 2 and "--output -" in res.output and res.output.count("\n") == 1, res.output
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)


def test_a_fifo_made_during_the_build_is_not_replaced(small, tmp_path):
    """The check is made again at the rename: a FIFO that appeared meanwhile stays, and nothing is written."""
    result, _, _ = small
    out = tmp_path / "s.geojson"
    with pytest.raises(InputError, match="FIFO"):
        with atomic_path(out) as tmp:
            with open(tmp, "w") as f:
                f.write("{}")
            os.mkfifo(out)  # while the output was being written
    assert stat.S_ISFIFO(os.stat(out).st_mode)
    with pytest.raises(InputError, match="FIFO"):
        result.write(str(out))
    assert stat.S_ISFIFO(os.stat(out).st_mode) and not _temporaries(tmp_path)
    assert not (tmp_path / "s.report.json").exists()


# ---------------------------------------------------------------- modes (item 3)

KINDS = ["geojson", "geojsonl", "gpkg", "fgb", "parquet", "report", "split", "csv", "png", "html"]


def _write_kind(result, kind: str, folder: Path) -> list[Path]:
    """Write one output kind of ``result`` into ``folder``; the files written."""
    if kind in ("geojson", "geojsonl", "gpkg", "fgb", "parquet"):
        out = folder / f"s.{kind}"
        result.write(str(out), report=None)
        return [out]
    if kind == "report":
        result.write(str(folder / "s.geojson"), report=str(folder / "s.json"))
        return [folder / "s.geojson", folder / "s.json"]
    if kind == "split":
        result.write(str(folder / "split"), split="commune")
        return sorted(p for p in (folder / "split").iterdir())
    if kind == "png":
        from boundaries.preview import render_map

        render_map(result.stations, path_or_buffer=str(folder / "s.png"), size_in=(2, 2), dpi=30, labels=False)
        return [folder / "s.png"]
    if kind == "html":
        from boundaries.review import write_review_html

        write_review_html(result.stations, str(folder / "s.html"), max_pictures=0)
        return [folder / "s.html"]
    with atomic_path(folder / "s.csv") as tmp:  # evaluate --per-station's way
        result.stations.drop(columns="geometry").to_csv(tmp, index=False)
    return [folder / "s.csv"]


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@settings(deadline=None)
@given(kind=st.sampled_from(KINDS), mask=st.integers(0, 0o777),
       existing=st.one_of(st.none(), st.integers(0, 0o777)))
def test_outputs_take_the_umask_or_the_replaced_files_mode(small, tmp_path_factory, kind, mask, existing):
    result, _, _ = small
    folder = tmp_path_factory.mktemp("modes")
    first = _write_kind(result, kind, folder)  # learn the names, then set the scene
    for path in first:
        if existing is None:
            path.unlink()
        else:
            os.chmod(path, existing)
    with _umask(mask):
        written = _write_kind(result, kind, folder)
    assert written == first
    for path in written:
        want = existing if existing is not None else 0o666 & ~mask
        assert stat.S_IMODE(os.stat(path).st_mode) == want, (path.name, oct(mask), existing)
    assert not _temporaries(folder)


def test_the_temporary_file_is_private_while_written(tmp_path):
    with _umask(0o022), atomic_path(tmp_path / "s.geojson") as tmp:
        with open(tmp, "w") as f:
            f.write("{}")
        assert stat.S_IMODE(os.stat(os.path.dirname(tmp)).st_mode) == 0o700
        assert os.path.dirname(os.path.dirname(tmp)) == str(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "s.geojson").st_mode) == 0o644


# ---------------------------------------------------------------- disk full (item 8)

class _Failing:
    """Count the steps of a write (each file complete, each rename) and fail the ``at``-th with ``code``."""

    def __init__(self, at: int, code: int):
        self.at, self.code, self.step = at, code, 0
        self.seal, self.replace = outputs.StagedFile.seal, os.replace

    def _tick(self, path):
        self.step += 1
        if self.step == self.at:
            raise OSError(self.code, os.strerror(self.code), str(path))

    def sealing(self, staged):
        self._tick(staged.tmp)
        return self.seal(staged)

    def replacing(self, src, dst, *args, **kwargs):
        if TMP_MARKER in str(src) and TMP_MARKER not in str(dst):  # a commit, not a rollback
            self._tick(dst)
        return self.replace(src, dst, *args, **kwargs)


ERRNOS = [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.ENAMETOOLONG, errno.EFBIG]


@settings(deadline=None)
@given(at=st.integers(1, 14), code=st.sampled_from(ERRNOS), split=st.booleans(),
       ext=st.sampled_from(["geojson", "gpkg", "fgb", "parquet"]))
def test_a_write_failing_anywhere_leaves_the_previous_outputs_whole(small, tmp_path_factory, at, code, split, ext):
    """Stations, split files, index and report: a failure at any step (a file being completed, or any
    rename of the set) leaves every previous output byte for byte, and no temporary file."""
    result, _, _ = small
    root = tmp_path_factory.mktemp("full")
    out = root / ("split" if split else f"stations.{ext}")
    kwargs = {"split": "commune", "fmt": ext} if split else {}
    previous = result.write(str(out), **kwargs)
    for path in _snapshot(root):  # previous outputs: other bytes than this run's
        path.write_bytes(b"previous run's " + path.name.encode())
    before = _snapshot(root)
    failing = _Failing(at, code)
    with mock.patch.object(outputs.StagedFile, "seal", lambda staged: failing.sealing(staged)), \
            mock.patch.object(outputs.os, "replace", failing.replacing):
        try:
            result.write(str(out), **kwargs)
        except InputError as exc:
            assert f"while writing {root}" in str(exc) and "nothing was written" in str(exc)
            assert _snapshot(root) == before
        else:  # fewer steps than ``at``: all written
            assert failing.step < at and previous
            assert all(data != before[p] for p, data in _snapshot(root).items())
    assert not _temporaries(root)


def _tmpfs(where: Path, size: str = "64k"):
    """Mount a small tmpfs at ``where``, or skip (not root, no mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "fgb", "parquet", "split"])
def test_a_real_full_disk_is_one_line_exit_2_and_the_previous_outputs_stay(tmp_path, ext):
    disk = tmp_path / "disk"
    _tmpfs(disk)
    try:
        out = disk / ("split" if ext == "split" else f"stations.{ext}")
        if ext == "split":
            out.mkdir()
            (out / "99001.geojson").write_bytes(b"old 99001")
            (out / "index.csv").write_bytes(b"old index")
            (out / "report.json").write_bytes(b"old report")
        else:
            out.write_bytes(b"old stations")
            out.with_suffix(".report.json").write_bytes(b"old report")
        before = _snapshot(disk)
        res = CliRunner().invoke(main, [*BUILD, "-o", str(out), *(["--split", "commune"] if ext == "split" else [])])
        assert res.exit_code == 2, res.output
        assert res.output.count("\n") == 1 and "no space left on device while writing" in res.output, res.output
        assert _snapshot(disk) == before and not _temporaries(disk)
        assert not _open_files(disk)  # a failed write closes its file (pyarrow's did not)
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _open_files(folder: Path) -> list[str]:
    """The files under ``folder`` that this process still holds open."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held


def test_a_disk_full_in_a_fresh_split_folder_removes_the_folder_again(tmp_path):
    disk = tmp_path / "disk"
    _tmpfs(disk, "16k")
    try:
        res = CliRunner().invoke(main, [*BUILD, "-o", str(disk / "split"), "--split", "commune"])
        assert res.exit_code == 2 and "no space left" in res.output, res.output
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ---------------------------------------------------------------- broken pipe (item 8)

@pytest.mark.parametrize("args", [
    [*BUILD, "-o", "-"],
    [*BUILD, "-o", "-", "--format", "geojsonseq"],
    ["check", str(TOWN / "stations_truth.geojson"), "--communes", str(COMMUNES), "--id-field", "id_bv", "--json"],
], ids=["build-geojson", "build-geojsonseq", "check-json"])
def test_a_closed_stdout_ends_quietly_like_a_filter_killed_by_sigpipe(args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "boundaries", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone before the first byte (| head -c 0)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert err == ""


# ---------------------------------------------------------------- names too long (items 8, 3)

@settings(deadline=None)
@given(codes=st.lists(st.text(alphabet="0123456789AB", min_size=6, max_size=400), min_size=1, max_size=3),
       by=st.sampled_from(["commune", "departement"]))
def test_a_code_too_long_for_a_file_name_writes_nothing(small, tmp_path_factory, codes, by):
    result, _, _ = small
    stations = result.stations.iloc[:len(codes)].copy()
    stations["code_commune"] = codes[:len(stations)]
    stations["code_departement"] = codes[:len(stations)]
    root = tmp_path_factory.mktemp("long")
    with pytest.raises(InputError, match="cannot name a file"):
        write_split(stations, str(root / "split"), by)
    assert list(root.iterdir()) == []


@settings(deadline=None)
@given(length=st.integers(200, 5000), deep=st.booleans(), split=st.booleans(), report=st.booleans())
def test_an_output_path_too_long_is_one_line_before_the_build(tmp_path_factory, length, deep, split, report):
    root = tmp_path_factory.mktemp("name")
    name = ("d/" * (length // 2) + "s.geojson") if deep else "s" * length + ".geojson"
    folder = "d/" * (length // 2) + "s" if deep else "s" * max(length, 256)  # a split folder's name may be 255
    args = ["-o", str(root / name)] if not split else ["-o", str(root / folder), "--split", "commune"]
    if report:
        args += ["--report", str(root / ("r" * length + ".json"))]
    with mock.patch("boundaries.pipeline.run", side_effect=AssertionError("the build started")):
        res = CliRunner().invoke(main, [*BUILD, *args])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "internal error" not in res.output and "Traceback" not in res.output
    assert list(root.iterdir()) == []


def test_split_onto_a_file_names_the_option(tmp_path):
    """``-o FILE --split`` called a string (a parameter shadowed errors.option): now its one line."""
    out = tmp_path / "stations"
    out.write_bytes(b"a file")
    res = CliRunner().invoke(main, [*BUILD, "-o", str(out), "--split", "commune"])
    assert res.exit_code == 2 and "--split writes a folder" in res.output, res.output


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_interrupt_says_what_was_written(tmp_path, monkeypatch, when):
    """A Ctrl-C before the renames writes nothing; one after them names the files, whole (not "nothing")."""
    from boundaries import cli

    out = tmp_path / "s.geojson"
    if when == "before":
        import boundaries.pipeline as pipeline

        monkeypatch.setattr(pipeline, "build", _raise_interrupt)
    else:
        monkeypatch.setattr(cli, "_summary", _raise_interrupt)
    res = CliRunner().invoke(main, [*BUILD, "-o", str(out)])
    assert res.exit_code == 130, res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output
    if when == "before":
        assert "interrupted; nothing was written" in res.output and not out.exists()
    else:
        assert f"interrupted after writing {out}" in res.output and "(whole)" in res.output
        assert out.stat().st_size > 0 and (tmp_path / "s.report.json").is_file()


def _raise_interrupt(*args, **kwargs):
    raise KeyboardInterrupt
