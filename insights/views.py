"""Insights pages: Insights viewers, Admins and Compliance reviewers; 404 for everyone
else, like the audit pages (neither reveals that it exists). Every view and download is
an audit event."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.roles import INSIGHTS_ROLES, role_required
from insights import services
from insights.periods import PeriodError, company_today, parse_month, period_from_query
from insights.rollup import rollups_refresh
from insights.selectors import insights_for, report_get, report_list

# Events folded in before a page is drawn; the scheduled refresh does the bulk.
PAGE_REFRESH_LIMIT = 5_000
REPORT_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def _quarters(today_year: int) -> list[str]:
    return [f"{year}-Q{q}" for year in range(today_year, today_year - 4, -1) for q in (4, 3, 2, 1)]


@role_required(INSIGHTS_ROLES, hide=True)
@require_GET
def insights_page(request: HttpRequest) -> HttpResponse:
    today = company_today()
    query = request.GET.dict()
    context = {
        "nav": "insights",
        "query": query,
        "quarters": _quarters(today.year),
        "min_group_size": settings.INSIGHTS_MIN_GROUP_SIZE,
    }
    try:
        period = period_from_query(query, today=today)
    except PeriodError as exc:
        services.insights_viewed(
            user=request.user, page="page", period=None, query=query, error=exc.user_message
        )
        return render(
            request, "insights/page.html", {**context, "error": exc.user_message}, status=400
        )
    refreshed = rollups_refresh(limit=PAGE_REFRESH_LIMIT, rebuild_if_needed=False)
    data = insights_for(period, today=today)
    services.insights_viewed(user=request.user, page="page", period=period, query=query)
    # The form shows the period on screen, whichever way it was chosen.
    context["query"] = {"month": f"{period.start:%Y-%m}", **period.query}
    return render(
        request,
        "insights/page.html",
        {
            **context,
            "insights": data,
            "period": period,
            "csv_query": urlencode(period.query),
            "catching_up": not refreshed.caught_up,
            "reports": report_list()[:24],
        },
    )


@role_required(INSIGHTS_ROLES, hide=True)
@require_GET
def insights_csv(request: HttpRequest, slug: str) -> HttpResponse:
    today = company_today()
    try:
        period = period_from_query(request.GET.dict(), today=today)
    except PeriodError as exc:
        services.insights_viewed(
            user=request.user, page=f"csv:{slug[:40]}", period=None,
            query=request.GET.dict(), error=exc.user_message,
        )  # fmt: skip
        return HttpResponse(exc.user_message, status=400, content_type="text/plain; charset=utf-8")
    rollups_refresh(limit=PAGE_REFRESH_LIMIT, rebuild_if_needed=False)
    table = insights_for(period, today=today).table(slug)
    if table is None:
        raise Http404
    services.insights_exported(user=request.user, period=period, table=slug)
    response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
    stamp = "_".join(period.query.values()).replace("-", "")
    response["Content-Disposition"] = f'attachment; filename="insights-{slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(INSIGHTS_ROLES, hide=True)
@require_GET
def report_download(request: HttpRequest, month: str, file_format: str) -> HttpResponse:
    if file_format not in REPORT_TYPES:
        raise Http404
    try:
        first = parse_month(month)
    except PeriodError:
        raise Http404 from None
    report = report_get(month=first)
    if report is None:
        raise Http404
    services.adoption_report_downloaded(user=request.user, report=report, file_format=file_format)
    body = bytes(report.pdf) if file_format == "pdf" else report.html
    response = HttpResponse(body, content_type=REPORT_TYPES[file_format])
    response["Content-Disposition"] = (
        f'attachment; filename="adoption-report-{first:%Y-%m}.{file_format}"'
    )
    response["Cache-Control"] = "no-store"
    return response
