"""Every page fits the screen: at 390x844 (a phone) and 1366x900 (a laptop) no page is
wider than the viewport, the navigation sits behind a Menu button on the phone, and a
drawer (static/js/shell.js) opens, traps nothing, and closes with Escape. Screenshots of
each page at each size are saved under test-output/screenshots/responsive/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.roles import ADMIN, COMPLIANCE_REVIEWER, INSIGHTS_VIEWER
from audit import actions
from audit.models import AuditEvent
from prompting import services
from prompting.models import Message, PromptTemplate, Run
from prompting.rewrite import services as rewrite_services
from prompting.runs import services as run_services
from tests.audit.conftest import record_blocked, record_finished, record_prompt
from tests.conftest import make_user
from tests.support.live import sign_in
from tests.support.processes import OUTPUT

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
SIZES = {"phone": PHONE, "laptop": LAPTOP}
SHOTS = OUTPUT / "screenshots" / "responsive"

# Long words, a wide table and a long code line: the content most likely to push a page.
LONG_ANSWER = (
    "# A heading that is long enough to wrap on a narrow phone screen\n\n"
    "A_very_long_identifier_without_any_break_opportunity_"
    * 3
    + "\n\n| customer | city | note | amount | status | reference |\n"
    "|---|---|---|---|---|---|\n"
    "| <PERSON_1> | Springfield | waiting for the refund | 1,234.56 | open | REF-2026-000123 |\n\n"
    "```python\nprint('" + "x" * 200 + "')\n```\n"
)


def _plant(user: Any) -> dict[str, str]:
    """Data on every page, and the paths that show it."""
    conversation = services.conversation_create(owner=user)
    run = run_services.run_create(
        user=user, conversation=conversation, text="Please summarise " + "averylongword" * 20
    )
    answer = Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, content=LONG_ANSWER
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, assistant_message=answer)
    rewrite = rewrite_services.rewrite_create(
        user=user, text="the orignal text " + "unbroken" * 30, preset="grammar"
    )
    reply = Message.objects.create(
        conversation=rewrite.conversation, role=Message.Role.ASSISTANT, content="The text."
    )
    Run.objects.filter(pk=rewrite.pk).update(status=Run.Status.DONE, assistant_message=reply)
    template = PromptTemplate.objects.create(
        owner=user, title="Apology " + "x" * 60, body="Dear {{customer}}, " + "y" * 300, tool="chat"
    )
    record_prompt(user)
    record_blocked(user)
    record_finished(user)
    event = AuditEvent.objects.filter(action=actions.PROMPT_SUBMITTED).first()
    assert event is not None
    return {
        "chat": "/chat/",
        "chat-conversation": f"/chat/{conversation.pk}/",
        "rewrite": "/rewrite/",
        "rewrite-detail": f"/rewrite/{rewrite.conversation_id}/",
        "summarize": "/summarize/",
        "templates": "/templates/",
        "template-edit": f"/templates/{template.pk}/edit",
        "insights": "/insights/",
        "audit": "/audit/",
        "audit-detail": f"/audit/events/{event.pk}/",
    }


@pytest.fixture
def everyone(db: None) -> Any:
    """One person with every role, so the navigation is as long as it gets."""
    return make_user("eve", COMPLIANCE_REVIEWER, ADMIN, INSIGHTS_VIEWER, department="IT")


@pytest.fixture
def sized_page(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page(size: dict[str, int]) -> Any:
        context = browser.new_context(viewport=size)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def overflow(page: Any) -> tuple[int, int]:
    return page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")


def widest(page: Any) -> list[str]:
    """The elements that stick out on the right (for the failure message)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
          .filter((el) => !el.closest('.table-scroll'))
          .slice(-5)
          .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`
                       + ` ${Math.round(el.getBoundingClientRect().right)}px`)"""
    )


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_no_page_is_wider_than_the_screen(
    live_site: str, sized_page: Any, everyone: Any, size: str
) -> None:
    """Each page, signed in with every role (the longest menu) and signed out (sign-in),
    is at most as wide as the viewport."""
    paths = _plant(everyone)
    page = sized_page(SIZES[size])
    page.goto(f"{live_site}/accounts/login/")
    too_wide: dict[str, Any] = {}
    scroll, inner = overflow(page)
    shoot(page, f"sign-in-{size}")
    if scroll > inner:
        too_wide["sign-in"] = scroll
    sign_in(page, live_site, everyone)
    for name, path in paths.items():
        response = page.goto(f"{live_site}{path}")
        assert response is not None and response.status == 200, (name, response)
        scroll, inner = overflow(page)
        shoot(page, f"{name}-{size}")
        if scroll > inner:
            too_wide[name] = (scroll, widest(page))
    assert too_wide == {}, f"wider than {SIZES[size]['width']} px: {too_wide}"


def test_the_menu_folds_on_a_phone_and_escape_closes_it(
    live_site: str, sized_page: Any, everyone: Any
) -> None:
    """On a phone the links sit behind "Menu" (aria-expanded follows), Escape closes the
    menu and gives the focus back to the button; on a laptop the links are simply there.
    No page asks for a missing favicon."""
    from playwright.sync_api import expect

    phone = sized_page(PHONE)
    missing: list[str] = []
    phone.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(phone, live_site, everyone)
    phone.goto(f"{live_site}/rewrite/")
    menu = phone.get_by_role("button", name="Menu")
    templates = phone.get_by_role("navigation", name="Main").get_by_role("link", name="Templates")
    sign_out = phone.get_by_role("button", name="Sign out")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(templates).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for link in ("Chat", "Rewrite", "Summarize", "Templates", "Audit", "Insights", "Admin"):
        box = phone.get_by_role("link", name=link, exact=True).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    box = sign_out.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    shoot(phone, "menu-open-phone")
    phone.keyboard.press("Escape")
    expect(templates).to_be_hidden()
    expect(menu).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    templates.click()
    phone.wait_for_url(f"{live_site}/templates/")
    assert missing == []

    laptop = sized_page(LAPTOP)
    sign_in(laptop, live_site, everyone)
    laptop.goto(f"{live_site}/rewrite/")
    expect(laptop.get_by_role("button", name="Menu")).to_be_hidden()
    expect(
        laptop.get_by_role("navigation", name="Main").get_by_role("link", name="Templates")
    ).to_be_visible()
    expect(laptop.get_by_role("button", name="Sign out")).to_be_visible()


DRAWER = """
<button type="button" class="drawer-toggle" data-drawer-toggle="test-drawer"
        aria-controls="test-drawer" aria-expanded="false">Conversations</button>
<aside id="test-drawer" class="shell-drawer" aria-label="Conversations">
  <button type="button" class="drawer-close secondary" data-drawer-close>Close</button>
  <a href="#first" id="first-link">First conversation</a>
</aside>
"""


def test_the_drawer_pattern_opens_and_closes(live_site: str, sized_page: Any, alice: Any) -> None:
    """The shell's drawer (for the chat's conversation list): on a phone a button slides it
    in over the page and focuses its first control; Escape, the backdrop, Close and a link
    each close it, the toggle's aria-expanded following. On a laptop it is in the flow
    and the toggle is not shown."""
    from playwright.sync_api import expect

    phone = sized_page(PHONE)
    sign_in(phone, live_site, alice)
    phone.goto(f"{live_site}/templates/")
    phone.locator("main").evaluate(
        "(main, html) => main.insertAdjacentHTML('afterbegin', html)", DRAWER
    )
    toggle = phone.get_by_role("button", name="Conversations")
    drawer = phone.locator("#test-drawer")
    expect(drawer).to_be_hidden()
    toggle.click()
    expect(drawer).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(phone.get_by_role("button", name="Close")).to_be_focused()
    assert overflow(phone)[0] <= PHONE["width"]
    shoot(phone, "drawer-open-phone")
    phone.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()
    phone.mouse.click(380, 400)  # the backdrop, right of the drawer
    expect(drawer).to_be_hidden()
    toggle.click()
    phone.get_by_role("button", name="Close").click()
    expect(drawer).to_be_hidden()
    toggle.click()
    phone.get_by_role("link", name="First conversation").click()
    expect(drawer).to_be_hidden()

    laptop = sized_page(LAPTOP)
    sign_in(laptop, live_site, alice)
    laptop.goto(f"{live_site}/templates/")
    laptop.locator("main").evaluate(
        "(main, html) => main.insertAdjacentHTML('afterbegin', html)", DRAWER
    )
    expect(laptop.get_by_role("button", name="Conversations")).to_be_hidden()
    expect(laptop.get_by_role("link", name="First conversation")).to_be_visible()


def where(locator: Any) -> list[float]:
    """Position in the document (not the viewport, which scrolls to a clicked button)."""
    return locator.evaluate(
        "(el) => { const r = el.getBoundingClientRect();"
        " return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }"
    )


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_the_preview_does_not_move_the_buttons(
    live_site: str, sized_page: Any, alice: Any, size: str
) -> None:
    """Rewrite: the policy preview and an error line appear without moving Check or
    Rewrite under the finger."""
    from playwright.sync_api import expect

    page = sized_page(SIZES[size])
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    check = page.get_by_role("button", name="Check")
    send = page.get_by_role("button", name="Rewrite", exact=True)
    before = (where(check), where(send))
    page.get_by_label("Text to rewrite").fill("Call Maria Gonzalez on (415) 555-0132 today.")
    check.click()
    expect(page.locator("#preview mark").first).to_be_visible(timeout=20_000)
    assert (where(check), where(send)) == before
    page.get_by_label("Text to rewrite").fill("")
    send.click()
    expect(page.locator("#composer-error")).to_have_text("Paste the text to rewrite first.")
    assert (where(check), where(send)) == before
    shoot(page, f"rewrite-buttons-{size}")


def test_keyboard_skip_links_shortcut_and_escape(
    live_site: str, sized_page: Any, alice: Any
) -> None:
    """Tab from the top reaches "Skip to content" then "Skip to the message box"; "/"
    outside a field jumps to the message box (and types nothing); Escape closes an open
    Rename and gives the focus back to its summary."""
    from playwright.sync_api import expect

    conversation = services.conversation_create(owner=alice, title="Refund question")
    page = sized_page(LAPTOP)
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/{conversation.pk}/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the message box (shortcut: /)")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    message = page.get_by_label("Message", exact=True)
    expect(message).to_be_focused()

    page.get_by_role("heading", name="Refund question").click()
    page.keyboard.press("/")
    expect(message).to_be_focused()
    expect(message).to_have_value("")
    page.keyboard.type("a/b")
    expect(message).to_have_value("a/b")  # "/" in a field is just a character

    rename = page.locator("summary", has_text="Rename")
    rename.click()
    page.get_by_label("New title").focus()
    page.keyboard.press("Escape")
    expect(page.get_by_label("New title")).to_be_hidden()
    expect(rename).to_be_focused()

    page.goto(f"{live_site}/rewrite/")
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.get_by_label("Text to rewrite")).to_be_focused()
