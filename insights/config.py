"""Parsing the insights settings (imported by config/settings.py: pure Python, no Django).

Each bad value stops start-up with one sentence naming the variable, like config/env.py.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.env import ConfigError


def time_zone_name(value: str) -> str:
    """An IANA zone name ("Europe/Paris"); the company's calendar decides months."""
    name = value.strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"COMPANY_TIME_ZONE is malformed: {name!r} is not an IANA time zone "
            "such as Europe/Paris"
        ) from None
    return name


def amounts(name: str, value: Any, *, whole: bool = False) -> dict[str, Any]:
    """{"Department": number ≥ 0}: headcounts (whole) or budgets in USD (Decimal)."""
    if not isinstance(value, dict):
        raise ConfigError(f'{name} is malformed: expected a JSON object like {{"Support": 40}}')
    parsed: dict[str, Any] = {}
    for key, raw in value.items():
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            number = Decimal(-1)
        if isinstance(raw, bool) or not number.is_finite() or number < 0:
            raise ConfigError(f"{name} is malformed: {key!r} needs a number ≥ 0, got {raw!r}")
        if whole and number != number.to_integral_value():
            raise ConfigError(f"{name} is malformed: {key!r} needs a whole number, got {raw!r}")
        parsed[str(key)[:200]] = int(number) if whole else number
    return parsed
