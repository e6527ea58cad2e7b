"""The token relay: one Redis Stream per run, written by the worker, read by the SSE view.

Streams (not pub/sub) because entries persist: the entry id is the SSE `id`, so a
browser that reconnects with `Last-Event-ID` continues exactly where it stopped. Each
entry has `type` (status | delta | done | error) and `data` (JSON). The stream expires
RETENTION_AFTER_END_S after the run ends; the final state lives in the database.

Entry ids are positions, not times (docs/reliability.md, "Redis restarts"): the generating
worker writes its n-th delta at id `n-0` (`DeltaStream`), any other entry goes right after
the stream's last one (`<last>-<seq>`), and a terminal entry at `*` (a time, so after every
position). A Redis restart without persistence (or a failover to a lagging replica) loses
the stream's tail; the worker notices at its next delta, because the position before it is
missing, and writes the missing deltas again at the same ids. A reader that continues from
the id it last sent (the SSE view, a browser's Last-Event-ID) then gets exactly what it had
not seen: with time-based ids the rewritten deltas would have come after it (repeated) and
the lost ones never (one word missing from the live answer, seen in the soak).
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

from config.redis_client import async_redis_client, redis_client
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
# A reader ending with the database's final state waits this long for the stream's own
# end before it (relay_remaining): normally there at once; absent only after a fault.
TAIL_WAIT_MS = 1_000


def stream_key(run_id: object) -> str:
    return f"relay:run:{run_id}"


def cancel_key(run_id: object) -> str:
    return f"relay:cancel:{run_id}"


# One entry at its place, atomically: KEYS[1] the stream; ARGV[1] the delta's position (''
# for an entry that is not a positioned delta, '*' for a terminal one); ARGV[2] the ttl;
# ARGV[3..] field, value pairs. Returns {'ok', id}, {'have', id} (that position is already
# written: a retried append that had landed) or {'gap', last} (positions after `last` and
# before this one are missing: Redis lost the stream's tail).
_APPEND = """
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last_s, seq = '0', 0
if top[1] then
  last_s = string.match(top[1][1], '^(%d+)')
  seq = tonumber(string.match(top[1][1], '-(%d+)$'))
end
local id
if ARGV[1] == '*' then
  id = '*'
elseif ARGV[1] == '' then
  -- Not '<ms>-*': Redis 6.2 (the embedded one) does not have it.
  id = last_s .. '-' .. string.format('%d', seq + 1)
else
  local n, last = tonumber(ARGV[1]), tonumber(last_s)
  if last >= n then return {'have', top[1][1]} end
  if last < n - 1 then return {'gap', last_s} end
  id = ARGV[1] .. '-0'
end
local added = redis.call('XADD', KEYS[1], id, unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {'ok', added}
"""


def _ttl(event_type: str) -> int:
    return RETENTION_AFTER_END_S if event_type in TERMINAL_TYPES else RETENTION_WHILE_ACTIVE_S


def _fields(event_type: str, data: dict[str, Any], raw: str | None) -> dict[str, str]:
    # "u", a unique mark: an append that timed out may still have been executed by Redis
    # once it woke up (DEBUG SLEEP, a slow failover); the retry looks for it first, so the
    # browser never sees an entry twice.
    fields = {
        "type": event_type,
        "data": json.dumps(data, ensure_ascii=False),
        "u": uuid.uuid4().hex[:16],
        # When the worker wrote it (Unix ms): entry ids are positions, not times, so this
        # is what relay delay is measured from (bench/bench_full_path.py). Not sent on.
        "at": str(int(time.time() * 1000)),
    }
    if raw is not None:
        fields["raw"] = raw
    return fields


def _append(key: str, position: str, fields: dict[str, str]) -> tuple[str, str]:
    """_APPEND, retried while Redis is briefly unavailable (restart, failover: connection
    errors; DEBUG SLEEP, a stall: timeouts) for APPEND_RETRY_S, keeping every entry once."""
    deadline = time.monotonic() + APPEND_RETRY_S
    delay = 0.05
    retrying = False
    args = [position, str(_ttl(fields["type"]))]
    for name, value in fields.items():
        args += [name, value]
    while True:
        try:
            client = redis_client()
            if retrying and not position.isdigit():
                # A positioned delta needs no search: its position says if it landed.
                landed = _find_mark(client, key, fields["u"])
                if landed is not None:
                    return "have", landed
            status, value = _append_script(client)(keys=[key], args=args)
            return str(status), str(value)
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            logger.warning("relay: Redis unavailable, retrying append to %s", key)
            retrying = True
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


_scripts: dict[int, Any] = {}


def _append_script(client: redis.Redis) -> Any:
    # EVALSHA, loading the script again after a Redis restart (redis-py's Script does).
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_APPEND)
    return script


def relay_append(
    run_id: object, event_type: str, data: dict[str, Any], *, raw: str | None = None
) -> str:
    """Append one event after the stream's last entry; retried while Redis is briefly
    unavailable. Returns the entry id. (The generating worker's deltas go through
    `DeltaStream`, which can write again what a Redis restart lost.)

    `data` goes to the browser as is. `raw` (deltas: the model's text with placeholders)
    stays server-side; the reaper rebuilds an interrupted answer from it.
    """
    position = "*" if event_type in TERMINAL_TYPES else ""
    _status, entry_id = _append(stream_key(run_id), position, _fields(event_type, data, raw))
    return entry_id


class DeltaStream:
    """The generating worker's deltas for one run: the n-th at id `n-0`. Keeps what it
    wrote, so when Redis has lost the stream's tail (a restart without persistence, a
    failover) the next append writes the missing deltas again at their ids first."""

    def __init__(self, run_id: object) -> None:
        self.run_id = run_id
        self._key = stream_key(run_id)
        # (text, raw) of each delta: the strings the worker holds anyway, not a copy of
        # the stream (bench/bench_stream_memory.py counts a streaming worker's memory).
        self._written: list[tuple[str, str]] = []
        self.rewritten = 0  # deltas written again after Redis lost them

    def append(self, text: str, *, raw: str) -> str:
        self._written.append((text, raw))
        return self._write_through(len(self._written))

    def ensure_complete(self) -> None:
        """Before the outcome: every delta is in the stream (a restart after the last one
        would otherwise cost the browser the answer's tail until the final event)."""
        if not self._written:
            return
        try:
            self._write_through(len(self._written))
        except redis.RedisError:
            # Best effort: the final event carries the whole text from the database.
            logger.warning("relay: run %s: could not check its deltas", self.run_id)

    def _write_through(self, last: int) -> str:
        position = last
        while True:
            text, raw = self._written[position - 1]
            fields = _fields("delta", {"text": text}, raw)
            status, value = _append(self._key, str(position), fields)
            if status == "gap":
                position = int(value) + 1
                logger.warning(
                    "relay: run %s lost deltas after %s (Redis restarted?); writing them again",
                    self.run_id,
                    value,
                )
                continue
            if status == "ok" and position < last:
                self.rewritten += 1
            if position >= last:
                return value
            position += 1


def _find_mark(client: redis.Redis, key: str, mark: str) -> str | None:
    """The id of the entry carrying `mark` among the stream's last ones, if it landed."""
    entries: Any = client.xrevrange(key, count=RECENT_ENTRIES_CHECKED)
    for entry_id, fields in entries:
        if fields.get("u") == mark:
            return str(entry_id)
    return None


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


async def relay_remaining(
    run_id: object, *, after: str, wait_ms: int = TAIL_WAIT_MS
) -> list[tuple[str, str, str]]:
    """The entries in the stream after `after`, up to a terminal one, for a reader about to
    end with the database's final state: what the worker wrote just before finishing
    comes first. Waits up to `wait_ms` for each next entry while no terminal one has come:
    a run's terminal entry is written after its outcome commits, and after a Redis stall
    the worker's backlog can reach Redis after this read was sent (the web process's one
    reader times its heartbeat locally, so this read may be queued during the stall: a
    blocking read still sees what lands after it, a plain one would not)."""
    client = async_redis_client()
    remaining: list[tuple[str, str, str]] = []
    try:
        while True:
            reply = await client.xread({stream_key(run_id): after}, count=500, block=wait_ms)
            entries = reply[0][1] if reply else []
            for entry_id, fields in entries:
                remaining.append((entry_id, fields["type"], fields["data"]))
                if fields["type"] in TERMINAL_TYPES:
                    return remaining
            if not entries:
                return remaining
            after = entries[-1][0]
    finally:
        await client.aclose()


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
