"""manage.py adoption_report --month YYYY-MM [--out DIR]: make (or remake) one month's
report, store it (one per month) and optionally write report.html and report.pdf."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from insights.periods import PeriodError, company_today, month_period, parse_month, period_checked
from insights.services import adoption_report_create


class Command(BaseCommand):
    help = "Make the monthly adoption report (HTML and PDF) and store it in the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="the month, as YYYY-MM")
        parser.add_argument("--out", help="also write report.html and report.pdf to this folder")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = parse_month(options["month"])
            period_checked(month_period(month), today=company_today())
        except PeriodError as exc:
            raise CommandError(exc.user_message) from None
        report = adoption_report_create(month=month)
        if options.get("out"):
            folder = Path(options["out"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "report.html").write_text(report.html, encoding="utf-8")
            (folder / "report.pdf").write_bytes(bytes(report.pdf))
        self.stdout.write(
            f"Adoption report for {month:%Y-%m} stored ({len(bytes(report.pdf)):,} bytes of PDF)"
            + (f"; written to {options['out']}" if options.get("out") else "")
        )
