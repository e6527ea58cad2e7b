"""Splitting long text into ~2 KB chunks, and merging findings back.

Why chunks: Presidio's context enhancement is super-linear in text length (100 KB in one
call took 5.5 s here), and spaCy's `nlp.pipe` batches small docs efficiently. Paragraph
boundaries are preferred so entities are not cut; where a cut has to fall inside a
paragraph (or inside a 1 MB run of one character) consecutive chunks overlap, so anything
shorter than the overlap is wholly inside at least one chunk.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHUNK_SIZE = 2_000
OVERLAP = 200

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n")
_SENTENCE_END = re.compile(r"[.!?][ \t]+")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    start: int  # offset of text[0] in the original text
    text: str


def _last_match_end(pattern: re.Pattern[str], text: str, pos: int, endpos: int) -> int | None:
    last = None
    for match in pattern.finditer(text, pos, endpos):
        last = match.end()
    return last


def split_into_chunks(text: str, size: int = CHUNK_SIZE, overlap: int = OVERLAP) -> list[Chunk]:
    """Chunks covering `text`, each at most `size` characters.

    Cut preference: after a blank line (no overlap needed), else after a line break, a
    sentence end or any whitespace, else anywhere; those cuts overlap by `overlap`.
    """
    if overlap >= size // 2:
        raise ValueError("overlap must be less than half the chunk size")
    chunks: list[Chunk] = []
    pos = 0
    length = len(text)
    while pos < length:
        limit = pos + size
        if limit >= length:
            chunks.append(Chunk(pos, text[pos:]))
            break
        # Do not accept a cut in the first third: chunks would get tiny.
        earliest = pos + size // 3
        cut = _last_match_end(_PARAGRAPH_BREAK, text, earliest, limit)
        if cut is not None and cut > pos:
            chunks.append(Chunk(pos, text[pos:cut]))
            pos = cut
            continue
        for pattern in (_LINE_BREAK, _SENTENCE_END, _WHITESPACE):
            cut = _last_match_end(pattern, text, earliest, limit)
            if cut is not None:
                break
        if cut is None or cut <= pos:
            cut = limit
        chunks.append(Chunk(pos, text[pos:cut]))
        pos = _overlapped_start(text, cut, overlap, floor=pos + 1)
    return chunks


def _overlapped_start(text: str, cut: int, overlap: int, floor: int) -> int:
    """Start the next chunk `overlap` before the cut, at a word start if there is one."""
    start = max(cut - overlap, floor)
    space = _WHITESPACE.search(text, start, cut)
    return space.end() if space and space.end() < cut else start


# -- Merging findings ---------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str
    priority: int = 0  # higher wins an overlap (the policy's action severity)


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans, sorted by start.

    On overlap the higher priority wins (a block beats a pseudonymize), then the longer
    span (it hides more: "1234 Jennifer Via, Apt 5" over a PERSON "Jennifer Via"), then
    the higher score. Identical spans from overlapping chunks collapse into one.
    """
    ordered = sorted(
        set(spans),
        key=lambda s: (-s.priority, -(s.end - s.start), -s.score, s.start, s.entity_type),
    )
    # `kept` stays sorted and non-overlapping, so only the neighbours need checking
    # (bisect keeps 1 MB inputs with many findings fast).
    kept: list[Span] = []
    starts: list[int] = []
    for span in ordered:
        index = bisect.bisect_left(starts, span.start)
        if index > 0 and kept[index - 1].end > span.start:
            continue
        if index < len(kept) and kept[index].start < span.end:
            continue
        kept.insert(index, span)
        starts.insert(index, span.start)
    return kept


def offset_spans(spans: Sequence[Span], offset: int) -> list[Span]:
    return [
        Span(s.entity_type, s.start + offset, s.end + offset, s.score, s.recognizer, s.priority)
        for s in spans
    ]
