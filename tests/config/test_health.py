"""/healthz reports database, Redis, workers and which model backend is in use."""

from __future__ import annotations

import pytest
from django.test import Client


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
