"""Rollups of the audit log for insights, and the stored monthly reports.

Everything here except AdoptionReport is derived data: insights/rollup.py computes it
from audit events only (never from application tables), incrementally from the
high-water mark in RollupState, and `manage.py rebuild_insights` recomputes it from
scratch. Days are calendar days in COMPANY_TIME_ZONE, so a month in any zone is a
range of whole rows.

Usage and counts are kept at two grains: per day, and per month (`day` = the 1st) so
that a month, a quarter or a year reads a twelfth of the rows. The active-user tables
record each person once per day, week and month (in the department of their first
request in it), and the number of those rows is kept as counts (DAU, WAU, MAU series).

Rows may name a user id (who was active when); nothing shown or exported does.
Departments are the `actor_department` of the events: the department at the time.
"""

from __future__ import annotations

from django.db import models


class RollupState(models.Model):
    """One row: the last audit event folded into the rollups, and the zone used."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    # Days were cut in this zone; a different COMPANY_TIME_ZONE means a rebuild.
    time_zone = models.CharField(max_length=64, default="UTC")
    last_event_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"insights through event #{self.last_event_id}"


class ActiveDay(models.Model):
    """A user made at least one request on `day` (first in `department` that day)."""

    day = models.DateField()
    user_id = models.BigIntegerField()
    department = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "user_id"], name="insights_activeday_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_id}"


class ActiveWeek(models.Model):
    """A user was active in the week starting on Monday `week`."""

    week = models.DateField()
    user_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["week", "user_id"], name="insights_activeweek_key")
        ]

    def __str__(self) -> str:
        return f"week of {self.week} user {self.user_id}"


class ActiveMonth(models.Model):
    """A user was active in the month starting on `month` (first in `department`)."""

    month = models.DateField()
    user_id = models.BigIntegerField()
    department = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "user_id"], name="insights_activemonth_key")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} user {self.user_id}"


class FirstActive(models.Model):
    """The day of a user's first request ever: new vs returning users, cohorts."""

    user_id = models.BigIntegerField(primary_key=True)
    day = models.DateField(db_index=True)
    month = models.DateField()  # the first of day's month: cohorts group on it

    def __str__(self) -> str:
        return f"user {self.user_id} since {self.day}"


class Member(models.Model):
    """Someone who signed in: adoption's default denominator. `first_month` says from
    when they count; `department` is the one of their latest sign-in."""

    user_id = models.BigIntegerField(primary_key=True)
    first_month = models.DateField(db_index=True)
    last_month = models.DateField()
    department = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"user {self.user_id} since {self.first_month:%Y-%m}"


class UsageRollup(models.Model):
    """Requests, generations, tokens and cost per day (or month) x department x tool x
    preset x model."""

    grain = models.CharField(max_length=5)  # "day" | "month"
    day = models.DateField()
    department = models.CharField(max_length=200, blank=True)
    tool = models.CharField(max_length=20, blank=True)
    preset = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=200, blank=True)
    requests = models.BigIntegerField(default=0)
    blocked = models.BigIntegerField(default=0)
    with_personal_data = models.BigIntegerField(default=0)
    generations = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "department", "tool", "preset", "model"],
                name="insights_usage_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.tool}: {self.requests} requests"


class CountRollup(models.Model):
    """Counts of one kind of thing per day x tool x key (x subkey).

    `metric` says what is counted (insights/rollup.py, METRIC_*): requests finding an
    entity type with the action taken (key = type, subkey = action), overrides (key =
    type, subkey = outcome), failures (key = outcome, subkey = error code), ratings
    (key = up/down), template uses (key = template id, subkey = shared/personal), and
    time-to-first-token histogram buckets (key = bucket); and the number of active users
    of each day, week and month (grain "day", `day` = the day, Monday or 1st).
    """

    grain = models.CharField(max_length=5)  # "day" | "month"
    day = models.DateField()
    metric = models.CharField(max_length=20)
    tool = models.CharField(max_length=20, blank=True)
    key = models.CharField(max_length=64, blank=True)
    subkey = models.CharField(max_length=64, blank=True)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "metric", "tool", "key", "subkey"],
                name="insights_count_key",
            )
        ]
        indexes = [models.Index(fields=["metric", "day"], name="insights_count_metric")]

    def __str__(self) -> str:
        return f"{self.day} {self.metric} {self.key}: {self.n}"


class AdoptionReport(models.Model):
    """The monthly adoption report, one per month (made again in place, never twice)."""

    month = models.DateField(unique=True)  # the first day of the month
    html = models.TextField()
    pdf = models.BinaryField()
    # The five headline numbers and their changes, for the list of reports.
    headline = models.JSONField(default=dict)
    through_event_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Adoption report {self.month:%Y-%m}"
