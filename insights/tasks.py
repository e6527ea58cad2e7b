"""Beat jobs: keep the rollups current, and make last month's report once it is over."""

from __future__ import annotations

from celery import shared_task

from insights.periods import add_months, company_today


@shared_task
def refresh_rollups() -> int:
    from insights.rollup import rollups_refresh

    return rollups_refresh().events


@shared_task
def monthly_report() -> str:
    """Hourly; makes the report of the month that just ended in the company's zone if it
    does not exist yet (so the 1st's report appears within the hour, and a worker that was
    down on the 1st catches up). A report already made is left alone."""
    from insights.models import AdoptionReport
    from insights.services import adoption_report_create

    month = add_months(company_today().replace(day=1), -1)
    if AdoptionReport.objects.filter(month=month).exists():
        return "exists"
    adoption_report_create(month=month)
    return "created"
