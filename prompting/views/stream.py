"""Server-Sent Events for one run, read from its Redis Stream (async view, ASGI).

Each event carries the stream entry id as its SSE `id`, so EventSource's automatic
reconnect (with Last-Event-ID) resumes exactly: no token lost, none repeated.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, StreamingHttpResponse

from config import metrics
from config.middleware import signed_in_user
from config.redis_client import async_redis_client
from limits.streams import capped
from prompting.models import Run
from prompting.runs import relay
from prompting.runs.services import run_deadline_passed, runs_reap_stale
from prompting.views import drain
from prompting.views.runs import run_payload

ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
# An idle stream gets a heartbeat comment (proxies close silent connections) and a
# look at the database this often.
HEARTBEAT_MS = 5_000
# EventSource waits this long before reconnecting after a connection ends.
RECONNECT_MS = 1_500
# While the web process drains (SIGTERM), a hint to reconnect a little later, elsewhere.
DRAIN_RECONNECT_MS = 1_000
# A Redis hiccup up to this long is ridden out inside the open response.
RELAY_RETRY_S = relay.APPEND_RETRY_S


def _start_after(request: HttpRequest) -> str:
    candidate = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    return candidate if ENTRY_ID.match(candidate) else "0-0"


async def _final_from_database(run_id: Any) -> str:
    run = await Run.objects.select_related("assistant_message").aget(pk=run_id)
    payload = await sync_to_async(run_payload)(run)
    kind = "done" if run.status == Run.Status.DONE else "error"
    data = {
        **payload,
        "code": run.error_code or run.status,
        "message": run.error_message or "",
    }
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


async def _events(run_id: Any, after: str) -> AsyncIterator[str]:
    metrics.ACTIVE_STREAMS.inc()
    try:
        async for chunk in _relayed(run_id, after):
            yield chunk
    finally:
        metrics.ACTIVE_STREAMS.dec()  # also when the browser goes away mid-stream


async def _relayed(run_id: Any, after: str) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MS}\n\n"
    drain.watch_sigterm()
    hiccup_since: float | None = None
    delay = 0.1
    while True:
        try:
            async for batch in relay.relay_batches(run_id, after=after, block_ms=HEARTBEAT_MS):
                hiccup_since, delay = None, 0.1
                if drain.draining():
                    # This process is stopping: the browser reconnects (to another one)
                    # with Last-Event-ID after the hint, and resumes exactly.
                    yield f"retry: {DRAIN_RECONNECT_MS}\n: draining\n\n"
                    return
                if not batch:
                    final = await _final_or_deadline(run_id)
                    if final is not None:
                        # Final in the database, yet no terminal entry arrived for a whole
                        # heartbeat: the stream expired, Redis lost it, its append failed
                        # after the outcome was committed, or a deadline ended the run here.
                        # Or Redis stalled: its idle timeout came first, and the worker's
                        # backlog, even its terminal entry, landed just after. What is in
                        # the stream goes first, so no delta is skipped.
                        rest = await _remaining(run_id, after)
                        if rest:
                            yield _sse(rest)
                        if not rest or rest[-1][1] not in relay.TERMINAL_TYPES:
                            yield final
                        return
                    yield ": heartbeat\n\n"
                    continue
                after = batch[-1][0]
                # One write for what arrived together: fewer sends when the process is behind.
                yield _sse(batch)
            return
        except (redis.ConnectionError, redis.TimeoutError):
            # A Redis stall or failover: keep the browser's connection and try again with
            # backoff for RELAY_RETRY_S, from the last entry sent (nothing lost or repeated).
            now = time.monotonic()
            hiccup_since = hiccup_since or now
            if now - hiccup_since > RELAY_RETRY_S:
                final = await _final_or_deadline(run_id)
                if final is not None:
                    yield final
                # Else end the response: the browser reconnects, then polls /runs/<id>/.
                return
            yield ": relay reconnecting\n\n"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        except redis.RedisError:
            return


def _sse(entries: list[tuple[str, str, str]]) -> str:
    return "".join(
        f"id: {entry_id}\nevent: {kind}\ndata: {data}\n\n" for entry_id, kind, data in entries
    )


async def _remaining(run_id: Any, after: str) -> list[tuple[str, str, str]]:
    try:
        return await relay.relay_remaining(run_id, after=after)
    except redis.RedisError:
        return []  # the database's final state is whole on its own


async def _final_or_deadline(run_id: Any) -> str | None:
    """The final event from the database if the run has ended, after ending it here if one
    of its deadlines passed: the web process watches too, so a dead beat or watchdog
    worker still cannot leave the employee waiting."""
    fields = ("status", "created_at", "judged_at", "heartbeat_at")
    run = await Run.objects.only(*fields).aget(pk=run_id)
    if not run.is_final and run_deadline_passed(run):
        await sync_to_async(runs_reap_stale)(run_id=run_id)
        run = await Run.objects.only(*fields).aget(pk=run_id)
    await _release_db_connection()
    return await _final_from_database(run_id) if run.is_final else None


async def _relay_has(run_id: object) -> bool:
    client = async_redis_client()
    try:
        return await relay.relay_exists(client, run_id)
    finally:
        await client.aclose()


async def run_events(request: HttpRequest, run_id: str) -> StreamingHttpResponse:
    user = await signed_in_user(request)
    try:
        run = await Run.objects.filter(pk=run_id, owner_id=user.pk).only("pk", "status").afirst()
    except (ValidationError, ValueError):
        run = None
    if run is None:
        raise Http404
    after = _start_after(request)
    if run.is_final and after == "0-0" and not await _relay_has(run.pk):
        body: AsyncIterator[str] = _single(await _final_from_database(run.pk))
    else:
        body = capped(user.pk, _events(run.pk, after))  # at most N open per employee
    await _release_db_connection()
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must not buffer the stream
    return response


async def _release_db_connection() -> None:
    """Hold no database connection while the stream is open; a later query opens one.

    Under ASGI each request's ORM calls run in a thread of its own, whose connection
    Django closes only when the request ends: for SSE, when the answer has streamed.
    bench/bench_full_path.py found 200 open streams holding 200 PostgreSQL connections,
    past its default max_connections (100). (Not inside a transaction: in-process tests.)
    """

    def close() -> None:
        if not connection.in_atomic_block:
            connection.close()

    await sync_to_async(close)()


async def _single(event: str) -> AsyncIterator[str]:
    yield event
