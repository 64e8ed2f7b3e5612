"""A page's kernel imports the widgets, the API client and the API's models, and nothing of the server side."""

from __future__ import annotations

import subprocess
import sys

from tests.servers import ROOT

SERVER_SIDE = (
    "healthdash.db",
    "healthdash.settings",
    "healthdash.service",
    "healthdash.board",
    "healthdash.analysis",
    "healthdash.app",
    "healthdash.api.",  # of the API, only its models (the contract between server and client) are for clients
    "sqlalchemy",
    "psycopg2",
)
CLIENT_SIDE_OF_THE_API = "healthdash.api.models"


def test_the_widgets_import_nothing_of_the_server_side() -> None:
    script = (
        "import sys, healthdash.client; "
        "from healthdash.widgets import CustomerPage, CustomersPage, DashboardPage, ExplorePage; "
        f"print(sorted(m for m in sys.modules if m.startswith({SERVER_SIDE!r}) "
        f"and not m.startswith({CLIENT_SIDE_OF_THE_API!r})))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def imported_by(statement: str) -> set[str]:
    script = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_dashboard_list_and_customer_pages_start_without_pandas_and_numpy() -> None:
    # a page view that finds no preheated kernel pays for every import its notebook makes, and so does each kernel
    # kept in the pool: only Explore, which scores customers itself, needs the numerical libraries
    for page in ("DashboardPage", "CustomersPage", "CustomerPage"):
        modules = imported_by(f"from healthdash.widgets import {page}, page_query_string, wait_for_page_request")
        assert f"healthdash.widgets.{page.lower().replace('page', '_page')}" in modules
        assert not {"pandas", "numpy"} & modules, page
    assert {"pandas", "numpy"} <= imported_by("from healthdash.widgets import ExplorePage")
