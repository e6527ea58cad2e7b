"""The limits, their defaults and which one wins. Pure Python (settings are passed in).

A limit of None means "no limit"; 0 means "nothing allowed" (an admin can pause an
employee or a department). Dollars are kept as micro-dollars in Redis (whole numbers:
INCRBY is exact, floats are not).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

USER = "user"
DEPARTMENT = "department"

ACTIVE_RUNS = "active_runs"
REQUESTS_PER_MINUTE = "requests_per_minute"
TOKENS_PER_DAY = "tokens_per_day"
TOKENS_PER_MONTH = "tokens_per_month"
USD_PER_DAY = "usd_per_day"
USD_PER_MONTH = "usd_per_month"
NAMES = (
    ACTIVE_RUNS,
    REQUESTS_PER_MINUTE,
    TOKENS_PER_DAY,
    TOKENS_PER_MONTH,
    USD_PER_DAY,
    USD_PER_MONTH,
)
DOLLAR_LIMITS = frozenset({USD_PER_DAY, USD_PER_MONTH})
# The largest value an admin may set: beyond these a "limit" is a typo (and 10**30
# would overflow Redis's 64-bit counters). None is the way to say "no limit".
MAXIMUM: dict[str, Decimal] = {
    ACTIVE_RUNS: Decimal(1_000),
    REQUESTS_PER_MINUTE: Decimal(100_000),
    TOKENS_PER_DAY: Decimal(10**12),
    TOKENS_PER_MONTH: Decimal(10**13),
    USD_PER_DAY: Decimal(10**7),
    USD_PER_MONTH: Decimal(10**8),
}
LABELS = {
    ACTIVE_RUNS: "Answers at a time",
    REQUESTS_PER_MINUTE: "Requests per minute",
    TOKENS_PER_DAY: "Tokens per day",
    TOKENS_PER_MONTH: "Tokens per month",
    USD_PER_DAY: "Dollars per day",
    USD_PER_MONTH: "Dollars per month",
}
MICRO = Decimal(1_000_000)


def to_micro_usd(amount: Decimal | float | int | str) -> int:
    return int((Decimal(str(amount)) * MICRO).to_integral_value())


def from_micro_usd(micro: int) -> Decimal:
    return (Decimal(micro) / MICRO).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Limits:
    """The limits of one scope (a user or a department); None = no limit."""

    active_runs: int | None = None
    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    usd_per_day: Decimal | None = None
    usd_per_month: Decimal | None = None

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def counter_limit(self, name: str) -> int | None:
        """The limit in counter units (micro-dollars for dollar limits)."""
        value = self.get(name)
        if value is None:
            return None
        return to_micro_usd(value) if name in DOLLAR_LIMITS else int(value)

    def overridden(self, values: dict[str, Any]) -> Limits:
        """These limits with the non-empty values of an override."""
        changes = {n: values[n] for n in NAMES if values.get(n) is not None}
        return Limits(**{**{n: self.get(n) for n in NAMES}, **changes})


def parse_defaults(name: str, raw: Any) -> Limits:
    """Limits from a settings dict ({"active_runs": 3, ...}); a bad value stops start-up."""
    if not isinstance(raw, dict) or set(raw) - set(NAMES):
        raise ValueError(f"{name}: expected an object with keys among {', '.join(NAMES)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            values[key] = None
            continue
        number = Decimal(str(value))
        if not number.is_finite() or number < 0 or number > MAXIMUM[key]:
            raise ValueError(f"{name}: {key} must be between 0 and {MAXIMUM[key]}, got {value!r}")
        values[key] = number if key in DOLLAR_LIMITS else int(number)
    return Limits(**values)
