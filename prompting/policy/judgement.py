"""What judging a text produces: findings, the decision, the text the model may see.

Plain frozen data, safe to pass around: no finding holds any part of the text (offsets
and a keyed digest only), so these objects can be logged and audited through
`to_log_dict()`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import PolicyError
from .rules import ACTION_SEVERITY, Action


@dataclass(frozen=True)
class Override:
    """An employee's "this is not personal data" for one finding.

    Identified by entity type plus either the span (start, end) in the text being judged,
    or `value_digest` (from a Finding), which also covers later turns of the conversation.
    Honoured only where the policy's rule for the type says `overridable`.
    """

    entity_type: str
    start: int | None = None
    end: int | None = None
    value_digest: str | None = None
    reason: str = ""

    def matches(self, finding: Finding) -> bool:
        if finding.entity_type != self.entity_type:
            return False
        if self.value_digest is not None and self.value_digest == finding.value_digest:
            return True
        return (self.start, self.end) == (finding.start, finding.end)


@dataclass(frozen=True)
class Finding:
    """One detected value. Holds no part of the text: use `start`/`end` on the text you
    already have to highlight it, `value_digest` to refer to it in logs or overrides."""

    entity_type: str
    start: int
    end: int
    score: float
    action: Action
    value_digest: str
    recognizer: str
    # The placeholder sent instead of the value: set for "pseudonymize" (restored in the
    # answer) and "redact" (never restored) unless the text is blocked.
    placeholder: str | None = None
    overridden: bool = False  # marked as a false positive; then action is "allow"

    def to_public_dict(self) -> dict[str, Any]:
        """The documented JSON shape (policy_check, audit details): no values."""
        return {
            "entity_type": self.entity_type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "action": self.action,
        }


@dataclass(frozen=True)
class Segment:
    """A piece of the original text for preview rendering; `finding` is None for plain text."""

    text: str
    finding: Finding | None


@dataclass(frozen=True)
class Judgement:
    decision: Action
    findings: tuple[Finding, ...]
    sanitized_text: str | None  # None when blocked: nothing may be sent
    policy_version: int
    # Why it was blocked: "blocked_entities", or an error code ("analysis_failed",
    # "text_too_long", ...). None when not blocked.
    reason: str | None = None
    user_message: str | None = None
    rejected_overrides: tuple[Override, ...] = field(default=())
    # (start, end) of placeholder-shaped text the employee typed ("<PERSON_1>"); it is
    # sent as a <TYPED_PLACEHOLDER_N> and restored as typed. Not personal data, so not a
    # finding and not counted.
    typed_placeholders: tuple[tuple[int, int], ...] = field(default=())
    # (start, end, placeholder) of every redacted value (findings, and typed placeholders
    # holding a long number), in text order: what `stored_text` replaces.
    redacted_spans: tuple[tuple[int, int, str], ...] = field(default=())

    @property
    def counts_by_type(self) -> dict[str, int]:
        """Findings per entity type that the policy acted on (overridden ones excluded)."""
        return dict(Counter(f.entity_type for f in self.findings if f.action != "allow"))

    @property
    def actions_by_type(self) -> dict[str, Action]:
        """The action applied per entity type acted on: audit `actions: {TYPE: action}`.

        A type has one rule, so one action; overridden findings (then "allow") count only
        when every finding of the type was overridden.
        """
        actions: dict[str, Action] = {}
        for finding in self.findings:
            known = actions.get(finding.entity_type)
            if known is None or ACTION_SEVERITY[finding.action] > ACTION_SEVERITY[known]:
                actions[finding.entity_type] = finding.action
        return dict(sorted(actions.items()))

    @property
    def blocked_types(self) -> tuple[str, ...]:
        return self._types_with("block")

    @property
    def redacted_types(self) -> tuple[str, ...]:
        return self._types_with("redact")

    def _types_with(self, action: Action) -> tuple[str, ...]:
        return tuple(sorted({f.entity_type for f in self.findings if f.action == action}))

    def segments(self, original_text: str) -> list[Segment]:
        """Split the judged text into plain and found pieces, for a highlighted preview."""
        pieces: list[Segment] = []
        pos = 0
        for finding in self.findings:
            if finding.start > pos:
                pieces.append(Segment(original_text[pos : finding.start], None))
            pieces.append(Segment(original_text[finding.start : finding.end], finding))
            pos = finding.end
        if pos < len(original_text):
            pieces.append(Segment(original_text[pos:], None))
        return pieces

    def stored_text(self, original_text: str) -> str:
        """The text as it may be kept (the conversation's message, a document): the
        original with every redacted value replaced by its placeholder, so a redacted
        value is stored nowhere. Pseudonymized values stay (the owner sees them restored
        anyway). Blocked: redact-type values become `<TYPE>` (no number: nothing was
        issued), since the blocked message is kept too."""
        spans = list(self.redacted_spans)
        if self.decision == "block":
            spans = [
                (f.start, f.end, f"<{f.entity_type}>")
                for f in self.findings
                if f.action == "redact"
            ]
        pieces: list[str] = []
        pos = 0
        for start, end, placeholder in sorted(spans):
            if start < pos:
                continue  # overlaps are resolved before; never splice twice
            pieces.append(original_text[pos:start])
            pieces.append(placeholder)
            pos = end
        pieces.append(original_text[pos:])
        return "".join(pieces)

    def to_log_dict(self) -> dict[str, Any]:
        """Everything safe for logs and the audit trail: types, counts, offsets, digests."""
        return {
            "decision": self.decision,
            "policy_version": self.policy_version,
            "reason": self.reason,
            "counts_by_type": self.counts_by_type,
            "actions": self.actions_by_type,
            "blocked_types": list(self.blocked_types),
            "findings": [
                {**f.to_public_dict(), "value_digest": f.value_digest, "overridden": f.overridden}
                for f in self.findings
            ],
            "typed_placeholders": len(self.typed_placeholders),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, for a short-lived cache of a preview's judgement (no values: the
        sanitized text holds placeholders, findings offsets and digests)."""
        return {
            "decision": self.decision,
            "findings": [asdict(f) for f in self.findings],
            "sanitized_text": self.sanitized_text,
            "policy_version": self.policy_version,
            "reason": self.reason,
            "user_message": self.user_message,
            "rejected_overrides": [asdict(o) for o in self.rejected_overrides],
            "typed_placeholders": [list(t) for t in self.typed_placeholders],
            "redacted_spans": [list(t) for t in self.redacted_spans],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Judgement:
        return cls(
            decision=data["decision"],
            findings=tuple(Finding(**f) for f in data["findings"]),
            sanitized_text=data["sanitized_text"],
            policy_version=int(data["policy_version"]),
            reason=data["reason"],
            user_message=data["user_message"],
            rejected_overrides=tuple(Override(**o) for o in data["rejected_overrides"]),
            typed_placeholders=tuple((int(a), int(b)) for a, b in data["typed_placeholders"]),
            redacted_spans=tuple((int(a), int(b), str(c)) for a, b, c in data["redacted_spans"]),
        )

    @classmethod
    def blocked_by_error(cls, error: PolicyError, *, policy_version: int) -> Judgement:
        return cls(
            decision="block",
            findings=(),
            sanitized_text=None,
            policy_version=policy_version,
            reason=error.code,
            user_message=error.user_message,
        )
