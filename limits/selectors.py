"""Usage figures for the usage page: this month (company calendar), from the runs.

Requests are counted when they were made (a summary is one request, not one per part);
tokens and cost when the run ended, like the budget counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from limits import definitions as d
from limits.policy import limits_for
from limits.windows import DAY, MONTH, Window, window_at
from prompting.models import Run, Tool


@dataclass
class Usage:
    label: str
    requests: int = 0
    tokens: int = 0
    cost_usd: Decimal = Decimal(0)

    def add(self, requests: int = 0, tokens: int = 0, cost: Decimal | None = None) -> None:
        self.requests += requests
        self.tokens += tokens
        self.cost_usd += cost or Decimal(0)


@dataclass
class Gauge:
    """One limit and how much of it is used."""

    label: str
    used: str
    limit: str  # "No limit" when none
    percent: int | None


@dataclass
class ScopeUsage:
    title: str
    by_tool: list[Usage] = field(default_factory=list)
    total: Usage = field(default_factory=lambda: Usage("Total"))
    gauges: list[Gauge] = field(default_factory=list)


def _requests(runs: QuerySet[Run], window: Window) -> QuerySet[Run]:
    return runs.filter(parent__isnull=True, created_at__gte=window.start, created_at__lt=window.end)


def _ended(runs: QuerySet[Run], window: Window) -> QuerySet[Run]:
    return runs.filter(finished_at__gte=window.start, finished_at__lt=window.end)


def _by(runs: QuerySet[Run], window: Window, key: str) -> dict[Any, Usage]:
    """Usage per value of `key` (a field of Run or of its owner), in two queries."""
    rows: dict[Any, Usage] = {}
    for row in _requests(runs, window).values(key).annotate(n=Count("pk")):
        rows.setdefault(row[key], Usage(str(row[key]))).add(requests=row["n"])
    totals = (
        _ended(runs, window)
        .values(key)
        .annotate(i=Sum("input_tokens"), o=Sum("output_tokens"), c=Sum("cost_usd"))
    )
    for row in totals:
        rows.setdefault(row[key], Usage(str(row[key]))).add(
            tokens=(row["i"] or 0) + (row["o"] or 0), cost=row["c"]
        )
    return rows


def _scope(title: str, runs: QuerySet[Run], limits: d.Limits, now: datetime) -> ScopeUsage:
    tz = settings.LIMITS_TIME_ZONE
    month, day = window_at(MONTH, now, tz), window_at(DAY, now, tz)
    per_tool = _by(runs, month, "tool")
    usage = ScopeUsage(title)
    for tool in Tool:
        row = per_tool.get(tool.value, Usage(tool.value))
        row.label = str(tool.label)
        usage.by_tool.append(row)
        usage.total.add(row.requests, row.tokens, row.cost_usd)
    today = Usage("Today")
    for row in _by(runs, day, "tool").values():
        today.add(row.requests, row.tokens, row.cost_usd)
    spent: dict[str, Any] = {
        d.TOKENS_PER_DAY: today.tokens,
        d.TOKENS_PER_MONTH: usage.total.tokens,
        d.USD_PER_DAY: today.cost_usd,
        d.USD_PER_MONTH: usage.total.cost_usd,
    }
    for name, used in spent.items():
        limit = limits.get(name)
        dollars = name in d.DOLLAR_LIMITS
        shown = (lambda v: f"${v:,.2f}") if dollars else (lambda v: f"{v:,}")
        percent = None
        if limit is not None:
            percent = 100 if not limit else min(int(Decimal(used) * 100 / Decimal(limit)), 999)
        usage.gauges.append(
            Gauge(
                d.LABELS[name],
                shown(used),
                shown(limit) if limit is not None else "No limit",
                percent,
            )
        )
    for name in (d.ACTIVE_RUNS, d.REQUESTS_PER_MINUTE):
        limit = limits.get(name)
        usage.gauges.append(
            Gauge(d.LABELS[name], "", f"{limit:,}" if limit is not None else "No limit", None)
        )
    return usage


def usage_for_user(*, user: Any, now: datetime) -> list[ScopeUsage]:
    """The employee's own usage against their limits, and their department's."""
    mine, theirs = limits_for(user)
    scopes = [_scope("You", Run.objects.filter(owner_id=user.pk), mine, now)]
    if user.department:
        department_runs = Run.objects.filter(owner__department=user.department)
        scopes.append(_scope(f"Your department: {user.department}", department_runs, theirs, now))
    return scopes


def usage_by_user(*, now: datetime) -> list[Usage]:
    """Every employee with usage this month (admins), most expensive first."""
    month = window_at(MONTH, now, settings.LIMITS_TIME_ZONE)
    rows = _by(Run.objects.all(), month, "owner__username")
    departments = dict(
        Run.objects.filter(
            Q(created_at__gte=month.start) | Q(finished_at__gte=month.start)
        ).values_list("owner__username", "owner__department")
    )
    for username, row in rows.items():
        department = departments.get(username) or ""
        row.label = f"{username} ({department})" if department else str(username)
    return sorted(rows.values(), key=lambda r: (-r.cost_usd, -r.tokens, r.label))


def usage_by_department(*, now: datetime) -> list[Usage]:
    month = window_at(MONTH, now, settings.LIMITS_TIME_ZONE)
    rows = _by(Run.objects.all(), month, "owner__department")
    for department, row in rows.items():
        row.label = department or "No department"
    return sorted(rows.values(), key=lambda r: (-r.cost_usd, -r.tokens, r.label))
