"""Bodies and caching (issue 15): every route's body is capped at the ASGI layer before it
is read (small without a session), and pages and JSON carrying conversation content,
audit data or insights are sent with Cache-Control: no-store."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.roles import INSIGHTS_VIEWER
from config.upload_limit import UploadLimitMiddleware
from prompting import services
from prompting.runs import services as run_services
from tests.conftest import make_user

MB = 1024 * 1024


class App:
    """An ASGI app that reads the whole body, as Django's handler does."""

    def __init__(self) -> None:
        self.received = 0
        self.called = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            self.received += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(
    path: str, *, declared: int | None, chunks: int = 0, chunk: int = 64 * 1024, cookie: bool
) -> tuple[App, list[Any], int]:
    """POST through the middleware; returns the app, what was sent back, bytes pulled."""
    headers = [(b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    if cookie:
        headers.append((b"cookie", b"csrftoken=x; sessionid=abc"))
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    app, sent, pulled = App(), [], [0]

    async def receive() -> dict[str, Any]:
        pulled[0] += 1
        return {
            "type": "http.request",
            "body": b"a" * chunk,
            "more_body": pulled[0] < chunks,
        }

    async def send(message: Any) -> None:
        sent.append(message)

    # In a thread of its own: an earlier browser test may leave an event loop running here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, UploadLimitMiddleware(app)(scope, receive, send)).result()
    return app, sent, pulled[0]


def status_and_error(sent: list[Any]) -> tuple[int, str]:
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)["error"] if sent[0]["status"] != 200 else ""


def test_anonymous_300_mb_is_refused_before_reading_on_any_route() -> None:
    for path in ("/accounts/login/", "/chat/send", "/accounts/saml/company/acs/", "/"):
        app, sent, pulled = call(path, declared=300 * MB, cookie=False)
        status, error = status_and_error(sent)
        assert (status, app.called, pulled) == (413, False, 0), path
        assert "before signing in" in error


def test_anonymous_chunked_body_is_stopped_after_the_small_limit() -> None:
    _app, sent, pulled = call("/accounts/login/", declared=None, chunks=4000, cookie=False)
    status, _ = status_and_error(sent)
    assert status == 413
    assert pulled * 64 * 1024 <= 256 * 1024 + 64 * 1024  # stopped right after 256 KB


def test_signed_in_bodies_up_to_djangos_limit_pass_and_more_is_refused() -> None:
    app, sent, _ = call("/chat/send", declared=MB, chunks=16, cookie=True)
    assert (status_and_error(sent)[0], app.received) == (200, MB)
    app, sent, _pulled = call("/chat/send", declared=300 * MB, cookie=True)
    status, error = status_and_error(sent)
    assert (status, app.called) == (413, False)
    assert "larger than 2.6 MB" in error


def test_small_anonymous_bodies_pass() -> None:
    app, sent, _ = call("/accounts/login/", declared=1000, chunks=1, chunk=1000, cookie=False)
    assert status_and_error(sent)[0] == 200 and app.received == 1000


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_uvicorn_answers_413_to_an_anonymous_300_mb_post_at_once(live_site: str) -> None:
    """Through the real server: only the headers were sent when the answer arrives."""
    parts = urlsplit(live_site)
    assert parts.hostname and parts.port
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    started = time.monotonic()
    sock.sendall(
        (
            "POST /accounts/login/ HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {300 * MB}\r\n\r\n"
        ).encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < 3


# --- Cache-Control ----------------------------------------------------------------------


def no_store(response: Any) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_conversation_pages_and_json_are_no_store(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    conversation = services.conversation_create(owner=alice, title="Private")
    run = run_services.run_create(user=alice, conversation=conversation, text="hello")
    for url in ("/chat/", f"/chat/{conversation.pk}/", "/rewrite/", "/summarize/",
                f"/runs/{run.pk}/", "/templates/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        assert no_store(response), url
    sent = client.post("/chat/send", {"text": "hi"})
    assert no_store(sent)


@pytest.mark.django_db
def test_audit_and_insights_are_no_store(reviewer: Any) -> None:
    client = Client()
    client.force_login(reviewer)
    for url in ("/audit/", "/audit/export.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert no_store(response), url
    viewer = make_user("ines", INSIGHTS_VIEWER)
    client.force_login(viewer)
    response = client.get("/insights/")
    assert response.status_code == 200 and no_store(response)


def test_static_files_keep_their_caching(client: Client) -> None:
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert not no_store(response)
