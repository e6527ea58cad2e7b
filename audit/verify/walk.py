"""Walk the event chain in id order; report the first bad event.

For each event: its id follows the previous one (else events were deleted), its
prev_hash is the previous event's hash (else something was inserted, reordered,
or deleted and renumbered), its recomputed hash matches (else it was edited), its
time does not go back (else it was not appended under the chain lock), it matches
any signed checkpoint ending at it, and its content matches content_sha256 unless
a valid retention purge blanked it. On the way the daily totals are recomputed.

Keyset batches (constant memory). PostgreSQL hashes the content and formats
timestamps server-side, so the content never crosses the wire; SQLite
(development) does it here. A second thread fetches the next batch while this one
hashes. `--jobs` splits the ids into ranges checked by spawned processes; only the
seams need the neighbouring range.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from audit import verify_worker
from audit.chain import EMPTY_SHA256, GENESIS, canonical_bytes, parse_float
from audit.totals import TOTALED_ACTIONS
from audit.verify.report import Problem

BATCH_SIZE = 20_000
# Appends take their time under the chain lock, so times rise with ids; servers'
# clocks may disagree by this much (seconds) before a step back is tampering.
CLOCK_SKEW_SECONDS = 60
_DECODER = json.JSONDecoder(parse_float=parse_float)
_TOTALED = frozenset(TOTALED_ACTIONS)

_COLUMNS = (
    "actor_id, actor_label, actor_department, action, target_type, target_id, outcome, "
    "tool, model, decision, input_tokens, output_tokens"
)
_POSTGRES_SQL = f"""
SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       {_COLUMNS}, cost_usd::text, details::text,
       CASE WHEN content = '' THEN '' ELSE encode(sha256(convert_to(content, 'UTF8')), 'hex') END,
       content_sha256, prev_hash, hash
FROM audit_auditevent WHERE id > %s AND id <= %s ORDER BY id LIMIT %s
"""  # noqa: S608
_SQLITE_SQL = f"""
SELECT id, created_at, {_COLUMNS}, CAST(cost_usd AS TEXT), details, content,
       content_sha256, prev_hash, hash
FROM audit_auditevent WHERE id > %s AND id <= %s ORDER BY id LIMIT %s
"""  # noqa: S608

# (day, action, department, tool, model, decision, outcome) -> [events, in, out, micro-USD]
Totals = dict[tuple[str, ...], list[int]]


@dataclass(frozen=True)
class WalkRules:
    """What the walk checks against, fixed before it starts (picklable for --jobs)."""

    anchors: dict[int, dict[str, Any]]  # last_event_id -> signed checkpoint record
    blank_through: int  # content may be blank up to this id (valid purges)
    batch_size: int = BATCH_SIZE


@dataclass(slots=True)  # not frozen: frozen __init__ costs ~1 µs a row, a million times
class _Row:
    id: int
    fields: dict[str, Any]
    content_actual_sha: str  # "" when the stored content is empty
    hash: str

    @property
    def prev_hash(self) -> str:
        return str(self.fields["prev_hash"])


@dataclass
class Segment:
    """What one id range found: its count, its first and last rows (for the seams),
    its recomputed totals and its first problem."""

    events: int = 0
    first: tuple[int, str, str] | None = None  # id, prev_hash, hash
    last: tuple[int, str, str] | None = None
    totals: Totals = field(default_factory=dict)
    problem: Problem | None = None


def walk(upto: int, rules: WalkRules, jobs: int, min_segment: int) -> list[Segment]:
    if jobs > 1 and not connection.in_atomic_block and upto >= 2 * min_segment:
        return _walk_parallel(upto, rules, jobs)
    return [walk_segment(0, upto, rules, True)]


def walk_segment(lo: int, hi: int, rules: WalkRules, link_first: bool) -> Segment:
    """Check events with lo < id <= hi. The first row's link to its predecessor is
    checked here only when `link_first` (the first range); otherwise at the seam."""
    segment = Segment()
    totals = segment.totals
    anchors = rules.anchors
    previous: _Row | None = None
    latest_time = ""
    rows = _rows(rules.batch_size, lo, hi)
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        problem = None
        if previous is not None or link_first:
            problem = check_link(current, previous, following)
        problem = problem or _check_self(current, rules.blank_through)
        fields = current.fields
        created = fields["created_at"]
        if problem is None and created < latest_time:
            problem = _check_time(current.id, created, latest_time)
        if problem is None and current.id in anchors:
            problem = _check_anchor(current, anchors[current.id])
        if problem is not None:
            segment.problem = problem
            return segment
        latest_time = max(latest_time, created)
        if fields["action"] in _TOTALED:
            _add_total(totals, fields)
        summary = (current.id, current.prev_hash, current.hash)
        segment.events += 1
        segment.first = segment.first or summary
        segment.last = summary
        previous, current = current, following
    return segment


def _add_total(totals: Totals, fields: dict[str, Any]) -> None:
    key = (
        fields["created_at"][:10],
        fields["action"],
        fields["actor_department"],
        fields["tool"],
        fields["model"],
        fields["decision"],
        fields["outcome"],
    )
    sums = totals.get(key)
    if sums is None:
        sums = totals[key] = [0, 0, 0, 0]
    sums[0] += 1
    sums[1] += fields["input_tokens"] or 0
    sums[2] += fields["output_tokens"] or 0
    cost = fields["cost_usd"]
    if cost:
        sums[3] += int(cost.replace(".", ""))  # always six decimals: micro-dollars


def _walk_parallel(upto: int, rules: WalkRules, jobs: int) -> list[Segment]:
    count = jobs * 2
    bounds = [upto * k // count for k in range(count + 1)]
    work = [(bounds[k], bounds[k + 1], rules, k == 0) for k in range(count)]
    # "spawn", not "fork": forking a process that runs other threads (a web server,
    # a test harness) can copy a held lock into the child and hang it.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=verify_worker.init,
        initargs=(connection.settings_dict["NAME"], connection.settings_dict["USER"]),
    ) as pool:
        return list(pool.map(verify_worker.run_segment, work))


def stitch(segments: list[Segment]) -> tuple[Segment, Problem | None]:
    """One summary of all ranges: each seam checked, then each range's own finding,
    in id order; totals added up."""
    if len(segments) == 1:
        return segments[0], segments[0].problem
    whole = Segment()
    last: tuple[int, str, str] | None = None
    for index, segment in enumerate(segments):
        if segment.first is not None and index > 0:
            previous = _Row(last[0], {"prev_hash": last[1]}, "", last[2]) if last else None
            first = _Row(segment.first[0], {"prev_hash": segment.first[1]}, "", segment.first[2])
            problem = check_link(first, previous, None)
            if problem is not None:
                return whole, problem
        if segment.problem is not None:
            return whole, segment.problem
        whole.first = whole.first or segment.first
        if segment.last is not None:
            last = whole.last = segment.last
        whole.events += segment.events
        for key, sums in segment.totals.items():
            mine = whole.totals.setdefault(key, [0, 0, 0, 0])
            for i, value in enumerate(sums):
                mine[i] += value
    return whole, None


def check_link(row: _Row, previous: _Row | None, following: _Row | None) -> Problem | None:
    expected_id = previous.id + 1 if previous else 1
    expected_prev = previous.hash if previous else GENESIS
    if row.id != expected_id:
        missing = (
            f"#{expected_id}" if row.id == expected_id + 1 else f"#{expected_id}..#{row.id - 1}"
        )
        return Problem("deleted", f"missing: event {missing} was deleted", event_id=expected_id)
    if row.prev_hash != expected_prev:
        if previous is not None and row.prev_hash == previous.prev_hash:
            return Problem(
                "inserted",
                f"inserted: it is not in the original chain (#{row.id} links past it)",
                event_id=previous.id,
            )
        if following is not None and row.prev_hash == following.hash:
            return Problem(
                "reordered",
                f"reordered: it was swapped with event #{following.id}",
                event_id=row.id,
            )
        return Problem(
            "deleted",
            f"does not follow #{expected_id - 1}: an event before it was deleted or replaced",
            event_id=row.id,
        )
    return None


def _check_self(row: _Row, blank_through: int) -> Problem | None:
    if hashlib.sha256(canonical_bytes(row.fields)).hexdigest() != row.hash:
        return Problem("edited", "edited: its hash does not match its fields", event_id=row.id)
    stored_sha = row.fields["content_sha256"]
    if row.content_actual_sha:
        if row.content_actual_sha != stored_sha:
            return Problem(
                "edited", "edited: its content does not match content_sha256", event_id=row.id
            )
    elif stored_sha != EMPTY_SHA256 and row.id > blank_through:
        return Problem(
            "content",
            "content removed outside what a valid retention purge allowed",
            event_id=row.id,
        )
    return None


def _check_time(event_id: int, created: str, latest: str) -> Problem | None:
    parse = datetime.fromisoformat
    if (parse(latest) - parse(created)).total_seconds() <= CLOCK_SKEW_SECONDS:
        return None
    return Problem(
        "inserted",
        f"its time {created} is before an earlier event's ({latest}): "
        "it was not appended under the chain lock",
        event_id=event_id,
    )


def _check_anchor(row: _Row, anchor: dict[str, Any]) -> Problem | None:
    if row.hash != anchor["last_hash"] or row.id != anchor["event_count"]:
        return Problem(
            "checkpoint",
            f"differs from signed checkpoint {anchor['seq']} (edited, or the chain was rebuilt)",
            event_id=row.id,
        )
    return None


def _rows(batch_size: int, lo: int, upto: int) -> Iterator[_Row]:
    to_row = _postgres_row if connection.vendor == "postgresql" else _sqlite_row
    # Inside a transaction only this connection sees the data: read in line.
    fetch = _batches if connection.in_atomic_block else _prefetched_batches
    for batch in fetch(batch_size, lo, upto):
        for raw in batch:
            yield to_row(raw)


def _batches(batch_size: int, lo: int, upto: int) -> Iterator[list[Any]]:
    sql = _POSTGRES_SQL if connection.vendor == "postgresql" else _SQLITE_SQL
    after = lo
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [after, upto, batch_size])
            batch = cursor.fetchall()
            if batch:
                yield batch
            if len(batch) < batch_size:
                return
            after = batch[-1][0]


def _prefetched_batches(batch_size: int, lo: int, upto: int) -> Iterator[list[Any]]:
    batches: queue.Queue[list[Any] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in _batches(batch_size, lo, upto):
                while not stop.is_set():
                    try:
                        batches.put(batch, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            batches.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            batches.put(exc)
        finally:
            connection.close()  # this thread's own connection

    producer = threading.Thread(target=produce, name="verify-audit-prefetch", daemon=True)
    producer.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


def _fields(raw: Sequence[Any], created_at: str, cost: str | None) -> dict[str, Any]:
    details = raw[15]
    return {
        "id": raw[0],
        "created_at": created_at,
        "actor_id": raw[2],
        "actor_label": raw[3],
        "actor_department": raw[4],
        "action": raw[5],
        "target_type": raw[6],
        "target_id": raw[7],
        "outcome": raw[8],
        "tool": raw[9],
        "model": raw[10],
        "decision": raw[11],
        "input_tokens": raw[12],
        "output_tokens": raw[13],
        "cost_usd": cost,
        "details": _DECODER.decode(details) if details else {},
        "content_sha256": raw[17],
        "prev_hash": raw[18],
    }


def _postgres_row(raw: Sequence[Any]) -> _Row:
    return _Row(raw[0], _fields(raw, raw[1], raw[14]), raw[16], raw[19])


def _sqlite_row(raw: Sequence[Any]) -> _Row:
    # Django stores aware datetimes in SQLite as naive UTC text, without the
    # fraction when it is zero.
    stamp = str(raw[1]).replace(" ", "T")
    if "." not in stamp:
        stamp += ".000000"
    cost = raw[14]
    cost_text = None if cost is None else f"{float(cost):.6f}"
    content = raw[16] or ""
    content_sha = hashlib.sha256(content.encode("utf-8")).hexdigest() if content else ""
    return _Row(raw[0], _fields(raw, stamp + "Z", cost_text), content_sha, raw[19])
