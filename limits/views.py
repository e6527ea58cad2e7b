"""The usage page: every employee sees this month's usage against their limits and their
department's; admins also see every employee and department, and export them as CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import ADMIN, user_has_role
from audit.actions import Action
from audit.services import audit_record
from limits import selectors
from limits.windows import MONTH, window_at

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
KINDS = ("users", "departments")


@require_GET
def usage_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    is_admin = user_has_role(request.user, ADMIN)
    context = {
        "nav": "usage",
        "month": window_at(MONTH, now, settings.LIMITS_TIME_ZONE),
        "time_zone": settings.LIMITS_TIME_ZONE,
        "scopes": selectors.usage_for_user(user=request.user, now=now),
        "is_admin": is_admin,
    }
    if is_admin:
        context["users"] = selectors.usage_by_user(now=now)
        context["departments"] = selectors.usage_by_department(now=now)
    return render(request, "limits/usage.html", context)


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # a spreadsheet must not run a name as a formula
    return value


@require_GET
def usage_csv(request: HttpRequest, kind: str) -> HttpResponse:
    """This month, per employee or per department (admins; recorded as usage.exported)."""
    if not user_has_role(request.user, ADMIN) or kind not in KINDS:
        raise Http404
    now = timezone.now()
    month = window_at(MONTH, now, settings.LIMITS_TIME_ZONE)
    rows = (
        selectors.usage_by_user(now=now)
        if kind == "users"
        else selectors.usage_by_department(now=now)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([kind[:-1], "month", "requests", "tokens", "cost_usd"])
    for row in rows:
        cost = f"{Decimal(row.cost_usd):.6f}"
        writer.writerow([_cell(row.label), month.label, row.requests, row.tokens, cost])
    audit_record(
        actor=request.user,
        action=Action.USAGE_EXPORTED,
        details={"kind": kind, "month": month.label, "rows": len(rows)},
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{kind}-{month.label}.csv"'
    return response
