"""Small groups are never shown on their own (docs/insights.md, "Privacy").

A department with fewer than INSIGHTS_MIN_GROUP_SIZE active users in a period is shown
only inside "Other departments". If that group itself would be smaller than the
threshold, the next-smallest shown departments join it until it is not: otherwise the
company total minus the shown rows would give the small department's figures back.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings

OTHER = "Other departments"
NO_DEPARTMENT = "No department"


def department_label(name: str) -> str:
    if name in (OTHER, NO_DEPARTMENT):
        return f"{name} (a department of that name)"  # never mistaken for the groups
    return name or NO_DEPARTMENT


def fold_departments(
    users: Mapping[str, set[int]], *, threshold: int | None = None
) -> dict[str, str]:
    """{department: the label it is shown under} for one period's active users.

    `users` maps each department to the ids of its active users (a person who moved
    during the period is in both; "Other departments" counts them once).
    """
    minimum = settings.INSIGHTS_MIN_GROUP_SIZE if threshold is None else threshold
    # Smallest first; the name breaks ties so the result does not depend on dict order.
    order = sorted(users, key=lambda d: (len(users[d]), d))
    folded = [d for d in order if len(users[d]) < minimum]
    shown = [d for d in order if len(users[d]) >= minimum]
    while folded and shown and len(set().union(*(users[d] for d in folded))) < minimum:
        folded.append(shown.pop(0))
    labels = {d: department_label(d) for d in shown}
    labels.update({d: OTHER for d in folded})
    return labels


def cohort_shown(size: int) -> bool:
    """Retention of a cohort of fewer people than the threshold is not shown."""
    return size >= settings.INSIGHTS_MIN_GROUP_SIZE
