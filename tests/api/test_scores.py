"""GET /api/scores: every customer's scores from the score board, as JSON or CSV; GET /api/scoring: the configuration.

The module's server runs with scoring settings of its own, so that its answers show they are the server's, and its
roster has a customer whose name a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from healthdash.api.models.responses import SCORES_CSV_COLUMNS
from healthdash.client import ApiClient
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.service import HealthService
from healthdash.settings import load_settings
from tests.api.client import all_customers, call, get, problem
from tests.api.roster import MARK, MEMBERS, Member, Roster, seed
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # its roster has a customer more than the others'
SERVER_ENVIRONMENT = {"HEALTHDASH_WEIGHT_API_USAGE": "30", "HEALTHDASH_HEALTHY_MIN": "75"}
FORMULA_NAME = f'=HYPERLINK("http://example.com"), {MARK} "Quoted" Co'


@pytest.fixture(scope="module")
def roster(database_url: str) -> Roster:
    """The roster, and a customer whose name starts like a spreadsheet formula and holds a comma and quotes."""
    formula = Member("formula", FORMULA_NAME, "smb", "starter", login_days=(1, 2, 3), features=1)
    return seed(database_url, (*MEMBERS, formula))


@pytest.fixture(scope="module")
def configured() -> ScoringConfig:
    return load_settings(SERVER_ENVIRONMENT).scoring


@pytest.fixture(scope="module")
def scores(server: RunningServer) -> dict[str, Any]:
    answer: dict[str, Any] = get(server, "/api/scores")
    return answer


@pytest.fixture(scope="module")
def service(database_url: str, configured: ScoringConfig) -> Iterator[HealthService]:
    service = HealthService(create_engine(database_url, poolclass=NullPool), configured)
    yield service
    service.engine.dispose()


def by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def same(a: Any, b: Any) -> bool:
    """Tell whether two values are equal, NaN and None alike."""
    missing = [x is None or (isinstance(x, float) and math.isnan(x)) for x in (a, b)]
    return all(missing) or (not any(missing) and a == b)


def test_scoring_answers_the_configuration_the_server_uses(server: RunningServer, configured: ScoringConfig) -> None:
    body = get(server, "/api/scoring")
    assert body["weights"]["api_usage"] == 30.0 and body["healthy_min"] == 75.0
    assert ScoringConfig.from_mapping(body) == configured != ScoringConfig()
    assert ApiClient(server.url, server.token).scoring_config() == configured


def test_every_customer_once_in_id_order_as_the_customer_list_has_them(
    server: RunningServer, scores: dict[str, Any]
) -> None:
    listed = all_customers(server, sort="name", status="all")
    assert scores["count"] == len(scores["customers"]) == len(listed)
    assert [c["id"] for c in scores["customers"]] == sorted(c["id"] for c in listed)
    rows = by_id(scores["customers"])
    for customer in listed:
        row = rows[customer["id"]]
        assert {k: row[k] for k in customer} == customer
    assert dt.datetime.fromisoformat(scores["as_of"]) <= dt.datetime.now(dt.UTC)


def test_the_scores_are_the_scoring_model_s_under_the_server_s_configuration(
    scores: dict[str, Any], service: HealthService, roster: Roster
) -> None:
    expected = service.score_frame(dt.datetime.fromisoformat(scores["as_of"]))
    assert sorted(by_id(scores["customers"])) == list(expected.index)
    for row in scores["customers"]:
        want = expected.loc[row["id"]]
        for column in ("name", "segment", "plan", "seats", "tier", "main_reason", "score", "coverage", "trend"):
            assert same(row[column], want[column]), (row["id"], column)
        assert same(row["previous_score"], want["previous_score"])
        assert list(row["factors"]) == list(FACTOR_KEYS)
        for key, points in row["factors"].items():
            assert same(points["score"], want[key]), (row["id"], key)
            assert points["points"] == pytest.approx(want[f"{key}_points"], abs=1e-9)
            assert points["points_lost"] == pytest.approx(want[f"{key}_lost"], abs=1e-9)
    alpine = by_id(scores["customers"])[roster["alpine"]]
    assert alpine["tier"] == "healthy" and alpine["coverage"] == 1.0
    assert sum(p["points"] for p in alpine["factors"].values()) == pytest.approx(alpine["score"], abs=0.05)


def test_csv_holds_the_same_scores_one_line_per_customer(server: RunningServer, scores: dict[str, Any]) -> None:
    reply = call(server, "GET", "/api/scores", headers={"Accept": "text/csv"})
    assert reply.status == 200 and reply.content_type == "text/csv"
    assert "charset=utf-8" in reply.headers["Content-Type"].lower()
    assert reply.headers["Vary"] == "Accept"
    assert reply.headers["As-Of"] == scores["as_of"]
    header, *lines = list(csv.reader(io.StringIO(reply.body.decode("utf-8"))))
    assert tuple(header) == SCORES_CSV_COLUMNS
    assert len(lines) == scores["count"]
    for line, row in zip(lines, scores["customers"], strict=True):
        cells = dict(zip(header, line, strict=True))
        flat = {k: v for k, v in row.items() if k != "factors"}
        for key, points in row["factors"].items():
            flat |= {key: points["score"], f"{key}_points": points["points"], f"{key}_lost": points["points_lost"]}
        for column, value in flat.items():
            if isinstance(value, int | float):
                assert float(cells[column]) == value, (row["id"], column)
            elif column == "name" and value.startswith("="):
                assert cells[column] == "'" + value
            else:
                assert cells[column] == ("" if value is None else value), (row["id"], column)


def test_a_name_a_spreadsheet_would_run_is_text_in_csv_and_comes_back_whole_to_the_client(
    server: RunningServer, roster: Roster
) -> None:
    reply = call(server, "GET", "/api/scores", headers={"Accept": "text/csv"})
    assert f'"\'=HYPERLINK(""http://example.com""), {MARK} ""Quoted"" Co"'.encode() in reply.body
    table = ApiClient(server.url, server.token).scores()
    assert table.loc[roster["formula"], "name"] == FORMULA_NAME
    assert table.loc[roster["alpine"], "name"] == roster.names["alpine"]


def test_as_of_gives_the_scores_of_that_moment(server: RunningServer, roster: Roster) -> None:
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).date().isoformat()
    past = get(server, "/api/scores", as_of=day)
    assert past["as_of"].startswith(f"{day}T23:59:59")
    listed = all_customers(server, as_of=day, status="all")
    assert [c["id"] for c in past["customers"]] == sorted(c["id"] for c in listed)
    rows = by_id(past["customers"])
    assert all({k: rows[c["id"]][k] for k in c} == c for c in listed)
    assert roster["delta"] not in rows  # five days old: not a customer yet
    reply = call(server, "GET", "/api/scores", params={"as_of": day}, headers={"Accept": "text/csv"})
    assert reply.headers["As-Of"] == past["as_of"]
    assert len(reply.body.decode().splitlines()) == 1 + past["count"]


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("text/*", "text/csv"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.2, text/csv;q=0.9", "text/csv"),
    ],
)
def test_the_accept_header_chooses_json_or_csv(server: RunningServer, accept: str, media: str) -> None:
    reply = call(server, "GET", "/api/scores", headers={"Accept": accept})
    assert reply.status == 200 and reply.content_type == media


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/plain", "text/csv;q=0, application/json;q=0"])
def test_an_accept_header_for_neither_gets_406(server: RunningServer, accept: str) -> None:
    document = problem(call(server, "GET", "/api/scores", headers={"Accept": accept}), 406)
    assert "application/json or text/csv" in document["detail"]


def test_bad_parameters_are_refused(server: RunningServer) -> None:
    problem(call(server, "GET", "/api/scores", params={"as_of": "yesterday"}), 422)
    problem(call(server, "GET", "/api/scores", params={"limit": "5"}), 422)
    problem(call(server, "GET", "/api/scoring", params={"as_of": "1999-01-01"}), 422)
    problem(call(server, "POST", "/api/scores"), 405)
