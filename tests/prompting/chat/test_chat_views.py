"""Chat pages and their JSON endpoints, through Django's test client (no worker: a
queued run stays queued, which is all these views need)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from prompting import services
from prompting.models import Conversation, Feedback, Message, PromptTemplate, Run, Tool
from prompting.rewrite import services as rewrite_services
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send_json(client: Client, data: Any, url: str = "/chat/send") -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def conversation_with_answer(user: Any, text: str, answer: str) -> tuple[Conversation, Run]:
    """A conversation whose first run is done with `answer` (as the worker would leave it)."""
    conversation = services.conversation_create(owner=user)
    run = run_services.run_create(user=user, conversation=conversation, text=text)
    message = Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, content=answer
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, assistant_message=message)
    run.refresh_from_db()
    return conversation, run


def test_chat_page_shows_the_composer_and_an_empty_list(alice: Any) -> None:
    """A first visit: new conversation, the composer with the allowlisted models, no history."""
    response = client_for(alice).get("/chat/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "New conversation" in body
    assert 'id="message"' in body and 'id="model"' in body
    assert "No conversations yet." in body
    for model in response.context["models"]:
        assert f'value="{model.id}"' in body


def test_sidebar_lists_own_chats_newest_first(alice: Any, bob: Any) -> None:
    """Alice sees her chat conversations newest first, not Bob's and not her rewrites."""
    older = services.conversation_create(owner=alice, title="Older one")
    newer = services.conversation_create(owner=alice, title="Newer one")
    services.conversation_create(owner=alice, tool=Tool.REWRITE, title="A rewrite")
    services.conversation_create(owner=bob, title="Bob's secret")
    Conversation.objects.filter(pk=older.pk).update(updated_at="2020-01-01T00:00:00Z")

    body = client_for(alice).get("/chat/").content.decode()
    assert body.index("Newer one") < body.index("Older one")
    assert "Bob&#x27;s secret" not in body and "Bob's secret" not in body
    assert "A rewrite" not in body
    assert newer.pk


def test_sidebar_query_count_is_constant_and_the_list_is_paged(
    alice: Any, django_assert_num_queries: Any
) -> None:
    """Five or 120 conversations: the same number of queries; 50 per page, then 'Older'."""
    client = client_for(alice)
    Conversation.objects.bulk_create(
        Conversation(owner=alice, title=f"Conversation {i}", model_id="m") for i in range(5)
    )
    client.get("/chat/")  # warm caches (session, allowlist) outside the measured request
    with django_assert_num_queries(5) as few:
        client.get("/chat/")
    Conversation.objects.bulk_create(
        Conversation(owner=alice, title=f"More {i}", model_id="m") for i in range(115)
    )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/chat/")
    assert len(response.context["conversations"]) == 50
    assert response.context["has_more"] is True
    assert "Older conversations" in response.content.decode()
    last_page = client.get("/chat/?page=3")
    assert len(last_page.context["conversations"]) == 20
    assert last_page.context["has_more"] is False


def test_search_finds_titles_and_message_text(alice: Any) -> None:
    """Search matches the title or any message; others are hidden."""
    services.conversation_create(owner=alice, title="Quarterly refund report")
    conversation, _run = conversation_with_answer(alice, "Draft a note about surge pricing", "ok")
    services.conversation_create(owner=alice, title="Unrelated")
    client = client_for(alice)

    by_title = client.get("/chat/?q=refund").context["conversations"]
    assert [c.title for c in by_title] == ["Quarterly refund report"]
    by_text = client.get("/chat/?q=SURGE").context["conversations"]
    assert [c.pk for c in by_text] == [conversation.pk]
    none = client.get("/chat/?q=nothing-like-this")
    assert "No conversation matches." in none.content.decode()


def test_history_is_rendered_as_sanitized_markdown(alice: Any) -> None:
    """A stored answer is Markdown rendered on the server; script and handlers are inert."""
    answer = (
        "**bold** <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
    )
    conversation, _run = conversation_with_answer(alice, "hello <b>there</b>", answer)
    body = client_for(alice).get(f"/chat/{conversation.pk}/").content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>alert(1)" not in body
    answer_html = body.split('class="answer"')[1].split("</div>")[0]
    # Raw HTML in model text is shown as text (escaped), never as an element or a link.
    assert "<img" not in answer_html and "<script" not in answer_html
    assert "&lt;img src=x onerror=alert(2)&gt;" in answer_html
    assert "href" not in answer_html
    assert "hello &lt;b&gt;there&lt;/b&gt;" in body  # the user's own text is escaped


def test_send_creates_a_conversation_titled_from_the_first_message(alice: Any) -> None:
    """The first message creates the conversation (title from it) and a queued run."""
    client = client_for(alice)
    response = send_json(client, {"text": "  Draft a reply to a rider about a late pickup  "})
    assert response.status_code == 201
    data = response.json()
    run = Run.objects.get(pk=data["run"]["id"])
    assert run.status == Run.Status.QUEUED and run.owner == alice
    assert data["conversation"]["title"] == "Draft a reply to a rider about a late pickup"
    assert data["conversation"]["url"] == f"/chat/{run.conversation_id}/"
    assert data["run"]["events_url"] == f"/runs/{run.pk}/events"

    second = send_json(client, {"text": "Shorter please", "conversation_id": run.conversation_id})
    assert second.status_code == 201
    assert Conversation.objects.filter(owner=alice).count() == 1
    assert Run.objects.filter(conversation_id=run.conversation_id).count() == 2


def test_plain_form_posts_work_too(alice: Any) -> None:
    """The endpoint also binds an ordinary form post (no JavaScript needed to call it)."""
    response = client_for(alice).post("/chat/send", {"text": "hello", "model_id": ""})
    assert response.status_code == 201


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_message_is_a_sentence_and_creates_nothing(alice: Any, text: str) -> None:
    """An empty message is refused with a sentence; no conversation is left behind."""
    response = send_json(client_for(alice), {"text": text})
    assert response.status_code == 400
    assert response.json()["error"] == "Type a message first."
    assert not Conversation.objects.filter(owner=alice).exists()


def test_five_megabyte_paste_names_the_limit(alice: Any, settings: Any) -> None:
    """A 5 MB body is refused with 413 and a sentence naming the limit, not a bare 400."""
    response = send_json(client_for(alice), {"text": "x" * 5_000_000})
    assert response.status_code == 413
    error = response.json()["error"]
    assert f"{settings.MAX_PROMPT_CHARS:,} characters" in error
    assert not Conversation.objects.filter(owner=alice).exists()


def test_text_over_the_character_limit_names_size_and_limit(alice: Any, settings: Any) -> None:
    """Under the body limit but over MAX_PROMPT_CHARS: the size and the limit, in a sentence."""
    settings.MAX_PROMPT_CHARS = 1000
    response = send_json(client_for(alice), {"text": "y" * 1500})
    assert response.status_code == 400
    assert response.json()["error"].startswith("The text is 1,500 characters; the limit is 1,000.")


def test_text_that_is_not_unicode_is_refused_with_a_sentence(alice: Any) -> None:
    """Invalid UTF-8 (form or JSON) and lone surrogates are refused with a sentence, never
    a 500 and never stored with U+FFFD in place of what was typed (config/text.py)."""
    client = client_for(alice)
    form = client.post(
        "/chat/send", b"text=caf%E9+%FF%FE+ok", content_type="application/x-www-form-urlencoded"
    )
    raw_json = client.post(
        "/chat/send", b'{"text": "bad \xff\xfe bytes"}', content_type="application/json"
    )
    surrogate = client.post(
        "/chat/send", b'{"text": "lone \\ud800 surrogate"}', content_type="application/json"
    )
    for response in (form, raw_json, surrogate):
        assert response.status_code == 400
        assert "not valid" in response.json()["error"]
    assert "UTF-8" in form.json()["error"] and "UTF-8" in raw_json.json()["error"]
    assert "Unicode" in surrogate.json()["error"]
    assert not Message.objects.exists()


def test_nul_and_control_characters_are_dropped(alice: Any) -> None:
    """NUL and other control characters are removed (PostgreSQL text cannot hold NUL);
    the message is sent."""
    response = send_json(client_for(alice), {"text": "a\x00b\x07c\r\nd"})
    assert response.status_code == 201
    assert Message.objects.get().content == "abc\nd"


def test_malformed_json_is_a_sentence(alice: Any) -> None:
    """A body that is not JSON is refused with a sentence, not a 500."""
    response = client_for(alice).post("/chat/send", b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert "could not be read" in response.json()["error"]


def test_model_outside_the_allowlist_is_refused(alice: Any) -> None:
    """Only allowlisted models can be picked; another id is a sentence, nothing created."""
    response = send_json(client_for(alice), {"text": "hi", "model_id": "anthropic.claude-evil"})
    assert response.status_code == 400
    assert response.json()["code"] == "model_not_allowed"
    assert not Conversation.objects.filter(owner=alice).exists()


def test_false_positive_marks_travel_to_the_run(alice: Any) -> None:
    """Marks with reasons are stored on the run (the policy step honours and audits them)."""
    overrides = [{"entity_type": "PERSON", "start": 6, "end": 12, "reason": "  a product  name "}]
    response = send_json(client_for(alice), {"text": "Order Jordan shoes", "overrides": overrides})
    assert response.status_code == 201
    run = Run.objects.get(pk=response.json()["run"]["id"])
    assert run.overrides == [
        {"entity_type": "PERSON", "start": 6, "end": 12, "reason": "a product name"}
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        [{"entity_type": "PERSON", "start": 6, "end": 12, "reason": ""}],
        [{"entity_type": "PERSON", "start": 12, "end": 6, "reason": "x"}],
        [{"entity_type": "PERSON", "start": "6", "end": 12, "reason": "x"}],
        "not json",
        [1, 2],
    ],
)
def test_malformed_marks_are_refused(alice: Any, overrides: Any) -> None:
    """A mark without a reason, or one that is not a span, is refused with a sentence."""
    response = send_json(client_for(alice), {"text": "Order Jordan shoes", "overrides": overrides})
    assert response.status_code == 400
    assert response.json()["error"]
    assert not Run.objects.exists()


def test_rename_and_delete(alice: Any) -> None:
    """Rename changes the title; delete removes the conversation and is audited."""
    conversation = services.conversation_create(owner=alice, title="Old")
    client = client_for(alice)
    response = client.post(f"/chat/{conversation.pk}/rename", {"title": "  New   title "})
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.title == "New title"

    empty = client.post(f"/chat/{conversation.pk}/rename", {"title": "  "}, follow=True)
    assert "A title cannot be empty." in empty.content.decode()

    response = client.post(f"/chat/{conversation.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/chat/"
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert AuditEvent.objects.filter(action="conversation.deleted", actor=alice).exists()


def test_feedback_up_down_and_comment(alice: Any) -> None:
    """Thumbs up, then down with a comment: one Feedback row, updated; shown on reload."""
    conversation, run = conversation_with_answer(alice, "hi", "hello")
    client = client_for(alice)
    url = f"/messages/{run.assistant_message_id}/feedback"
    assert client.post(url, {"rating": "1"}).json() == {"rating": 1, "comment": ""}
    reply = send_json(client, {"rating": "-1", "comment": "Too vague"}, url)
    assert reply.json() == {"rating": -1, "comment": "Too vague"}
    assert Feedback.objects.get().rating == -1
    bad = client.post(url, {"rating": "5"})
    assert bad.status_code == 400 and "thumbs" in bad.json()["error"].lower()
    body = client.get(f"/chat/{conversation.pk}/").content.decode()
    assert 'data-rating="-1" aria-pressed="true"' in body
    assert "Too vague" in body


def test_retry_shows_only_the_latest_attempt(alice: Any) -> None:
    """After a retry, the page shows the message once, with the newest attempt."""
    conversation = services.conversation_create(owner=alice)
    first = run_services.run_create(user=alice, conversation=conversation, text="once")
    Run.objects.filter(pk=first.pk).update(status=Run.Status.FAILED, error_message="Broke.")
    retry = run_services.run_retry(user=alice, run_id=first.pk)
    response = client_for(alice).get(f"/chat/{conversation.pk}/")
    turns = response.context["turns"]
    assert [t["run"].pk for t in turns] == [retry.pk]
    assert turns[0]["active"] is True
    assert "Broke." not in response.content.decode()


def test_failed_answer_offers_retry_and_keeps_the_error(alice: Any) -> None:
    """A failed run shows its sentence and a visible Retry button."""
    conversation = services.conversation_create(owner=alice)
    run = run_services.run_create(user=alice, conversation=conversation, text="x")
    Run.objects.filter(pk=run.pk).update(status=Run.Status.INTERRUPTED, error_message="Cut off.")
    response = client_for(alice).get(f"/chat/{conversation.pk}/")
    assert response.context["turns"][0]["retryable"] is True
    body = response.content.decode()
    assert "Cut off." in body
    assert 'class="retry-button secondary">Retry' in body


def test_chat_templates_are_offered_in_the_picker(alice: Any) -> None:
    """Chat templates (own and shared) are in the picker; rewrite ones are not."""
    PromptTemplate.objects.create(
        owner=alice, title="Apology", body="Write an apology", tool="chat"
    )
    PromptTemplate.objects.create(owner=alice, title="Tone", body="Calmer", tool="rewrite")
    response = client_for(alice).get("/chat/")
    titles = [t.title for t in response.context["templates"]]
    assert titles == ["Apology"]
    assert "Write an apology" in response.content.decode()  # in the json_script data block


def test_a_rewrite_is_not_a_chat(alice: Any) -> None:
    """A rewrite conversation's id under /chat/ is a 404, and chat cannot post into it."""
    rewrite = services.conversation_create(owner=alice, tool=Tool.REWRITE)
    client = client_for(alice)
    assert client.get(f"/chat/{rewrite.pk}/").status_code == 404
    assert send_json(client, {"text": "x", "conversation_id": rewrite.pk}).status_code == 404


def test_another_users_ids_are_404_on_every_route(alice: Any, bob: Any) -> None:
    """Bob gets 404 for Alice's conversation, answer, rewrite and template on every route
    of Chat, Rewrite and templates (and nothing of Alice's changes)."""
    chat, run = conversation_with_answer(alice, "mine", "answer")
    Conversation.objects.filter(pk=chat.pk).update(title="mine")  # (titles come from judging)
    rewrite = rewrite_services.rewrite_create(
        user=alice, text="my notes", preset="shorter"
    ).conversation
    template = PromptTemplate.objects.create(owner=alice, title="T", body="B", tool="chat")
    message_id = run.assistant_message_id
    bob_client = client_for(bob)
    routes = [
        ("get", reverse("prompting:chat_conversation", args=[chat.pk]), None),
        ("post", reverse("prompting:chat_rename", args=[chat.pk]), {"title": "pwned"}),
        ("post", reverse("prompting:chat_delete", args=[chat.pk]), {}),
        ("json", reverse("prompting:chat_send"), {"text": "x", "conversation_id": chat.pk}),
        ("post", reverse("prompting:message_feedback", args=[message_id]), {"rating": "1"}),
        ("get", reverse("prompting:rewrite_detail", args=[rewrite.pk]), None),
        ("get", reverse("prompting:template_edit", args=[template.pk]), None),
        (
            "post",
            reverse("prompting:template_edit", args=[template.pk]),
            {"title": "x", "tool": "chat", "body": "y"},
        ),
        ("post", reverse("prompting:template_delete", args=[template.pk]), {}),
        ("get", f"/runs/{run.pk}/", None),
        ("post", f"/runs/{run.pk}/cancel", {}),
        ("post", f"/runs/{run.pk}/retry", {}),
    ]
    # Every object route of these pages is in the walk (a new route must be added here).
    from prompting.urls import urlpatterns

    object_routes = {
        str(p.pattern)
        for p in urlpatterns
        if "<int:" in str(p.pattern) and not str(p.pattern).startswith("summarize")
    }
    walked = {url.lstrip("/") for _method, url, _data in routes}
    for pattern in object_routes:
        prefix = pattern.split("<int:")[0]
        assert any(w.startswith(prefix) for w in walked), f"{pattern} is not walked"
    for method, url, data in routes:
        if method == "get":
            response = bob_client.get(url)
        elif method == "json":
            response = send_json(bob_client, data, url)
        else:
            response = bob_client.post(url, data)
        assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
    chat.refresh_from_db()
    assert chat.title == "mine" and Conversation.objects.filter(pk=rewrite.pk).exists()
    assert PromptTemplate.objects.get(pk=template.pk).title == "T"
    assert not Feedback.objects.exists()
    assert Run.objects.filter(conversation=chat).count() == 1


def test_pages_need_a_signed_in_user(client: Client) -> None:
    """Anonymous visitors are sent to sign in, never shown a page or a JSON answer."""
    for url in ("/chat/", "/rewrite/", "/templates/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/" in response["Location"]
    assert client.post("/chat/send", {"text": "x"}).status_code == 302


def test_model_picker_choice_is_used_and_remembered(alice: Any) -> None:
    """A model picked from the allowlist is used for the run and preselected next time."""
    from prompting.selectors import model_allowlist, model_default

    other = next(m for m in model_allowlist() if m.id != model_default().id)
    client = client_for(alice)
    response = send_json(client, {"text": "hi", "model_id": other.id})
    run = Run.objects.get(pk=response.json()["run"]["id"])
    assert run.model_id == other.id
    page = client.get(f"/chat/{run.conversation_id}/").content.decode()
    assert f'<option value="{other.id}" selected>' in page


def test_the_tab_title_shows_placeholders_never_the_typed_values(alice: Any) -> None:
    """The heading and the list are the owner's view (values); the browser tab title is
    the first line as the model saw it (placeholders), or "Conversation" before that."""
    conversation, run = conversation_with_answer(alice, "Call Maria Gonzalez today", "Done.")
    client = client_for(alice)
    body = client.get(f"/chat/{conversation.pk}/").content.decode()
    title = body.split("<title>")[1].split("</title>")[0]
    assert title == "Conversation · Chat · Company Assistant"
    assert "<h1" in body and "Call Maria Gonzalez today" in body
    assert run.user_message is not None
    Message.objects.filter(pk=run.user_message.pk).update(sanitized_content="Call <PERSON_1> today")
    body = client.get(f"/chat/{conversation.pk}/").content.decode()
    title = body.split("<title>")[1].split("</title>")[0]
    assert title == "Call &lt;PERSON_1&gt; today · Chat · Company Assistant"
    assert "Maria" not in title
