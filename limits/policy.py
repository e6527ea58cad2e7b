"""Which limits apply to an employee: the defaults, then the overrides (one query)."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db.models import Q

from limits import definitions as d
from limits.models import LimitOverride


@functools.cache
def user_defaults() -> d.Limits:
    return d.parse_defaults("LIMITS_USER_DEFAULTS", settings.LIMITS_USER_DEFAULTS)


@functools.cache
def department_defaults() -> d.Limits:
    return d.parse_defaults("LIMITS_DEPARTMENT_DEFAULTS", settings.LIMITS_DEPARTMENT_DEFAULTS)


def department_default_for(department: str) -> d.Limits:
    """The department defaults, with the department's monthly budget from insights'
    INSIGHTS_DEPARTMENT_BUDGETS_USD when one is configured there (one budget, one place
    to set it, until an override is made in the admin)."""
    limits = department_defaults()
    budget = settings.INSIGHTS_DEPARTMENT_BUDGETS_USD.get(department)
    return limits.overridden({d.USD_PER_MONTH: budget}) if budget is not None else limits


def limits_for(user: Any) -> tuple[d.Limits, d.Limits]:
    """(the employee's limits, their department's limits)."""
    department = user.department or ""
    query = Q(scope=d.USER, user_id=user.pk)
    if department:
        query |= Q(scope=d.DEPARTMENT, department=department)
    mine, theirs = user_defaults(), department_default_for(department)
    for override in LimitOverride.objects.filter(query):
        if override.scope == d.USER:
            mine = mine.overridden(override.values())
        else:
            theirs = theirs.overridden(override.values())
    if not department:
        theirs = d.Limits()  # no department, no department limits
    return mine, theirs
