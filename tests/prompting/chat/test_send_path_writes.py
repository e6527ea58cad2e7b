"""What a send writes, and what the policy step and the stream read, on every message's
path (docs/capacity.md, "Latency under load"): nothing twice."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config.middleware import signed_in_user
from prompting.models import Conversation, Run
from prompting.runs import lifecycle
from prompting.selectors import policy_version_in_force

pytestmark = pytest.mark.django_db


def _send(client: Client, data: dict[str, Any]) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/chat/send", json.dumps(data), content_type="application/json")
    assert response.status_code == 201, response.content
    return response, [q["sql"] for q in queries.captured_queries]


def test_a_first_message_writes_its_new_conversation_once(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    policy_version_in_force()  # the first one is created on first use, in a savepoint

    first, sql = _send(client, {"text": "Draft a reply about a late pickup"})

    assert not [s for s in sql if s.startswith('UPDATE "prompting_conversation"')]
    # One transaction for the send (a savepoint here: the test runs inside one), none more.
    assert len([s for s in sql if s.startswith("SAVEPOINT")]) == 1
    conversation_id = Run.objects.get(pk=first.json()["run"]["id"]).conversation_id
    before = Conversation.objects.get(pk=conversation_id).updated_at

    _second, sql = _send(client, {"text": "Shorter please", "conversation_id": conversation_id})

    # A later message moves the conversation up the list.
    assert [s for s in sql if s.startswith('UPDATE "prompting_conversation"')]
    assert Conversation.objects.get(pk=conversation_id).updated_at > before


def test_the_policy_steps_lock_only_holds_a_run_still_queued(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    response, _sql = _send(client, {"text": "hello"})
    run_id = response.json()["run"]["id"]

    assert lifecycle.run_lock_queued(run_id=run_id) is True
    Run.objects.filter(pk=run_id).update(status=Run.Status.FAILED)  # the watchdog's end
    assert lifecycle.run_lock_queued(run_id=run_id) is False


def test_an_async_view_gets_the_user_the_stack_loaded_without_a_query(alice: Any) -> None:
    async def never() -> Any:
        raise AssertionError("auser() read the user again")

    loaded = SimpleNamespace(_cached_user=alice, auser=never)
    assert asyncio.run(signed_in_user(loaded)) is alice  # type: ignore[arg-type]

    async def lookup() -> Any:
        return alice

    not_loaded = SimpleNamespace(auser=lookup)
    assert asyncio.run(signed_in_user(not_loaded)) is alice  # type: ignore[arg-type]
