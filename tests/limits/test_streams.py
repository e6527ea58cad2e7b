"""At most N open streams per employee: the oldest is closed with a `retry:` hint, the
new tab is never refused."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from config.redis_client import redis_client
from limits import streams
from prompting import services
from prompting.models import Run
from tests.support.site import session_cookie_for
from tests.support.sse import open_stream


async def ticking(name: str) -> AsyncIterator[str]:
    while True:
        yield f"data: {name}\n\n"
        await asyncio.sleep(0.01)


def test_the_oldest_stream_is_closed_with_a_retry_hint(settings: Any, monkeypatch: Any) -> None:
    settings.LIMITS_MAX_OPEN_STREAMS = 3
    monkeypatch.setattr(streams, "CHECK_EVERY_S", 0.0)

    async def scenario() -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        tabs: dict[str, Any] = {}
        for name in ("one", "two", "three", "four"):
            tabs[name] = streams.capped("u-7", ticking(name))
            seen[name] = [await anext(tabs[name])]
        for _ in range(3):
            for name, tab in tabs.items():
                try:
                    seen[name].append(await anext(tab))
                except StopAsyncIteration:
                    seen[name].append("END")
        count = await streams._client().zcard(streams.streams_key("u-7"))
        for tab in tabs.values():
            await tab.aclose()
        after = await streams._client().zcard(streams.streams_key("u-7"))
        streams._clients.clear()
        seen["counts"] = [str(count), str(after)]
        return seen

    # A thread of its own: a browser test earlier in the session (Playwright's sync API)
    # may leave an event loop running in this one.
    results: list[dict[str, list[str]]] = []
    worker = threading.Thread(target=lambda: results.append(asyncio.run(scenario())))
    worker.start()
    worker.join(timeout=30)
    seen = results[0]

    assert seen["one"][:3] == ["data: one\n\n", streams.CLOSE_EVENT, "END"]
    assert streams.CLOSE_EVENT.startswith("retry: 60000\n")
    for name in ("two", "three", "four"):
        assert streams.CLOSE_EVENT not in seen[name]
        assert "END" not in seen[name]
    assert seen["counts"] == ["3", "0"]  # three open, then none: closing unregisters


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_past_twenty_streams_the_oldest_is_closed_over_real_sse(live_site: str, alice: Any) -> None:
    """21 tabs follow one waiting answer through uvicorn: the first tab gets the retry
    hint and its response ends at the next heartbeat; the 21st streams on."""
    conversation = services.conversation_create(owner=alice)
    run = Run.objects.create(owner=alice, conversation=conversation, model_id="m")  # waits
    cookie = session_cookie_for(alice)
    opened = []
    for _ in range(21):
        _conn, response = open_stream(live_site, f"/runs/{run.pk}/events", cookie)
        assert response.status == 200
        opened.append(response)
        time.sleep(0.02)
    started = time.monotonic()
    first = opened[0].read().decode()  # returns when the server ends the response
    assert "retry: 60000" in first
    assert time.monotonic() - started < 15
    assert redis_client().zcard(streams.streams_key(alice.pk)) == 20
    for response in opened:
        response.close()
