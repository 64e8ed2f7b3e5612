"""Response bodies derived from a score snapshot (built once per snapshot and query, then served from memory)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from healthdash.api import jsonio, tabular
from healthdash.api.models.query import CustomerListQuery
from healthdash.api.models.responses import SCORES_CSV_COLUMNS
from healthdash.board import Snapshot
from healthdash.customer_list import HistoryColumns, ListQuery, page_records, select_rows
from healthdash.score_history.digest import MOVER_SPANS, HistoryDigest
from healthdash.score_table import ScoreTable
from healthdash.scoring import ScoringConfig
from healthdash.summary import summary_of, with_status
from healthdash.vocabulary import FACTOR_KEYS

JSON = "application/json"
CSV = "text/csv"
_FIRST_NUMBER = SCORES_CSV_COLUMNS.index("score")
TEXTS = SCORES_CSV_COLUMNS[1:_FIRST_NUMBER]  # the profile (seats too), the tier and the main reason
NUMBERS = SCORES_CSV_COLUMNS[_FIRST_NUMBER:]  # the scores, then each factor's


def dashboard_body(
    snapshot: Snapshot,
    as_of: dt.datetime | None,
    digest: HistoryDigest | None = None,
    config: ScoringConfig | None = None,
    status: str = "active",
    within: np.ndarray | None = None,
) -> bytes:
    """Return the encoded dashboard for a snapshot, of the customers of `status`, with the movers and tier counts of
    the digest when given; of the customers where `within` holds, when given (then without the tier counts over
    time, which are everyone's)."""
    scores = snapshot.scores if within is None else snapshot.scores.take(np.flatnonzero(within), explained=False)
    shown = with_status(scores, status)  # taken once for the summary and the movers (a copy of most of the table)
    summary = summary_of(shown, as_of or snapshot.as_of)
    summary["movers"] = summary["tier_history"] = None
    if digest is not None:
        config = config or ScoringConfig()
        summary["movers"] = {str(back): digest.movers(shown, config, back) for back in MOVER_SPANS}
        summary["tier_history"] = digest.tier_history() if within is None else None
    return jsonio.dumps(summary)


def list_body(
    snapshot: Snapshot,
    params: CustomerListQuery,
    as_of: dt.datetime | None,
    digest: HistoryDigest | None = None,
    within: np.ndarray | None = None,
) -> bytes:
    """Return the encoded page of the customer list for a snapshot (the history's columns from the digest)."""
    query = ListQuery(**params.model_dump(exclude={"as_of"}))
    history = HistoryColumns()
    if digest is not None:
        history = HistoryColumns(
            change_7=digest.change(snapshot.scores, 7) if query.sort == "change_7" else None,
            tier_fell=digest.tier_fell(snapshot.scores, query.tier_fell_within) if query.tier_fell_within else None,
        )
    rows, total = select_rows(snapshot.scores, query, history, within)
    return jsonio.dumps(
        {
            "customers": page_records(snapshot.scores, rows),
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
            "as_of": as_of or snapshot.as_of,
        }
    )


def scores_body(media: str, scores: ScoreTable, as_of: dt.datetime) -> bytes:
    """Return every customer's scores as JSON or CSV (`media`), in id order."""
    return scores_csv(scores) if media == CSV else scores_json(scores, as_of)


def scores_json(scores: ScoreTable, as_of: dt.datetime) -> bytes:
    """Return `{as_of, count, customers}`: each customer's profile, scores and `factors` (key -> score, points)."""
    plain = (*TEXTS, *NUMBERS[: NUMBERS.index(FACTOR_KEYS[0])])  # all but the factors
    columns = [('{"id":', scores.ids)] + [(f',"{name}":', scores.columns[name]) for name in plain]
    for i, key in enumerate(FACTOR_KEYS):
        opening = ',"factors":{' if i == 0 else "},"  # the previous factor's object closes
        columns += [
            (f'{opening}"{key}":{{"score":', scores.columns[key]),
            (',"points":', scores.columns[f"{key}_points"]),
            (',"points_lost":', scores.columns[f"{key}_lost"]),
        ]
    head = jsonio.dumps({"as_of": as_of, "count": len(scores)})[:-1] + b',"customers":['
    return tabular.json_rows(head, columns, "}}}", b"]}")


def scores_csv(scores: ScoreTable) -> bytes:
    """Return a header line (SCORES_CSV_COLUMNS) and one line per customer."""
    numbers = np.column_stack([scores.columns[name] for name in NUMBERS]).astype(float)
    columns = [("", scores.ids), *((",", scores.columns[name]) for name in TEXTS), (",", numbers)]
    return tabular.csv_rows(SCORES_CSV_COLUMNS, columns)
