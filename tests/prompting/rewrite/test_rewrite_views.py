"""Rewrite: presets in the system prompt, an own instruction in the judged user message,
history of recent rewrites, and bad input as sentences."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from config.redis_client import redis_client
from prompting import services
from prompting.errors import InputRejected
from prompting.models import Conversation, Message, Run, Tool
from prompting.rewrite import presets as rewrite_presets
from prompting.rewrite import services as rewrite_services
from prompting.runs import dispatch
from prompting.runs.preview import text_key
from prompting.views.preview import _preview_start

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rewrite(client: Client, **data: Any) -> Any:
    return client.post("/rewrite/send", json.dumps(data), content_type="application/json")


def test_rewrite_page_offers_every_preset(alice: Any) -> None:
    """The six presets are one-click submit buttons carrying their key; an own instruction
    has its labelled field and its Rewrite button (value "custom")."""
    body = client_for(alice).get("/rewrite/").content.decode()
    for key, label in (
        ("shorter", "Shorter"),
        ("formal", "More formal"),
        ("friendly", "Friendlier"),
        ("grammar", "Fix grammar and spelling"),
        ("bullets", "Bullet points"),
        ("plain", "Plain English"),
    ):
        assert re.search(
            rf'<button type="submit" name="preset" value="{key}"[^>]*>{label}</button>', body
        ), label
    assert '<label for="instruction">Or your own instruction</label>' in body
    assert 'name="preset" value="custom" id="send-button">Rewrite</button>' in body
    assert "No rewrites yet." in body


def test_preset_goes_in_the_system_prompt_and_the_text_is_the_message(alice: Any) -> None:
    """With a preset the user message is exactly the pasted text (the policy judges it)."""
    response = rewrite(client_for(alice), text="pls send the report asap", preset="formal")
    assert response.status_code == 201
    run = Run.objects.get(pk=response.json()["run"]["id"])
    assert run.tool == Tool.REWRITE and run.conversation.tool == Tool.REWRITE
    assert run.user_message is not None
    assert run.user_message.content == "pls send the report asap"
    assert run.system_prompt.startswith("Rewrite the user's text in a more formal")
    # The stored title waits for the sanitized text (the policy step); the sender's page
    # shows their words at once, the tab title nothing yet.
    assert run.conversation.title == "More formal: "
    assert response.json()["conversation"]["title"] == "More formal: pls send the report asap"
    assert response.json()["conversation"]["tab_title"] == ""
    assert response.json()["conversation"]["url"] == f"/rewrite/{run.conversation_id}/"


def test_own_instruction_is_part_of_the_judged_message(alice: Any) -> None:
    """An own instruction may name someone, so it goes into the user message (which the
    policy judges), never into the unjudged system prompt."""
    response = rewrite(
        client_for(alice),
        text="Your refund is late.",
        preset="custom",
        instruction="  Apologise to   Maria Gonzalez\nwarmly ",
    )
    assert response.status_code == 201
    run = Run.objects.get(pk=response.json()["run"]["id"])
    assert run.user_message is not None
    assert run.user_message.content == (
        "Instruction: Apologise to Maria Gonzalez warmly\n\nText:\nYour refund is late."
    )
    assert "Maria" not in run.system_prompt
    assert run.system_prompt == rewrite_presets.CUSTOM_SYSTEM_PROMPT
    assert rewrite_presets.split_message(run.user_message.content, custom=True) == (
        "Apologise to Maria Gonzalez warmly",
        "Your refund is late.",
    )


def test_the_preview_judges_the_message_the_server_composes(
    alice: Any, dispatched: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Rewrite's preview sends its fields; the server composes the message with the
    function that composes what is sent, so false-positive marks (offsets into that
    string) line up. The page script no longer builds the message itself."""
    fields = {
        "text": "Your refund is late.",
        "preset": "custom",
        "instruction": "  Apologise to\n Maria  warmly ",
    }
    with django_capture_on_commit_callbacks(execute=True):
        request_id = _preview_start(alice, fields)
    judged = redis_client().get(text_key(request_id))
    sent = rewrite_presets.compose_message(
        preset_key="custom", instruction=fields["instruction"], text=fields["text"]
    )
    assert judged == sent
    assert dispatched.names() == [dispatch.POLICY_PREVIEW]
    source = Path(settings.BASE_DIR, "static/js/rewrite.js").read_text()
    assert rewrite_presets.INSTRUCTION_PREFIX.strip() not in source
    with pytest.raises(InputRejected):
        _preview_start(alice, {**fields, "instruction": " "})


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"text": "  ", "preset": "shorter"}, "Paste the text to rewrite first."),
        ({"text": "notes", "preset": "custom", "instruction": "  "}, "Write an instruction"),
        ({"text": "notes", "preset": "poetry"}, "Choose a preset or write an instruction."),
        ({"text": "notes"}, "Choose a preset or write an instruction."),
    ],
)
def test_bad_rewrite_input_is_a_sentence(alice: Any, data: dict[str, str], sentence: str) -> None:
    """Missing text, instruction or preset: 400 with a sentence, nothing created."""
    response = rewrite(client_for(alice), **data)
    assert response.status_code == 400
    assert response.json()["error"].startswith(sentence)
    assert not Conversation.objects.exists()


def test_five_megabyte_paste_names_the_limit(alice: Any) -> None:
    """A 5 MB paste into Rewrite: 413 and the limit in characters."""
    response = rewrite(client_for(alice), text="z" * 5_000_000, preset="shorter")
    assert response.status_code == 413
    assert f"{settings.MAX_PROMPT_CHARS:,} characters" in response.json()["error"]


def test_invalid_utf8_rewrite_is_refused_with_a_sentence(alice: Any) -> None:
    """Bytes that are not UTF-8 are refused with a sentence (as in Chat and Summarize),
    not a 500 and not stored with U+FFFD."""
    response = client_for(alice).post(
        "/rewrite/send",
        b'{"text": "r\xe9sum\xe9 notes", "preset": "grammar"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["error"]
    assert not Message.objects.exists()


def test_history_and_detail_show_original_and_result(alice: Any, bob: Any) -> None:
    """Recent rewrites are listed (chats are not); a past rewrite shows the original in the
    text box, the instruction, and the result."""
    run = rewrite_services.rewrite_create(
        user=alice, text="orig text", preset="custom", instruction="make it rhyme"
    )
    answer = Message.objects.create(
        conversation=run.conversation, role=Message.Role.ASSISTANT, content="You said: rhyme"
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, assistant_message=answer)
    services.conversation_create(owner=alice, title="A chat, not a rewrite")
    assert run.user_message is not None
    services.conversation_title_fill(
        conversation=run.conversation, sanitized=run.user_message.content
    )
    client = client_for(alice)

    page = client.get("/rewrite/").content.decode()
    assert "Instruction: make it rhyme Text: orig text" in page
    assert "A chat, not a rewrite" not in page

    detail = client.get(f"/rewrite/{run.conversation_id}/")
    body = detail.content.decode()
    assert detail.context["shown"]["original"] == "orig text"
    assert 'aria-describedby="rewrite-help">orig text</textarea>' in body
    assert 'value="make it rhyme"' in body
    assert ">You said: rhyme</div>" in body
    assert client_for(bob).get(f"/rewrite/{run.conversation_id}/").status_code == 404


def test_rewrite_result_is_shown_as_text_not_html(alice: Any) -> None:
    """A result containing markup is escaped on the page (a rewrite is text to paste)."""
    run = rewrite_services.rewrite_create(user=alice, text="t", preset="shorter")
    answer = Message.objects.create(
        conversation=run.conversation,
        role=Message.Role.ASSISTANT,
        content='<img src="https://evil.example/x.png" onerror="alert(1)">',
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, assistant_message=answer)
    body = client_for(alice).get(f"/rewrite/{run.conversation_id}/").content.decode()
    assert "<img" not in body
    assert "&lt;img src=" in body
