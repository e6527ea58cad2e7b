"""Summarize's policy preview through the real parts (uvicorn, the Celery worker): before
anything runs, the page learns what will be replaced, redacted or blocked in the
document, with the page or section and a short excerpt for each; nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from prompting.selectors import model_default
from tests.support.site import post_form, session_cookie_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DOCUMENT = (
    "# Overview\n\nQuarterly dispute review for the payments team.\n\n"
    "# Disputes\n\nThe rider Olga Petrenko disputed a charge on card 4111 1111 1111 1111; "
    "her SSN 536-22-1234 was on the form.\n"
)


def paste(live_site: str, cookie: str, text: str) -> Any:
    status, document = post_form(live_site, "/summarize/documents", cookie, {"text": text})
    assert status == 201, document
    return document


def preview(live_site: str, cookie: str, document: Any) -> tuple[int, Any]:
    return post_form(
        live_site,
        document["preview_url"],
        cookie,
        {"model": model_default().id, "length": "short"},
    )


def test_the_preview_lists_each_finding_with_its_section_and_an_excerpt(
    live_site: str, alice: Any, bedrock_emulator: Any
) -> None:
    cookie = session_cookie_for(alice)
    before = len(bedrock_emulator.received)
    document = paste(live_site, cookie, DOCUMENT)
    status, data = preview(live_site, cookie, document)
    assert status == 200, data
    assert data["decision"] == "redact"
    assert data["counts"]["CREDIT_CARD"] == 1 and data["counts"]["US_SSN"] == 1
    by_type = {f["entity_type"]: f for f in data["findings"] if f["excerpt"]["value"] != "Disputes"}
    card = by_type["CREDIT_CARD"]
    assert card["action"] == "redact" and card["placeholder"] == "<CREDIT_CARD_1>"
    assert card["where"] == "Disputes"
    # The document was stored without the card (redacted on arrival): the excerpt shows
    # where it was.
    assert card["excerpt"]["value"] == "<CREDIT_CARD>"
    assert card["excerpt"]["before"].endswith("a charge on card ")
    assert card["excerpt"]["after"].startswith("; her SSN")
    assert by_type["PERSON"]["excerpt"]["value"] == "Olga Petrenko"
    assert by_type["PERSON"]["action"] == "pseudonymize"
    assert by_type["PERSON"]["placeholder"].startswith("<PERSON_")
    assert len(bedrock_emulator.received) == before  # a preview sends nothing
    event = AuditEvent.objects.filter(action="policy.previewed").latest("id")
    assert event.details["tool"] == "summarize"
    assert "4111" not in str(event.details)


def test_a_secret_blocks_the_summary_in_the_preview_naming_where(
    live_site: str, alice: Any
) -> None:
    cookie = session_cookie_for(alice)
    document = paste(
        live_site, cookie, "# Setup\n\nAll good.\n\n# Access\n\nThe password: Zq7!hunter2-x9\n"
    )
    status, data = preview(live_site, cookie, document)
    assert status == 200, data
    assert data["decision"] == "block"
    assert data["blocked_types"] == ["PASSWORD"]
    assert [(f["where"], f["action"]) for f in data["findings"]] == [("Access", "block")]


def test_the_preview_of_another_users_document_is_404(live_site: str, alice: Any, bob: Any) -> None:
    document = paste(live_site, session_cookie_for(alice), "Notes for Olga.")
    status, _ = preview(live_site, session_cookie_for(bob), document)
    assert status == 404
