"""Walk the chain and the checkpoints; report the first bad event.

One pass in id order, in keyset batches (constant memory). For each event:
its id follows the previous one (else events were deleted), its prev_hash is
the previous event's hash (else something was inserted, reordered or deleted
and renumbered), its recomputed hash matches (else it was edited), and its
content matches content_sha256 unless a recorded retention purge blanked it.
At the end the last event is compared with the chain head and the newest
checkpoint (else the tail was truncated).

PostgreSQL hashes the content and formats timestamps server-side, so the
content never crosses the wire; SQLite (development) does it here.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from audit import actions, verify_worker
from audit.chain import EMPTY_SHA256, GENESIS, canonical_bytes, parse_float
from audit.checkpoints import checkpoint_dict, signature_valid
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent

BATCH_SIZE = 20_000
# Below this many events per process, forking costs more than it saves.
MIN_SEGMENT = 50_000
# Built once: json.loads(..., parse_float=...) would build a decoder per row.
_DECODER = json.JSONDecoder(parse_float=parse_float)

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


@dataclass(frozen=True)
class Problem:
    event_id: int
    kind: str  # edited | deleted | inserted | reordered | truncated | checkpoint | content
    message: str


@dataclass
class VerifyResult:
    events: int = 0
    first_id: int | None = None
    last_id: int | None = None
    last_hash: str = GENESIS
    checkpoints: int = 0
    problem: Problem | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        if self.problem is not None:
            return f"audit log NOT intact: event #{self.problem.event_id}: {self.problem.message}"
        span = f"#{self.first_id}..#{self.last_id}" if self.events else "none"
        return (
            f"audit log intact: {self.events:,} events ({span}), last hash "
            f"{self.last_hash[:16]}…, {self.checkpoints} checkpoints verified, "
            f"in {self.seconds:.2f} s ({rate:,.0f} events/s)"
        )


@dataclass(slots=True)  # not frozen: frozen __init__ costs ~1 µs a row, a million times
class _Row:
    id: int
    fields: dict[str, Any]
    content_actual_sha: str  # "" when the stored content is empty
    hash: str

    @property
    def prev_hash(self) -> str:
        return str(self.fields["prev_hash"])


def verify_chain(
    *,
    external_checkpoints: Sequence[dict[str, Any]] = (),
    batch_size: int = BATCH_SIZE,
    jobs: int | None = None,
    min_segment: int = MIN_SEGMENT,
) -> VerifyResult:
    """Verify the whole chain. `jobs` > 1 splits it into id ranges checked by
    that many processes (each range's links and hashes are independent; only the
    seams need the neighbouring range), used outside a transaction only."""
    started = time.perf_counter()
    result = VerifyResult()
    anchors, problem = _checkpoint_anchors(external_checkpoints)
    result.checkpoints = len(anchors)
    purged_through = _purged_through()
    # Events appended while we walk are not ours to judge: stop at the head as
    # it was when we started (the head is updated in each append's transaction).
    head = AuditChainHead.objects.filter(pk=1).first()
    upto = head.seq if head is not None else _highest_id()
    jobs = jobs if jobs is not None else min(4, os.cpu_count() or 1)
    if problem is None:
        if jobs > 1 and not connection.in_atomic_block and upto >= 2 * min_segment:
            segments = _walk_parallel(upto, anchors, purged_through, batch_size, jobs)
        else:
            segments = [_walk_segment(0, upto, anchors, purged_through, batch_size, True)]
        problem = _stitch(result, segments)
    if problem is None:
        problem = _check_tail(result, anchors, head)
    result.problem = problem
    result.warnings.extend(missing_triggers())
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class _Segment:
    """What one id range found: its count, its first and last rows (for the
    seams), and its first problem."""

    events: int = 0
    first: tuple[int, str, str] | None = None  # id, prev_hash, hash
    last: tuple[int, str, str] | None = None
    problem: Problem | None = None


def _walk_segment(
    lo: int,
    hi: int,
    anchors: dict[int, dict[str, Any]],
    purged_through: int,
    batch: int,
    link_first: bool,
) -> _Segment:
    """Check events with lo < id <= hi. The first row's link to its predecessor is
    checked here only when `link_first` (the first range); otherwise at the seam."""
    segment = _Segment()
    previous: _Row | None = None
    rows = _rows(batch, lo, hi)
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        if previous is None and not link_first:
            problem = _check_self(current, purged_through)
        else:
            problem = _check_link(current, previous, following) or _check_self(
                current, purged_through
            )
        if problem is None and current.id in anchors:
            problem = _check_anchor(current, anchors[current.id])
        if problem is not None:
            segment.problem = problem
            return segment
        summary = (current.id, current.prev_hash, current.hash)
        segment.events += 1
        segment.first = segment.first or summary
        segment.last = summary
        previous, current = current, following
    return segment


def _walk_parallel(
    upto: int, anchors: dict[int, dict[str, Any]], purged_through: int, batch: int, jobs: int
) -> list[_Segment]:
    count = jobs * 2
    bounds = [upto * k // count for k in range(count + 1)]
    work = [
        (bounds[k], bounds[k + 1], anchors, purged_through, batch, k == 0) for k in range(count)
    ]
    # "spawn", not "fork": forking a process that runs other threads (a web server,
    # a test harness) can copy a held lock into the child and hang it.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=verify_worker.init,
        initargs=(connection.settings_dict["NAME"],),
    ) as pool:
        return list(pool.map(verify_worker.run_segment, work))


def _stitch(result: VerifyResult, segments: list[_Segment]) -> Problem | None:
    """Check each seam, then each range's own finding, in id order."""
    last: tuple[int, str, str] | None = None
    for index, segment in enumerate(segments):
        if segment.first is not None and index > 0:
            previous = _Row(last[0], {"prev_hash": last[1]}, "", last[2]) if last else None
            first = _Row(segment.first[0], {"prev_hash": segment.first[1]}, "", segment.first[2])
            problem = _check_link(first, previous, None)
            if problem is not None:
                return problem
        if segment.problem is not None:
            return segment.problem
        if segment.first is not None:
            result.first_id = result.first_id or segment.first[0]
        if segment.last is not None:
            last = segment.last
            result.last_id, result.last_hash = last[0], last[2]
        result.events += segment.events
    return None


def _check_link(row: _Row, previous: _Row | None, following: _Row | None) -> Problem | None:
    expected_id = previous.id + 1 if previous else 1
    expected_prev = previous.hash if previous else GENESIS
    if row.id != expected_id:
        missing = (
            f"#{expected_id}" if row.id == expected_id + 1 else f"#{expected_id}..#{row.id - 1}"
        )
        return Problem(expected_id, "deleted", f"missing: event {missing} was deleted")
    if row.prev_hash != expected_prev:
        if previous is not None and row.prev_hash == previous.prev_hash:
            return Problem(
                previous.id,
                "inserted",
                f"inserted: it is not in the original chain (#{row.id} links past it)",
            )
        if following is not None and row.prev_hash == following.hash:
            return Problem(
                row.id, "reordered", f"reordered: it was swapped with event #{following.id}"
            )
        return Problem(
            row.id,
            "deleted",
            f"does not follow #{expected_id - 1}: an event before it was deleted or replaced",
        )
    return None


def _check_self(row: _Row, purged_through: int) -> Problem | None:
    if hashlib.sha256(canonical_bytes(row.fields)).hexdigest() != row.hash:
        return Problem(row.id, "edited", "edited: its hash does not match its fields")
    stored_sha = row.fields["content_sha256"]
    if row.content_actual_sha:
        if row.content_actual_sha != stored_sha:
            return Problem(row.id, "edited", "edited: its content does not match content_sha256")
    elif stored_sha != EMPTY_SHA256 and row.id > purged_through:
        return Problem(row.id, "content", "content removed outside a recorded retention purge")
    return None


def _check_anchor(row: _Row, anchor: dict[str, Any]) -> Problem | None:
    if row.hash != anchor["last_hash"] or row.id != anchor["event_count"]:
        return Problem(
            row.id,
            "checkpoint",
            f"differs from signed checkpoint {anchor['label']} (edited, or the chain was rebuilt)",
        )
    return None


def _check_tail(
    result: VerifyResult, anchors: dict[int, dict[str, Any]], head: AuditChainHead | None
) -> Problem | None:
    last_id = result.last_id or 0
    covered = max(anchors, default=0)
    if covered > last_id:
        return Problem(
            last_id + 1,
            "truncated",
            f"missing: the log ends at #{last_id} but checkpoint {anchors[covered]['label']} "
            f"covers through #{covered} (truncated)",
        )
    if head is not None and head.seq > last_id:
        return Problem(
            last_id + 1,
            "truncated",
            f"missing: the log ends at #{last_id} but the chain head is at #{head.seq} (truncated)",
        )
    if head is not None and last_id and head.hash != result.last_hash:
        return Problem(last_id, "edited", "replaced: its hash differs from the chain head")
    # Max id first, head second: an append in between raises both, never a false alarm.
    highest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    now_head = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
    if now_head is not None and highest > now_head:
        return Problem(
            now_head + 1,
            "inserted",
            f"inserted: events after #{now_head} were not appended by audit_record",
        )
    return None


def _checkpoint_anchors(
    external: Sequence[dict[str, Any]],
) -> tuple[dict[int, dict[str, Any]], Problem | None]:
    """Signed checkpoints by the event id they cover; a bad signature is a problem."""
    anchors: dict[int, dict[str, Any]] = {}
    stored = [checkpoint_dict(c) for c in AuditCheckpoint.objects.order_by("id")]
    labelled = [(f"#{c['id']}", c) for c in stored] + [
        (f"#{c.get('id')} (exported copy)", c) for c in external
    ]
    for label, data in labelled:
        valid = signature_valid(data)
        if valid is False:
            return anchors, Problem(
                int(data["last_event_id"]),
                "checkpoint",
                f"checkpoint {label} covering it has an invalid signature",
            )
        if valid is None:
            continue  # signed with a rotated key: cannot be checked here
        known = anchors.get(int(data["last_event_id"]))
        if known is not None and known["last_hash"] != data["last_hash"]:
            return anchors, Problem(
                int(data["last_event_id"]),
                "checkpoint",
                f"checkpoints {known['label']} and {label} disagree about it",
            )
        anchors[int(data["last_event_id"])] = {**data, "label": label}
    return anchors, None


def _highest_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _purged_through() -> int:
    """The highest event id a recorded audit-content purge covered."""
    highest = 0
    purges = AuditEvent.objects.filter(action=actions.RETENTION_PURGED).values_list(
        "details", flat=True
    )
    for details in purges:
        if isinstance(details, dict) and details.get("kind") == "audit_content":
            highest = max(highest, int(details.get("purged_through", 0) or 0))
    return highest


def _rows(batch_size: int, lo: int, upto: int) -> Iterator[_Row]:
    to_row = _postgres_row if connection.vendor == "postgresql" else _sqlite_row
    # Inside a transaction (tests, or a caller's atomic block) only this connection
    # sees the data: read in line. Otherwise a second thread fetches the next batch
    # while this one hashes, which overlaps database and Python time.
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


def missing_triggers() -> list[str]:
    """Warnings for append-only triggers that are not installed (e.g. dropped by
    a SQLite table rebuild in a later migration)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D' "
                "AND tgrelid IN ('audit_auditevent'::regclass, 'audit_auditcheckpoint'::regclass)"
            )
            expected = {
                f"{t}_{k}"
                for t in ("audit_auditevent", "audit_auditcheckpoint")
                for k in ("append_only", "no_truncate")
            }
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = {
                "audit_auditevent_no_update",
                "audit_auditevent_no_delete",
                "audit_auditcheckpoint_no_delete",
                "audit_auditcheckpoint_no_update",
            }
        else:
            return []
        present = {row[0] for row in cursor.fetchall()}
    return [
        f"append-only trigger {name} is missing or disabled" for name in sorted(expected - present)
    ]
