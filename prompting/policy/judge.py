"""Applies a Policy to detections: the decision, the findings, the text the model may see.

`judge()` raises on failure; `judge_fail_closed()` is what the Celery policy task calls:
any exception becomes a blocked Judgement, so nothing unanalysed is ever sent.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

from .analyzer import Analyzer, Detection, get_analyzer
from .chunking import Span, resolve_overlaps
from .errors import AnalysisFailed, PolicyError, TextTooLong
from .labels import entity_type_phrase
from .pseudonymizer import PseudonymMap
from .rules import ACTION_SEVERITY, Action, Policy

logger = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 200_000
# Values shorter than this are not searched for elsewhere in the text (see _propagate):
# a mis-detected "May" or "Al" would otherwise alter every occurrence.
MIN_PROPAGATED_LENGTH = 4


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
    placeholder: str | None = None  # set when action is "pseudonymize"
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

    @property
    def counts_by_type(self) -> dict[str, int]:
        """Findings per entity type that the policy acted on (overridden ones excluded)."""
        return dict(Counter(f.entity_type for f in self.findings if f.action != "allow"))

    @property
    def blocked_types(self) -> tuple[str, ...]:
        return tuple(sorted({f.entity_type for f in self.findings if f.action == "block"}))

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

    def to_log_dict(self) -> dict[str, Any]:
        """Everything safe for logs and the audit trail: types, counts, offsets, digests."""
        return {
            "decision": self.decision,
            "policy_version": self.policy_version,
            "reason": self.reason,
            "counts_by_type": self.counts_by_type,
            "blocked_types": list(self.blocked_types),
            "findings": [
                {**f.to_public_dict(), "value_digest": f.value_digest, "overridden": f.overridden}
                for f in self.findings
            ],
        }

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


def judge(
    text: str,
    *,
    policy: Policy,
    mapping: PseudonymMap,
    overrides: Iterable[Override] = (),
    analyzer: Analyzer | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    timeout_s: float | None = None,
) -> Judgement:
    """Judge one text. New placeholders are added to `mapping` unless the text is blocked.

    Raises TextTooLong, AnalysisFailed (or AnalysisTimedOut after `timeout_s`).
    To preview without committing placeholders, pass `mapping.copy()`.
    """
    return judge_many(
        [text],
        policy=policy,
        mapping=mapping,
        overrides=[list(overrides)],
        analyzer=analyzer,
        max_chars=max_chars,
        timeout_s=timeout_s,
    )[0]


def judge_many(
    texts: Sequence[str],
    *,
    policy: Policy,
    mapping: PseudonymMap,
    overrides: Sequence[Iterable[Override]] | None = None,
    analyzer: Analyzer | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    timeout_s: float | None = None,
) -> list[Judgement]:
    """Judge several texts (document chunks) with one mapping, in one batched NLP pass.

    Texts are judged in order against the shared mapping, so a name found in the first
    gets the same placeholder in all. Each text has its own decision; a caller sending a
    whole document should treat it as blocked if any part is.
    `max_chars` applies to each text.
    """
    for text in texts:
        if len(text) > max_chars:
            raise TextTooLong(max_chars, len(text))
    analyzer = analyzer or get_analyzer()
    deadline = time.monotonic() + timeout_s if timeout_s is not None else None
    min_scores = {name: rule.min_score for name, rule in policy.rules.items()}
    non_empty = [i for i, text in enumerate(texts) if text.strip()]
    detections: list[list[Detection]] = [[] for _ in texts]
    if non_empty:
        found = analyzer.detect_many(
            [texts[i] for i in non_empty],
            policy.entities_to_detect(),
            min_scores=min_scores,
            deadline=deadline,
        )
        for i, dets in zip(non_empty, found, strict=True):
            detections[i] = dets
    per_text_overrides = list(overrides) if overrides is not None else [() for _ in texts]
    if len(per_text_overrides) != len(texts):
        raise ValueError("overrides must have one entry per text")
    return [
        _apply_policy(text, dets, policy=policy, mapping=mapping, overrides=list(ovr))
        for text, dets, ovr in zip(texts, detections, per_text_overrides, strict=True)
    ]


def judge_fail_closed(
    text: str,
    *,
    policy: Policy,
    mapping: PseudonymMap,
    overrides: Iterable[Override] = (),
    analyzer: Analyzer | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    timeout_s: float | None = None,
) -> Judgement:
    """`judge()`, but every failure is a blocked Judgement with a reason and a sentence.

    Also catches what is not a PolicyError (a bug, MemoryError aside, Celery's
    SoftTimeLimitExceeded): fail closed. Logs the exception's type and traceback frames,
    never its message, which could quote the text.
    """
    try:
        return judge(
            text,
            policy=policy,
            mapping=mapping,
            overrides=overrides,
            analyzer=analyzer,
            max_chars=max_chars,
            timeout_s=timeout_s,
        )
    except PolicyError as exc:
        if isinstance(exc, AnalysisFailed):
            _log_failure(exc)
        return Judgement.blocked_by_error(exc, policy_version=policy.version)
    except Exception as exc:
        _log_failure(exc)
        return Judgement.blocked_by_error(AnalysisFailed(), policy_version=policy.version)


def _log_failure(exc: BaseException) -> None:
    chain = []
    current: BaseException | None = exc
    while current is not None:
        chain.append(type(current).__name__)
        current = current.__cause__ or current.__context__
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("Policy analysis failed (%s); blocked.\n%s", " <- ".join(chain), frames)


# -- Applying the policy ------------------------------------------------------------------


def _apply_policy(
    text: str,
    detections: list[Detection],
    *,
    policy: Policy,
    mapping: PseudonymMap,
    overrides: list[Override],
) -> Judgement:
    spans = []
    for det in detections:
        rule = policy.rule_for(det.entity_type)
        if rule is None or det.score < rule.min_score:
            continue
        spans.append(
            Span(
                det.entity_type,
                det.start,
                det.end,
                det.score,
                det.recognizer,
                priority=ACTION_SEVERITY[rule.action],
            )
        )
    spans = resolve_overlaps(spans)
    spans = _propagate(text, spans, policy=policy, mapping=mapping)

    findings: list[Finding] = []
    rejected: list[Override] = []
    for span in spans:
        rule = policy.rules[span.entity_type]
        value = text[span.start : span.end]
        finding = Finding(
            entity_type=span.entity_type,
            start=span.start,
            end=span.end,
            score=span.score,
            action=rule.action,
            value_digest=mapping.digest(span.entity_type, value),
            recognizer=span.recognizer,
        )
        matching = [o for o in overrides if o.matches(finding)]
        if matching and rule.overridable:
            finding = _replace(finding, action="allow", overridden=True)
        elif matching:
            rejected.extend(matching)
        findings.append(finding)

    decision: Action = max(
        (f.action for f in findings), key=ACTION_SEVERITY.__getitem__, default="allow"
    )
    if decision == "block":
        # The mapping is not touched: a blocked text is not sent, so its values must not
        # be remembered (or stored) either.
        return Judgement(
            decision="block",
            findings=tuple(findings),
            sanitized_text=None,
            policy_version=policy.version,
            reason="blocked_entities",
            user_message=_blocked_message(findings),
            rejected_overrides=tuple(rejected),
        )

    pieces: list[str] = []
    pos = 0
    final: list[Finding] = []
    for finding in findings:
        if finding.action == "pseudonymize":
            placeholder = mapping.placeholder_for(
                finding.entity_type, text[finding.start : finding.end]
            )
            pieces.append(text[pos : finding.start])
            pieces.append(placeholder)
            pos = finding.end
            finding = _replace(finding, placeholder=placeholder)
        final.append(finding)
    pieces.append(text[pos:])
    return Judgement(
        decision=decision,
        findings=tuple(final),
        sanitized_text="".join(pieces),
        policy_version=policy.version,
        rejected_overrides=tuple(rejected),
    )


def _replace(finding: Finding, **changes: Any) -> Finding:
    return Finding(**{**finding.__dict__, **changes})


def _propagate(
    text: str, spans: list[Span], *, policy: Policy, mapping: PseudonymMap
) -> list[Span]:
    """Also find every other occurrence of a value already pseudonymized, in this text or
    earlier in the conversation: NER often tags a name once and misses it a line later."""
    values: dict[str, tuple[str, float]] = {}  # lower-cased value -> (entity type, score)
    for entry in mapping.entries():
        rule = policy.rule_for(entry.entity_type)
        if rule and rule.action == "pseudonymize":
            values.setdefault(entry.value.lower(), (entry.entity_type, 1.0))
    for span in spans:
        if policy.rules[span.entity_type].action == "pseudonymize":
            values[text[span.start : span.end].lower()] = (span.entity_type, span.score)
    candidates = [v for v in values if len(v) >= MIN_PROPAGATED_LENGTH and v.strip()]
    if not candidates:
        return spans
    extra = []
    priority = ACTION_SEVERITY["pseudonymize"]
    for start, end, value in _occurrences(text, candidates):
        entity_type, score = values[value]
        extra.append(Span(entity_type, start, end, score, "known_value", priority))
    # resolve_overlaps prefers the longer span: "Ann Lee" over an "Ann" inside it.
    return resolve_overlaps([*spans, *extra]) if extra else spans


def _occurrences(text: str, values: list[str]) -> Iterator[tuple[int, int, str]]:
    """Case-insensitive whole-word occurrences of each (lower-case) value.

    str.find per value: a regex alternation of hundreds of values took 250 ms on 100 KB.
    """
    lowered = text.lower()
    if len(lowered) != len(text):  # a character lower-cases to two: offsets would shift
        for value in values:
            pattern = regex.compile(rf"(?<!\w){regex.escape(value)}(?!\w)", regex.IGNORECASE)
            for match in pattern.finditer(text):
                yield match.start(), match.end(), value
        return
    for value in values:
        pos = lowered.find(value)
        while pos != -1:
            end = pos + len(value)
            before_ok = pos == 0 or not _is_word_char(lowered[pos - 1])
            after_ok = end == len(lowered) or not _is_word_char(lowered[end])
            if before_ok and after_ok:
                yield pos, end, value
            pos = lowered.find(value, pos + 1)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _blocked_message(findings: Sequence[Finding]) -> str:
    names = sorted({entity_type_phrase(f.entity_type) for f in findings if f.action == "block"})
    return (
        "This text was not sent because it contains "
        + ", ".join(names)
        + ". Please remove it and try again."
    )
