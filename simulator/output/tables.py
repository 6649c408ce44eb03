"""Terminal tables that never cut a number: a table too wide for the terminal is split into parts.

Rich shrinks a table that does not fit and cuts its cells ("797…"), which for a table of figures is worse
than no table. A part keeps the first column (what each row is about) and as many further columns as fit
whole; `--wide` prints every table in one piece at its natural width.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table

WIDE = 10_000
"""A console this wide lays every table out at its natural width."""


def _widths(table: Table, console: Console, wrap: bool) -> list[int]:
    """Each column's width with its padding and border: its widest cell whole, its header whole or (`wrap`)
    wrapped on words."""
    options = console.options.update(width=WIDE)
    widths = []
    for column in table.columns:
        cells = [Measurement.get(console, options, cell).maximum for cell in column._cells]
        header = str(column.header)
        words = max((len(word) for word in header.split()), default=0) if wrap else len(header)
        widths.append(max([words, *cells]) + 3)
    return widths


def _part(table: Table, keep: list[int], widths: list[int], title: str | None, caption: Any) -> Table:
    """The rows of `table` in the columns `keep`, each column held at its width (rich would squeeze it)."""
    part = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for k in keep:
        column = table.columns[k]
        part.add_column(column.header, justify=column.justify, width=widths[k] - 3, overflow="fold")
    for r, row in enumerate(table.rows):
        part.add_row(*(table.columns[k]._cells[r] for k in keep), end_section=row.end_section)
    return part


def fitted(table: Table, width: int) -> list[Table]:
    """`table` as parts of at most `width` columns, each with the first column and others whole."""
    console = Console(width=WIDE)
    title = str(table.title) if table.title is not None else None
    for widths in (_widths(table, console, wrap=False), _widths(table, console, wrap=True)):
        if sum(widths) + 1 <= width or len(widths) <= 2:
            return [_part(table, list(range(len(widths))), widths, title, table.caption)]
    groups: list[list[int]] = [[0]]
    for k in range(1, len(widths)):
        used = sum(widths[i] for i in groups[-1]) + 1
        if len(groups[-1]) > 1 and used + widths[k] > width:
            groups.append([0])
        groups[-1].append(k)
    return [
        _part(
            table,
            keep,
            widths,
            f"{title} ({n} of {len(groups)})" if title else None,
            table.caption if n == len(groups) else None,
        )
        for n, keep in enumerate(groups, start=1)
    ]


def show(renderables: Iterable[RenderableType], wide: bool = False, console: Console | None = None) -> None:
    """Print tables (and groups of them) to fit the terminal, or whole with `wide`."""
    console = console or Console(highlight=False)
    if wide:
        console = Console(highlight=False, width=WIDE, file=console.file)
    for renderable in _flat(renderables):
        if isinstance(renderable, Table) and not wide:
            for part in fitted(renderable, console.width):
                console.print(part)
        else:
            console.print(renderable)


def _flat(renderables: Iterable[RenderableType]) -> Iterable[RenderableType]:
    for r in renderables:
        if isinstance(r, Group):
            yield from _flat(r.renderables)
        else:
            yield r
