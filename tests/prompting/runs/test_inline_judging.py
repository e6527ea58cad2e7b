"""Short messages are judged by the interactive worker that answers them, when it can
(prompting/runs/inline_judging.py); everything else takes the cpu queue's policy step.
The same path through real workers: tests/reliability/test_faults_live.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from audit.models import AuditEvent
from prompting import services
from prompting.models import Run
from prompting.runs import dispatch, inline_judging, judging
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine_ready() -> Iterator[None]:
    """This process as an interactive worker whose warm-up has finished."""
    inline_judging.mark_engine_ready()
    yield
    inline_judging._engine_ready.clear()


def send(user: Any, text: str, capture: Any) -> Run:
    conversation = services.conversation_create(owner=user)
    with capture(execute=True):
        return run_services.run_create(user=user, conversation=conversation, text=text)


def test_a_short_message_starts_on_the_interactive_queue_a_long_one_on_the_cpu_queue(
    alice: Any, dispatched: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.POLICY_INLINE_MAX_CHARS = 600
    send(alice, "x" * 600, django_capture_on_commit_callbacks)
    send(alice, "x" * 601, django_capture_on_commit_callbacks)
    assert dispatched.names() == [dispatch.JUDGE_THEN_GENERATE, dispatch.POLICY_STEP]
    routes = settings.CELERY_TASK_ROUTES
    assert routes["prompting.tasks.generate_*"]["queue"] == "interactive"


def test_zero_sends_every_message_through_the_cpu_queue(
    alice: Any, dispatched: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.POLICY_INLINE_MAX_CHARS = 0
    send(alice, "hi", django_capture_on_commit_callbacks)
    assert dispatched.names() == [dispatch.POLICY_STEP]


def test_a_retry_takes_the_same_way_as_its_message(
    alice: Any, dispatched: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.POLICY_INLINE_MAX_CHARS = 600
    run = send(alice, "short", django_capture_on_commit_callbacks)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        run_services.run_retry(user=alice, run_id=run.pk)
    assert dispatched.names() == [dispatch.JUDGE_THEN_GENERATE] * 2


def test_judged_here_when_ready_and_free(
    alice: Any, dispatched: Any, engine_ready: None, django_capture_on_commit_callbacks: Any
) -> None:
    run = send(alice, "Please ask Maria Gonzalez about trip 77", django_capture_on_commit_callbacks)
    assert inline_judging.run_judge_here(run_id=run.pk) is True
    run.refresh_from_db()
    assert run.decision == "pseudonymize" and run.judged_at is not None
    assert run.user_message is not None and "Maria" not in run.user_message.sanitized_content
    # Judged once, here: nothing else was queued after the first step.
    assert dispatched.names() == [dispatch.JUDGE_THEN_GENERATE]
    assert AuditEvent.objects.filter(action="prompt.submitted", target_id=str(run.pk)).count() == 1


def test_a_blocked_message_is_not_sent(
    alice: Any,
    dispatched: Any,
    engine_ready: None,
    isolated_redis: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    text = "Deploy with aws_access_key_id=AKIAIOSFODNN7EXAMPLE please."
    run = send(alice, text, django_capture_on_commit_callbacks)
    assert inline_judging.run_judge_here(run_id=run.pk) is False
    run.refresh_from_db()
    assert run.status == Run.Status.BLOCKED and run.decision == "block"
    assert dispatched.names() == [dispatch.JUDGE_THEN_GENERATE]


def test_forwarded_to_the_cpu_queue_before_the_engine_is_loaded(
    alice: Any, dispatched: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = send(alice, "hello", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert inline_judging.run_judge_here(run_id=run.pk) is False
    assert dispatched.names() == [dispatch.JUDGE_THEN_GENERATE, dispatch.POLICY_STEP]
    assert dispatched[-1][1] == (str(run.pk),)
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and run.decision == ""  # the cpu queue judges it


def test_forwarded_while_this_process_is_judging_another_message(
    alice: Any, dispatched: Any, engine_ready: None, django_capture_on_commit_callbacks: Any
) -> None:
    run = send(alice, "hello", django_capture_on_commit_callbacks)
    assert inline_judging._judging_slot.acquire(blocking=False)  # another message's turn
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert inline_judging.run_judge_here(run_id=run.pk) is False
    finally:
        inline_judging._judging_slot.release()
    assert dispatched.names()[-1] == dispatch.POLICY_STEP
    run.refresh_from_db()
    assert run.decision == ""
    # The slot is free again: the next message is judged here.
    other = send(alice, "hello again", django_capture_on_commit_callbacks)
    assert inline_judging.run_judge_here(run_id=other.pk) is True


def test_an_error_while_judging_blocks_the_run_fail_closed(
    alice: Any,
    dispatched: Any,
    engine_ready: None,
    monkeypatch: pytest.MonkeyPatch,
    isolated_redis: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    run = send(alice, "hello", django_capture_on_commit_callbacks)

    def broken(*, run_id: Any) -> bool:
        raise RuntimeError("the analyzer fell over")

    monkeypatch.setattr(judging, "run_judge", broken)
    assert inline_judging.run_judge_here(run_id=run.pk) is False
    run.refresh_from_db()
    assert run.status == Run.Status.BLOCKED
    assert run.error_message == judging.POLICY_ERROR_MESSAGE
    # The slot was given back despite the error.
    assert inline_judging._judging_slot.acquire(blocking=False)
    inline_judging._judging_slot.release()


def test_a_run_already_judged_is_not_judged_again(
    alice: Any, dispatched: Any, engine_ready: None, django_capture_on_commit_callbacks: Any
) -> None:
    """A forwarded message judged by the cpu queue, or a duplicate delivery: run state
    decides, so it is judged (and audited) once."""
    run = send(alice, "hello", django_capture_on_commit_callbacks)
    assert judging.run_judge(run_id=run.pk) is True
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STREAMING)
    assert inline_judging.run_judge_here(run_id=run.pk) is False
    assert AuditEvent.objects.filter(action="prompt.submitted", target_id=str(run.pk)).count() == 1
