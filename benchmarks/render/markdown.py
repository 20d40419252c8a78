"""Number formats and Markdown tables."""

from __future__ import annotations

GB = 1e9


def pct(v) -> str:
    """A share as a percentage with two decimals (``n/a`` for None)."""
    return "n/a" if v is None else f"{100 * v:.2f} %"


def f3(v) -> str:
    """Three decimals (``n/a`` for None)."""
    return "n/a" if v is None else f"{v:.3f}"


def gb(v) -> str:
    """Bytes in GB (10⁹) with two decimals."""
    return f"{v / GB:.2f} GB"


def cores(r: dict) -> str:
    """The cores the rest of the machine kept busy during a run (``?`` when unknown)."""
    return "?" if r.get("others") is None else f"{r['others']:.2f} cores"


def table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table, the first column left-aligned and the others right-aligned."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out
