"""Write tokens: configured ones win; otherwise one is generated once, kept private and reused."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from healthdash.tokens import write_tokens


def test_configured_tokens_are_used_as_they_are(tmp_path: Path) -> None:
    assert write_tokens(("a" * 20, "b" * 20), tmp_path) == (("a" * 20, "b" * 20), False)
    assert not (tmp_path / "api-token").exists()


def test_a_generated_token_is_kept_private_and_reused(tmp_path: Path) -> None:
    (token,), generated = write_tokens((), tmp_path / "data")
    assert generated and len(token) >= 40
    path = tmp_path / "data" / "api-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert write_tokens((), tmp_path / "data") == ((token,), True)
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["api-token"]


def test_concurrent_first_starts_agree_on_one_token(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: write_tokens((), tmp_path)[0], range(32)))
    assert len(set(results)) == 1
    assert results[0][0]
