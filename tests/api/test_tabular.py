"""Tables encoded column by column read back as the values they were made of, as JSON and as CSV."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthdash.api import tabular
from healthdash.spreadsheet import defused

# text as PostgreSQL holds it: no NUL, no lone surrogate
names = st.lists(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")), min_size=1, max_size=40)
numbers = st.floats(allow_infinity=False) | st.just(math.nan)


def table(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    size = len(texts)
    ids = np.arange(1, size + 1, dtype=np.int64)
    values = np.linspace(-1.5, 100.0, size)
    values[::3] = np.nan
    maybe = np.array([None if i % 2 else t for i, t in enumerate(texts)], dtype=object)
    return ids, np.array(texts, dtype=object), values, maybe


def same(a: object, b: object) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@settings(max_examples=60)
@given(names)
def test_json_rows_read_back_as_the_columns(texts: list[str]) -> None:
    ids, text, values, maybe = table(texts)
    columns = [('{"id":', ids), (',"name":', text), (',"value":', values), (',"maybe":', maybe)]
    rows = json.loads(tabular.json_rows(b'{"rows":[', columns, "}", b"]}"))["rows"]
    assert [r["id"] for r in rows] == ids.tolist()
    assert [r["name"] for r in rows] == texts
    assert all(
        same(math.nan if r["value"] is None else r["value"], v) for r, v in zip(rows, values.tolist(), strict=True)
    )
    assert [r["maybe"] for r in rows] == maybe.tolist()


@settings(max_examples=60)
@given(names, numbers)
def test_csv_rows_read_back_as_the_columns_with_text_defused(texts: list[str], number: float) -> None:
    ids, text, values, maybe = table(texts)
    block = np.column_stack([values, np.full(len(texts), number)])
    columns = [("", ids), (",", text), (",", maybe), (",", block)]
    header, *rows = list(csv.reader(io.StringIO(tabular.csv_rows(("id", "name", "maybe", "a", "b"), columns).decode())))
    assert header == ["id", "name", "maybe", "a", "b"]
    assert [int(r[0]) for r in rows] == ids.tolist()
    assert [r[1] for r in rows] == [defused(t) for t in texts]
    assert [r[2] for r in rows] == ["" if m is None else defused(m) for m in maybe.tolist()]
    for row, a in zip(rows, values.tolist(), strict=True):
        assert same(float(row[3]) if row[3] else math.nan, a)
        assert same(float(row[4]) if row[4] else math.nan, number)


def test_rows_go_in_chunks_and_an_empty_table_is_just_its_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "CHUNK", 3)
    ids = np.arange(1, 11, dtype=np.int64)
    assert json.loads(tabular.json_rows(b"[", [("", ids)], "", b"]")) == ids.tolist()
    assert tabular.csv_rows(("id",), [("", ids)]).decode().split("\r\n") == ["id", *map(str, range(1, 11)), ""]
    empty = np.array([], dtype=np.int64)
    assert tabular.json_cells(empty) == tabular.csv_cells(np.array([], dtype=float)) == []
    assert tabular.json_rows(b"[", [("", empty)], "", b"]") == b"[]"
    assert tabular.csv_rows(("id",), [("", empty)]) == b"id\r\n"
