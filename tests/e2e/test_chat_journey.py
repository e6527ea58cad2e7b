"""The chat journey in headless Chromium against the live site (uvicorn, a Celery worker,
the policy layer and the Bedrock emulator): preview, streaming with values restored,
Stop, Retry, the conversation list and the audit log."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from audit.models import AuditEvent
from prompting.models import Conversation, Feedback, Run
from tests.support.live import sign_in
from tests.support.processes import OUTPUT
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NAME = "Maria Gonzalez"
PHONE = "(415) 555-0132"


def test_chat_with_a_name_and_a_phone_number(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    """The preview names both findings; the answer streams in with the real values
    restored while Bedrock saw placeholders; the conversation is listed and audited."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Message", exact=True).fill(
        f"Please call {NAME} on {PHONE} about her refund."
    )
    page.get_by_role("button", name="Check").click()

    preview = page.locator("#preview")
    expect(preview).to_contain_text("PERSON", timeout=20_000)
    expect(preview).to_contain_text("PHONE_NUMBER")
    expect(preview.locator("mark.finding-pseudonymize")).to_have_count(2)
    preview.get_by_text("What the model will receive").click()
    expect(preview.locator(".preview-sanitized")).to_contain_text("<PERSON_1>")
    expect(preview.locator(".preview-sanitized")).not_to_contain_text(NAME)
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(OUTPUT / "screenshots" / "chat_preview_before_send.png"), full_page=True
    )

    page.get_by_role("button", name="Send").click()
    answer = page.locator("#transcript .turn").last.locator(".answer")
    expect(answer).to_contain_text(NAME, timeout=20_000)
    expect(answer).to_contain_text(PHONE)
    expect(page.locator("#transcript .copy-button")).to_be_visible()
    expect(page.locator("#transcript .feedback")).to_be_visible()
    # The done event's sanitized HTML replaced the streamed text (a <p> from Markdown).
    expect(answer.locator("p")).to_have_count(1)

    run = wait_for(lambda: Run.objects.filter(owner=alice, status=Run.Status.DONE).first())
    sent = [
        r.last_user_text
        for r in bedrock_emulator.received
        if "about her refund" in r.last_user_text
    ]
    assert sent and NAME not in sent[-1] and "415" not in sent[-1]
    assert "<PERSON_1>" in sent[-1] and "<PHONE_NUMBER_1>" in sent[-1]
    events = AuditEvent.objects.filter(target_id=str(run.pk)).values_list("action", flat=True)
    assert "prompt.submitted" in events
    submitted = AuditEvent.objects.get(target_id=str(run.pk), action="prompt.submitted")
    assert NAME not in submitted.content and submitted.decision == "pseudonymize"

    # The URL now names the conversation, and it is listed (also after a reload).
    conversation = Conversation.objects.get(owner=alice)
    expect(page).to_have_url(re.compile(rf"/chat/{conversation.pk}/$"))
    expect(page.locator("#conversation-list")).to_contain_text("Please call")
    page.get_by_text("Rename").click()  # offered at once for the new conversation
    page.get_by_label("New title").fill("Refund call")
    page.get_by_role("button", name="Save title").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Refund call")
    expect(page.locator("#conversation-list a[aria-current=page]")).to_have_text("Refund call")
    page.reload()
    expect(page.locator("#transcript .answer")).to_contain_text(PHONE)

    # Thumbs up, with a comment.
    page.get_by_role("button", name="Helpful", exact=True).click()
    expect(page.locator(".feedback-status")).to_contain_text("saved")
    assert wait_for(lambda: Feedback.objects.filter(rating=1).exists())


def test_stop_then_retry(live_site: str, page: Any, alice: Any) -> None:
    """Stop ends a slow answer and keeps what arrived; Retry streams a new attempt."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Message", exact=True).fill(
        "[[emulator:token-delay=200]] " + " ".join(f"word{i}" for i in range(60))
    )
    page.get_by_role("button", name="Send").click()
    answer = page.locator("#transcript .answer").last
    expect(answer).to_contain_text("word2", timeout=20_000)
    page.get_by_role("button", name="Stop").click()

    error = page.locator("#transcript .run-error").last
    expect(error).to_be_visible(timeout=5_000)
    expect(error).to_contain_text("stopped")
    run = wait_for(lambda: Run.objects.filter(owner=alice, status=Run.Status.CANCELLED).first())
    assert run.assistant_message is not None
    assert "word59" not in run.assistant_message.content
    expect(answer).to_contain_text("You said")
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()

    page.get_by_role("button", name="Retry").click()
    expect(error).to_be_hidden()
    page.get_by_role("button", name="Stop").click(timeout=10_000)
    expect(error).to_be_visible(timeout=5_000)
    assert wait_for(lambda: Run.objects.filter(owner=alice).count() == 2)


def test_blocked_message_says_why_and_is_not_sent(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    """A message with a password: the composer says which kind of data blocks it and how
    to proceed; nothing is sent."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    before = len(bedrock_emulator.received)
    page.get_by_label("Message", exact=True).fill("The db password=Zq7!hunter2, please check.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_contain_text(
        "Not sent: it contains a password", timeout=20_000
    )
    expect(page.locator("#preview")).to_contain_text("Remove it or replace it")
    expect(page.locator("#preview mark.finding-block")).to_have_count(1)
    assert not Run.objects.filter(owner=alice).exists()
    assert len(bedrock_emulator.received) == before


def test_false_positive_mark_is_sent_as_written_and_audited(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    """Marking a name as 'not personal data' with a reason sends it as written; the
    override and its reason land in the audit log."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Message", exact=True).fill(f"Write a haiku about {NAME} shoes.")
    page.get_by_role("button", name="Check").click()
    preview = page.locator("#preview")
    expect(preview.locator("mark.finding-pseudonymize")).to_have_count(1, timeout=20_000)
    preview.get_by_text("A value is not personal data?").click()
    preview.get_by_role("checkbox", name=f"“{NAME}” is not a person's name").check()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_contain_text("Say why")
    preview.get_by_role("textbox", name=re.compile(f"Why “{NAME}”")).fill("It is a shoe brand")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#transcript .answer").last).to_contain_text("haiku", timeout=20_000)
    run = wait_for(lambda: Run.objects.filter(owner=alice, status=Run.Status.DONE).first())
    sent = [r.last_user_text for r in bedrock_emulator.received if "haiku" in r.last_user_text]
    assert NAME in sent[-1]
    override = AuditEvent.objects.get(target_id=str(run.pk), action="policy.override")
    assert override.details["reason"] == "It is a shoe brand" and override.outcome == "ok"


def test_keyboard_only_chat(live_site: str, page: Any, alice: Any) -> None:
    """Tab reaches the message box, Ctrl+Enter sends, and the answer arrives."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.locator("#message").focus()
    page.keyboard.type("hello from the keyboard")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#transcript .answer").last).to_contain_text(
        "hello from the keyboard", timeout=20_000
    )
    focusable = page.evaluate(
        "() => [...document.querySelectorAll('#composer button:not([hidden]), #composer select,"
        " #composer textarea')].every(e => e.tabIndex >= 0)"
    )
    assert focusable


def test_fast_send_shows_the_replacements_first(live_site: str, page: Any, alice: Any) -> None:
    """Sending before the preview appeared does not send: the replacements are shown
    first, and a second Send goes ahead."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.locator("#message").fill(f"Ask {NAME} to confirm the pickup time.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#composer-status")).to_contain_text("Personal data found", timeout=20_000)
    expect(page.locator("#preview")).to_contain_text("PERSON")
    assert not Run.objects.filter(owner=alice).exists()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#transcript .answer").last).to_contain_text(NAME, timeout=20_000)
    assert Run.objects.filter(owner=alice).count() == 1


def test_copy_puts_the_answer_on_the_clipboard(live_site: str, page: Any, alice: Any) -> None:
    """Copy writes the answer's text to the clipboard and says so."""
    from playwright.sync_api import expect

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_site)
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.locator("#message").fill("copy this answer")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#transcript .answer").last).to_contain_text("copy this", timeout=20_000)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Answer copied.")).to_have_count(1)
    assert page.evaluate("() => navigator.clipboard.readText()") == "You said: copy this answer"


def test_a_saved_template_fills_the_message(live_site: str, page: Any, alice: Any) -> None:
    """A template saved on the templates page is offered in Chat and fills the box."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/templates/")
    page.get_by_label("Title").fill("Late pickup reply")
    page.get_by_label("Used in").select_option("chat")
    page.get_by_label("Text").fill("Draft an apology for a late pickup.")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".messages")).to_contain_text("Template saved.")

    page.goto(f"{live_site}/chat/")
    page.get_by_label("Insert a template").select_option(label="Late pickup reply")
    page.get_by_role("button", name="Use").click()
    expect(page.locator("#message")).to_have_value("Draft an apology for a late pickup.")


def test_failed_answer_offers_retry(live_site: str, page: Any, alice: Any) -> None:
    """A model error mid-stream keeps the partial answer, says what happened and offers
    Retry, which queues a new attempt for the same message."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.locator("#message").fill("[[emulator:stream-error=3]] one two three four five six")
    page.get_by_role("button", name="Send").click()
    error = page.locator("#transcript .run-error")
    expect(error).to_be_visible(timeout=20_000)
    expect(page.locator("#transcript .answer")).to_contain_text("You said")
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    retry.click()
    expect(error).to_be_visible(timeout=20_000)
    assert wait_for(lambda: Run.objects.filter(owner=alice).count() == 2)
    runs = list(Run.objects.filter(owner=alice))
    assert runs[0].user_message_id == runs[1].user_message_id


def test_empty_and_oversized_messages_are_explained(live_site: str, page: Any, alice: Any) -> None:
    """An empty message and a 5 MB paste get a sentence (the limit named); nothing is sent."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_have_text("Type a message first.")
    page.locator("#message").evaluate("(el) => { el.value = 'x'.repeat(5000000); }")
    page.locator("#message").dispatch_event("input")
    error = page.locator("#composer-error")
    limit = f"{settings.MAX_PROMPT_CHARS:,}"
    expect(error).to_contain_text(f"The text is 5,000,000 characters; the limit is {limit}.")
    page.get_by_role("button", name="Send").click()
    expect(error).to_contain_text("use Summarize for long documents")
    assert not Run.objects.filter(owner=alice).exists()


def test_preview_shows_a_redaction_and_the_message_is_served(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    """A card number: the preview marks it as redacted with its placeholder; sending works
    and the model receives only the placeholder."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Message", exact=True).fill(
        "Customer disputes card 4111 1111 1111 1111, draft a reply."
    )
    page.get_by_role("button", name="Check").click()
    preview = page.locator("#preview")
    expect(preview.locator("mark.finding-redact")).to_have_count(1, timeout=20_000)
    expect(preview).to_contain_text("Will be redacted: 1 \u00d7 payment card number (CREDIT_CARD)")
    page.get_by_role("button", name="Send").click()
    assert wait_for(
        lambda: any("<CREDIT_CARD_1>" in r.last_user_text for r in bedrock_emulator.received)
    )
    assert all("4111" not in r.last_user_text for r in bedrock_emulator.received)
