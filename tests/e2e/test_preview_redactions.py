"""The policy preview in headless Chromium shows redactions in all three tools: Chat,
Rewrite and Summarize (pasted and uploaded). The work is then served with the
placeholder; the model never receives the card number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.prompting.summarize.pdf_factory import make_pdf
from tests.support.live import sign_in
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CARD = "4111 1111 1111 1111"
REDACTED = "Will be redacted: 1 \u00d7 payment card number (CREDIT_CARD)"


def never_sent(bedrock_emulator: Any) -> None:
    assert all("4111" not in r.last_user_text for r in list(bedrock_emulator.received))


def test_chat_preview_shows_the_redaction(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Message", exact=True).fill(f"Rider says card {CARD} was charged twice.")
    page.get_by_role("button", name="Check").click()
    preview = page.locator("#preview")
    expect(preview.locator("mark.finding-redact")).to_have_count(1, timeout=30_000)
    expect(preview).to_contain_text(REDACTED)
    page.get_by_role("button", name="Send").click()
    assert wait_for(
        lambda: any("<CREDIT_CARD_1>" in r.last_user_text for r in bedrock_emulator.received),
        timeout=30,
    )
    never_sent(bedrock_emulator)


def test_rewrite_preview_shows_the_redaction(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    page.get_by_label("Text to rewrite").fill(f"pls refund card {CARD} asap")
    page.get_by_role("button", name="Check").click()
    preview = page.locator("#preview")
    expect(preview.locator("mark.finding-redact")).to_have_count(1, timeout=30_000)
    expect(preview).to_contain_text(REDACTED)
    page.get_by_role("button", name="More formal").click()  # a preset is one click
    expect(page.locator("#result-text")).to_contain_text("<CREDIT_CARD_1>", timeout=30_000)
    never_sent(bedrock_emulator)


def test_summarize_preview_of_a_paste_shows_the_redaction_and_where(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/summarize/")
    page.get_by_label("Or paste text").fill(
        f"# Overview\n\nDispute review.\n\n# Chargebacks\n\nA charge on card {CARD} was disputed.\n"
    )
    page.get_by_role("button", name="Check the document").click()
    preview = page.locator("#sum-preview")
    expect(preview).to_contain_text(REDACTED, timeout=30_000)
    finding = preview.locator("li.finding-row-redact")
    expect(finding).to_contain_text("Chargebacks:")
    expect(finding).to_contain_text("redacted: sent as <CREDIT_CARD_1>")
    # Stored without the card since it was pasted: the excerpt marks where it was.
    expect(finding.locator("mark.finding-redact")).to_have_text("<CREDIT_CARD>")
    page.get_by_role("button", name="Summarize").click()
    expect(page.locator("#sum-output")).to_contain_text("<CREDIT_CARD_1>", timeout=30_000)
    never_sent(bedrock_emulator)


def test_summarize_preview_of_an_upload_names_the_page_and_a_secret_stops_it(
    live_site: str, page: Any, alice: Any, bedrock_emulator: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    pdf = tmp_path / "access.pdf"
    pdf.write_bytes(
        make_pdf(
            [
                ["Access review", "Nothing to report on this page."],
                ["Findings", f"Card {CARD} on file.", "The password: Zq7!hunter2-x9"],
            ]
        )
    )
    before = len(bedrock_emulator.received)
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/summarize/")
    page.get_by_label("Upload a file").set_input_files(str(pdf))
    page.get_by_role("button", name="Check the document").click()
    summary = page.locator("#sum-preview-summary")
    expect(summary).to_contain_text(
        "Not summarized: the document contains a password", timeout=30_000
    )
    expect(summary).to_contain_text("Page 2")
    expect(page.locator("#sum-preview li.preview-finding").first).to_contain_text("Page 2:")
    expect(page.locator("#sum-preview mark.finding-redact")).to_have_text("<CREDIT_CARD>")
    expect(page.get_by_role("button", name="Summarize")).to_be_disabled()
    assert len(bedrock_emulator.received) == before
