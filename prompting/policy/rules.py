"""The data-processing policy as data: per entity type an action and a minimum score.

A `Policy` is immutable and versioned. The Django side stores it in a JSON column
(`PolicyVersion.rules`) and every run records the version it was judged by, so the
policy is plain data that round-trips through JSON with validation on the way in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from .errors import InvalidPolicy

Action = Literal["allow", "pseudonymize", "redact", "block"]
ACTIONS: tuple[Action, ...] = get_args(Action)

# Severity order: when findings overlap, or a text has several findings, the most severe wins.
# `redact` hides more than `pseudonymize` (the value is gone for good, not restored in the
# answer), and less than `block` (the text is still served).
ACTION_SEVERITY: dict[Action, int] = {"allow": 0, "pseudonymize": 1, "redact": 2, "block": 3}

# Entity type names become part of placeholders (`<PERSON_1>`), so they are restricted to
# what the restorer recognises: upper-case ASCII letters, digits and underscores.
_ENTITY_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")


@dataclass(frozen=True)
class Rule:
    """What to do with a finding of one entity type.

    `min_score`: findings scoring below it are ignored (treated as not found). Presidio
    scores are 0..1; weak regex matches without context score low, so the threshold is
    where recall is traded against false positives on ordinary business text.
    `overridable`: whether an employee may mark such a finding as a false positive.
    """

    action: Action
    min_score: float = 0.5
    overridable: bool = False

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidPolicy(f"Unknown action {self.action!r}; use one of {', '.join(ACTIONS)}.")
        if isinstance(self.min_score, bool) or not isinstance(self.min_score, int | float):
            raise InvalidPolicy(f"min_score must be a number, not {self.min_score!r}.")
        if not 0.0 <= float(self.min_score) <= 1.0:
            raise InvalidPolicy(f"min_score must be between 0 and 1, not {self.min_score}.")
        if not isinstance(self.overridable, bool):
            raise InvalidPolicy(f"overridable must be true or false, not {self.overridable!r}.")
        object.__setattr__(self, "min_score", float(self.min_score))

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "min_score": self.min_score, "overridable": self.overridable}


@dataclass(frozen=True)
class Policy:
    version: int
    rules: Mapping[str, Rule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise InvalidPolicy(f"Policy version must be an integer, not {self.version!r}.")
        if self.version < 1:
            raise InvalidPolicy(f"Policy version must be 1 or more, not {self.version}.")
        for entity_type, rule in self.rules.items():
            if not isinstance(entity_type, str) or not _ENTITY_TYPE_RE.match(entity_type):
                raise InvalidPolicy(
                    f"Entity type {entity_type!r} is not valid: use 2-40 upper-case letters, "
                    "digits or underscores, starting with a letter (e.g. PERSON)."
                )
            if not isinstance(rule, Rule):
                raise InvalidPolicy(f"Rule for {entity_type} must be a Rule, not {rule!r}.")
        # A read-only copy sorted by name: equal policies compare and serialise identically.
        object.__setattr__(self, "rules", _FrozenRules(sorted(self.rules.items())))

    def rule_for(self, entity_type: str) -> Rule | None:
        return self.rules.get(entity_type)

    def entities_to_detect(self) -> list[str]:
        """Entity types whose findings change the outcome; `allow` types need no analysis."""
        return [name for name, rule in self.rules.items() if rule.action != "allow"]

    # -- JSON ---------------------------------------------------------------------------

    def rules_to_json(self) -> dict[str, dict[str, Any]]:
        """The `rules` part only, for a JSON column next to a separate version column."""
        return {name: rule.to_json() for name, rule in self.rules.items()}

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict: `{"version": 3, "rules": {"PERSON": {...}, ...}}`."""
        return {"version": self.version, "rules": self.rules_to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Policy:
        """Build from `to_json()` output (a dict, or the same as a JSON string)."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise InvalidPolicy(f"Policy is not valid JSON: {exc.msg}.") from exc
        if not isinstance(data, Mapping):
            raise InvalidPolicy("Policy must be a JSON object with 'version' and 'rules'.")
        unknown = set(data) - {"version", "rules"}
        if unknown:
            raise InvalidPolicy(f"Unknown policy field(s): {', '.join(sorted(unknown))}.")
        if "version" not in data or "rules" not in data:
            raise InvalidPolicy("Policy must have both 'version' and 'rules'.")
        return cls.from_rules_json(version=data["version"], rules=data["rules"])

    @classmethod
    def from_rules_json(cls, *, version: int, rules: Mapping[str, Any]) -> Policy:
        """Build from a version number and a `rules_to_json()` dict (e.g. a database row)."""
        if not isinstance(rules, Mapping):
            raise InvalidPolicy("'rules' must be an object mapping entity types to rules.")
        parsed: dict[str, Rule] = {}
        for entity_type, raw in rules.items():
            parsed[entity_type] = _rule_from_json(entity_type, raw)
        return cls(version=version, rules=parsed)


class _FrozenRules(dict[str, Rule]):
    """A dict that refuses mutation, so a frozen Policy cannot be changed through `rules`."""

    def _readonly(self, *args: object, **kwargs: object) -> None:
        raise TypeError("Policy rules are read-only; build a new Policy version instead.")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))


def _rule_from_json(entity_type: object, raw: object) -> Rule:
    if not isinstance(raw, Mapping):
        raise InvalidPolicy(f"Rule for {entity_type} must be an object with an 'action'.")
    unknown = set(raw) - {"action", "min_score", "overridable"}
    if unknown:
        raise InvalidPolicy(
            f"Rule for {entity_type} has unknown field(s): {', '.join(sorted(unknown))}."
        )
    if "action" not in raw:
        raise InvalidPolicy(f"Rule for {entity_type} has no 'action'.")
    try:
        return Rule(
            action=cast(Action, raw["action"]),
            min_score=raw.get("min_score", 0.5),
            overridable=raw.get("overridable", False),
        )
    except InvalidPolicy as exc:
        raise InvalidPolicy(f"Rule for {entity_type}: {exc.user_message}") from exc


# -- The default policy -----------------------------------------------------------------

# Secrets are never overridable: a false positive costs one rephrased prompt, a true
# positive sent to a third party costs a credential rotation (or worse).
SECRET_TYPES = ("AWS_ACCESS_KEY", "AWS_SECRET_KEY", "PRIVATE_KEY", "API_TOKEN", "PASSWORD")

# Company identifiers; their regexes come from settings (see recognizers.py).
COMPANY_ID_TYPES = ("RIDER_ID", "DRIVER_ID", "TRIP_ID")

DEFAULT_RULES: Mapping[str, Rule] = {
    # Block: a pasted credential is a mistake to stop, not a value to work around.
    **{name: Rule("block", 0.5, overridable=False) for name in SECRET_TYPES},
    # Redact: financial numbers are never needed by the model, but the text around them
    # (a dispute, a payout question) is the work; a typed placeholder lets it be served.
    # Never restored and never stored, so redacting loses nothing a user could want back.
    "US_SSN": Rule("redact", 0.5, overridable=False),
    "CREDIT_CARD": Rule("redact", 0.5, overridable=False),
    "IBAN_CODE": Rule("redact", 0.5, overridable=False),
    # Presidio scores a bare 8-17 digit number 0.05, at most 0.4 with "account"/"check"
    # nearby (that caught phone numbers in support chats); 0.5 takes an explicit
    # "account number:" (recognizers.BankAccountRecognizer, 0.8). Overridable: internal
    # account ids get introduced the same way.
    "US_BANK_NUMBER": Rule("redact", 0.5, overridable=True),
    # Pseudonymize: the model can work with a placeholder, the user sees the real value.
    # Overridable because NER and phone patterns do produce false positives
    # (a product called "Jordan", a ticket number that looks like a phone number).
    "PERSON": Rule("pseudonymize", 0.5, overridable=True),
    "EMAIL_ADDRESS": Rule("pseudonymize", 0.5, overridable=True),
    "PHONE_NUMBER": Rule("pseudonymize", 0.5, overridable=True),
    "STREET_ADDRESS": Rule("pseudonymize", 0.5, overridable=True),
    "US_DRIVER_LICENSE": Rule("pseudonymize", 0.5, overridable=True),
    "PASSPORT": Rule("pseudonymize", 0.5, overridable=True),
    "DATE_OF_BIRTH": Rule("pseudonymize", 0.5, overridable=True),
    "IP_ADDRESS": Rule("pseudonymize", 0.5, overridable=True),
    **{name: Rule("pseudonymize", 0.5, overridable=True) for name in COMPANY_ID_TYPES},
    # Allow: dates and places (cities, countries) carry little identifying power alone
    # and the model needs them for most useful answers (schedules, regional reports).
    "DATE_TIME": Rule("allow", 0.5, overridable=False),
    "LOCATION": Rule("allow", 0.5, overridable=False),
}


def default_policy(version: int = 1) -> Policy:
    return Policy(version=version, rules=DEFAULT_RULES)
