"""How every output file reaches its place: staged privately, renamed as a set, never through a special file.

Each output is written into a private folder beside its target (mode 0700, named
``.{name}.boundaries-tmp-{pid}-{random}``), given its final mode, and renamed over the
target once complete (:func:`atomic_path`). Inside :func:`output_set` the renames wait
for the end of the block: a build's stations, report and split files are all
complete before the first one replaces anything, so a failure (a full disk) leaves
the previous outputs as they were, never new stations beside an old report.

An OS error of writing (disk full, quota, read-only file system, permissions, a
name too long) becomes one line naming the file (:func:`write_error`), exit 2. A
target that is a device, a FIFO or a socket, or in ``/dev``, ``/proc``, ``/sys``, is
refused (:func:`refuse_special`): renaming over it would replace it with a file.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import glob
import os
import re
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from .errors import BoundariesError, InputError, option

#: Marker in the names of temporary outputs: ``.{name}.boundaries-tmp-{pid}-{random}{suffix}``
#: (hidden, and never a name the tool writes as an output).
TMP_MARKER = ".boundaries-tmp-"

#: Bytes a temporary name adds to its output's name (marker, pid, random part, suffix).
TMP_NAME_EXTRA = 1 + len(TMP_MARKER) + 8 + 1 + 8 + 16

#: OS errors of writing that are the place's, not the tool's: what happened, and what to do.
WRITE_ERRORS = {
    errno.ENOSPC: ("no space left on device", "free some space or write elsewhere"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write elsewhere"),
    errno.EFBIG: ("file too large for its file system", "write elsewhere"),
    errno.EROFS: ("read-only file system", "write elsewhere"),
    errno.EACCES: ("permission denied", "write elsewhere, or check the folder's permissions"),
    errno.EPERM: ("operation not permitted", "write elsewhere, or check the folder's permissions"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
    errno.ENOENT: ("its folder no longer exists", "check the output folder"),
    errno.ELOOP: ("too many levels of symbolic links", "give a file path"),
    errno.ENOTDIR: ("a folder of its path is a file", "give a path in a folder"),
    errno.EIO: ("input/output error", "check the disk, or write elsewhere"),
}

#: Folders whose entries are devices or the kernel's, never files to replace (``/dev/shm`` is a plain tmpfs).
SYSTEM_FOLDERS = ("/dev", "/proc", "/sys")

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def write_error(exc: OSError, path) -> InputError | None:
    """The one-line error of an OS error met while writing ``path``, or None when it is not a known one."""
    known = WRITE_ERRORS.get(getattr(exc, "errno", None))
    if known is None:
        return None
    what, fix = known
    return InputError(f"{what} while writing {path}; nothing was written — {fix}")


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (``/proc/self/status``)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it, at once restored
    os.umask(mask)
    return mask


def output_mode(path) -> int:
    """The permission bits of a file written at ``path``: those of the regular file it replaces, else
    0666 less the umask (as any program's new file)."""
    with contextlib.suppress(OSError):
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode) & 0o777
    return 0o666 & ~current_umask()


def special_kind(path) -> str | None:
    """What makes ``path`` no place for a file: ``"a FIFO (named pipe)"``, ``"in /dev"``…; None for a
    regular file, a folder, a symlink to one, or nothing yet."""
    try:
        mode = os.stat(path).st_mode  # through symlinks: a link to /dev/null is /dev/null
    except (FileNotFoundError, NotADirectoryError):  # nothing there yet (or a file as folder: said later)
        mode = None
    for test, kind in _KINDS:
        if mode is not None and test(mode):
            return kind
    place = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    for system in SYSTEM_FOLDERS:
        if (place == system or place.startswith(system + "/")) and not place.startswith("/dev/shm"):
            return f"in {system} (devices and the kernel's files, not a place for outputs)"
    return None


def refuse_special(path, what: str = "output", flag: str | None = None, stdout_ok: bool = False) -> None:
    """Refuse to write ``path`` when it is a device, a FIFO, a socket (or a symlink to one), or in a
    system folder: renaming a file over it would replace it (as root, ``/dev/null`` itself).

    ``what`` and ``flag`` name the file and its option in the message; ``stdout_ok``: the
    message suggests standard output (``output='-'``, ``-o -`` on the command line).
    """
    kind = special_kind(path)
    if kind is None:
        return
    if stdout_ok:
        fix = f"to write to standard output use {option('output', '-')}, else give a file path"
    else:
        fix = f"give {flag} a file path" if flag else "give a file path"
    raise InputError(f"{what} {path} is {kind}: writing there would replace it with a regular file; {fix}")


def check_name_length(path, what: str = "output") -> None:
    """Refuse a file name too long for its folder once made a temporary name (or a path too long)."""
    path = Path(path)
    folder = str(path.parent) or "."
    try:
        most = os.pathconf(folder, "PC_NAME_MAX") if os.path.isdir(folder) else 255
    except (OSError, ValueError):
        most = 255
    size = len(os.fsencode(path.name))
    if size + TMP_NAME_EXTRA > most:
        raise InputError(f"{what} {path}: file name too long ({size} bytes; at most {most - TMP_NAME_EXTRA} "
                         "here); choose a shorter name")


@contextlib.contextmanager
def reported(path, folder: str | None = None):
    """Turn an OS error met while writing ``path`` into one line naming it (:func:`write_error`).

    A writer that fails without an errno (GDAL says "Cannot write feature") is
    asked about by a small write into ``folder``: the disk's own answer (full,
    read-only…) names the cause; when that write succeeds, the error is the tool's
    and is raised as it was.
    """
    try:
        yield
    except BoundariesError:
        raise
    except OSError as exc:
        error = write_error(exc, path)
        if error is None:
            raise
        raise error from exc
    except Exception as exc:
        cause = _probe(folder, 1 << 16) if folder else None
        if cause is None and folder and _IO_FAILURE.search(str(exc)):
            # GDAL may remove its own temporary file (FlatGeobuf's index) before raising,
            # freeing what it had filled: ask for more room than a small write
            cause = _probe(folder, 1 << 26)
        error = write_error(cause, path) if cause is not None else None
        if error is None:
            raise
        raise error from exc


#: How GDAL words a failed write (it keeps no errno).
_IO_FAILURE = re.compile(r"I/O|[Ww]rite failed|[Cc]annot write|[Nn]o space", re.ASCII)


def _probe(folder: str, size: int) -> OSError | None:
    """The OS error a write of ``size`` bytes into ``folder`` meets now, or None."""
    probe = os.path.join(folder, "probe")
    try:
        with open(probe, "wb") as f:
            for _ in range(0, size, 1 << 16):
                f.write(bytes(1 << 16))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return None


class StagedFile:
    """One output being written: a temporary file in a private folder beside its target.

    Parameters
    ----------
    path : pathlib.Path
        The target.
    suffix : str or None
        The temporary file's extension (GDAL picks drivers by it); the target's by default.
    """

    def __init__(self, path: Path, suffix: str | None = None):
        self.path = path
        self.folder = tempfile.mkdtemp(prefix=f".{path.name}{TMP_MARKER}{os.getpid()}-", dir=path.parent or ".")
        self.tmp = os.path.join(self.folder, os.path.basename(self.folder) + (suffix or path.suffix or ".tmp"))
        self.previous = None  # a hard link to the replaced file, to put it back if the set fails
        self.replaced = False

    def seal(self) -> None:
        """Give the complete file its final mode (:func:`output_mode`), before anyone can see it."""
        os.chmod(self.tmp, output_mode(self.path))

    def commit(self) -> None:
        """Rename the file over its target, keeping a link to the file it replaces."""
        refuse_special(self.path)  # a FIFO made there during the build
        with reported(self.path):
            if os.path.lexists(self.path):
                with contextlib.suppress(OSError):  # no hard links here: no way back for this one
                    os.link(self.path, os.path.join(self.folder, "previous"), follow_symlinks=False)
                    self.previous = os.path.join(self.folder, "previous")
                self.replaced = True
            os.replace(self.tmp, self.path)

    def rollback(self) -> None:
        """Put the replaced file back (or remove the new one when there was none)."""
        with contextlib.suppress(OSError):
            if self.previous:
                os.replace(self.previous, self.path)
            elif not self.replaced:
                os.unlink(self.path)

    def discard(self) -> None:
        """Remove the private folder, with whatever is left in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


class StreamedFile:
    """Standard output's part of a set: a complete file copied to stdout when the set is committed."""

    def __init__(self, tmp: str, folder: str):
        self.path, self.tmp, self.folder = "-", tmp, folder

    def commit(self) -> None:
        with open(self.tmp, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
        sys.stdout.buffer.flush()

    def rollback(self) -> None:
        """What went out cannot come back."""

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


#: The files of the open :func:`output_set` waiting for its end (None outside one).
_PENDING: contextvars.ContextVar[list | None] = contextvars.ContextVar("boundaries_pending_outputs", default=None)


@contextlib.contextmanager
def output_set():
    """Write several outputs as one: each :func:`atomic_path` inside the block is renamed at its end.

    Every file of the set is complete before the first replaces anything; if one
    rename fails, those done are undone (the replaced files put back). Standard
    output (:class:`StreamedFile`) goes last. A set inside a set joins the outer one.
    """
    if _PENDING.get() is not None:
        yield
        return
    pending = []
    token = _PENDING.set(pending)
    try:
        yield
        _PENDING.reset(token)
        token = None
        commit(pending)
    finally:
        if token is not None:
            _PENDING.reset(token)
        for staged in pending:
            staged.discard()


#: The files this run's committed sets renamed into place, for an interrupt's message (a Ctrl-C that
#: lands after the renames must not say "nothing was written").
WRITTEN: contextvars.ContextVar[tuple] = contextvars.ContextVar("boundaries_written", default=())


def commit(staged: list) -> None:
    """Rename each staged file over its target, files before standard output; on failure undo them."""
    staged = sorted(staged, key=lambda s: isinstance(s, StreamedFile))
    for s in staged:
        if s.path != "-":
            refuse_special(s.path)
    done = []
    try:
        for s in staged:
            s.commit()
            done.append(s)
    except BaseException:
        for s in reversed(done):
            s.rollback()
        raise
    WRITTEN.set(WRITTEN.get() + tuple(str(s.path) for s in staged if s.path != "-"))
    for s in staged:
        if s.path != "-":
            remove_stale_temporaries(Path(s.path))


def defer(staged) -> bool:
    """Hand ``staged`` to the open :func:`output_set`; False when there is none (commit it now)."""
    pending = _PENDING.get()
    if pending is None:
        return False
    pending.append(staged)
    return True


def staged_file(path) -> str:
    """Where ``path``'s new content is now: its temporary file while the set is open, else ``path``."""
    for staged in _PENDING.get() or ():
        if staged.path != "-" and Path(staged.path) == Path(path):
            return staged.tmp
    return str(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The temporary file is ``.{name}.boundaries-tmp-{pid}-{random}{suffix}`` in a private
    folder of the same name beside ``path`` (hidden, marked, so never taken for an
    output, and unreadable by others while written); it gets :func:`output_mode`
    before the rename. On error it is removed and ``path`` left untouched; inside
    :func:`output_set` the rename waits for the end of the set. If the process is
    killed (SIGKILL, power loss) the folder stays behind, and the next successful
    write of the same ``path`` removes it (with the side files GDAL may leave, e.g.
    ``-journal``).
    """
    path = Path(path)
    refuse_special(path)
    with reported(path):
        staged = StagedFile(path, suffix)
    try:
        with reported(path, staged.folder):
            yield staged.tmp
            staged.seal()
    except BaseException:
        staged.discard()
        raise
    if defer(staged):
        return
    try:
        commit([staged])
    finally:
        staged.discard()


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove temporary files (and folders) of ``path`` left by runs that were killed (their process is gone).

    A temporary file of a process still running (another build writing the same
    output) is left alone. Returns the paths removed.
    """
    removed = []
    for tmp in (path.parent or Path(".")).glob(f".{glob.escape(path.name)}{TMP_MARKER}*"):
        rest = tmp.name[len(f".{path.name}{TMP_MARKER}"):]
        pid = rest.split("-", 1)[0]
        if pid.isdigit() and (int(pid) == os.getpid() or _alive(int(pid))):
            continue  # ours (removed by atomic_path itself), or a running writer's
        with contextlib.suppress(OSError):
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp)
            else:
                tmp.unlink()
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
