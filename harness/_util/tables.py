"""Markdown tables and numbers for reading: one owner for the pipes, and for how a mean shows its interval."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A GitHub markdown table, one line each: the header, its rule, then one row per sequence of cells (a pipe
    inside a cell is escaped)."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _cell(value: object) -> str:
    """A cell's text; a pipe inside it would end the cell, so it is escaped."""
    return str(value).replace("|", "\\|")


def with_interval(mean: float, half: float) -> str:
    """`mean ± half` with the half-width to two significant digits and the mean to one digit more than the
    half-width's last (1184 ± 390, 0.687 ± 0.20); 'n/a' for no mean, '(one seed)' where no interval exists."""
    if math.isnan(mean):
        return "n/a"
    if math.isnan(half):
        return f"{mean:.4g} (one seed)"
    if half <= 1e-9 * max(1.0, abs(mean)):
        return f"{mean:.4g} ± 0"
    decimals = 1 - math.floor(math.log10(half))  # where the half-width's second significant digit sits
    shown = round(half, decimals)
    if shown >= 10 ** (2 - decimals):  # rounding carried into a third digit (0.0996 -> 0.100)
        decimals -= 1
        shown = round(half, decimals)
    return f"{mean:.{max(decimals + 1, 0)}f} ± {shown:.{max(decimals, 0)}f}"
