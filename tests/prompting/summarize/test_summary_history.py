"""Summaries are kept (issue 16): a history beside Summarize, each summary at its own
URL (done: rendered; still running: the page follows it), deletable with its
conversation (audited), another user's summary a 404 like a missing one."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from prompting.models import Conversation, Document, Message, Run, Tool
from prompting.runs.lifecycle import run_finish
from prompting.selectors import model_default
from prompting.summarize import documents, pipeline

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start(user: Any, text: str) -> Run:
    document = documents.document_create_from_text(user=user, text=text)
    return pipeline.summary_start(
        user=user,
        document_id=document.pk,
        model_id=model_default().id,
        length="short",
        style="bullets",
    )


def finish(run: Run, text: str) -> None:
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STREAMING)
    assert run_finish(run_id=run.pk, status=Run.Status.DONE, sanitized_text=text)


def summary_run_json(body: str) -> dict[str, Any]:
    match = re.search(r'<script id="summary-run" type="application/json">(.*?)</script>', body)
    assert match, "the page carries the summary's JSON"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_history_lists_the_users_summaries_newest_first(
    alice: Any, bob: Any, dispatched: Any
) -> None:
    first = start(alice, "# Fleet\n\nThe fleet grew by ten vans.")
    second = start(alice, "# Pickups\n\nPickups were late twice.")
    start(bob, "# Bob's own\n\nNot for Alice.")
    body = client_for(alice).get("/summarize/").content.decode()
    assert body.index(f"/summarize/{second.pk}/") < body.index(f"/summarize/{first.pk}/")
    assert "Pasted text: # Pickups" in body
    assert "Bob&#x27;s own" not in body and "Bob's own" not in body
    assert "Queued" in body  # not finished yet: its state is shown


def test_a_finished_summary_has_its_own_page_rendered_on_the_server(
    alice: Any, dispatched: Any
) -> None:
    run = start(alice, "# Fleet\n\nThe fleet grew by ten vans.")
    finish(run, "**Ten** new vans.\n\n<script>alert(1)</script>\n\n```python\nx = 1\n```")
    reply = client_for(alice).get(f"/summarize/{run.pk}/")
    assert reply.status_code == 200
    body = reply.content.decode()
    assert f'href="/summarize/{run.pk}/" aria-current="page"' in body
    assert "<strong>Ten</strong>" in body
    assert "<script>alert(1)" not in body
    assert '<code class="language-python">' in body
    data = summary_run_json(body)
    assert data["final"] is True and data["status"] == "done"
    assert data["url"] == f"/summarize/{run.pk}/"
    assert data["sources"] == [{"label": "Whole document", "sections": "Fleet"}]
    assert "<title>Summary · Summarize · Company Assistant</title>" in body  # no text
    assert '<h1 id="summary-heading">Pasted text: # Fleet' in body


def test_a_running_summary_page_hands_the_stream_to_the_script(alice: Any, dispatched: Any) -> None:
    run = start(alice, "# Fleet\n\nThe fleet grew by ten vans.")
    body = client_for(alice).get(f"/summarize/{run.pk}/").content.decode()
    data = summary_run_json(body)
    assert data["final"] is False
    assert data["events_url"] == f"/runs/{run.pk}/events"
    assert data["cancel_url"] == f"/summarize/runs/{run.pk}/cancel"
    assert 'id="sum-result" class="card" hidden' in body  # nothing to show yet


def test_the_start_answer_names_the_summary_url(alice: Any, dispatched: Any) -> None:
    document = documents.document_create_from_text(user=alice, text="# A\n\nSome text here.")
    reply = client_for(alice).post(
        f"/summarize/documents/{document.pk}/start",
        {"model": model_default().id, "length": "short", "style": "bullets"},
    )
    assert reply.status_code == 201
    data = reply.json()
    assert data["url"] == f"/summarize/{data['id']}/"
    assert data["title"] == "Pasted text: # A Some text here."


def test_other_users_and_other_runs_are_404(alice: Any, bob: Any, dispatched: Any) -> None:
    theirs = start(bob, "# Bob\n\nPrivate text.")
    conversation = Conversation.objects.create(owner=alice, tool=Tool.CHAT, title="chat")
    message = Message.objects.create(conversation=conversation, role="user", content="hi")
    chat_run = Run.objects.create(owner=alice, conversation=conversation, user_message=message)
    client = client_for(alice)
    for run_id in (theirs.pk, chat_run.pk, uuid.uuid4()):
        assert client.get(f"/summarize/{run_id}/").status_code == 404
        assert client.post(f"/summarize/{run_id}/delete").status_code == 404
    assert client.get("/summarize/not-a-uuid/").status_code == 404
    assert Run.objects.filter(pk=theirs.pk).exists()


def test_delete_removes_the_summary_its_document_and_is_audited(
    alice: Any, dispatched: Any
) -> None:
    run = start(alice, "# Fleet\n\nThe fleet grew by ten vans.")
    finish(run, "Ten new vans.")
    client = client_for(alice)
    assert client.get(f"/summarize/{run.pk}/delete").status_code == 405
    reply = client.post(f"/summarize/{run.pk}/delete", follow=True)
    assert reply.redirect_chain[-1][0] == "/summarize/"
    assert "Summary deleted." in reply.content.decode()
    assert not Run.objects.filter(pk=run.pk).exists()
    assert not Document.objects.filter(owner=alice).exists()
    assert not Conversation.objects.filter(pk=run.conversation_id).exists()
    event = AuditEvent.objects.get(action="conversation.deleted")
    assert event.target_id == str(run.conversation_id)
    assert client.get(f"/summarize/{run.pk}/").status_code == 404
