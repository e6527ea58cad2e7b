"""The middleware stack runs in async mode end to end under ASGI (config/static.py): one
sync-only middleware would put every request through two extra thread hops."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient
from django.utils.module_loading import import_string


def test_every_middleware_can_run_async() -> None:
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


def test_the_asgi_handler_builds_an_async_chain() -> None:
    handler = ASGIHandler()
    # Django adapts the chain at the first sync-only middleware: then the outermost
    # layer it calls would be a sync function wrapped for the event loop.
    assert iscoroutinefunction(handler._middleware_chain)
    outermost = handler._middleware_chain
    assert type(outermost).__name__ != "SyncToAsync"


async def _body(response: Any) -> bytes:
    if not response.streaming:
        return bytes(response.content)
    if response.is_async:
        return b"".join([chunk async for chunk in response.streaming_content])
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_static_files_are_served_in_async_mode() -> None:
    async def fetch() -> tuple[int, bytes]:
        response = await AsyncClient().get("/static/js/chat.js")
        return response.status_code, await _body(response)

    status, body = async_to_sync(fetch)()
    assert status == 200
    assert b"EventSource" in body or b"addEventListener" in body


@pytest.mark.django_db
def test_other_paths_pass_through_in_async_mode() -> None:
    async def fetch() -> int:
        return (await AsyncClient().get("/healthz/live")).status_code

    assert async_to_sync(fetch)() == 200
