"""Periods: month, quarter, custom; the previous one; future, malformed and too long
periods refused with a sentence; the clock at month and year boundaries in the
company's zone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from insights.periods import Period, PeriodError, company_today, period_from_query
from tests.insights.conftest import utc

TODAY = date(2026, 11, 15)


@pytest.mark.parametrize(
    ("query", "expected", "previous"),
    [
        ({}, Period("month", date(2026, 11, 1), date(2026, 12, 1)),
         Period("month", date(2026, 10, 1), date(2026, 11, 1))),
        ({"period": "month", "month": "2026-01"},
         Period("month", date(2026, 1, 1), date(2026, 2, 1)),
         Period("month", date(2025, 12, 1), date(2026, 1, 1))),
        ({"period": "quarter", "quarter": "2026-Q1"},
         Period("quarter", date(2026, 1, 1), date(2026, 4, 1)),
         Period("quarter", date(2025, 10, 1), date(2026, 1, 1))),
        ({"period": "quarter"}, Period("quarter", date(2026, 10, 1), date(2027, 1, 1)),
         Period("quarter", date(2026, 7, 1), date(2026, 10, 1))),
        ({"period": "custom", "from": "2026-03-10", "to": "2026-03-19"},
         Period("custom", date(2026, 3, 10), date(2026, 3, 20)),
         Period("custom", date(2026, 2, 28), date(2026, 3, 10))),
    ],
)  # fmt: skip
def test_periods_and_their_previous(
    query: dict[str, str], expected: Period, previous: Period
) -> None:
    period = period_from_query(query, today=TODAY)
    assert period == expected
    assert period.previous() == previous
    assert period_from_query(period.query, today=TODAY) == period  # links round-trip


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ({"period": "month", "month": "2026-12"}, "has not started yet"),
        ({"period": "custom", "from": "2027-01-01", "to": "2027-01-31"}, "has not started yet"),
        ({"period": "month", "month": "2026-13"}, "YYYY-MM"),
        ({"period": "month", "month": "²⁰²⁶-01"}, "YYYY-MM"),
        ({"period": "month", "month": "<script>"}, "YYYY-MM"),
        ({"period": "quarter", "quarter": "2026-Q5"}, "YYYY-Qn"),
        ({"period": "custom", "from": "2026-02-30", "to": "2026-03-01"}, "YYYY-MM-DD"),
        ({"period": "custom", "from": "2026-03-10", "to": "2026-03-01"}, "before the start"),
        ({"period": "custom", "from": "2015-01-01", "to": "2026-01-01"}, "at most 10 years"),
        ({"period": "custom", "from": "1999-01-01", "to": "1999-02-01"}, "from 2000 on"),
        ({"period": "year"}, "Choose a month, a quarter or a custom period"),
        ({"period": "custom", "from": "", "to": ""}, "YYYY-MM-DD"),
    ],
)
def test_bad_periods_are_refused_with_a_sentence(query: dict[str, str], sentence: str) -> None:
    with pytest.raises(PeriodError) as refused:
        period_from_query(query, today=TODAY)
    assert sentence in refused.value.user_message


def test_a_period_of_ten_years_is_accepted() -> None:
    period = period_from_query(
        {"period": "custom", "from": "2016-11-15", "to": "2026-11-14"}, today=TODAY
    )
    assert period.days == 3652


def test_the_current_month_so_far_is_accepted() -> None:
    period = period_from_query({"period": "month", "month": "2026-11"}, today=TODAY)
    assert period.elapsed_end(TODAY) == date(2026, 11, 16)


@pytest.mark.parametrize(
    ("zone", "now", "today"),
    [
        # New Year's Eve 23:30 UTC is already New Year in Paris, still the 31st in New York.
        ("Europe/Paris", utc(2026, 12, 31, 23, 30), date(2027, 1, 1)),
        ("America/New_York", utc(2027, 1, 1, 3, 0), date(2026, 12, 31)),
        ("UTC", utc(2026, 12, 31, 23, 59, 59), date(2026, 12, 31)),
        ("Asia/Tokyo", utc(2026, 2, 28, 15, 0), date(2026, 3, 1)),
    ],
)
def test_the_clock_at_month_and_year_boundaries(
    settings: Any, zone: str, now: Any, today: date
) -> None:
    """The default period is the company's current month, whatever UTC says."""
    settings.COMPANY_TIME_ZONE = zone
    assert company_today(now) == today
    period = period_from_query({}, today=company_today(now))
    assert period.start == today.replace(day=1)
    assert period.previous().end == period.start


def test_a_finished_month_is_compared_with_the_whole_previous_month() -> None:
    """September (30 days) against all 31 days of August; November while it is under
    way (15 days so far) against the first 15 days of October."""
    from insights.figures import Span, spans

    september = period_from_query({"period": "month", "month": "2026-09"}, today=TODAY)
    assert spans(september, TODAY) == (
        Span(date(2026, 9, 1), date(2026, 10, 1)),
        Span(date(2026, 8, 1), date(2026, 9, 1)),
    )
    november = period_from_query({}, today=TODAY)
    assert spans(november, TODAY) == (
        Span(date(2026, 11, 1), date(2026, 11, 16)),
        Span(date(2026, 10, 1), date(2026, 10, 16)),
    )
