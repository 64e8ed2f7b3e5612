"""HTTP spoken by hand over a socket: for requests no client library sends (slow, huge, half-sent, malformed)."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.servers import RunningServer


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def connect(server: RunningServer, timeout: float = 10.0) -> socket.socket:
    """Open a TCP connection to the server."""
    parts = urlsplit(server.url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout)


def head(method: str, path: str, headers: dict[str, str], host: str = "127.0.0.1") -> bytes:
    """Return a request line and headers, ending with the blank line."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_reply(sock: socket.socket, timeout: float = 10.0) -> RawReply:
    """Read one response (with a Content-Length, or until the connection closes); fail after `timeout` seconds."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            raise ConnectionError(f"closed before a complete answer: {data[:200]!r}")
        data += piece
    header_text, body = data.split(b"\r\n\r\n", 1)
    status_line, *lines = header_text.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(status_line.split()[1])
    length = 0 if status in (101, 204, 304) else int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return RawReply(status, headers, body[:length] if length >= 0 else body)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Return after how many seconds the server closed the connection (reading and dropping what it sends), or None."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None
