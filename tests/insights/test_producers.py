"""The events insights needs from the tools: Rewrite's preset in the prompt and
generation events, template.used when a message is sent with a template, and
feedback.given when an answer is rated (tool and rating, never the comment)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from accounts.sso import roles_for_groups
from audit import actions
from audit.models import AuditEvent
from prompting import services
from prompting.chat.services import chat_message_send
from prompting.models import Conversation, Message, PromptTemplate, Run
from prompting.rewrite.services import rewrite_create
from prompting.runs.judging import decision_details
from prompting.runs.services import run_retry

pytestmark = pytest.mark.django_db


def test_rewrite_runs_carry_their_preset_into_the_audit_details(alice: Any) -> None:
    run = rewrite_create(user=alice, text="pls fix this", preset="formal")
    assert Run.objects.get(pk=run.pk).preset == "formal"
    judgement = SimpleNamespace(decision="allow", counts_by_type={}, actions_by_type={})
    details = decision_details(run=run, policy_version=1, judgement=judgement, input_chars=12)
    assert details["preset"] == "formal" and details["tool"] == "rewrite"
    chat = chat_message_send(user=alice, text="hello")
    assert "preset" not in decision_details(
        run=chat, policy_version=1, judgement=judgement, input_chars=5
    )


def test_a_retry_keeps_the_preset(alice: Any) -> None:
    run = rewrite_create(user=alice, text="pls fix this", preset="plain")
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)
    assert run_retry(user=alice, run_id=run.pk).preset == "plain"


def test_generation_finished_carries_the_preset(alice: Any) -> None:
    from prompting.runs.lifecycle import run_finish

    run = rewrite_create(user=alice, text="pls fix this", preset="shorter")
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STREAMING)
    assert run_finish(run_id=run.pk, status=Run.Status.FAILED, sanitized_text="", error_code="x")
    event = AuditEvent.objects.filter(action=actions.GENERATION_FINISHED).latest("id")
    assert event.details["preset"] == "shorter"


def test_sending_with_a_template_records_template_used(
    alice: Any, bob: Any, admin_user: Any
) -> None:
    mine = PromptTemplate.objects.create(owner=alice, title="Mine", body="x", tool="chat")
    shared = PromptTemplate.objects.create(
        owner=admin_user, title="Apology", body="x", tool="chat", shared=True
    )
    bobs = PromptTemplate.objects.create(owner=bob, title="Bob's", body="x", tool="chat")
    rewrite = PromptTemplate.objects.create(owner=alice, title="R", body="x", tool="rewrite")
    chat_message_send(user=alice, text="one", template_id=mine.pk)
    chat_message_send(user=alice, text="two", template_id=shared.pk)
    chat_message_send(user=alice, text="three", template_id=bobs.pk)  # not hers
    chat_message_send(user=alice, text="four", template_id=rewrite.pk)  # other tool
    chat_message_send(user=alice, text="five")
    rewrite_create(user=alice, text="six", preset="custom", instruction="Shorter",
                            template_id=rewrite.pk)  # fmt: skip
    used = AuditEvent.objects.filter(action=actions.TEMPLATE_USED).order_by("id")
    assert [(e.details["template_id"], e.details["shared"], e.details["tool"]) for e in used] == [
        (mine.pk, False, "chat"),
        (shared.pk, True, "chat"),
        (rewrite.pk, False, "rewrite"),
    ]
    assert all("title" not in e.details and e.content == "" for e in used)


def test_the_send_forms_accept_a_template_id(client: Any, alice: Any) -> None:
    mine = PromptTemplate.objects.create(owner=alice, title="Mine", body="x", tool="chat")
    client.force_login(alice)
    response = client.post(
        "/chat/send", {"text": "hello", "template_id": mine.pk}, content_type="application/json"
    )
    assert response.status_code in (200, 201, 202), response.content
    assert AuditEvent.objects.filter(action=actions.TEMPLATE_USED).count() == 1
    bad = client.post(
        "/chat/send", {"text": "hello", "template_id": "x"}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_rating_an_answer_records_feedback_given_without_the_comment(alice: Any) -> None:
    conversation = Conversation.objects.create(owner=alice, tool="rewrite", model_id="m")
    answer = Message.objects.create(conversation=conversation, role="assistant", content="hi")
    services.feedback_set(user=alice, message_id=answer.pk, rating=-1, comment="Secret words")
    services.feedback_set(user=alice, message_id=answer.pk, rating=-1, comment="edited")
    services.feedback_set(user=alice, message_id=answer.pk, rating=1)
    events = AuditEvent.objects.filter(action=actions.FEEDBACK_GIVEN).order_by("id")
    assert [e.details for e in events] == [
        {"tool": "rewrite", "rating": "down", "previous_rating": None},
        {"tool": "rewrite", "rating": "up", "previous_rating": "down"},
    ]  # a changed comment alone is not a new rating


def test_insights_groups_grant_the_insights_viewer_role() -> None:
    from accounts.roles import EMPLOYEE, INSIGHTS_VIEWER

    roles = roles_for_groups(
        ["Strategy-Analysts"],
        compliance_groups=[],
        admin_groups=[],
        insights_groups=["strategy-analysts"],
    )
    assert roles == {EMPLOYEE, INSIGHTS_VIEWER}
    assert roles_for_groups(["x"], compliance_groups=[], admin_groups=[]) == {EMPLOYEE}
