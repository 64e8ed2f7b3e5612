"""The navigation bar links every page and marks the current one."""

from __future__ import annotations

from healthdash.widgets.links import PageLinks
from healthdash.widgets.navbar import NavBar


def test_marks_the_current_page() -> None:
    bar = NavBar(PageLinks("/voila/render/"), current="explore")
    assert '<a href="/voila/render/explore.ipynb" class="hd-current" aria-current="page">Explore</a>' in bar.value
    assert bar.value.count("hd-current") == 1
    bar.current = "dashboard"
    assert '<a href="/voila/render/dashboard.ipynb" class="hd-current"' in bar.value


def test_a_customer_belongs_to_the_customers_section() -> None:
    bar = NavBar(PageLinks(""), current="customer")
    assert '<a href="customers.ipynb" class="hd-current"' in bar.value


def test_the_validation_page_is_in_the_navigation() -> None:
    bar = NavBar(PageLinks("/voila/render/"), current="validation")
    assert '<a href="/voila/render/validation.ipynb" class="hd-current" aria-current="page">Validation</a>' in bar.value
    assert bar.value.count("<a ") == 5  # the brand and four pages
