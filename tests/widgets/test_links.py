"""Links point at the pages where the kernel runs: Voila's base URL, the healthdash server, or relative."""

from __future__ import annotations

from healthdash.widgets.links import PageLinks


def test_in_voila_links_are_absolute_paths_under_the_base_url() -> None:
    links = PageLinks.from_environment({"VOILA_BASE_URL": "/hd/", "HEALTHDASH_API_URL": "http://127.0.0.1:8000"})
    assert links.customer(5) == "/hd/voila/render/customer.ipynb?id=5"
    assert links.page("dashboard") == "/hd/voila/render/dashboard.ipynb"


def test_in_jupyter_links_point_at_the_healthdash_server() -> None:
    links = PageLinks.from_environment({"HEALTHDASH_API_URL": "http://127.0.0.1:8000/"})
    assert (
        links.page("customers", tier="at_risk", q=None)
        == "http://127.0.0.1:8000/voila/render/customers.ipynb?tier=at_risk"
    )


def test_without_a_server_links_are_relative() -> None:
    links = PageLinks.from_environment({})
    assert links.page("customers", q="a&b c") == "customers.ipynb?q=a%26b+c"
