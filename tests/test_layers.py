"""The layers of ARCHITECTURE.md hold: `make lint` runs import-linter, which fails on an import that crosses one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the project's contracts over the package in `root`."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package and its contracts, to break on purpose."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "healthdash", root / "healthdash", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_code_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_way", "contract"),
    [
        ("db/reads.py", "from healthdash.board import ScoreBoard", "healthdash.db imports neither"),
        ("db/database.py", "from healthdash.settings import Settings", "healthdash.db imports neither"),
        ("scoring/model.py", "from healthdash.clock import utc_now", "healthdash.scoring imports nothing else"),
        ("widgets/page.py", "from healthdash.settings import get_settings", "the pages (widgets) and the API client"),
        ("client.py", "import sqlalchemy", "the pages (widgets) and the API client"),
        ("api/handlers.py", "from healthdash.db import reads", "healthdash.api reaches the database only"),
        ("service.py", "from healthdash.board import ScoreBoard", "the server's stack points one way"),
    ],
)
def test_an_import_across_a_layer_the_wrong_way_fails_the_lint(
    package_copy: Path, module: str, wrong_way: str, contract: str
) -> None:
    path = package_copy / "healthdash" / module
    original = path.read_text(encoding="utf-8")
    path.write_text(f"{wrong_way}  # noqa\n{original}", encoding="utf-8")
    try:
        result = lint_imports(package_copy)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract}" in " ".join(result.stdout.split())
    assert "BROKEN" in result.stdout
