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
        "import sys, healthdash.widgets, healthdash.client; "
        f"print(sorted(m for m in sys.modules if m.startswith({SERVER_SIDE!r}) "
        f"and not m.startswith({CLIENT_SIDE_OF_THE_API!r})))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
