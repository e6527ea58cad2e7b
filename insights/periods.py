"""The period an insights page or report covers, and the one it is compared with.

Periods are whole calendar days in COMPANY_TIME_ZONE: a month, a quarter, or a custom
range of at most MAX_YEARS years. The comparison is the period just before, of the same
kind (the previous month or quarter; for a custom range, as many days just before it).
Bad input (a malformed or future period, a range too long) raises PeriodError with the
sentence the page shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from config.text import clean_query
from insights.rollup import company_zone

MAX_YEARS = 10
EARLIEST = date(2000, 1, 1)
KINDS = ("month", "quarter", "custom")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-[Qq]([1-4])")
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


class PeriodError(ValueError):
    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | custom
    start: date
    end: date  # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return self.start.strftime("%B %Y")
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return f"{self.start:%d %b %Y} to {self.last_day:%d %b %Y}"

    @property
    def query(self) -> dict[str, str]:
        """The query string that selects this period again (links, CSV, report)."""
        if self.kind == "month":
            return {"period": "month", "month": f"{self.start:%Y-%m}"}
        if self.kind == "quarter":
            return {
                "period": "quarter",
                "quarter": f"{self.start.year}-Q{self.start.month // 3 + 1}",
            }
        return {"period": "custom", "from": self.start.isoformat(), "to": self.last_day.isoformat()}

    def previous(self) -> Period:
        if self.kind == "month":
            return month_period(add_months(self.start, -1))
        if self.kind == "quarter":
            return Period("quarter", add_months(self.start, -3), self.start)
        return Period("custom", self.start - timedelta(days=self.days), self.start)

    def elapsed_end(self, today: date) -> date:
        """The end of what has happened so far: the period's end, or tomorrow if sooner."""
        return min(self.end, today + timedelta(days=1))


def company_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(company_zone()).date()


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(first: date) -> Period:
    return Period("month", first, add_months(first, 1))


def parse_month(value: str) -> date:
    match = _MONTH.fullmatch(value.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise PeriodError("Give the month as YYYY-MM, for example 2026-03.")
    return date(int(match[1]), int(match[2]), 1)


def _parse_day(value: str, label: str) -> date:
    match = _DAY.fullmatch(value.strip())
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        pass
    raise PeriodError(f"Give the {label} date as YYYY-MM-DD, for example 2026-03-31.")


def period_from_query(params: dict[str, str], *, today: date) -> Period:
    """The period a query string asks for; the current month when it asks for none."""
    kind = clean_query(params.get("period") or "", max_chars=20) or "month"
    if kind not in KINDS:
        raise PeriodError("Choose a month, a quarter or a custom period.")
    if kind == "month":
        raw = clean_query(params.get("month") or "", max_chars=20)
        period = month_period(parse_month(raw) if raw else today.replace(day=1))
    elif kind == "quarter":
        raw = clean_query(params.get("quarter") or "", max_chars=20)
        if raw:
            match = _QUARTER.fullmatch(raw)
            if not match:
                raise PeriodError("Give the quarter as YYYY-Qn, for example 2026-Q1.")
            first = date(int(match[1]), 3 * int(match[2]) - 2, 1)
        else:
            first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        period = Period("quarter", first, add_months(first, 3))
    else:
        start = _parse_day(clean_query(params.get("from") or "", max_chars=20), "start")
        last = _parse_day(clean_query(params.get("to") or "", max_chars=20), "end")
        if last < start:
            raise PeriodError("The end date is before the start date.")
        period = Period("custom", start, last + timedelta(days=1))
    return period_checked(period, today=today)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def period_checked(period: Period, *, today: date) -> Period:
    if period.start < EARLIEST:
        raise PeriodError(f"Choose a period from {EARLIEST.year} on.")
    if period.start > today:
        raise PeriodError(
            f"{period.label} has not started yet in the company's time zone: "
            "choose a period up to today."
        )
    if period.end > _years_later(period.start, MAX_YEARS):
        raise PeriodError(f"Choose a period of at most {MAX_YEARS} years.")
    return period
