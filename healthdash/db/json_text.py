"""SQL fragments that write JSON text as the API's encoder writes it: compact, moments in UTC with six digits of a
fraction or none.

Joining a row's text with concat costs PostgreSQL less than json_build_object and json_agg (a customer's evidence with
a page of 500 events, at 100,000 customers with the pages in its buffers: 3.0-3.4 ms against 3.8-4.0 ms). Each
fragment here yields JSON text and is never NULL (`null` instead), so that concat, which would drop a NULL without a
word, cannot lose a field.
"""

from __future__ import annotations

# quoted (\" in the picture), six digits of a fraction; when they are all 0 (a whole second) none at all, as Python's
# isoformat() writes it
_MOMENT = """replace(to_char({0} AT TIME ZONE 'UTC', '\\"YYYY-MM-DD"T"HH24:MI:SS.US"+00:00\\"'), '.000000+', '+')"""


def moment(column: str) -> str:
    """A timestamptz as a JSON string in UTC (`"2026-11-25T10:00:34.810550+00:00"`), or null."""
    return f"coalesce({_MOMENT.format(column)}, 'null')"


def string(column: str) -> str:
    """A text (or date) as a JSON string, escaped, or null."""
    return f"coalesce(to_json({column})::text, 'null')"


def number(column: str) -> str:
    """A number as JSON (a numeric keeps its scale: 12000.00), or null."""
    return f"coalesce(({column})::text, 'null')"


def json_value(column: str) -> str:
    """A json or jsonb value as it is written, or null."""
    return f"coalesce(({column})::text, 'null')"


def json_object(**fields: str) -> str:
    """A JSON object of fields in the given order, each an expression from the functions above."""
    parts = [f"""'{"," if n else "{"}"{key}":', {value}""" for n, (key, value) in enumerate(fields.items())]
    return f"concat({', '.join(parts)}, '}}')"


def json_array(element: str, order: str) -> str:
    """An aggregate: the rows' elements (JSON text) as a JSON array in the given order (`[]` for no rows)."""
    return f"concat('[', string_agg({element}, ',' ORDER BY {order}), ']')"
