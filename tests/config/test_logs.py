"""JSON logs that can be followed: request and run ids on every line, never user input."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
from django.test import Client

from config.logs import (
    ContextFilter,
    JsonFormatter,
    new_request_id,
    request_id_var,
    run_id_var,
    task_context_enter,
    task_context_exit,
)


def formatted(record: logging.LogRecord) -> dict[str, Any]:
    ContextFilter().filter(record)
    return dict(json.loads(JsonFormatter().format(record)))


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": message, "args": args})
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_json_line_carries_the_ids_of_its_context() -> None:
    request_token = request_id_var.set("req-12345678")
    run_token = run_id_var.set("3f2a")
    try:
        line = formatted(record("run %s finished", "3f2a", status="done"))
    finally:
        run_id_var.reset(run_token)
        request_id_var.reset(request_token)
    assert line["message"] == "run 3f2a finished"
    assert line["request_id"] == "req-12345678"
    assert line["run_id"] == "3f2a"
    assert line["status"] == "done"  # `extra=` fields become fields
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")


def test_a_line_outside_any_request_has_no_empty_ids() -> None:
    line = formatted(record("beat: tick"))
    assert "request_id" not in line and "run_id" not in line


def test_an_exception_is_one_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = record("failed")
        made.exc_info = sys.exc_info()
    text = JsonFormatter().format(made)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abcdef12-3456", True), ("short", False), ("bad id with spaces", False), (None, False)],
)
def test_an_incoming_request_id_is_kept_only_when_it_looks_like_one(
    incoming: str | None, kept: bool
) -> None:
    chosen = new_request_id(incoming)
    assert (chosen == incoming) is kept
    assert 8 <= len(chosen) <= 64


@pytest.mark.django_db
def test_every_response_names_its_request_id_and_the_access_line_names_the_route(
    client: Client, alice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The access log says which page, never what was searched for."""
    client.force_login(alice)
    with caplog.at_level(logging.INFO, logger="config.access"):
        response = client.get("/chat/?q=olga+petrenko", HTTP_X_REQUEST_ID="trace-0001-abcd")
    assert response["X-Request-ID"] == "trace-0001-abcd"
    [access] = [r for r in caplog.records if r.name == "config.access"]
    assert access.route == "/chat/"  # type: ignore[attr-defined]
    assert access.status == 200  # type: ignore[attr-defined]
    assert "petrenko" not in JsonFormatter().format(access)


class FakeRequest:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.request_id = None


class FakeTask:
    name = "prompting.tasks.generate_run"

    def __init__(self, headers: dict[str, str]) -> None:
        self.request = FakeRequest(headers)

    def run(self, run_id: str, *, attempt: int = 1) -> None:
        """Same signature shape as the product's tasks: ids by name."""


def test_a_task_takes_the_run_id_from_its_arguments_and_the_request_id_from_its_message() -> None:
    task = FakeTask({"request_id": "req-from-web-1"})
    tokens = task_context_enter(task=task, task_id="t-1", args=("run-42",), kwargs={})
    try:
        line = formatted(record("streaming"))
    finally:
        task_context_exit(tokens)
    assert line["run_id"] == "run-42"
    assert line["request_id"] == "req-from-web-1"
    assert line["task"] == "prompting.tasks.generate_run" and line["task_id"] == "t-1"
    assert "run_id" not in formatted(record("after the task"))
