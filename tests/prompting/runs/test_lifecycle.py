"""The run's life cycle: one table of transitions, checked in one place, each with its
audit event in the same transaction, and no other code writing `Run.status`."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from audit.models import AuditEvent
from prompting import services
from prompting.models import Run
from prompting.runs import dispatch, lifecycle
from prompting.runs import services as run_services

ROOT = Path(__file__).resolve().parents[3]
APPS = ("prompting", "audit", "accounts", "config", "insights")
LIFECYCLE = ROOT / "prompting" / "runs" / "lifecycle.py"
S = Run.Status


def queued_run(user: Any, **fields: Any) -> Run:
    """A run as run_create leaves it (its policy step is never sent: the test transaction
    does not commit), then moved by hand to the state a test starts from."""
    conversation = services.conversation_create(owner=user)
    run = run_services.run_create(user=user, conversation=conversation, text="Hello there")
    if fields:
        Run.objects.filter(pk=run.pk).update(**fields)
        run.refresh_from_db()
    return run


@pytest.mark.parametrize(
    ("name", "current", "target"),
    [
        ("finished", S.QUEUED, S.DONE),  # never claimed: nothing was generated
        ("finished", S.DONE, S.FAILED),  # a final run stays final
        ("blocked", S.RUNNING, S.BLOCKED),  # too late to block: it is being sent
        ("claimed", S.QUEUED, S.DONE),  # a claim only starts a run
        ("streaming", S.QUEUED, S.STREAMING),
        ("interrupted", S.DONE, S.INTERRUPTED),
        ("ended_waiting", S.RUNNING, S.FAILED),
    ],
)
def test_the_table_refuses_an_illegal_transition(name: str, current: str, target: str) -> None:
    """A move the table does not list is refused, whichever transition asks for it."""
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.check(name, current, target)


def test_the_table_allows_what_the_product_does() -> None:
    """The moves the product makes are in the table (judged, claimed, streamed, finished)."""
    lifecycle.check("judged", S.QUEUED, S.QUEUED)
    lifecycle.check("claimed", S.QUEUED, S.RUNNING)
    lifecycle.check("streaming", S.RUNNING, S.STREAMING)
    for target in (S.DONE, S.FAILED, S.CANCELLED):
        lifecycle.check("finished", S.STREAMING, target)
    for source in (S.QUEUED, S.RUNNING, S.STREAMING):
        lifecycle.check("interrupted", source, S.INTERRUPTED)


@pytest.mark.django_db
def test_finish_asking_for_a_status_the_table_forbids_raises(alice: Any) -> None:
    """run_finish cannot be used to block a run: that is not a way a generation ends."""
    run = queued_run(alice, status=S.STREAMING)
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.run_finish(run_id=run.pk, status=S.BLOCKED, sanitized_text="")
    run.refresh_from_db()
    assert run.status == S.STREAMING


@pytest.mark.django_db
def test_a_final_run_is_not_finished_again(alice: Any) -> None:
    """Worker and reaper race for the outcome: the second finds the run final and does
    nothing, no second event."""
    run = queued_run(alice, status=S.STREAMING)
    assert lifecycle.run_finish(run_id=run.pk, status=S.DONE, sanitized_text="Hi")
    assert not lifecycle.run_interrupt(run_id=run.pk, partial_text="", error_message="x")
    run.refresh_from_db()
    assert run.status == S.DONE
    assert AuditEvent.objects.filter(action="generation.finished").count() == 1


@pytest.mark.django_db
def test_only_a_judged_allowed_queued_run_is_claimed(alice: Any) -> None:
    """Not judged, blocked, or claimed already: the claim moves nothing."""
    run = queued_run(alice)
    assert not lifecycle.run_claim_for_generation(run_id=run.pk)  # not judged yet
    Run.objects.filter(pk=run.pk).update(decision="block")
    assert not lifecycle.run_claim_for_generation(run_id=run.pk)
    Run.objects.filter(pk=run.pk).update(decision="allow")
    assert lifecycle.run_claim_for_generation(run_id=run.pk)
    assert not lifecycle.run_claim_for_generation(run_id=run.pk)  # a duplicate delivery
    assert not lifecycle.run_mark_streaming(run_id=queued_run(alice).pk)
    assert lifecycle.run_mark_streaming(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == S.STREAMING and run.started_at is not None


@pytest.mark.django_db
def test_the_status_and_its_event_commit_together(alice: Any) -> None:
    """If the audit event cannot be written, the status change is rolled back with it."""
    run = queued_run(alice, status=S.STREAMING)
    with (
        mock.patch.object(lifecycle, "audit_record", side_effect=RuntimeError("audit down")),
        pytest.raises(RuntimeError),
    ):
        lifecycle.run_finish(run_id=run.pk, status=S.DONE, sanitized_text="Hi")
    run.refresh_from_db()
    assert run.status == S.STREAMING and run.assistant_message is None
    assert lifecycle.run_finish(run_id=run.pk, status=S.DONE, sanitized_text="Hi")
    event = AuditEvent.objects.get(action="generation.finished")
    assert event.target_id == str(run.pk) and event.outcome == S.DONE


@pytest.mark.django_db
def test_a_part_that_ends_queues_the_summary_step_by_name(
    alice: Any, dispatched: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Generation does not call into Summarize: a part's end queues the summary step."""
    parent = queued_run(alice)
    part = queued_run(alice, status=S.STREAMING)
    Run.objects.filter(pk=part.pk).update(parent=parent, part_index=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.run_finish(run_id=part.pk, status=S.DONE, sanitized_text="Part")
    assert dispatched == [(dispatch.SUMMARY_PART_FINISHED, (str(part.pk),))]


# --- Nothing else writes Run.status ------------------------------------------------------------

WRITE_CALLS = {"update", "create", "bulk_create", "get_or_create", "update_or_create"}


def status_writes(source: str) -> list[int]:
    """Lines of `source` that write a run's status: `<run>.status = …` or an ORM write
    with `status=Run.Status…` (Document.status and reads such as filter() are fine)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and "document" not in ast.unparse(target.value).lower()
                    and "exc" not in ast.unparse(target.value)
                    and "error" not in ast.unparse(target.value)
                ):
                    lines.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITE_CALLS
        ):
            for keyword in node.keywords:
                value = ast.unparse(keyword.value)
                if keyword.arg == "status" and ("Run.Status" in value or "S." in value):
                    lines.append(node.lineno)
    return lines


def test_the_detector_sees_a_status_write() -> None:
    """The scan below can fail: it flags each way of writing the field."""
    source = (
        "run.status = Run.Status.DONE\n"
        "Run.objects.filter(pk=1).update(status=Run.Status.FAILED)\n"
        "Run.objects.create(owner=u, status=Run.Status.DONE)\n"
        "Run.objects.filter(status=Run.Status.DONE)\n"  # a read: not flagged
        "document.status = Document.Status.READY\n"  # another model: not flagged
    )
    assert status_writes(source) == [1, 2, 3]


def test_every_status_change_goes_through_lifecycle() -> None:
    """No module of the apps but prompting/runs/lifecycle.py writes Run.status."""
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if path == LIFECYCLE or "migrations" in path.parts:
                continue
            lines = status_writes(path.read_text(encoding="utf-8"))
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    assert found == {}
    assert status_writes(LIFECYCLE.read_text(encoding="utf-8")), "lifecycle writes it"
