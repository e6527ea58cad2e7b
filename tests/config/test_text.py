"""The one input-cleaning function: what it removes, what it refuses, what it keeps."""

from __future__ import annotations

import pytest

from config.text import InvalidText, clean_query, clean_text, decode_text, parse_positive_int


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Call Olga\x00 tomorrow", "Call Olga tomorrow"),
        ("line one\r\nline two\rthree", "line one\nline two\nthree"),
        ("page one\x0cpage two", "page one\npage two"),
        ("tab\tand newline\n stay", "tab\tand newline\n stay"),
        ("bell\x07 and escape\x1b[0m gone", "bell and escape[0m gone"),
        ("Zoë, Łukasz, 山田, محمد", "Zoë, Łukasz, 山田, محمد"),
        ("soft\u00adhyphen and zero\u200bwidth stay for the policy", None),
    ],
)
def test_clean_text(raw: str, cleaned: str | None) -> None:
    assert clean_text(raw) == (raw if cleaned is None else cleaned)


def test_lone_surrogate_is_refused_with_its_position() -> None:
    with pytest.raises(InvalidText) as caught:
        clean_text("Maria \ud800Gonzalez")
    assert "position 7" in caught.value.user_message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfHello\r\nthere", "Hello\nthere"),
        ("Grüße".encode(), "Grüße"),
        (b"with\x00nul", "withnul"),
    ],
)
def test_decode_text(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"abc\xff\xfedef", "position 3"), ("hi".encode("utf-16"), "UTF-16")],
)
def test_undecodable_bytes_are_refused_not_repaired(data: bytes, words: str) -> None:
    with pytest.raises(InvalidText) as caught:
        decode_text(data)
    assert words in caught.value.user_message


def test_clean_query_never_raises_and_keeps_one_line() -> None:
    assert clean_query("  olga\x00 \ud800petrenko \n ", max_chars=200) == "olga petrenko"
    assert clean_query("x" * 500, max_chars=10) == "x" * 10


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("3", 3), ("²", 1), ("0", 1), ("-2", 1), ("1e3", 1), ("", 1), (None, 1), ("99999", 1)],
)
def test_parse_positive_int(raw: str | None, expected: int) -> None:
    assert parse_positive_int(raw, default=1, maximum=10_000) == expected
