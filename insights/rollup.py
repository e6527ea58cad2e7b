"""Audit events → insights rollups: the one place that decides what an event counts as.

`event_deltas` is pure (rows in, deltas out); `rollups_refresh` folds the events after
the high-water mark into the tables in short transactions, `rollups_rebuild` starts
over (after a bulk load, or when COMPANY_TIME_ZONE changed). Both read the audit log
only, so every number insights shows can be recomputed from the verified chain.

Audit ids are handed out under the chain-head lock and commit in order, so "every
event with id ≤ the largest committed id" is a complete prefix of the log: a high-water
mark on the id can never skip an event that commits later.

What counts (docs/insights.md):
- a *request* is `prompt.submitted` whose decision is not "block", or `prompt.blocked`
  (as the reviewer's totals count them: a summary counts one request per part);
- an *active user* on a day made at least one request that day;
- tokens, cost, failures and time to first token come from `generation.finished`;
- sign-ins (`account.sign_in`) make adoption's default denominator (Member).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit import actions
from audit.models import AuditEvent
from insights.models import (
    ActiveDay,
    ActiveMonth,
    ActiveWeek,
    CountRollup,
    FirstActive,
    Member,
    RollupState,
    UsageRollup,
)

METRIC_ENTITY = "entity"  # key: entity type, subkey: action taken; n: requests
METRIC_OVERRIDE = "override"  # key: entity type, subkey: outcome (ok | rejected)
METRIC_FAILURE = "failure"  # key: outcome, subkey: error code
METRIC_RATING = "rating"  # key: up | down
METRIC_TEMPLATE = "template"  # key: template id, subkey: shared | personal
METRIC_TTFT = "ttft"  # key: bucket index (TTFT_EDGES_MS)
# Active users of each day, week (day = Monday) and month (day = the 1st): grain "day".
METRIC_ACTIVE_DAY = "active_day"
METRIC_ACTIVE_WEEK = "active_week"
METRIC_ACTIVE_MONTH = "active_month"
SERIES_METRICS = (METRIC_ACTIVE_DAY, METRIC_ACTIVE_WEEK, METRIC_ACTIVE_MONTH)
DAY, MONTH = "day", "month"

WATCHED_ACTIONS = (
    actions.PROMPT_SUBMITTED,
    actions.PROMPT_BLOCKED,
    actions.GENERATION_FINISHED,
    actions.POLICY_OVERRIDE,
    actions.ACCOUNT_SIGN_IN,
    actions.TEMPLATE_USED,
    actions.FEEDBACK_GIVEN,
)
ENTITY_ACTIONS = ("pseudonymize", "redact", "block", "allow")
# Time to first token: buckets 10 % wide from 10 ms to ~10 min, so a percentile read
# from the histogram is within 10 % of the exact one.
TTFT_EDGES_MS: tuple[int, ...] = tuple(
    sorted({round(10 * 1.1**k) for k in range(0, 116)})
)  # fmt: skip
BATCH_SIZE = 50_000
_EVENT_COLUMNS = (
    "id", "created_at", "actor_id", "actor_department", "action", "outcome", "tool",
    "model", "decision", "input_tokens", "output_tokens", "cost_usd", "target_id", "details",
)  # fmt: skip
_USAGE_FIELDS = (
    "requests", "blocked", "with_personal_data", "generations", "input_tokens",
    "output_tokens", "cost_usd",
)  # fmt: skip


@dataclass
class Deltas:
    # (day | Monday | 1st, user) → department of the first request in it
    active_days: dict[tuple[date, int], str] = field(default_factory=dict)
    active_weeks: set[tuple[date, int]] = field(default_factory=set)
    active_months: dict[tuple[date, int], str] = field(default_factory=dict)
    first_active: dict[int, date] = field(default_factory=dict)
    # user → (first month, latest month, department at the latest sign-in)
    sign_ins: dict[int, tuple[date, date, str]] = field(default_factory=dict)
    # (day, department, tool, preset, model) → the _USAGE_FIELDS, in order
    usage: dict[tuple[date, str, str, str, str], list[Any]] = field(default_factory=dict)
    counts: Counter[tuple[date, str, str, str, str]] = field(default_factory=Counter)


def company_zone() -> tzinfo:
    return ZoneInfo(settings.COMPANY_TIME_ZONE)


def ttft_bucket(ms: int) -> int:
    return bisect.bisect_left(TTFT_EDGES_MS, ms)


def _findings(details: dict[str, Any]) -> dict[str, int]:
    raw = details.get("findings")
    if not isinstance(raw, dict):
        return {}
    return {
        str(k)[:64]: v for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool)
    }


def entity_action(entity: str, details: dict[str, Any]) -> str:
    """What the policy did with this entity type: recorded in `actions` since issue 10;
    for older events inferred from the decision (a type listed in `blocked_types` was
    blocked, otherwise the request's decision applied to every type found)."""
    recorded = details.get("actions")
    if isinstance(recorded, dict) and recorded.get(entity) in ENTITY_ACTIONS:
        return str(recorded[entity])
    blocked = details.get("blocked_types")
    if isinstance(blocked, list) and entity in blocked:
        return "block"
    decision = details.get("decision")
    return decision if decision in ("pseudonymize", "allow") else "unrecorded"


def _text(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def event_deltas(rows: Iterable[Sequence[Any]], zone: tzinfo) -> Deltas:
    """Fold event rows (in _EVENT_COLUMNS order) into deltas for the rollup tables."""
    out = Deltas()
    for row in rows:
        (_id, created_at, user, department, action, outcome, tool, model, decision) = row[:9]
        details = row[13] if isinstance(row[13], dict) else {}
        day = created_at.astimezone(zone).date()
        month = day.replace(day=1)
        department = department or ""
        if action == actions.ACCOUNT_SIGN_IN:
            if user is not None:
                first = out.sign_ins[user][0] if user in out.sign_ins else month
                out.sign_ins[user] = (first, month, department)  # events come in time order
            continue
        if action in (actions.PROMPT_SUBMITTED, actions.PROMPT_BLOCKED):
            if action == actions.PROMPT_SUBMITTED and decision == "block":
                continue  # its prompt.blocked event is the request (as the audit totals)
            if user is not None:
                out.active_days.setdefault((day, user), department)
                out.active_weeks.add((day - timedelta(days=day.weekday()), user))
                out.active_months.setdefault((month, user), department)
                if user not in out.first_active or day < out.first_active[user]:
                    out.first_active[user] = day
            findings = {k: v for k, v in _findings(details).items() if v > 0}
            usage = _usage_row(out, day, department, tool, details, model)
            usage[0] += 1
            usage[1] += action == actions.PROMPT_BLOCKED
            usage[2] += bool(findings)
            for entity in findings:
                out.counts[(day, METRIC_ENTITY, tool, entity, entity_action(entity, details))] += 1
        elif action == actions.GENERATION_FINISHED:
            usage = _usage_row(out, day, department, tool, details, model)
            usage[3] += 1
            usage[4] += row[9] or 0
            usage[5] += row[10] or 0
            usage[6] += row[11] or Decimal(0)
            if outcome != "done":
                code = _text(details.get("error_code"), 64)
                out.counts[(day, METRIC_FAILURE, tool, _text(outcome, 64), code)] += 1
            ttft = details.get("ttft_ms")
            if isinstance(ttft, int) and not isinstance(ttft, bool) and ttft >= 0:
                out.counts[(day, METRIC_TTFT, tool, f"{ttft_bucket(ttft):03d}", "")] += 1
        elif action == actions.POLICY_OVERRIDE:
            entity = _text(details.get("entity_type"), 64)
            out.counts[(day, METRIC_OVERRIDE, tool, entity, _text(outcome, 64))] += 1
        elif action == actions.TEMPLATE_USED:
            kind = "shared" if details.get("shared") else "personal"
            template = _text(details.get("template_id") or row[12], 64)
            out.counts[(day, METRIC_TEMPLATE, tool, template, kind)] += 1
        elif action == actions.FEEDBACK_GIVEN:
            rating, previous = details.get("rating"), details.get("previous_rating")
            if rating in ("up", "down"):
                out.counts[(day, METRIC_RATING, tool, rating, "")] += 1
            if previous in ("up", "down"):
                # A changed rating replaces the earlier one (counted on this day).
                out.counts[(day, METRIC_RATING, tool, previous, "")] -= 1
    return out


def _usage_row(
    out: Deltas, day: date, department: str, tool: str, details: dict[str, Any], model: str
) -> list[Any]:
    preset = _text(details.get("preset"), 40) if tool == "rewrite" else ""
    key = (day, department, tool or "", preset, model or "")
    row = out.usage.get(key)
    if row is None:
        row = out.usage[key] = [0, 0, 0, 0, 0, 0, Decimal(0)]
    return row


# --- writing -----------------------------------------------------------------------------


class _Insert:
    """INSERT … VALUES (…), (…) ON CONFLICT …: rows in chunks of one statement each (a
    round trip per chunk, not per row). Keys within a chunk are unique (they come from a
    dict or set), which PostgreSQL requires of a multi-row upsert."""

    CHUNK = 500

    def __init__(self, model: Any, columns: Sequence[str], on_conflict: str):
        self.head = f"INSERT INTO {model._meta.db_table} AS t ({', '.join(columns)}) VALUES "  # noqa: S608 (our names)
        self.row = f"({', '.join(['%s'] * len(columns))})"
        self.tail = f" ON CONFLICT {on_conflict}"

    def run(self, cursor: Any, rows: Sequence[Sequence[Any]], returning: str = "") -> list[Any]:
        """Insert; with `returning`, the values of that column of the rows *inserted*."""
        out: list[Any] = []
        for start in range(0, len(rows), self.CHUNK):
            chunk = rows[start : start + self.CHUNK]
            sql = self.head + ", ".join([self.row] * len(chunk)) + self.tail
            cursor.execute(
                sql + (f" RETURNING {returning}" if returning else ""),
                [value for values in chunk for value in values],
            )
            if returning:
                out.extend(_as_date(row[0]) for row in cursor.fetchall())
        return out


def _adding(keys: Sequence[str], values: Sequence[str]) -> str:
    sums = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in values)
    return f"({', '.join(keys)}) DO UPDATE SET {sums}"


_USAGE_KEY = ("grain", "day", "department", "tool", "preset", "model")
_USAGE = _Insert(UsageRollup, (*_USAGE_KEY, *_USAGE_FIELDS), _adding(_USAGE_KEY, _USAGE_FIELDS))
_COUNT_KEY = ("grain", "day", "metric", "tool", "key", "subkey")
_COUNTS = _Insert(CountRollup, (*_COUNT_KEY, "n"), _adding(_COUNT_KEY, ["n"]))
_FIRST = _Insert(
    FirstActive,
    ("user_id", "day", "month"),
    "(user_id) DO UPDATE SET "
    "day = CASE WHEN excluded.day < t.day THEN excluded.day ELSE t.day END, "
    "month = CASE WHEN excluded.day < t.day THEN excluded.month ELSE t.month END",
)
_ACTIVE_DAY = _Insert(ActiveDay, ("day", "user_id", "department"), "(day, user_id) DO NOTHING")
_ACTIVE_WEEK = _Insert(ActiveWeek, ("week", "user_id"), "(week, user_id) DO NOTHING")
_ACTIVE_MONTH = _Insert(
    ActiveMonth, ("month", "user_id", "department"), "(month, user_id) DO NOTHING"
)
_MEMBER = _Insert(
    Member,
    ("user_id", "first_month", "last_month", "department"),
    "(user_id) DO UPDATE SET "
    "first_month = CASE WHEN excluded.first_month < t.first_month "
    "THEN excluded.first_month ELSE t.first_month END, "
    "department = CASE WHEN excluded.last_month >= t.last_month "
    "THEN excluded.department ELSE t.department END, "
    "last_month = CASE WHEN excluded.last_month > t.last_month "
    "THEN excluded.last_month ELSE t.last_month END",
)


def _as_date(value: Any) -> date:
    # SQLite returns dates from raw SQL as ISO strings.
    return date.fromisoformat(value) if isinstance(value, str) else value


def deltas_apply(deltas: Deltas) -> None:
    """Add the deltas to the tables (inside the caller's transaction), at both grains."""
    counts: Counter[tuple[Any, ...]] = Counter()
    usage: dict[tuple[Any, ...], list[Any]] = {}
    for (day, *rest), row in deltas.usage.items():
        for grain, when in ((DAY, day), (MONTH, day.replace(day=1))):
            target = usage.setdefault((grain, when, *rest), [0] * (len(row) - 1) + [Decimal(0)])
            for i, value in enumerate(row):
                target[i] += value
    for (day, *rest), n in deltas.counts.items():
        counts[(DAY, day, *rest)] += n
        counts[(MONTH, day.replace(day=1), *rest)] += n
    with connection.cursor() as cursor:
        # Only rows new to the tables are returned: they are the new active users of each
        # day, week and month, so the series are counts and never COUNT(DISTINCT …) later.
        for metric, inserted in (
            (METRIC_ACTIVE_DAY, _ACTIVE_DAY.run(
                cursor, [(d, u, dep) for (d, u), dep in deltas.active_days.items()], "day")),
            (METRIC_ACTIVE_WEEK, _ACTIVE_WEEK.run(cursor, sorted(deltas.active_weeks), "week")),
            (METRIC_ACTIVE_MONTH, _ACTIVE_MONTH.run(
                cursor, [(m, u, dep) for (m, u), dep in deltas.active_months.items()], "month")),
        ):  # fmt: skip
            for when in inserted:
                counts[(DAY, when, metric, "", "", "")] += 1
        _MEMBER.run(cursor, [(user, *rest) for user, rest in deltas.sign_ins.items()])
        _FIRST.run(cursor, [(u, d, d.replace(day=1)) for u, d in deltas.first_active.items()])
        _USAGE.run(cursor, [(*key, *row) for key, row in usage.items()])
        _COUNTS.run(cursor, [(*key, n) for key, n in counts.items() if n])


@dataclass(frozen=True)
class RefreshResult:
    events: int  # events folded in (of the watched actions)
    through_id: int
    caught_up: bool  # False: more events wait (a limit was hit, or a rebuild is due)


def _locked_state() -> RollupState | None:
    # skip_locked: a refresh already under way elsewhere is as good as this one.
    locked = RollupState.objects.select_for_update(skip_locked=True).filter(id=1).first()
    if locked is None and not RollupState.objects.filter(id=1).exists():
        RollupState.objects.get_or_create(id=1, defaults={"time_zone": settings.COMPANY_TIME_ZONE})
        locked = RollupState.objects.select_for_update(skip_locked=True).filter(id=1).first()
    return locked


def rollups_refresh(*, limit: int | None = None, rebuild_if_needed: bool = True) -> RefreshResult:
    """Fold the events after the high-water mark in, BATCH_SIZE per transaction.

    A COMPANY_TIME_ZONE other than the one the rollups were cut in needs a rebuild:
    done here when `rebuild_if_needed` (the scheduled job, the commands), otherwise the
    result says it is not caught up (the page must not stall on a rebuild).
    """
    state = RollupState.objects.filter(id=1).first()
    if state is not None and state.time_zone != settings.COMPANY_TIME_ZONE:
        if not rebuild_if_needed:
            return RefreshResult(events=0, through_id=state.last_event_id, caught_up=False)
        return rollups_rebuild()
    head = AuditEvent.objects.aggregate(head=Max("id"))["head"] or 0
    if state is not None and state.last_event_id >= head:
        return RefreshResult(events=0, through_id=state.last_event_id, caught_up=True)
    folded, through = 0, 0
    zone = company_zone()
    while True:
        size = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - folded)
        if size <= 0:
            return RefreshResult(events=folded, through_id=through, caught_up=False)
        with transaction.atomic():
            state = _locked_state()
            if state is None:  # another refresh holds the lock: it does this work
                return RefreshResult(events=folded, through_id=through, caught_up=False)
            if state.last_event_id < head:
                rows = list(
                    AuditEvent.objects.filter(
                        id__gt=state.last_event_id, id__lte=head, action__in=WATCHED_ACTIONS
                    )
                    .order_by("id")
                    .values_list(*_EVENT_COLUMNS)[:size]
                )
                deltas_apply(event_deltas(rows, zone))
                # A short batch reached the head: every event up to it was looked at.
                state.last_event_id = rows[-1][0] if len(rows) == size else head
                if rows:
                    state.last_event_at = rows[-1][1]
                state.updated_at = timezone.now()
                state.save()
                folded += len(rows)
            through = state.last_event_id
        if through >= head:
            return RefreshResult(events=folded, through_id=through, caught_up=True)


_ROLLUP_MODELS = (
    ActiveDay, ActiveWeek, ActiveMonth, FirstActive, Member, UsageRollup, CountRollup
)  # fmt: skip


def rollups_rebuild() -> RefreshResult:
    """Recompute every rollup from the events, in one transaction: readers see the old
    figures until the new ones are complete."""
    with transaction.atomic():
        RollupState.objects.get_or_create(id=1)
        RollupState.objects.select_for_update().filter(id=1).first()
        for model in _ROLLUP_MODELS:
            model.objects.all().delete()
        RollupState.objects.filter(id=1).update(
            last_event_id=0,
            last_event_at=None,
            time_zone=settings.COMPANY_TIME_ZONE,
            updated_at=timezone.now(),
        )
        return rollups_refresh(rebuild_if_needed=False)


def rollup_state() -> RollupState:
    return RollupState.objects.filter(id=1).first() or RollupState(
        id=1, time_zone=settings.COMPANY_TIME_ZONE
    )


def local_datetime(value: datetime) -> datetime:
    return value.astimezone(company_zone())
