"""One source of truth for Retry (issue 12): whether a failed run can be retried is decided
once (lifecycle.run_retryable) from its final state, and the stream's final event, the
status endpoint, the page and the retry endpoint agree. Through the real lifecycle, the
real relay (Redis) and Django's test client."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from config.redis_client import redis_client
from prompting import services
from prompting.models import Run
from prompting.runs import lifecycle, relay
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def judged_run(user: Any, dispatched: Any, text: str = "hello") -> Run:
    conversation = services.conversation_create(owner=user)
    run = run_services.run_create(user=user, conversation=conversation, text=text)
    # Test setup standing in for the policy step: allowed as is.
    Run.objects.filter(pk=run.pk).update(decision="allow")
    run.user_message.sanitized_content = text  # type: ignore[union-attr]
    run.user_message.save()  # type: ignore[union-attr]
    assert lifecycle.run_claim_for_generation(run_id=run.pk)
    return run


def final_event(run: Run) -> dict[str, Any]:
    entries: Any = redis_client().xrange(relay.stream_key(run.pk))
    kind, data = entries[-1][1]["type"], json.loads(entries[-1][1]["data"])
    assert kind in ("done", "error")
    return dict(data)


def page_offers_retry(client: Client, run: Run) -> bool:
    html = client.get(f"/chat/{run.conversation_id}/").content.decode()
    html = re.sub(r"<template.*?</template>", "", html, flags=re.S)  # the JS clone's copy
    buttons = re.findall(r'<button type="button" class="retry-button secondary"( hidden)?>', html)
    assert len(buttons) == 1, buttons
    return buttons[0] == ""


CASES = [
    # (how it ended, error code, Retry offered?)
    ("failed", "input_too_long", False),  # mismatch 3: "input too long" after a reload
    ("failed", "bedrock_error", False),  # mismatch 1: a validation error
    ("failed", "model_not_allowed", False),
    ("failed", "stream_stalled", True),
    ("failed", "throttled", True),
    ("failed", "internal_error", True),
    ("interrupted", "interrupted", True),
    ("cancelled", "", True),
]


@pytest.mark.parametrize(("status", "code", "offered"), CASES)
def test_stream_status_page_and_server_agree(
    alice: Any, dispatched: Any, status: str, code: str, offered: bool
) -> None:
    run = judged_run(alice, dispatched)
    if status == "interrupted":
        lifecycle.run_interrupt(run_id=run.pk, partial_text="", error_message="stopped")
    else:
        lifecycle.run_finish(
            run_id=run.pk, status=status, sanitized_text="", error_code=code, error_message="x"
        )
    client = client_for(alice)
    assert final_event(run)["retryable"] is offered
    assert client.get(f"/runs/{run.pk}/").json()["retryable"] is offered
    assert page_offers_retry(client, run) is offered
    reply = client.post(f"/runs/{run.pk}/retry")
    assert reply.status_code == (201 if offered else 409), reply.content


def test_a_run_blocked_by_a_checker_crash_is_retried_when_offered(
    alice: Any, dispatched: Any
) -> None:
    """Mismatch 2: a run blocked because the checker crashed showed Retry, and the server
    refused it with 409. The block was not a decision, so Retry is offered and accepted."""
    from prompting.runs import judging

    conversation = services.conversation_create(owner=alice)
    run = run_services.run_create(user=alice, conversation=conversation, text="hello")
    judging.run_block_after_error(run_id=run.pk)
    client = client_for(alice)
    assert final_event(run)["retryable"] is True
    assert client.get(f"/runs/{run.pk}/").json()["retryable"] is True
    assert page_offers_retry(client, run) is True
    assert client.post(f"/runs/{run.pk}/retry").status_code == 201


def test_a_policy_block_is_not_retryable_anywhere(alice: Any, dispatched: Any) -> None:
    conversation = services.conversation_create(owner=alice)
    run = run_services.run_create(user=alice, conversation=conversation, text="hello")
    from django.db import transaction

    with transaction.atomic():
        run = Run.objects.select_related("owner").get(pk=run.pk)
        lifecycle.run_block(
            run=run, policy_version=None, findings={}, error_code="blocked", message="no",
            details={},
        )  # fmt: skip
    client = client_for(alice)
    assert client.get(f"/runs/{run.pk}/").json()["retryable"] is False
    assert page_offers_retry(client, run) is False
    assert client.post(f"/runs/{run.pk}/retry").status_code == 409


def test_final_sentence_is_truthful_when_nothing_arrived(alice: Any, dispatched: Any) -> None:
    """A stop before any text: the sentence does not claim that something was kept."""
    run = judged_run(alice, dispatched)
    lifecycle.run_finish(run_id=run.pk, status=Run.Status.CANCELLED, sanitized_text="")
    assert "kept" not in final_event(run)["message"]
