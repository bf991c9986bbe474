"""How a table fits a terminal: which columns to show and how wide each is. Pure layout (no
terminal, no rich); :mod:`thothctl.output` renders the result.

A table degrades gracefully as the terminal narrows: first the least important columns are
dropped (``Column.drop``: 1 goes first), then the columns that may give way are narrowed: prose
(``fit="wrap"``) wraps at spaces, a ``fit="cut"`` cell is cut with an ellipsis. An identifier or a
command (``fit="keep"``, the default) is never broken nor cut while any table at all fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

KEEP, WRAP, CUT = "keep", "wrap", "cut"
GAP = 2  # spaces between two columns
ELLIPSIS = "…"
_MIN_WRAP = 16  # a prose column narrower than this is hard to read
_MIN_CUT = 8


@dataclass(frozen=True)
class Column:
    """A table column: its header, when it is dropped (0: never; else 1 first, then 2, …) and how
    its cells give way when space is short (keep, wrap, cut)."""

    header: str
    drop: int = 0
    fit: str = KEEP
    style: str = ""


def as_column(col: str | Column) -> Column:
    return col if isinstance(col, Column) else Column(col)


def _natural(header: str, cells: Sequence[str], measure: Callable[[str], int]) -> int:
    return max([measure(header), *(measure(c) for c in cells)])


def _minimum(col: Column, natural: int, measure: Callable[[str], int]) -> int:
    if col.fit == KEEP:
        return natural
    floor = _MIN_WRAP if col.fit == WRAP else _MIN_CUT
    return max(measure(col.header), min(natural, floor))


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + GAP * max(0, len(widths) - 1)


def layout(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int,
    measure: Callable[[str], int] = len,
) -> list[tuple[int, int]]:
    """``[(column index, width), …]`` of the columns to show, in order, for a terminal ``width``
    wide: everything at its natural width when it fits; else the droppable columns go, least
    important first, until the rest fits; then the columns that may narrow are narrowed: each
    gets its minimum, and the spare space goes to them from left to right (a column further left
    matters more)."""
    natural = [_natural(c.header, [r[i] for r in rows], measure) for i, c in enumerate(columns)]
    minimum = [_minimum(c, natural[i], measure) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    droppable = sorted(
        (i for i, c in enumerate(columns) if c.drop), key=lambda i: (columns[i].drop, -i)
    )
    while _total([natural[i] for i in shown]) > width and droppable:
        shown.remove(droppable.pop(0))
    if _total([natural[i] for i in shown]) <= width:
        return [(i, natural[i]) for i in shown]
    widths = {i: minimum[i] for i in shown}
    spare = width - _total(list(widths.values()))
    for i in shown:
        grow = max(0, min(natural[i] - minimum[i], spare))
        widths[i] += grow
        spare -= grow
    return [(i, widths[i]) for i in shown]


def cut(text: str, width: int, measure: Callable[[str], int] = len) -> str:
    """``text`` in at most ``width`` cells, ending in an ellipsis when it was cut."""
    if measure(text) <= width:
        return text
    out = text
    while out and measure(out) + 1 > width:
        out = out[:-1]
    return out.rstrip() + ELLIPSIS if width > 0 else ""


def cell_lines(
    text: str, width: int, fit: str, measure: Callable[[str], int] = len, *, last: bool = False
) -> list[str]:
    """A cell's lines at ``width``: prose wraps at spaces (a word too long for the column is cut,
    unless this is the last column, which may run on); anything else is one line, cut with an
    ellipsis only when even the minimum did not fit."""
    if fit == WRAP and measure(text) > width:
        import textwrap  # only when something wraps: not on every start

        lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
        return lines if last else [cut(line, width, measure) for line in lines]
    return [text if last and fit == KEEP else cut(text, width, measure)]


STACK_BELOW = 28  # a prose column narrower than this goes on its own line under the row


def fit(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int,
    measure: Callable[[str], int] = len,
) -> tuple[list[tuple[int, int]], int | None]:
    """:func:`layout`, and the column to print under each row instead of beside it (or None):
    when the last column is prose squeezed under ``STACK_BELOW`` cells, or too narrow for one of
    its words (an identifier would be cut), the row keeps the other columns and the prose gets
    lines of its own, as wide as the terminal."""
    shown = layout(columns, rows, width, measure)
    i, w = shown[-1]
    natural = _natural(columns[i].header, [r[i] for r in rows], measure)
    longest = max((measure(word) for r in rows for word in r[i].split()), default=0)
    squeezed = w < STACK_BELOW or longest > w
    if len(shown) < 2 or columns[i].fit != WRAP or natural <= w or not squeezed:
        return shown, None
    rest = [j for j in range(len(columns)) if j != i]
    sub = layout([columns[j] for j in rest], [[r[j] for j in rest] for r in rows], width, measure)
    return [(rest[k], w) for k, w in sub], i
