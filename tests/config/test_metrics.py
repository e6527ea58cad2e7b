"""/metrics: protected, multiprocess-safe, and reading queues and checkpoints from the real
stores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from config import metrics
from config.celery import app as celery_app
from tests.support.processes import ROOT

pytestmark = pytest.mark.django_db


def scrape(client: Client, **meta: Any) -> str:
    response = client.get("/metrics", **meta)
    assert response.status_code == 200, response.content[:200]
    return response.content.decode()


def test_metrics_refuses_a_peer_outside_the_allowed_networks(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"assistant_" not in response.content


def test_metrics_answers_loopback_without_a_token(client: Client) -> None:
    assert "assistant_http_request_duration_seconds" in scrape(client, REMOTE_ADDR="127.0.0.1")


def test_a_forwarded_for_header_does_not_pass_the_allowlist(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403


def test_with_a_token_only_the_token_counts(client: Client, settings) -> None:
    settings.METRICS_TOKEN = "s3cret-token-for-tests"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    body = scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-token-for-tests")
    assert "assistant_queue_depth" in body


def test_requests_are_counted_by_route_pattern_not_by_path(client: Client, alice) -> None:
    """A search string is personal data: the label is the pattern, never the query."""
    client.force_login(alice)
    client.get("/chat/?q=olga+petrenko")
    body = scrape(client, REMOTE_ADDR="127.0.0.1")
    assert 'route="/chat/"' in body
    assert "petrenko" not in body


def test_queue_depth_and_age_come_from_redis(isolated_redis: str, client: Client, settings) -> None:
    """A message nobody consumes shows as depth 1, and its age grows."""
    settings.CELERY_TASK_ROUTES = {
        **settings.CELERY_TASK_ROUTES,
        "tests.never_consumed": {"queue": "metrics-probe"},
    }
    with celery_app.connection_for_write(
        url=isolated_redis.replace("unix://", "redis+socket://", 1)
    ) as connection:
        celery_app.send_task("tests.never_consumed", queue="metrics-probe", connection=connection)
    time.sleep(1.1)
    body = scrape(client, REMOTE_ADDR="127.0.0.1")
    assert 'assistant_queue_depth{queue="metrics-probe"} 1.0' in body
    age_line = next(
        line
        for line in body.splitlines()
        if line.startswith('assistant_queue_oldest_age_seconds{queue="metrics-probe"}')
    )
    assert float(age_line.split()[-1]) >= 1.0
    assert 'assistant_queue_depth{queue="cpu"} 0.0' in body
    assert "assistant_redis_up 1.0" in body


def test_checkpoint_age_is_exposed_once_a_checkpoint_exists(client: Client, alice) -> None:
    from audit.checkpoints import checkpoint_create
    from audit.services import audit_record

    def samples() -> list[float]:
        body = scrape(client, REMOTE_ADDR="127.0.0.1")
        return [
            float(line.split()[-1])
            for line in body.splitlines()
            if line.startswith("assistant_audit_checkpoint_age_seconds ")
        ]

    assert samples() == []
    audit_record(actor=alice, action="account.sign_in")
    checkpoint_create()
    [age] = samples()
    assert 0 <= age < 60


COUNT_IN_A_CHILD = """
from prometheus_client import values  # noqa: F401 - multiprocess mode is read at import
from config import metrics
metrics.BEDROCK_CALLS.labels("model-x", "throttled").inc(3)
"""


def test_multiprocess_mode_adds_up_what_other_processes_counted(tmp_path: Path) -> None:
    """prefork children and several uvicorn processes share one directory per machine."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    for _ in range(2):
        child = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()\n" + COUNT_IN_A_CHILD],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert child.returncode == 0, child.stderr
    reader = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from config import metrics; print(metrics.local_registry() is not None);"
            "from prometheus_client import generate_latest;"
            "print(generate_latest(metrics.local_registry()).decode())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reader.returncode == 0, reader.stderr
    assert 'assistant_bedrock_calls_total{model="model-x",outcome="throttled"} 6.0' in reader.stdout


def test_monitored_queues_follow_the_routes(settings) -> None:
    assert {"cpu", "interactive"} <= set(metrics.monitored_queues())
