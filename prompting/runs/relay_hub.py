"""One Redis reader per web process for every stream being followed.

Each open SSE stream used to hold a Redis connection of its own, blocked in XREAD on its
run's stream: one wake-up, one command and one reply per token per stream. At 200 open
streams (10,000 tokens a second) that was most of the web process's CPU (syscalls on
the loopback and reply parsing; docs/capacity.md, "Latency under load"). Here one task
per event loop blocks in a single XREAD over every followed stream and hands each
follower the entries after its own position: under load one reply carries the tokens of
many streams, and the process holds two Redis connections, not one per stream.

Exactly-once delivery is the follower's: it keeps the id of the last entry it was given
and receives only entries after it (stream ids are totally ordered), so a follower that
joins late, or resumes from a Last-Event-ID, gets what it has not seen, once.

A new follower wakes the reader if it is blocked (an entry on the hub's own wake stream,
which the blocking XREAD includes), so it never waits for the block to time out. If
Redis fails, every follower gets the error (the SSE view retries from its last id, as
before) and the reader starts again on a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import redis
import redis.asyncio

from config.redis_client import async_redis_client

logger = logging.getLogger(__name__)

Entry = tuple[str, str, str]  # (entry id, type, data)

# How long the reader's XREAD blocks when nothing arrives (new followers wake it at once).
BLOCK_MS = 5_000
# Entries taken from one stream per read; a stream further behind is read again at once.
READ_COUNT = 500
WAKE_TTL_S = 3_600
AFTER_ERROR_S = 0.2
# After a read that brought entries, the reader waits this long before the next: what
# arrives meanwhile (other streams' tokens) comes in the same reply. Without it, each
# reply carried one or two tokens and every read listed every followed stream: more CPU
# than a connection per stream. The first token after a quiet spell is not delayed (the
# reader is blocked in XREAD then); a token right behind another waits at most this.
GATHER_S = 0.005


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class Follower:
    """One stream's reader side: batches of entries after `after`, in order, once."""

    def __init__(self, key: str, after: str) -> None:
        self.key = key
        self.after = after
        self._after_id = _id(after)
        self._pending: list[Entry] = []
        self._error: BaseException | None = None
        self._arrived = asyncio.Event()

    def offer(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """The hub read these entries of this follower's stream (maybe some it has had)."""
        for entry_id, fields in entries:
            parsed = _id(entry_id)
            if parsed > self._after_id:
                self._pending.append((entry_id, fields.get("type", ""), fields.get("data", "")))
                self._after_id, self.after = parsed, entry_id
        if self._pending:
            self._arrived.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._arrived.set()

    async def next_batch(self, timeout_s: float) -> list[Entry]:
        """What arrived since the last call; [] after `timeout_s` with nothing new."""
        if not self._pending and self._error is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._arrived.wait()
        self._arrived.clear()
        batch, self._pending = self._pending, []
        if not batch and self._error is not None:
            raise self._error
        return batch


class RelayHub:
    """The reader of one event loop (one per web process under uvicorn)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._followers: dict[str, set[Follower]] = {}
        self._wake_key = f"relay:hub:{uuid.uuid4().hex}"
        self._wake_after = "0-0"
        self._reading = False
        self._has_followers = asyncio.Event()
        self._writer: redis.asyncio.Redis | None = None
        self._task: asyncio.Task[None] | None = None

    async def follow(self, key: str, after: str) -> Follower:
        follower = Follower(key, after)
        self._followers.setdefault(key, set()).add(follower)
        self._has_followers.set()
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._read_forever(), name="relay-hub")
        if self._reading:
            # The reader is blocked on the streams it knew: make it look again now.
            try:
                await self._wake()
            except redis.RedisError:
                self.unfollow(follower)
                raise
        return follower

    def unfollow(self, follower: Follower) -> None:
        followers = self._followers.get(follower.key)
        if followers is None:
            return
        followers.discard(follower)
        if not followers:
            del self._followers[follower.key]

    async def _wake(self) -> None:
        if self._writer is None:
            self._writer = async_redis_client()
        pipe = self._writer.pipeline(transaction=False)
        pipe.xadd(self._wake_key, {"w": "1"}, maxlen=10, approximate=True)
        pipe.expire(self._wake_key, WAKE_TTL_S)
        await pipe.execute()

    async def _read_forever(self) -> None:
        client: redis.asyncio.Redis | None = None
        try:
            while True:
                if not self._followers:
                    self._has_followers.clear()
                    await self._has_followers.wait()
                    continue
                client = client or async_redis_client()
                try:
                    await self._read_once(client)
                except Exception as error:
                    self._reading = False
                    if not isinstance(error, redis.RedisError):
                        # A bug here must not leave every open stream silent: they end and
                        # the browsers reconnect from their Last-Event-ID.
                        logger.exception("relay hub: the reader failed; followers reconnect")
                        error = redis.RedisError("the relay reader failed")
                    self._fail_all(error)
                    with contextlib.suppress(Exception):
                        await client.aclose()
                    client = None
                    await asyncio.sleep(AFTER_ERROR_S)
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _read_once(self, client: redis.asyncio.Redis) -> None:
        self._reading = True
        # Built and sent with no await in between: a follower added after this line sees
        # _reading and wakes the read.
        streams: dict[Any, Any] = {self._wake_key: self._wake_after}
        for key, followers in self._followers.items():
            streams[key] = min((f.after for f in followers), key=_id)
        reply = await client.xread(streams, block=BLOCK_MS, count=READ_COUNT)
        self._reading = False
        for key, entries in reply or []:
            if key == self._wake_key:
                self._wake_after = entries[-1][0]
                continue
            for follower in list(self._followers.get(key, ())):
                follower.offer(entries)
        if reply:
            await asyncio.sleep(GATHER_S)

    def _fail_all(self, error: BaseException) -> None:
        """Redis went away: every follower raises it; they follow again when they retry."""
        followers, self._followers = self._followers, {}
        for each in followers.values():
            for follower in each:
                follower.fail(error)


_hubs: dict[int, RelayHub] = {}


def hub() -> RelayHub:
    """The hub of the running event loop, made on first use."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(id(loop))
    if found is None or found.loop is not loop:
        for loop_id in [i for i, h in _hubs.items() if h.loop.is_closed()]:
            del _hubs[loop_id]  # loops of finished asyncio.run() calls (tests, commands)
        found = _hubs[id(loop)] = RelayHub(loop)
    return found
