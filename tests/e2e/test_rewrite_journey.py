"""The rewrite journey in headless Chromium against the live site: a preset, the result
streaming beside the original, the word-level diff, Copy, history, an own instruction."""

from __future__ import annotations

import re
from typing import Any

import pytest

from prompting.models import Conversation, Run, Tool
from tests.support.live import sign_in
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ORIGINAL = "Hi Maria Gonzalez, the meeting moved to friday. Thanks"


def test_rewrite_with_a_preset_shows_the_diff(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    """More formal: the result streams in beside the original with the name restored,
    'Show changes' marks the added words, the rewrite is in the history and reloadable."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    page.get_by_label("Text to rewrite").fill(ORIGINAL)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#preview")).to_contain_text("PERSON", timeout=20_000)
    page.get_by_role("button", name="More formal").click()

    result = page.locator("#result-text")
    expect(result).to_contain_text("You said: Hi Maria Gonzalez", timeout=20_000)
    expect(page.locator("#result-status")).to_contain_text("Done")
    run = wait_for(lambda: Run.objects.filter(owner=alice, status=Run.Status.DONE).first())
    assert run.tool == Tool.REWRITE and run.system_prompt.startswith("Rewrite the user's text in")
    sent = [
        r.last_user_text for r in bedrock_emulator.received if "meeting moved" in r.last_user_text
    ]
    assert sent and "Maria" not in sent[-1]

    toggle = page.get_by_role("button", name="Show changes")
    toggle.click()
    diff = page.locator("#result-diff")
    expect(diff).to_be_visible()
    expect(page.get_by_role("button", name="Hide changes")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(diff.locator("ins")).to_have_count(1)
    expect(diff.locator("ins")).to_contain_text("You said:")
    expect(diff.locator("del")).to_have_count(0)
    expect(page.get_by_role("button", name="Copy")).to_be_enabled()

    conversation = Conversation.objects.get(owner=alice, tool=Tool.REWRITE)
    expect(page).to_have_url(re.compile(rf"/rewrite/{conversation.pk}/$"))
    expect(page.locator("#rewrite-history")).to_contain_text("More formal: Hi Maria")

    page.reload()
    # The stored title is sanitized; the owner's history shows it restored, the tab never.
    expect(page.locator("#rewrite-history")).to_contain_text("More formal: Hi Maria Gonzalez")
    assert "Maria" not in page.title()
    conversation.refresh_from_db()
    assert "Maria" not in conversation.title and "<PERSON_1>" in conversation.title
    expect(page.get_by_label("Text to rewrite")).to_have_value(ORIGINAL)
    expect(page.locator("#result-text")).to_contain_text("You said: Hi Maria Gonzalez")
    page.get_by_role("button", name="Show changes").click()
    expect(page.locator("#result-diff ins")).to_contain_text("You said:")


def test_own_instruction_and_a_changed_word(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    """An own instruction is sent in the (judged) message; a reply that changes a word
    shows it as removed and added."""
    import base64

    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    reply = base64.b64encode(b"The meeting moved to Monday.").decode()
    page.get_by_label("Text to rewrite").fill(
        f"[[emulator:reply={reply}]] The meeting moved to Friday."
    )
    page.get_by_label("Or your own instruction").fill("Use the correct weekday")
    page.get_by_role("button", name="Rewrite", exact=True).click()
    expect(page.locator("#result-text")).to_have_text(
        "The meeting moved to Monday.", timeout=20_000
    )
    page.get_by_role("button", name="Show changes").click()
    expect(page.locator("#result-diff del").last).to_contain_text("Friday")
    expect(page.locator("#result-diff ins").last).to_contain_text("Monday")
    sent = [
        r.last_user_text for r in bedrock_emulator.received if "correct weekday" in r.last_user_text
    ]
    assert sent and sent[-1].startswith("Instruction: Use the correct weekday\n\nText:\n")


def test_empty_and_oversized_input_are_explained(live_site: str, page: Any, alice: Any) -> None:
    """Empty text and a 5 MB paste each get a sentence in the page; nothing is sent."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    page.get_by_role("button", name="Rewrite", exact=True).click()
    expect(page.locator("#composer-error")).to_have_text("Paste the text to rewrite first.")
    page.locator("#rewrite-text").evaluate("(el) => { el.value = 'x'.repeat(5000000); }")
    page.locator("#rewrite-text").dispatch_event("input")
    expect(page.locator("#composer-error")).to_contain_text("5,000,000 characters; the limit is")
    page.get_by_role("button", name="Rewrite", exact=True).click()
    expect(page.locator("#composer-error")).to_contain_text("the limit is")
    assert not Run.objects.filter(owner=alice).exists()
    # A full-page screenshot of a 5 MB textarea takes longer than the screenshot timeout.
    page.locator("#rewrite-text").evaluate("(el) => { el.value = ''; }")


def test_stop_and_retry_a_rewrite(live_site: str, page: Any, alice: Any) -> None:
    """Stop ends a slow rewrite keeping what arrived; Retry starts it again."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    words = " ".join(f"word{i}" for i in range(60))
    page.get_by_label("Text to rewrite").fill(f"[[emulator:token-delay=200]] {words}")
    page.get_by_role("button", name="Shorter").click()
    expect(page.locator("#result-text")).to_contain_text("word1", timeout=20_000)
    page.get_by_role("button", name="Stop").click()
    # A quiet note, not an error; still there after a reload.
    expect(page.locator("#result-status")).to_have_text(
        "Stopped. What arrived is kept; Retry starts it again.", timeout=5_000
    )
    expect(page.locator("#result-error")).to_be_hidden()
    expect(page.locator("#result-text")).to_contain_text("You said")
    wait_for(lambda: Run.objects.filter(owner=alice, status=Run.Status.CANCELLED).exists())
    page.reload()
    expect(page.locator("#result-status")).to_have_text(
        "Stopped. What arrived is kept; Retry starts it again."
    )
    expect(page.locator("#result-error")).to_be_hidden()
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#result-error")).to_be_hidden()
    expect(page.locator("#result-text")).to_contain_text("word1", timeout=20_000)
    page.get_by_role("button", name="Stop").click()
    assert wait_for(lambda: Run.objects.filter(owner=alice).count() == 2)


def test_one_click_preset_one_confirmation_and_rewrite_again(
    live_site: str, page: Any, alice: Any
) -> None:
    """A preset clicked before the preview appeared shows it and asks once ("Rewrite with
    these replacements"), nothing is sent until then, and that one click sends it. "Rewrite
    again" makes the result the text to rewrite; one more preset click rewrites it."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    page.get_by_label("Text to rewrite").fill(ORIGINAL)
    page.get_by_role("button", name="Friendlier").click()  # at once: no preview yet
    confirm = page.get_by_role("button", name="Rewrite with these replacements")
    expect(confirm).to_be_visible(timeout=20_000)
    expect(confirm).to_be_focused()
    expect(page.locator("#preview")).to_contain_text("PERSON")
    assert not Run.objects.filter(owner=alice).exists()
    confirm.click()
    expect(page.locator("#result-text")).to_contain_text("You said: Hi Maria", timeout=20_000)
    expect(confirm).to_be_hidden()
    expect(page.get_by_role("button", name="Friendlier")).to_have_attribute("aria-pressed", "true")
    assert wait_for(lambda: Run.objects.filter(owner=alice).count() == 1)

    page.get_by_role("button", name="Rewrite again").click()
    text = page.get_by_label("Text to rewrite")
    expect(text).to_have_value(re.compile(r"^You said: Hi Maria Gonzalez"))
    expect(page.get_by_role("button", name="Shorter")).to_be_focused()
    page.wait_for_timeout(1500)  # the preview has appeared by now: no confirmation needed
    page.get_by_role("button", name="Shorter").click()
    expect(page.locator("#result-text")).to_contain_text(
        "You said: You said: Hi Maria", timeout=20_000
    )
    assert wait_for(lambda: Conversation.objects.filter(owner=alice).count() == 2)


def test_the_preview_sits_beside_the_text_on_a_wide_screen(
    live_site: str, page: Any, alice: Any
) -> None:
    """At 1366x900 the presets and Check are on the first screen and the preview appears
    to the right of the text, not below it."""
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    for name in ("Shorter", "Plain English", "Check", "Rewrite"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, name
    page.get_by_label("Text to rewrite").fill(ORIGINAL)
    preview = page.locator("#preview")
    expect(preview).to_contain_text("PERSON", timeout=20_000)
    text_box = page.get_by_label("Text to rewrite").bounding_box()
    preview_box = preview.bounding_box()
    assert text_box is not None and preview_box is not None
    assert preview_box["x"] >= text_box["x"] + text_box["width"]
    assert preview_box["y"] < text_box["y"] + text_box["height"]


def test_a_refused_rewrite_is_counted_as_blocked(live_site: str, page: Any, alice: Any) -> None:
    """A text the preview blocks is not sent; the refusal is recorded as prompt.blocked
    (tool rewrite, no content), so the reviewer's "Blocked" counts it."""
    from playwright.sync_api import expect

    from audit import actions
    from audit.models import AuditEvent

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    page.get_by_label("Text to rewrite").fill("Use aws_access_key_id=AKIAIOSFODNN7EXAMPLE now.")
    page.get_by_role("button", name="Shorter").click()
    expect(page.locator("#composer-error")).not_to_be_empty(timeout=20_000)
    event = wait_for(
        lambda: AuditEvent.objects.filter(action=actions.PROMPT_BLOCKED, actor=alice).first()
    )
    assert (event.tool, event.outcome, event.content) == ("rewrite", "blocked", "")
    assert not Run.objects.filter(owner=alice).exists()
