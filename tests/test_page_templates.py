"""The pages' templates are compiled once and shared by every page view's exporter, and compiled again when their
source changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.bccache import Bucket
from voila.exporter import VoilaExporter

from healthdash.page_templates import CompiledTemplates, share_compiled_templates


class CountedTemplates(CompiledTemplates):
    def __init__(self) -> None:
        super().__init__()
        self.compiled = 0  # how many times a template was compiled and stored

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled += 1
        super().dump_bytecode(bucket)


def render(folder: Path) -> str:
    """Render the folder's page template with a new exporter, as each page view does."""
    environment = VoilaExporter(template_paths=[str(folder)]).environment
    return str(environment.get_template("page.html.j2").render(name="Acme"))


def test_every_view_s_exporter_shares_the_compiled_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VoilaExporter, "_create_environment", VoilaExporter._create_environment)  # restored after
    cache = CountedTemplates()
    share_compiled_templates(cache)
    share_compiled_templates(cache)  # once is enough: a second call wraps nothing twice
    (tmp_path / "page.html.j2").write_text("<p>{{ name }}</p>")
    assert [render(tmp_path) for _ in range(3)] == ["<p>Acme</p>"] * 3
    assert cache.compiled == 1 and len(cache) == 1  # three views, one compilation
    (tmp_path / "page.html.j2").write_text("<h1>{{ name }}</h1>")
    assert render(tmp_path) == "<h1>Acme</h1>"  # the changed source is compiled again, not the old code reused
    assert cache.compiled == 2
    cache.clear()
    assert len(cache) == 0
