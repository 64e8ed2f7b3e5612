"""CSV cells that a spreadsheet would run as formulas are kept as text, and a program gets the text back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthdash.spreadsheet import defused, restored

RUNS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-Minus Ltd", "'-Minus Ltd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTabbed", "'\tTabbed"),
        ("'=already quoted", "''=already quoted"),
        ("Acme = good", "Acme = good"),
        ("'Quoted' Co", "'Quoted' Co"),
        ("", ""),
    ],
)
def test_a_cell_that_would_run_gets_an_apostrophe(text: str, cell: str) -> None:
    assert defused(text) == cell
    assert restored(cell) == text


@given(st.text(alphabet=st.sampled_from("'=+-@\t\rab ,\"")) | st.text())
def test_the_text_comes_back_exactly_and_never_runs(text: str) -> None:
    cell = defused(text)
    assert restored(cell) == text
    assert not cell.startswith(RUNS)
