"""JSON in and out of the API: strict parsing of bodies, and answers that are always valid JSON."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pytest

from healthdash.api.jsonio import JSONBodyError, dumps, parse_body


def test_answers_encode_dates_decimals_and_numpy_numbers() -> None:
    body = {
        "when": dt.datetime(2026, 11, 1, 12, 30, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 1),
        "amount": Decimal("1250.50"),
        "count": np.int64(7),
        "share": np.float64(0.25),
        "name": "Kōwhai Valley Dairy",
    }
    text = dumps(body).decode("utf-8")
    assert json.loads(text) == {
        "when": "2026-11-01T12:30:00+00:00",
        "day": "2026-11-01",
        "amount": 1250.5,
        "count": 7,
        "share": 0.25,
        "name": "Kōwhai Valley Dairy",
    }
    assert "Kōwhai" in text  # UTF-8, not \\u escapes


def test_a_missing_number_becomes_null_never_nan() -> None:
    text = dumps({"score": float("nan"), "scores": [1.0, float("inf"), (float("-inf"),)]}).decode()
    assert json.loads(text) == {"score": None, "scores": [1.0, None, [None]]}
    assert "NaN" not in text and "Infinity" not in text


def test_what_the_fast_encoder_refuses_is_still_encoded_exactly() -> None:
    body = {"id": 2**70, "score": float("nan"), 3: "a key that is a number"}
    assert json.loads(dumps(body)) == {"id": 2**70, "score": None, "3": "a key that is a number"}


def test_an_unknown_value_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="cannot encode object"):
        dumps({"what": object()})


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"Infinity", b"-Infinity", b'{"a": NaN}', b"\xc3\x28", b'"\\udfff"', b"[" * 5_000 + b"]" * 5_000],
)
def test_a_body_that_is_not_strict_utf8_json_is_refused(raw: bytes) -> None:
    with pytest.raises(JSONBodyError):
        parse_body(raw)


def test_a_strict_json_body_is_parsed() -> None:
    assert parse_body('{"user": "Zoë 😀", "n": [1, 2.5, null, true]}'.encode()) == {
        "user": "Zoë 😀",
        "n": [1, 2.5, None, True],
    }


@pytest.mark.parametrize(
    "raw",
    [
        b'{"customer_id": 18446744073709551616}',
        b'{"customer_id": -9223372036854775809}',
        b'{"ids": [1, 99999999999999999999999999999]}',
    ],
)
def test_an_integer_beyond_64_bits_is_read_exactly_not_as_a_float(raw: bytes) -> None:
    value = parse_body(raw)
    numbers = value.get("ids") or [value["customer_id"]]
    assert all(isinstance(n, int) for n in numbers)
    assert str(numbers[-1]) in raw.decode()  # every digit kept: a float would have lost them


def test_a_large_body_parses_to_what_the_standard_library_reads() -> None:
    import json

    events = [{"customer_id": n, "type": "login", "data": {"x": n / 7, "s": "é\u2028"}} for n in range(5_000)]
    raw = json.dumps({"events": events}).encode()
    assert parse_body(raw) == json.loads(raw)
