"""Steps are queued by task name, after the commit, and routed by that name."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from config import celery_app
from prompting import tasks
from prompting.runs import dispatch


@pytest.mark.django_db(transaction=True)
def test_a_step_is_sent_only_when_its_transaction_commits(dispatched: Any) -> None:
    """Sent after the commit, never for a rolled-back change; at once with no transaction."""
    with transaction.atomic():
        dispatch.dispatch(dispatch.POLICY_STEP, "run-1")
        assert dispatched == []  # a worker must not look for a row that is not committed
    assert dispatched == [(dispatch.POLICY_STEP, ("run-1",))]
    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch.dispatch(dispatch.POLICY_STEP, "run-2")
        raise RuntimeError("rolled back")
    dispatch.dispatch(dispatch.GENERATE_RUN, "run-3")
    assert dispatched.names() == [dispatch.POLICY_STEP, dispatch.GENERATE_RUN]


def test_every_dispatched_name_is_a_registered_task() -> None:
    """Each name dispatch.py sends is the name a task in prompting/tasks.py registers."""
    names = {
        value
        for key, value in vars(dispatch).items()
        if key.isupper() and isinstance(value, str) and value.startswith("prompting.tasks.")
    }
    registered = {task.name for task in vars(tasks).values() if getattr(task, "name", "") in names}
    assert len(names) == 9
    assert registered == names
    assert names <= set(celery_app.tasks)


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        (dispatch.GENERATE_RUN, "interactive"),  # thread pool: many concurrent streams
        (dispatch.JUDGE_THEN_GENERATE, "interactive"),  # a short message, judged inline
        (dispatch.POLICY_STEP, "cpu"),
        (dispatch.SUMMARY_POLICY_STEP, "cpu"),
        (dispatch.EXTRACT_DOCUMENT, "cpu"),
    ],
)
def test_a_name_is_routed_to_its_queue(name: str, queue: str) -> None:
    """send_task routes by name (CELERY_TASK_ROUTES), as .delay() did."""
    route = celery_app.amqp.router.route({}, name, (), {})
    assert route["queue"].name == queue


def test_the_fixture_restores_celery_afterwards() -> None:
    """Outside `sending_to` (and the `dispatched` fixture), steps go to Celery."""
    recorded: list[str] = []
    with dispatch.sending_to(lambda name, args: recorded.append(name)):
        dispatch._send(dispatch.POLICY_STEP, ())
    assert recorded == [dispatch.POLICY_STEP]
    assert dispatch._sender is dispatch.send_to_celery
