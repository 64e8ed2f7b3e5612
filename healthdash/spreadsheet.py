"""Text in CSV files meant for spreadsheets: a cell that a spreadsheet would run as a formula is kept as text.

Such a cell starts with = + - @, a tab or a carriage return, after any apostrophes; it gets one apostrophe more in
front (OWASP's advice against CSV injection), which a spreadsheet shows and never runs. `restored` takes it off
again, so that a program reading the file gets the text exactly as it was.
"""

from __future__ import annotations

import re

_RUNS = re.compile(r"'*[=+\-@\t\r]")


def defused(text: str) -> str:
    """Return the text as a cell that a spreadsheet shows, never runs."""
    return "'" + text if _RUNS.match(text) else text


def restored(cell: str) -> str:
    """Return the text that `defused` made a cell of."""
    return cell[1:] if cell.startswith("'") and _RUNS.match(cell, 1) else cell
