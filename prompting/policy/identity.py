"""Identity documents: US driver's licences, passports, dates of birth.

Each shape alone means nothing (an 8-digit licence is an 8-digit order number, a date
is a date), so each needs its cue right before it: "DL#", "passport no.", "DOB". The
cues are the many ways people write them; the values are the formats of the larger US
states (AAMVA's published formats) and of common passports.

Patterns read forward, cue first, and regex's `\\K` drops the cue from the reported match: a
variable-length look-behind would be tried at every position of every chunk (it made
the passport and birth-date recognizers 4-5 ms per 2 KB; forward, well under 1 ms).
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern

from .recognizers import CASE_SENSITIVE, PrefilteredRecognizer

# Between a cue and its value: "DL: ", "DL# ", "licence no. ", "number is ", "(CA) ",
# "- NY ", a state code before the value.
_SEPARATOR = (
    r"[ \t]*\.?[ \t]*(?:[:#=|\-\u2013][ \t]*)?(?:(?i:is|was)[ \t]+)?#?[ \t]*(?:\n[ \t]*)?"
    r"(?:\(?[A-Z]{2}\)?[ \t]*[:\-]?[ \t]+)?"
)
_NUMBER_WORD = r"(?:number|num|no\.?|nr\.?|\#|id)"

# -- Driver's licences ---------------------------------------------------------------------

_LICENCE_CUE = (
    r"(?i:\b(?:driver'?s?|drivers'|driving|operator'?s?|commercial[ \t]+driver'?s?)[ \t]+"
    rf"licen[cs]e(?:[ \t]+{_NUMBER_WORD})?"
    rf"|\blicen[cs]e(?:[ \t]+{_NUMBER_WORD})?"
    rf"|\blic\.?[ \t]*{_NUMBER_WORD}|\bdln?[ \t]*\#|\bdln\b)"
    # DL, DLN, DL#, CDL, D.L. (upper case: "dl" is also "download")
    rf"|\b(?:C?DLN?|D\.L\.(?:N\.?)?)(?:[ \t]*{_NUMBER_WORD})?"
)
# The larger states' formats (CA A1234567, TX/PA 8 digits, NY/GA 9 digits, FL A123456789012,
# IL A12345678901, OH AB123456, NJ A12345678901234, WA WDL + 9), written with or without
# the dashes and spaces states print: FL F123-456-78-901-0, IL S123-4567-8901, NY 123 456 789.
_LICENCE_VALUE = (
    r"(?:[A-Za-z]{1,3}[0-9]{5,14}"
    r"|[0-9]{7,12}"
    r"|[A-Za-z][0-9]{3}[- ][0-9]{3,4}[- ][0-9]{2,4}(?:[- ][0-9]{2,3}(?:[- ][0-9])?)?"
    r"|[0-9]{3}[- ][0-9]{3}[- ][0-9]{3}"
    r"|WDL[A-Z0-9]{9}"
    r"|[A-Z0-9]{4,6}[A-Z][0-9]{2}[A-Z0-9]{2,4})"
    r"\b(?![-/.][0-9])"
)


class UsDriverLicenseRecognizer(PrefilteredRecognizer):
    """A licence number right after a licence cue. "licence plate" is no cue: the plate
    word stands between the cue and the value, so nothing matches."""

    PREFILTER = regex.compile(r"(?i)licen[cs]e|\blic\b|lic\.|DL|D\.L")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="US_DRIVER_LICENSE",
            name="UsDriverLicenseRecognizer",
            patterns=[
                Pattern(
                    "licence number after a licence cue",
                    rf"(?:{_LICENCE_CUE}){_SEPARATOR}\K{_LICENCE_VALUE}",
                    0.7,
                )
            ],
            global_regex_flags=CASE_SENSITIVE,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        # Washington's WDL numbers may be all letters after the prefix.
        digits = sum(ch.isdigit() for ch in pattern_text)
        return None if digits >= 4 or pattern_text.startswith("WDL") else False


# -- Passports -----------------------------------------------------------------------------

_PASSPORT_CUE = (
    rf"(?i:\bpassport(?:[ \t]+{_NUMBER_WORD})?|\bpass(?:port)?[ \t]*no\.?|\bPPN?[ \t]*\#)"
)
# US 9 digits or a letter + 8 digits; UK 9 digits; CA AB123456; DE C01X00T47; FR 12AB34567;
# IN A1234567; CN E12345678; ES AAA123456; IT YA1234567; MX G12345678; JP TK1234567.
# At least one digit: German numbers ("CHTVHJY1P") can be nearly all letters.
_PASSPORT_VALUE = r"(?=[A-Z]*[0-9])[A-Z0-9]{6,10}\b(?![-/.][0-9])"


class PassportRecognizer(PrefilteredRecognizer):
    PREFILTER = regex.compile(r"(?i)pass|PP")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PASSPORT",
            name="PassportRecognizer",
            patterns=[
                Pattern(
                    "passport number after a passport cue",
                    rf"(?:{_PASSPORT_CUE})(?:[ \t]*\([A-Za-z .]{{2,20}}\))?{_SEPARATOR}"
                    rf"\K(?i:{_PASSPORT_VALUE})",
                    0.7,
                )
            ],
            global_regex_flags=CASE_SENSITIVE,
        )


# -- Dates of birth ------------------------------------------------------------------------

_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"[0-3]?[0-9](?i:st|nd|rd|th)?"
_YEAR = r"(?:1[89][0-9]{2}|20[0-9]{2})"
_DATE = (
    r"(?:[0-3]?[0-9][/.\-][0-3]?[0-9][/.\-](?:[0-9]{4}|[0-9]{2})"  # 04/12/1980, 4-12-80
    rf"|{_YEAR}[/.\-][01]?[0-9][/.\-][0-3]?[0-9]"  # 1980-04-12
    rf"|{_DAY}[ \t]+(?i:of[ \t]+)?{_MONTH},?[ \t]+{_YEAR}"  # 12 April 1980
    rf"|{_MONTH}[ \t]+{_DAY},?[ \t]+{_YEAR}"  # April 12, 1980
    rf"|{_DAY}[/.\-]{_MONTH}[/.\-](?:{_YEAR}|[0-9]{{2}})"  # 12-Apr-1980
    rf"|{_MONTH}[ \t]+{_YEAR})"  # (born in) March 1980
    r"(?![0-9])"
)
_DOB_CUE = (
    r"(?i:\bD\.?O\.?B\b\.?|\bdate[ \t]+of[ \t]+birth|\bbirth[ \t]?date|\bbirthday"
    r"|\bborn(?:[ \t]+(?:on|in))?|\bb\.[ \t]?(?=[0-9]))"
)


class DateOfBirthRecognizer(PrefilteredRecognizer):
    """A date right after a birth cue: "DOB 04/12/1980", "born on 12 April 1980", "born in
    1980". Dates elsewhere stay dates (DATE_TIME, allowed by default)."""

    PREFILTER = regex.compile(r"(?i)D\.?O\.?B|birth|born|\bb\.")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="DATE_OF_BIRTH",
            name="DateOfBirthRecognizer",
            patterns=[
                Pattern("date after a birth cue", rf"{_DOB_CUE}{_SEPARATOR}\K{_DATE}", 0.75),
                Pattern(
                    "year after 'born in'",
                    rf"(?i:\bborn[ \t]+in)[ \t]+\K{_YEAR}\b(?![/.\-][0-9])",
                    0.6,
                ),
            ],
            global_regex_flags=CASE_SENSITIVE,
        )


def identity_recognizers() -> list[PrefilteredRecognizer]:
    return [UsDriverLicenseRecognizer(), PassportRecognizer(), DateOfBirthRecognizer()]
