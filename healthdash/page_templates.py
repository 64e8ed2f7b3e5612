"""The pages' Jinja templates compiled once per server instead of once per page view.

Voila renders each page view with a new exporter, and nbconvert gives each exporter a new Jinja environment: every
view parsed and compiled the lab template and the templates it includes again (about a quarter of the server's
time while a burst of visitors opens pages, and part of every kernel's preparation). Jinja keeps compiled
templates across environments through a bytecode cache; `share_compiled_templates` gives every exporter's
environment the same one, kept in memory. Jinja checks each entry against a checksum of the template's source, so
that a template changed on disk is compiled again.
"""

from __future__ import annotations

import threading
from typing import Any

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from voila.exporter import VoilaExporter


class CompiledTemplates(BytecodeCache):
    """Compiled templates in memory, by template and source checksum."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)  # reset by Jinja when its checksum is not the source's

    def dump_bytecode(self, bucket: Bucket) -> None:
        compiled = bucket.bytecode_to_string()
        with self._lock:
            self._compiled[bucket.key] = compiled

    def clear(self) -> None:
        with self._lock:
            self._compiled.clear()

    def __len__(self) -> int:
        return len(self._compiled)


COMPILED = CompiledTemplates()


def share_compiled_templates(cache: CompiledTemplates = COMPILED) -> None:
    """Give the environment of every Voila exporter created from now on `cache` for its compiled templates."""
    create = VoilaExporter._create_environment
    if getattr(create, "shares", None) is cache:
        return

    def created_with_cache(exporter: Any) -> Any:
        environment = create(exporter)
        environment.bytecode_cache = cache
        return environment

    created_with_cache.shares = cache  # type: ignore[attr-defined]
    VoilaExporter._create_environment = created_with_cache
