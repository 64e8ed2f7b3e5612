"""The customer list: filters and sort by the server, one page at a time, CSV export of the whole filter."""

from __future__ import annotations

import base64
import csv
import io
import re

from healthdash.api.models.query import CustomerListQuery
from healthdash.api.models.responses import CustomerRow
from healthdash.client import ApiClient
from healthdash.widgets import CustomersPage
from healthdash.widgets.csv_export import CsvExport, customers_csv, export_file_name
from healthdash.widgets.customer_filters import CustomerFilters
from healthdash.widgets.customer_table import CustomerTable
from healthdash.widgets.links import PageLinks
from healthdash.widgets.pager import Pager
from tests.people import ensure_person, people_of
from tests.servers import RunningServer
from tests.widgets import samples

LINKS = PageLinks("/voila/render/")


def row_ids(table: CustomerTable) -> list[int]:
    return [int(i) for i in re.findall(r'data-customer-id="(\d+)"', table.value)]


def test_shows_the_first_page_lowest_score_first(client: ApiClient, widgets_server: RunningServer) -> None:
    page = CustomersPage(client, LINKS, page_size=10)
    page.load()
    _, _, body = widgets_server.get("/api/customers?limit=10")
    assert row_ids(page.table) == [c["id"] for c in body["customers"]]
    assert page.pager.total == body["total"]
    assert f"1\u201310 of {body['total']}" in page.pager.position.value
    assert page.pager.previous.disabled
    assert not page.pager.next.disabled


def test_paging_forward_and_back_asks_the_server_only_for_new_pages(client: ApiClient) -> None:
    page = CustomersPage(client, LINKS, page_size=10)
    page.load()
    first = row_ids(page.table)
    page.pager.next.click()
    second = row_ids(page.table)
    assert page.pager.offset == 10
    assert not set(first) & set(second)
    page.pager.previous.click()
    assert row_ids(page.table) == first
    assert client.requests_sent == 2


def test_filters_sort_and_search_go_to_the_server_and_restart_at_the_first_page(
    client: ApiClient, widgets_server: RunningServer
) -> None:
    page = CustomersPage(client, LINKS, page_size=10)
    page.load()
    page.pager.next.click()
    page.filters.tier.value = "at_risk"
    assert page.pager.offset == 0
    _, _, body = widgets_server.get("/api/customers?tier=at_risk&limit=10")
    assert row_ids(page.table) == [c["id"] for c in body["customers"]]
    assert set(re.findall(r"hd-badge hd-tier-(\w+)", page.table.value)) == {"at_risk"}
    page.filters.sort.value = "Name: Z to A"
    _, _, body = widgets_server.get("/api/customers?tier=at_risk&sort=name&order=desc&limit=10")
    assert row_ids(page.table) == [c["id"] for c in body["customers"]]
    page.filters.tier.value = ""
    name = body["customers"][0]["name"]
    page.filters.search.value = f"  {name[2:8].upper()} "
    assert body["customers"][0]["id"] in row_ids(page.table)
    assert page.export.query.q == name[2:8].upper()


def test_a_filter_nothing_matches(client: ApiClient) -> None:
    page = CustomersPage(client, LINKS)
    page.load()
    page.filters.search.value = "no customer is called this"
    assert "No customer matches these filters." in page.table.value
    assert "no customers" in page.pager.position.value
    assert page.pager.next.disabled


def test_query_string_presets_the_filters_and_ignores_invalid_values(client: ApiClient) -> None:
    page = CustomersPage(client, LINKS)
    page.apply_query_string("tier=critical&segment=galaxy&plan=growth&q=a&sort=name&tier=at_risk")
    assert client.requests_sent == 0
    assert (page.filters.tier.value, page.filters.segment.value, page.filters.plan.value) == ("at_risk", "", "growth")
    assert page.filters.search.value == "a"
    page.load()
    assert client.requests_sent == 1
    page.apply_query_string(None)
    assert page.filters.tier.value == "at_risk"


def test_export_offers_every_customer_of_the_filter_as_csv(client: ApiClient, widgets_server: RunningServer) -> None:
    export = CsvExport(client, query=CustomerListQuery(tier="at_risk", sort="name"))
    export.button.click()
    href = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', export.download.value)
    assert href is not None
    assert 'download="customers-at_risk.csv"' in export.download.value
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(href.group(1)).decode("utf-8"))))
    _, _, body = widgets_server.get("/api/customers?tier=at_risk&sort=name&limit=500")
    assert [int(r["id"]) for r in rows] == [c["id"] for c in body["customers"]]
    assert {r["tier"] for r in rows} == {"at_risk"}
    assert f"{len(rows):,} customers" in export.download.value
    assert not export.button.disabled
    export.query = CustomerListQuery()
    assert export.download.value == ""


def test_a_failed_export_says_so(unreachable_url: str) -> None:
    export = CsvExport(ApiClient(unreachable_url, timeout=2))
    export.export()
    assert "The export failed" in export.download.value
    assert not export.button.disabled


def test_csv_keeps_spreadsheet_formulas_from_running() -> None:
    rows = [
        CustomerRow(id=1, name="=HYPERLINK(1)", segment="smb", plan="starter", score=None, tier="critical", trend=-2.5),
        CustomerRow(id=2, name=samples.HOSTILE, segment="smb", plan="starter", score=50.0, tier="at_risk", trend=None),
    ]
    parsed = list(csv.reader(io.StringIO(customers_csv(rows))))
    assert parsed[0] == ["id", "name", "segment", "plan", "score", "tier", "trend"]
    assert parsed[1] == ["1", "'=HYPERLINK(1)", "smb", "starter", "", "critical", "-2.5"]
    assert parsed[2][1] == samples.HOSTILE


def test_export_file_names_follow_the_filter() -> None:
    assert export_file_name(CustomerListQuery()) == "customers.csv"
    assert export_file_name(CustomerListQuery(segment="smb", plan="growth", q="Ōtaki & Co")) == (
        "customers-smb-growth-ōtakico.csv"
    )
    assert export_file_name(CustomerListQuery(q="&&")) == "customers-search.csv"


def test_table_escapes_names_and_links_every_cell_to_the_detail_page() -> None:
    table = CustomerTable(LINKS, page=samples.customer_list([samples.HOSTILE, "B & B"]))
    assert "&lt;img src=x onerror=alert(1)&gt;" in table.value
    assert "<img" not in table.value
    assert "B &amp; B" in table.value
    assert table.value.count('href="/voila/render/customer.ipynb?id=1"') == 6
    assert "Insufficient data" in table.value
    table.page = None
    assert table.value == ""


def test_pager_stays_within_the_list() -> None:
    pager = Pager(limit=10, total=25)
    pager.go(100)
    assert pager.offset == 20
    assert "21\u201325 of 25" in pager.position.value
    assert pager.next.disabled
    pager.go(-5)
    assert pager.offset == 0


def test_filters_make_a_query() -> None:
    filters = CustomerFilters()
    assert filters.query == CustomerListQuery()
    filters.segment.value = "enterprise"
    filters.sort.value = "Trend: falling most"
    assert (filters.query.segment, filters.query.sort, filters.query.order) == ("enterprise", "trend", "asc")
    filters.search.value = "x" * 300
    assert filters.query.q == "x" * 200


def test_a_csm_lands_on_their_own_customers(widgets_server: RunningServer) -> None:
    with people_of(widgets_server.database_url) as people:
        email = ensure_person(widgets_server.database_url, "csm", "priya.raman@example.com", name="Priya Raman")
        token = people.create_token("priya's page", "csm", email, "tests")[1]
    environ = {"HEALTHDASH_API_URL": widgets_server.url}
    page = CustomersPage(ApiClient.from_environment(environ), LINKS)
    environ.update({"HTTP_X_HEALTHDASH_PAGE_TOKEN": token, "HTTP_X_HEALTHDASH_ROLE": "csm"})
    page.apply_query_string("")
    page.load()
    assert page.filters.query.owner == "me"
    assert page.table.page is not None and 0 < page.table.page.total < 64  # Priya Raman's customers only
    page.filters.owner.value = ""
    assert page.table.page.total > 0 and page.filters.query.owner is None


def test_the_status_filter_shows_churned_customers_too(client: ApiClient, widgets_server: RunningServer) -> None:
    page = CustomersPage(client, LINKS, page_size=500)
    page.load()
    active = row_ids(page.table)
    page.filters.status.value = "churned"
    _, _, body = widgets_server.get("/api/customers?status=churned&limit=500")
    churned = row_ids(page.table)
    assert churned == [c["id"] for c in body["customers"]] and churned
    assert not set(churned) & set(active)
    page.filters.status.value = "all"
    assert sorted(row_ids(page.table)) == sorted(active + churned)
    page.apply_query_string("status=churned")
    assert page.filters.status.value == "churned"
