"""The chat journey in headless Chromium against the live site (uvicorn, a Celery worker,
the policy layer and the Bedrock emulator): preview, streaming with values restored,
Stop, Retry, the conversation list and the audit log."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from audit.models import AuditEvent
from prompting.models import Conversation, Feedback, PromptTemplate, Run
from tests.support.live import sign_in
from tests.support.processes import OUTPUT, ROOT
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


# ---- issue 16: a chat that feels native, at desktop and phone sizes --------------------

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
AXE = ROOT / "tests" / "e2e" / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

MARKDOWN_ANSWER = """## Refund steps

Call **the customer** today and *apologise*.

- [x] check the order
- [ ] send the voucher

> Keep the tone friendly.

| Step | Owner |
|------|-------|
| Call | Support |

```python
def refund(order_id: int) -> str:
    return f"refund {order_id}"
```

That is all."""


def reply_marker(text: str, delay_ms: int = 40) -> str:
    encoded = base64.b64encode(text.encode()).decode()
    return f"[[emulator:reply={encoded}]] [[emulator:token-delay={delay_ms}]]"


@pytest.fixture(params=list(SIZES))
def sized_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """A page at 1366x900 or 390x844; axe may be injected (CSP bypassed for it only)."""
    size = request.param
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
    context.set_default_timeout(20_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    yield size, page
    context.close()


def shot(page: Any, name: str) -> None:
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / name), full_page=False)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def assert_fits_the_screen(page: Any) -> None:
    """Nothing in the page's main content reaches past the window's right edge (the
    header and navigation are the shell's, checked by its own tests)."""
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter((el) => el.getClientRects().length)
            .map((el) => [el.getBoundingClientRect().right, el.tagName + '.' + el.className])
            .filter(([right]) => right > window.innerWidth + 1)
            .slice(0, 5)"""
    )
    assert overflow == [], overflow


def assert_composer_on_screen(page: Any) -> None:
    box = page.locator("#message").bounding_box()
    height = page.evaluate("() => window.innerHeight")
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, box
    send = page.locator("#composer-actions button:visible, .composer-actions button:visible")
    for i in range(send.count()):
        b = send.nth(i).bounding_box()
        assert b is not None and b["y"] + b["height"] <= height, b


def test_markdown_renders_while_streaming_with_code_tools(
    live_site: str, sized_page: tuple[str, Any], alice: Any
) -> None:
    """Bold shows as bold while the answer is still streaming (never raw `**`); the final
    answer has a highlighted code block with its language and Copy code, a quote, a table
    and a task list; the message box stays on screen; axe finds nothing; nothing is wider
    than the window."""
    from playwright.sync_api import expect

    size, page = sized_page
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    assert_composer_on_screen(page)
    assert_fits_the_screen(page)
    shot(page, f"chat_empty_{size}.png")
    assert axe_violations(page) == []

    page.get_by_label("Message", exact=True).fill(
        "Refund steps please " + reply_marker(MARKDOWN_ANSWER)
    )
    page.get_by_role("button", name="Send").click()
    answer = page.locator("#transcript .answer").last
    # While streaming: the indicator shows, then Markdown is already rendered.
    expect(answer.locator("strong")).to_have_text("the customer", timeout=20_000)
    assert answer.get_attribute("aria-busy") == "true"
    assert "**" not in answer.inner_text()
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    shot(page, f"chat_streaming_{size}.png")

    expect(page.locator("#composer-status")).to_be_hidden(timeout=30_000)
    expect(answer).not_to_have_attribute("aria-busy", "true")
    expect(answer.locator("h2")).to_have_text("Refund steps")
    block = answer.locator(".code-block")
    expect(block.locator(".code-language")).to_have_text("python")
    expect(block.locator("code .hljs-keyword").first).to_have_text("def")
    expect(answer.locator("blockquote")).to_contain_text("friendly")
    expect(answer.locator("table th").first).to_have_text("Step")
    expect(answer.locator("input.task-list-item-checkbox")).to_have_count(2)
    expect(answer.locator("input.task-list-item-checkbox").first).to_be_checked()
    assert "**" not in answer.inner_text()
    block.get_by_role("button", name="Copy code").click()
    expect(page.get_by_role("status").filter(has_text="Code copied.")).to_have_count(1)
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("def refund(order_id: int) -> str:")
    assert_composer_on_screen(page)
    assert_fits_the_screen(page)
    shot(page, f"chat_markdown_{size}.png")
    assert axe_violations(page) == []

    # After a reload the server renders the same structure.
    page.reload()
    answer = page.locator("#transcript .answer").last
    expect(answer.locator(".code-block .code-language")).to_have_text("python")
    expect(answer.locator("input.task-list-item-checkbox")).to_have_count(2)
    assert_composer_on_screen(page)


def test_escape_stops_the_answer_and_the_note_stays(live_site: str, page: Any, alice: Any) -> None:
    """Escape stops a streaming answer; the "stopped" note is not an error and is still
    there after a reload."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    words = " ".join(f"word{i}" for i in range(400))
    page.locator("#message").fill("long one " + reply_marker(words, delay_ms=30))
    page.get_by_role("button", name="Send").click()
    answer = page.locator("#transcript .answer").last
    expect(answer).to_contain_text("word5", timeout=20_000)
    page.keyboard.press("Escape")
    note = page.locator("#transcript .run-error").last
    expect(note).to_contain_text("stopped", timeout=10_000)
    expect(note).to_have_class(re.compile("run-stopped"))
    color = note.evaluate("(el) => getComputedStyle(el).color")
    assert color != "rgb(179, 38, 30)", "a stopped answer is not shown in the error colour"
    run = wait_for(lambda: Run.objects.filter(owner=alice, status=Run.Status.CANCELLED).first())
    assert run is not None
    page.reload()
    expect(page.locator("#transcript .run-stopped")).to_contain_text("stopped")
    # Alt+M brings the focus back to the message box.
    page.locator("body").focus()
    page.keyboard.press("Alt+m")
    expect(page.locator("#message")).to_be_focused()


def test_auto_scroll_follows_until_the_reader_scrolls_up(
    live_site: str, page: Any, alice: Any
) -> None:
    """A long answer keeps the newest text in view; scrolling up stops the following."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    paragraphs = "\n\n".join(f"Paragraph {i} " + "lorem ipsum " * 12 for i in range(120))
    page.locator("#message").fill("long " + reply_marker(paragraphs, delay_ms=4))
    page.get_by_role("button", name="Send").click()
    answer = page.locator("#transcript .answer").last
    expect(answer).to_contain_text("Paragraph 30", timeout=30_000)
    # The end of the answer sits just above the pinned message box.
    at_bottom = """() => Math.abs(
        document.getElementById('transcript').getBoundingClientRect().bottom + 16
        - document.getElementById('composer').getBoundingClientRect().top) < 60"""
    assert page.evaluate(at_bottom), "followed the answer"
    page.mouse.move(600, 300)
    page.mouse.wheel(0, -600)
    page.wait_for_timeout(300)
    held = page.evaluate("() => scrollY")
    expect(answer).to_contain_text("Paragraph 80", timeout=30_000)
    assert abs(page.evaluate("() => scrollY") - held) < 5, "stayed where the reader went"
    expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=60_000)


def test_empty_state_offers_shared_templates_as_starts(
    live_site: str, page: Any, alice: Any, bob: Any
) -> None:
    """An empty conversation suggests shared chat templates; one click fills the box."""
    from playwright.sync_api import expect

    PromptTemplate.objects.create(
        owner=bob,
        title="Shift handover",
        body="Write a shift handover note.",
        tool="chat",
        shared=True,
    )
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    suggestions = page.get_by_role("list", name="Suggested starts")
    expect(suggestions).to_contain_text("Shift handover")
    suggestions.get_by_role("button", name=re.compile("Shift handover")).click()
    expect(page.locator("#message")).to_have_value("Write a shift handover note.")
    expect(page.locator("#message")).to_be_focused()


def test_phone_conversation_list_is_a_drawer(live_site: str, browser: Any, alice: Any) -> None:
    """At 390 px the conversation list opens as a drawer from the header and Escape
    closes it; the message box is on the first screen with a long history."""
    from playwright.sync_api import expect

    for i in range(30):
        Conversation.objects.create(owner=alice, title=f"Old conversation {i}")
    context = browser.new_context(viewport=SIZES["phone"])
    page = context.new_page()
    try:
        sign_in(page, live_site, alice)
        page.goto(f"{live_site}/chat/")
        expect(page.locator("#conversation-list")).to_be_hidden()
        assert_composer_on_screen(page)
        toggle = page.get_by_role("button", name="Conversations")
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#conversation-list")).to_contain_text("Old conversation 29")
        expect(page.get_by_label("Search titles and messages")).to_be_focused()
        shot(page, "chat_drawer_phone.png")
        page.keyboard.press("Escape")
        expect(page.locator("#conversation-list")).to_be_hidden()
        expect(toggle).to_be_focused()
        assert_fits_the_screen(page)
    finally:
        context.close()


def test_phone_buttons_stay_put_when_the_preview_appears(
    live_site: str, browser: Any, alice: Any
) -> None:
    """At 390 px the preview opens above the message box: Send does not move under the
    finger, and the box stays on screen."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=SIZES["phone"])
    page = context.new_page()
    try:
        sign_in(page, live_site, alice)
        page.goto(f"{live_site}/chat/")
        send = page.get_by_role("button", name="Send")
        before = send.bounding_box()
        page.locator("#message").fill(f"Ask {NAME} to call back.")
        page.get_by_role("button", name="Check").click()
        expect(page.locator("#preview mark.finding-pseudonymize")).to_have_count(1)
        after = send.bounding_box()
        assert before is not None and after is not None
        assert abs(after["y"] - before["y"]) < 2, (before, after)
        assert_composer_on_screen(page)
        shot(page, "chat_preview_phone.png")
    finally:
        context.close()
