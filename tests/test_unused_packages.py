"""The server leaves out packages that its libraries would import only because they are installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import RunningServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def installed() -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed here (the `lab` extra): nothing to leave out")
    pytest.importorskip("rfc3987_syntax", reason="rfc3987-syntax is not installed here: nothing to leave out")


def test_the_server_does_not_map_pyarrow(server: RunningServer) -> None:
    status, _, body = server.get("/api/customers?limit=5")  # names and tiers: string columns, through pandas
    assert status == 200 and len(body["customers"]) == 5
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "pyarrow" not in maps  # its libraries, mapped, are 80 MB of the server's resident memory


def test_a_command_sees_them_absent_and_pandas_strings_work_without_them() -> None:
    code = (
        "import sys, healthdash.__main__, pandas as pd\n"
        "print(*(name not in sys.modules for name in ('pyarrow', 'rfc3987_syntax')))\n"
        "print('|'.join(pd.Series(['acme', 'globex']).str.upper()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["True True", "ACME|GLOBEX"]
