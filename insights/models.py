"""Rollups of the audit log for insights, and the stored monthly reports.

Everything here except AdoptionReport is derived data: insights/rollup.py computes it
from audit events only (never from application tables), incrementally from the
high-water mark in RollupState, and `manage.py rebuild_insights` recomputes it from
scratch. Days are calendar days in COMPANY_TIME_ZONE, so a month in any zone is a
range of whole rows.

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
    """A user made at least one request on `day`, while in `department`."""

    day = models.DateField()
    user_id = models.BigIntegerField()
    department = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user_id", "department"], name="insights_activeday_key"
            )
        ]
        indexes = [models.Index(fields=["day", "user_id"], name="insights_activeday_day")]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_id}"


class ActiveMonth(models.Model):
    """A user was active in the month starting on `month` (MAU, retention cohorts)."""

    month = models.DateField()
    user_id = models.BigIntegerField()

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


class SignInMonth(models.Model):
    """A user signed in during the month, in `department`: adoption's denominator."""

    month = models.DateField()
    user_id = models.BigIntegerField()
    department = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "user_id", "department"], name="insights_signinmonth_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} sign-in of user {self.user_id}"


class DailyUsage(models.Model):
    """Requests, generations, tokens and cost per day x department x tool x preset x model."""

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
                fields=["day", "department", "tool", "preset", "model"],
                name="insights_dailyusage_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.tool}: {self.requests} requests"


class DailyCount(models.Model):
    """Counts of one kind of thing per day x tool x key (x subkey).

    `metric` says what is counted (insights/rollup.py, METRIC_*): requests finding an
    entity type with the action taken (key = type, subkey = action), overrides (key =
    type, subkey = outcome), failures (key = outcome, subkey = error code), ratings
    (key = up/down), template uses (key = template id, subkey = shared/personal), and
    time-to-first-token histogram buckets (key = bucket).
    """

    day = models.DateField()
    metric = models.CharField(max_length=20)
    tool = models.CharField(max_length=20, blank=True)
    key = models.CharField(max_length=64, blank=True)
    subkey = models.CharField(max_length=64, blank=True)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "metric", "tool", "key", "subkey"], name="insights_dailycount_key"
            )
        ]
        indexes = [models.Index(fields=["metric", "day"], name="insights_dailycount_metric")]

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
