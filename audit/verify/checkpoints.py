"""The signed checkpoints: their chain, their signatures, and their off-box copies.

Checked in this order, the first problem by checkpoint number winning:
1. the database and the store hold the same checkpoints, byte for byte (a
   checkpoint only one of them has, one deleted or overwritten in the store);
2. they form a chain: numbers 1…N without a gap, each carrying the previous
   one's signature and starting at the event after the previous one's last;
3. each is signed by a known key (configured, in the store's keys/, or announced
   by an earlier checkpoint signed with a known key). A checkpoint signed by an
   unknown key cannot be judged: that is "cannot check", never a skip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit import signing
from audit.checkpoints import checkpoint_record, record_body, signed_checkpoints, signed_payload
from audit.store import CheckpointStore, StoreError, body_md5
from audit.verify.report import CannotCheck, Problem


@dataclass
class CheckpointFindings:
    records: list[dict[str, Any]] = field(default_factory=list)
    problem: Problem | None = None
    keys: dict[str, str] = field(default_factory=dict)  # every key id trusted in the end

    @property
    def anchors(self) -> dict[int, dict[str, Any]]:
        return {r["last_event_id"]: r for r in self.records}


def check_checkpoints(
    *, store: CheckpointStore | None, known_keys: list[str]
) -> CheckpointFindings:
    keys = {signing.key_id(text): text for text in known_keys}
    problems: list[Problem] = []
    listing = {}
    if store is not None:
        try:
            # The store is listed before the database is read: a checkpoint made in
            # between is then in the database, and checked again below.
            listing = store.listing()
            keys.update({k: v for k, v in store.keys().items() if _usable(k, v)})
        except StoreError as exc:
            raise CannotCheck(f"the checkpoint store cannot be read: {exc}") from None
    records = [checkpoint_record(c) for c in signed_checkpoints().iterator(chunk_size=2000)]
    findings = CheckpointFindings(records=records)
    if store is not None:
        problems += _compare_with_store(store, listing, records)
    problems += _check_chain(records)
    if problems:
        findings.problem = min(problems, key=lambda p: p.checkpoint or 0)
        return findings
    findings.problem = _check_signatures(records, keys)
    findings.keys = keys
    return findings


def _usable(key_id: str, text: str) -> bool:
    try:
        return signing.key_id(text) == key_id
    except ValueError:
        return False


def _compare_with_store(
    store: CheckpointStore, listing: dict[int, Any], records: list[dict[str, Any]]
) -> list[Problem]:
    problems = []
    to_read: dict[int, bytes] = {}
    in_database = set()
    for record in records:
        seq = record["seq"]
        in_database.add(seq)
        entry = listing.get(seq)
        if entry is None and store.has(seq):  # delivered after the listing
            entry = store.listing().get(seq)
        body = record_body(record)
        if entry is None:
            problems.append(
                Problem(
                    "store",
                    "is in the database but not in the store (deleted from the store, "
                    "or never delivered)",
                    checkpoint=seq,
                )
            )
        elif entry.problem is not None:
            problems.append(Problem("store", entry.problem, checkpoint=seq))
        elif entry.md5 != body_md5(body):
            to_read[seq] = body
    extra = sorted(set(listing) - in_database)
    for seq in extra:
        problems.append(
            Problem(
                "checkpoint",
                "missing: the store has it but the database does not (deleted)",
                checkpoint=seq,
            )
        )
    try:
        stored = store.read(sorted(to_read))
    except StoreError as exc:
        raise CannotCheck(f"the checkpoint store cannot be read: {exc}") from None
    for seq, body in to_read.items():
        if stored.get(seq) != body:
            problems.append(
                Problem(
                    "checkpoint",
                    "differs from its copy in the store (edited, or re-signed)",
                    checkpoint=seq,
                )
            )
    return problems


def _check_chain(records: list[dict[str, Any]]) -> list[Problem]:
    previous: dict[str, Any] | None = None
    for record in records:
        seq = record["seq"]
        expected = previous["seq"] + 1 if previous else 1
        if seq != expected:
            gap = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            return [
                Problem("checkpoint", f"missing: checkpoint {gap} was deleted", checkpoint=expected)
            ]
        if previous is not None and record["prev_signature"] != previous["signature"]:
            return [
                Problem(
                    "checkpoint",
                    f"replaced: checkpoint {seq} chains to another signature",
                    checkpoint=previous["seq"],
                )
            ]
        start = previous["last_event_id"] + 1 if previous else 1
        if record["first_event_id"] != start or record["last_event_id"] < start:
            return [
                Problem(
                    "checkpoint",
                    f"does not cover the events after checkpoint {expected - 1} "
                    f"(starts at #{record['first_event_id']}, expected #{start})",
                    checkpoint=seq,
                )
            ]
        if previous is None and record["prev_signature"]:
            return [
                Problem("checkpoint", "the first checkpoint names a predecessor", checkpoint=seq)
            ]
        previous = record
    return []


def _check_signatures(records: list[dict[str, Any]], keys: dict[str, str]) -> Problem | None:
    for record in records:
        seq, key_id = record["seq"], record["key_id"]
        public = keys.get(key_id)
        if public is None:
            raise CannotCheck(
                f"checkpoint {seq} is signed by key {key_id}, which is neither configured "
                "(AUDIT_VERIFY_PUBLIC_KEYS, --public-key, the store's keys/) nor announced by "
                "a known key"
            )
        if not signing.signature_ok(public, signed_payload(record), record["signature"]):
            return Problem(
                "checkpoint",
                f"its signature does not verify with key {key_id} (edited)",
                checkpoint=seq,
            )
        announced = record["next_public_key"]
        if announced:
            try:
                keys[signing.key_id(announced)] = announced
            except ValueError:
                return Problem("checkpoint", "announces a malformed public key", checkpoint=seq)
    return None
