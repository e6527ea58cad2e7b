"""Redis loses a stream's tail (issue 12, the soak's "one live delta missing"): a Redis
restart without persistence, or a failover to a replica that lagged, drops the entries the
reader had not read yet. The reader (the SSE view, a browser's Last-Event-ID) continues
from the last id it sent; it must still get every delta exactly once, in order.

In-process generation against the emulator over HTTP and the real relay (Redis). The
restart's effect on the run's stream is produced exactly, at a chosen moment: the key is
deleted (what an empty Redis coming back looks like to that key), after the reader has
received delta k+1 from Redis but before the browser was sent it; the emulator's 250 ms
between tokens leaves the worker far from its next delta. On the time-based ids used before
(`XADD *`), the lost delta never came back: the reader saw k, then k+2."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from config.redis_client import redis_client
from prompting import services
from prompting.models import Run
from prompting.runs import generation, judging, relay
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db(transaction=True)

TERMINAL = {"done", "error"}


def words(count: int, tag: str) -> str:
    return " ".join(f"{tag}w{n}" for n in range(count))


def read_after(key: str, after: str, block_ms: int = 5_000) -> list[tuple[str, dict[str, str]]]:
    """What the SSE view's XREAD returns (relay.relay_read), synchronously."""
    reply: Any = redis_client().xread({key: after}, block=block_ms, count=500)
    return [(entry_id, fields) for entry_id, fields in reply[0][1]] if reply else []


class Reader:
    """The SSE view's side: entries after the last id it has sent to the browser."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.after = "0-0"
        self.sent: list[tuple[str, dict[str, str]]] = []

    def send(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        for entry in entries:
            self.sent.append(entry)
            self.after = entry[0]

    def deltas_sent(self) -> list[str]:
        return [json.loads(f["data"])["text"] for _id, f in self.sent if f["type"] == "delta"]

    def read_until_final(self, deadline_s: float = 30) -> None:
        ends = time.monotonic() + deadline_s
        while time.monotonic() < ends:
            entries = read_after(self.key, self.after)
            for entry in entries:
                self.send([entry])
                if entry[1]["type"] in TERMINAL:
                    return
        raise AssertionError(f"no final entry within {deadline_s} s: {self.sent}")


def start_generation(user: Any, text: str) -> tuple[Run, threading.Thread]:
    conversation = services.conversation_create(owner=user)
    run = run_services.run_create(user=user, conversation=conversation, text=text)
    assert judging.run_judge(run_id=run.pk)
    worker = threading.Thread(target=generation.run_generate, kwargs={"run_id": run.pk})
    worker.start()
    return run, worker


@pytest.mark.parametrize("lost_after", [0, 3])
def test_deltas_lost_by_redis_reach_the_reader_once_in_order(
    alice: Any, dispatched: Any, bedrock_emulator: Any, lost_after: int
) -> None:
    tag = f"r{uuid.uuid4().hex[:8]}"
    run, worker = start_generation(alice, f"[[emulator:token-delay=250]] {words(12, tag)}")
    key = relay.stream_key(run.pk)
    reader = Reader(key)
    try:
        # The view sends what arrives until it has sent `lost_after` deltas...
        while len(reader.deltas_sent()) < lost_after:
            reader.send(read_after(key, reader.after)[:1])
        # ... then XREAD hands it the next delta, but before the view writes it to the
        # browser Redis restarts empty: that entry, and everything before it, is gone.
        pending: list[tuple[str, dict[str, str]]] = []
        while not any(f["type"] == "delta" for _id, f in pending):
            pending = read_after(key, reader.after)
        assert pending, "the worker wrote nothing"
        redis_client().delete(key)
        # The view reconnects and continues from the last id it sent.
        reader.read_until_final()
    finally:
        worker.join(timeout=60)

    run.refresh_from_db()
    assert run.status == Run.Status.DONE, run.error_message
    assert run.assistant_message is not None
    expected = run.assistant_message.content
    assert expected == f"You said: {words(12, tag)}"
    final = json.loads(reader.sent[-1][1]["data"])
    assert reader.sent[-1][1]["type"] == "done" and final["text"] == expected
    assert "".join(reader.deltas_sent()) == expected, "a delta was lost or repeated"
    ids = [entry_id for entry_id, _f in reader.sent]
    assert len(ids) == len(set(ids))
    # The reaper's copy of the model's text (relay_raw_text) is whole again too.
    assert relay.relay_raw_text(run.pk) == expected


def test_an_append_retried_after_a_timeout_that_had_landed_is_not_repeated(
    alice: Any,
) -> None:
    """A Redis stall: the worker's append timed out on its side but Redis executed it when
    it woke up; the retry of the same position returns the entry that landed."""
    run_id = uuid.uuid4()
    deltas = relay.DeltaStream(run_id)
    first = deltas.append("Hello", raw="Hello")
    again = relay._append(
        relay.stream_key(run_id), "1", relay._fields("delta", {"text": "Hello"}, "Hello")
    )
    assert again == ("have", first)
    deltas.append(" there", raw=" there")
    entries: Any = redis_client().xrange(relay.stream_key(run_id))
    assert [json.loads(f["data"])["text"] for _id, f in entries] == ["Hello", " there"]
    assert [entry_id for entry_id, _f in entries] == ["1-0", "2-0"]


def test_entries_around_positioned_deltas_keep_their_order(alice: Any) -> None:
    """Statuses go right after the last entry, deltas at their position, the final entry
    after everything (a time), on the Redis the tests run (6.2: no `<ms>-*` ids)."""
    run_id = uuid.uuid4()
    deltas = relay.DeltaStream(run_id)
    written = [
        relay.relay_append(run_id, "status", {"status": "judged"}),
        relay.relay_append(run_id, "status", {"status": "waiting"}),
        deltas.append("Hi", raw="Hi"),
        relay.relay_append(run_id, "status", {"status": "waiting"}),
        deltas.append("!", raw="!"),
        relay.relay_append(run_id, "done", {"text": "Hi!"}),
    ]
    assert written[:5] == ["0-1", "0-2", "1-0", "1-1", "2-0"]
    final_ms = int(written[5].split("-")[0])
    assert final_ms > time.time() * 1000 - 60_000  # a time: after any position
    entries: Any = redis_client().xrange(relay.stream_key(run_id))
    assert [entry_id for entry_id, _f in entries] == written
