"""The redact action and typed placeholders: values replaced for good, never learned by
the mapping; placeholder-shaped text from the employee never collides with real ones."""

# ruff: noqa: E501 - tables read better one row per line

from __future__ import annotations

import pytest

from prompting.policy import (
    TYPED_PLACEHOLDER,
    Policy,
    PseudonymMap,
    Rule,
    StreamRestorer,
    default_policy,
    judge,
    judge_many,
)

POLICY = default_policy()


def case(*values: object) -> object:
    return pytest.param(*values[:-1], id=str(values[-1]))


@pytest.mark.parametrize(
    ("text", "value", "placeholder"),
    [
        case("Customer disputes card 4111 1111 1111 1111, please draft a reply", "4111 1111 1111 1111", "<CREDIT_CARD_1>", "card"),
        case("Her SSN is 536-90-4399, onboarding is blocked", "536-90-4399", "<US_SSN_1>", "ssn"),
        case("The payout to IBAN DE89 3704 0044 0532 0130 00 bounced", "DE89 3704 0044 0532 0130 00", "<IBAN_CODE_1>", "iban"),
        case("checking account number: 000123456789 for the payout", "000123456789", "<US_BANK_NUMBER_1>", "bank account"),
    ],
)  # fmt: skip
def test_financial_numbers_are_redacted_and_the_text_is_served(
    text: str, value: str, placeholder: str
) -> None:
    """The default redacts: a typed placeholder is sent, the mapping never learns the value."""
    mapping = PseudonymMap()
    judgement = judge(text, policy=POLICY, mapping=mapping)
    assert judgement.decision == "redact"
    assert judgement.sanitized_text == text.replace(value, placeholder)
    entity_type = placeholder.strip("<>").rsplit("_", 1)[0]
    assert judgement.actions_by_type == {entity_type: "redact"}
    assert judgement.redacted_types == (entity_type,)
    assert value not in mapping.to_json()
    assert value.replace(" ", "") not in mapping.to_json().replace(" ", "")
    assert len(mapping) == 0
    # Never restored: the answer shows the placeholder as the model wrote it.
    assert mapping.restore(f"I refunded {placeholder}.") == f"I refunded {placeholder}."


def test_actions_by_type_reports_each_types_action() -> None:
    """Audit details carry {TYPE: action} for every type acted on."""
    judgement = judge(
        "Dana Whitfield paid with 4111 1111 1111 1111, mail dana.w@example.com",
        policy=POLICY,
        mapping=PseudonymMap(),
    )
    assert judgement.actions_by_type == {
        "CREDIT_CARD": "redact",
        "EMAIL_ADDRESS": "pseudonymize",
        "PERSON": "pseudonymize",
    }
    assert judgement.to_log_dict()["actions"] == judgement.actions_by_type
    assert judgement.decision == "redact"


def test_a_redacted_value_repeated_in_later_turns_never_leaks_or_is_stored() -> None:
    """Same mapping, two judgements: a new number each turn, nothing remembered."""
    mapping = PseudonymMap()
    card = "5555 5555 5555 4444"
    first = judge(f"card {card} declined", policy=POLICY, mapping=mapping)
    stored = mapping.to_json()
    second = judge(
        f"the card {card} again, and {card}", policy=POLICY, mapping=PseudonymMap.from_json(stored)
    )
    assert first.sanitized_text == "card <CREDIT_CARD_1> declined"
    assert second.sanitized_text == "the card <CREDIT_CARD_2> again, and <CREDIT_CARD_2>"
    assert card not in stored and "5555" not in stored


def test_redacted_and_pseudonymized_numbers_of_one_type_never_collide() -> None:
    """A type switched from pseudonymize to redact mid-conversation takes the next number."""
    mapping = PseudonymMap()
    pseudonymizing = Policy(version=2, rules={"CREDIT_CARD": Rule("pseudonymize", 0.5)})
    judge("card 4111 1111 1111 1111", policy=pseudonymizing, mapping=mapping)
    later = judge("card 5555 5555 5555 4444", policy=POLICY, mapping=mapping)
    assert later.sanitized_text == "card <CREDIT_CARD_2>"


def test_judge_many_redacts_a_value_once_across_parts() -> None:
    """Document parts judged together: the same card is one placeholder in all."""
    parts = ["card 4111 1111 1111 1111 on page 1", "and 4111 1111 1111 1111 on page 2"]
    results = judge_many(parts, policy=POLICY, mapping=PseudonymMap())
    assert [r.sanitized_text for r in results] == [
        "card <CREDIT_CARD_1> on page 1",
        "and <CREDIT_CARD_1> on page 2",
    ]


def test_secrets_still_block() -> None:
    """A pasted credential is refused, with or without redactable numbers beside it."""
    judgement = judge(
        "card 4111 1111 1111 1111 and password=hunter2!", policy=POLICY, mapping=PseudonymMap()
    )
    assert judgement.decision == "block"
    assert judgement.sanitized_text is None


@pytest.mark.parametrize(
    "typed",
    [
        "<PERSON_1>",
        "<CREDIT_CARD_1>",
        "<person_1>",
        "<PERSON_0>",
        "<PERSON_007>",
        "< PERSON_1 >",
        "<X_123456789>",
        f"<{TYPED_PLACEHOLDER}_1>",
    ],
)
def test_typed_placeholders_are_neutralised_and_shown_back_as_typed(typed: str) -> None:
    """The employee's "<PERSON_1>" is sent as a typed placeholder, never as a real one: the
    person named next gets her own number, and an answer quoting the typed text shows
    exactly what was typed."""
    mapping = PseudonymMap()
    judgement = judge(f"what does {typed} mean?", policy=POLICY, mapping=mapping)
    assert judgement.sanitized_text == f"what does <{TYPED_PLACEHOLDER}_1> mean?"
    assert judgement.typed_placeholders == ((10, 10 + len(typed)),)
    assert judgement.findings == ()
    later = judge("Customer: Olga Petrenko", policy=POLICY, mapping=mapping)
    assert later.sanitized_text == "Customer: <PERSON_1>"  # no collision with the typed one
    answer = f"In your message, <{TYPED_PLACEHOLDER}_1> is not <PERSON_1>."
    assert mapping.restore(answer) == f"In your message, {typed} is not Olga Petrenko."
    restorer = StreamRestorer(mapping)
    streamed = "".join(restorer.feed(answer[i : i + 3]) for i in range(0, len(answer), 3))
    assert streamed + restorer.flush() == mapping.restore(answer)


def test_placeholders_this_conversation_issued_pass_through() -> None:
    """The model's own placeholders fed back (a summary's parts combined) or copied by the
    employee mean the same values: sent as they are, restored to those values."""
    mapping = PseudonymMap()
    judge("Customer: Olga Petrenko, card 4111 1111 1111 1111", policy=POLICY, mapping=mapping)
    text = "## Part 1\n\n<PERSON_1> disputes <CREDIT_CARD_1>; <PERSON_2> is unknown."
    judgement = judge(text, policy=POLICY, mapping=mapping)
    assert judgement.sanitized_text == (
        f"## Part 1\n\n<PERSON_1> disputes <CREDIT_CARD_1>; <{TYPED_PLACEHOLDER}_1> is unknown."
    )
    assert mapping.restore(judgement.sanitized_text or "").startswith(
        "## Part 1\n\nOlga Petrenko disputes <CREDIT_CARD_1>; <PERSON_2>"
    )


def test_text_that_is_only_placeholders() -> None:
    """Nothing but placeholders: served, each neutralised, no finding."""
    text = "<PERSON_1> <PERSON_2>\n<CREDIT_CARD_1><EMAIL_ADDRESS_3>"
    mapping = PseudonymMap()
    judgement = judge(text, policy=POLICY, mapping=mapping)
    assert judgement.decision == "allow"
    assert judgement.sanitized_text == (
        f"<{TYPED_PLACEHOLDER}_1> <{TYPED_PLACEHOLDER}_2>\n<{TYPED_PLACEHOLDER}_3><{TYPED_PLACEHOLDER}_4>"
    )
    assert mapping.restore(judgement.sanitized_text) == text


@pytest.mark.parametrize(
    "typed", ["<X_4111111111111111>", "<ACCOUNT_000123456789>", "<CARD_4111 1111 1111 1111>"]
)
def test_a_long_number_inside_a_typed_placeholder_is_redacted_not_remembered(typed: str) -> None:
    """A number longer than any placeholder's may be a card: never stored, never restored."""
    mapping = PseudonymMap()
    judgement = judge(f"see {typed}", policy=POLICY, mapping=mapping)
    sent = judgement.sanitized_text or ""
    assert "1111" not in sent and "123456789" not in sent
    assert "1111" not in mapping.to_json() and "123456789" not in mapping.to_json()


def test_stored_text_keeps_no_redacted_value() -> None:
    """What may be kept: redacted values become their placeholders (also a long number
    inside a typed placeholder); pseudonymized ones stay for the owner."""
    text = "Olga Petrenko paid with 4111 1111 1111 1111, ref <REF_1234567890>, see <PERSON_1>"
    judgement = judge(text, policy=POLICY, mapping=PseudonymMap())
    assert judgement.stored_text(text) == (
        "Olga Petrenko paid with <CREDIT_CARD_1>, ref <TYPED_PLACEHOLDER_1>, see <PERSON_1>"
    )


def test_stored_text_of_a_blocked_text_keeps_no_redacted_value() -> None:
    """A blocked message is kept too (the employee sees it): its card number is not."""
    text = "card 4111 1111 1111 1111, password: Zq7!hunter2-x9"
    judgement = judge(text, policy=POLICY, mapping=PseudonymMap())
    assert judgement.decision == "block"
    assert judgement.stored_text(text) == "card <CREDIT_CARD>, password: Zq7!hunter2-x9"
