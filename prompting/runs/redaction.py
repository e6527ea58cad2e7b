"""A redacted value is stored nowhere: what the policy step rewrites besides the message
(`Judgement.stored_text`): the conversation's title, a summarized document's text.

Called by `judging` inside the transaction that stores the judgement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prompting.models import Conversation, Document
from prompting.policy import Judgement


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

    def moved(offset: int) -> int:
        shift = 0
        for start, end, placeholder in spans:
            if end <= offset:
                shift += len(placeholder) - (end - start)
            elif start < offset:
                return start + shift  # inside a redacted value: its start
        return offset + shift

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
