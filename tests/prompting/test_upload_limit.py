"""Oversized uploads are refused by the ASGI middleware before their body is read,
against the real uvicorn server (Django alone would read the whole body first)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.processes import OUTPUT

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HUNDRED_MB = 100 * 1024 * 1024


def connect(live_site: str) -> socket.socket:
    parts = urlsplit(live_site)
    assert parts.hostname and parts.port
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.settimeout(10)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def test_declared_oversize_is_refused_before_any_body_is_sent(live_site: str) -> None:
    """Content-Length of 100 MB: 413 with the limit stated arrives while the client has
    sent only the headers, and the refusal is logged."""
    sock = connect(live_site)
    started = time.monotonic()
    sock.sendall(
        (
            "POST /summarize/documents HTTP/1.1\r\n"
            f"Host: {urlsplit(live_site).netloc}\r\n"
            "Content-Type: multipart/form-data; boundary=xyz\r\n"
            f"Content-Length: {HUNDRED_MB}\r\n\r\n"
        ).encode()
    )
    status, headers, body = read_response(sock)  # not one body byte was sent
    sock.close()
    assert status == 413
    assert time.monotonic() - started < 2
    assert headers.get("connection") == "close"
    message = json.loads(body)["error"]
    assert "larger than the 20 MB limit" in message
    log = (OUTPUT / "logs" / "web.log").read_text(errors="replace")
    assert f"upload refused before reading: {HUNDRED_MB} bytes declared" in log


def test_chunked_oversize_is_stopped_once_the_limit_is_passed(live_site: str) -> None:
    """Without Content-Length the middleware counts: the 413 comes soon after 20 MB,
    long before the 100 MB the client meant to send."""
    sock = connect(live_site)
    sock.sendall(
        (
            "POST /summarize/documents HTTP/1.1\r\n"
            f"Host: {urlsplit(live_site).netloc}\r\n"
            "Content-Type: multipart/form-data; boundary=xyz\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    chunk = b"a" * (1024 * 1024)
    sent = 0
    try:
        while sent < HUNDRED_MB:
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sent += len(chunk)
    except OSError:
        pass  # the server answered and closed: that is the point
    status, _headers, body = read_response(sock)
    sock.close()
    assert status == 413
    assert "20 MB" in json.loads(body)["error"]
    assert sent < HUNDRED_MB


def test_other_routes_are_not_limited_by_the_upload_guard(live_site: str) -> None:
    """The guard applies to upload routes only: a normal page still answers normally."""
    sock = connect(live_site)
    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {urlsplit(live_site).netloc}\r\n\r\n".encode())
    status, _headers, _body = read_response(sock)
    sock.close()
    assert status == 200


def test_oversized_form_field_is_a_sentence_through_uvicorn(live_site: str, alice: Any) -> None:
    """A 3 MB form field (over Django's 2.5 MB in-memory limit, under the upload limit)
    gets 413 with a sentence from the async middleware path, not a bare 400."""
    from tests.support.site import post_form, session_cookie_for

    status, data = post_form(
        live_site, "/summarize/documents", session_cookie_for(alice), {"text": "x" * 3_000_000}
    )
    assert status == 413
    assert "larger than 2.5 MB" in data["error"]
