"""The one place text input is cleaned, whatever page, form, file or query it came from.

The decision, everywhere (Chat, Rewrite, Summarize, templates, search and filters):
- NUL and the other C0 control characters except tab and newline are removed; carriage
  returns become newlines. PostgreSQL text cannot hold NUL, and none of them carries
  meaning in a prompt (a form feed from a PDF becomes a line break).
- Text that is not valid Unicode (undecodable UTF-8 bytes, lone surrogates from a JSON
  body) is refused with a sentence, never repaired: a value with U+FFFD in the middle is
  not what the employee wrote, and a name cut that way could slip past the policy.
- Search boxes and filters (`clean_query`) are the exception: nothing is stored or sent,
  so unreadable characters are dropped instead of refusing the page.
"""

from __future__ import annotations

import re

# C0 controls except \t (09) and \n (0a); \r is handled first; DEL (7f) too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class InvalidText(ValueError):
    """Input that is not valid Unicode; `user_message` says what to do. `kind` ("utf16",
    "invalid_utf8", "surrogate") and `position` let a caller word it its own way (a
    file's bytes in Summarize)."""

    def __init__(self, user_message: str, *, kind: str, position: int | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.kind = kind
        self.position = position


def clean_text(value: str) -> str:
    """Text as it may be stored, judged and sent. Raises InvalidText for lone surrogates."""
    match = _SURROGATE.search(value)
    if match is not None:
        raise InvalidText(
            "The text contains a character that is not valid Unicode (at position "
            f"{match.start() + 1:,}). Copy it again from its source, or retype that part.",
            kind="surrogate",
            position=match.start(),
        )
    return _CONTROL.sub("", _LINE_BREAKS.sub("\n", value))


def decode_text(data: bytes) -> str:
    """Bytes of a text file or a pasted part: UTF-8 (a BOM is allowed), then clean_text."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InvalidText(
            "The file is UTF-16 text. Save it as UTF-8 (in most editors: Save As → "
            "Encoding: UTF-8) and upload it again.",
            kind="utf16",
            position=0,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidText(
            "The text is not valid UTF-8 (the first unreadable byte is at position "
            f"{exc.start:,}). Save it as UTF-8 (in most editors: Save As → Encoding: UTF-8) "
            "and try again.",
            kind="invalid_utf8",
            position=exc.start,
        ) from None
    return clean_text(text)


def clean_query(value: str, *, max_chars: int = 200) -> str:
    """A search or filter value: one line, no control characters or lone surrogates, and
    at most `max_chars`. Never raises: a bad character in a search box is simply dropped."""
    value = _SURROGATE.sub("", _CONTROL.sub("", value))
    return " ".join(value.split())[:max_chars]


DECIMAL = re.compile(r"[0-9]{1,9}")


def parse_positive_int(value: str | None, *, default: int, maximum: int) -> int:
    """A page number or id from a query string: ASCII digits only ("²".isdigit() is True
    and int("²") raises), between 1 and `maximum`; anything else is `default`."""
    if value is None or not DECIMAL.fullmatch(value):
        return default
    number = int(value)
    return number if 1 <= number <= maximum else default
