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
    "healthdash.board",
    "healthdash.analysis",
    "healthdash.api.handlers",
    "healthdash.api.routes",
    "healthdash.api.context",
    "healthdash.api.views",
    "healthdash.api.batch",
    "sqlalchemy",
    "psycopg2",
)


def test_the_widgets_import_nothing_of_the_server_side() -> None:
    script = (
        "import sys, healthdash.widgets, healthdash.client; "
        f"print(sorted(m for m in sys.modules if m.startswith({SERVER_SIDE!r})))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
