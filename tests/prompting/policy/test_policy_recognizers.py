"""Own recognizers, one table per recognizer: what must be found, what must not.

Each case runs through the real analyzer (all recognizers, context enhancement, the
default policy's minimum score), so a pattern that only fires below the threshold fails.
"""

# ruff: noqa: E501 - tables and text templates read better one row per line

from __future__ import annotations

import pytest

from prompting.policy import get_analyzer
from prompting.policy.recognizers import luhn_valid
from prompting.policy.rules import DEFAULT_RULES


def found(text: str, entity_type: str) -> list[str]:
    """Values of `entity_type` that the default policy would act on."""
    analyzer = get_analyzer()
    min_score = DEFAULT_RULES[entity_type].min_score
    return [
        text[d.start : d.end]
        for d in analyzer.detect(text, [entity_type])
        if d.entity_type == entity_type and d.score >= min_score
    ]


def case(*values: object) -> object:
    """A table row: the values, then the row's name."""
    return pytest.param(*values[:-1], id=str(values[-1]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Pick me up at 123 Main Street please", "123 Main Street", "main street"),
        case("Ship to 4521 Jennifer Via Apt. 948, Lake Amy, CO 12345 asap",
             "4521 Jennifer Via Apt. 948, Lake Amy, CO 12345", "rare suffix, unit, city line"),
        case("I live at 77 W. Oak Ave, Apt 4B.", "77 W. Oak Ave, Apt 4B", "abbreviation and unit"),
        case("Address: 90210 Ocean Blvd Suite 200\nSanta Monica, CA 90401",
             "90210 Ocean Blvd Suite 200\nSanta Monica, CA 90401", "city on next line"),
        case("send it to PO Box 1234, thanks", "PO Box 1234", "po box"),
        case("Rider lives at 12 5th Avenue", "12 5th Avenue", "ordinal street name"),
        case("We run 3 Data Center sites in Ohio", None, "one-digit number, rare suffix"),
        case("Revenue grew 15 Percent this year", None, "not a street suffix"),
        case("the meeting is at 10 am in room 4", None, "no street at all"),
    ],
)  # fmt: skip
def test_street_address(text: str, expected: str | None) -> None:
    """US-style street addresses are found with their unit and city line; numbers
    followed by ordinary capitalised words are not."""
    assert found(text, "STREET_ADDRESS") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("card 2221 0012 3412 3456 exp 12/29", None, "2-series, bad Luhn"),
        case("card 2221 0000 0000 0009 exp 12/29", "2221 0000 0000 0009", "2-series, spaces"),
        case("card 2720-9900-0000-0007", "2720-9900-0000-0007", "2-series upper bound, dashes"),
        case("mc 2223000048400011", "2223000048400011", "2-series, no separators"),
        case("number 2721 0000 0000 0007", None, "just above the range"),
        case("visa 4111 1111 1111 1111", "4111 1111 1111 1111", "Presidio's own still works"),
        case("visa19 4532015112830366872", "4532015112830366872", "19-digit Visa"),
        case("amex 3782 822463 10005", "3782 822463 10005", "Amex 4-6-5 grouping"),
        case("jcb 213117464860167", "213117464860167", "15-digit JCB"),
        case("maestro card 060474609694", "060474609694", "12-digit Maestro with a card word"),
        case("order 060474609694 shipped", None, "12 digits without a card word"),
        case("ref 4111 1111 1111 1112", None, "Visa prefix, bad Luhn"),
    ],
)
def test_credit_card_including_mastercard_2_series(text: str, expected: str | None) -> None:
    """Cards by issuer prefix, length and Luhn digit, incl. Mastercard 2221-2720, 19-digit
    Visa and 15-digit JCB that Presidio's regex misses."""
    assert found(text, "CREDIT_CARD") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("12a4", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    """The Luhn check accepts correct check digits only."""
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Driver's license: D1234567 (CA)", "D1234567", "CA format after phrase"),
        case("DL# 123456789", "123456789", "DL#"),
        case(
            "drivers licence number NY 123 456 789",
            "123 456 789",
            "NY format with spaces, state code",
        ),
        case("License No: F123-456-78-901-0", "F123-456-78-901-0", "FL format"),
        case("driver license WDLABC12345D", "WDLABC12345D", "WA alphanumeric"),
        case("Order D1234567 shipped", None, "same shape, no licence phrase"),
        case("driver's license: pending", None, "phrase without number"),
    ],
)
def test_us_driver_license(text: str, expected: str | None) -> None:
    """Licence numbers count only right after a licence phrase."""
    assert found(text, "US_DRIVER_LICENSE") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "access key id"),
        case("temp creds ASIAY34FZKBOKMUTVV7A here", "ASIAY34FZKBOKMUTVV7A", "session key id"),
        case("AKIA is the prefix of AWS keys", None, "prefix alone"),
    ],
)
def test_aws_access_key(text: str, expected: str | None) -> None:
    """AWS access key ids are found by their documented prefix and length."""
    assert found(text, "AWS_ACCESS_KEY") == ([expected] if expected else [])


SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case(f"aws_secret_access_key = {SECRET}", SECRET, "after the key name"),
        case(f'"SecretAccessKey": "{SECRET}"', SECRET, "JSON"),
        case(f"here is the aws secret {SECRET}", SECRET, "bare, with context"),
        case(f"build {SECRET} done", None, "bare, no context"),
        case("commit 3f786850e387550fdab836ed7e6dc881de23001b in aws repo", None, "git sha"),
    ],
)
def test_aws_secret_key(text: str, expected: str | None) -> None:
    """40-character secret keys need a key name or an AWS/secret word nearby."""
    assert found(text, "AWS_SECRET_KEY") == ([expected] if expected else [])


KEY_BLOCK = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc+/=\n-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case(f"my key:\n{KEY_BLOCK}\nthanks", KEY_BLOCK, "RSA block"),
        case("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n",
             "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n", "unterminated block"),
        case("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", None, "public key"),
    ],
)  # fmt: skip
def test_private_key(text: str, expected: str | None) -> None:
    """Private key blocks are found whole, even without their END line; public keys are not."""
    assert found(text, "PRIVATE_KEY") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abcdEF12", "eyJhbGciOiJIUzI1NiJ9abcdEF12", "bearer"),
        case("api_key=a8f5f167f44f4964e6c998dee827110c.", "a8f5f167f44f4964e6c998dee827110c", "key=value, trailing dot"),
        case('{"client_secret": "s3cr3t-VALUE-123456"}', "s3cr3t-VALUE-123456", "JSON"),
        case("token: ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "github"),
        case("use sk_live_4eC39HqLyjWDarjtT1zdp7dc for prod", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe"),
        case("api_key=YOUR_API_KEY", None, "placeholder"),
        case("token=xxxxxxxxxxxx", None, "masked"),
        case("the bearer of bad news", None, "prose"),
        case("token: expired yesterday", None, "prose after colon"),
    ],
)  # fmt: skip
def test_api_token(text: str, expected: str | None) -> None:
    """Tokens in headers, key=value and well-known formats; not placeholders or prose."""
    assert found(text, "API_TOKEN") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("password=hunter2", "hunter2", "key=value"),
        case('DB_PASSWORD="$&iuBUOw68^5VMtq"', "$&iuBUOw68^5VMtq", "env variable name"),
        case('"password": "Tr0ub4dor&3"', "Tr0ub4dor&3", "JSON"),
        case("my password is Summer2024!", "Summer2024!", "in a sentence"),
        case("Password: P@ss w0rd", "P@ss", "colon, first word"),
        case("postgres://app:s3cret@db.internal:5432/app", "s3cret", "in a URL"),
        case("postgres://app:@WNwN%5E@db.internal:5432/app", "@WNwN%5E", "in a URL, with an @"),
        case(
            "postgres://app:$JmU0umi7j8H@db.internal/app",
            "$JmU0umi7j8H",
            "in a URL, starting with $",
        ),
        case("password=$DB_PASSWORD", None, "shell variable"),
        case("Please reset your password: it expired", None, "prose after colon"),
        case("password=********", None, "masked"),
        case("password=${DB_PASSWORD}", None, "template variable"),
    ],
)
def test_password(text: str, expected: str | None) -> None:
    """Password values in key=value, JSON, prose and URLs; not masks or variables."""
    assert found(text, "PASSWORD") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("call me at (415) 555-0132 tomorrow", "(415) 555-0132", "parentheses"),
        case("cell 415.555.0132", "415.555.0132", "dots"),
        case("+1-415-555-0132x1234 is the desk", "+1-415-555-0132x1234", "+1 and extension"),
        case("001-415-555-0132", "001-415-555-0132", "001 prefix"),
        case("UK office +44 20 7946 0958", "+44 20 7946 0958", "international"),
        case("ring +44(0)1154960997 later", "+44(0)1154960997", "trunk zero in brackets"),
        case("ring +441154960200 later", "+441154960200", "E.164 without separators"),
        case("Leicester desk (0116) 4960157", "(0116) 4960157", "national, bracketed area code"),
        case("Berlin: 03681 930364", "03681 930364", "national with trunk 0"),
        case("call 01154960930 now", "01154960930", "bare national, with context"),
        case("ref 01154960930 closed", None, "bare national, no context"),
        case("phone 4155550132", "4155550132", "bare digits with context"),
        case("order 4155550132 shipped", None, "bare digits, no context"),
        case("released on 2026-11-27", None, "ISO date"),
        case("version 1.2.3 at 10:30", None, "version and time"),
    ],
)
def test_phone_number(text: str, expected: str | None) -> None:
    """Phone numbers by shape; bare digit runs only with a phone word nearby."""
    assert found(text, "PHONE_NUMBER") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Customer: Dana Whitfield\nIssue: lost phone", "Dana Whitfield", "field label"),
        case("Dr. Okafor will call", "Okafor", "title"),
        case("From: Lee Park <lee.park@example.com>", "Lee Park", "before email"),
        case("Best regards,\nMarisol\n", "Marisol", "sign-off"),
        case("Escalated to Troy Davenport in Trust & Safety", "Troy Davenport", "contact verb"),
        case("the driver, Crystal Gentry, took a longer route", "Crystal Gentry", "role word"),
        case("[10:46:34] Micheal Sanchez: hey", "Micheal Sanchez", "chat speaker"),
        case("name,email\nWilliam Brown,wb@example.com", "William Brown", "CSV row with email"),
    ],
)
def test_labelled_person(text: str, expected: str) -> None:
    """Names in form fields, after titles, before emails and under sign-offs."""
    assert expected in found(text, "PERSON")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("bank account number: 000123456789", "000123456789", "bank account number"),
        case("Acct # 12-3456-78", "12-3456-78", "acct #"),
        case(
            "check the account of Dana; number is 3533706997", None, "account words, not a phrase"
        ),
        case("order number 12345678", None, "not an account"),
    ],
)
def test_bank_account(text: str, expected: str | None) -> None:
    """Bank account numbers need an account phrase right before them."""
    assert found(text, "US_BANK_NUMBER") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case(
            "name,email,phone\nDana Lee,dl@example.com,6156404868", "6156404868", "CSV with email"
        ),
        case("id,amount\n17,6156404868", None, "CSV without email"),
    ],
)
def test_phone_field_in_contact_rows(text: str, expected: str | None) -> None:
    """A bare 10-digit field counts as a phone in a row that also holds an email."""
    assert found(text, "PHONE_NUMBER") == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "entity_type", "expected"),
    [
        case("rider R-12345678 complained", "RIDER_ID", "R-12345678", "rider"),
        case("driver D-87654321 was late", "DRIVER_ID", "D-87654321", "driver"),
        case("trip T-0123456789 refunded", "TRIP_ID", "T-0123456789", "trip"),
        case("error R-1234 in module", "RIDER_ID", None, "too short"),
        case("XR-12345678", "RIDER_ID", None, "inside a word"),
    ],
)
def test_company_ids_default_patterns(text: str, entity_type: str, expected: str | None) -> None:
    """Company ids follow the configured patterns (placeholders by default)."""
    assert found(text, entity_type) == ([expected] if expected else [])


def test_company_id_patterns_come_from_configuration() -> None:
    """The caller's patterns replace the defaults, e.g. from Django settings."""
    analyzer = get_analyzer({"RIDER_ID": r"\bRDR[0-9]{6}\b"})
    detections = analyzer.detect("rider RDR123456 and R-12345678", ["RIDER_ID"])
    assert [d.start for d in detections] == [6]
