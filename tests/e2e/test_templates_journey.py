"""Templates in headless Chromium: blanks ({{customer}}) are asked for in a small form and
filled in, the text goes in at the cursor (not below the draft), Escape cancels the form;
a department's template reaches a colleague's picker."""

from __future__ import annotations

from typing import Any

import pytest

from prompting.models import PromptTemplate
from tests.conftest import make_user
from tests.e2e.test_accessibility import axe_page, violations  # noqa: F401 (fixture)
from tests.support.live import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_chat_template_blanks_are_filled_and_inserted_at_the_cursor(
    live_site: str, page: Any, alice: Any
) -> None:
    from playwright.sync_api import expect

    PromptTemplate.objects.create(
        owner=alice,
        title="Refund",
        tool="chat",
        body="Write to {{customer}} about order {{ order }}; thank {{Customer}}.",
    )
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/chat/")
    message = page.get_by_label("Message", exact=True)
    message.fill("Hello\n\nBest regards")
    message.evaluate("(el) => el.setSelectionRange(6, 6)")  # the blank line after Hello

    page.get_by_label("Insert a template").select_option(label="Refund")
    page.get_by_role("button", name="Use").click()
    group = page.get_by_role("group", name="Fill in “Refund”")
    expect(group).to_be_visible()
    customer = group.get_by_label("customer", exact=True)
    expect(customer).to_be_focused()
    expect(group.get_by_label("order", exact=True)).to_be_visible()
    expect(group.get_by_role("textbox")).to_have_count(2)  # {{Customer}} is the same blank

    group.get_by_role("button", name="Insert").click()
    expect(group.get_by_role("alert")).to_have_text("Fill in “customer”.")
    customer.fill("Ms Lee")
    group.get_by_label("order", exact=True).fill("$1 & {{x}}")
    group.get_by_label("order", exact=True).press("Enter")
    expect(group).to_be_hidden()
    expect(message).to_have_value(
        "Hello\nWrite to Ms Lee about order $1 & {{x}}; thank Ms Lee.\nBest regards"
    )
    expect(message).to_be_focused()

    page.get_by_role("button", name="Use").click()
    expect(page.get_by_role("group", name="Fill in “Refund”")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("group", name="Fill in “Refund”")).to_be_hidden()
    expect(page.get_by_role("button", name="Use")).to_be_focused()


def test_rewrite_template_blanks_become_the_instruction(
    live_site: str, page: Any, alice: Any
) -> None:
    from playwright.sync_api import expect

    carol = make_user("carol", department="Support")
    PromptTemplate.objects.create(
        owner=carol, title="Tone for", tool="rewrite", body="Make it suitable for {{audience}}",
        audience="department",
    )  # fmt: skip
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/rewrite/")
    page.get_by_text("Model and templates").click()
    page.get_by_label("Use a template as the instruction").select_option(label="Tone for (Support)")
    page.get_by_role("button", name="Use").click()
    page.get_by_role("group", name="Fill in “Tone for (Support)”").get_by_label("audience").fill(
        "a worried customer"
    )
    page.get_by_role("button", name="Insert").click()
    expect(page.get_by_label("Or your own instruction")).to_have_value(
        "Make it suitable for a worried customer"
    )


def test_template_pages_and_the_blanks_form_have_no_violations(
    live_site: str,
    axe_page: Any,  # noqa: F811 (the fixture imported above)
    admin_user: Any,
    alice: Any,
) -> None:
    """axe-core at both sizes: the Admins' templates page with one waiting for approval,
    the sharing choices, and Chat with the blanks form open."""
    PromptTemplate.objects.create(
        owner=alice, title="Ask all", tool="chat", body="Hi {{name}}", audience="everyone"
    )
    PromptTemplate.objects.create(owner=admin_user, title="Mine", tool="chat", body="Dear {{who}}")
    page = axe_page
    sign_in(page, live_site, admin_user)
    page.goto(f"{live_site}/templates/")
    assert page.get_by_role("heading", name="Waiting for approval").is_visible()
    assert violations(page) == []
    page.goto(f"{live_site}/chat/")
    page.get_by_label("Insert a template").select_option(label="Mine")
    page.get_by_role("button", name="Use").click()
    page.get_by_role("group", name="Fill in “Mine”").wait_for()
    assert violations(page) == []
