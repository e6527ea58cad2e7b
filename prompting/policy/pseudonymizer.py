"""Placeholders that hold across a conversation, and restoring them in the model's answer.

The same value gets the same placeholder (`<PERSON_1>`) in every turn, so the model can
follow who is who across the history; numbering is per entity type. The map contains the
original values: the Django side stores `to_json()` encrypted and deletes it with the
conversation. Nothing here logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import url_context
from .errors import InvalidMapping

# Entity types are upper-case (see rules._ENTITY_TYPE_RE); the number starts at 1.
# A placeholder the model altered (lower case, missing bracket, extra space) does not
# match and is therefore shown exactly as the model wrote it, never guessed.
PLACEHOLDER_RE = re.compile(r"<([A-Z][A-Z0-9_]*)_([1-9][0-9]{0,8})>")

# A possible *start* of a placeholder at the end of a streamed delta: "<", "<PER",
# "<PERSON_1". Longer than any real placeholder means it is just text.
_PARTIAL_PLACEHOLDER_RE = re.compile(r"<(?:[A-Z][A-Z0-9_]*)?\Z")
_MAX_PLACEHOLDER_LEN = 64

_MAPPING_FORMAT = 1

# Placeholder-shaped text the employee typed or pasted is replaced by a placeholder of
# this type before anything is sent, so it can never be mistaken for (or restored as) a
# real placeholder; the mapping restores it exactly as typed. See `neutralise`.
TYPED_PLACEHOLDER = "TYPED_PLACEHOLDER"

# Wider than PLACEHOLDER_RE on purpose: any case, a zero or leading zeros, long numbers,
# spaces inside the brackets. A model may "correct" `<person_01>` into `<PERSON_1>`, so
# anything a reader could take for a placeholder is neutralised, not just exact ones.
TYPED_PLACEHOLDER_RE = re.compile(r"<[ \t]*[A-Za-z][A-Za-z0-9_]*_[0-9]{1,30}[ \t]*>")


def normalise_value(entity_type: str, value: str) -> str:
    """The key under which a value is remembered: equal keys share a placeholder.

    Why per type: "(415) 555-0100" and "415.555.0100" are the same phone number and
    "Ann@Example.com" the same mailbox as "ann@example.com"; names differ only in case
    and spacing when pasted from different sources.
    """
    if entity_type == "PHONE_NUMBER":
        digits = "".join(ch for ch in value if ch.isdigit())
        return digits or value
    if entity_type == TYPED_PLACEHOLDER:
        return value  # shown back exactly as typed: "<person_1>" is not "<PERSON_1>"
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class PseudonymEntry:
    entity_type: str
    value: str
    placeholder: str


class PseudonymMap:
    """Value <-> placeholder for one conversation. Mutable; not thread-safe (one per task)."""

    def __init__(self, *, salt: bytes | None = None) -> None:
        # The salt keys value digests (see `digest`), so a digest in an override record
        # or a preview cannot be brute-forced back to a phone number without the map.
        self._salt = salt if salt is not None else secrets.token_bytes(16)
        self._by_key: dict[tuple[str, str], PseudonymEntry] = {}
        self._by_placeholder: dict[str, PseudonymEntry] = {}
        # Other spellings of a value that share its placeholder: "Olga" alone, once
        # "Olga Petrenko" is <PERSON_1>. Restoring always shows the first spelling.
        self._aliases: list[PseudonymEntry] = []
        self._counters: dict[str, int] = {}

    # -- assigning -----------------------------------------------------------------------

    def placeholder_for(self, entity_type: str, value: str) -> str:
        """The placeholder for `value`, assigning the next number of its type if new."""
        key = (entity_type, normalise_value(entity_type, value))
        entry = self._by_key.get(key)
        if entry is None:
            number = self._counters.get(entity_type, 0) + 1
            self._counters[entity_type] = number
            entry = PseudonymEntry(entity_type, value, f"<{entity_type}_{number}>")
            self._by_key[key] = entry
            self._by_placeholder[entry.placeholder] = entry
        return entry.placeholder

    def redaction_placeholder(self, entity_type: str) -> str:
        """A new placeholder for a redacted value: the next number of its type, shared
        with pseudonyms so the two never collide. The value itself is not taken, so the
        map cannot learn it; only the counter moves."""
        number = self._counters.get(entity_type, 0) + 1
        self._counters[entity_type] = number
        return f"<{entity_type}_{number}>"

    def add_alias(self, entity_type: str, value: str, placeholder: str) -> str:
        """Let `value` share `placeholder` (already assigned). A value that already has
        a placeholder of its own keeps it; returns the placeholder `value` now has."""
        key = (entity_type, normalise_value(entity_type, value))
        if key in self._by_key:
            return self._by_key[key].placeholder
        target = self._by_placeholder.get(placeholder)
        if target is None or target.entity_type != entity_type:
            raise ValueError("An alias needs a placeholder of its type that is already assigned.")
        alias = PseudonymEntry(entity_type, value, placeholder)
        self._by_key[key] = alias
        self._aliases.append(alias)
        return placeholder

    def issued(self, placeholder: str) -> bool:
        """Whether this map handed out `placeholder` (a pseudonym, or a redaction whose
        number its counter has passed): such text refers to this conversation's value."""
        match = PLACEHOLDER_RE.fullmatch(placeholder)
        if match is None:
            return False
        if placeholder in self._by_placeholder:
            return True
        return int(match.group(2)) <= self._counters.get(match.group(1), 0)

    def lookup(self, entity_type: str, value: str) -> str | None:
        entry = self._by_key.get((entity_type, normalise_value(entity_type, value)))
        return entry.placeholder if entry else None

    def entries(self) -> Iterator[PseudonymEntry]:
        """Every remembered value, aliases included (after the values they stand for)."""
        yield from self._by_placeholder.values()
        yield from self._aliases

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def digest(self, entity_type: str, value: str) -> str:
        """A keyed hash identifying a value within this conversation, safe to log."""
        message = f"{entity_type}\x00{normalise_value(entity_type, value)}".encode()
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()[:24]

    def copy(self) -> PseudonymMap:
        """An independent copy, e.g. to preview a judgement without committing new values."""
        return PseudonymMap.from_json(self.to_json())

    # -- restoring -----------------------------------------------------------------------

    def original_of(self, placeholder: str) -> str | None:
        entry = self._by_placeholder.get(placeholder)
        return entry.value if entry else None

    def restore(self, text: str, *, line_before: str = "") -> str:
        """Replace known placeholders with their values; unknown ones stay as written, and
        so does any inside a URL (a link target, an image source: url_context.py), so
        restoring never builds a URL carrying a real value. `line_before`: the text of
        the first line before `text` (a stream's earlier deltas)."""

        def replace(match: re.Match[str]) -> str:
            entry = self._by_placeholder.get(match.group(0))
            if entry is None:
                return match.group(0)
            if url_context.in_url_context(
                url_context.line_before(text, match.start(), line_before)
            ):
                return match.group(0)
            return entry.value

        return PLACEHOLDER_RE.sub(replace, text)

    # -- storage -------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _MAPPING_FORMAT,
                "salt": self._salt.hex(),
                "counters": self._counters,
                "entries": [
                    {"type": e.entity_type, "value": e.value, "placeholder": e.placeholder}
                    for e in self._by_placeholder.values()
                ],
                "aliases": [
                    {"type": e.entity_type, "value": e.value, "placeholder": e.placeholder}
                    for e in self._aliases
                ],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str | bytes) -> PseudonymMap:
        try:
            raw: Any = json.loads(data)
            if raw.get("format") != _MAPPING_FORMAT:
                raise InvalidMapping("The pseudonym map has an unknown format.")
            mapping = cls(salt=bytes.fromhex(raw["salt"]))
            for item in raw["entries"]:
                entry = PseudonymEntry(
                    str(item["type"]), str(item["value"]), str(item["placeholder"])
                )
                match = PLACEHOLDER_RE.fullmatch(entry.placeholder)
                if not match or match.group(1) != entry.entity_type:
                    raise InvalidMapping("The pseudonym map contains an invalid placeholder.")
                key = (entry.entity_type, normalise_value(entry.entity_type, entry.value))
                mapping._by_key[key] = entry
                mapping._by_placeholder[entry.placeholder] = entry
            for item in raw.get("aliases", []):  # absent in maps stored before aliases
                if str(item["placeholder"]) not in mapping._by_placeholder:
                    raise InvalidMapping("The pseudonym map contains an invalid alias.")
                mapping.add_alias(str(item["type"]), str(item["value"]), str(item["placeholder"]))
            counters = {str(k): int(v) for k, v in raw["counters"].items()}
        except InvalidMapping:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # No detail from `exc`: it could quote a stored original value.
            raise InvalidMapping("The pseudonym map could not be read.") from exc
        # Never hand out a number twice, even if counters were stored inconsistently.
        # (Redacted placeholders exist only in the counters: they are never stored.)
        for entry in mapping._by_placeholder.values():
            number = int(entry.placeholder.rsplit("_", 1)[1].rstrip(">"))
            counters[entry.entity_type] = max(counters.get(entry.entity_type, 0), number)
        mapping._counters = counters
        return mapping


class StreamRestorer:
    """Restores placeholders in a streamed answer, delta by delta.

    A placeholder can arrive split across deltas ("<PER" + "SON_1>"); the possible start
    of one at the end of a delta is held back until it is complete or clearly is not a
    placeholder. Concatenating every `feed()` result and `flush()` equals
    `mapping.restore(whole_text)`.
    """

    def __init__(self, mapping: PseudonymMap) -> None:
        self._mapping = mapping
        self._pending = ""
        self._line = ""  # the current line's sanitized text so far (URL context)

    def feed(self, delta: str) -> str:
        buffer = self._pending + delta
        hold_from = len(buffer)
        start = buffer.rfind("<")
        if (
            start != -1
            and len(buffer) - start < _MAX_PLACEHOLDER_LEN
            and _PARTIAL_PLACEHOLDER_RE.match(buffer, start)
        ):
            hold_from = start
        self._pending = buffer[hold_from:]
        return self._restore(buffer[:hold_from])

    def flush(self) -> str:
        """The held-back rest at the end of the stream, shown as is if incomplete."""
        rest, self._pending = self._pending, ""
        return self._restore(rest)

    def _restore(self, text: str) -> str:
        shown = self._mapping.restore(text, line_before=self._line)
        self._line = url_context.carry(text, self._line)
        return shown
