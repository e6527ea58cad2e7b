"""The monthly adoption report: the command, the beat job, one report per month however
often it runs, downloads for insights viewers only (audited)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from pypdf import PdfReader

from audit import actions
from audit.models import AuditEvent
from insights import tasks
from insights.models import AdoptionReport
from tests.insights.conftest import (
    at,
    feedback,
    people,
    record_finished,
    record_prompt,
    sign_in_event,
    utc,
)

pytestmark = pytest.mark.django_db


def _month_of_use() -> None:
    support, finance = people("s", 7, "Support"), people("f", 5, "Finance")
    with at(utc(2026, 9, 10, 9)):
        for user in support[:3]:
            sign_in_event(user)
            record_prompt(user)
            record_finished(user, cost_usd="0.500000")
    with at(utc(2026, 10, 10, 9)):
        for user in support + finance:
            sign_in_event(user)
            record_prompt(user, tool="rewrite", preset="plain")
            record_finished(user, tool="rewrite", cost_usd="1.250000", preset="plain")
        feedback(support[0], "up")


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_command_writes_html_and_pdf_and_stores_one_report(tmp_path: Path, settings: Any) -> None:
    settings.INSIGHTS_MONTHLY_BUDGET_USD = 20
    _month_of_use()
    call_command("adoption_report", "--month", "2026-10", "--out", str(tmp_path))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    # Opens with the five numbers, then the sections, then "for the decision".
    order = [
        "Five numbers", "Active users", "Share of employees", "Requests", "Cost",
        "Helpful answers", "Adoption", "By department", "By tool and model", "Policy impact",
        "Quality", "For the decision",
    ]  # fmt: skip
    position = 0
    for word in order:  # each after the one before
        position = text.index(word, position) + len(word)
    assert "Rewrite: Plain English" in text
    assert "$15.00" in text  # twelve rewrites at $1.25
    assert "<svg" in html and 'role="img"' in html
    assert AdoptionReport.objects.count() == 1
    stored = AdoptionReport.objects.get()
    assert stored.month == date(2026, 10, 1) and bytes(stored.pdf) == pdf
    assert stored.headline["numbers"][0] == {
        "label": "Active users",
        "value": "12",
        "change": "+9",
    }


def test_running_twice_for_the_same_month_gives_one_report() -> None:
    _month_of_use()
    call_command("adoption_report", "--month", "2026-10")
    first = AdoptionReport.objects.get()
    with at(utc(2026, 10, 20, 9)):
        record_prompt(people("late", 1, "Support")[0])
    call_command("adoption_report", "--month", "2026-10")
    assert AdoptionReport.objects.count() == 1
    again = AdoptionReport.objects.get()
    assert again.pk == first.pk and again.headline["numbers"][0]["value"] == "13"
    created = AuditEvent.objects.filter(action=actions.INSIGHTS_REPORT_CREATED).order_by("id")
    assert [e.details["replaced"] for e in created] == [False, True]


def test_a_month_with_no_events_still_has_a_report() -> None:
    call_command("adoption_report", "--month", "2025-02")
    report = AdoptionReport.objects.get()
    assert "Nothing in this period." in report.html
    assert "Active users" in _pdf_text(bytes(report.pdf))


@pytest.mark.parametrize(
    ("month", "sentence"),
    [("2026-13", "YYYY-MM"), ("next", "YYYY-MM"), ("2999-01", "has not started yet")],
)
def test_bad_months_are_refused_with_a_sentence(month: str, sentence: str) -> None:
    with pytest.raises(CommandError, match=sentence):
        call_command("adoption_report", "--month", month)
    assert not AdoptionReport.objects.exists()


def test_the_beat_job_makes_last_months_report_once(settings: Any) -> None:
    """On the 1st (in the company's zone) last month's report appears; the hourly job
    then leaves it alone. At 23:30 UTC on 31 October it is already 1 November in Paris."""
    settings.COMPANY_TIME_ZONE = "Europe/Paris"
    _month_of_use()
    with mock.patch("django.utils.timezone.now", return_value=utc(2026, 10, 31, 12, 0)):
        assert tasks.monthly_report() == "created"  # September's, still missing
    assert list(AdoptionReport.objects.values_list("month", flat=True)) == [date(2026, 9, 1)]
    with mock.patch("django.utils.timezone.now", return_value=utc(2026, 10, 31, 23, 30)):
        assert tasks.monthly_report() == "created"
        assert tasks.monthly_report() == "exists"
    assert sorted(AdoptionReport.objects.values_list("month", flat=True)) == [
        date(2026, 9, 1),
        date(2026, 10, 1),
    ]


def test_reports_are_downloaded_by_viewers_and_audited(
    client: Client, viewer: Any, alice: Any
) -> None:
    _month_of_use()
    call_command("adoption_report", "--month", "2026-10")
    client.force_login(alice)
    assert client.get("/insights/reports/2026-10.pdf").status_code == 404
    client.force_login(viewer)
    pdf = client.get("/insights/reports/2026-10.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    html = client.get("/insights/reports/2026-10.html")
    assert html.status_code == 200 and b"Adoption report" in html.content
    assert html["Content-Disposition"] == 'attachment; filename="adoption-report-2026-10.html"'
    for url in ("/insights/reports/2026-09.pdf", "/insights/reports/2026-10.exe",
                "/insights/reports/bogus.pdf"):  # fmt: skip
        assert client.get(url).status_code == 404
    downloads = AuditEvent.objects.filter(action=actions.INSIGHTS_REPORT_DOWNLOADED)
    assert sorted(e.details["format"] for e in downloads) == ["html", "pdf"]
    page = client.get("/insights/?period=month&month=2026-10").content.decode()
    assert "/insights/reports/2026-10.pdf" in page
