"""One message end to end through the real parts: uvicorn (ASGI), a Celery worker
process, the policy layer, real boto3 over HTTP to the Bedrock emulator, Redis Streams
and the SSE endpoint read the way a browser reads it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from audit.models import AuditEvent
from prompting import services
from prompting.models import Conversation, Run
from prompting.runs import services as run_services
from tests.support.site import post_form, session_cookie_for
from tests.support.sse import open_stream, read_events
from tests.support.waiting import send_message as send
from tests.support.waiting import wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def stream_all(live_site: str, user: Any, run: Run, **kwargs: Any) -> list[Any]:
    _conn, response = open_stream(live_site, f"/runs/{run.pk}/events", session_cookie_for(user))
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    assert response.getheader("X-Accel-Buffering") == "no"
    return read_events(response, **kwargs)


def actions_for(run: Run) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(run.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.mark.newcomer
def test_answer_streams_with_placeholders_restored(
    live_site: str, alice: Any, bedrock_emulator: Any
) -> None:
    """Bedrock sees a placeholder for the name and email; the owner sees them restored."""
    run = send(alice, "Please reply to Maria Gonzalez at maria.gonzalez@example.com today.")
    events = stream_all(live_site, alice, run)

    assert events[-1].event == "done"
    deltas = [e for e in events if e.event == "delta"]
    assert len(deltas) > 3
    shown = "".join(e.data["text"] for e in deltas)
    assert shown == events[-1].data["text"]
    assert "maria.gonzalez@example.com" in shown
    sent = [r for r in bedrock_emulator.received if "EMAIL_ADDRESS" in r.last_user_text]
    assert sent, "the emulator never saw the pseudonymized prompt"
    assert "maria.gonzalez@example.com" not in sent[-1].last_user_text
    assert "<EMAIL_ADDRESS_1>" in sent[-1].last_user_text

    run.refresh_from_db()
    assert run.status == Run.Status.DONE
    assert run.decision == "pseudonymize"
    assert run.input_tokens and run.output_tokens and run.cost_usd is not None
    assert run.time_to_first_token_ms is not None and run.latency_ms is not None
    assert run.assistant_message is not None
    assert "maria.gonzalez@example.com" not in run.assistant_message.sanitized_content
    assert actions_for(run) == ["prompt.submitted", "generation.finished"]


def test_blocked_prompt_sends_nothing(live_site: str, alice: Any, bedrock_emulator: Any) -> None:
    """A prompt with a password is blocked: nothing reaches Bedrock, the user is told why."""
    before = len(bedrock_emulator.received)
    run = send(alice, "The staging password is Zq7!hunter2-x9, please check the refund.")
    events = stream_all(live_site, alice, run)

    assert events[-1].event == "error"
    assert events[-1].data["code"] == "blocked"
    assert "password" in events[-1].data["message"].lower()
    run.refresh_from_db()
    assert run.status == Run.Status.BLOCKED
    time.sleep(0.5)
    assert len(bedrock_emulator.received) == before
    assert actions_for(run) == ["prompt.blocked"]


def test_reconnect_with_last_event_id_resumes_exactly(live_site: str, alice: Any) -> None:
    """A browser that drops mid-stream and reconnects gets every token exactly once."""
    text = "[[emulator:token-delay=40]] " + " ".join(f"word{i}" for i in range(40))
    run = send(alice, text)
    cookie = session_cookie_for(alice)
    conn, response = open_stream(live_site, f"/runs/{run.pk}/events", cookie)
    first = read_events(response, max_events=8)
    conn.close()  # the browser goes away mid-stream
    assert first and all(e.event == "delta" for e in first)

    _conn, response = open_stream(
        live_site, f"/runs/{run.pk}/events", cookie, last_event_id=first[-1].id
    )
    rest = read_events(response)
    assert rest[-1].event == "done"
    ids = [e.id for e in first + rest if e.id]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    shown = "".join(e.data["text"] for e in first + rest if e.event == "delta")
    assert shown == rest[-1].data["text"]


def test_stop_keeps_partial_text(live_site: str, alice: Any) -> None:
    """Stop ends a slow generation within a second; the partial answer is kept, cancelled."""
    run = send(alice, "[[emulator:token-delay=200]] " + "slow " * 60)
    cookie = session_cookie_for(alice)
    _conn, response = open_stream(live_site, f"/runs/{run.pk}/events", cookie)
    first = read_events(response, max_events=3)
    assert len(first) == 3
    stopped_at = time.monotonic()
    run_services.run_cancel(user=alice, run_id=run.pk)
    rest = read_events(response)
    assert rest[-1].event == "error" and rest[-1].data["status"] == "cancelled"
    assert time.monotonic() - stopped_at < 1.5
    run = wait_for_status(run, {Run.Status.CANCELLED})
    assert run.assistant_message is not None
    assert run.assistant_message.content.startswith("You said")
    assert actions_for(run)[-1] == "generation.finished"


def test_throttled_before_first_token_is_retried(live_site: str, alice: Any) -> None:
    """Throttling before the stream: 'busy, retrying' is shown, then the answer arrives."""
    run = send(alice, "[[emulator:throttle-first=1]] hello there")
    events = stream_all(live_site, alice, run)
    kinds = [e.event for e in events]
    assert "status" in kinds
    assert events[kinds.index("status")].data["status"] == "busy_retrying"
    assert kinds[-1] == "done"


def test_input_too_long_is_not_retried(live_site: str, alice: Any, bedrock_emulator: Any) -> None:
    """Input too long: one request, no retry, and a sentence with the size and the limit."""
    marker = "[[emulator:too-long]] unique-too-long-marker"
    run = send(alice, marker)
    events = stream_all(live_site, alice, run)
    assert events[-1].event == "error"
    assert events[-1].data["code"] == "input_too_long"
    assert "Summarize" in events[-1].data["message"]
    assert events[-1].data["retryable"] is False
    seen = [r for r in bedrock_emulator.received if "unique-too-long-marker" in r.last_user_text]
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("directive", "code"),
    [("stream-error=4", "model_stream_error"), ("stall=4", "stream_stalled")],
)
def test_mid_stream_failures_keep_partial_text(
    live_site: str, alice: Any, directive: str, code: str
) -> None:
    """A model error or a stalled stream ends the run as failed, partial text kept,
    within read timeout + 10 s."""
    started = time.monotonic()
    run = send(alice, f"[[emulator:{directive}]] one two three four five six seven")
    events = stream_all(live_site, alice, run, deadline_s=20)
    assert events[-1].event == "error"
    assert events[-1].data["code"] == code
    assert events[-1].data["retryable"] is True
    assert time.monotonic() - started < 4 + 10
    run = wait_for_status(run, {Run.Status.FAILED})
    assert run.assistant_message is not None and run.assistant_message.content


def test_retry_after_failure_creates_a_new_judged_run(live_site: str, alice: Any) -> None:
    """Retry on a failed answer queues a new run for the same message, judged again."""
    run = send(alice, "[[emulator:stream-error=2]] retry me")
    wait_for_status(run, {Run.Status.FAILED})
    retry = run_services.run_retry(user=alice, run_id=run.pk)
    assert retry.pk != run.pk and retry.user_message_id == run.user_message_id
    retry = wait_for_status(retry, {Run.Status.FAILED, Run.Status.DONE})
    assert actions_for(retry) == ["prompt.submitted", "generation.finished"]


def test_other_users_get_404_on_every_run_route(live_site: str, alice: Any, bob: Any) -> None:
    """Bob cannot read, stop or retry Alice's run: every route answers 404."""
    from django.test import Client

    run = send(alice, "hello")
    _conn, response = open_stream(live_site, f"/runs/{run.pk}/events", session_cookie_for(bob))
    assert response.status == 404
    client = Client()
    client.force_login(bob)
    assert client.get(f"/runs/{run.pk}/").status_code == 404
    assert client.post(f"/runs/{run.pk}/cancel").status_code == 404
    assert client.post(f"/runs/{run.pk}/retry").status_code == 404
    assert client.get("/runs/not-a-uuid/").status_code == 404


def test_conversation_history_is_sent_sanitized(
    live_site: str, alice: Any, bedrock_emulator: Any
) -> None:
    """The second turn sends the first turn's placeholders, never the original values."""
    conversation = Conversation.objects.create(owner=alice, model_id=send(alice, "x").model_id)
    first = run_services.run_create(
        user=alice, conversation=conversation, text="Call John Smith on 415-555-0134."
    )
    wait_for_status(first, {Run.Status.DONE})
    second = run_services.run_create(
        user=alice, conversation=conversation, text="What did John Smith ask? history-check"
    )
    wait_for_status(second, {Run.Status.DONE})
    second.refresh_from_db()
    assert second.user_message is not None
    assert "<PERSON_1>" in second.user_message.sanitized_content
    assert first.user_message is not None
    first.user_message.refresh_from_db()
    assert "<PERSON_1>" in first.user_message.sanitized_content  # same value, same placeholder


def test_preview_shows_replacements_without_sending(
    live_site: str, alice: Any, bedrock_emulator: Any
) -> None:
    """The preview lists what will be replaced and what the model will receive; nothing is sent."""
    before = len(bedrock_emulator.received)
    status, data = post_form(
        live_site,
        "/policy/preview",
        session_cookie_for(alice),
        {"text": "Please email anna.berg@example.com about ticket 12."},
    )
    assert status == 200, data
    assert data["decision"] == "pseudonymize"
    assert data["counts"]["EMAIL_ADDRESS"] == 1
    found = [s for s in data["segments"] if s.get("entity_type") == "EMAIL_ADDRESS"]
    assert found[0]["text"] == "anna.berg@example.com"
    assert found[0]["placeholder"] == "<EMAIL_ADDRESS_1>"
    assert "<EMAIL_ADDRESS_1>" in data["sanitized_text"]
    assert "anna.berg@example.com" not in data["sanitized_text"]
    assert len(bedrock_emulator.received) == before
    assert AuditEvent.objects.filter(action="policy.previewed").exists()


def test_preview_of_another_users_conversation_is_404(live_site: str, alice: Any, bob: Any) -> None:
    """Previewing against someone else's conversation (its mapping) is refused with 404."""
    conversation = services.conversation_create(owner=alice)
    status, _ = post_form(
        live_site,
        "/policy/preview",
        session_cookie_for(bob),
        {"text": "hello", "conversation_id": str(conversation.pk)},
    )
    assert status == 404


def test_outcome_reaches_the_browser_when_the_terminal_event_is_lost(
    live_site: str, alice: Any
) -> None:
    """If the run is final in the database but its terminal relay entry never arrived
    (Redis down too long when it was appended), the SSE stream ends with the database's
    outcome after one idle heartbeat instead of hanging."""
    from prompting.models import Message
    from prompting.runs import relay

    conversation = services.conversation_create(owner=alice)
    answer = Message.objects.create(conversation=conversation, role="assistant", content="Hi!")
    run = Run.objects.create(
        owner=alice,
        conversation=conversation,
        model_id=conversation.model_id,
        status=Run.Status.DONE,
        assistant_message=answer,
    )
    relay.relay_append(run.pk, "delta", {"text": "Hi"}, raw="Hi")  # then nothing more
    started = time.monotonic()
    events = stream_all(live_site, alice, run, deadline_s=20)
    assert [e.event for e in events] == ["delta", "done"]
    assert events[-1].data["text"] == "Hi!"
    assert time.monotonic() - started < 12
