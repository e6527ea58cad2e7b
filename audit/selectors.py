"""Reads for the reviewer pages: a keyset page of events, totals, chain status.

No COUNT(*) over the filtered range: at a million events that alone would
cost more than the page. Pages are id cursors ("older than #N", "newer than
#N"), each one index range scan of the (filter column, id) indexes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from audit import signing
from audit.chain import GENESIS, content_sha256, event_hash, fields_of
from audit.checkpoints import checkpoint_record, signed_checkpoints, signed_payload
from audit.filters import RUN_TARGET, Filters
from audit.models import AuditCheckpoint, AuditEvent
from audit.totals import Totals, event_totals

__all__ = [
    "EventPage",
    "Totals",
    "event_chain_status",
    "event_page",
    "event_totals",
    "run_events_of",
]

PAGE_SIZE = 50

# Only what the list shows: details and content stay in the database.
LIST_COLUMNS = (
    "id", "created_at", "actor_label", "actor_department", "action", "outcome", "tool",
    "model", "decision", "input_tokens", "output_tokens", "cost_usd", "target_type",
    "target_id",
)  # fmt: skip


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    newer_than: int | None  # cursor for the "newer" link, None on the first page
    older_than: int | None  # cursor for the "older" link, None on the last page


def event_queryset(filters: Filters) -> QuerySet[AuditEvent]:
    return filters.apply(AuditEvent.objects.all())


def event_page(
    filters: Filters, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> EventPage:
    queryset = event_queryset(filters).only(*LIST_COLUMNS)
    if after is not None:
        rows = list(queryset.filter(id__gt=after).order_by("id")[: size + 1])
        has_more = len(rows) > size
        events = list(reversed(rows[:size]))
        return EventPage(
            events=events,
            newer_than=events[0].id if has_more and events else None,
            older_than=events[-1].id if events else after + 1,
        )
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset.order_by("-id")[: size + 1])
    events = rows[:size]
    return EventPage(
        events=events,
        newer_than=events[0].id if before is not None and events else None,
        older_than=events[-1].id if len(rows) > size else None,
    )


RUN_EVENTS_SHOWN = 50


def run_events_of(event: AuditEvent) -> list[AuditEvent]:
    """The events about the same run as `event` (submission, block, overrides, answer), in
    order; empty when the event is not about a run. One index range scan (audit_target_id)."""
    if event.target_type != RUN_TARGET or not event.target_id:
        return []
    return list(
        AuditEvent.objects.filter(target_type=RUN_TARGET, target_id=event.target_id)
        .only(*LIST_COLUMNS)
        .order_by("id")[:RUN_EVENTS_SHOWN]
    )


@dataclass(frozen=True)
class ChainStatus:
    hash_ok: bool
    link_ok: bool  # prev_hash equals the previous event's hash
    next_ok: bool | None  # the next event links to this one (None: this is the last)
    checkpoint_id: int | None  # seq of the first signed checkpoint at or after this event
    checkpoint_signature_ok: bool | None  # None: signed by a key not known here
    content_state: str  # "stored" | "none" | "purged" | "altered"

    @property
    def ok(self) -> bool:
        return (
            self.hash_ok
            and self.link_ok
            and self.next_ok is not False
            and self.checkpoint_signature_ok is not False
            and self.content_state != "altered"
        )


def event_chain_status(event: AuditEvent) -> ChainStatus:
    """This event's own links; the whole chain is verify_audit_log's job."""
    around = {
        row[0]: row
        for row in AuditEvent.objects.filter(id__in=(event.id - 1, event.id + 1)).values_list(
            "id", "hash", "prev_hash"
        )
    }
    previous_hash = GENESIS if event.id == 1 else around.get(event.id - 1, (0, "", ""))[1]
    following = around.get(event.id + 1)
    checkpoint = signed_checkpoints().filter(last_event_id__gte=event.id).first()
    if event.content:
        content_state = (
            "stored" if content_sha256(event.content) == event.content_sha256 else "altered"
        )
    else:
        content_state = "purged" if event.content_purged else "none"
    return ChainStatus(
        hash_ok=event_hash(fields_of(event)) == event.hash,
        link_ok=previous_hash == event.prev_hash,
        next_ok=(following[2] == event.hash) if following else None,
        checkpoint_id=checkpoint.seq if checkpoint else None,
        checkpoint_signature_ok=_signature_ok(checkpoint) if checkpoint else None,
        content_state=content_state,
    )


def _signature_ok(checkpoint: AuditCheckpoint) -> bool | None:
    from audit.verify import known_public_keys

    keys = {signing.key_id(text): text for text in known_public_keys()}
    record = checkpoint_record(checkpoint)
    public = keys.get(checkpoint.key_id)
    if public is None:
        return None
    return signing.signature_ok(public, signed_payload(record), checkpoint.signature)
