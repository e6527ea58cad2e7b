"""A redacted value is stored nowhere: what the policy step rewrites besides the message
(`Judgement.stored_text`): the conversation's title, a summarized document's text
(called by `judging` inside the transaction that stores the judgement); and what is
redacted before anything is judged (`redact_on_arrival`): a document's text when it is
extracted or pasted, a message sent without a matching preview.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings

from prompting.crypto import decrypt_mapping
from prompting.models import Conversation, Document
from prompting.policy import (
    Judgement,
    Policy,
    default_policy,
    get_analyzer,
    get_pattern_analyzer,
    redact_for_storage,
)

logger = logging.getLogger(__name__)

# Checked between chunks. A timeout stores the text as sent (see `redact_on_arrival`); the
# policy step's own analysis then fails closed on the same text.
ARRIVAL_TIMEOUT_S = 30.0

Spans = Sequence[tuple[int, int, str]]


def warm_up_arrival() -> None:
    """Load the web process's pattern analyzer at start (config/asgi.py), not in the first
    employee's send: ~0.3-0.6 s of loading the tokenizer and compiling patterns, which a
    new web process (a deploy, a scale-out) otherwise adds to someone's message."""
    try:
        # What arrival itself runs (the default policy's redact and block types), not every
        # type the analyzer knows: the name lexicon (~24 MB) stays unloaded.
        redact_for_storage(
            "Card 4111 1111 1111 1111, SSN 123-45-6789, IBAN GB82 WEST 1234 5698 7654 32.",
            policy=default_policy(1),
            analyzer=get_pattern_analyzer(settings.COMPANY_ID_PATTERNS),
        )
    except Exception:  # never stop the web process from starting: the send loads it then
        logger.warning("could not warm up the arrival analyzer", exc_info=True)


def redact_on_arrival(
    text: str,
    *,
    policy: Policy,
    with_ner: bool = False,
    mapping_token: Any = None,
    overrides: Sequence[dict[str, Any]] = (),
) -> tuple[str, list[tuple[int, int, str]]]:
    """`text` as it may be stored before the policy step judges it: each value of a type
    the policy redacts replaced by its mark (`<CREDIT_CARD>`; `judge` turns a mark into a
    numbered redaction, counted and audited like the value would have been). Returns the
    text and the (start, end, mark) replaced, to move offsets that point into the text.

    `with_ner=False` (the web process): pattern recognizers only, on the same model's
    tokenizer; a type only NER finds (PERSON, if an admin redacts it) is left to the
    policy step. Overrides (the employee's false-positive marks) are honoured; the
    conversation's map (`mapping_token`) keys digest overrides. A failure stores the text
    as before this existed (the policy step still judges it, failing closed): logged by
    exception type only, never its message."""
    from prompting.runs.judging import overrides_from_json  # judging imports this module

    try:
        mapping = (
            decrypt_mapping(bytes(mapping_token))
            if mapping_token and any(o.get("value_digest") for o in overrides)
            else None
        )
        analyzer = (get_analyzer if with_ner else get_pattern_analyzer)(
            settings.COMPANY_ID_PATTERNS
        )
        return redact_for_storage(
            text,
            policy=policy,
            mapping=mapping,
            overrides=overrides_from_json(list(overrides)),
            analyzer=analyzer,
            max_chars=max(len(text), 1),
            timeout_s=ARRIVAL_TIMEOUT_S,
        )
    except Exception as exc:
        logger.error("redaction on arrival failed (%s); stored as sent", type(exc).__name__)
        return text, []


def offset_mover(spans: Spans) -> Callable[[int], int]:
    """Where an offset into the text before `spans` were replaced is afterwards (inside a
    replaced value: the start of its replacement)."""
    ordered = sorted(spans)

    def moved(offset: int) -> int:
        shift = 0
        for start, end, replacement in ordered:
            if end <= offset:
                shift += len(replacement) - (end - start)
            elif start < offset:
                return start + shift
            else:
                break
        return offset + shift

    return moved


def moved_overrides(overrides: Sequence[dict[str, Any]], spans: Spans) -> list[dict[str, Any]]:
    """False-positive marks by offset, moved to the same words in the stored text."""
    if not spans:
        return list(overrides)
    moved = offset_mover(spans)
    return [
        {**o, "start": moved(o["start"]), "end": moved(o["end"])}
        if isinstance(o.get("start"), int) and isinstance(o.get("end"), int)
        else dict(o)
        for o in overrides
    ]


def keep_redacted_out(
    conversation: Conversation, judgements: Sequence[tuple[str, Judgement]]
) -> None:
    """A redacted value is stored nowhere: the conversation's title (its first message's
    start, maybe cut inside the value) loses it too. The messages themselves get
    `judgement.stored_text` where they are saved."""
    redacted = [
        (" ".join(text[start:end].split()), placeholder)
        for text, judgement in judgements
        for start, end, placeholder in redacted_spans(judgement)
    ]
    title = redact_title(conversation.title, redacted)
    if title != conversation.title:
        conversation.title = title
        conversation.save(update_fields=["title", "updated_at"])


def redacted_spans(judgement: Judgement) -> list[tuple[int, int, str]]:
    if judgement.decision == "block":
        return [
            (f.start, f.end, f"<{f.entity_type}>")
            for f in judgement.findings
            if f.action == "redact"
        ]
    return list(judgement.redacted_spans)


def redact_document(document_id: Any, judged: Sequence[tuple[str, Judgement]]) -> None:
    """The document's stored text loses the values redacted in its parts (each part is a
    stripped slice of it, in order); section offsets move with the text."""
    document = Document.objects.select_for_update().filter(pk=document_id).first()
    if document is None:
        return
    text = document.text
    spans: list[tuple[int, int, str]] = []
    cursor = 0
    for part_text, judgement in judged:
        found = redacted_spans(judgement)
        at = text.find(part_text, cursor) if part_text else -1
        if at < 0:
            continue
        cursor = at + len(part_text)
        spans.extend((at + start, at + end, placeholder) for start, end, placeholder in found)
    if not spans:
        return
    spans.sort()
    pieces: list[str] = []
    pos = 0
    for start, end, placeholder in spans:
        if start < pos:
            continue
        pieces += [text[pos:start], placeholder]
        pos = end
    pieces.append(text[pos:])

    moved = offset_mover(spans)

    document.text = "".join(pieces)
    document.sections = [
        {**section, "start": moved(section["start"]), "end": moved(section["end"])}
        for section in document.sections
    ]
    document.save(update_fields=["text", "sections"])


def redact_title(title: str, redacted: Sequence[tuple[str, str]]) -> str:
    """`title` without the redacted values: whole, or cut at the title's end (titles are
    the first ~60 characters of a text, with or without "…")."""
    for value, placeholder in redacted:
        if not value:
            continue
        if value in title:
            title = title.replace(value, placeholder)
            continue
        for keep in range(len(value) - 1, 1, -1):
            for tail in ("\u2026", ""):
                cut = value[:keep] + tail
                if title.endswith(cut):
                    title = title[: len(title) - len(cut)] + placeholder + tail
                    break
            else:
                continue
            break
    return title
