"""A deadline for every waiting state (issue 12), through the real lifecycle, the real
relay (Redis) and the SSE view: a run not judged within RUN_POLICY_PICKUP_TIMEOUT, or not
claimed within RUN_GENERATION_PICKUP_TIMEOUT after judging, ends failed with a sentence and
an audit event, and can then never be judged, claimed or sent."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.test import AsyncClient
from django.utils import timezone

from audit.models import AuditEvent
from config.redis_client import redis_client
from prompting import services
from prompting.models import Run, Tool
from prompting.runs import judging, lifecycle, relay
from prompting.runs import services as run_services
from prompting.views import stream as stream_view

pytestmark = pytest.mark.django_db(transaction=True)


def new_run(user: Any, text: str = "hello there") -> Run:
    conversation = services.conversation_create(owner=user)
    return run_services.run_create(user=user, conversation=conversation, text=text)


def age(run: Run, **fields_seconds: float) -> None:
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        **{field: now - timedelta(seconds=s) for field, s in fields_seconds.items()}
    )


def last_relayed(run: Run) -> dict[str, Any]:
    entries: Any = redis_client().xrange(relay.stream_key(run.pk))
    return {"type": entries[-1][1]["type"], **json.loads(entries[-1][1]["data"])}


def test_run_not_judged_in_time_fails_with_a_sentence_and_is_never_sent(
    alice: Any, dispatched: Any, settings: Any
) -> None:
    """The cpu worker is dead: 21 s after sending, the watchdog ends the run failed ("The
    checker is not available right now; nothing was sent."), records generation.finished,
    tells the browser, and a policy step arriving late stores and queues nothing."""
    settings.RUN_POLICY_PICKUP_TIMEOUT = 20
    run = new_run(alice)
    fresh = new_run(alice, "just sent")
    age(run, created_at=21)
    assert run_services.runs_reap_stale() == 1
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error_code == "checker_unavailable"
    assert run.error_message == run_services.CHECKER_UNAVAILABLE_MESSAGE
    assert Run.objects.get(pk=fresh.pk).status == Run.Status.QUEUED  # not yet due
    event = AuditEvent.objects.filter(action="generation.finished").latest("id")
    assert event.outcome == "failed" and event.details["error_code"] == "checker_unavailable"
    final = last_relayed(run)
    assert final["type"] == "error" and "nothing was sent" in final["message"]
    assert final["retryable"] is True

    dispatched.clear()
    assert judging.run_judge(run_id=run.pk) is False
    assert not lifecycle.run_claim_for_generation(run_id=run.pk)
    assert Run.objects.get(pk=run.pk).status == Run.Status.FAILED
    assert not AuditEvent.objects.filter(action="prompt.submitted", target_id=str(run.pk)).exists()


def test_judged_run_not_claimed_in_time_fails(alice: Any, dispatched: Any, settings: Any) -> None:
    """The interactive worker is dead: judged, not claimed 20 s later → failed."""
    settings.RUN_GENERATION_PICKUP_TIMEOUT = 20
    run = new_run(alice)
    assert judging.run_judge(run_id=run.pk) is True
    run.refresh_from_db()
    assert run.judged_at is not None
    assert run_services.runs_reap_stale() == 0  # just judged: not due
    age(run, judged_at=21)
    assert run_services.runs_reap_stale() == 1
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error_code == "generator_unavailable"
    assert not lifecycle.run_claim_for_generation(run_id=run.pk)


def test_summary_runs_keep_their_longer_queue_deadline(alice: Any, dispatched: Any) -> None:
    run = new_run(alice)
    Run.objects.filter(pk=run.pk).update(tool=Tool.SUMMARIZE)
    age(run, created_at=60)
    assert run_services.runs_reap_stale() == 0


def test_dead_worker_without_text_says_nothing_arrived(alice: Any, dispatched: Any) -> None:
    run = new_run(alice)
    Run.objects.filter(pk=run.pk).update(decision="allow")
    assert lifecycle.run_claim_for_generation(run_id=run.pk)
    age(run, heartbeat_at=30)
    assert run_services.runs_reap_stale() == 1
    run.refresh_from_db()
    assert run.status == Run.Status.INTERRUPTED
    assert "before any text arrived" in run.error_message


def test_the_sse_view_enforces_the_deadline_itself(
    alice: Any, dispatched: Any, settings: Any, monkeypatch: Any
) -> None:
    """Beat and the watchdog worker are dead too: the web process's SSE loop notices the
    overdue run on its idle heartbeat, ends it, and sends the final event."""
    settings.RUN_POLICY_PICKUP_TIMEOUT = 20
    monkeypatch.setattr(stream_view, "HEARTBEAT_MS", 200)
    run = new_run(alice)
    age(run, created_at=25)

    async def read() -> str:
        client = AsyncClient()
        await client.aforce_login(alice)
        response = await client.get(f"/runs/{run.pk}/events")
        body = ""
        async for chunk in response.streaming_content:  # type: ignore[attr-defined]
            body += chunk.decode() if isinstance(chunk, bytes) else chunk
            if "event: error" in body:
                break
        return body

    async def read_within_deadline() -> str:
        return await asyncio.wait_for(read(), timeout=20)

    # In a thread of its own: the browser tests' Playwright (sync API) leaves its loop
    # marked running in this thread, where neither asyncio.run nor async_to_sync may
    # start another. The data is committed (transaction=True), so any thread sees it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        body = pool.submit(asyncio.run, read_within_deadline()).result()
    assert "event: error" in body and "checker_unavailable" in body
    assert Run.objects.get(pk=run.pk).status == Run.Status.FAILED
