"""Every headline number recomputed from the raw audit events, independently of the
rollups; the rollups refreshed piecemeal equal a rebuild; the company's zone decides the
month."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Q

from audit import actions
from audit.models import AuditEvent
from insights import rollup
from insights.models import (
    ActiveDay,
    ActiveMonth,
    ActiveWeek,
    CountRollup,
    FirstActive,
    Member,
    UsageRollup,
)
from insights.periods import month_period
from insights.rollup import rollups_rebuild, rollups_refresh
from insights.selectors import insights_for
from tests.insights.conftest import (
    at,
    feedback,
    override,
    people,
    record_blocked,
    record_finished,
    record_prompt,
    sign_in_event,
    utc,
)

pytestmark = pytest.mark.django_db


def _plant() -> dict[str, list[Any]]:
    """Two months of mixed events for three departments."""
    support = people("s", 6, "Support")
    finance = people("f", 5, "Finance")
    lonely = people("l", 2, "Legal")
    with at(utc(2026, 9, 20, 12)):
        for user in support[:3] + finance[:2]:
            sign_in_event(user)
            record_prompt(user)
            record_finished(user, cost_usd="0.010000")
        feedback(support[0], "up")
    for day in (3, 17, 30):
        with at(utc(2026, 10, day, 9)):
            for user in support + finance + lonely:
                sign_in_event(user)
            for user in support[: 2 + day % 4] + finance + lonely[:1]:
                record_prompt(user, tool="rewrite", preset="formal", actions={"PERSON": "redact"})
                record_finished(user, cost_usd="0.020000", input_tokens=200, output_tokens=70)
            record_blocked(finance[0])
            record_finished(support[1], outcome="failed", error_code="throttled", ttft_ms=None)
            feedback(support[1], "up")
            feedback(finance[1], "down")
            feedback(finance[1], "up", previous="down")
            override(support[0], "LOCATION")
    # A prompt.submitted that says "block" is counted through its prompt.blocked only.
    with at(utc(2026, 10, 4, 9)):
        record_prompt(support[5], decision="block")
    return {"support": support, "finance": finance, "lonely": lonely}


def _raw_headlines(start: date, end: date) -> dict[str, Any]:
    """The five headline numbers straight from the events (UTC zone, whole month)."""
    low, high = utc(start.year, start.month, start.day), utc(end.year, end.month, end.day)
    events = AuditEvent.objects.filter(created_at__gte=low, created_at__lt=high)
    request_q = Q(action=actions.PROMPT_BLOCKED) | (
        Q(action=actions.PROMPT_SUBMITTED) & ~Q(decision="block")
    )
    requests = events.filter(request_q)
    active = set(requests.values_list("actor_id", flat=True))
    signed_in = set(
        AuditEvent.objects.filter(action=actions.ACCOUNT_SIGN_IN, created_at__lt=high).values_list(
            "actor_id", flat=True
        )
    )
    cost = sum(
        (e.cost_usd or Decimal(0)) for e in events.filter(action=actions.GENERATION_FINISHED)
    )
    ratings = {"up": 0, "down": 0}
    for details in events.filter(action=actions.FEEDBACK_GIVEN).values_list("details", flat=True):
        ratings[details["rating"]] += 1
        if details.get("previous_rating"):
            ratings[details["previous_rating"]] -= 1
    return {
        "Active users": len(active),
        "Share of employees who used it": len(active) / len(signed_in),
        "Requests": requests.count(),
        "Cost": Decimal(cost).quantize(Decimal("0.01")),
        "Helpful answers": ratings["up"] / (ratings["up"] + ratings["down"]),
    }


def test_each_headline_equals_its_recomputation_from_raw_events() -> None:
    """The five numbers of October and of September, from the rollups, equal the same
    numbers computed from the events themselves."""
    _plant()
    rollups_refresh()
    for month in (date(2026, 10, 1), date(2026, 9, 1)):
        period = month_period(month)
        shown = {h.label: h.value for h in insights_for(period, today=date(2026, 11, 15)).headlines}
        assert shown == pytest.approx(_raw_headlines(period.start, period.end))


def test_changes_compare_with_the_previous_month() -> None:
    _plant()
    rollups_refresh()
    october = insights_for(month_period(date(2026, 10, 1)), today=date(2026, 11, 15))
    by_label = {h.label: h for h in october.headlines}
    # October: five of Support (the sixth's only prompt was blocked as a "submitted"
    # event, which is not a request), all of Finance, one of Legal; September: five.
    assert by_label["Active users"].value == 11
    assert by_label["Active users"].change == 11 - 5
    assert by_label["Requests"].change == by_label["Requests"].value - 5


def _table_contents() -> list[Any]:
    return [
        sorted(ActiveDay.objects.values_list("day", "user_id", "department")),
        sorted(ActiveWeek.objects.values_list("week", "user_id")),
        sorted(ActiveMonth.objects.values_list("month", "user_id", "department")),
        sorted(FirstActive.objects.values_list("user_id", "day", "month")),
        sorted(Member.objects.values_list("user_id", "first_month", "last_month", "department")),
        sorted(
            (*k, float(c))
            for *k, c in UsageRollup.objects.values_list(
                "grain",
                "day",
                "department",
                "tool",
                "preset",
                "model",
                "requests",
                "blocked",
                "with_personal_data",
                "generations",
                "input_tokens",
                "output_tokens",
                "cost_usd",
            )
        ),
        sorted(
            CountRollup.objects.values_list("grain", "day", "metric", "tool", "key", "subkey", "n")
        ),
    ]


def test_refreshing_in_small_steps_equals_a_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    """High-water mark: batches of 7 events, with new events arriving between refreshes,
    end with exactly the rows a rebuild computes from scratch."""
    monkeypatch.setattr(rollup, "BATCH_SIZE", 7)
    groups = _plant()
    first = rollups_refresh(limit=20)
    assert not first.caught_up and first.events == 20
    with at(utc(2026, 10, 31, 23)):
        record_prompt(groups["lonely"][1])
    while not rollups_refresh(limit=20).caught_up:
        pass
    piecemeal = _table_contents()
    rebuilt = rollups_rebuild()
    assert rebuilt.caught_up
    assert _table_contents() == piecemeal


def test_the_company_time_zone_decides_the_day_and_month(settings: Any) -> None:
    """01:30 UTC on 1 November is still 31 October in Los Angeles: an October request
    there. Changing the zone makes the next scheduled refresh rebuild the rollups."""
    user = people("tz", 1, "Support")[0]
    with at(utc(2026, 11, 1, 1, 30)):
        record_prompt(user)
    rollups_refresh()
    assert list(ActiveDay.objects.values_list("day", flat=True)) == [date(2026, 11, 1)]
    settings.COMPANY_TIME_ZONE = "America/Los_Angeles"
    assert not rollups_refresh(rebuild_if_needed=False).caught_up  # a page never rebuilds
    rollups_refresh()
    assert list(ActiveDay.objects.values_list("day", flat=True)) == [date(2026, 10, 31)]
    october = insights_for(month_period(date(2026, 10, 1)), today=date(2026, 11, 2))
    assert october.headlines[0].value == 1


def test_old_events_without_actions_infer_them_from_the_decision() -> None:
    user = people("old", 1, "Support")[0]
    with at(utc(2026, 10, 2, 9)):
        record_prompt(user, findings={"PERSON": 2, "EMAIL_ADDRESS": 1})  # pseudonymize
        record_blocked(user, findings={"US_SSN": 1, "PERSON": 1}, blocked_types=["US_SSN"])
        record_prompt(user, findings={"PERSON": 1}, actions={"PERSON": "allow"})
    rollups_refresh()
    rows = dict(
        ((key, sub), n)
        for key, sub, n in CountRollup.objects.filter(metric="entity", grain="day").values_list(
            "key", "subkey", "n"
        )
    )
    assert rows == {
        ("PERSON", "pseudonymize"): 1,
        ("EMAIL_ADDRESS", "pseudonymize"): 1,
        ("US_SSN", "block"): 1,
        ("PERSON", "unrecorded"): 1,
        ("PERSON", "allow"): 1,
    }


def test_new_and_returning_users_and_retention() -> None:
    groups = _plant()
    rollups_refresh()
    october = insights_for(month_period(date(2026, 10, 1)), today=date(2026, 11, 15))
    adoption = october.table("adoption")
    assert adoption is not None
    measures = {row[0]: row[1] for row in adoption.rows}
    # Five people started in September and came back; six more started in October.
    assert measures["New users"] == 6
    assert measures["Returning users"] == 5
    assert len(groups["support"]) == 6
    retention = october.table("retention")
    assert retention is not None
    september = next(r for r in retention.rows if r[0] == "2026-09")
    assert september[1] == 5 and september[2] == pytest.approx(1.0)  # all five came back
    october_row = next(r for r in retention.rows if r[0] == "2026-10")
    assert october_row[2] is None  # November has not happened in this report


def test_a_month_without_events_is_all_zeros() -> None:
    rollups_refresh()
    empty = insights_for(month_period(date(2026, 3, 1)), today=date(2026, 11, 15))
    values = {h.label: h.value for h in empty.headlines}
    assert values["Active users"] == 0 and values["Requests"] == 0
    assert values["Cost"] == Decimal("0.00")
    assert values["Share of employees who used it"] is None  # nobody signed in yet
    assert empty.table("departments").rows == []  # type: ignore[union-attr]


def test_ten_years_of_days_stay_monthly() -> None:
    """A period of ten years is shown as months (not 3,650 columns)."""
    user = people("ten", 1, "Support")[0]
    with at(utc(2020, 5, 5, 9)):
        record_prompt(user)
    rollups_refresh()
    from insights.periods import Period

    period = Period("custom", date(2016, 11, 1), date(2026, 11, 1))
    data = insights_for(period, today=date(2026, 11, 15))
    series = data.table("active-series")
    assert series is not None and series.title == "Monthly active users"
    assert series.rows == [["2020-05", 1]]
    assert data.headlines[0].value == 1
    assert data.figures.previous.span.end - data.figures.previous.span.start == timedelta(
        days=period.days
    )
