"""Own recognizers for what Presidio misses, does slowly, or cannot know about.

All are regex-based Presidio `PatternRecognizer`s, so they run in the same analysis pass,
take part in context enhancement and de-duplication, and are table-tested in isolation.
Patterns are compiled by Presidio with the `regex` module (variable-length look-behind).

Scores follow Presidio's convention: >= 0.5 means "act on it" under the default policy;
weak shapes score lower and need a context word nearby ("phone", "address"...) to pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# Case matters for most of these shapes (AKIA..., capitalised street names), so the
# default Presidio flags (which include IGNORECASE) are replaced; case-insensitive parts
# are marked inline with (?i:...).
CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE

DEFAULT_COMPANY_ID_PATTERNS: Mapping[str, str] = {
    # Placeholders for the company's real formats, overridden from settings
    # (POLICY_COMPANY_ID_PATTERNS). Anchored with \b so they do not fire inside words.
    "RIDER_ID": r"\bR-[0-9]{8}\b",
    "DRIVER_ID": r"\bD-[0-9]{8}\b",
    "TRIP_ID": r"\bT-[0-9]{10}\b",
}


def luhn_valid(digits: str) -> bool:
    """The payment-card check digit (ISO/IEC 7812): weeds out most random digit runs."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class PrefilteredRecognizer(PatternRecognizer):
    """A pattern recognizer that skips texts without a cheap necessary clue.

    Most of our patterns start with a look-behind for a keyword ("password", "bearer",
    "licence"), which the regex engine tries at every position of every chunk; one
    plain search for the keyword first saves that work on the many texts without it.
    PREFILTER must match wherever any of the patterns can.
    """

    PREFILTER: regex.Pattern[str] | None = None

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if self.PREFILTER is not None and not self.PREFILTER.search(text):
            return []
        return super().analyze(text, entities, nlp_artifacts, regex_flags)


# -- Street addresses ---------------------------------------------------------------------

# USPS Publication 28, appendix C1: street suffixes and their standard abbreviations.
# Presidio has no street-address recognizer at all; the suffix is the strongest signal.
_COMMON_SUFFIXES = """
    Street St Avenue Ave Av Road Rd Boulevard Blvd Lane Ln Drive Dr Court Ct Place Pl
    Terrace Ter Parkway Pkwy Highway Hwy Circle Cir Way Square Sq Trail Trl Plaza Plz
    Alley Aly Expressway Expy Freeway Fwy Turnpike Tpke Crescent Cres
""".split()  # noqa: SIM905 - a word list reads better as text
_OTHER_SUFFIXES = """
    Anex Anx Arcade Arc Bayou Byu Beach Bch Bend Bnd Bluff Blf Bluffs Blfs Bottom Btm
    Branch Br Bridge Brg Brook Brk Brooks Brks Burg Bg Burgs Bgs Bypass Byp Camp Cp
    Canyon Cyn Cape Cpe Causeway Cswy Center Ctr Centers Ctrs Circles Cirs Cliff Clf
    Cliffs Clfs Club Clb Common Cmn Commons Cmns Corner Cor Corners Cors Course Crse
    Courts Cts Cove Cv Coves Cvs Creek Crk Crest Crst Crossing Xing Crossroad Xrd
    Crossroads Xrds Curve Curv Dale Dl Dam Dm Divide Dv Drives Drs Estate Est Estates
    Ests Extension Ext Extensions Exts Fall Falls Fls Ferry Fry Field Fld Fields Flds
    Flat Flt Flats Flts Ford Frd Fords Frds Forest Frst Forge Frg Forges Frgs Fork Frk
    Forks Frks Fort Ft Garden Gdn Gardens Gdns Gateway Gtwy Glen Gln Glens Glns Green
    Grn Greens Grns Grove Grv Groves Grvs Harbor Hbr Harbors Hbrs Haven Hvn Heights Hts
    Hill Hl Hills Hls Hollow Holw Inlet Inlt Island Is Islands Iss Isle Junction Jct
    Junctions Jcts Key Ky Keys Kys Knoll Knl Knolls Knls Lake Lk Lakes Lks Land Landing
    Lndg Light Lgt Lights Lgts Loaf Lf Lock Lck Locks Lcks Lodge Ldg Loop Mall Manor Mnr
    Manors Mnrs Meadow Mdw Meadows Mdws Mews Mill Ml Mills Mls Mission Msn Motorway Mtwy
    Mount Mt Mountain Mtn Mountains Mtns Neck Nck Orchard Orch Oval Overpass Opas Park
    Parks Parkways Pass Passage Psge Path Pike Pine Pne Pines Pnes Plain Pln Plains Plns
    Point Pt Points Pts Port Prt Ports Prts Prairie Pr Radial Radl Ramp Ranch Rnch Rapid
    Rpd Rapids Rpds Rest Rst Ridge Rdg Ridges Rdgs River Riv Roads Rds Route Rte Row Rue
    Run Shoal Shl Shoals Shls Shore Shr Shores Shrs Skyway Skwy Spring Spg Springs Spgs
    Spur Spurs Squares Sqs Station Sta Stravenue Stra Stream Strm Streets Sts Summit Smt
    Throughway Trwy Trace Trce Track Trak Trafficway Trfy Trailer Trlr Tunnel Tunl
    Underpass Upas Union Un Unions Uns Valley Vly Valleys Vlys Via Viaduct Vdct View Vw
    Views Vws Village Vlg Villages Vlgs Ville Vl Vista Vis Walk Walks Wall Ways Well Wl
    Wells Wls
""".split()  # noqa: SIM905 - a word list reads better as text


def _alternation(words: Iterable[str]) -> str:
    # Longest first so "Streets" is preferred over "Street" at the same position.
    return "|".join(sorted(set(words), key=lambda w: (-len(w), w)))


_STREET_NAME_WORD = r"(?:[A-Z][A-Za-z'\u2019.-]*|[0-9]{1,3}(?:st|nd|rd|th))"
_UNIT = (
    r"(?:,?[ ]+(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Bldg|Building|No)\.?[ ]*#?"
    r"[ ]?[0-9A-Z][0-9A-Za-z-]{0,5}\b|,?[ ]+\#[ ]?[0-9][0-9A-Za-z-]{0,5}\b)?"
)
# ", Springfield, IL 62704" or a new line "Springfield, IL 62704": part of the address.
_CITY_STATE_ZIP = (
    r"(?:(?:,[ ]*|[ ]*\n[ ]*)(?:[A-Z][A-Za-z.'-]*[ ]?){1,3},[ ]*[A-Z]{2}[ ]+[0-9]{5}"
    r"(?:-[0-9]{4})?\b)?"
)


def _street_pattern(number: str, suffixes: Iterable[str]) -> str:
    return (
        rf"\b{number}[ ]+(?:{_STREET_NAME_WORD}[ ]+){{1,4}}(?:{_alternation(suffixes)})\b\.?"
        + _UNIT
        + _CITY_STATE_ZIP
    )


class StreetAddressRecognizer(PatternRecognizer):
    """US-style street addresses: "123 Main Street, Apt 4B", "PO Box 12", "PSC 1234, Box 5".

    Why two strengths: "Street"/"Ave"/"Rd" almost always end an address, while the rarer
    USPS suffixes ("Center", "Park", "View") end ordinary phrases too ("3 Data Center"),
    so those need a building number of at least two digits or a context word.
    """

    CONTEXT = [
        "address", "addr", "street", "live", "lives", "located", "ship", "shipping",
        "deliver", "delivery", "pickup", "pick", "drop", "dropoff", "home", "residence",
        "mail", "billing", "apartment",
    ]  # fmt: skip

    def __init__(self) -> None:
        number = r"[0-9]{1,6}(?:-[0-9]{1,4})?[A-Z]?"
        long_number = r"[0-9]{2,6}(?:-[0-9]{1,4})?[A-Z]?"
        short_number = r"[0-9][A-Z]?"
        patterns = [
            Pattern("street, common suffix", _street_pattern(number, _COMMON_SUFFIXES), 0.6),
            Pattern("street, other suffix", _street_pattern(long_number, _OTHER_SUFFIXES), 0.5),
            Pattern(
                "street, other suffix, 1 digit", _street_pattern(short_number, _OTHER_SUFFIXES), 0.3
            ),
            Pattern(
                "PO box",
                r"\b(?i:P\.?[ ]?O\.?[ ]?Box|Post[ ]Office[ ]Box)[ ]+[0-9]{1,6}\b" + _CITY_STATE_ZIP,
                0.6,
            ),
            Pattern(
                "military address",
                r"\b(?:(?:PSC|Unit|CMR)[ ]+[0-9]{3,5},?[ ]+Box[ ]+[0-9]{3,5}"
                r"|(?:USNS|USNV|USS|USCGC)[ ]+[A-Z][a-z]+)"
                r"(?:,?[ ]*\n?[ ]*(?:APO|FPO|DPO)[ ]+A[AEP][ ]+[0-9]{5})?\b",
                0.6,
            ),
        ]
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="StreetAddressRecognizer",
            patterns=patterns,
            context=self.CONTEXT,
            global_regex_flags=CASE_SENSITIVE,
        )


# -- Payment cards ------------------------------------------------------------------------


# Issuer prefixes (IIN ranges) and lengths. Presidio's card regex misses Mastercard
# 2221-2720, 19-digit Visa, 12-digit Maestro and 15-digit JCB; checking prefix + length +
# Luhn on any 12-19 digit run covers them all.
_CARD_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = (
    # Presidio's rule, kept: 13-19 digits starting 3, 4, 5 or 6 (Amex, Diners, JCB, Visa,
    # Mastercard, Discover, Maestro, UnionPay; test generators and some issuers use
    # numbers outside the networks' published ranges, and a Luhn-valid miss is a leak).
    ("3", "6", frozenset(range(13, 20))),
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("2131", "2131", frozenset({15})),  # JCB 15-digit
    ("1800", "1800", frozenset({15})),
    ("50", "50", frozenset({12})),  # Maestro, 12 digits
    ("56", "69", frozenset({12})),
    ("0604", "0604", frozenset(range(12, 20))),  # Maestro UK (legacy range)
)


def card_issuer_matches(digits: str) -> bool:
    # Prefixes of equal length compare correctly as strings ("2221" <= "2500" <= "2720").
    return any(
        len(digits) in lengths and low <= digits[: len(low)] <= high
        for low, high, lengths in _CARD_RANGES
    )


CARD_CONTEXT = "credit card visa mastercard amex maestro cc payment debit charge refund".split()  # noqa: SIM905


class PaymentCardRecognizer(PatternRecognizer):
    """Card numbers by issuer prefix, length and Luhn check digit, with or without
    4-digit grouping. Includes Mastercard's 2221-2720 range.

    A 12-digit number passing the checks is still weak (order numbers are 12 digits too):
    it keeps score 0.3 and counts only with a card word nearby.
    """

    # Groups split by spaces, dashes, dots or a line break (a wrapped paste). Digit
    # boundaries, not word boundaries: "card_4111..." or "<X_4111...>" is still a card.
    _SEP = r"(?:[ .-]|[ ]?\n[ ]?)"
    PATTERN = (
        rf"(?<![0-9]{_SEP}?)(?<![0-9])(?:(?:[0-9]{{4}}{_SEP}){{2,4}}[0-9]{{1,4}}"
        rf"|[0-9]{{4}}{_SEP}[0-9]{{6}}{_SEP}[0-9]{{4,5}})(?![0-9])(?!{_SEP}?[0-9])"
        r"|(?<![0-9])[0-9]{12,19}(?![0-9])"
    )

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name="PaymentCardRecognizer",
            # Every alternative starts with a digit: the look-ahead lets the regex engine
            # skip to digits instead of trying the look-behinds at every position (same
            # matches, ~3 -> ~1 ms per 20 KB).
            patterns=[Pattern("card number", rf"(?=[0-9])(?:{self.PATTERN})", 0.3)],
            context=CARD_CONTEXT,
            global_regex_flags=CASE_SENSITIVE,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        # True lifts the score to 1.0, False drops the match (Presidio convention).
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        if not (12 <= len(digits) <= 19 and card_issuer_matches(digits) and luhn_valid(digits)):
            return False
        return True if len(digits) >= 13 else None


# -- Bank accounts ------------------------------------------------------------------------


class BankAccountRecognizer(PrefilteredRecognizer):
    """A number introduced as a bank account ("account number: 000123456789").

    Presidio's US bank recognizer scores any 8-17 digit run 0.05, at most 0.4 with
    "account"/"check" somewhere near, which blocked phone numbers in support chats
    ("check the account ... number is 3533706997"). An explicit phrase right before the
    digits is the signal that a number is a bank account.
    """

    PREFILTER = regex.compile(r"(?i)acc(?:oun)?t")

    def __init__(self) -> None:
        phrase = (
            r"(?i:\b(?:bank|checking|savings|deposit)[ ]+(?:account|acct)"
            r"(?:[ ]+(?:number|num|no\.?|\#))?"
            r"|\b(?:account|acct)[ ]*(?:number|num|no\.?|\#))"
        )
        super().__init__(
            supported_entity="US_BANK_NUMBER",
            name="BankAccountRecognizer",
            patterns=[
                Pattern(
                    "digits after an account phrase",
                    rf"(?<={phrase}[ \t]*[:#=-]?[ \t]*)[0-9][0-9 -]{{4,20}}[0-9]\b",
                    0.8,
                )
            ],
            global_regex_flags=CASE_SENSITIVE,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = sum(ch.isdigit() for ch in pattern_text)
        return None if 6 <= digits <= 17 else False


# -- Secrets ------------------------------------------------------------------------------

_KEY_VALUE_SEPARATOR = r"""["']?[ \t]*(?:[:=]|=>|:=)[ \t]*["']?"""


class AwsAccessKeyRecognizer(PrefilteredRecognizer):
    """AWS access key ids: a documented 4-letter prefix and 16 more upper-case characters."""

    PREFILTER = regex.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="AWS_ACCESS_KEY",
            name="AwsAccessKeyRecognizer",
            patterns=[
                Pattern(
                    "AWS access key id",
                    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b",
                    0.9,
                )
            ],
            global_regex_flags=CASE_SENSITIVE,
        )


class AwsSecretKeyRecognizer(PrefilteredRecognizer):
    """40-character AWS secret keys: certain after a key name, plausible near "aws"/"secret"."""

    PREFILTER = regex.compile(r"[A-Za-z0-9/+]{40}")

    _VALUE = r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"

    def __init__(self) -> None:
        key_name = (
            r"(?i:aws_?secret_?access_?key|secret_?access_?key|aws_?secret(?:_?key)?"
            r"|secret[ ]access[ ]key)"
        )
        patterns = [
            Pattern(
                "after a key name", rf"(?<={key_name}{_KEY_VALUE_SEPARATOR}){self._VALUE}", 0.9
            ),
            # Mixed case and a digit: not a word, not a hex digest (git SHA-1 is lower-case).
            Pattern(
                "bare 40-char base64",
                r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])"
                rf"(?=[A-Za-z0-9/+]{{0,39}}[0-9]){self._VALUE}",
                0.3,
            ),
        ]
        super().__init__(
            supported_entity="AWS_SECRET_KEY",
            name="AwsSecretKeyRecognizer",
            patterns=patterns,
            context=["aws", "secret", "key", "credential", "credentials"],
            global_regex_flags=CASE_SENSITIVE,
        )


class PrivateKeyRecognizer(PrefilteredRecognizer):
    """PEM/OpenSSH/PGP private key blocks. An unterminated block (a partial paste, or a
    block cut at a chunk boundary) counts up to the end of the text: the header alone is
    enough to know the rest is key material."""

    PREFILTER = regex.compile(r"-----BEGIN")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PRIVATE_KEY",
            name="PrivateKeyRecognizer",
            patterns=[
                Pattern(
                    "private key block",
                    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
                    r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
                    1.0,
                )
            ],
            global_regex_flags=CASE_SENSITIVE,
        )


_TOKEN_CHARS = r"[A-Za-z0-9\-._~+/=]"  # noqa: S105 - a character class, not a password
# A token never ends in sentence punctuation: "api_key=abc123." means "abc123".
_TOKEN_END = r"(?<=[A-Za-z0-9_+/=-])"  # noqa: S105 - a look-behind, not a password


class ApiTokenRecognizer(PrefilteredRecognizer):
    """Bearer tokens, API keys in key=value / JSON / header form, and well-known token formats."""

    PREFILTER = regex.compile(
        r"(?i)bearer|basic|key|token|secret|gh[pousr]_|github_pat|xox|[sr]k_|aiza|sk-|glpat-|npm_|eyj"
    )

    _KEY_NAMES = (
        r"(?i:api[_-]?key|apikey|api[_-]?secret|api[_-]?token|access[_-]?token|auth[_-]?token"
        r"|refresh[_-]?token|id[_-]?token|client[_-]?secret|secret[_-]?key|private[_-]?token"
        r"|session[_-]?token|x-api-key|x-auth-token|token|secret)"
    )

    def __init__(self) -> None:
        patterns = [
            Pattern(
                "bearer token",
                rf"(?<=\b(?i:bearer)[ \t]+){_TOKEN_CHARS}{{16,}}{_TOKEN_END}",
                0.8,
            ),
            Pattern(
                "basic auth header",
                r"(?<=\b(?i:authorization)[ \t]*[:=][ \t]*(?i:basic)[ \t]+)[A-Za-z0-9+/]{8,}=*",
                0.8,
            ),
            Pattern(
                "key=value",
                rf"(?<=(?<![A-Za-z0-9]){self._KEY_NAMES}\b{_KEY_VALUE_SEPARATOR})"
                rf"{_TOKEN_CHARS}{{8,}}{_TOKEN_END}",
                0.7,
            ),
            Pattern(
                "well-known token format",
                r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}"
                r"|xox[abposr]-[A-Za-z0-9-]{10,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
                r"|AIza[0-9A-Za-z_-]{35}|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}"
                r"|glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{36})\b",
                0.9,
            ),
            Pattern(
                "JSON web token",
                r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
                0.9,
            ),
        ]
        super().__init__(
            supported_entity="API_TOKEN",
            name="ApiTokenRecognizer",
            patterns=patterns,
            global_regex_flags=CASE_SENSITIVE,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if looks_like_secret_value(pattern_text) else False


def looks_like_secret_value(value: str) -> bool:
    """Tell a credential from documentation: `api_key=YOUR_API_KEY`, `token=xxxxxxxx`,
    `token: <redacted>` and `token=expired_session` are not secrets; `token=a8f5f167f44f`
    and anything long and irregular are."""
    stripped = value.strip("\"'`.,;")
    if len(stripped) < 8:
        return False
    if set(stripped.lower()) <= set("x*•.-_"):
        return False
    if regex.fullmatch(r"[A-Z][A-Z0-9_]*", stripped) and not regex.search(r"[0-9]{4}", stripped):
        return False  # ALL_CAPS_NAME: an environment variable or a placeholder
    has_digit = any(ch.isdigit() for ch in stripped)
    return has_digit or len(stripped) >= 20


class PasswordRecognizer(PrefilteredRecognizer):
    """The value after password=, "password": "...", "my password is ...", or in a URL."""

    # Exactly the patterns' necessary clue: the key as _KEY spells it (word-bounded), or
    # "://". A looser "pass|pin" let "passenger" and "shipping" through, and then four
    # look-behind patterns ran at every position: ~5 ms per 20 KB of ride-sharing text.
    PREFILTER = regex.compile(
        r"(?i)(?<![A-Za-z0-9])(?:password|passwd|passphrase|pass|pwd|pw|pin)\b|://"
    )
    # Without the key only the URL pattern can match (texts full of links, no password).
    _KEY_CLUE = regex.compile(
        r"(?i)(?<![A-Za-z0-9])(?:password|passwd|passphrase|pass|pwd|pw|pin)\b"
    )

    # Not \b before the key: "DB_PASSWORD=" must count ("_" is a word character).
    _KEY = r"(?i:(?<![A-Za-z0-9])(?:password|passwd|passphrase|pass|pwd|pw|pin)\b)"
    _VALUE = r"""[^\s"'`,;<>]{3,}"""

    def __init__(self, *, url_only: bool = False) -> None:
        # After "=" nobody writes prose, so any value counts; after ":" or "is" prose is
        # common ("password: reset it"), so the value must contain a digit or a symbol.
        secretish = r"""(?=[^\s"'`,;<>]*[0-9!@#$%^&*()_+\-=\[\]{}|\\?/~])"""
        patterns = [
            Pattern(
                "password=value",
                rf"""(?<={self._KEY}["']?[ \t]*(?:=|=>|:=)[ \t]*["']?){self._VALUE}""",
                0.8,
            ),
            Pattern(
                "password: value",
                rf"""(?<={self._KEY}["']?[ \t]*:[ \t]*["']?){secretish}{self._VALUE}""",
                0.8,
            ),
            Pattern(
                "password is value",
                rf"""(?<={self._KEY}[ \t]+(?i:is|was|would be|will be)[ \t]+["']?)"""
                rf"{secretish}{self._VALUE}",
                0.7,
            ),
            Pattern(
                "password in a URL",
                # Up to the last "@" before the host: a password may hold "@" itself.
                r"(?<=\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)[^\s/]+(?=@[A-Za-z0-9.-]+(?:[:/?#]|\s|$))",
                0.8,
            ),
        ]
        super().__init__(
            supported_entity="PASSWORD",
            name="PasswordRecognizer",
            patterns=patterns[-1:] if url_only else patterns,
            global_regex_flags=CASE_SENSITIVE,
        )
        self._url_only: PasswordRecognizer | None = None
        if not url_only:
            self._url_only = PasswordRecognizer(url_only=True)
            # Its findings must carry this recognizer's id: the engine keeps only results
            # of recognizers it asked.
            self._url_only._id = self.id

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if self._url_only is not None and not self._KEY_CLUE.search(text):
            return self._url_only.analyze(text, entities, nlp_artifacts, regex_flags)
        return super().analyze(text, entities, nlp_artifacts, regex_flags)

    def validate_result(self, pattern_text: str) -> bool | None:
        value = pattern_text.strip(".")
        if regex.fullmatch(
            # $DB_PASSWORD or ${db_password} is a template; "$JmU0umi7j8H" is a password.
            r"(?:[xX*•]+|\$[A-Z_][A-Z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\{\{.*\}\}|%\(.*\)s)",
            value,
        ):
            return False  # masked, or a template variable: not a real password
        return None


# -- Phone numbers ------------------------------------------------------------------------


class PhoneShapeRecognizer(PatternRecognizer):
    """Phone numbers by shape, instead of Presidio's phonenumbers-based recognizer.

    (Not named PhoneRecognizer like Presidio's class: Presidio's registry loader finds
    recognizer classes by name among all subclasses, and would build this one with
    Presidio's arguments wherever the default registry is loaded in the same process.)

    Why: Presidio's one is the slowest recognizer by far (it tries every position with
    libphonenumber) and scores most US numbers 0.4, below the threshold. Separators are
    required for the common shapes so that order and ticket numbers stay untouched.
    """

    CONTEXT = [
        "phone", "call", "tel", "telephone", "mobile", "cell", "fax", "number", "contact",
        "text", "sms", "whatsapp", "reach", "ring", "dial",
    ]  # fmt: skip

    def __init__(self) -> None:
        # Each pattern opens with a look-ahead for its first character, so the regex
        # engine skips to candidates instead of trying the look-behinds at every
        # position (same matches; ~3.5 -> ~1.5 ms per 20 KB).
        ext = r"(?:[ ]?(?:x|ext\.?|extension)[ ]?[0-9]{1,6})?"
        patterns = [
            Pattern(
                "NANP with separators",
                r"(?=[0-9(+])(?<![\w+\-.])(?:(?:\+?1|001)[-. ]?)?(?:\([0-9]{3}\)[ ]?|[0-9]{3}[-. ])"
                rf"[0-9]{{3}}[-. ][0-9]{{4}}{ext}\b",
                0.6,
            ),
            # "+44 20 7946 0958", "+44(0)116 4960621", "+441154960200", "+49 (0) 6212 997220"
            Pattern(
                "international with +",
                r"(?=\+)(?<![\w+])\+[1-9][0-9]{0,3}[-. ]?(?:\(0\)[-. ]?)?"
                rf"(?:\(?[0-9]{{1,5}}\)?[-. ]?){{1,5}}[0-9]{ext}\b",
                0.6,
            ),
            # National numbers with a trunk 0 (UK, Germany, France...): "(0116) 4960157",
            # "020 7946 0958", "03681 930364". Bare "01154960930" only with context.
            Pattern(
                "national with trunk 0",
                r"(?=[0(])(?<![\w+\-.])(?:\(0[1-9][0-9]{1,4}\)[ ]?|0[1-9][0-9]{1,4}[-. ])"
                r"[0-9]{2,4}(?:[-. ]?[0-9]{2,4}){1,2}\b(?![-.][0-9])",
                0.5,
            ),
            Pattern("bare 10 digits", r"(?=[0-9])(?<![\w+\-.])[0-9]{10}\b(?![-.][0-9])", 0.3),
            Pattern(
                "bare 11 digits, trunk 0", r"(?=0)(?<![\w+\-.])0[1-9][0-9]{9}\b(?![-.][0-9])", 0.3
            ),
            # A CSV/table field of 10-11 digits in a row that also holds an email address:
            # a contact list, where the column header ("phone") is too far for context.
            Pattern(
                "digits field in a row with an email",
                r"(?=[+0-9])(?<=^|[,;\t|][ ]?)\+?1?[0-9]{10}(?=[ ]?(?:[,;\t|]|$))"
                r"(?:(?<=@[^\n]*)|(?=[^\n]*@))",
                0.6,
            ),
        ]
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="PhoneRecognizer",
            patterns=patterns,
            context=self.CONTEXT,
            global_regex_flags=CASE_SENSITIVE,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = sum(ch.isdigit() for ch in pattern_text.split("x")[0].split("ext")[0])
        return None if 9 <= digits <= 15 else False


# -- Names by position --------------------------------------------------------------------


class LabelledPersonRecognizer(PatternRecognizer):
    """Names in the places forms and emails put them, which the small NER model misses
    more often than in running prose: "Customer: Dana Whitfield", "Dr. Ng",
    "Dana Whitfield <dana@example.com>", a sign-off line "Best regards,\\nDana"."""

    # "Dana", "Dana Whitfield", "Anna W. Cline", "Ian McKay", "O'Neil", "Smith\u2019s",
    # "Rubén Pérez", "Oğurata Demirel": any alphabet's capitals, not only ASCII.
    _WORD = r"(?:\p{Lu}[\p{Ll}'\u2019-]+|\p{Lu}\p{Ll}?\p{Lu}[\p{Ll}'\u2019-]+)"
    _NAME = rf"\p{{Lu}}[\p{{Ll}}'\u2019-]+(?:[ ]\p{{Lu}}\.)?(?:[ ]{_WORD}){{0,2}}"
    _FULL_NAME = rf"\p{{Lu}}[\p{{Ll}}'\u2019-]+(?:[ ]\p{{Lu}}\.)?(?:[ ]{_WORD}){{1,2}}"
    _ROLE_OR_VERB = (
        r"(?i:driver|rider|customer|passenger|agent|manager|supervisor|colleague|employee"
        r"|requester|applicant|cardholder)s?"
        r"|(?i:spoke|speak|speaking|talked|talk|met|chatted|escalated|assigned|forwarded|handed"
        r"|transferred|reassigned|referred)[ ](?i:with|to)"
        r"|(?i:called|emailed|messaged|contacted|texted|paged|cc'?d|cc)"
    )

    def __init__(self) -> None:
        labels = (
            r"(?i:\b(?:full[ ]name|customer[ ]name|first[ ]name|last[ ]name|name|customer"
            r"|rider|driver|passenger|requester|reporter|cardholder|account[ ]holder"
            r"|contact[ ]person|employee))"
        )
        full_name = self._FULL_NAME
        patterns = [
            Pattern("after a field label", rf"(?<={labels}[ \t]*:[ \t]*){self._NAME}\b", 0.6),
            # Two or more capitalised words right after a role or a contact verb: "the
            # driver, Crystal Gentry,", "spoke with Leroy Nolan", "escalated to Bo Park".
            Pattern(
                "full name after a role or contact verb",
                rf"(?<=\b(?:{self._ROLE_OR_VERB}),?[ ]){full_name}\b",
                0.6,
            ),
            # A chat paste: "[10:46] Micheal Sanchez: hey".
            Pattern(
                "chat speaker",
                r"(?<=^[ \t]*\[?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:[ ]?[AaPp][Mm])?\]?[ \t]+)"
                rf"{self._NAME}(?=:)",
                0.6,
            ),
            # A table or CSV row whose other fields hold an email: the name field.
            Pattern(
                "name field in a row with an email",
                rf"(?<=^|[,;\t|][ ]?){full_name}(?=[ ]?[,;\t|])(?=[^\n]*@)",
                0.6,
            ),
            Pattern(
                "after a title",
                rf"(?<=\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof)\.?[ ]){self._NAME}\b",
                0.6,
            ),
            Pattern("before an email in brackets", rf"\b{self._NAME}(?=[ ]?<[^\s<>@]+@)", 0.6),
            Pattern(
                "after a sign-off",
                r"(?<=^[ \t]*(?i:best|kind|warm)?[ ]?(?i:regards|thanks|thank you|cheers|sincerely"
                rf"|best)[ \t]*,?[ \t]*\n[ \t]*){self._NAME}[ \t]*$",
                0.6,
            ),
        ]
        super().__init__(
            supported_entity="PERSON",
            name="LabelledPersonRecognizer",
            patterns=patterns,
            global_regex_flags=CASE_SENSITIVE,
        )


# -- Company identifiers ------------------------------------------------------------------


def company_id_recognizers(patterns: Mapping[str, str]) -> list[PatternRecognizer]:
    """One recognizer per configured id type. Patterns are company formats, so a match
    is near-certain (0.85) and case-sensitive unless the pattern says (?i)."""
    recognizers = []
    for entity_type, pattern in patterns.items():
        regex.compile(pattern)  # fail at start-up with the bad pattern, not mid-request
        recognizers.append(
            PatternRecognizer(
                supported_entity=entity_type,
                name=f"CompanyId_{entity_type}",
                patterns=[Pattern(entity_type, pattern, 0.85)],
                global_regex_flags=CASE_SENSITIVE,
            )
        )
    return recognizers


def own_recognizers(company_id_patterns: Mapping[str, str]) -> list[PatternRecognizer]:
    return [
        StreetAddressRecognizer(),
        PaymentCardRecognizer(),
        BankAccountRecognizer(),
        AwsAccessKeyRecognizer(),
        AwsSecretKeyRecognizer(),
        PrivateKeyRecognizer(),
        ApiTokenRecognizer(),
        PasswordRecognizer(),
        PhoneShapeRecognizer(),
        LabelledPersonRecognizer(),
        *company_id_recognizers(company_id_patterns),
    ]
