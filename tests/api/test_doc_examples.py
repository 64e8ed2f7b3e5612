"""The curl examples of the API documentation (docs/api.md) work as written, against a live server.

Each ```sh block runs in bash with the documented address replaced by the test server's and `$TOKEN` set to its
bootstrap token. Every curl in it must answer 2xx, or the status its line announces with a trailing `# -> NNN` comment.
The
examples write to customer 1 of the sample data, on which no other module asserts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.servers import ROOT, RunningServer

DOCUMENT = ROOT / "docs" / "api.md"
DOCUMENTED_ADDRESS = "http://127.0.0.1:8000"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
ANNOUNCED = re.compile(r"#\s*->\s*(\d{3})\s*$", re.MULTILINE)
# Runs in front of each example: curl still prints what it printed, and records each status it got.
RECORD_STATUS = """
curl() {
    local body status
    body=$(mktemp)
    status=$(command curl --show-error --output "$body" --write-out '%{http_code}' "$@") || { rm -f "$body"; return 1; }
    cat "$body"
    rm -f "$body"
    echo "$status" >> "$STATUS_FILE"
}
"""


def examples() -> list[str]:
    return [block for block in BLOCK.findall(DOCUMENT.read_text(encoding="utf-8")) if "curl" in block]


def test_the_document_has_examples_for_every_endpoint() -> None:
    text = "\n".join(examples())
    for path in ("/api/dashboard", "/api/customers?", "/api/customers/1/health", "/api/customers/1/events"):
        assert path in text
    assert "/api/openapi.json" in text and "/api/healthz" in text
    assert all(DOCUMENTED_ADDRESS in example for example in examples())


def test_every_endpoint_is_documented(server: RunningServer) -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    request = urllib.request.Request(f"{server.url}/api/openapi.json", headers=server.authorization)
    with urllib.request.urlopen(request, timeout=30) as answer:
        paths = json.load(answer)["paths"]
    for path, operations in paths.items():
        for method in operations:
            written = re.sub(r"\{customer_id\}", "{id}", path)
            assert f"`{method.upper()} {written}`" in text, f"{method.upper()} {path} is not in {DOCUMENT.name}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("example", examples(), ids=lambda block: block.splitlines()[0][:60])
def test_example_works_as_written(example: str, server: RunningServer, tmp_path: Path) -> None:
    statuses = tmp_path / "statuses"
    statuses.touch()
    script = RECORD_STATUS + example.replace(DOCUMENTED_ADDRESS, server.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "TOKEN": server.token, "STATUS_FILE": str(statuses)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    got = [int(line) for line in statuses.read_text().split()]
    announced = [int(code) for code in ANNOUNCED.findall(example)]
    assert len(got) == example.count("curl "), result.stdout
    if announced:
        assert got == announced, result.stdout
    else:
        assert all(200 <= status < 300 for status in got), (got, result.stdout)
    if " -si " not in example and " -i " not in example:
        body = result.stdout.strip()
        assert body.startswith("{"), body
        json.loads(body)  # what the last command printed is one JSON document
