"""The hash chain: canonical serialization of an event and its SHA-256.

hash(event) = SHA-256 of the sorted-key, compact JSON of every hashed field,
including `prev_hash` (the previous event's hash; GENESIS for event 1).
`content` itself is left out and represented by `content_sha256`, so the
retention purge can blank it without breaking the chain.

Values are normalized to what the database gives back (timestamps as UTC
strings with microseconds, integral floats as ints, decimals as strings) so a
hash computed at write time equals the one recomputed by the verifier.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS = "0" * 64
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# The hashed fields, in the order the verifier selects them. Changing this list
# changes every hash: add a field only with a chain version bump.
HASHED_FIELDS = (
    "id",
    "created_at",
    "actor_id",
    "actor_label",
    "actor_department",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "tool",
    "model",
    "decision",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "details",
    "content_sha256",
    "prev_hash",
)


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_cost(value: Decimal | None) -> str | None:
    # Six decimals, as stored in the DecimalField: "0.012" and "0.012000" hash alike.
    return None if value is None else f"{Decimal(value):.6f}"


def normalize_json(value: Any) -> Any:
    """What a JSON column returns for `value`: dicts/lists/str/int/float/bool/None,
    integral floats as ints (PostgreSQL's jsonb may print 1e20 as an integer)."""
    text = json.dumps(value, cls=DjangoJSONEncoder)
    plain = json.loads(text)
    if "\\u0000" in text:
        # PostgreSQL refuses NUL in jsonb: the caller's whole transaction would fail.
        plain = _without_nul(plain)
    return _integral_floats_as_ints(plain)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


def content_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


# One encoder, built once: the verifier calls it a million times.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    return _CANONICAL.encode(fields).encode("utf-8")


def parse_float(text: str) -> float | int:
    """json.loads hook giving integral floats as ints (see normalize_json)."""
    value = float(text)
    return int(value) if value.is_integer() else value


def event_hash(fields: dict[str, Any]) -> str:
    """`fields` holds every name in HASHED_FIELDS, already normalized."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def fields_of(event: Any) -> dict[str, Any]:
    """The normalized hashed fields of an AuditEvent instance."""
    return {
        "id": event.id,
        "created_at": format_timestamp(event.created_at),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "actor_department": event.actor_department,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "tool": event.tool,
        "model": event.model,
        "decision": event.decision,
        "input_tokens": event.input_tokens,
        "output_tokens": event.output_tokens,
        "cost_usd": format_cost(event.cost_usd),
        "details": _integral_floats_as_ints(event.details),
        "content_sha256": event.content_sha256,
        "prev_hash": event.prev_hash,
    }
