"""Chunking long text and merging overlapping findings."""

# ruff: noqa: E501 - table rows read better on one line

from __future__ import annotations

from itertools import pairwise

import pytest

from prompting.policy.chunking import Span, resolve_overlaps, split_into_chunks


@pytest.mark.parametrize(
    "text",
    [
        "short",
        ("A paragraph about pricing. " * 20 + "\n\n") * 30,
        "one long line without breaks " * 500,
        "x" * 10_000,
        "line\n" * 3000,
    ],
    ids=["short", "paragraphs", "one paragraph", "no whitespace", "many lines"],
)
def test_chunks_cover_the_text_within_the_size(text: str) -> None:
    """Every character is in some chunk, each chunk is at most 2,000 characters and is
    the original text at its offset."""
    chunks = split_into_chunks(text)
    assert all(
        len(c.text) <= 2_000 and text[c.start : c.start + len(c.text)] == c.text for c in chunks
    )
    covered = 0
    for chunk in chunks:
        assert chunk.start <= covered  # no gap
        covered = max(covered, chunk.start + len(chunk.text))
    assert covered == len(text)


def test_paragraph_cuts_need_no_overlap_and_others_overlap() -> None:
    """After a blank line the next chunk starts right there; inside a paragraph it
    starts earlier, so an entity cut by the boundary is whole in the next chunk."""
    paragraphs = split_into_chunks(("word " * 100 + "\n\n") * 20)
    assert all(b.start == a.start + len(a.text) for a, b in pairwise(paragraphs))
    running = split_into_chunks("word " * 2_000)
    assert all(b.start < a.start + len(a.text) for a, b in pairwise(running))


def span(kind: str, start: int, end: int, score: float = 0.5, priority: int = 1) -> Span:
    return Span(kind, start, end, score, "test", priority)


@pytest.mark.parametrize(
    ("spans", "kept"),
    [
        ([span("A", 0, 5), span("A", 0, 5)], [span("A", 0, 5)]),
        ([span("PERSON", 5, 17, 0.85), span("STREET_ADDRESS", 0, 25, 0.6)], [span("STREET_ADDRESS", 0, 25, 0.6)]),
        ([span("PHONE", 0, 10, 0.9, 1), span("BANK", 0, 10, 0.5, 2)], [span("BANK", 0, 10, 0.5, 2)]),
        ([span("A", 0, 5, 0.4), span("B", 0, 5, 0.9)], [span("B", 0, 5, 0.9)]),
        ([span("A", 0, 5), span("B", 5, 9)], [span("A", 0, 5), span("B", 5, 9)]),
    ],
    ids=["duplicates", "longer wins", "block beats pseudonymize", "higher score", "adjacent both kept"],
)  # fmt: skip
def test_resolve_overlaps(spans: list[Span], kept: list[Span]) -> None:
    """Overlaps keep the more severe, then the longer, then the higher-scoring span."""
    assert resolve_overlaps(spans) == kept
