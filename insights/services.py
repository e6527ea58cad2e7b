"""Writes for insights: the audit events of every view and download, and the monthly
report (made once per month; making it again replaces it in place)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import actions
from audit.services import audit_record
from insights.models import AdoptionReport
from insights.periods import Period, month_period


def insights_viewed(
    *, user: Any, page: str, period: Period | None, query: dict[str, str], error: str = ""
) -> None:
    """Every page of insights is audited, refused ones too (with the sentence shown)."""
    audit_record(
        actor=user,
        action=actions.INSIGHTS_VIEWED,
        outcome="rejected" if error else "ok",
        details={
            "page": page,
            "period": period.query if period else {},
            # What was asked, cut short: a query string is not a place to store text.
            "query": {k[:20]: v[:40] for k, v in list(query.items())[:10]} if error else {},
            "error": error,
        },
    )


def insights_exported(*, user: Any, period: Period, table: str) -> None:
    audit_record(
        actor=user,
        action=actions.INSIGHTS_EXPORTED,
        details={"period": period.query, "table": table, "format": "csv"},
    )


def adoption_report_downloaded(*, user: Any, report: AdoptionReport, file_format: str) -> None:
    audit_record(
        actor=user,
        action=actions.INSIGHTS_REPORT_DOWNLOADED,
        target=report,
        details={"month": f"{report.month:%Y-%m}", "format": file_format},
    )


def adoption_report_create(*, month: date, actor: Any = "system:insights") -> AdoptionReport:
    """Make the report of `month` (its first day) from the rollups, brought up to date
    first. One row per month: a second run replaces the first one's content."""
    from insights.report import report_render
    from insights.rollup import rollups_refresh

    refreshed = rollups_refresh()
    rendered = report_render(month_period(month))
    now = timezone.now()
    with transaction.atomic():
        report, created = AdoptionReport.objects.select_for_update().get_or_create(
            month=month,
            defaults={"html": "", "pdf": b"", "created_at": now, "updated_at": now},
        )
        report.html, report.pdf, report.headline = rendered.html, rendered.pdf, rendered.headline
        report.through_event_id = refreshed.through_id
        report.updated_at = now
        report.save()
        audit_record(
            actor=actor,
            action=actions.INSIGHTS_REPORT_CREATED,
            target=report,
            details={
                "month": f"{month:%Y-%m}",
                "replaced": not created,
                "through_event_id": refreshed.through_id,
            },
        )
    return report
