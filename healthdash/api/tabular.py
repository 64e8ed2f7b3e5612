"""Tables encoded as JSON objects or CSV lines column by column, for bodies of a hundred thousand rows.

No Python object is built per row. Rows go in chunks; in each, every column becomes the list of its cells' texts in
one go (numbers through pydantic-core's encoder, text once per distinct value), the cells are laid between the texts
that come before them in all the chunk's rows at once by slice assignment, and joined. A CSV block of number columns
becomes one cell per row: its numbers with commas between them. Small chunks keep the pieces in the processor's
cache, which makes joining them several times faster, and bound the memory they take.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from pydantic_core import to_json

from healthdash.spreadsheet import defused

CHUNK = 500  # rows encoded together: few enough that their pieces stay in the processor's cache
Column = tuple[str, np.ndarray]  # the text before the column's cell in every row, and the column's values
Cells = Callable[[np.ndarray], list[str]]
_QUOTED = re.compile(r'[,"\r\n]')  # a CSV cell with one of these is quoted


def json_cells(values: np.ndarray) -> list[str]:
    """Return each value as JSON: a number (NaN as null), a text or null."""
    if values.dtype.kind in "iuf":
        return _numbers(values, "null")
    return _texts(values, lambda value: "null" if value is None else to_json(value).decode())


def csv_cells(values: np.ndarray) -> list[str]:
    """Return each value as a CSV cell (nothing for NaN or None; text defused, and quoted where needed).

    A two-dimensional array of numbers gives one cell per row: the row's numbers with commas between them.
    """
    if values.dtype.kind in "iuf":
        return _numbers(values, "")
    return _texts(values, _csv_text)


def json_rows(head: bytes, columns: Sequence[Column], end: str, tail: bytes) -> bytes:
    """Return the rows as JSON texts separated by commas, between a head and a tail."""
    return b"".join([head, *_rows(columns, json_cells, ",", end), tail])


def csv_rows(header: Sequence[str], columns: Sequence[Column]) -> bytes:
    """Return a header line and the rows as CSV lines, each ended by CRLF."""
    return b"".join([(",".join(header) + "\r\n").encode(), *_rows(columns, csv_cells, "", "\r\n")])


def _rows(columns: Sequence[Column], cells: Cells, separator: str, end: str) -> list[bytes]:
    size = len(columns[0][1])
    width = 2 * len(columns) + 1  # the text before each cell, each cell, and the end of the row
    chunks: list[bytes] = []
    for start in range(0, size, CHUNK):
        count = min(CHUNK, size - start)
        pieces = [end] * (count * width)
        for j, (before, values) in enumerate(columns):
            pieces[2 * j :: width] = [separator + before if j == 0 else before] * count
            pieces[2 * j + 1 :: width] = cells(values[start : start + count])
        if start == 0:
            pieces[0] = columns[0][0]  # no separator before the first row
        chunks.append("".join(pieces).encode("utf-8"))
    return chunks


def _numbers(values: np.ndarray, nan: str) -> list[str]:
    if not len(values):
        return []
    text = to_json(values.tolist(), inf_nan_mode="null").decode("ascii")
    if nan != "null":
        text = text.replace("null", nan)
    if values.ndim == 2:
        return text[2:-2].split("],[")
    return text[1:-1].split(",")


def _texts(values: np.ndarray, encode: Callable[[str | None], str]) -> list[str]:
    listed = values.tolist()
    encoded = {value: encode(value) for value in dict.fromkeys(listed)}
    return [encoded[value] for value in listed]


def _csv_text(value: str | None) -> str:
    if value is None:
        return ""
    cell = defused(value)
    if _QUOTED.search(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell
