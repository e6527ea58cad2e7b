"""Sending when a part is down (issue 12): a 503 with a sentence and a recorded event,
nothing half-created, never a 500. Through Django's test client and a real redis-server
that is stopped (not a mock)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from kombu.exceptions import OperationalError as BrokerError

from audit.models import AuditEvent
from config import embedded_redis
from config.errors import server_error
from config.redis_client import redis_client
from prompting.models import Conversation, Message, Run
from prompting.runs import dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def stopped_redis() -> Iterator[str]:
    """REDIS_URL pointing at a redis-server that was started and then killed."""
    directory = Path(tempfile.mkdtemp(prefix="rd-", dir="/tmp"))
    socket_path = directory / "r.sock"
    process = embedded_redis.start(socket_path)
    process.kill()
    process.wait(timeout=10)
    previous = settings.REDIS_URL
    settings.REDIS_URL = f"unix://{socket_path}"
    redis_client.cache_clear()
    try:
        yield settings.REDIS_URL
    finally:
        settings.REDIS_URL = previous
        redis_client.cache_clear()
        shutil.rmtree(directory, ignore_errors=True)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, text: str, url: str = "/chat/send") -> Any:
    return client.post(url, json.dumps({"text": text}), content_type="application/json")


def test_redis_down_at_send_is_a_503_sentence_and_creates_nothing(
    alice: Any, stopped_redis: str
) -> None:
    """Redis (broker and relay) is down: 503 with a sentence, no conversation, message or
    run is created, and the refusal is recorded as an audit event."""
    response = send(client_for(alice), "Please draft a reply to the rider")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "queue_unavailable"
    assert "Nothing was sent" in body["error"]
    assert not Conversation.objects.filter(owner=alice).exists()
    assert not Message.objects.exists() and not Run.objects.exists()
    event = AuditEvent.objects.filter(action="prompt.rejected").latest("id")
    assert event.details["reason"] == "queue_unavailable"


def test_rewrite_refuses_the_same_way(alice: Any, stopped_redis: str) -> None:
    response = client_for(alice).post(
        "/rewrite/send",
        json.dumps({"text": "fix this note", "preset": "shorter"}),
        content_type="application/json",
    )
    assert response.status_code == 503, response.content
    assert not Run.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_broker_failing_after_the_commit_ends_the_run_at_once(alice: Any) -> None:
    """Redis answers the check but the broker refuses the send (it went down in between):
    the committed run ends failed at once with its event (never a stuck `queued`), and
    the request is a 503 with a sentence."""

    def refuse(name: str, args: Any) -> None:
        raise BrokerError("Error 111 connecting to redis. Connection refused.")

    # A real commit (transactional test): the send happens as the view's transaction ends.
    with dispatch.sending_to(refuse):
        response = send(client_for(alice), "Please draft a reply to the rider")
    assert response.status_code == 503
    assert response.json()["code"] == "queue_unavailable"
    run = Run.objects.get()
    assert run.status == Run.Status.FAILED
    assert run.error_code == "queue_unavailable"
    finished = AuditEvent.objects.filter(action="generation.finished").latest("id")
    assert finished.outcome == "failed"
    assert finished.details["error_code"] == "queue_unavailable"


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_database_down_is_a_503_sentence_not_a_500(rf: Any, accept: str) -> None:
    """The 500 handler turns "PostgreSQL unreachable" (Django calls it inside its except
    block) into a 503 with a sentence; other errors stay 500."""
    request = rf.post("/chat/send", HTTP_ACCEPT=accept)
    try:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert b"briefly unavailable" in response.content
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(request).status_code == 500


def test_database_down_through_the_handler_stack(alice: Any) -> None:
    """A real request whose view finds the database unreachable: Django's own handler
    path (logging, handler500) answers 503, never the 500 page."""
    from django.db import connection

    client = client_for(alice)
    client.raise_request_exception = False

    def broken(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(broken):
        response = send(client, "hello", url="/chat/send")
    assert response.status_code == 503
