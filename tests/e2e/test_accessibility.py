"""axe-core (from the npm registry, tests/e2e/node) over every page, at a laptop's and a
phone's size, in the states people see (empty, with history, preview open, diff shown,
the phone's menu open): no violations at all, whatever their impact."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prompting import services
from prompting.models import Message, PromptTemplate, Run
from prompting.rewrite import services as rewrite_services
from prompting.runs import services as run_services
from tests.support.live import sign_in
from tests.support.processes import OUTPUT

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def axe_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page whose context may inject axe: the site's CSP (script-src 'self') would
    otherwise refuse the injected script, as it should for anything else. Each test runs
    at a laptop's and a phone's size."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed (cd tests/e2e/node && npm ci)")
    context = browser.new_context(viewport=SIZES[request.param], bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
    try:
        page.screenshot(path=str(OUTPUT / "screenshots" / f"{name}.png"), full_page=True)
    finally:
        context.close()


def violations(page: Any, impacts: tuple[str, ...] | None = None) -> list[str]:
    """axe-core's violations on the page as it is now (all of them unless `impacts`)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in result["violations"]
        if impacts is None or v["impact"] in impacts
    ]


def serious_violations(page: Any) -> list[str]:
    return violations(page, ("serious", "critical"))


def finished_chat(user: Any) -> int:
    conversation = services.conversation_create(owner=user)
    run = run_services.run_create(user=user, conversation=conversation, text="Summarise *this*")
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        content=(
            "# Heading\n\n- a list\n- [a link](https://example.com)\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |"
        ),
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, assistant_message=answer)
    failed = run_services.run_create(user=user, conversation=conversation, text="and again")
    Run.objects.filter(pk=failed.pk).update(
        status=Run.Status.FAILED, error_message="The model stopped answering. You can retry."
    )
    return conversation.pk


def test_chat_pages_have_no_serious_violations(live_site: str, axe_page: Any, alice: Any) -> None:
    """Empty chat, a conversation with a rendered answer and a failed one, and the
    composer with the policy preview open."""
    page = axe_page
    PromptTemplate.objects.create(owner=alice, title="Apology", body="Apologise", tool="chat")
    conversation_id = finished_chat(alice)
    sign_in(page, live_site, alice)

    page.goto(f"{live_site}/chat/")
    assert violations(page) == []

    page.goto(f"{live_site}/chat/{conversation_id}/")
    page.get_by_text("Comment").first.click()
    page.get_by_text("Rename").click()
    assert violations(page) == []

    page.get_by_label("Message", exact=True).fill("Call Maria Gonzalez on (415) 555-0132.")
    page.get_by_role("button", name="Check").click()
    page.locator("#preview mark").first.wait_for()
    page.get_by_text("A value is not personal data?").click()
    page.get_by_text("What the model will receive").click()
    assert violations(page) == []


def test_rewrite_and_template_pages_have_no_serious_violations(
    live_site: str, axe_page: Any, alice: Any
) -> None:
    """Rewrite (empty, and a finished rewrite with the diff shown) and the template page."""
    page = axe_page
    run = rewrite_services.rewrite_create(user=alice, text="the orignal text", preset="grammar")
    answer = Message.objects.create(
        conversation=run.conversation, role=Message.Role.ASSISTANT, content="The original text."
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, assistant_message=answer)
    PromptTemplate.objects.create(owner=alice, title="Tone", body="Calmer", tool="rewrite")
    sign_in(page, live_site, alice)

    page.goto(f"{live_site}/rewrite/")
    assert violations(page) == []
    page.get_by_label("Text to rewrite").fill("Call Maria Gonzalez on (415) 555-0132.")
    page.get_by_role("button", name="Check").click()
    page.locator("#preview mark").first.wait_for()
    assert violations(page) == [], "rewrite with the preview open"
    page.goto(f"{live_site}/rewrite/{run.conversation_id}/")
    page.get_by_role("button", name="Show changes").click()
    assert violations(page) == []
    page.goto(f"{live_site}/templates/")
    assert violations(page) == []
    template = PromptTemplate.objects.get()
    page.goto(f"{live_site}/templates/{template.pk}/edit")
    assert violations(page) == []


def test_summarize_audit_insights_and_sign_in_have_no_violations(
    live_site: str, axe_page: Any, reviewer: Any
) -> None:
    """The other pages, for someone with every role: Summarize, the audit log and one
    event, insights, and the sign-in page; with the phone's menu open too."""
    from accounts.roles import ADMIN, INSIGHTS_VIEWER
    from accounts.services import user_roles_sync
    from tests.audit.conftest import record_blocked, record_prompt

    page = axe_page
    page.goto(f"{live_site}/accounts/login/")
    assert violations(page) == [], "sign-in"
    user_roles_sync(
        user=reviewer,
        roles={"Employee", "Compliance reviewer", ADMIN, INSIGHTS_VIEWER},
        source="test",
    )
    record_blocked(reviewer)
    event = record_prompt(reviewer)
    sign_in(page, live_site, reviewer)
    for path in ("/summarize/", "/audit/", f"/audit/events/{event.pk}/", "/insights/"):
        response = page.goto(f"{live_site}{path}")
        assert response is not None and response.status == 200, path
        assert violations(page) == [], path
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
        assert violations(page) == [], "menu open"
