"""The plugin's side of the command line, without QGIS: the spec, the argument list, the run.

Nothing here imports QGIS, so the project's tests run it with hypothesis; the
Processing algorithm (``algorithm.py``) only turns its form into ``values`` and
its feedback into the callbacks of :func:`run`.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SPEC = Path(__file__).resolve().with_name("spec.json")
#: Seconds a cancelled run has to stop after SIGINT (it removes its temporary files) before it is killed.
GRACE = 20


def load_spec(path: Path = SPEC) -> dict:
    """The commands' spec written by ``qgis_plugin/make_plugin.py`` from the click objects."""
    return json.loads(path.read_text(encoding="utf-8"))


#: Where the provider's setting is, for messages.
SETTING = "Settings ▸ Options ▸ Processing ▸ Providers ▸ Boundaries ▸ boundaries command"


class NotRunnable(Exception):
    """The ``boundaries`` to run is missing or cannot be run: one line saying what to set."""


def find_executable(setting: str | None) -> str | None:
    """The ``boundaries`` to run: the provider's setting when given, else the one on PATH."""
    if setting:
        return setting
    return shutil.which("boundaries")


def _text(value) -> str:
    """A value as the command line reads it back exactly (floats by repr: no digit lost)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _given(param: dict, value) -> bool:
    """Whether a form value is passed: empty, unset and default values are left to the command."""
    if value is None or value == "" or value == [] or value is False:
        return False
    return param["type"] == "flag" or param.get("default") is None or value != param["default"]


def command_line(executable: str, command: dict, values: dict) -> list[str]:
    """The argument list of one run, never a shell string.

    Options are passed as ``--flag=value`` (a value starting with ``-`` stays a
    value), repeatable ones once per item, then ``--`` and the arguments (a file
    named ``-x`` stays a file).
    """
    argv = [executable, command["name"]]
    for param in command["params"]:
        value = values.get(param["name"])
        if param["kind"] == "argument" or not _given(param, value):
            continue
        if param["type"] == "flag":
            argv.append(param["flag"])
            continue
        for item in value if param["multiple"] else [value]:
            argv.append(f"{param['flag']}={_text(item)}")
    if command.get("json"):
        argv.append("--json")
    argv.append("--")
    argv += [_text(values[p["name"]]) for p in command["params"] if p["kind"] == "argument"]
    return argv


def child_env() -> dict[str, str]:
    """QGIS's environment without its Python paths, which must not reach another interpreter, and asking
    the command for progress lines (it draws no bar without a terminal)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["BOUNDARIES_PROGRESS"] = "lines"
    return env


PROGRESS = re.compile(r"boundaries: progress: (\d+)/(\d+) ")


def progress_of(line: str) -> float | None:
    """The percentage a ``boundaries: progress: DONE/TOTAL LABEL`` line says, else None."""
    match = PROGRESS.match(line)
    if match is None:
        return None
    done, total = int(match[1]), int(match[2])
    return 100.0 if total == 0 else min(100.0, 100.0 * done / total)


def _reader(stream, sink) -> threading.Thread:
    thread = threading.Thread(target=lambda: [sink(line.rstrip("\r\n")) for line in stream], daemon=True)
    thread.start()
    return thread


def _drain(lines: queue.Queue, on_line) -> None:
    while True:
        try:
            on_line(lines.get_nowait())
        except queue.Empty:
            return


def stop(proc: subprocess.Popen, grace: float = GRACE) -> None:
    """Stop a run as Ctrl-C would (its temporary files removed), then kill it if it does not stop."""
    try:
        if sys.platform == "win32":
            proc.terminate()
        else:  # the whole group: workers of -j too
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def run(argv: list[str], on_line, is_canceled, poll: float = 0.02) -> tuple[int, bool, str, list[str]]:
    """Run ``argv``; hand each stderr line to ``on_line`` as it comes; stop when ``is_canceled()``.

    ``on_line`` and ``is_canceled`` are called from the calling thread only (Processing's
    feedback belongs to the algorithm's thread). Returns ``(exit code, whether it was
    stopped by a cancel, stdout, stderr lines)``: a run stopped by a cancel can still
    exit 0 when it had finished before the signal.
    """
    lines, out, pending = [], [], queue.Queue()
    group = {} if sys.platform == "win32" else {"start_new_session": True}
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, encoding="utf-8", errors="replace", env=child_env(), **group)
    except OSError as exc:  # missing, a folder, not executable, not a program
        raise NotRunnable(f"boundaries: error: cannot run {argv[0]!r}: {exc.strerror or exc}; install boundaries "
                          f"or set its path in {SETTING}") from None
    readers = [_reader(proc.stderr, lambda line: (lines.append(line), pending.put(line))),
               _reader(proc.stdout, out.append)]
    cancelled = False
    while proc.poll() is None:
        _drain(pending, on_line)
        if is_canceled():
            cancelled = True
            stop(proc)
            break
        time.sleep(poll)
    for thread in readers:
        thread.join()
    _drain(pending, on_line)
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, cancelled, "\n".join(out), lines


def error_line(lines: list[str], code: int) -> str:
    """The one-line message of a failed run: its ``boundaries: error:`` line, else its last line."""
    errors = [line for line in lines if line.startswith("boundaries: error:")]
    if errors:
        return errors[-1]
    tail = [line for line in lines if line.strip()]
    return tail[-1] if tail else f"boundaries: exit status {code}"


def snapshot(paths) -> dict[str, tuple | None]:
    """Each path's identity (device, inode, size, time) or None when absent: what a run changed."""
    def ident(path):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
    return {path: ident(path) for path in paths}


def written_since(before: dict) -> list[str]:
    """The paths of ``before`` that a run wrote (our outputs are renamed in whole: never half-written)."""
    after = snapshot(before)
    return [path for path in before if after[path] is not None and after[path] != before[path]]
