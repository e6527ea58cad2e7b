"""Identity documents behind their cues: driver's licences of the larger states, passports,
dates of birth. Pseudonymized by default; without a cue the same shapes are left alone."""

from __future__ import annotations

import pytest

from prompting.policy import PseudonymMap, default_policy, get_analyzer, judge

POLICY = default_policy()


def found(text: str, entity_type: str) -> list[str]:
    min_score = POLICY.rules[entity_type].min_score
    return [
        text[d.start : d.end]
        for d in get_analyzer().detect(text, [entity_type])
        if d.entity_type == entity_type and d.score >= min_score
    ]


def case(*values: object) -> object:
    return pytest.param(*values[:-1], id=str(values[-1]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("DL: A1234567", "A1234567", "CA after DL"),
        case("DL# 12345678", "12345678", "TX after DL#"),
        case("DLN 123456789", "123456789", "NY after DLN"),
        case("dl# 123456789", "123456789", "lower-case dl#"),
        case("CDL S123-4567-8901 (IL)", "S123-4567-8901", "IL after CDL"),
        case("Driver's License No. F123-456-78-901-0", "F123-456-78-901-0", "FL printed"),
        case("drivers licence #: NY 123 456 789", "123 456 789", "NY with spaces and state"),
        case("driver license number is AB123456", "AB123456", "OH after 'number is'"),
        case("License 98765432 expires 2027", "98765432", "license followed by a number"),
        case("licence: WDL1234567AB", "WDL1234567AB", "WA"),
        case("operator's license: M12345678901234", "M12345678901234", "NJ"),
        case("licence plate 7ABC123 was seen", None, "licence plate excluded"),
        case("license plate number 7ABC123", None, "licence plate number excluded"),
        case("Order A1234567 shipped", None, "no cue"),
        case("driver's license: pending", None, "cue without a number"),
    ],
)  # fmt: skip
def test_driver_licences(text: str, expected: str | None) -> None:
    assert found(text, "US_DRIVER_LICENSE") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Passport No. A12345678", "A12345678", "US next generation"),
        case("passport: 123456789", "123456789", "US / UK 9 digits"),
        case("her passport (UK) 123456789 expired", "123456789", "country in brackets"),
        case("passport number is C01X00T47", "C01X00T47", "German"),
        case("Passport #: 12AB34567", "12AB34567", "French"),
        case("passport no ab1234567", "ab1234567", "lower case"),
        case("Passport: AAA123456", "AAA123456", "Spanish"),
        case("passport photo 600x600 px", None, "no passport number"),
        case("Reference 123456789 for the refund", None, "no cue"),
    ],
)  # fmt: skip
def test_passports(text: str, expected: str | None) -> None:
    assert found(text, "PASSPORT") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("DOB 04/12/1980", "04/12/1980", "DOB"),
        case("D.O.B.: 1980-04-12", "1980-04-12", "D.O.B. ISO"),
        case("date of birth: 12 April 1980", "12 April 1980", "day month year"),
        case("Date of Birth - April 12, 1980", "April 12, 1980", "month day, year"),
        case("born on 4-12-80 in Lagos", "4-12-80", "born on, short year"),
        case("born in March 1980", "March 1980", "born in month year"),
        case("born in 1980", "1980", "born in year"),
        case("Birthdate 12-Apr-1980", "12-Apr-1980", "birthdate"),
        case("born in Chicago", None, "a place, not a date"),
        case("meeting on 04/12/2026", None, "a date without a birth cue"),
    ],
)  # fmt: skip
def test_dates_of_birth(text: str, expected: str | None) -> None:
    assert found(text, "DATE_OF_BIRTH") == ([expected] if expected else [])


def test_identity_documents_are_pseudonymized_by_default() -> None:
    """Licence, passport and DOB: placeholders, restored in the answer."""
    mapping = PseudonymMap()
    text = "Applicant DL# 12345678, passport no. A12345678, DOB 04/12/1980."
    judgement = judge(text, policy=POLICY, mapping=mapping)
    assert judgement.decision == "pseudonymize"
    assert judgement.sanitized_text == (
        "Applicant DL# <US_DRIVER_LICENSE_1>, passport no. <PASSPORT_1>, DOB <DATE_OF_BIRTH_1>."
    )
    assert mapping.restore(judgement.sanitized_text) == text
