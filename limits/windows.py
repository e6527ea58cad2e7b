"""Calendar windows (day, month) in the company's time zone, and their key suffixes.

Budgets reset on calendar boundaries of LIMITS_TIME_ZONE, not 24 hours after the first
request: "your budget resets on 1 January" is a sentence people can plan around.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

DAY = "day"
MONTH = "month"


@dataclass(frozen=True)
class Window:
    period: str  # day | month
    label: str  # "2026-12-01" | "2026-12": part of the Redis key
    start: datetime
    end: datetime  # exclusive, aware


def window_at(period: str, now: datetime, time_zone: str) -> Window:
    local = now.astimezone(ZoneInfo(time_zone))
    if period == DAY:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        # Add a day to the date, then rebuild midnight: a DST day has 23 or 25 hours.
        following = (start + timedelta(days=1, hours=2)).replace(hour=0)
        return Window(DAY, start.strftime("%Y-%m-%d"), start, _wall(following, time_zone))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return Window(MONTH, start.strftime("%Y-%m"), start, _wall(following, time_zone))


def _wall(moment: datetime, time_zone: str) -> datetime:
    """Midnight on the wall clock of that date, with that date's UTC offset."""
    return datetime(moment.year, moment.month, moment.day, tzinfo=ZoneInfo(time_zone))


def describe_reset(window: Window, now: datetime) -> str:
    if window.period == DAY:
        return "at midnight"
    return f"on {window.end.day} {window.end.strftime('%B')}"
