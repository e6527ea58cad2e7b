"""Every fault ends visible to the employee within 30 s, with one Bedrock call (issue 12).

Through the real parts: a private stack of its own Redis, an interactive thread worker, a
cpu worker, the watchdog worker, beat and uvicorn (tests/support/stack.py), real boto3
over HTTP to the Bedrock emulator, and a browser-like SSE reader. Production defaults for
every deadline (first byte 15 s, stall 15 s, pickups 20 s, heartbeat 12 s). For each
fault: the final state within 30 s, tokens exact (none lost, none repeated) and the
number of Bedrock calls exactly as expected.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from prompting.models import Run
from tests.reliability.following import Browser, Followed
from tests.support.processes import start_web
from tests.support.site import session_cookie_for
from tests.support.sse import open_stream, read_events
from tests.support.stack import PrivateStack

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PROMISE_S = 30.0


@pytest.fixture
def stack(
    live_env: dict[str, str], bedrock_emulator: Any, transactional_db: None
) -> Iterator[PrivateStack]:
    """A private stack with the product's default deadlines (the session's live settings
    shorten the socket read timeout to 4 s for older stall tests)."""
    env = {**live_env}
    env.pop("BEDROCK_READ_TIMEOUT", None)
    stack = PrivateStack(env)
    yield stack
    stack.close()


def words(count: int, tag: str) -> str:
    return " ".join(f"{tag}w{n}" for n in range(count))


def calls(emulator: Any, tag: str) -> list[Any]:
    return [r for r in list(emulator.received) if tag in r.last_user_text]


def long_message(tag: str) -> str:
    """Longer than the interactive worker judges itself: this message takes the cpu queue's
    policy step, then the interactive queue (prompting/runs/inline_judging.py)."""
    from django.conf import settings

    text = f"hello {tag} {words(100, tag)}"
    assert len(text) > settings.POLICY_INLINE_MAX_CHARS
    return text


def follow(stack: PrivateStack, run: Run, user: Any) -> Browser:
    return Browser(stack.url, run, session_cookie_for(user), deadline_s=90)


def assert_final_within(seen: Followed, since: float, logs: str) -> float:
    assert seen.final is not None, f"no final event; saw {[e.event for e in seen.events]}\n{logs}"
    took = (seen.final_at or 0) - since
    assert took < PROMISE_S, f"the employee was told after {took:.1f} s"
    return took


# -- dead workers ---------------------------------------------------------------------------


def test_cpu_worker_dead_the_employee_is_told_nothing_was_sent(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """The policy worker is dead when a long message is sent: within 30 s the run ends
    failed with "The checker is not available right now; nothing was sent." — by the
    watchdog worker, which does not share the cpu worker's fate — and Bedrock got nothing."""
    stack.cpu.kill(signal.SIGKILL)
    stack.cpu.process.wait(timeout=10)
    tag = f"c{uuid.uuid4().hex[:8]}"
    sent_at = time.monotonic()
    run = stack.send(alice, long_message(tag))
    seen = follow(stack, run, alice).wait(60)
    assert_final_within(seen, sent_at, stack.logs())
    assert seen.final is not None and seen.final.data["code"] == "checker_unavailable"
    assert "nothing was sent" in seen.final.data["message"]
    assert calls(bedrock_emulator, tag) == []
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED


def test_cpu_worker_dead_a_short_message_is_still_judged_and_answered(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """A short message is judged by the interactive worker that answers it (issue 13, no
    queue hop): with the cpu worker dead it is still judged — personal data pseudonymized
    before Bedrock, restored in the answer — and answered once."""
    stack.cpu.kill(signal.SIGKILL)
    stack.cpu.process.wait(timeout=10)
    tag = f"s{uuid.uuid4().hex[:8]}"
    # Warm-up runs in the background after the worker is ready: until it has loaded the
    # engine a short message is forwarded to the (dead) cpu queue instead.
    deadline = time.monotonic() + 60
    while "policy engine ready" not in stack.interactive.tail(100_000):
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.2)
    text = f"Please call Maria Gonzalez about {tag}"
    run = stack.send(alice, text)
    seen = follow(stack, run, alice).wait(60)
    assert seen.final is not None and seen.final.event == "done", stack.logs()
    assert seen.shown == f"You said: {text}"
    sent = calls(bedrock_emulator, tag)
    assert len(sent) == 1 and "Maria" not in sent[0].last_user_text
    run.refresh_from_db()
    assert run.decision == "pseudonymize" and run.status == Run.Status.DONE


def test_interactive_worker_dead_before_pickup(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """The generator is dead: a long message is judged, never claimed; within 30 s (not 10
    minutes) the run ends failed with a sentence, and a worker started later does not send
    it."""
    stack.kill_interactive_worker()
    tag = f"i{uuid.uuid4().hex[:8]}"
    sent_at = time.monotonic()
    run = stack.send(alice, long_message(tag))
    seen = follow(stack, run, alice).wait(60)
    assert_final_within(seen, sent_at, stack.logs())
    assert seen.final is not None and seen.final.data["code"] == "generator_unavailable"
    stack.start_interactive_worker()
    time.sleep(2)
    assert calls(bedrock_emulator, tag) == []


def test_sigterm_lets_the_running_answer_finish(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """A deploy: SIGTERM to the interactive worker mid-answer. The answer finishes (every
    token, once), one Bedrock call, and the worker exits afterwards."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    run = stack.send(alice, f"[[emulator:token-delay=100]] {words(40, tag)}")
    browser = follow(stack, run, alice)
    deadline = time.monotonic() + 30
    while len(browser.seen.deltas) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stack.interactive.kill(signal.SIGTERM)
    seen = browser.wait(60)
    assert seen.final is not None and seen.final.event == "done", stack.logs()
    assert seen.shown == f"You said: {words(40, tag)}"
    seen.assert_each_entry_once()
    assert len(calls(bedrock_emulator, tag)) == 1
    stack.interactive.process.wait(timeout=30)


# -- Bedrock faults -------------------------------------------------------------------------


def test_bedrock_hang_before_headers_is_one_call_and_truthful(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """Bedrock accepts the call and never sends headers: progress ("Still waiting for the
    model… N s") while waiting, then a final sentence within 30 s that does not claim a
    partial answer, and exactly one Bedrock call (botocore used to make 4, over 240 s)."""
    tag = f"h{uuid.uuid4().hex[:8]}"
    sent_at = time.monotonic()
    run = stack.send(alice, f"[[emulator:hang]] {tag}")
    seen = follow(stack, run, alice).wait(60)
    assert_final_within(seen, sent_at, stack.logs())
    final = seen.final
    assert final is not None and final.data["code"] == "stream_stalled"
    assert "partial answer is kept" not in final.data["message"]
    assert "Nothing was received" in final.data["message"]
    assert final.data["retryable"] is True
    assert any(m.startswith("Still waiting for the model") for m in seen.statuses())
    time.sleep(1)
    assert len(calls(bedrock_emulator, tag)) == 1
    run.refresh_from_db()
    assert [a["outcome"] for a in run.attempts] == ["stream_stalled"]


def test_bedrock_stall_mid_stream_keeps_the_partial_text(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """Five tokens, then silence: progress while waiting, failed within 30 s of the last
    token with the partial text kept (exactly what was shown), one call."""
    tag = f"s{uuid.uuid4().hex[:8]}"
    run = stack.send(alice, f"[[emulator:stall=5]] {words(20, tag)}")
    seen = follow(stack, run, alice).wait(60)
    assert seen.final is not None, stack.logs()
    last_delta_at = max(
        t for e, t in zip(seen.events, seen.arrived, strict=True) if e.event == "delta"
    )
    assert (seen.final_at or 0) - last_delta_at < PROMISE_S
    assert seen.final.data["code"] == "stream_stalled"
    assert "partial answer is kept" in seen.final.data["message"]
    # stall=5: five deltas ("You ", "said: ", three words), then silence.
    assert seen.shown == f"You said: {tag}w0 {tag}w1 {tag}w2 "
    assert seen.final.data["text"] == seen.shown
    assert any(m.startswith("Still waiting for the model") for m in seen.statuses()), (
        [(e.event, e.data.get("message")) for e in seen.events],
        stack.logs(),
    )
    seen.assert_each_entry_once()
    assert len(calls(bedrock_emulator, tag)) == 1


def test_throttling_storm_is_retried_within_the_cap(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """Throttled twice then served: done, three calls, each attempt recorded on the run.
    Always throttled: failed `throttled` after exactly BEDROCK_MAX_ATTEMPTS (3) calls."""
    ok_tag, storm_tag = f"o{uuid.uuid4().hex[:8]}", f"x{uuid.uuid4().hex[:8]}"
    ok = stack.send(alice, f"[[emulator:throttle-first=2]] {ok_tag}")
    storm = stack.send(alice, f"[[emulator:throttle]] {storm_tag}")
    sent_at = time.monotonic()
    seen_ok = follow(stack, ok, alice).wait(60)
    seen_storm = follow(stack, storm, alice).wait(60)
    assert seen_ok.final is not None and seen_ok.final.event == "done", stack.logs()
    assert seen_ok.shown == f"You said: {ok_tag}"
    assert [r.status for r in calls(bedrock_emulator, ok_tag)] == [429, 429, 200]
    ok.refresh_from_db()
    assert [a["outcome"] for a in ok.attempts] == ["throttled", "throttled", "ok"]
    assert_final_within(seen_storm, sent_at, stack.logs())
    assert seen_storm.final is not None and seen_storm.final.data["code"] == "throttled"
    assert [r.status for r in calls(bedrock_emulator, storm_tag)] == [429, 429, 429]


# -- Redis and web faults -------------------------------------------------------------------


def test_redis_stall_loses_no_answer(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """Redis stalls for 7 s (DEBUG SLEEP) mid-answer: the worker's appends time out and are
    retried, the SSE view rides it out, and the answer arrives whole, once, one call."""
    tag = f"d{uuid.uuid4().hex[:8]}"
    run = stack.send(alice, f"[[emulator:token-delay=100]] {words(60, tag)}")
    browser = follow(stack, run, alice)
    deadline = time.monotonic() + 30
    while len(browser.seen.deltas) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert browser.seen.deltas, stack.logs()
    sleeper = redis.Redis(unix_socket_path=str(stack.socket_path), socket_timeout=20)
    stall = threading.Thread(target=sleeper.execute_command, args=("DEBUG", "SLEEP", "7"))
    stall.start()
    seen = browser.wait(60)
    stall.join()
    assert seen.final is not None and seen.final.event == "done", stack.logs()
    assert seen.shown == f"You said: {words(60, tag)}"
    seen.assert_each_entry_once()
    assert len(calls(bedrock_emulator, tag)) == 1


def test_web_process_restart_mid_stream_resumes_exactly(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """uvicorn is killed mid-answer and another starts: the browser reconnects to it with
    Last-Event-ID and the answer arrives whole, nothing repeated, one Bedrock call."""
    tag = f"w{uuid.uuid4().hex[:8]}"
    run = stack.send(alice, f"[[emulator:token-delay=100]] {words(50, tag)}")
    browser = follow(stack, run, alice)
    deadline = time.monotonic() + 30
    while len(browser.seen.deltas) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    stack.web.kill(signal.SIGKILL)
    stack.web.process.wait(timeout=10)
    web, url = start_web(stack.env)
    stack._track(web)
    browser.base_url = url
    seen = browser.wait(60)
    assert seen.final is not None and seen.final.event == "done", stack.logs()
    assert seen.connections >= 2
    assert seen.shown == f"You said: {words(50, tag)}"
    seen.assert_each_entry_once()
    assert len(calls(bedrock_emulator, tag)) == 1


def test_web_sigterm_drains_sse_with_a_retry_hint(
    stack: PrivateStack, alice: Any, bedrock_emulator: Any
) -> None:
    """SIGTERM to uvicorn (a deploy): the open SSE response ends within a heartbeat with a
    `retry:` hint (not held until the answer ends), the process exits, and the browser
    resumes on the new web process with Last-Event-ID: the whole answer, once."""
    tag = f"g{uuid.uuid4().hex[:8]}"
    run = stack.send(alice, f"[[emulator:token-delay=200]] {words(60, tag)}")
    cookie = session_cookie_for(alice)
    connection, response = open_stream(stack.url, f"/runs/{run.pk}/events", cookie, timeout=30)
    lines: list[str] = []
    while sum(1 for line in lines if line.startswith("event: delta")) < 3:
        lines.append(response.readline().decode())
    stack.web.kill(signal.SIGTERM)
    sigterm_at = time.monotonic()
    while raw := response.readline():
        lines.append(raw.decode())
    ended_after = time.monotonic() - sigterm_at
    connection.close()
    assert ended_after < 8, ended_after
    tail = "".join(lines[-3:])
    assert "retry: " in tail and ": draining" in tail, tail
    assert stack.web.process.wait(timeout=20) is not None
    last_id = [line.split(": ", 1)[1].strip() for line in lines if line.startswith("id: ")][-1]

    web, url = start_web(stack.env)
    stack._track(web)
    rest_connection, rest = open_stream(
        url, f"/runs/{run.pk}/events", cookie, last_event_id=last_id, timeout=40
    )
    events = read_events(rest, deadline_s=40)
    rest_connection.close()
    first_part = "".join(
        json.loads(line.split(": ", 1)[1])["text"]
        for line in lines
        if line.startswith("data: ") and '"text"' in line
    )
    shown = first_part + "".join(e.data["text"] for e in events if e.event == "delta")
    assert events and events[-1].event == "done", stack.logs()
    assert shown == f"You said: {words(60, tag)}"
    assert len(calls(bedrock_emulator, tag)) == 1
