"""Under ASGI the middleware stack runs in one thread per request (config.middleware.
OneThreadPerRequest): in async mode every process_request/process_response of Django's
own middlewares would be a thread hop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

from tests.support.aio import run_in_own_loop


def _get(path: str) -> tuple[int, bytes]:
    """One GET through Django's ASGI handler, in a thread of its own (in a full run,
    Playwright's sync API keeps an event loop running in the main thread)."""

    async def main() -> tuple[int, bytes]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 1), "server": ("testserver", 80),
        }  # fmt: skip
        received = False
        status: list[int] = []
        body: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await ASGIHandler()(scope, receive, send)
        return status[0], b"".join(body)

    return run_in_own_loop(main())


def _hops(monkeypatch: Any, path: str) -> tuple[int, list[str]]:
    hops: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    status, _body = _get(path)
    return status, hops


@pytest.mark.django_db(transaction=True)
def test_the_stack_hops_threads_a_few_times_per_request_not_per_middleware(
    monkeypatch: Any,
) -> None:
    status, hops = _hops(monkeypatch, "/healthz/live")
    assert status == 200
    # request_started, the stack, the two process_view, the view, close: six at most.
    assert len(hops) <= 6, hops


@pytest.mark.django_db(transaction=True)
def test_without_the_marker_it_would_hop_per_middleware(monkeypatch: Any) -> None:
    """What the marker prevents (so the test above can fail): the same request with the
    stack in async mode."""
    monkeypatch.setattr(
        settings,
        "MIDDLEWARE",
        [m for m in settings.MIDDLEWARE if m != "config.middleware.OneThreadPerRequest"],
    )
    status, hops = _hops(monkeypatch, "/healthz/live")
    assert status == 200
    assert len(hops) > 6 + 6, (len(hops), hops)


@pytest.mark.django_db(transaction=True)
def test_static_files_are_still_served_under_asgi() -> None:
    status, body = _get("/static/js/chat.js")
    assert status == 200
    assert b"addEventListener" in body
