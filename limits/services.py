"""Admission (may this employee start a run now?) and settlement (the run ended).

`admission()` wraps a tool's send path: before anything is written it takes a slot in
every counter at once for a new run id (one Lua script), or raises LimitExceeded, which
is recorded as `prompt.rejected` with the limit that refused — so a refusal never
creates, rolls back or locks anything. The caller then creates the run with that id; if
creating it fails, the slot and any reservation are given back. `run_ended` (called by
lifecycle when a run ends, after commit) gives the slot and any reservation back and
adds real usage.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import redis
from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from audit.actions import Action
from audit.services import audit_record
from config import metrics
from limits import counters
from limits import definitions as d
from limits.policy import limits_for
from limits.windows import DAY, MONTH, Window, describe_reset, window_at
from prompting.errors import ApplicationError, QueueUnavailable
from prompting.models import Run

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.STREAMING)
# An active run holds its slot this long at most: a run that never reports its end
# (its process was killed before the reaper's transition) frees the slot by itself.
ACTIVE_LEASE_MS = 30 * 60 * 1000
# A summary's reservation lives this long at most (a summary ends long before).
RESERVATION_MS = 2 * 24 * 3600 * 1000
# What Retry-After says for "a run at a time": runs usually end within seconds.
ACTIVE_RETRY_HINT_MS = 5_000
# A slot whose run is not (yet) in the database is someone's send still creating it
# (the slot is taken before the run's transaction commits): only a slot older than this
# is taken to belong to a run that vanished (docs/capacity.md, "Healing").
IN_FLIGHT_GRACE_MS = 10_000
BUILD_ATTEMPTS = 3


class LimitExceeded(ApplicationError):
    status = 429
    code = "limit_exceeded"

    def __init__(self, user_message: str, *, retry_after_s: int, details: dict[str, Any]):
        super().__init__(user_message)
        self.retry_after = retry_after_s
        self.details = details


class LimitsUnavailable(ApplicationError):
    status = 503
    code = "limits_unavailable"
    retry_after = 5


def _prefix(scope: str, user: Any) -> str:
    if scope == d.USER:
        return f"lim:u:{user.pk}"
    return f"lim:d:{quote(user.department, safe='')}"


def _key(scope: str, user: Any, name: str, window: Window | None = None) -> str:
    base = f"{_prefix(scope, user)}:{name}"
    return f"{base}:{window.label}" if window else base


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class _Planned:
    scope: str
    name: str
    window: Window | None
    check: counters.Check
    limit_value: Any


def _plan(user: Any, now: datetime, reserve_tokens: int, reserve_micro_usd: int) -> list[_Planned]:
    tz = settings.LIMITS_TIME_ZONE
    now_ms = _ms(now)
    windows = {DAY: window_at(DAY, now, tz), MONTH: window_at(MONTH, now, tz)}
    planned = []
    for scope, limits in zip((d.USER, d.DEPARTMENT), limits_for(user), strict=True):
        for name in d.NAMES:
            limit = limits.counter_limit(name)
            if limit is None:
                continue
            window = None
            if name == d.ACTIVE_RUNS:
                check = counters.Check(
                    _key(scope, user, name),
                    counters.SET,
                    limit,
                    resets_at_ms=now_ms + ACTIVE_RETRY_HINT_MS,
                    hold_ms=ACTIVE_LEASE_MS,
                )
            elif name == d.REQUESTS_PER_MINUTE:
                check = counters.Check(
                    _key(scope, user, name),
                    counters.LOG,
                    limit,
                    resets_at_ms=now_ms + counters.RATE_WINDOW_MS,
                )
            else:
                window = windows[DAY if name.endswith("_day") else MONTH]
                amount = reserve_micro_usd if name in d.DOLLAR_LIMITS else reserve_tokens
                check = counters.Check(
                    _key(scope, user, name, window),
                    counters.SUM,
                    limit,
                    amount=amount,
                    resets_at_ms=_ms(window.end),
                    hold_ms=RESERVATION_MS,
                )
            planned.append(_Planned(scope, name, window, check, limits.get(name)))
    return planned


def run_admit(
    *,
    user: Any,
    run_id: Any,
    reserve_tokens: int = 0,
    reserve_usd: Decimal = Decimal(0),
    now: datetime | None = None,
) -> None:
    """Take run `run_id`'s slot in every counter of the employee and their department,
    or raise LimitExceeded naming the limit that binds. A summary reserves its estimate.
    Redis unreachable: QueueUnavailable (the same Redis queues and relays every run, so
    nothing could be sent anyway)."""
    now = now or timezone.now()
    planned = _plan(user, now, max(reserve_tokens, 0), max(d.to_micro_usd(reserve_usd), 0))
    checks = [p.check for p in planned]
    member = str(run_id)
    try:
        healed = False
        for _attempt in range(BUILD_ATTEMPTS + 1):
            result = counters.admit(checks, member=member, now_ms=_ms(now))
            if result.missing:
                for index in result.missing:
                    _build(user, planned[index], now, admitting=member)
                continue
            if result.ok or healed:
                break
            # Refused for runs at a time: drop slots whose runs ended without releasing
            # them (a deleted conversation, a killed process) and look once more.
            healed = True
            if not _drop_ended_runs(planned, result.failures, admitting=member, now=now):
                break
        else:
            raise LimitsUnavailable("Usage limits could not be checked; try again in a moment.")
    except redis.RedisError:
        logger.warning("limits: Redis unavailable at admission", exc_info=True)
        raise QueueUnavailable() from None
    if result.ok:
        return
    # Several limits may refuse at once: the one that binds longest is the one to name.
    failure = max(
        result.failures,
        key=lambda f: (f.retry_after_ms, planned[f.index].scope == d.USER),
    )
    raise _refusal(user, planned[failure.index], failure, now)


def _drop_ended_runs(
    planned: list[_Planned],
    failures: tuple[counters.Failure, ...],
    *,
    admitting: str,
    now: datetime,
) -> bool:
    """Release the active-run slots the database says are no longer active. True if any.
    Slots taken in the last IN_FLIGHT_GRACE_MS are left alone: their runs may still be
    in an uncommitted transaction (two tabs racing for the last slot)."""
    dropped = False
    # A slot's score is when its lease lapses: taken at score - ACTIVE_LEASE_MS.
    taken_before = _ms(now) - IN_FLIGHT_GRACE_MS + ACTIVE_LEASE_MS
    for failure in failures:
        check = planned[failure.index].check
        if check.kind != counters.SET:
            continue
        held = [
            m
            for m in counters.members(check.key, scored_below=taken_before)
            if m not in (counters.SENTINEL, admitting)
        ]
        run_ids = [m for m in held if _is_uuid(m)]  # anything else is no run: dropped
        active = {
            str(pk)
            for pk in Run.objects.filter(pk__in=run_ids, status__in=ACTIVE_STATUSES).values_list(
                "pk", flat=True
            )
        }
        ended = [m for m in held if m not in active]
        if ended:
            counters.release(check.key, ended)
            dropped = True
    return dropped


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _refusal(
    user: Any, planned: _Planned, failure: counters.Failure, now: datetime
) -> LimitExceeded:
    retry_s = max(1, math.ceil(failure.retry_after_ms / 1000))
    check = planned.check
    used = failure.used
    shown: Callable[[int], str]
    if planned.name in d.DOLLAR_LIMITS:
        shown = lambda micro: f"${d.from_micro_usd(micro):,.2f}"  # noqa: E731
    else:
        shown = lambda amount: f"{amount:,}"  # noqa: E731
    mine = planned.scope == d.USER
    who = "You" if mine else f"Your department ({user.department})"
    whose = "your" if mine else "its"
    label = d.LABELS[planned.name].lower()
    if check.limit == 0:
        owner = "Your" if mine else f"Your department's ({user.department})"
        sentence = (
            f"{owner} limit of {label} "
            "is 0, so nothing "
            "can be sent. Ask an administrator if you need it raised."
        )
    elif planned.name == d.ACTIVE_RUNS:
        sentence = (
            f"{who} already {'have' if mine else 'has'} {_plural(used, 'answer')} in progress; "
            f"{whose} limit is {check.limit} at a time. "
            + (
                "Wait for one to finish (or stop one), then send again."
                if mine
                else f"Try again in {retry_s} seconds."
            )
        )
    elif planned.name == d.REQUESTS_PER_MINUTE:
        sentence = (
            f"{who} sent {_plural(used, 'request')} in the last minute; {whose} limit is "
            f"{check.limit} per minute. Try again in {retry_s} seconds."
        )
    else:
        assert planned.window is not None
        period = "daily" if planned.window.period == DAY else "monthly"
        reset = (
            f"It resets {describe_reset(planned.window, now)} "
            f"({settings.LIMITS_TIME_ZONE}), in {_duration(retry_s)}."
        )
        if check.amount > 0:
            left = max(check.limit - used, 0)
            owner = "your" if mine else f"your department's ({user.department})"
            sentence = (
                f"This summary could use up to {shown(check.amount)}; {owner} {period} "
                f"limit of {shown(check.limit)} has {shown(left)} left. {reset}"
            )
        else:
            sentence = (
                f"{who} {'have' if mine else 'has'} used {shown(used)} of {whose} {period} "
                f"limit of {shown(check.limit)}. {reset}"
            )
    details = {
        "reason": f"limit_{planned.name}",
        "limit": planned.name,
        "scope": planned.scope,
        "limit_value": str(planned.limit_value),
        "used": str(d.from_micro_usd(used)) if planned.name in d.DOLLAR_LIMITS else used,
        "retry_after_s": retry_s,
    }
    return LimitExceeded(sentence, retry_after_s=retry_s, details=details)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _duration(seconds: int) -> str:
    if seconds < 90:
        return _plural(seconds, "second")
    minutes = seconds // 60
    if minutes < 90:
        return f"{minutes} minutes"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days"


def _owned(scope: str, user: Any) -> Q:
    return Q(owner_id=user.pk) if scope == d.USER else Q(owner__department=user.department)


def _build(user: Any, planned: _Planned, now: datetime, *, admitting: Any) -> None:
    """Rebuild a missing counter from the database: limit keys deleted or expired
    mid-window must not hand out a fresh allowance. The run being admitted is already
    in the database (same transaction) but not yet counted: leave it out."""
    check = planned.check
    owned = Run.objects.filter(_owned(planned.scope, user)).exclude(pk=admitting)
    if check.kind == counters.SET:
        since = now - timedelta(milliseconds=ACTIVE_LEASE_MS)
        rows = owned.filter(
            parent__isnull=True, status__in=ACTIVE_STATUSES, created_at__gte=since
        ).values_list("pk", "created_at")
        members = {str(pk): _ms(created) + ACTIVE_LEASE_MS for pk, created in rows}
        counters.build(
            check.key, check.kind, expire_at_ms=_ms(now) + ACTIVE_LEASE_MS, members=members
        )
    elif check.kind == counters.LOG:
        since = now - timedelta(milliseconds=counters.RATE_WINDOW_MS)
        rows = owned.filter(parent__isnull=True, created_at__gte=since).values_list(
            "pk", "created_at"
        )
        counters.build(
            check.key,
            check.kind,
            expire_at_ms=_ms(now) + 2 * counters.RATE_WINDOW_MS,
            members={str(pk): _ms(created) for pk, created in rows},
        )
    else:
        assert planned.window is not None
        used = _used_in_window(owned, planned.window, dollars=planned.name in d.DOLLAR_LIMITS)
        counters.build(
            check.key, check.kind, expire_at_ms=_ms(planned.window.end) + 3_600_000, value=used
        )


def _used_in_window(runs: Any, window: Window, *, dollars: bool) -> int:
    ended = runs.filter(finished_at__gte=window.start, finished_at__lt=window.end)
    totals = ended.aggregate(i=Sum("input_tokens"), o=Sum("output_tokens"), c=Sum("cost_usd"))
    if dollars:
        return d.to_micro_usd(totals["c"] or 0)
    return int((totals["i"] or 0) + (totals["o"] or 0))


@contextmanager
def admission(
    *, user: Any, tool: str, reserve_tokens: int = 0, reserve_usd: Decimal = Decimal(0)
) -> Iterator[uuid.UUID]:
    """Wrap a send path: `with admission(...) as run_id, transaction.atomic():` and create
    the run with `id=run_id`. The slot (and a summary's reservation) is taken before the
    block runs, in one Redis round trip; a refusal is recorded as prompt.rejected and
    raised before any database write. If the block raises, the slot is given back."""
    run_id = uuid.uuid4()
    try:
        run_admit(user=user, run_id=run_id, reserve_tokens=reserve_tokens, reserve_usd=reserve_usd)
    except LimitExceeded as exc:
        metrics.LIMIT_REFUSALS.labels(exc.details["limit"], exc.details["scope"]).inc()
        audit_record(
            actor=user,
            action=Action.PROMPT_REJECTED,
            outcome="rejected",
            details={**exc.details, "tool": tool},
        )
        raise
    except (LimitsUnavailable, QueueUnavailable) as exc:
        audit_record(
            actor=user,
            action=Action.PROMPT_REJECTED,
            outcome="rejected",
            details={"reason": exc.code, "tool": tool},
        )
        raise
    try:
        yield run_id
    except BaseException:
        # Nothing was created (the transaction rolled back): the slot is free again.
        _give_back(user, str(run_id))
        raise


def _give_back(user: Any, member: str) -> None:
    try:
        _settle_counters(user, member, timezone.now(), tokens=0, micro_usd=0)
    except Exception:  # Redis went away meanwhile: the slot lapses with its lease
        logger.warning("limits: could not give back the slot of %s", member, exc_info=True)


def run_ended(run: Run, *, now: datetime | None = None) -> None:
    """A run ended (lifecycle, after commit, with the row it just saved and its owner):
    free its slot and reservation, count its real tokens and cost. Never raises: a lost
    settlement lapses with the lease."""
    try:
        _settle(run, now or timezone.now())
    except Exception:
        logger.warning("limits: could not settle run %s", run.pk, exc_info=True)


def _settle(run: Run, now: datetime) -> None:
    tokens = (run.input_tokens or 0) + (run.output_tokens or 0)
    micro = d.to_micro_usd(run.cost_usd or 0)
    _settle_counters(run.owner, str(run.pk), now, tokens=tokens, micro_usd=micro)


def _settle_counters(user: Any, member: str, now: datetime, *, tokens: int, micro_usd: int) -> None:
    """Free `member`'s slots and reservation, and add what it really used (once)."""
    tz = settings.LIMITS_TIME_ZONE
    windows = {DAY: window_at(DAY, now, tz), MONTH: window_at(MONTH, now, tz)}
    micro = micro_usd
    scopes = [d.USER] + ([d.DEPARTMENT] if user.department else [])
    release = [_key(scope, user, d.ACTIVE_RUNS) for scope in scopes]
    add: dict[str, int] = {}
    for scope in scopes:
        for name in (d.TOKENS_PER_DAY, d.TOKENS_PER_MONTH, d.USD_PER_DAY, d.USD_PER_MONTH):
            window = windows[DAY if name.endswith("_day") else MONTH]
            add[_key(scope, user, name, window)] = micro if name in d.DOLLAR_LIMITS else tokens
    counters.settle(member=member, release=release, add=add)
