"""The web process's one Redis reader for every followed stream (prompting/runs/relay_hub.py),
against the suite's real Redis: each follower gets exactly the entries after its own
position, once and in order; a newcomer is not left waiting for the blocked read; a
Redis failure reaches every follower."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import redis

from prompting.runs import relay, relay_hub
from tests.support.aio import run_in_own_loop


def _append(run_id: Any, count: int, start: int = 0) -> list[str]:
    return [
        relay.relay_append(run_id, "delta", {"text": f"t{i}"}, raw=f"t{i}")
        for i in range(start, start + count)
    ]


async def _collect(run_id: Any, after: str, until: int, timeout_s: float = 10) -> list[str]:
    """Texts of the deltas after `after`, until `until` of them or a terminal entry."""
    texts: list[str] = []
    async with asyncio.timeout(timeout_s):
        async for batch in relay.relay_batches(run_id, after=after, block_ms=200):
            for _id, kind, data in batch:
                if kind == "delta":
                    texts.append(data)
            if len(texts) >= until or (batch and batch[-1][1] in relay.TERMINAL_TYPES):
                break
    return texts


def test_followers_of_one_stream_each_get_their_own_rest_once() -> None:
    run_id = uuid.uuid4()
    ids = _append(run_id, 5)

    async def main() -> tuple[list[str], list[str]]:
        # One from the start, one resuming after the third entry (a Last-Event-ID).
        return await asyncio.gather(_collect(run_id, "0-0", 5), _collect(run_id, ids[2], 2))

    whole, rest = run_in_own_loop(main())
    assert [x.split('"')[3] for x in whole] == ["t0", "t1", "t2", "t3", "t4"]
    assert [x.split('"')[3] for x in rest] == ["t3", "t4"]


def test_many_streams_written_together_arrive_complete_and_in_order() -> None:
    runs = [uuid.uuid4() for _ in range(30)]

    async def main() -> list[list[str]]:
        readers = [asyncio.ensure_future(_collect(r, "0-0", 40)) for r in runs]
        await asyncio.sleep(0.1)  # every follower is waiting on the one reader

        def write() -> None:
            for i in range(40):
                for run_id in runs:
                    relay.relay_append(run_id, "delta", {"text": f"t{i}"})

        await asyncio.to_thread(write)
        return list(await asyncio.gather(*readers))

    for texts in run_in_own_loop(main()):
        assert [x.split('"')[3] for x in texts] == [f"t{i}" for i in range(40)]


def test_a_new_follower_does_not_wait_for_the_blocked_read(monkeypatch: Any) -> None:
    """The reader is blocked (for a long time here) on the streams it knew; a stream
    followed now gets its first entry at once, not when that read times out."""
    monkeypatch.setattr(relay_hub, "BLOCK_MS", 60_000)
    first, second = uuid.uuid4(), uuid.uuid4()

    async def main() -> float:
        waiting = asyncio.ensure_future(_collect(first, "0-0", 1, timeout_s=30))
        await asyncio.sleep(0.3)  # the reader is now blocked on `first` only
        started = time.monotonic()
        late = asyncio.ensure_future(_collect(second, "0-0", 1, timeout_s=5))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(_append, second, 1)
        await late
        took = time.monotonic() - started
        await asyncio.to_thread(_append, first, 1)
        await waiting
        return took

    assert run_in_own_loop(main()) < 3


def test_redis_failing_reaches_every_follower(monkeypatch: Any, tmp_path: Any) -> None:
    """The reader's connection fails: each follower raises (the SSE view then retries
    from its last id), nobody hangs."""
    dead = f"unix://{tmp_path}/no-redis.sock"
    monkeypatch.setattr(
        relay_hub,
        "async_redis_client",
        lambda: redis.asyncio.Redis.from_url(dead, socket_connect_timeout=1),
    )

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(_collect(uuid.uuid4(), "0-0", 1, timeout_s=10) for _ in range(3)),
            return_exceptions=True,
        )

    outcomes = run_in_own_loop(main())
    assert all(isinstance(o, redis.ConnectionError) for o in outcomes), outcomes


def test_each_event_loop_has_its_own_reader() -> None:
    async def mine() -> relay_hub.RelayHub:
        return relay_hub.hub()

    one, two = run_in_own_loop(mine()), run_in_own_loop(mine())
    assert one is not two


def test_a_bug_in_the_reader_ends_every_stream_instead_of_silencing_it(monkeypatch: Any) -> None:
    """Whatever goes wrong in the one reader, its followers hear of it (the SSE view ends
    the response and the browser resumes from its Last-Event-ID); none waits forever."""

    def broken(self: relay_hub.Follower, entries: Any) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(relay_hub.Follower, "offer", broken)
    run_id = uuid.uuid4()
    _append(run_id, 1)

    async def main() -> Any:
        return await asyncio.gather(_collect(run_id, "0-0", 1, timeout_s=5), return_exceptions=True)

    (outcome,) = run_in_own_loop(main())
    assert isinstance(outcome, redis.RedisError), outcome
