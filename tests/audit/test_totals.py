"""Totals from daily rollups equal totals computed from the events themselves."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from audit.filters import Filters
from audit.models import AuditDailyTotal
from audit.totals import _rollups_can_answer, event_totals, events_totals_uncached
from tests.audit.conftest import record_blocked, record_finished, record_prompt

MIDNIGHT = datetime(2026, 10, 1, tzinfo=UTC)


def _random_events(users: list[User], count: int) -> None:
    rng = random.Random(7)
    for i in range(count):
        when = MIDNIGHT + timedelta(days=rng.randint(0, 40), seconds=rng.randint(0, 86399))
        user = rng.choice(users)
        tool = rng.choice(["chat", "rewrite", "summarize"])
        model = rng.choice(["m-1", "m-2"])
        with mock.patch("django.utils.timezone.now", return_value=when):
            kind = i % 3
            if kind == 0:
                record_prompt(user, tool=tool, model=model, decision=rng.choice(["allow", "block"]))
            elif kind == 1:
                record_blocked(user, tool=tool, model=model)
            else:
                record_finished(
                    user,
                    outcome=rng.choice(["done", "failed"]),
                    tool=tool,
                    model=model,
                    input_tokens=rng.randint(1, 500),
                    output_tokens=rng.randint(1, 500),
                    cost_usd=f"{rng.randint(1, 99999) / 1e6:.6f}",
                )


FILTER_SETS = [
    Filters(),
    Filters(start=MIDNIGHT + timedelta(days=5), end=MIDNIGHT + timedelta(days=20)),
    Filters(department="Support", outcome="blocked"),
    Filters(tool="rewrite", model="m-2"),
    Filters(decision="block", start=MIDNIGHT),
    Filters(action="generation.finished", outcome="failed", end=MIDNIGHT + timedelta(days=30)),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("filters", FILTER_SETS)
def test_rollup_totals_equal_event_totals(alice: User, bob: User, filters: Filters) -> None:
    """For every filter the rollups can answer, they give exactly the event totals."""
    _random_events([alice, bob], 90)
    assert _rollups_can_answer(filters)
    assert event_totals(filters) == events_totals_uncached(filters)
    call_command("rebuild_audit_totals")
    assert event_totals(filters) == events_totals_uncached(filters)


@pytest.mark.django_db
def test_rollups_are_not_used_where_they_cannot_answer(alice: User) -> None:
    """User, entity type or a bound that is not midnight UTC read the events."""
    assert not _rollups_can_answer(Filters(user="alice"))
    assert not _rollups_can_answer(Filters(entity_type="PERSON"))
    assert not _rollups_can_answer(Filters(start=MIDNIGHT + timedelta(hours=1)))
    record_prompt(alice)
    assert event_totals(Filters(user="alice@example.com")).requests == 1


@pytest.mark.django_db
def test_rollup_rolls_back_with_the_event(alice: User) -> None:
    """The rollup is written in the event's transaction: no event, no count."""
    with pytest.raises(RuntimeError), transaction.atomic():
        record_prompt(alice)
        raise RuntimeError("the change fails")
    assert not AuditDailyTotal.objects.exists()
