"""Readers for the deployment files, strict about the subset of each syntax the repository uses.

- A Dockerfile as stages of instructions (line continuations and comments handled, nothing else interpreted).
- .dockerignore as Docker applies it: patterns in order, the last match wins, `!` re-includes, a pattern matching a
  folder covers everything in it, `*` and `?` stay within one path segment, `**` spans any number of them.
- Compose's variable interpolation: `$$`, `${NAME}`, `${NAME:-default}` and `${NAME-default}`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """Return the arguments of an exec-form (JSON array) instruction."""
        value = json.loads(self.arguments)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self.arguments
        return value


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.base}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """Return the stage's ENV values, `$NAME` references left as they are."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for item in shlex.split(instruction.arguments):
                name, equals, value = item.partition("=")
                assert equals, f"use ENV NAME=value, not {instruction.arguments!r}"
                values[name] = value
        return values


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        (found,) = [s for s in self.stages if s.name == name]
        return found


def parse_dockerfile(text: str) -> Dockerfile:
    """Split a Dockerfile into its global ARGs and its stages."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, arguments in _logical_lines(text):
        if keyword == "FROM":
            parts = arguments.split()
            assert len(parts) in (1, 3) and (len(parts) == 1 or parts[1].upper() == "AS"), arguments
            stages.append(Stage(parts[0], parts[2] if len(parts) == 3 else None))
        elif not stages:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            name, _, default = arguments.partition("=")
            args[name.strip()] = default.strip()
        else:
            stages[-1].instructions.append(Instruction(keyword, arguments))
    return Dockerfile(args, stages)


def _logical_lines(text: str) -> Iterator[tuple[str, str]]:
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            keyword, _, arguments = whole.partition(" ")
            yield keyword.upper(), " ".join(arguments.split())
    assert not pending, "the Dockerfile ends inside a continued line"


@dataclass(frozen=True)
class IgnoreRule:
    pattern: re.Pattern[str]
    include: bool
    text: str


def parse_dockerignore(text: str) -> list[IgnoreRule]:
    """Read .dockerignore rules; refuse syntax this reader does not implement (character classes, escapes)."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        body = line[1:].strip() if include else line
        assert not set(body) & set("[]\\"), f".dockerignore: unsupported pattern {line!r}"
        body = os.path.normpath(body).lstrip("/")
        rules.append(IgnoreRule(re.compile(_glob_to_regex(body)), include, line))
    return rules


def _glob_to_regex(glob: str) -> str:
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def is_ignored(path: str, rules: list[IgnoreRule]) -> bool:
    """Tell whether Docker leaves a path (relative, with /) out of the build context."""
    parents = [path]
    while "/" in parents[-1]:
        parents.append(parents[-1].rsplit("/", 1)[0])
    ignored = False
    for rule in rules:
        if any(rule.pattern.fullmatch(p) for p in parents):
            ignored = not rule.include
    return ignored


def build_context(root: Path, rules: list[IgnoreRule]) -> list[str]:
    """Return the files Docker would send as the build context of a folder."""
    may_reinclude = [r.text.lstrip("!").strip().lstrip("/") for r in rules if r.include]
    files = []
    for folder, dirs, names in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        # a left-out folder is only walked when an exception could bring something inside it back
        dirs[:] = [
            d
            for d in dirs
            if not is_ignored(prefix + d, rules)
            or any(p.startswith(prefix + d + "/") or "**" in p for p in may_reinclude)
        ]
        files += [prefix + n for n in names if not is_ignored(prefix + n, rules)]
    return sorted(files)


_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\})")


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Substitute compose variables as `docker compose` would, given an environment."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op = match["name"], match["op"]
        current = environ.get(name)
        if op == ":-" and not current:
            return match["default"]
        if op == "-" and current is None:
            return match["default"]
        return current or ""

    result = _VARIABLE.sub(substitute, value)
    assert "${" not in result.replace("$$", ""), f"unsupported interpolation in {value!r}"
    return result


def variables(value: str) -> set[str]:
    """Return the names of the variables a compose value refers to."""
    return {m["name"] for m in _VARIABLE.finditer(value) if m["name"]}
