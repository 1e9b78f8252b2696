"""Print a rich table at the console's width without cutting a cell.

:func:`print_table` prints the table as it is when its columns fit: ids and numbers (columns
with ``no_wrap``) at their full width, free-text columns wrapped at spaces. On a console too
narrow for that it prints each row as one wrapped line of ``header value`` pairs instead
(like ``psql``'s expanded mode), so ids such as ``nebius:us-central1:gpu-b200-sxm_8gpu`` stay
whole at any width rather than lose characters to an ellipsis.
"""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

FOLD_MIN = 12
"""Narrowest a free-text column that folds long words (``overflow="fold"``, wrapping) may get."""


def needed_width(table: Table, console: Console) -> int:
    """Columns the table needs with no cell cut: full width of ``no_wrap`` columns (ids,
    numbers), the longest word of wrapping ones (at most :data:`FOLD_MIN` for those that fold),
    plus padding and borders (an upper bound)."""
    options = console.options
    total = 0
    for column in table.columns:
        cells = [column.header, *column._cells]
        sizes = [Measurement.get(console, options, c) for c in cells if c is not None]
        if not sizes:
            continue
        width = max(s.maximum if column.no_wrap else s.minimum for s in sizes)
        if not column.no_wrap and column.overflow == "fold":
            width = min(width, FOLD_MIN)  # long words of free text fold: not ids
        if column.min_width is not None:
            width = max(width, column.min_width)
        total += width
    left, right = table.padding[3], table.padding[1]
    return total + len(table.columns) * (left + right + 1) + 1


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return str(cell)


def print_table(table: Table, console: Console) -> None:
    """``table`` on ``console``: as a table when it fits, else one wrapped line per row."""
    if needed_width(table, console) <= console.width:
        console.print(table)
        return
    if table.title:
        console.print(table.title, style=table.title_style or None, markup=False, highlight=False)
    headers = [_plain(c.header).split("\n") for c in table.columns]
    cells = [[_plain(c) for c in column._cells] for column in table.columns]
    rows = len(cells[0]) if cells else 0
    for i in range(rows):
        parts = []
        for header, column in zip(headers, cells, strict=True):
            value = column[i].replace("\n", " ")
            if not value:
                continue  # an empty cell says nothing as a pair
            name, unit = header[0], " ".join(header[1:]).strip("[]")
            if unit and unit != "%":
                value = f"{value} {unit}"  # "used_usd 91,642 USD", not "used_usd [USD] 91,642"
            parts.append(f"{name} {value}" if name else value)
        console.print("  " + "; ".join(parts), markup=False, highlight=False)
    if table.caption:
        console.print(table.caption, style="dim", markup=False, highlight=False)
