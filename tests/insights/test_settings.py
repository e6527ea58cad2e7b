"""Insights settings: a bad value stops start-up with a sentence naming the variable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from config.env import ConfigError
from insights.config import amounts, time_zone_name


def test_time_zones() -> None:
    assert time_zone_name("Europe/Paris") == "Europe/Paris"
    assert time_zone_name("  ") == "UTC"
    with pytest.raises(ConfigError, match="COMPANY_TIME_ZONE is malformed"):
        time_zone_name("Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="COMPANY_TIME_ZONE is malformed"):
        time_zone_name("../../etc/passwd")


def test_headcounts_and_budgets() -> None:
    assert amounts("INSIGHTS_HEADCOUNT", {"Support": 40, "Finance": "12"}, whole=True) == {
        "Support": 40,
        "Finance": 12,
    }
    assert amounts("B", {"total": "1500.50"}) == {"total": Decimal("1500.50")}


@pytest.mark.parametrize(
    "value", [[1, 2], {"Support": -1}, {"Support": "many"}, {"Support": True}, {"x": "NaN"}]
)
def test_bad_amounts_name_the_variable(value: Any) -> None:
    with pytest.raises(ConfigError, match="INSIGHTS_HEADCOUNT is malformed"):
        amounts("INSIGHTS_HEADCOUNT", value, whole=True)


def test_a_headcount_must_be_whole() -> None:
    with pytest.raises(ConfigError, match="whole number"):
        amounts("INSIGHTS_HEADCOUNT", {"Support": 2.5}, whole=True)


def test_headcount_is_the_denominator_when_set(settings: Any) -> None:
    from insights.figures import PeriodFigures, Span
    from insights.sections import denominator

    figures = PeriodFigures(Span(date(2026, 1, 1), date(2026, 2, 1)))
    figures.signed_in_by_department = {"Support": 3}
    assert denominator(figures) == 3
    settings.INSIGHTS_HEADCOUNT = {"Support": 40, "Finance": 10}
    assert denominator(figures) == 50
