"""Overrides of the default limits, per employee or per department (edited in the admin).

An empty field keeps the default; 0 allows nothing (pauses the employee or department).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from limits import definitions as d


def _bounds(name: str) -> list[Any]:
    return [MinValueValidator(0), MaxValueValidator(d.MAXIMUM[name])]


class LimitOverride(models.Model):
    class Scope(models.TextChoices):
        USER = d.USER, "Employee"
        DEPARTMENT = d.DEPARTMENT, "Department"

    scope = models.CharField(max_length=20, choices=Scope.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="limit_override",
    )
    department = models.CharField(max_length=200, blank=True, db_index=True)
    active_runs = models.IntegerField(null=True, blank=True, validators=_bounds(d.ACTIVE_RUNS))
    requests_per_minute = models.IntegerField(
        null=True, blank=True, validators=_bounds(d.REQUESTS_PER_MINUTE)
    )
    tokens_per_day = models.BigIntegerField(
        null=True, blank=True, validators=_bounds(d.TOKENS_PER_DAY)
    )
    tokens_per_month = models.BigIntegerField(
        null=True, blank=True, validators=_bounds(d.TOKENS_PER_MONTH)
    )
    usd_per_day = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=_bounds(d.USD_PER_DAY)
    )
    usd_per_month = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=_bounds(d.USD_PER_MONTH),
    )
    note = models.CharField(max_length=300, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department"],
                condition=models.Q(scope="department"),
                name="limits_one_override_per_department",
            ),
        ]

    def __str__(self) -> str:
        return f"Limits of {self.department if self.scope == d.DEPARTMENT else self.user}"

    def clean(self) -> None:
        if self.scope == d.USER:
            if self.user_id is None:
                raise ValidationError({"user": "Choose the employee these limits apply to."})
            self.department = ""
        elif self.scope == d.DEPARTMENT:
            self.department = " ".join(self.department.split())
            if not self.department:
                raise ValidationError({"department": "Name the department."})
            self.user = None

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in d.NAMES}
