"""Entity tags: an answer kept in memory is tagged as any other, and a client that holds it gets 304."""

from __future__ import annotations

import hashlib

from healthdash.api.etags import EntityTags
from tests.api.client import call
from tests.servers import RunningServer


def test_a_kept_body_is_tagged_by_its_content_and_a_new_body_afresh() -> None:
    tags = EntityTags(kept=2)
    body = b'{"customers": 64}'
    expected = f'"{hashlib.sha1(body).hexdigest()}"'
    assert tags.tag(body) == expected
    assert tags.tag(body) == expected
    other = b'{"customers": 65}'
    assert tags.tag(other) != expected
    for n in range(5):  # more bodies than are kept: the oldest are forgotten, each still tagged right
        fresh = f'{{"n": {n}}}'.encode()
        assert tags.tag(fresh) == f'"{hashlib.sha1(fresh).hexdigest()}"'
    assert len(tags._tags) == 2


def test_the_dashboard_read_again_carries_the_tag_of_its_body_and_a_client_holding_it_gets_304(
    server: RunningServer,
) -> None:
    first, again = call(server, "GET", "/api/dashboard"), call(server, "GET", "/api/dashboard")
    assert first.status == again.status == 200
    tag = again.headers["Etag"]
    assert tag == f'"{hashlib.sha1(again.body).hexdigest()}"'
    held = call(server, "GET", "/api/dashboard", headers={"If-None-Match": tag})
    assert held.status == 304 and held.body == b""
    stale = call(server, "GET", "/api/dashboard", headers={"If-None-Match": '"0000"'})
    assert stale.status == 200 and stale.body == again.body
