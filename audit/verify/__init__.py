"""verify_audit_log: the chain, the signed checkpoints, their off-box copies, the
retention purges, the daily totals and the database's protection, in one pass.

Needs read access only. The verdict is one of three (audit/verify/report.py):
intact (exit 0), tampered (1, naming the first event, checkpoint or day
affected), or cannot check (2: a missing table, an unreadable store, a checkpoint
signed by an unknown key).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError

from audit import signing
from audit.models import AuditChainHead, AuditEvent
from audit.store import CheckpointStore, configured_store
from audit.verify.checkpoints import check_checkpoints
from audit.verify.protection import check_protection
from audit.verify.report import CannotCheck, Problem, VerifyResult
from audit.verify.retention import check_purges
from audit.verify.totals import check_totals
from audit.verify.walk import BATCH_SIZE, WalkRules, stitch, walk

__all__ = ["Problem", "VerifyResult", "known_public_keys", "verify_log"]

# Below this many events per process, spawning costs more than it saves.
MIN_SEGMENT = 250_000
_CONFIGURED = object()


def known_public_keys(extra: Sequence[str] = ()) -> list[str]:
    """AUDIT_VERIFY_PUBLIC_KEYS, or when unset the public halves of this deployment's
    signing keys; plus any given on the command line."""
    keys = list(settings.AUDIT_VERIFY_PUBLIC_KEYS)
    if not keys:
        for text in (settings.AUDIT_SIGNING_KEY, settings.AUDIT_PREVIOUS_SIGNING_KEY):
            if text:
                keys.append(signing.public_key_text(signing.private_key(text)))
    return keys + list(extra)


def verify_log(
    *,
    store: CheckpointStore | None | object = _CONFIGURED,
    public_keys: Sequence[str] = (),
    jobs: int = 1,
    batch_size: int = BATCH_SIZE,
    min_segment: int = MIN_SEGMENT,
) -> VerifyResult:
    started = time.perf_counter()
    chosen = configured_store() if store is _CONFIGURED else store
    result = VerifyResult(store=getattr(chosen, "description", None))
    try:
        _verify(result, chosen, known_public_keys(public_keys), jobs, batch_size, min_segment)
    except CannotCheck as exc:
        result.cannot_check = str(exc)
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        result.cannot_check = f"the audit tables cannot be read ({first_line})"
    result.seconds = time.perf_counter() - started
    return result


def _verify(
    result: VerifyResult,
    store: object,
    keys: list[str],
    jobs: int,
    batch_size: int,
    min_segment: int,
) -> None:
    protection = check_protection()
    findings = check_checkpoints(store=store, known_keys=keys)  # type: ignore[arg-type]
    result.checkpoints = len(findings.records)
    result.keys = sorted(findings.keys)
    if findings.records:
        newest = findings.records[-1]
        result.newest_checkpoint = {k: newest[k] for k in ("seq", "created_at", "last_event_id")}
    # Events appended while we walk are the next run's: stop at the head as it was.
    head = AuditChainHead.objects.filter(pk=1).first()
    upto = head.seq if head is not None else _highest_id()
    blank_through, purge_problem = check_purges(findings.records, upto)
    segments = walk(upto, WalkRules(findings.anchors, blank_through, batch_size), jobs, min_segment)
    whole, problem = stitch(segments)
    result.events, result.first_id = whole.events, whole.first[0] if whole.first else None
    if whole.last is not None:
        result.last_id, result.last_hash = whole.last[0], whole.last[2]
    newest_covered = findings.records[-1]["last_event_id"] if findings.records else 0
    result.unsigned_events = max(0, (result.last_id or 0) - newest_covered)
    problem = findings.problem or problem or _check_tail(result, newest_covered, head)
    problem = problem or purge_problem
    if problem is None:
        result.totals_rows, problem = check_totals(whole.totals, upto)
    result.problem = problem or (protection[0] if protection else None)
    if not findings.records and result.events:
        result.warnings.append("no signed checkpoint yet: run `manage.py audit_checkpoint`")
    if store is None:
        result.warnings.append(
            "no checkpoint store: someone holding the signing key could rewrite the log"
        )


def _check_tail(result: VerifyResult, covered: int, head: AuditChainHead | None) -> Problem | None:
    last_id = result.last_id or 0
    if covered > last_id:
        return Problem(
            "truncated",
            f"missing: the log ends at #{last_id} but a signed checkpoint covers through "
            f"#{covered} (truncated)",
            event_id=last_id + 1,
        )
    if head is not None and head.seq > last_id:
        return Problem(
            "truncated",
            f"missing: the log ends at #{last_id} but the chain head is at #{head.seq} (truncated)",
            event_id=last_id + 1,
        )
    if head is not None and last_id and head.hash != result.last_hash:
        return Problem("edited", "replaced: its hash differs from the chain head", event_id=last_id)
    # Max id first, head second: an append in between raises both, never a false alarm.
    highest = _highest_id()
    now_head = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
    if now_head is not None and highest > now_head:
        return Problem(
            "inserted",
            f"inserted: events after #{now_head} were not appended through the chain head",
            event_id=now_head + 1,
        )
    return None


def _highest_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
