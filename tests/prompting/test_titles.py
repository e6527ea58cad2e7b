"""Titles come from the sanitized first line: stored (and so listed, searched and put in
the browser's tab title) with placeholders; restored only on the owner's own pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from prompting import services
from prompting.models import Conversation
from prompting.runs import dispatch
from prompting.titles import owner_titles

pytestmark = pytest.mark.django_db

TEXT = "Call Maria Gonzalez about the refund for trip 77"


def _send(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_chat_title_is_sanitized_and_restored_only_for_the_owner(
    alice: Any, dispatched: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The short message's first step forwards to the policy step here (no warm engine).
    dispatched.inline.update({dispatch.JUDGE_THEN_GENERATE, dispatch.POLICY_STEP})
    client = Client()
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        reply = _send(client, "/chat/send", {"text": TEXT})
    assert reply.status_code == 201
    conversation = Conversation.objects.get(owner=alice)
    assert "Maria" not in conversation.title and "<PERSON_1>" in conversation.title
    assert conversation.title.startswith("Call <PERSON_1> about the refund")
    # The send reply: the sender's words for the page, nothing for the tab yet.
    assert reply.json()["conversation"]["title"] == TEXT
    assert "Maria" not in reply.json()["conversation"]["tab_title"]

    page = client.get(f"/chat/{conversation.pk}/").content.decode()
    tab = page[page.index("<title>") : page.index("</title>")]
    assert "Maria" not in tab and "PERSON_1" in tab

    owner_titles([conversation])
    shown: str = conversation.shown_title  # type: ignore[attr-defined]  # set by owner_titles
    assert shown.startswith("Call Maria Gonzalez about the refund")


def test_rewrite_history_shows_the_restored_title_and_the_tab_never_does(
    alice: Any, dispatched: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The short message's first step forwards to the policy step here (no warm engine).
    dispatched.inline.update({dispatch.JUDGE_THEN_GENERATE, dispatch.POLICY_STEP})
    client = Client()
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        reply = _send(client, "/rewrite/send", {"text": TEXT, "preset": "formal"})
    assert reply.status_code == 201
    conversation = Conversation.objects.get(owner=alice)
    assert conversation.title.startswith("More formal: Call <PERSON_1>")
    page = client.get(f"/rewrite/{conversation.pk}/").content.decode()
    assert "More formal: Call Maria Gonzalez" in page
    assert "Maria" not in page[page.index("<title>") : page.index("</title>")]


def test_a_typed_title_is_kept_and_a_blocked_first_message_leaves_none(alice: Any) -> None:
    renamed = services.conversation_create(owner=alice, title="Refunds")
    services.conversation_title_fill(conversation=renamed, sanitized="Call <PERSON_1>")
    assert renamed.title == "Refunds"
    empty = services.conversation_create(owner=alice)
    services.conversation_title_fill(conversation=empty, sanitized="  ")
    assert empty.title == ""
