"""A compliance reviewer filters the audit log and exports it, in headless Chromium,
against the site under uvicorn (ASGI: the export streams through the async path)."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from audit import actions
from audit.models import AuditEvent
from tests.audit.conftest import record_blocked, record_prompt
from tests.support.live import sign_in
from tests.support.processes import OUTPUT

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


def _plant_events(alice: Any, bob: Any) -> list[int]:
    """Last month: two blocked Support prompts (wanted), a blocked Finance prompt and an
    allowed Support prompt (not wanted); this month: another blocked Support prompt."""
    now = timezone.now()
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(day=12, hour=9)
    with mock.patch("django.utils.timezone.now", return_value=last_month):
        wanted = [record_blocked(alice).id]
        record_blocked(bob)
        record_prompt(alice)
    with mock.patch("django.utils.timezone.now", return_value=last_month + timedelta(days=1)):
        wanted.append(record_blocked(alice, blocked_types=["CREDIT_CARD"]).id)
    record_blocked(alice)
    return wanted


def _download(page: Any, link_name: str) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name, exact=True).click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def test_reviewer_filters_last_month_support_blocked_and_exports(
    transactional_db: None, live_site: str, page: Any, alice: Any, bob: Any, reviewer: Any
) -> None:
    """The reviewer picks "Last month", department "Support", outcome "blocked" with
    labelled controls and the keyboard, sees exactly those events and their totals,
    and downloads CSV and JSON Lines holding exactly those events; each view and
    export is itself an audit event."""
    wanted = _plant_events(alice, bob)
    sign_in(page, live_site, reviewer)
    page.goto(f"{live_site}/audit/")
    assert page.get_by_role("heading", name="Audit log", exact=True).is_visible()

    page.get_by_label("Quick period", exact=True).select_option("last_month")
    page.get_by_label("Department", exact=True).select_option("Support")
    page.get_by_label("Outcome", exact=True).select_option("blocked")
    page.get_by_role("button", name="Apply filters").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/audit/?*outcome=blocked*")

    table = page.get_by_role("table", name="Audit events matching the filters")
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    shown = [int(rows.nth(i).locator("td").first.inner_text()) for i in range(2)]
    assert shown == sorted(wanted, reverse=True)
    assert page.locator('[data-total="blocked"]').inner_text() == "2"
    assert page.locator('[data-total="requests"]').inner_text() == "2"
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / "audit_list_filtered.png"), full_page=True)

    exported_csv = list(csv.DictReader(_download(page, "Export CSV").splitlines()))
    assert [int(row["id"]) for row in exported_csv] == wanted
    assert {row["actor_department"] for row in exported_csv} == {"Support"}
    assert {row["outcome"] for row in exported_csv} == {"blocked"}

    jsonl = [json.loads(line) for line in _download(page, "Export JSON Lines").splitlines()]
    assert [row["id"] for row in jsonl] == wanted
    assert jsonl[1]["details"]["blocked_types"] == ["CREDIT_CARD"]
    assert all("content" not in row for row in jsonl)

    exports = AuditEvent.objects.filter(action=actions.AUDIT_EXPORTED, actor=reviewer)
    assert sorted(e.details["format"] for e in exports) == ["csv", "jsonl"]
    assert all(
        e.details["filters"]["department"] == "Support"
        and e.details["filters"]["outcome"] == "blocked"
        for e in exports
    )
    assert AuditEvent.objects.filter(action=actions.AUDIT_VIEWED, actor=reviewer).count() >= 2

    page.get_by_role("link", name=f"Event {wanted[0]} details").click()
    # is_visible() does not wait: wait for the detail page, then read the heading, so
    # a broken chain fails with its text instead of racing the navigation.
    page.wait_for_url(f"**/audit/events/{wanted[0]}/")
    assert page.locator("#chain-heading").inner_text() == "Chain status: intact"


def test_reviewer_sees_content_only_after_giving_a_reason(
    transactional_db: None, live_site: str, page: Any, alice: Any, reviewer: Any
) -> None:
    """The detail page hides the sanitized content until a reason is typed and sent
    from the keyboard; the export with content asks for one too; both are recorded."""
    event = record_prompt(alice)
    sign_in(page, live_site, reviewer)
    page.goto(f"{live_site}/audit/events/{event.id}/")
    assert page.get_by_text("Hi <PERSON_1>").count() == 0
    page.get_by_label("Reason for viewing the content").fill("Ticket COMP-7: review a prompt")
    page.get_by_role("button", name="Show the content").focus()
    page.keyboard.press("Enter")
    page.get_by_text("Hi <PERSON_1>").wait_for()
    viewed = AuditEvent.objects.get(action=actions.AUDIT_CONTENT_VIEWED, actor=reviewer)
    assert viewed.details == {"reason": "Ticket COMP-7: review a prompt"}

    page.goto(f"{live_site}/audit/?action={actions.PROMPT_SUBMITTED}")
    page.get_by_label("Reason for viewing the content").fill("Case 12, export for legal")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export JSON Lines with sanitized content").click()
    rows = [json.loads(x) for x in Path(info.value.path()).read_text().splitlines()]
    assert [(row["id"], row["content"]) for row in rows] == [(event.id, "Hi <PERSON_1>")]
    exported = AuditEvent.objects.get(action=actions.AUDIT_EXPORTED, actor=reviewer)
    assert exported.details["reason"] == "Case 12, export for legal"


def test_times_are_local_with_utc_on_hover_and_actions_read_as_words(
    transactional_db: None, live_site: str, browser: Any, alice: Any, reviewer: Any
) -> None:
    """In a Tokyo browser an event written at 01:30 UTC reads 10:30 (JST); the UTC time is
    in the title; the action reads "Prompt blocked" with its code in the tooltip."""
    from datetime import UTC, datetime

    when = datetime(2026, 3, 2, 1, 30, 5, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=when):
        event = record_blocked(alice)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        sign_in(page, live_site, reviewer)
        page.goto(f"{live_site}/audit/?date_from=2026-03-02&date_to=2026-03-02")
        row = page.locator("tr", has=page.get_by_role("link", name=f"Event {event.id} details"))
        time = row.locator("time")
        assert "10:30:05" in time.inner_text() and "UTC" not in time.inner_text()
        assert time.get_attribute("title") == "2026-03-02 01:30:05 UTC"
        action = row.locator(".action-name")
        assert action.inner_text() == "Prompt blocked"
        assert action.get_attribute("title") == "prompt.blocked"
        page.screenshot(path=str(OUTPUT / "screenshots" / "audit-local-time.png"), full_page=True)
    finally:
        context.close()
