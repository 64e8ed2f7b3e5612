"""The deployment documentation names every environment variable healthdash reads, with its real default."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from healthdash.scoring.config import ScoringConfig
from healthdash.settings import load_settings
from tests.deploy.buildfiles import variables
from tests.deploy.conftest import ROOT

# where each section of the operators' documentation lives
DOCS = ROOT / "docs"
SECTION_DOCS = {
    "Running with Docker": DOCS / "deployment.md",
    "With an existing PostgreSQL (`DATABASE_URL`)": DOCS / "deployment.md",
    "Scaling out": DOCS / "deployment.md",
    "Configuration reference": DOCS / "configuration.md",
}
# the code that reads variables: the package, the benchmark (`make bench`) and the tests' database setting
SCANNED = [*sorted((ROOT / "healthdash").rglob("*.py")), *sorted((ROOT / "benchmarks").rglob("*.py"))]
SCANNED.append(ROOT / "tests" / "conftest.py")
# a variable name in the source: HEALTHDASH_* spelled out, `{ENV_PREFIX}NAME` in an f-string, or a database URL
NAME_IN_SOURCE = re.compile(
    r"(?<![A-Za-z0-9_])(HEALTHDASH_[A-Z0-9_]*[A-Z0-9]|TEST_DATABASE_URL|DATABASE_URL)(?![A-Za-z0-9_<{])"
    r"|\{ENV_PREFIX\}([A-Z][A-Z0-9_]*[A-Z0-9])(?![A-Za-z0-9_<{])"
)


class RecordingEnviron(dict[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)


def variables_read_by_settings() -> set[str]:
    """Return every variable `load_settings` reads, the ones whose names it builds included."""
    environ = RecordingEnviron()
    load_settings(environ)
    return set(environ.asked)


def variables_named_in_source() -> set[str]:
    found = set()
    for path in SCANNED:
        for match in NAME_IN_SOURCE.finditer(path.read_text(encoding="utf-8")):
            found.add(match[1] or f"HEALTHDASH_{match[2]}")
    return found


def section(markdown: str, title: str) -> str:
    """Return the text of a `##` section."""
    parts = re.split(r"^## ", markdown, flags=re.MULTILINE)
    (body,) = [p for p in parts if p.startswith(title + "\n")]
    return body


def table_rows(text: str) -> Iterator[list[str]]:
    """Yield the cells of each body row of the markdown tables in a text."""
    for line in text.splitlines():
        if line.startswith("|") and not re.fullmatch(r"[|\s:-]+", line):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if cells[0] not in ("variable", "compose variable", "service"):
                yield cells


def documented(title: str) -> dict[str, str]:
    """Return variable -> default cell of the tables in a section whose first column names variables."""
    rows = {}
    for cells in table_rows(section(SECTION_DOCS[title].read_text(encoding="utf-8"), title)):
        name = re.fullmatch(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        if name:
            assert name[1] not in rows, f"{name[1]} is documented twice"
            rows[name[1]] = cells[1]
    return rows


def real_defaults() -> dict[str, Any]:
    """Return variable -> default value for every setting whose default is a plain value."""
    settings = load_settings({})
    defaults: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, int | float | str):
            defaults[f"HEALTHDASH_{field.name.upper()}"] = value
    scoring = ScoringConfig()
    for key, weight in scoring.weights.items():
        defaults[f"HEALTHDASH_WEIGHT_{key.upper()}"] = weight
    for field in dataclasses.fields(scoring):
        value = getattr(scoring, field.name)
        if isinstance(value, int | float):
            defaults[f"HEALTHDASH_{field.name.upper()}"] = value
    return defaults


def test_the_deployment_guide_has_its_sections() -> None:
    for title, document in SECTION_DOCS.items():
        assert section(document.read_text(encoding="utf-8"), title).strip(), title


def test_every_document_the_readme_links_exists_and_every_guide_is_linked() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(((?:docs/)?[A-Za-z_-]+\.md)\)", readme))
    assert all((ROOT / name).is_file() for name in linked), sorted(n for n in linked if not (ROOT / n).is_file())
    guides = {f"docs/{path.name}" for path in DOCS.glob("*.md")}
    assert sorted(guides - linked) == [], "a guide in docs/ that the README does not link"


def test_every_variable_is_documented_and_every_documented_one_exists() -> None:
    read = variables_read_by_settings() | variables_named_in_source()
    reference = documented("Configuration reference")
    assert sorted(read - set(reference)) == [], "undocumented: add a row to the configuration reference"
    assert sorted(set(reference) - read) == [], "documented, but nothing reads it"


def test_the_scoring_variables_are_found() -> None:
    read = variables_read_by_settings()
    assert {f"HEALTHDASH_WEIGHT_{key.upper()}" for key in ScoringConfig().weights} <= read
    assert "HEALTHDASH_HEALTHY_MIN" in read and "HEALTHDASH_SCORING_FILE" in read


@pytest.mark.parametrize(("name", "value"), sorted(real_defaults().items()))
def test_documented_defaults_are_the_real_ones(name: str, value: Any) -> None:
    cell = documented("Configuration reference").get(name)
    assert cell is not None, f"{name} is not documented"
    shown = re.match(r"`([^`]*)`", cell)
    assert shown, f"{name}: the default column should start with the value in backticks, got {cell!r}"
    if isinstance(value, str):
        assert shown[1] == value
    else:
        assert float(shown[1]) == pytest.approx(value)


def test_every_compose_variable_is_documented() -> None:
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    yaml.safe_load(compose)  # well-formed
    assert variables(compose) == set(documented("Running with Docker"))


def test_source_scan_finds_names_in_all_their_spellings() -> None:
    text = 'a = "HEALTHDASH_PORT"; b = f"{ENV_PREFIX}CACHE_SECONDS"; c = f"{ENV_PREFIX}WEIGHT_{key.upper()}"\n'
    text += "# HEALTHDASH_WEIGHT_<FACTOR> and TEST_DATABASE_URL, not MY_DATABASE_URL\n"
    found = {m[1] or f"HEALTHDASH_{m[2]}" for m in NAME_IN_SOURCE.finditer(text)}
    assert found == {"HEALTHDASH_PORT", "HEALTHDASH_CACHE_SECONDS", "TEST_DATABASE_URL"}
