"""Admission on the send paths: runs at a time, requests per minute, budgets, the
stricter of employee and department, and what a refusal looks like."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from audit.models import AuditEvent
from prompting.models import Conversation, Run
from prompting.runs import lifecycle
from tests.conftest import make_user
from tests.limits.conftest import client_for, override, runs_of, send_json

pytestmark = pytest.mark.django_db


def test_a_fourth_answer_at_once_is_refused_with_a_sentence(alice: Any) -> None:
    """Default: 3 answers at a time. The 4th is a 429 with a sentence and Retry-After,
    recorded as prompt.rejected with the limit, and leaves no run or conversation."""
    client = client_for(alice)
    for _ in range(3):
        assert send_json(client).status_code == 201
    conversations = Conversation.objects.count()

    refused = send_json(client)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "5"
    body = refused.json()
    assert body["code"] == "limit_exceeded"
    assert body["error"] == (
        "You already have 3 answers in progress; your limit is 3 at a time. "
        "Wait for one to finish (or stop one), then send again."
    )
    assert runs_of(alice) == 3
    assert Conversation.objects.count() == conversations
    event = AuditEvent.objects.filter(action="prompt.rejected").get()
    assert event.outcome == "rejected"
    assert event.details["reason"] == "limit_active_runs"
    assert event.details["scope"] == "user"
    assert event.details["tool"] == "chat"
    assert event.details["used"] == 3


def test_an_ended_run_frees_its_slot(alice: Any, django_capture_on_commit_callbacks: Any) -> None:
    """When a run ends (lifecycle, after commit) its slot is free again."""
    client = client_for(alice)
    for _ in range(3):
        assert send_json(client).status_code == 201
    assert send_json(client).status_code == 429
    first = Run.objects.filter(owner=alice).earliest("created_at")
    Run.objects.filter(pk=first.pk).update(status=Run.Status.STREAMING)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.run_finish(run_id=first.pk, status=Run.Status.DONE, sanitized_text="Hi")

    assert send_json(client).status_code == 201


def test_a_blocked_run_frees_its_slot(
    alice: Any, roomy: None, django_capture_on_commit_callbacks: Any
) -> None:
    override(alice, active_runs=1)
    client = client_for(alice)
    first = send_json(client)
    assert first.status_code == 201, first.json()
    assert send_json(client).status_code == 429
    run = Run.objects.get(owner=alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.run_block_after_error(run_id=run.pk, message="No.")
    assert send_json(client).status_code == 201


def test_requests_per_minute(alice: Any, roomy: None) -> None:
    override(alice, requests_per_minute=2)
    client = client_for(alice)
    assert send_json(client).status_code == 201
    assert send_json(client).status_code == 201
    Run.objects.all().delete()  # ended or not, they were requests in this minute
    refused = send_json(client)
    assert refused.status_code == 429
    assert 55 <= int(refused["Retry-After"]) <= 60
    assert "requests in the last minute; your limit is 2 per minute" in refused.json()["error"]


def test_the_department_limit_applies_across_its_people(alice: Any, roomy: None) -> None:
    """Two people of Support share its limit; the refusal names the department."""
    colleague = make_user("carol", department="Support")
    override(department="Support", active_runs=2)
    assert send_json(client_for(alice)).status_code == 201
    assert send_json(client_for(colleague)).status_code == 201

    refused = send_json(client_for(alice))

    assert refused.status_code == 429
    assert refused.json()["error"].startswith(
        "Your department (Support) already has 2 answers in progress; its limit is 2"
    )
    event = AuditEvent.objects.filter(action="prompt.rejected").get()
    assert event.details["scope"] == "department"


def test_the_stricter_limit_wins_and_is_named(alice: Any, bob: Any, roomy: None) -> None:
    """Employee allows 5 a minute, department 1: the department refuses. The other way
    round, the employee's limit refuses."""
    override(alice, requests_per_minute=5)
    override(department="Support", requests_per_minute=1)
    client = client_for(alice)
    assert send_json(client).status_code == 201
    assert "Your department (Support)" in send_json(client).json()["error"]

    override(bob, requests_per_minute=1)
    override(department="Finance", requests_per_minute=5)
    other = client_for(bob)
    assert send_json(other).status_code == 201
    assert send_json(other).json()["error"].startswith("You sent 1 request in the last minute")


def test_when_both_refuse_the_one_that_binds_longest_is_named(alice: Any, roomy: None) -> None:
    """Both the employee's rate and the department's daily budget are exhausted: the
    budget (free tomorrow) binds longer than the rate (free within a minute)."""
    override(alice, requests_per_minute=1)
    override(department="Support", tokens_per_day=10)
    client = client_for(alice)
    assert send_json(client).status_code == 201
    run = Run.objects.get(owner=alice)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.DONE, input_tokens=10, output_tokens=5, finished_at=run.created_at
    )
    from config.redis_client import redis_client

    for key in redis_client().scan_iter("lim:d:*"):
        redis_client().delete(key)  # rebuilt from the database: 15 tokens used

    body = send_json(client).json()
    assert body["error"].startswith(
        "Your department (Support) has used 15 of its daily limit of 10."
    )


def test_used_budget_refuses_until_it_resets(alice: Any, roomy: None) -> None:
    override(alice, usd_per_month=Decimal("1.00"))
    client = client_for(alice)
    assert send_json(client).status_code == 201
    run = Run.objects.get(owner=alice)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STREAMING)
    from django.test.utils import CaptureQueriesContext  # noqa: F401

    from limits import services

    Run.objects.filter(pk=run.pk).update(cost_usd=Decimal("1.25"), input_tokens=1, output_tokens=1)
    services.run_ended(Run.objects.get(pk=run.pk))

    refused = send_json(client)
    assert refused.status_code == 429
    assert "used $1.25 of your monthly limit of $1.00. It resets on 1 " in refused.json()["error"]
    assert int(refused["Retry-After"]) > 0


def test_a_limit_of_zero_pauses_the_employee(alice: Any, roomy: None) -> None:
    override(alice, active_runs=0)
    refused = send_json(client_for(alice))
    assert refused.status_code == 429
    assert refused.json()["error"] == (
        "Your limit of answers at a time is 0, so nothing can be sent. "
        "Ask an administrator if you need it raised."
    )
    assert runs_of(alice) == 0


def test_rewrite_is_admitted_too(alice: Any, roomy: None) -> None:
    override(alice, active_runs=0)
    client = client_for(alice)
    refused = client.post("/rewrite/send", {"text": "Some notes.", "preset": "shorter"})
    assert refused.status_code == 429, refused.content
    assert AuditEvent.objects.get(action="prompt.rejected").details["tool"] == "rewrite"


def test_redis_down_is_a_sentence_not_a_500(alice: Any, monkeypatch: Any) -> None:
    import redis

    from limits import counters

    def down(*args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("down")

    monkeypatch.setattr(counters, "admit", down)
    refused = send_json(client_for(alice))
    assert refused.status_code == 503
    assert refused["Retry-After"] == "5"
    assert refused.json()["code"] == "queue_unavailable"
    assert "Nothing was sent" in refused.json()["error"]
    assert runs_of(alice) == 0
    event = AuditEvent.objects.get(action="prompt.rejected")
    assert event.details["reason"] == "queue_unavailable"


def test_a_retry_is_admitted_like_a_new_message(alice: Any, roomy: None) -> None:
    """Retrying a failed answer is a new request: the limits apply (no loophole of
    endless retries of one failed run)."""
    override(alice, requests_per_minute=1)
    client = client_for(alice)
    assert send_json(client).status_code == 201
    run = Run.objects.get(owner=alice)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)

    refused = client.post(f"/runs/{run.pk}/retry")

    assert refused.status_code == 429
    assert refused.json()["error"].startswith("You sent 1 request in the last minute")
    assert Run.objects.filter(owner=alice).count() == 1
    assert AuditEvent.objects.get(action="prompt.rejected").details["tool"] == "chat"
