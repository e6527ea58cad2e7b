"""A conversation's title (the start of its first message) loses redacted values, also
when the title was cut inside one."""

# ruff: noqa: E501 - table rows read better one per line

from __future__ import annotations

import pytest

from prompting.runs.redaction import redact_title


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Card 4111 1111 1111 1111 was charged", "Card <CREDIT_CARD_1> was charged"),
        ("Refund the rider whose card is 4111 1111 11\u2026", "Refund the rider whose card is <CREDIT_CARD_1>\u2026"),
        ("Summary: dispute of 4111 1111 1", "Summary: dispute of <CREDIT_CARD_1>"),
        ("Nothing to see here", "Nothing to see here"),
    ],
)  # fmt: skip
def test_redacted_values_leave_the_title(title: str, expected: str) -> None:
    assert redact_title(title, [("4111 1111 1111 1111", "<CREDIT_CARD_1>")]) == expected
