"""Totals for the reviewer's filtered range: from daily rollups when the filters
allow it, else from the events.

Every filter except user and entity type is a column of AuditDailyTotal, and
every period the form produces starts and ends at UTC midnight, so most totals
are a sum over at most a few thousand rollup rows. A user or entity-type filter
is selective enough (indexed) to aggregate the events themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from audit import actions
from audit.filters import Filters
from audit.models import AuditDailyTotal, AuditEvent

TOTALED_ACTIONS = (
    actions.PROMPT_SUBMITTED,
    actions.PROMPT_BLOCKED,
    actions.GENERATION_FINISHED,
)
# The rollup key; the database's append trigger (migrations/0005_append_path.py)
# adds each totaled event to the row of its UTC day and these columns.
TOTAL_KEY = ("day", "action", "actor_department", "tool", "model", "decision", "outcome")
TOTAL_SUMS = ("events", "input_tokens", "output_tokens", "cost_usd")
_TABLE = AuditDailyTotal._meta.db_table
_SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Totals:
    requests: int
    blocked: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def event_totals(filters: Filters) -> Totals:
    if _rollups_can_answer(filters):
        return _sum(_rollup_rows(filters), rollup=True)
    return events_totals_uncached(filters)


def events_totals_uncached(filters: Filters) -> Totals:
    """The same totals straight from the events (also what tests compare against)."""
    events = filters.apply(AuditEvent.objects.all()).filter(action__in=TOTALED_ACTIONS)
    return _sum(events, rollup=False)


def _rollups_can_answer(filters: Filters) -> bool:
    if filters.user or filters.entity_type or filters.run:
        return False
    return all(bound is None or _is_utc_midnight(bound) for bound in (filters.start, filters.end))


def _is_utc_midnight(value: datetime) -> bool:
    return value.astimezone(UTC).time() == time.min


def _rollup_rows(filters: Filters) -> QuerySet[AuditDailyTotal]:
    q = Q()
    if filters.start is not None:
        q &= Q(day__gte=filters.start.astimezone(UTC).date())
    if filters.end is not None:
        q &= Q(day__lt=filters.end.astimezone(UTC).date())
    for column in ("action", "tool", "model", "decision", "outcome"):
        if getattr(filters, column):
            q &= Q(**{column: getattr(filters, column)})
    if filters.department:
        q &= Q(actor_department=filters.department)
    return AuditDailyTotal.objects.filter(q)


def _sum(queryset: QuerySet[Any], *, rollup: bool) -> Totals:
    def counted(condition: Q) -> Any:
        # A rollup row stands for `events` events; an event row for one.
        return Sum("events", filter=condition) if rollup else Count("id", filter=condition)

    finished = Q(action=actions.GENERATION_FINISHED)
    row: dict[str, Any] = queryset.aggregate(
        submitted=counted(Q(action=actions.PROMPT_SUBMITTED) & ~Q(decision="block")),
        blocked=counted(Q(action=actions.PROMPT_BLOCKED)),
        input_tokens=Sum("input_tokens", filter=finished),
        output_tokens=Sum("output_tokens", filter=finished),
        cost_usd=Sum("cost_usd", filter=finished),
    )
    submitted, blocked = row["submitted"] or 0, row["blocked"] or 0
    return Totals(
        requests=submitted + blocked,
        blocked=blocked,
        input_tokens=row["input_tokens"] or 0,
        output_tokens=row["output_tokens"] or 0,
        # SQLite sums decimals as floats; six places is what was stored.
        cost_usd=Decimal(row["cost_usd"] or 0).quantize(_SIX_PLACES),
    )


def daily_totals_rebuild() -> int:
    """Recompute every rollup row from the events (to repair them after verify_audit_log
    reported a difference). Needs the owner role: the application's may only read."""
    groups = (
        AuditEvent.objects.filter(action__in=TOTALED_ACTIONS)
        .annotate(day=TruncDate("created_at"))
        .values(*TOTAL_KEY)
        .annotate(
            n=Count("*"),
            tokens_in=Sum("input_tokens"),
            tokens_out=Sum("output_tokens"),
            cost=Sum("cost_usd"),
        )
        .order_by()
    )
    rows = [
        AuditDailyTotal(
            **{key: group[key] for key in TOTAL_KEY},
            events=group["n"],
            input_tokens=group["tokens_in"] or 0,
            output_tokens=group["tokens_out"] or 0,
            cost_usd=Decimal(group["cost"] or 0).quantize(_SIX_PLACES),
        )
        for group in groups.iterator(chunk_size=5000)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE}")  # noqa: S608
        AuditDailyTotal.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
