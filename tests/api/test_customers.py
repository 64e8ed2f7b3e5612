"""The customer list: filters, a total order for every sort, pages that add up, and answers as of any day."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.client import all_customers, call, get, problem
from tests.api.roster import MARK, MEMBERS, Roster, at_noon
from tests.servers import RunningServer

Row = dict[str, Any]
FIELDS = {"id", "name", "segment", "plan", "score", "tier", "trend"}


def ordered(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Return the rows in the documented order: by the key (missing values last), then name in any case, then id."""
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]

    def by_name(r: Row) -> tuple[str, int]:
        return (r["name"].casefold(), r["id"])

    if key == "name":
        return sorted(rows, key=by_name, reverse=descending)
    present = sorted(sorted(present, key=by_name), key=lambda r: r[key], reverse=descending)  # stable: ties by name
    return present + sorted(missing, key=by_name)


@pytest.fixture(scope="module")
def everyone(server: RunningServer) -> list[Row]:
    return all_customers(server)


def test_each_row_has_the_contract_fields(server: RunningServer, everyone: list[Row]) -> None:
    page = get(server, "/api/customers")
    assert set(page) == {"customers", "total", "limit", "offset", "as_of"}
    assert page["limit"] == 50 and page["offset"] == 0 and page["total"] == len(everyone)
    assert all(set(row) == FIELDS for row in everyone)
    assert len({row["id"] for row in everyone}) == len(everyone)


def test_the_list_agrees_with_each_customers_health(server: RunningServer, roster: Roster, everyone: list[Row]) -> None:
    for key in ("alpine", "beacon", "cobalt", "delta"):
        (row,) = [r for r in everyone if r["id"] == roster[key]]
        health = get(server, f"/api/customers/{roster[key]}/health")
        assert row["name"] == health["customer"]["name"] == roster.names[key]
        assert (row["score"], row["tier"], row["trend"]) == (health["score"], health["tier"], health["trend"]["delta"])
    tiers = {r["id"]: r["tier"] for r in everyone}
    assert tiers[roster["alpine"]] == "healthy"
    assert tiers[roster["beacon"]] == "at_risk"
    assert tiers[roster["cobalt"]] == "critical"
    assert tiers[roster["delta"]] == "insufficient_data"


@pytest.mark.parametrize(
    ("name", "test"),
    [
        ("tier", lambda row, value: row["tier"] == value),
        ("segment", lambda row, value: row["segment"] == value),
        ("plan", lambda row, value: row["plan"] == value),
    ],
)
def test_each_filter_keeps_exactly_the_matching_customers(
    server: RunningServer, everyone: list[Row], name: str, test: Callable[[Row, str], bool]
) -> None:
    values = {row[name] for row in everyone}
    assert len(values) >= 3
    for value in values:
        expected = sorted(row["id"] for row in everyone if test(row, value))
        page = get(server, "/api/customers", **{name: value}, limit=500)
        assert sorted(row["id"] for row in page["customers"]) == expected
        assert page["total"] == len(expected)


def test_the_name_search_ignores_case(server: RunningServer, roster: Roster) -> None:
    for query in (MARK.upper(), MARK.lower(), "hDtEsT"):
        page = get(server, "/api/customers", q=query, limit=500)
        assert {row["id"] for row in page["customers"]} == set(roster.ids.values())
        assert page["total"] == len(MEMBERS)
    assert [row["id"] for row in get(server, "/api/customers", q="EMBER hdtest")["customers"]] == [roster["ember"]]
    assert get(server, "/api/customers", q="no customer is called this")["customers"] == []


def test_filters_combine(server: RunningServer, roster: Roster) -> None:
    page = get(server, "/api/customers", q=MARK, segment="smb", plan="starter", tier="at_risk")
    assert {row["id"] for row in page["customers"]} == {roster["ivy"], roster["iris"]}


@pytest.mark.parametrize("key", ["score", "name", "trend"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_sort_is_a_total_order_over_the_data(
    server: RunningServer, everyone: list[Row], key: str, order: str
) -> None:
    rows = all_customers(server, sort=key, order=order)
    assert rows == ordered(everyone, key, descending=order == "desc")
    values = [row[key] for row in rows if row[key] is not None]
    assert len(set(map(str, values))) > 1


def test_equal_scores_are_ordered_by_name_in_any_case(server: RunningServer, roster: Roster) -> None:
    rows = get(server, "/api/customers", q="hdtest clinics", sort="score", order="desc")["customers"]
    assert [row["name"] for row in rows] == [roster.names["iris"], roster.names["ivy"]]
    assert rows[0]["score"] == rows[1]["score"]
    by_name = get(server, "/api/customers", q=MARK, sort="name")["customers"]
    assert [row["name"].casefold() for row in by_name] == sorted(row["name"].casefold() for row in by_name)
    assert by_name[1]["name"] == roster.names["beacon"]  # lower case "beacon" between Alpine and Cobalt


def test_customers_without_a_trend_come_last_either_way(server: RunningServer, roster: Roster) -> None:
    for order in ("asc", "desc"):
        rows = get(server, "/api/customers", q=MARK, sort="trend", order=order)["customers"]
        assert rows[-1]["id"] == roster["delta"] and rows[-1]["trend"] is None


def test_pages_add_up_to_the_whole_list(server: RunningServer, everyone: list[Row]) -> None:
    whole = all_customers(server, sort="name")
    pages: list[Row] = []
    for offset in range(0, len(whole), 7):
        page = get(server, "/api/customers", sort="name", limit=7, offset=offset)
        assert page["total"] == len(everyone)
        assert (page["limit"], page["offset"]) == (7, offset)
        assert len(page["customers"]) == min(7, len(whole) - offset)
        pages += page["customers"]
    assert pages == whole
    beyond = get(server, "/api/customers", offset=len(whole) + 10)
    assert beyond["customers"] == [] and beyond["total"] == len(whole)
    assert len(get(server, "/api/customers", limit=500)["customers"]) == min(500, len(whole))


def test_limit_over_500_is_refused(server: RunningServer) -> None:
    document = problem(call(server, "GET", "/api/customers?limit=501"), 422)
    assert document["errors"][0]["field"] == "limit"


def test_a_past_as_of_gives_a_different_reproducible_list(server: RunningServer, roster: Roster) -> None:
    past = at_noon(45).date().isoformat()
    now = all_customers(server)
    then = all_customers(server, as_of=past)
    assert then == all_customers(server, as_of=past)
    assert then != now
    assert roster["delta"] not in {row["id"] for row in then}  # five days old: not a customer 45 days ago
    assert len(then) < len(now)
    page = get(server, "/api/customers", as_of=past)
    assert page["as_of"] == f"{past}T23:59:59+00:00"
    stamp = get(server, "/api/customers", as_of=f"{past}T23:59:59Z", limit=500)
    assert stamp["customers"] == then[:500]
    shifted = get(server, "/api/customers", as_of=f"{past}T23:59:59-02:00", limit=1)
    assert shifted["as_of"] == f"{at_noon(44).date().isoformat()}T01:59:59+00:00"
