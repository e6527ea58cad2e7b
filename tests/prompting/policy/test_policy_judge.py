"""Judging text under the default policy: decisions, placeholders, overrides, failures."""

# ruff: noqa: E501 - tables and text templates read better one row per line

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from prompting.policy import (
    AnalysisFailed,
    Analyzer,
    Judgement,
    Override,
    PseudonymMap,
    TextTooLong,
    default_policy,
    get_analyzer,
    judge,
    judge_fail_closed,
    judge_many,
)
from prompting.policy import engine as engine_module
from prompting.policy.chunking import split_into_chunks

POLICY = default_policy(version=3)


def judged(text: str, mapping: PseudonymMap | None = None, **kwargs: Any) -> Judgement:
    return judge(
        text, policy=POLICY, mapping=mapping if mapping is not None else PseudonymMap(), **kwargs
    )


def row(text: str, decision: str, types: set[str], id: str) -> Any:
    return pytest.param(text, decision, types, id=id)


@pytest.mark.parametrize(
    ("text", "decision", "types"),
    [
        row("Please summarise the Q3 revenue numbers for the Denver office.", "allow", set(), "business text"),
        row("Meeting on March 3rd, 2026 in Chicago about pricing.", "allow", set(), "dates and cities allowed"),
        row("Email Dana Whitfield at dana.w@example.com", "pseudonymize", {"PERSON", "EMAIL_ADDRESS"}, "name+email"),
        row("Call the rider back on (415) 555-0132", "pseudonymize", {"PHONE_NUMBER"}, "phone"),
        row("Pickup was 1234 Oak Street, Apt 4B", "pseudonymize", {"STREET_ADDRESS"}, "address"),
        row("Server 10.20.30.40 refused", "pseudonymize", {"IP_ADDRESS"}, "ip"),
        row("Trip T-0123456789 for rider R-12345678", "pseudonymize", {"TRIP_ID", "RIDER_ID"}, "company ids"),
        row("Her SSN is 536-90-4399", "redact", {"US_SSN"}, "ssn"),
        row("Card 4111 1111 1111 1111 was declined", "redact", {"CREDIT_CARD"}, "card"),
        row("IBAN DE89 3704 0044 0532 0130 00 please", "redact", {"IBAN_CODE"}, "iban"),
        row("bank account number 123456789012", "redact", {"US_BANK_NUMBER"}, "bank account with context"),
        row("aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "block", {"AWS_ACCESS_KEY"}, "aws key"),
        row("db password=hunter2 for Dana Whitfield", "block", {"PASSWORD", "PERSON"}, "secret wins over name"),
    ],
)  # fmt: skip
def test_default_policy_outcomes(text: str, decision: str, types: set[str]) -> None:
    """Each kind of content gets the default policy's decision, with the acted-on types."""
    judgement = judged(text)
    assert judgement.decision == decision
    assert set(judgement.counts_by_type) == types
    assert judgement.policy_version == 3


def test_pseudonymized_text_keeps_everything_else() -> None:
    """Only the found values change; the model gets placeholders in their place."""
    judgement = judged("Email Dana Whitfield at dana.w@example.com today.")
    assert judgement.sanitized_text == "Email <PERSON_1> at <EMAIL_ADDRESS_1> today."
    assert [f.placeholder for f in judgement.findings] == ["<PERSON_1>", "<EMAIL_ADDRESS_1>"]


def test_blocked_text_sends_nothing_and_says_why() -> None:
    """A block has no sanitized text, names the blocked types, and a user sentence."""
    judgement = judged("password=hunter2 for dana.w@example.com")
    assert judgement.sanitized_text is None
    assert judgement.blocked_types == ("PASSWORD",)
    assert judgement.reason == "blocked_entities"
    assert "a password" in (judgement.user_message or "")


def test_blocked_text_adds_nothing_to_the_mapping() -> None:
    """Values of a text that is not sent are not remembered either."""
    mapping = PseudonymMap()
    judged("password=hunter2 for dana.w@example.com", mapping)
    assert len(mapping) == 0


def test_placeholders_are_stable_across_turns() -> None:
    """The same person keeps <PERSON_1> in later turns, even where NER misses the name."""
    mapping = PseudonymMap()
    first = judged("Customer: Dana Whitfield\nEmail: dana.w@example.com", mapping)
    second = judged("what did dana whitfield say to DANA.W@EXAMPLE.COM and Tom Becker?", mapping)
    assert "<PERSON_1>" in (first.sanitized_text or "")
    assert second.sanitized_text == "what did <PERSON_1> say to <EMAIL_ADDRESS_1> and <PERSON_2>?"
    assert mapping.restore(second.sanitized_text) == (
        "what did Dana Whitfield say to dana.w@example.com and Tom Becker?"
    )


def test_findings_carry_no_values() -> None:
    """Findings and the log view refer to values only by offsets and keyed digests."""
    text = "Email Dana Whitfield at dana.w@example.com"
    judgement = judged(text)
    logged = repr(judgement.to_log_dict()) + repr([f.to_public_dict() for f in judgement.findings])
    assert "Dana" not in logged and "example.com" not in logged
    assert [s.text for s in judgement.segments(text) if s.finding] == [
        "Dana Whitfield",
        "dana.w@example.com",
    ]
    assert "".join(s.text for s in judgement.segments(text)) == text


def test_override_of_an_overridable_type_by_span() -> None:
    """An employee's false-positive mark lets an overridable finding through unchanged."""
    text = "Ask Jordan about the Jordan release"
    first = judged(text)
    person = next(f for f in first.findings if f.entity_type == "PERSON")
    override = Override("PERSON", start=person.start, end=person.end, reason="product name")
    second = judged(text, overrides=[override])
    overridden = [f for f in second.findings if f.overridden]
    assert overridden and overridden[0].action == "allow"
    assert text[person.start : person.end] in (second.sanitized_text or "")


def test_override_by_digest_covers_later_turns() -> None:
    """A value-digest override applies wherever that value appears in the conversation."""
    mapping = PseudonymMap()
    first = judged("Call 415-555-0132 now", mapping.copy())
    digest = first.findings[0].value_digest
    mapping_with_salt = PseudonymMap.from_json(mapping.to_json())
    override = Override("PHONE_NUMBER", value_digest=digest)
    again = judged("the number 415-555-0132 is our toll-free line", mapping_with_salt,
                   overrides=[override])  # fmt: skip
    assert again.decision == "allow"
    assert again.sanitized_text == "the number 415-555-0132 is our toll-free line"


def test_override_of_a_non_overridable_type_is_refused() -> None:
    """Non-overridable types keep their action; the refused override is reported back."""
    text = "Her SSN is 536-90-4399"
    finding = judged(text).findings[0]
    override = Override("US_SSN", start=finding.start, end=finding.end)
    judgement = judged(text, overrides=[override])
    assert judgement.decision == "redact"
    assert "536-90-4399" not in (judgement.sanitized_text or "536-90-4399")
    assert judgement.rejected_overrides == (override,)


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_allowed_with_no_findings(text: str) -> None:
    """Nothing to check means nothing to block."""
    judgement = judged(text)
    assert (judgement.decision, judgement.findings, judgement.sanitized_text) == ("allow", (), text)


def test_text_over_the_limit_names_the_limit() -> None:
    """Too long a text is refused before analysis with a sentence naming the limit."""
    with pytest.raises(TextTooLong) as excinfo:
        judged("a" * 200_001)
    assert "200,000 characters" in excinfo.value.user_message
    blocked = judge_fail_closed("a" * 11, policy=POLICY, mapping=PseudonymMap(), max_chars=10)
    assert (blocked.decision, blocked.reason) == ("block", "text_too_long")
    assert "10 characters" in (blocked.user_message or "")


@pytest.mark.parametrize(
    "text",
    [
        "请把报告发给张伟，邮箱 zhang.wei@example.cn，谢谢！",  # noqa: RUF001 - Chinese punctuation is the point
        "مرحبا، يرجى مراسلتي على ali.hassan@example.com شكرا",
        "Привет! Пишите на ivan@example.ru 👋🏽🚗💨",
        "👨‍👩‍👧‍👦 ok 😀 mail: x.y@example.com ✅",
        "נא לשלוח ל־dana@example.co.il בבקשה",
    ],
)
def test_other_languages_and_scripts(text: str) -> None:
    """Non-Latin scripts and emoji do not crash analysis, and an email inside is still found."""
    judgement = judged(text)
    assert judgement.decision == "pseudonymize"
    email = next(f for f in judgement.findings if f.entity_type == "EMAIL_ADDRESS")
    assert "@example." in text[email.start : email.end]
    assert "@" not in (judgement.sanitized_text or "")


@pytest.mark.parametrize("char", ["a", "1", " ", "\n", "é"])
def test_one_mega_byte_of_one_character(char: str) -> None:
    """1 MB of one repeated character finishes in bounded time without a crash."""
    started = time.monotonic()
    judgement = judged(char * 1_000_000, max_chars=1_000_000)
    assert judgement.decision in {"allow", "pseudonymize", "block"}
    assert time.monotonic() - started < 60


def test_findings_in_later_chunks_map_to_original_offsets() -> None:
    """A long text is analysed in chunks; offsets still point into the original."""
    paragraph = "Quarterly planning notes about driver onboarding and regional pricing. " * 8
    emails = ["first.person@example.com", "second.person@example.com", "third.person@example.com"]
    text = "\n\n".join(
        [paragraph] * 2 + [paragraph + emails[0]] + [paragraph] * 5 + [emails[1] + " " + paragraph]
        + [paragraph] * 3 + [emails[2]]
    )  # fmt: skip
    assert len(split_into_chunks(text)) > 3
    judgement = judged(text)
    found = [text[f.start : f.end] for f in judgement.findings if f.entity_type == "EMAIL_ADDRESS"]
    assert found == emails
    assert judgement.sanitized_text is not None
    assert not any(email in judgement.sanitized_text for email in emails)


def test_judge_many_shares_one_mapping() -> None:
    """Document chunks judged together use one mapping: same person, same placeholder."""
    mapping = PseudonymMap()
    parts = [
        "Dana Whitfield opened the ticket.",
        "Later Dana Whitfield wrote again.",
        "token=a8f5f167f44f4964e6c998dee827110c",
    ]
    results = judge_many(parts, policy=POLICY, mapping=mapping)
    assert [r.decision for r in results] == ["pseudonymize", "pseudonymize", "block"]
    assert results[1].sanitized_text == "Later <PERSON_1> wrote again."


class ExplodingEngine:
    """Stands in for Presidio failing mid-analysis."""

    def __init__(self, real: Analyzer) -> None:
        self.nlp_engine = real.engine.nlp_engine

    def analyze(self, **kwargs: object) -> list[object]:
        raise RuntimeError("presidio broke on 'Dana Whitfield'")

    def get_supported_entities(self, language: str) -> list[str]:
        return ["PERSON", "EMAIL_ADDRESS"]


def test_engine_exception_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    """If Presidio raises, judge raises AnalysisFailed and judge_fail_closed blocks,
    without the text (or the exception's message quoting it) reaching the log."""
    broken = Analyzer(ExplodingEngine(get_analyzer()))  # type: ignore[arg-type]
    with pytest.raises(AnalysisFailed):
        judged("Email Dana Whitfield", analyzer=broken)
    judgement = judge_fail_closed(
        "Email Dana Whitfield", policy=POLICY, mapping=PseudonymMap(), analyzer=broken
    )
    assert (judgement.decision, judgement.reason, judgement.sanitized_text) == (
        "block",
        "analysis_failed",
        None,
    )
    assert "could not be checked" in (judgement.user_message or "")
    assert "RuntimeError" in caplog.text and "Dana" not in caplog.text


def test_unexpected_error_fails_closed() -> None:
    """Even a non-Presidio bug (here: a broken mapping object) blocks instead of sending."""
    judgement = judge_fail_closed("Email Dana Whitfield", policy=POLICY, mapping=None)  # type: ignore[arg-type]
    assert (judgement.decision, judgement.reason) == ("block", "analysis_failed")


def test_timeout_fails_closed() -> None:
    """Analysis past its time budget blocks with its own reason."""
    text = "Plain words about pricing.\n\n" * 4000
    judgement = judge_fail_closed(text, policy=POLICY, mapping=PseudonymMap(), timeout_s=0.0)
    assert (judgement.decision, judgement.reason) == ("block", "analysis_timed_out")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every attempt to resolve or connect is recorded and refused."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access during policy analysis")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts


def test_no_network_access_when_building_and_analysing(no_network: list[object]) -> None:
    """A fresh engine builds and finds emails (public-suffix check included) offline."""
    engine_module._offline_tld_extractor.cache_clear()
    fresh = Analyzer(engine_module.analyzer_engine.__wrapped__())  # bypass the process cache
    judgement = judge(
        "Write to dana.w@example.com or ops@corp.internal, or call (415) 555-0132.",
        policy=POLICY,
        mapping=PseudonymMap(),
        analyzer=fresh,
    )
    assert judgement.counts_by_type == {"EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1}
    assert no_network == []


@pytest.mark.parametrize(
    "prefix",
    ["", "İstanbul office: "],  # "İ" lower-cases to two characters: the slow, exact path
)
def test_known_values_are_replaced_everywhere(prefix: str) -> None:
    """A value found once is replaced at every whole-word occurrence, any case."""
    mapping = PseudonymMap()
    judged("Customer: Dana Whitfield", mapping)
    text = prefix + "DANA WHITFIELD wrote; dana whitfield again; danawhitfield is a handle"
    judgement = judged(text, mapping)
    assert judgement.sanitized_text == (
        prefix + "<PERSON_1> wrote; <PERSON_1> again; danawhitfield is a handle"
    )
