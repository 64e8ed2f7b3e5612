"""The compare phase: the simple reference answers as healthdash does; the report holds the two side by side."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from benchmarks import machine
from benchmarks.compare import compare, reference_server, top_entries
from benchmarks.report import FIRST, FIRST_BUSY, POSTS_BUSY, ScaleResult, markdown, verdicts
from healthdash.clock import utc_now
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService


def test_the_reference_scores_a_customer_as_healthdash_does(fresh_db_url: str) -> None:
    service = HealthService(create_engine(fresh_db_url, poolclass=NullPool), ScoringConfig())
    try:
        with reference_server(fresh_db_url) as port:
            for customer in (1, 5, 17, 40):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/customers/{customer}/health") as reply:
                    theirs = json.loads(reply.read())
                ours = service.customer_health(customer, utc_now())
                assert ours is not None
                assert (theirs["score"], theirs["tier"]) == (ours["score"], ours["tier"]), customer
                assert [f["raw"] for f in theirs["factors"]] == [f["raw"] for f in ours["factors"]]
                assert theirs["events"]["total"] == ours["events"]["total"]
    finally:
        service.engine.dispose()


def test_a_short_compare_phase_reports_both_sides_and_the_ratio(fresh_db_url: str, tmp_path: Path) -> None:
    said: list[str] = []
    comparison = compare(fresh_db_url, tmp_path, 64, 0.4, said.append)
    assert set(comparison.ours.phases) == set(comparison.reference.phases)
    assert all(rate > 0 for _, rate in [*comparison.ours.phases.values(), *comparison.reference.phases.values()])
    assert comparison.profile  # py-spy's top entries, or the note that it is not installed
    result = ScaleResult("S", {"customers": 64}, comparison=comparison)
    report = markdown([result], machine.describe(), {}, [])
    assert "Compared with the simple reference" in report and f"| {FIRST} |" in report
    targets = {v.target for v in verdicts(result)}
    assert f"ahead of the reference, {POSTS_BUSY}" in targets
    assert f"{FIRST_BUSY}: >= 1,000/s" in targets and f"ahead of the reference, {FIRST_BUSY}" in targets
    assert any(FIRST in line for line in said)


def test_the_profile_names_the_functions_that_took_the_most_samples() -> None:
    raw = [
        "main (app.py:1);get (healthdash/api/handlers.py:10);execute (sqlalchemy/engine/base.py:5) 30",
        "main (app.py:1);get (healthdash/api/handlers.py:10);dumps (healthdash/api/jsonio.py:70) 10",
        "not a sample line",
    ]
    entries = top_entries(raw, count=2)
    assert entries[0] == "itself: 75.0% execute (sqlalchemy/engine/base.py:5)"
    assert "in all: 100.0% get (healthdash/api/handlers.py:10)" in entries
    assert top_entries([]) == []
