"""Operations through the production topology (uvicorn, an interactive and a cpu worker,
beat, their own Redis): a full chat journey leaves JSON logs that can be followed by
request and run id and that never contain what the employee sent, and the metrics the
alerts in docs/operations.md rely on move."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from prompting.models import Run
from tests.support.site import post_form, session_cookie_for
from tests.support.stack import PrivateStack

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# What the employee sends: each value must be findable by the policy (so it is replaced)
# and must appear in no log line of any process.
SENT = {
    "PERSON": "Ingrid Vasquez-Thorne",
    "EMAIL_ADDRESS": "ingrid.vt@examplemail.org",
    "US_SSN": "536-22-1234",
}
# Words of the message that are not personal data: content all the same, never logged.
CONTENT_MARKER = "umbrellaquokka"


def _get(url: str, path: str, token: str) -> tuple[int, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    reply = connection.getresponse()
    return reply.status, reply.read().decode()


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Log records as JSON; Celery's start-up banner (printed, not logged) is skipped."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))  # a malformed JSON line fails the test
    return records


def _sample(body: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.split()[-1])
    return total


def test_a_chat_journey_logs_json_with_ids_and_no_content_and_moves_the_metrics(
    live_env: dict[str, str], bedrock_emulator: Any, alice: Any, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **live_env,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": "scrape-token-for-tests",
    }
    stack = PrivateStack(env)
    try:
        text = (
            f"Write to {SENT['PERSON']} ({SENT['EMAIL_ADDRESS']}, SSN {SENT['US_SSN']}) "
            f"about the {CONTENT_MARKER} she left in the car."
        )
        status, reply = post_form(
            stack.url, "/chat/send", session_cookie_for(alice), {"text": text}
        )
        assert status == 201, reply
        run = Run.objects.get(pk=reply["run"]["id"])
        deadline = time.monotonic() + 60
        while run.status not in Run.FINAL_STATUSES and time.monotonic() < deadline:
            time.sleep(0.2)
            run.refresh_from_db()
        assert run.status == Run.Status.DONE, stack.logs()
        assert run.findings_summary.keys() >= {"PERSON", "EMAIL_ADDRESS", "US_SSN"}

        # The worker counts a run after it has committed and relayed the outcome: scrape
        # until its increment has landed (bounded).
        deadline = time.monotonic() + 15
        while True:
            status, body = _get(stack.url, "/metrics", "scrape-token-for-tests")
            assert status == 200
            done = _sample(body, "assistant_runs_finished_total", tool="chat", status="done")
            if done >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert _sample(body, "assistant_runs_finished_total", tool="chat", status="done") >= 1
        assert _sample(body, "assistant_bedrock_calls_total", outcome="ok") >= 1
        assert _sample(body, "assistant_time_to_first_token_seconds_count") >= 1
        assert _sample(body, "assistant_policy_analysis_seconds_count", kind="message") >= 1
        assert (
            _sample(body, "assistant_http_request_duration_seconds_count", route="/chat/send") >= 1
        )
        assert _get(stack.url, "/metrics", "wrong-token")[0] in (401, 403)
        time.sleep(1)  # let the workers flush their last lines
        logs = {p.name: p.tail(5_000_000) for p in stack._processes}
    finally:
        stack.close()

    everything = "\n".join(logs.values())
    for value in [*SENT.values(), CONTENT_MARKER]:
        assert value not in everything, f"{value!r} is in a log"
    records = [r for text in logs.values() for r in _json_lines(text)]
    assert records, "no JSON log line at all"
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    run_lines = [r for r in records if r.get("run_id") == str(run.pk)]
    assert run_lines, "no log line carries the run id"
    tasks_seen = {r.get("task") for r in run_lines} - {None}
    # The worker lines name their task: a short message is judged and answered by one
    # (generate_after_judging), or by the policy step and then generate_run.
    judged_and_answered = [
        {"prompting.tasks.generate_after_judging"},
        {"prompting.tasks.policy_step", "prompting.tasks.generate_run"},
    ]
    assert any(tasks <= tasks_seen for tasks in judged_and_answered), tasks_seen
    send_lines = [r for r in records if "chat/send" in json.dumps(r)]
    assert send_lines and all(r.get("request_id") for r in send_lines)
    # The request id of the POST follows the run into the workers.
    request_ids = {r["request_id"] for r in send_lines}
    assert any(r.get("request_id") in request_ids for r in run_lines)
