"""/healthz reports database, Redis, workers and which model backend is in use."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.test import Client

from tests.support.waiting import wait_for


@pytest.mark.django_db
def test_healthz_ok_without_sign_in(client: Client) -> None:
    """Health answers 200 with the four keys and needs no sign-in."""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert isinstance(body["workers"], int)
    assert body["llm"] in {"bedrock", "emulator"}


@pytest.mark.django_db
def test_healthz_503_when_redis_is_down(client: Client, settings, monkeypatch) -> None:
    """When Redis does not answer, health is 503 and says which part failed."""
    import redis

    from config import health

    class DownRedis:
        def ping(self) -> bool:
            raise redis.ConnectionError("down")

    monkeypatch.setattr(health, "redis_client", lambda: DownRedis())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "error"
    assert response.json()["workers"] == 0


@pytest.mark.django_db
def test_healthz_reports_emulator(client: Client, settings) -> None:
    settings.BEDROCK_EMULATOR = True
    assert client.get("/healthz").json()["llm"] == "emulator"
    settings.BEDROCK_EMULATOR = False
    assert client.get("/healthz").json()["llm"] == "bedrock"


@pytest.mark.django_db
def test_healthz_contains_no_secrets(client: Client, settings) -> None:
    body = client.get("/healthz").content.decode()
    for secret in (settings.SECRET_KEY, settings.PSEUDONYM_KEY, settings.AUDIT_SIGNING_KEY):
        assert secret not in body
    assert "unix://" not in body and "redis://" not in body


# --- /healthz/live and /healthz/ready ------------------------------------------------------


@pytest.fixture
def no_workers_present(isolated_redis: str) -> None:
    """A Redis of this test's own: the session's live worker announces itself in the shared
    one every few seconds."""


def test_live_answers_without_database_or_sign_in(client: Client) -> None:
    """Liveness says only that the process answers: no database query, no sign-in."""
    response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"live": True}


@pytest.mark.django_db
def test_ready_is_503_and_names_what_is_missing_without_workers(
    client: Client, no_workers_present: None
) -> None:
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
    assert body["checks"]["workers:cpu"] == "failing"
    assert body["checks"]["workers:interactive"] == "failing"
    assert body["checks"]["policy_engine_warm"] == "failing"


@pytest.mark.django_db
def test_ready_needs_a_warm_policy_engine_on_a_cpu_worker(
    client: Client, no_workers_present: None
) -> None:
    """Workers announce themselves in Redis; readiness waits for the cpu worker's warm-up."""
    from config import presence

    presence.worker_announce(hostname="gen@a", queues={"interactive"})
    presence.worker_announce(hostname="cpu@b", queues={"cpu"})
    presence.worker_announce(hostname="watch@c", queues={"watchdog"})
    cold = client.get("/healthz/ready")
    assert cold.status_code == 503
    assert cold.json()["checks"]["policy_engine_warm"] == "failing"

    presence.worker_mark_warm(hostname="cpu@b")
    warm = client.get("/healthz/ready")
    assert warm.status_code == 200, warm.json()
    assert warm.json()["workers"] == {"cpu": 1, "interactive": 1, "watchdog": 1}


@pytest.mark.django_db
def test_a_worker_whose_presence_expired_does_not_count(
    client: Client, no_workers_present: None
) -> None:
    from config import presence
    from config.redis_client import redis_client

    presence.worker_announce(hostname="cpu@gone", queues={"cpu", "interactive"})
    presence.worker_mark_warm(hostname="cpu@gone")
    redis_client().delete(presence.WORKER_KEY.format(hostname="cpu@gone"))  # as expiry does
    assert client.get("/healthz/ready").status_code == 503


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ready_through_uvicorn_with_a_real_worker(live_site: str) -> None:
    """The session's real worker announces its queues and its warm policy engine."""

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{live_site}/healthz/ready", timeout=5) as reply:
                return bool(json.loads(reply.read())["ready"])
        except urllib.error.HTTPError:
            return False

    wait_for(ready, timeout=60)
