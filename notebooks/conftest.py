"""`pytest --nbval-lax notebooks/`: every notebook runs top to bottom against a real healthdash server.

nbval starts one kernel per notebook before any fixture could run, and the kernel inherits this process's
environment then. So a hook starts one API server (over a throwaway copy of the sample data) before the first
notebook's kernel, and sets what a page's kernel would get from the server around each kernel start only. The
analysis notebooks (notebooks/analysis/) get what `make lab` gives a kernel: DATABASE_URL, the same copy. Their cells
marked `# NBVAL_CHECK_OUTPUT` must print what they printed when saved: facts that hold on any day (the sample data
is relative to the day it is loaded, but its quieter weekends follow the calendar, so scores differ a little).

A page turns a failing API into a notice rather than an exception (that is what a visitor should see), so after
each notebook's last cell one more test asks the notebook's kernel whether its page loaded data and shows no notice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nbval.plugin import IPyNbFile

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (rather than `python -m pytest`) does not put the checkout on the path
    sys.path.insert(0, str(ROOT))

from tests.conftest import TEST_TOKEN  # noqa: E402
from tests.databases import standalone_sample_database  # noqa: E402
from tests.servers import start_server  # noqa: E402

PAGE_LOADED = "assert page.as_of is not None and not page.notice.value, page.notice.value or 'no data shown'"
_resources = contextlib.ExitStack()
_environment: dict[str, str] = {}
_analysis_environment: dict[str, str] = {}
ANALYSIS = ROOT / "notebooks" / "analysis"
_failed: list[BaseException] = []


def _kernel_environment(config: pytest.Config) -> dict[str, str]:
    if _failed:  # the server did not start: every notebook fails alike, without trying again
        raise _failed[0]
    if not _environment:
        try:
            _start_server(config)
        except BaseException as exc:
            _failed.append(exc)
            raise
    return _environment


def _start_server(config: pytest.Config) -> None:
    config.add_cleanup(_resources.close)
    folder = Path(tempfile.mkdtemp(prefix="hd-notebooks-", dir="/tmp"))
    folder.chmod(0o755)  # the embedded database's server account must reach its data dir below
    _resources.callback(shutil.rmtree, folder, ignore_errors=True)
    database_url = _resources.enter_context(standalone_sample_database(folder))
    server = _resources.enter_context(start_server(database_url, folder / "server", TEST_TOKEN))
    request = urllib.request.Request(server.url + "/api/dashboard", headers=server.authorization)
    with urllib.request.urlopen(request, timeout=30) as answer:
        most_at_risk = json.loads(answer.read())["top_at_risk"][0]["id"]
    _analysis_environment.update(DATABASE_URL=database_url)
    _environment.update(
        HEALTHDASH_API_URL=server.url,
        HEALTHDASH_API_TOKEN=server.token,
        QUERY_STRING=f"id={most_at_risk}",  # what customer.ipynb reads as its page's query string
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Give a page's kernel, started during this setup, the server's address and token (no database); give an
    analysis notebook's kernel the database."""
    environment = _kernel_environment(item.config)
    if is_analysis(item.path):
        environment = _analysis_environment
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def is_analysis(path: Path) -> bool:
    """Tell whether a notebook is one of the analysis notebooks (for JupyterLab) rather than a page."""
    return ANALYSIS in path.parents


class PageCheck(pytest.Item):
    """The notebook's page, after its last cell: data loaded, no notice shown."""

    def runtest(self) -> None:
        kernel = self.parent.kernel  # type: ignore[union-attr]
        errors: list[str] = []

        def collect(message: dict[str, Any]) -> None:
            if message["msg_type"] == "error":
                errors.append(f"{message['content']['ename']}: {message['content']['evalue']}")

        reply = kernel.kc.execute_interactive(
            PAGE_LOADED, timeout=60, store_history=False, allow_stdin=False, output_hook=collect
        )
        if reply["content"]["status"] != "ok":
            raise PageNotShown("; ".join(errors) or "the check did not run")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return f"{self.parent.name}: the page shows no data: {excinfo.value}"  # type: ignore[union-attr]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.parent.name}::page loaded"  # type: ignore[union-attr]


class PageNotShown(AssertionError):
    """The notebook ran, but its page did not show its data."""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add a PageCheck after the last cell of each page's notebook."""
    last_cell_of: dict[IPyNbFile, int] = {}
    for index, item in enumerate(items):
        if isinstance(item.parent, IPyNbFile) and not is_analysis(item.path):
            last_cell_of[item.parent] = index
    for notebook, index in sorted(last_cell_of.items(), key=lambda entry: -entry[1]):
        items.insert(index + 1, PageCheck.from_parent(notebook, name="page loaded"))
