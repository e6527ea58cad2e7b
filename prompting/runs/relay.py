"""The token relay: one Redis Stream per run, written by the worker, read by the SSE view.

Streams (not pub/sub) because entries persist: the entry id is the SSE `id`, so a
browser that reconnects with `Last-Event-ID` continues exactly where it stopped. Each
entry has `type` (status | delta | done | error) and `data` (JSON). The stream expires
RETENTION_AFTER_END_S after the run ends; the final state lives in the database.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import redis
import redis.asyncio

from config.redis_client import redis_client
from prompting.runs import relay_hub

logger = logging.getLogger(__name__)

TERMINAL_TYPES = frozenset({"done", "error"})
RETENTION_AFTER_END_S = 3600
# While a run streams the key lives this long past the last entry, so an abandoned
# run's stream cannot stay in Redis forever.
RETENTION_WHILE_ACTIVE_S = 6 * 3600
# A worker keeps retrying an entry this long while Redis restarts or stalls, so the
# browser gets every token in order once Redis is back; beyond it the run ends
# (internal error, or interrupted by the reaper) with the partial text kept.
APPEND_RETRY_S = 15.0
# Entries written to one run's stream while an append waits: its own deltas are in order,
# so only a few others (status, progress) can come after it.
RECENT_ENTRIES_CHECKED = 50


def stream_key(run_id: object) -> str:
    return f"relay:run:{run_id}"


def cancel_key(run_id: object) -> str:
    return f"relay:cancel:{run_id}"


def relay_append(
    run_id: object, event_type: str, data: dict[str, Any], *, raw: str | None = None
) -> str:
    """Append one event; retried while Redis is briefly unavailable. Returns the entry id.

    `data` goes to the browser as is. `raw` (deltas: the model's text with placeholders)
    stays server-side; the reaper rebuilds an interrupted answer from it.
    """
    key = stream_key(run_id)
    # A unique mark: an append that timed out may still have been executed by Redis once
    # it woke up (DEBUG SLEEP, a slow failover); the retry looks for it first, so the
    # browser never sees a token twice.
    mark = uuid.uuid4().hex[:16]
    fields = {"type": event_type, "data": json.dumps(data, ensure_ascii=False), "u": mark}
    if raw is not None:
        fields["raw"] = raw
    deadline = time.monotonic() + APPEND_RETRY_S
    delay = 0.05
    retrying = False
    while True:
        try:
            client = redis_client()
            if retrying:
                landed = _find_mark(client, key, mark)
                if landed is not None:
                    return landed
            pipe = client.pipeline(transaction=False)
            pipe.xadd(key, fields)  # type: ignore[arg-type]
            ttl = (
                RETENTION_AFTER_END_S if event_type in TERMINAL_TYPES else RETENTION_WHILE_ACTIVE_S
            )
            pipe.expire(key, ttl)
            entry_id, _ = pipe.execute()
            return str(entry_id)
        except (redis.ConnectionError, redis.TimeoutError):
            # A stall (DEBUG SLEEP, a failover) raises TimeoutError, not ConnectionError:
            # both are a hiccup to ride out, keeping every token in order.
            if time.monotonic() > deadline:
                raise
            logger.warning("relay: Redis unavailable, retrying append for run %s", run_id)
            retrying = True
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _find_mark(client: redis.Redis, key: str, mark: str) -> str | None:
    """The id of the entry carrying `mark` among the stream's last ones, if it landed."""
    entries: Any = client.xrevrange(key, count=RECENT_ENTRIES_CHECKED)
    for entry_id, fields in entries:
        if fields.get("u") == mark:
            return str(entry_id)
    return None


def relay_reachable() -> bool:
    """One PING: can runs be queued and relayed right now? (Checked before a run is
    created, so a message is refused with a sentence instead of saved and never judged.)"""
    try:
        return bool(redis_client().ping())
    except redis.RedisError:
        return False


def relay_raw_text(run_id: object) -> str:
    """The model's text so far, with placeholders (the reaper keeps it for a dead worker)."""
    entries = redis_client().xrange(stream_key(run_id))
    return "".join(fields.get("raw", "") for _id, fields in entries)  # type: ignore[union-attr]


def cancel_request(run_id: object) -> None:
    redis_client().set(cancel_key(run_id), "1", ex=RETENTION_WHILE_ACTIVE_S)


def cancel_requested(run_id: object) -> bool:
    try:
        return bool(redis_client().exists(cancel_key(run_id)))
    except redis.RedisError:
        return False  # the database flag is checked too, before the call


async def relay_exists(client: redis.asyncio.Redis, run_id: object) -> bool:
    return bool(await client.exists(stream_key(run_id)))


async def relay_batches(
    run_id: object, *, after: str, block_ms: int = 15_000
) -> AsyncIterator[list[tuple[str, str, str]]]:
    """Entries (id, type, data) after `after` as they arrive, what arrived together as
    one list ([] after each idle `block_ms`: heartbeat time). Stops after a terminal
    entry; raises redis.RedisError if Redis goes away (the SSE view ends the response or
    retries, from the last id it sent).

    Read by the web process's one reader (relay_hub.py), not a connection per stream. The
    SSE view writes a batch as one chunk: usually one token; a web process that falls
    behind (bench/bench_full_path.py: 200 streams, 10,000 tokens a second) catches up
    with fewer, larger writes instead of one write per token.
    """
    readers = relay_hub.hub()
    follower = await readers.follow(stream_key(run_id), after)
    try:
        while True:
            entries = await follower.next_batch(block_ms / 1000)
            batch: list[tuple[str, str, str]] = []
            for entry in entries:
                batch.append(entry)
                if entry[1] in TERMINAL_TYPES:
                    break
            yield batch
            if batch and batch[-1][1] in TERMINAL_TYPES:
                return
    finally:
        readers.unfollow(follower)
