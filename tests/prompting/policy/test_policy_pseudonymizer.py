"""Placeholders: stable per conversation, stored as JSON, restored in (streamed) answers."""

# ruff: noqa: E501 - tables and text templates read better one row per line

from __future__ import annotations

import pytest

from prompting.policy import InvalidMapping, PseudonymMap, StreamRestorer


def conversation_map() -> PseudonymMap:
    mapping = PseudonymMap()
    mapping.placeholder_for("PERSON", "Dana Whitfield")
    mapping.placeholder_for("EMAIL_ADDRESS", "dana@example.com")
    mapping.placeholder_for("PERSON", "Tom Becker")
    return mapping


def test_same_value_same_placeholder_numbered_per_type() -> None:
    """Numbering is per entity type; a known value keeps its placeholder."""
    mapping = conversation_map()
    assert mapping.placeholder_for("PERSON", "Dana Whitfield") == "<PERSON_1>"
    assert mapping.placeholder_for("PERSON", "Tom Becker") == "<PERSON_2>"
    assert mapping.placeholder_for("EMAIL_ADDRESS", "dana@example.com") == "<EMAIL_ADDRESS_1>"
    assert mapping.placeholder_for("EMAIL_ADDRESS", "x@example.com") == "<EMAIL_ADDRESS_2>"


@pytest.mark.parametrize(
    ("entity_type", "first", "second"),
    [
        ("EMAIL_ADDRESS", "Dana@Example.com", "dana@example.com"),
        ("PERSON", "Dana  Whitfield", "dana whitfield"),
        ("PHONE_NUMBER", "(415) 555-0132", "415.555.0132"),
    ],
)
def test_spelling_variants_share_a_placeholder(entity_type: str, first: str, second: str) -> None:
    """Case, spacing and phone punctuation do not make a new person or number."""
    mapping = PseudonymMap()
    assert mapping.placeholder_for(entity_type, first) == mapping.placeholder_for(
        entity_type, second
    )


def test_json_round_trip_keeps_numbering_and_digests() -> None:
    """A stored and reloaded map continues the same conversation."""
    mapping = conversation_map()
    reloaded = PseudonymMap.from_json(mapping.to_json())
    assert reloaded.placeholder_for("PERSON", "Tom Becker") == "<PERSON_2>"
    assert reloaded.placeholder_for("PERSON", "New Person") == "<PERSON_3>"
    assert reloaded.digest("PERSON", "Tom Becker") == mapping.digest("PERSON", "Tom Becker")


def test_digest_depends_on_the_conversation() -> None:
    """Digests are keyed per map, so they cannot be matched across conversations."""
    assert PseudonymMap().digest("PHONE_NUMBER", "415-555-0132") != PseudonymMap().digest(
        "PHONE_NUMBER", "415-555-0132"
    )


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        '{"format": 99, "salt": "00", "counters": {}, "entries": []}',
        '{"format": 1, "salt": "zz", "counters": {}, "entries": []}',
        '{"format": 1, "salt": "00", "counters": {}, '
        '"entries": [{"type": "PERSON", "value": "x", "placeholder": "<EMAIL_ADDRESS_1>"}]}',
    ],
)
def test_corrupt_map_is_a_clear_error(stored: str) -> None:
    """A damaged stored map raises InvalidMapping without quoting its content."""
    with pytest.raises(InvalidMapping) as excinfo:
        PseudonymMap.from_json(stored)
    assert "x" not in excinfo.value.user_message.replace("exact", "")


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("Hello <PERSON_1>, I wrote to <EMAIL_ADDRESS_1>.", "Hello Dana Whitfield, I wrote to dana@example.com."),
        ("<PERSON_9> is unknown", "<PERSON_9> is unknown"),
        ("<person_1> wrong case", "<person_1> wrong case"),
        ("<PERSON_1 missing bracket", "<PERSON_1 missing bracket"),
        ("PERSON_1> missing bracket", "PERSON_1> missing bracket"),
        ("< PERSON_1> extra space", "< PERSON_1> extra space"),
        ("<PERSON_01> leading zero", "<PERSON_01> leading zero"),
        ("<PERSON_2><PERSON_1>", "Tom BeckerDana Whitfield"),
    ],
)  # fmt: skip
def test_restore_known_placeholders_only(answer: str, shown: str) -> None:
    """Known placeholders are restored; invented or altered ones are shown as written."""
    assert conversation_map().restore(answer) == shown


@pytest.mark.parametrize(
    "deltas",
    [
        ["Hi <PER", "SON_1>, bye"],
        ["Hi <", "PERSON_", "1>, bye"],
        ["Hi ", "<PERSON_1", ">", ", bye"],
        ["Hi <PERSON_1>", ", bye"],
        list("Hi <PERSON_1>, bye"),
    ],
)
def test_stream_restorer_handles_split_placeholders(deltas: list[str]) -> None:
    """A placeholder split over two or three deltas is restored once complete."""
    restorer = StreamRestorer(conversation_map())
    shown = [restorer.feed(d) for d in deltas] + [restorer.flush()]
    assert "".join(shown) == "Hi Dana Whitfield, bye"
    assert not any("<" in part for part in shown)


def test_stream_restorer_holds_back_only_a_possible_placeholder() -> None:
    """Text that cannot start a placeholder is shown at once; a partial one waits."""
    restorer = StreamRestorer(conversation_map())
    assert restorer.feed("a < b and x <PER") == "a < b and x "
    assert restorer.feed("SON_1> ok") == "Dana Whitfield ok"
    assert restorer.feed("2 <x") == "2 <x"


@pytest.mark.parametrize(
    ("deltas", "shown"),
    [
        (["Dear <PERS", "ON_7>!"], "Dear <PERSON_7>!"),
        (["cut off <PERSON_"], "cut off <PERSON_"),
        (["<person", "_1>"], "<person_1>"),
    ],
)
def test_stream_restorer_never_guesses(deltas: list[str], shown: str) -> None:
    """An invented, unfinished or altered placeholder comes out exactly as the model wrote it."""
    restorer = StreamRestorer(conversation_map())
    assert "".join([restorer.feed(d) for d in deltas] + [restorer.flush()]) == shown
