"""Writing RESULTS.md and patching the bench blocks of README.md and docs/method.md.

The markers are ``<!-- bench:start -->`` … ``<!-- bench:end -->`` (the summary table in
README.md, the step table in docs/method.md), ``<!-- national:start -->`` …
``<!-- national:end -->`` (section 6 of RESULTS.md, replaced alone by ``--only national``) and
``<!-- land:start -->`` … ``<!-- land:end -->`` (the land section, ``--only land``), and the same for
``uses`` and ``web`` (``--only uses``, ``--only web``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..common import ROOT, log
from .national import NAT_END, NAT_START

MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"

__all__ = ["MARK_END", "MARK_START", "NAT_END", "NAT_START", "update_block", "update_row", "write_section",
           "write_text"]


def write_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, renamed over it once complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a results file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _split_block(path: Path) -> tuple[str, str, str] | None:
    """``path``'s text before, inside and after the bench markers (None, logged, without them)."""
    doc = path.read_text()
    if MARK_START not in doc or MARK_END not in doc:
        log(f"{path.name}: markers {MARK_START} … {MARK_END} not found; not updated")
        return None
    head, rest = doc.split(MARK_START, 1)
    block, tail = rest.split(MARK_END, 1)
    return head, block, tail


def update_block(path: Path, text: str, date: str) -> bool:
    """Replace the block between the bench markers in ``path`` (README.md, docs/method.md)."""
    parts = _split_block(path)
    if parts is None:
        return False
    head, _, tail = parts
    link = "benchmarks/RESULTS.md" if path.parent == ROOT else "../benchmarks/RESULTS.md"
    block = (f"{MARK_START}\n{text}\n\nMeasured {date} by `make bench`; details, machine and versions in "
             f"[benchmarks/RESULTS.md]({link}).\n{MARK_END}")
    path.write_text(head + block + tail)
    return True


def write_section(path: Path, env: dict, lines: list[str], quick: bool, start: str = NAT_START,
                  end: str = NAT_END) -> None:
    """Put one section into ``path`` (``--only``; the national one by default, else the one between
    ``start`` and ``end``): in place of the one there, else before its closing run-time line, else at
    its end; a new file gets the header first."""
    from .results import header_lines

    block = "\n".join(lines)
    if path.exists():
        doc = path.read_text()
        if start in doc and end in doc:
            head, rest = doc.split(start, 1)
            doc = head + block + rest.split(end, 1)[1]
        elif "\nBench run time:" in doc:
            head, tail = doc.rsplit("\nBench run time:", 1)
            doc = head + "\n" + block + "\n\nBench run time:" + tail
        else:
            doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    else:
        doc = "\n".join(header_lines(env, quick)) + "\n\n" + block + "\n"
    write_text(path, doc)


def update_row(path: Path, row: list, prefixes=("| All France", "| National shape")) -> bool:
    """Replace the row starting with one of ``prefixes`` in the bench block of ``path``, or add it
    after the block's last table row (``--only national``: the other rows stay as they were)."""
    parts = _split_block(path)
    if parts is None:
        return False
    head, block, tail = parts
    lines = block.split("\n")
    line = "| " + " | ".join(str(c) for c in row) + " |"
    found = [i for i, x in enumerate(lines) if x.startswith(prefixes)]
    rows = [i for i, x in enumerate(lines) if x.startswith("|")]
    if found:
        lines[found[0]] = line
    elif rows:
        lines.insert(rows[-1] + 1, line)
    else:
        log(f"{path.name}: no summary table in the bench block; not updated")
        return False
    path.write_text(head + MARK_START + "\n".join(lines) + MARK_END + tail)
    return True
