"""The raw figures of one period and its comparison period, read from the rollups.

Eight queries whatever the period's length, each over rollup rows of the two periods
only: whole months read the monthly rows (a year of 2,000 people: 24,000 active-month
rows, ~15,000 usage rows), other ranges the daily ones; the active-user series are
stored counts. sections.py turns these numbers into the tables and charts people see.

The comparison period is the previous one; while a period is under way it is cut to the
same length: the first ten days of this month against the first ten of the month before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When

from insights.models import (
    ActiveDay,
    ActiveMonth,
    CountRollup,
    FirstActive,
    Member,
    UsageRollup,
)
from insights.periods import Period, add_months
from insights.rollup import (
    DAY,
    METRIC_ACTIVE_DAY,
    METRIC_ACTIVE_WEEK,
    MONTH,
    SERIES_METRICS,
)

USAGE_SUMS = (
    "requests", "blocked", "with_personal_data", "generations", "input_tokens",
    "output_tokens", "cost_usd",
)  # fmt: skip
COHORT_MONTHS = 12


@dataclass(frozen=True)
class Span:
    """The days actually compared: [start, end)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return max((self.end - self.start).days, 0)


@dataclass
class PeriodFigures:
    span: Span
    users_by_department: dict[str, set[int]] = field(default_factory=dict)
    active_users: set[int] = field(default_factory=set)
    new_users: int = 0
    daily_active: dict[date, int] = field(default_factory=dict)
    weekly_active: list[int] = field(default_factory=list)
    monthly_active: dict[date, int] = field(default_factory=dict)
    signed_in_by_department: dict[str, int] = field(default_factory=dict)
    # (department, tool, preset, model) → sums in USAGE_SUMS order
    usage: dict[tuple[str, str, str, str], list[Any]] = field(default_factory=dict)
    # (metric, tool, key, subkey) → n
    counts: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    # Derived tables several sections share (sections.department_rows), made once.
    derived: dict[str, Any] = field(default_factory=dict)

    @property
    def signed_in(self) -> int:
        return sum(self.signed_in_by_department.values())


@dataclass
class Figures:
    period: Period
    current: PeriodFigures
    previous: PeriodFigures
    # cohort month → (size, {months after: active users})
    cohorts: dict[date, tuple[int, dict[int, int]]]
    cohort_end: date  # cohorts are the COHORT_MONTHS months before this


def spans(period: Period, today: date) -> tuple[Span, Span]:
    """The days compared: a period that is over against the whole previous one (all of
    August against all of September); one under way against as many days of the
    previous one."""
    current = Span(period.start, period.elapsed_end(today))
    before = period.previous()
    if current.end >= period.end:
        return current, Span(before.start, before.end)
    return current, Span(before.start, min(before.end, before.start + timedelta(current.days)))


def _in(span: Span, column: str = "day") -> Q:
    return Q(**{f"{column}__gte": span.start, f"{column}__lt": span.end})


def grain(span: Span, today: date) -> str:
    """Whole months (or a month still under way) read the monthly rows, twelve times
    fewer than the daily ones; any other span reads the days."""
    whole_end = span.end.day == 1 or span.end > today
    return MONTH if span.start.day == 1 and whole_end else DAY


def _rows(span: Span, today: date) -> Q:
    return Q(grain=grain(span, today)) & _in(span)


def _flag(span: Span) -> Case:
    """1 for rows of the current span, 0 for the previous one."""
    return Case(When(_in(span), then=Value(1)), default=Value(0), output_field=IntegerField())


def _active_users(span: Span, today: date) -> list[tuple[str, int]]:
    """(department, user) pairs of the span's active users."""
    if grain(span, today) == MONTH:
        return list(
            ActiveMonth.objects.filter(_in(span, "month")).values_list("department", "user_id")
        )
    return list(ActiveDay.objects.filter(_in(span)).values_list("department", "user_id").distinct())


def figures_for(period: Period, *, today: date) -> Figures:
    cur_span, prev_span = spans(period, today)
    current, previous = PeriodFigures(cur_span), PeriodFigures(prev_span)
    both = {1: current, 0: previous}
    for figures in (current, previous):
        for department, user in _active_users(figures.span, today):
            figures.users_by_department.setdefault(department, set()).add(user)
            figures.active_users.add(user)

    days = _in(cur_span) | _in(prev_span)
    for day, metric, n in CountRollup.objects.filter(
        days, grain=DAY, metric__in=SERIES_METRICS
    ).values_list("day", "metric", "n"):
        figures = both[int(day >= cur_span.start)]
        if metric == METRIC_ACTIVE_DAY:
            figures.daily_active[day] = n
        elif metric == METRIC_ACTIVE_WEEK:
            figures.weekly_active.append(n)
        else:
            figures.monthly_active[day] = n

    new = FirstActive.objects.aggregate(
        cur=Count("user_id", filter=_in(cur_span)), prev=Count("user_id", filter=_in(prev_span))
    )
    current.new_users, previous.new_users = new["cur"], new["prev"]
    for department, cur, prev in (
        Member.objects.filter(first_month__lt=cur_span.end)
        .values("department")
        .annotate(
            cur=Count("user_id", filter=Q(first_month__lt=cur_span.end)),
            prev=Count("user_id", filter=Q(first_month__lt=prev_span.end)),
        )
        .values_list("department", "cur", "prev")
    ):
        current.signed_in_by_department[department] = cur
        if prev:
            previous.signed_in_by_department[department] = prev

    rows = _rows(cur_span, today) | _rows(prev_span, today)
    for flag, *key, sums in _grouped(
        UsageRollup.objects.filter(rows), cur_span, ("department", "tool", "preset", "model"),
        USAGE_SUMS,
    ):  # fmt: skip
        if any(sums):
            sums[-1] = Decimal(sums[-1]).quantize(Decimal("0.000001"))
            both[flag].usage[tuple(key)] = sums
    for flag, *key, (n,) in _grouped(
        CountRollup.objects.filter(rows).exclude(metric__in=SERIES_METRICS), cur_span,
        ("metric", "tool", "key", "subkey"), ("n",),
    ):  # fmt: skip
        if n:
            both[flag].counts[tuple(key)] = n
    cohort_end = add_months(period.last_day.replace(day=1), 1)
    return Figures(
        period=period,
        current=current,
        previous=previous,
        cohorts=_cohorts(cohort_end),
        cohort_end=cohort_end,
    )


def _grouped(queryset: Any, current: Span, keys: tuple[str, ...], sums: tuple[str, ...]) -> Any:
    """(1 | 0 for current | previous, *keys, [sums]) per group."""
    names = [f"sum_{name}" for name in sums]
    rows = (
        queryset.annotate(cur=_flag(current))
        .values("cur", *keys)
        .annotate(**{f"sum_{name}": Sum(name) for name in sums})
        .order_by()
        .values_list("cur", *keys, *names)
    )
    width = 1 + len(keys)
    for row in rows:
        yield (*row[:width], [value or 0 for value in row[width:]])


def _cohorts(end: date) -> dict[date, tuple[int, dict[int, int]]]:
    """Users whose first request was in each of the COHORT_MONTHS months before `end`,
    and how many of them were active in each month after it."""
    start = add_months(end, -COHORT_MONTHS)
    first, months = FirstActive._meta.db_table, ActiveMonth._meta.db_table
    sql = (
        "SELECT f.month, a.month, COUNT(*) "  # noqa: S608 (our table names)
        f"FROM {first} f JOIN {months} a ON a.user_id = f.user_id "
        "WHERE f.month >= %s AND f.month < %s AND a.month >= f.month AND a.month < %s "
        "GROUP BY f.month, a.month"
    )
    sizes: dict[date, int] = {}
    retained: dict[date, dict[int, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, end, end])
        for cohort, month, n in cursor.fetchall():
            cohort, month = _as_date(cohort), _as_date(month)
            after = (month.year - cohort.year) * 12 + month.month - cohort.month
            if after == 0:
                sizes[cohort] = int(n)  # everyone is active in their first month
            else:
                retained[cohort][after] = int(n)
    return {m: (sizes[m], retained[m]) for m in sorted(sizes)}


def _as_date(value: Any) -> date:
    # SQLite returns dates from raw SQL as ISO strings.
    return date.fromisoformat(value) if isinstance(value, str) else value
