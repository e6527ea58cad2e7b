"""Waiting for the real processes in tests: poll, with a deadline and a clear failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout: float = 20) -> Any:
    """Return the first truthy value of `predicate()`, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def wait_for_status(run: Any, statuses: Collection[str], timeout: float = 30) -> Any:
    """Refresh `run` until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run stayed {run.status}, wanted {statuses}")


def send_message(user: Any, text: str, *, model_id: str = "") -> Any:
    """A new conversation with one message, queued for policy → generation."""
    # Imported here: this module is imported by test modules before Django's apps are ready.
    from prompting import services
    from prompting.runs import services as run_services

    conversation = services.conversation_create(owner=user, model_id=model_id)
    return run_services.run_create(user=user, conversation=conversation, text=text)
