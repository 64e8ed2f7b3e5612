"""The pages' API client: answers as the API's models, a cache like a front-end store, errors as ApiError."""

from __future__ import annotations

import datetime as dt
import io
import math
import urllib.error
from collections.abc import Iterator
from email.message import Message

import pandas as pd
import pytest

from healthdash.api.models.query import CustomerListQuery
from healthdash.api.models.responses import SCORES_CSV_COLUMNS, Dashboard
from healthdash.client import ApiClient, ApiError, _problem, parse_model, scores_frame, scoring_config_from
from healthdash.scoring import ScoringConfig
from healthdash.vocabulary import FACTOR_KEYS, TIERS
from tests.conftest import TEST_TOKEN
from tests.databases import sample_data_copy
from tests.people import person_token
from tests.servers import RunningServer, start_server


@pytest.fixture(scope="module")
def live(admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with (
        sample_data_copy(admin_url, template_db, "hd_client") as url,
        start_server(url, tmp_path_factory.mktemp("client-server"), TEST_TOKEN) as running,
    ):
        yield running


@pytest.fixture
def client(live: RunningServer) -> ApiClient:
    return ApiClient(live.url + "/", live.token)


def test_reads_the_dashboard_as_the_api_model(client: ApiClient, live: RunningServer) -> None:
    dashboard = client.dashboard()
    _, _, body = live.get("/api/dashboard")
    assert dashboard.customer_count == body["customer_count"]
    assert [c.id for c in dashboard.top_at_risk] == [c["id"] for c in body["top_at_risk"]]
    assert [b.from_ for b in dashboard.distribution] == [b["from"] for b in body["distribution"]]


def test_answers_already_fetched_cost_no_request_until_invalidated(client: ApiClient) -> None:
    first_page = CustomerListQuery(limit=10)
    second_page = CustomerListQuery(limit=10, offset=10)
    client.dashboard()
    client.customers(first_page)
    client.customers(second_page)
    client.health(1)
    assert client.requests_sent == 4
    # back to what was seen: tabs, filters and pages already fetched come from the cache
    client.dashboard()
    client.customers(CustomerListQuery(limit=10))
    client.customers(second_page)
    client.health(1)
    assert client.requests_sent == 4
    client.customers(CustomerListQuery(limit=10, tier="critical"))
    assert client.requests_sent == 5
    client.invalidate()
    client.dashboard()
    assert client.requests_sent == 6


def test_all_customers_pages_through_every_match_in_order(client: ApiClient, live: RunningServer) -> None:
    query = CustomerListQuery(sort="name", order="desc")
    rows = list(client.all_customers(query))
    _, _, body = live.get("/api/customers?sort=name&order=desc&limit=500")
    assert [r.id for r in rows] == [c["id"] for c in body["customers"]]
    assert len(rows) == body["total"]
    assert client.requests_sent == 1


def test_all_customers_of_an_empty_filter_is_empty(client: ApiClient) -> None:
    assert list(client.all_customers(CustomerListQuery(q="no customer is called this"))) == []


def test_all_customers_uses_pages_of_the_largest_size(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("healthdash.client.EXPORT_PAGE_SIZE", 7)
    total = client.customers(CustomerListQuery()).total
    rows = list(client.all_customers(CustomerListQuery()))
    assert len(rows) == total
    assert len({r.id for r in rows}) == total
    assert client.requests_sent == 1 + -(-total // 7)


def test_scores_are_every_customer_as_a_dataframe_kept_until_invalidated(
    client: ApiClient, live: RunningServer
) -> None:
    table = client.scores()
    _, _, body = live.get("/api/scores")
    assert table.index.name == "id"
    assert list(table.index) == [row["id"] for row in body["customers"]]
    assert list(table.columns) == list(SCORES_CSV_COLUMNS[1:])
    assert table["tier"].dtype == pd.CategoricalDtype(TIERS)
    assert isinstance(table.attrs["as_of"], dt.datetime) and table.attrs["as_of"].tzinfo is not None
    for row in body["customers"]:
        got = table.loc[row["id"]]
        flat = {k: v for k, v in row.items() if k not in ("id", "factors")}
        for key, points in row["factors"].items():
            flat |= {key: points["score"], f"{key}_points": points["points"], f"{key}_lost": points["points_lost"]}
        for column, value in flat.items():
            if value is None:
                assert got[column] is None or math.isnan(got[column]), (row["id"], column)
            else:
                assert got[column] == value, (row["id"], column)
    assert set(FACTOR_KEYS) <= set(table.columns)
    assert client.scores() is table
    assert client.requests_sent == 1
    client.invalidate()
    assert client.scores() is not table
    assert client.requests_sent == 2


def test_scores_as_of_a_day(client: ApiClient, live: RunningServer) -> None:
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=40)
    table = client.scores(as_of=day)
    _, _, body = live.get(f"/api/scores?as_of={day.isoformat()}")
    assert table.attrs["as_of"] == dt.datetime.fromisoformat(body["as_of"])
    assert table.attrs["as_of"].date() == day
    assert list(table.index) == [row["id"] for row in body["customers"]]
    assert client.scores(as_of=day.isoformat()) is table


def test_the_scoring_configuration_is_asked_for_once(client: ApiClient) -> None:
    assert client.scoring_config() == ScoringConfig()
    client.invalidate()
    assert client.scoring_config() == ScoringConfig()
    assert client.requests_sent == 1


def test_a_scoring_configuration_that_does_not_fit_is_an_api_error() -> None:
    settings = ScoringConfig().as_mapping()
    assert scoring_config_from(settings) == ScoringConfig()
    with pytest.raises(ApiError, match="does not match the API"):
        scoring_config_from({**settings, "healthy_min": "high"})
    with pytest.raises(ApiError, match="does not fit this client: unknown factor in weights: churn"):
        scoring_config_from({**settings, "weights": {**settings["weights"], "churn": 5.0}})


@pytest.mark.parametrize("body", [b"id,name\r\n1,x\r\n", b"not a table", b""])
def test_scores_that_do_not_fit_the_api_are_an_api_error(body: bytes) -> None:
    with pytest.raises(ApiError, match="do not match the API"):
        scores_frame(body, None)


def test_health_of_an_unknown_customer_is_none(client: ApiClient) -> None:
    assert client.health(987_654_321) is None
    health = client.health(1)
    assert health is not None
    assert health.customer.id == 1


def test_recording_an_event_returns_the_new_score_and_forgets_the_cache(client: ApiClient) -> None:
    before = client.health(2)
    assert before is not None
    client.dashboard()
    sent = client.requests_sent
    created = client.record_event(2, "ticket_opened", {"priority": "urgent", "subject": "Nothing works"})
    assert created.event.customer_id == 2
    assert created.event.type == "ticket_opened"
    after = client.health(2)
    assert after is not None
    assert after.score == created.health.score
    assert after.events.items[0].id == created.event.id
    assert client.requests_sent == sent + 2  # the write, then a fresh read


def test_health_passes_on_errors_other_than_an_unknown_customer(unreachable_url: str) -> None:
    client = ApiClient(unreachable_url, timeout=2)
    with pytest.raises(ApiError) as caught:
        client.health(1)
    assert caught.value.status == 0


def test_a_rejected_write_is_an_api_error_naming_the_field(client: ApiClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.record_event(1, "api_call", {"count": 0})
    assert caught.value.status == 422
    assert caught.value.errors[0]["field"] == "data.count"
    assert not caught.value.unavailable


def test_a_write_without_the_token_is_refused(live: RunningServer) -> None:
    with pytest.raises(ApiError) as caught:
        ApiClient(live.url).record_event(1, "login", {})
    assert caught.value.status == 401
    assert "token" in caught.value.detail


def test_an_unreachable_server_is_an_unavailable_api_error(unreachable_url: str) -> None:
    client = ApiClient(unreachable_url, timeout=2)
    with pytest.raises(ApiError) as caught:
        client.dashboard()
    assert caught.value.status == 0
    assert caught.value.unavailable
    assert "cannot be reached" in caught.value.detail


def test_a_proxy_in_the_environment_is_not_used(
    live: RunningServer, monkeypatch: pytest.MonkeyPatch, unreachable_url: str
) -> None:
    unreachable = unreachable_url
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.setenv(name, unreachable)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert ApiClient(live.url, live.token).dashboard().customer_count > 0


def test_from_environment_reads_the_address_and_token_the_server_gave() -> None:
    client = ApiClient.from_environment({"HEALTHDASH_API_URL": "http://127.0.0.1:8000/", "HEALTHDASH_API_TOKEN": "t"})
    assert (client.base_url, client.token) == ("http://127.0.0.1:8000", "t")
    assert ApiClient.from_environment({"HEALTHDASH_API_URL": "http://h:1"}).token is None


def test_a_page_kernel_learns_its_visitor_s_token_and_role_with_the_request() -> None:
    environ = {"HEALTHDASH_API_URL": "http://h:1"}
    client = ApiClient.from_environment(environ)  # a preheated kernel builds its page before the request comes
    assert client.token is None and not client.may_record
    environ.update({"HTTP_X_HEALTHDASH_PAGE_TOKEN": "hdp_page", "HTTP_X_HEALTHDASH_ROLE": "viewer"})
    assert client.token == "hdp_page" and not client.may_record
    environ["HTTP_X_HEALTHDASH_ROLE"] = "csm"
    assert client.may_record
    assert ApiClient("http://h:1", "a token").may_record  # outside the pages: whoever holds a token may try


def test_reads_and_writes_carry_the_token(live: RunningServer) -> None:
    with pytest.raises(ApiError) as caught:
        ApiClient(live.url).dashboard()
    assert caught.value.status == 401
    viewer = ApiClient(live.url, person_token(live.database_url, "viewer"))
    assert viewer.dashboard().customer_count > 0
    with pytest.raises(ApiError) as refused:
        viewer.record_event(1, "login", {})
    assert refused.value.status == 403
    assert "csm" in refused.value.detail


def test_without_an_address_every_request_says_how_to_open_the_pages() -> None:
    client = ApiClient.from_environment({})
    with pytest.raises(ApiError) as caught:
        client.dashboard()
    assert "HEALTHDASH_API_URL is not set" in caught.value.detail
    assert client.requests_sent == 0


def test_an_answer_that_does_not_fit_the_api_is_an_api_error() -> None:
    with pytest.raises(ApiError, match="does not match the API"):
        parse_model(Dashboard, {"customer_count": "many"})


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"detail": "no such thing", "errors": [{"field": "q"}]}', "no such thing"),
        (b"<html>Bad Gateway</html>", "Bad Gateway"),
        (b'["not", "a", "problem"]', "Bad Gateway"),
    ],
)
def test_error_answers_become_api_errors(body: bytes, detail: str) -> None:
    error = urllib.error.HTTPError("http://x/api", 502, "Bad Gateway", Message(), io.BytesIO(body))
    problem = _problem(error)
    assert problem.status == 502
    assert problem.detail == detail
    assert problem.unavailable
