"""A Redis stall near the end of an answer (issue 12, the soak's "live deltas missing"):
the SSE view's XREAD is blocked when Redis freezes (DEBUG SLEEP); when Redis wakes it
answers that read's timeout first (nothing arrived), and only then runs the worker's
writes that queued up meanwhile, the last deltas and the terminal entry. The view, seeing
an idle heartbeat and the run final in the database, used to send the database's final
event at once: the browser's live text lacked the deltas that were sitting in the stream.

Real Redis (a private embedded server, really stalled: CI's system Redis 7 refuses DEBUG
by default), the real view generator, the real lifecycle; only the heartbeat is shortened
so that the stall outlasts it."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from config import embedded_redis
from config.redis_client import redis_client
from prompting import services
from prompting.models import Run
from prompting.runs import lifecycle, relay
from prompting.runs import services as run_services
from prompting.views import stream as stream_view
from tests.support.aio import run_in_own_loop
from tests.support.sse import SseParser

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT_MS = 200
STALL_S = 1


@pytest.fixture(autouse=True)
def stallable_redis(settings: Any) -> Iterator[None]:
    """REDIS_URL on a redis-server of this test's own, where DEBUG SLEEP is allowed."""
    directory = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))
    socket_path = directory / "r.sock"
    process = embedded_redis.start(socket_path)
    settings.REDIS_URL = f"unix://{socket_path}"
    redis_client.cache_clear()
    try:
        yield
    finally:
        redis_client.cache_clear()
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def stall_redis() -> None:
    # Its own connection: the command blocks the whole server for STALL_S.
    redis.Redis.from_url(settings.REDIS_URL).execute_command("DEBUG", "SLEEP", str(STALL_S))


def test_deltas_written_during_a_stall_reach_the_browser_before_the_final_event(
    alice: Any, monkeypatch: Any
) -> None:
    conversation = services.conversation_create(owner=alice)
    run = run_services.run_create(user=alice, conversation=conversation, text="stall test")
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STREAMING)
    # The outcome is in the database; in Redis, the stream holds the first two deltas and
    # the rest is about to be written when Redis freezes.
    assert lifecycle.run_finish(
        run_id=run.pk, status=Run.Status.DONE, sanitized_text="You said: stall test"
    )
    key = relay.stream_key(run.pk)
    last: Any = redis_client().xrevrange(key, count=1)
    final_entry = last[0][1]
    redis_client().delete(key)
    deltas = relay.DeltaStream(run.pk)
    deltas.append("You said:", raw="You said:")
    deltas.append(" stall", raw=" stall")
    monkeypatch.setattr(stream_view, "HEARTBEAT_MS", HEARTBEAT_MS)

    def worker_writes_during_the_stall() -> None:
        time.sleep(0.3)  # Redis is asleep: these wait for it, then land at once
        deltas.append(" test", raw=" test")
        relay.relay_append(run.pk, "done", json.loads(final_entry["data"]))

    async def browser() -> list[Any]:
        parser, events = SseParser(), []
        started = False
        async for chunk in stream_view._relayed(run.pk, "0-0"):
            events.extend(parser.feed(chunk))
            if not started and any(e.event == "delta" for e in events):
                # The view has sent what was there and waits in XREAD (heartbeat 200 ms):
                # Redis freezes 0.1 s later, for longer than that wait.
                started = True
                threading.Timer(0.1, stall_redis).start()
                threading.Thread(target=worker_writes_during_the_stall).start()
        return events

    started_at = time.monotonic()
    events = run_in_own_loop(asyncio.wait_for(browser(), timeout=20))

    assert time.monotonic() - started_at >= STALL_S  # the stall really happened
    assert events[-1].event == "done"
    assert events[-1].data["text"] == "You said: stall test"
    shown = "".join(e.data["text"] for e in events if e.event == "delta")
    assert shown == "You said: stall test", [(e.id, e.event) for e in events]
