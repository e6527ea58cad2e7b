"""The policy as data: validation with clear messages, JSON round trip, the defaults."""

# ruff: noqa: E501 - tables and text templates read better one row per line

from __future__ import annotations

import pytest

from prompting.policy import DEFAULT_RULES, InvalidPolicy, Policy, Rule, default_policy


def test_json_round_trip() -> None:
    """What the Django side stores reads back as an equal policy."""
    policy = default_policy(version=7)
    assert Policy.from_json(policy.to_json()) == policy
    assert Policy.from_rules_json(version=7, rules=policy.rules_to_json()) == policy


def test_json_string_accepted() -> None:
    """A JSON string works as well as a parsed dict."""
    policy = Policy.from_json('{"version": 2, "rules": {"PERSON": {"action": "allow"}}}')
    assert policy.rules["PERSON"] == Rule("allow", 0.5, overridable=False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{", "not valid JSON"),
        ([1], "JSON object"),
        ({"version": 1}, "both 'version' and 'rules'"),
        ({"version": 0, "rules": {}}, "1 or more"),
        ({"version": "1", "rules": {}}, "integer"),
        ({"version": 1, "rules": [], "x": 1}, "Unknown policy field(s): x"),
        ({"version": 1, "rules": []}, "object mapping"),
        ({"version": 1, "rules": {"PERSON": {"action": "hide"}}}, "Rule for PERSON: Unknown action 'hide'"),
        ({"version": 1, "rules": {"PERSON": {}}}, "Rule for PERSON has no 'action'"),
        ({"version": 1, "rules": {"PERSON": "block"}}, "must be an object"),
        ({"version": 1, "rules": {"PERSON": {"action": "block", "min_score": 2}}}, "between 0 and 1"),
        ({"version": 1, "rules": {"PERSON": {"action": "block", "min_score": "high"}}}, "must be a number"),
        ({"version": 1, "rules": {"PERSON": {"action": "block", "overridable": "yes"}}}, "true or false"),
        ({"version": 1, "rules": {"PERSON": {"action": "block", "colour": 1}}}, "unknown field(s): colour"),
        ({"version": 1, "rules": {"person": {"action": "block"}}}, "upper-case"),
    ],
)  # fmt: skip
def test_invalid_policies_say_what_is_wrong(data: object, message: str) -> None:
    """Each kind of bad rule is rejected with a sentence naming the problem."""
    with pytest.raises(InvalidPolicy) as excinfo:
        Policy.from_json(data)  # type: ignore[arg-type]
    assert message in excinfo.value.user_message


def test_policy_is_immutable() -> None:
    """A stored version cannot be changed in place; edits make a new version."""
    policy = default_policy()
    with pytest.raises(TypeError):
        policy.rules["PERSON"] = Rule("allow")  # type: ignore[index]


@pytest.mark.parametrize(
    ("entity_type", "action"),
    [
        ("US_SSN", "redact"), ("CREDIT_CARD", "redact"), ("IBAN_CODE", "redact"),
        ("US_BANK_NUMBER", "redact"), ("AWS_ACCESS_KEY", "block"), ("AWS_SECRET_KEY", "block"),
        ("PRIVATE_KEY", "block"), ("API_TOKEN", "block"), ("PASSWORD", "block"),
        ("PERSON", "pseudonymize"), ("EMAIL_ADDRESS", "pseudonymize"),
        ("PHONE_NUMBER", "pseudonymize"), ("STREET_ADDRESS", "pseudonymize"),
        ("US_DRIVER_LICENSE", "pseudonymize"), ("IP_ADDRESS", "pseudonymize"),
        ("PASSPORT", "pseudonymize"), ("DATE_OF_BIRTH", "pseudonymize"),
        ("RIDER_ID", "pseudonymize"), ("DRIVER_ID", "pseudonymize"), ("TRIP_ID", "pseudonymize"),
        ("DATE_TIME", "allow"), ("LOCATION", "allow"),
    ],
)  # fmt: skip
def test_default_actions(entity_type: str, action: str) -> None:
    """The default policy: secrets and financial ids block, identifiers pseudonymize,
    dates and places pass."""
    assert DEFAULT_RULES[entity_type].action == action


def test_secrets_are_never_overridable_by_default() -> None:
    """An employee cannot wave a credential through as a false positive."""
    for name in ("AWS_ACCESS_KEY", "AWS_SECRET_KEY", "PRIVATE_KEY", "API_TOKEN", "PASSWORD",
                 "US_SSN", "CREDIT_CARD", "IBAN_CODE"):  # fmt: skip
        assert not DEFAULT_RULES[name].overridable, name


def test_allow_types_are_not_analysed() -> None:
    """Allowed types cost no analysis time."""
    assert "DATE_TIME" not in default_policy().entities_to_detect()
    assert "PERSON" in default_policy().entities_to_detect()
