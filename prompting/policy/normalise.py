"""The text the recognizers read: invisible characters out, PDF hyphenation undone, with
every offset mapped back to the text the employee wrote.

Why: a soft hyphen or a zero-width joiner inside "Ol\u00adga" or a card number hides it
from every pattern and from the NER model, and PDF extraction wraps "Wata-\\nnabe". The
stored and sent text is never changed here (cleaning input is config/text.py's job);
findings are mapped back, so what gets replaced is the original span, invisible
characters included.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import regex

# Soft hyphen, zero-width space / non-joiner / joiner, word joiner, BOM, and a hyphen at
# a line end between letters ("Wata-\nnabe"): removed from the view.
_REMOVED = regex.compile(
    r"[\u00ad\u200b\u200c\u200d\u2060\ufeff]+|(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[^\W\d_])"
)


@dataclass(frozen=True)
class AnalysisView:
    text: str
    # origin[i] is the offset in the original text of text[i]; None when identical.
    origin: array[int] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            return start, end
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1


def analysis_view(text: str) -> AnalysisView:
    """The view of `text`; `text` itself (no copy, no map) when there is nothing to undo."""
    if not _REMOVED.search(text):
        return AnalysisView(text)
    pieces: list[str] = []
    origin: array[int] = array("l")
    pos = 0
    for match in _REMOVED.finditer(text):
        pieces.append(text[pos : match.start()])
        origin.extend(range(pos, match.start()))
        pos = match.end()
    pieces.append(text[pos:])
    origin.extend(range(pos, len(text)))
    origin.append(len(text))  # so an offset at the end of the view maps too
    return AnalysisView("".join(pieces), origin)
