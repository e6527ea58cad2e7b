"""Bad input the policy layer must survive: none may raise, hang past the analysis
timeout, or let a value out."""

# ruff: noqa: E501 - tables read better one row per line

from __future__ import annotations

import random
import time

import pytest
from faker import Faker

from prompting.policy import (
    TYPED_PLACEHOLDER,
    Judgement,
    Policy,
    PseudonymMap,
    default_policy,
    judge,
    judge_fail_closed,
)

POLICY = default_policy()
TIMEOUT_S = 30.0  # what the Celery policy task passes (services.POLICY_TIMEOUT_S)


def judged(text: str, mapping: PseudonymMap | None = None) -> Judgement:
    started = time.monotonic()
    judgement = judge_fail_closed(
        text,
        policy=POLICY,
        mapping=mapping if mapping is not None else PseudonymMap(),
        timeout_s=TIMEOUT_S,
    )
    # The timeout is checked between chunks: one chunk past it at most.
    assert time.monotonic() - started < TIMEOUT_S + 5
    return judgement


def leaked(judgement: Judgement, values: list[str]) -> list[str]:
    sent = judgement.sanitized_text
    return [] if sent is None else [v for v in values if v in sent]


def names(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    fakers = [Faker(locale) for locale in ("en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL")]
    for offset, fake in enumerate(fakers):
        fake.seed_instance(seed + offset)
    picks = [rng.choice(fakers) for _ in range(count)]
    return [f"{fake.first_name()} {fake.last_name()}" for fake in picks]


def test_200000_characters_of_names() -> None:
    """A wall of names fails closed within the timeout or is served with none left."""
    people = names(400, seed=1)
    text = ", ".join(people)
    text = (text + ", ") * (200_000 // (len(text) + 2))
    text = text[: 200_000 - 2] + "."
    judgement = judged(text)
    if judgement.decision == "block":
        assert judgement.reason in ("analysis_timed_out", "blocked_entities")
    else:
        assert leaked(judgement, people) == []


def test_a_name_list_of_5000_lines() -> None:
    """A pasted list of 5,000 names: every one replaced."""
    people = names(5_000, seed=2)
    judgement = judged("\n".join(people))
    assert judgement.decision == "pseudonymize"
    assert leaked(judgement, people) == []


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Клиент Olga Petrenko жалуется на водителя, звоните +7 495 123-45-67", ["Olga Petrenko", "495 123-45-67"]),
        ("乘客 Zhang Wei 的邮箱是 zhang.wei@example.com\uff0c卡号 4111 1111 1111 1111", ["Zhang Wei", "zhang.wei@example.com", "4111 1111 1111 1111"]),
        ("السائق Omar al-Farsi رقم الهاتف +971 50 123 4567 و IBAN AE07 0331 2345 6789 0123 456", ["Omar al-Farsi", "+971 50 123 4567", "AE07 0331 2345 6789 0123 456"]),
    ],
)  # fmt: skip
def test_mixed_scripts_with_latin_names_inside(text: str, values: list[str]) -> None:
    judgement = judged(text)
    assert judgement.decision in ("pseudonymize", "redact")
    assert leaked(judgement, values) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Customer Ol\u00adga Pet\u00adren\u00adko called", "Ol\u00adga Pet\u00adren\u00adko"),
        ("Customer Ol\u200dga Petrenko called", "Ol\u200dga Petrenko"),
        ("card 4111\u200b1111\u200b1111\u200b1111 declined", "4111\u200b1111\u200b1111\u200b1111"),
        ("SSN 536\u00ad-90-\u200d4399 on file", "536\u00ad-90-\u200d4399"),
        ("mail dana\u200b.whitfield@example.com", "dana\u200b.whitfield@example.com"),
    ],
)
def test_invisible_characters_inside_names_and_numbers(text: str, value: str) -> None:
    """Soft hyphens and zero-width characters hide nothing; the whole original span goes."""
    judgement = judged(text)
    sent = judgement.sanitized_text or ""
    assert judgement.decision in ("pseudonymize", "redact")
    assert value not in sent
    assert "\u00ad" not in sent and "\u200b" not in sent and "\u200d" not in sent


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111.1111.1111.1111",
        "4111-1111-1111-1111",
        "4111 1111\n1111 1111",
        "4111\n1111\n1111\n1111",
        "5555 5555 5555\n4444",
        "3782 822463 10005",
    ],
)
def test_card_numbers_split_by_spaces_dots_or_line_breaks(card: str) -> None:
    judgement = judged(f"The customer's card:\n{card}\nwas charged twice.")
    assert judgement.decision == "redact"
    assert judgement.redacted_types == ("CREDIT_CARD",)
    digits = "".join(ch for ch in card if ch.isdigit())
    sent = "".join(ch for ch in judgement.sanitized_text or "" if ch.isdigit())
    assert digits not in sent


@pytest.mark.parametrize(
    "text",
    [
        "<PERSON_1>",
        "<PERSON_1><PERSON_2> <CREDIT_CARD_1>\n<IBAN_CODE_9>",
        "<person_1> <PERSON_0> <PERSON_0001> <Person_1> < PERSON_1 > <FOO_BAR_BAZ_77>",
        "<PERSON_999999999> <_1> <PERSON_> <PERSON_-1> <<PERSON_1>>",
        f"<{TYPED_PLACEHOLDER}_1> <{TYPED_PLACEHOLDER}_2>",
    ],
)
def test_placeholder_shaped_text_of_any_kind(text: str) -> None:
    """Only or odd placeholders: served, and nothing typed can be restored as someone
    else: a person named later gets a placeholder none of them turns into."""
    mapping = PseudonymMap()
    judgement = judged(text, mapping)
    assert judgement.decision == "allow"
    sent = judgement.sanitized_text or ""
    later = judge("Customer: Olga Petrenko", policy=POLICY, mapping=mapping)
    assert later.sanitized_text is not None and later.sanitized_text.startswith("Customer: <")
    assert mapping.restore(sent) == text
    assert "Olga" not in mapping.restore(sent)


def test_a_policy_version_with_redact_rolled_back() -> None:
    """v2 redacts, v3 equals v1 again: each judges by its own rules, JSON round-trips."""
    v1 = Policy.from_rules_json(version=1, rules={"CREDIT_CARD": {"action": "block"}})
    v2 = Policy.from_json({"version": 2, "rules": {"CREDIT_CARD": {"action": "redact"}}})
    v3 = Policy.from_rules_json(version=3, rules=v1.rules_to_json())
    text = "card 4111 1111 1111 1111"
    assert judge(text, policy=v2, mapping=PseudonymMap()).sanitized_text == "card <CREDIT_CARD_1>"
    rolled_back = judge(text, policy=v3, mapping=PseudonymMap())
    assert rolled_back.decision == "block" and rolled_back.sanitized_text is None
    assert Policy.from_json(v2.to_json()) == v2
    assert v3.rules == v1.rules


def test_random_unicode_noise_never_raises() -> None:
    """Arbitrary code points (no surrogates): a judgement, never an exception."""
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(32, 0x3000) if not 0xD800 <= c <= 0xDFFF]
    for _ in range(20):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3000)))
        judgement = judged(text)
        assert judgement.reason != "analysis_failed"
