"""Measuring one command: wall time, CPU time and peak memory of its whole process tree.

Each command runs under :mod:`benchmarks.sampler` (a bare interpreter between the bench
and the command, so that the bench's own memory is not counted); this module starts
it, reads its JSON line and adds what the machine's other work did meanwhile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .common import ROOT

#: How often the sampler reads the memory of the measured process tree (seconds).
SAMPLE_PERIOD = 0.2
SAMPLER = Path(__file__).with_name("sampler.py")

#: The environment of every measured command: set by :func:`benchmarks.snapshot.snapshot`
#: so that children import the same copy of ``boundaries`` as the bench (None: inherited).
_CHILD_ENV: dict | None = None


def set_child_env(env: dict | None) -> None:
    """The environment every later :func:`run_child` gives its command."""
    global _CHILD_ENV
    _CHILD_ENV = env


class ChildFailed(RuntimeError):
    """A measured command exited with an error: its exit code ``rc`` and the end of its ``stderr``."""

    def __init__(self, cmd, rc, stderr: str):
        super().__init__(f"{' '.join(map(str, cmd))} failed (exit {rc}): {stderr}")
        self.rc, self.stderr = rc, stderr


def _busy_seconds() -> float | None:
    """CPU seconds every core of the machine has spent busy since boot (``/proc/stat``), or None."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(f[:8]) - f[3] - (f[4] if len(f) > 4 else 0)) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def run_child(cmd: list, cwd=ROOT, timeout: float | None = None) -> dict:
    """Run ``cmd`` in a fresh process and measure it.

    Parameters
    ----------
    cmd : list
        The command (paths and numbers are turned into strings).
    cwd : path
        Its working folder (the repository by default).
    timeout : float, optional
        Seconds after which the command is killed with its workers; the result then says
        ``cut`` (its ``seconds`` are the time it ran).

    Returns
    -------
    dict
        Wall ``seconds``, ``cpu`` seconds, peak memory in bytes (``mem`` of the process
        tree, and ``rss``, ``pss``, ``rss_single``, ``rss_upper``: see
        :mod:`benchmarks.sampler`), ``load`` (the 1-minute load average before), and
        ``others``: the cores that the rest of the machine kept busy on average meanwhile
        (all busy CPU time less the command's, over the wall time; the sampler's own reads
        are counted there), or None where ``/proc/stat`` cannot be read.

    Raises
    ------
    ChildFailed
        The command exited with an error (and was not cut).
    """
    load = os.getloadavg()[0]
    busy0 = _busy_seconds()
    limit = 1e12 if timeout is None else max(timeout, 0.0)
    proc = subprocess.run([sys.executable, "-S", SAMPLER, str(limit), str(SAMPLE_PERIOD), *map(str, cmd)],
                          cwd=cwd, capture_output=True, text=True, env=_CHILD_ENV)
    busy1 = _busy_seconds()
    try:
        g = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        g = {"rc": "?"}
    if proc.returncode != 0 or (g["rc"] != 0 and not g.get("cut")):
        raise ChildFailed(cmd, g["rc"], proc.stderr[-2000:])
    g["load"] = load
    g["others"] = (None if busy0 is None or busy1 is None or g["seconds"] <= 0
                   else max(0.0, (busy1 - busy0 - g["cpu"]) / g["seconds"]))
    return g
