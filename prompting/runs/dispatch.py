"""Queue the next step of a run by task *name*, once the current transaction commits.

Nothing in the app imports `prompting/tasks.py`: a step is sent by the name its task is
registered under, so the tasks module stays thin (it imports the services, never the
other way round) and the import graph has no cycle. Routing to the `interactive` or
`cpu` queue follows the name (config/settings.py CELERY_TASK_ROUTES).

Tests redirect every send with one fixture (`dispatched` in tests/conftest.py, or
`sending_to` below), never by patching private names.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db import transaction

from config import celery_app

# The task names, in one place (prompting/tasks.py registers each under this name).
POLICY_STEP = "prompting.tasks.policy_step"
GENERATE_RUN = "prompting.tasks.generate_run"
# A short message's first step on the interactive queue: judged and answered by one worker
# thread (prompting/runs/inline_judging.py); the name's `generate_` routes it there.
JUDGE_THEN_GENERATE = "prompting.tasks.generate_after_judging"
POLICY_PREVIEW = "prompting.tasks.policy_preview"
DOCUMENT_PREVIEW = "prompting.tasks.document_preview"
EXTRACT_DOCUMENT = "prompting.tasks.extract_document"
SUMMARY_POLICY_STEP = "prompting.tasks.summary_policy_step"
SUMMARY_PART_FINISHED = "prompting.tasks.summary_part_finished"
SUMMARY_REDUCE = "prompting.tasks.summary_reduce"

Sender = Callable[[str, Sequence[Any]], None]


def send_to_celery(name: str, args: Sequence[Any]) -> None:
    celery_app.send_task(name, args=list(args))


_sender: Sender = send_to_celery


def dispatch(name: str, *args: Any, on_failure: Callable[[Exception], None] | None = None) -> None:
    """Send task `name` with `args` after the current transaction commits (at once when
    there is none), so a worker never looks for a row that is not committed yet, and a
    rolled-back change queues nothing. If the broker refuses the send, `on_failure(error)`
    is called (it may raise, e.g. a 503 for the request); without it the error propagates."""
    transaction.on_commit(functools.partial(_send, name, args, on_failure))


def _send(
    name: str, args: Sequence[Any], on_failure: Callable[[Exception], None] | None = None
) -> None:
    if on_failure is None:
        _sender(name, args)
        return
    try:
        _sender(name, args)
    except Exception as exc:  # the broker (Redis) is down: kombu/redis errors vary
        on_failure(exc)


@contextlib.contextmanager
def sending_to(sender: Sender) -> Iterator[None]:
    """Within the block, every dispatched step goes to `sender` instead of Celery."""
    global _sender
    previous, _sender = _sender, sender
    try:
        yield
    finally:
        _sender = previous
