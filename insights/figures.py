"""The raw figures of one period and its comparison period, read from the rollups.

About ten queries whatever the period's length, each over rollup rows of the two
periods only (a year of 2,000 people is ~250,000 active-day rows and a few thousand
others). sections.py turns these numbers into the tables and charts people see.

The comparison period is the previous one cut to the same length: while a month is
under way, its first ten days are compared with the first ten days of the month before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncMonth, TruncWeek

from insights.models import ActiveDay, ActiveMonth, DailyCount, DailyUsage, FirstActive, SignInMonth
from insights.periods import Period, add_months

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
    current = Span(period.start, period.elapsed_end(today))
    before = period.previous()
    return current, Span(before.start, min(before.end, before.start + timedelta(current.days)))


def _in(span: Span, column: str = "day") -> Q:
    return Q(**{f"{column}__gte": span.start, f"{column}__lt": span.end})


def _flag(span: Span, column: str = "day") -> Case:
    """1 for rows of the current span, 0 for the previous one."""
    return Case(
        When(_in(span, column), then=Value(1)), default=Value(0), output_field=IntegerField()
    )


def figures_for(period: Period, *, today: date) -> Figures:
    cur_span, prev_span = spans(period, today)
    current, previous = PeriodFigures(cur_span), PeriodFigures(prev_span)
    both = {1: current, 0: previous}
    days = _in(cur_span) | _in(prev_span)

    active = ActiveDay.objects.filter(days)
    for flag, department, user in (
        active.annotate(cur=_flag(cur_span)).values_list("cur", "department", "user_id").distinct()
    ):
        both[flag].users_by_department.setdefault(department, set()).add(user)
        both[flag].active_users.add(user)
    for day, n in (
        active.values("day").annotate(n=Count("user_id", distinct=True)).values_list("day", "n")
    ):
        both[int(day >= cur_span.start)].daily_active[day] = n
    for flag, _week, n in (
        active.annotate(cur=_flag(cur_span), week=TruncWeek("day"))
        .values("cur", "week")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("cur", "week", "n")
    ):
        both[flag].weekly_active.append(n)
    for flag, month, n in (
        active.annotate(cur=_flag(cur_span), month=TruncMonth("day"))
        .values("cur", "month")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("cur", "month", "n")
    ):
        both[flag].monthly_active[month] = n

    new = FirstActive.objects.aggregate(
        cur=Count("user_id", filter=_in(cur_span)), prev=Count("user_id", filter=_in(prev_span))
    )
    current.new_users, previous.new_users = new["cur"], new["prev"]
    current.signed_in_by_department = _signed_in_by_department(cur_span.end)
    previous.signed_in_by_department = _signed_in_by_department(prev_span.end)

    sums = {
        f"{flag}_{name}": Sum(name, filter=_in(span))
        for flag, span in (("cur", cur_span), ("prev", prev_span))
        for name in USAGE_SUMS
    }
    for row in (
        DailyUsage.objects.filter(days)
        .values("department", "tool", "preset", "model")
        .annotate(**sums)
        .order_by()
    ):
        key = (row["department"], row["tool"], row["preset"], row["model"])
        for flag, figures in (("cur", current), ("prev", previous)):
            values = [row[f"{flag}_{name}"] or 0 for name in USAGE_SUMS]
            if any(values):
                values[-1] = Decimal(values[-1]).quantize(Decimal("0.000001"))
                figures.usage[key] = values
    for row in (
        DailyCount.objects.filter(days)
        .values("metric", "tool", "key", "subkey")
        .annotate(cur=Sum("n", filter=_in(cur_span)), prev=Sum("n", filter=_in(prev_span)))
        .order_by()
    ):
        key = (row["metric"], row["tool"], row["key"], row["subkey"])
        if row["cur"]:
            current.counts[key] = row["cur"]
        if row["prev"]:
            previous.counts[key] = row["prev"]
    cohort_end = add_months(period.last_day.replace(day=1), 1)
    return Figures(
        period=period,
        current=current,
        previous=previous,
        cohorts=_cohorts(cohort_end),
        cohort_end=cohort_end,
    )


def _signed_in_by_department(end: date) -> dict[str, int]:
    """People who signed in before `end` (by month), each in the department of their
    latest sign-in before it."""
    table = SignInMonth._meta.db_table
    sql = (
        "SELECT department, COUNT(*) FROM ("  # noqa: S608 (our table name)
        "  SELECT department, ROW_NUMBER() OVER ("
        "    PARTITION BY user_id ORDER BY month DESC, department) AS position"
        f"  FROM {table} WHERE month < %s"
        ") latest WHERE position = 1 GROUP BY department"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [end])
        return {department: int(n) for department, n in cursor.fetchall()}


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
