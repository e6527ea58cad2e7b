"""Splitting a long document into parts that each fit one model call (the policy's own
chunking, for analysis, is prompting/policy/chunking.py).

Cuts prefer, in order: a section start (page, heading), a blank line, a line end, a
sentence end, a space; a hard cut only for a run of text without any of them. A cut is
looked for in the second half of the window, so no part is tiny. Plain Python.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from prompting.llm.models import CHARS_PER_TOKEN, ModelSpec
from prompting.summarize.extraction import Section

# The system prompt and the part's framing sentence, in tokens, with margin.
PROMPT_OVERHEAD_TOKENS = 600


@dataclass(frozen=True)
class Part:
    index: int  # 0-based
    start: int
    end: int
    text: str
    section_titles: tuple[str, ...]


def part_budget_tokens(
    spec: ModelSpec, *, output_tokens: int, cap_tokens: int, max_chars: int
) -> int:
    """Input tokens one part may have: the model's context minus the answer's room and
    the prompt, never more than the configured cap or the policy layer's text limit."""
    room = spec.context_window - output_tokens - PROMPT_OVERHEAD_TOKENS
    return max(1_000, min(room, cap_tokens, max_chars // CHARS_PER_TOKEN))


def _best_cut(text: str, lo: int, hi: int, section_starts: Sequence[int]) -> int:
    for start in reversed(section_starts):
        if lo < start <= hi:
            return start
    window = text[lo:hi]
    for pattern in ("\n\n", "\n"):
        found = window.rfind(pattern)
        if found >= 0:
            return lo + found + len(pattern)
    sentence_ends = [m.end() for m in re.finditer(r"[.!?][\"')\]]?\s", window)]
    if sentence_ends:
        return lo + sentence_ends[-1]
    space = window.rfind(" ")
    if space >= 0:
        return lo + space + 1
    return hi


def split_into_parts(text: str, sections: Sequence[Section], *, max_chars: int) -> list[Part]:
    """Parts of at most `max_chars` characters, cut at the best boundary available."""
    if max_chars < 100:
        raise ValueError("max_chars is too small to make parts")
    starts = sorted({s.start for s in sections if s.start > 0})
    bounds: list[tuple[int, int]] = []
    pos = 0
    while pos < len(text):
        if len(text) - pos <= max_chars:
            end = len(text)
        else:
            end = _best_cut(text, pos + max_chars // 2, pos + max_chars, starts)
        bounds.append((pos, end))
        pos = end
    parts = []
    for index, (start, end) in enumerate(bounds):
        titles = tuple(s.title for s in sections if s.start < end and s.end > start)
        parts.append(Part(index, start, end, text[start:end].strip(), titles))
    return [p for p in parts if p.text] or parts[:1]


PAGE_TITLE = re.compile(r"^Page (\d+)$")


def describe_sections(titles: Sequence[str]) -> str:
    """Titles for people: runs of "Page 3", "Page 4", "Page 5" become "Pages 3-5"
    (with an en dash)."""
    out: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            out.append(f"Page {run[0]}" if len(run) == 1 else f"Pages {run[0]}\u2013{run[-1]}")
            run.clear()

    for title in titles:
        match = PAGE_TITLE.match(title)
        if match and (not run or int(match.group(1)) == run[-1] + 1):
            run.append(int(match.group(1)))
            continue
        flush()
        if match:
            run.append(int(match.group(1)))
        else:
            out.append(title)
    flush()
    return ", ".join(out)
