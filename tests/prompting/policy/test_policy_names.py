"""Names where text is messy: any case, many languages, particles, wrapped lines, first
names in person context, known people; spans without honorifics, verbs or suffixes."""

# ruff: noqa: E501 - tables read better one row per line

from __future__ import annotations

import pytest

from prompting.policy import NameDirectory, PseudonymMap, default_policy, judge
from prompting.policy.lexicon import name_lexicon
from prompting.policy.names import find_names, truecase

POLICY = default_policy()


def sent(text: str, known_names: NameDirectory | tuple[str, ...] = ()) -> str:
    judgement = judge(text, policy=POLICY, mapping=PseudonymMap(), known_names=known_names)
    assert judgement.sanitized_text is not None
    return judgement.sanitized_text


def case(*values: object) -> object:
    return pytest.param(*values[:-1], id=str(values[-1]))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        case("mtg w/ olga petrenko tmrw", ["olga petrenko"], "lower case"),
        case("CUSTOMER OLGA PETRENKO CALLED", ["OLGA PETRENKO"], "all caps"),
        case("Kenji\nWatanabe called about the refund", ["Kenji", "Watanabe"], "wrapped line"),
        case("Refund approved for Kenji Wata-\nnabe today", ["Kenji", "Wata-\nnabe"], "PDF hyphenation"),
        case("met maría de la cruz at the airport", ["maría de la cruz"], "particles, accents, lower case"),
        case("Ticket from Daan van der Veen about a fare", ["Daan", "Veen"], "van der"),
        case("Seán O'Brien and Omar al-Farsi shared a ride", ["Seán O'Brien", "Omar al-Farsi"], "apostrophe and al-"),
        case("Call Olga tomorrow", ["Olga"], "first name after a contact verb"),
        case("hi kenji, can you check the fare?", ["kenji"], "greeting, lower case"),
        case("olga said the driver was late", ["olga"], "first name before a speech verb"),
        case("please ask Priya about the payout", ["Priya"], "ask"),
        case("spoke with ngozi yesterday", ["ngozi"], "spoke with"),
        case("Remind O'Connor about the trip", ["O'Connor"], "last name after a verb"),
        case("Dr. Okafor approved it; mr smith did not", ["Okafor", "smith"], "honorifics"),
        case("Signed: Dana Lee, MD", ["Dana Lee"], "suffix"),
        case("zhang wei reported a lost phone", ["zhang wei"], "Chinese name, lower case"),
        case("Joāo Gonçalves Ferreira needs a receipt", ["Gonçalves Ferreira"], "Portuguese"),
    ],
)  # fmt: skip
def test_names_in_messy_text_are_replaced(text: str, names: list[str]) -> None:
    """Every name (or part) listed is gone from what would be sent."""
    out = sent(text)
    for name in names:
        assert name not in out, out
    assert "<PERSON_1>" in out


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        case("Remind O'Connor about the trip", "Remind <PERSON_1>", "verb stays outside"),
        case("Dr. Okafor approved it", "Dr. <PERSON_1>", "honorific stays outside"),
        case("Signed: Dana Lee, MD", "<PERSON_1>, MD", "suffix stays outside"),
        case("Call Olga tomorrow", "Call <PERSON_1> tomorrow", "contact verb stays outside"),
    ],
)  # fmt: skip
def test_spans_leave_verbs_honorifics_and_suffixes_out(text: str, kept: str) -> None:
    """The placeholder replaces the name only, consistently."""
    assert kept in sent(text)


@pytest.mark.parametrize(
    "text",
    [
        "The Lincoln Navigator and the Ford F-150 sold best in Austin.",
        "Salesforce renewed the contract; Mercedes-Benz fleet pricing is next.",
        "will you mark the ticket as done and grant access to the rider?",
        "Call the rider back and ask legal about the refund policy.",
        "Hi team, thanks for the update on surge pricing in Denver.",
        "the driver said the fare was wrong, can you check the trip?",
    ],
)
def test_business_text_with_name_like_words_is_not_altered(text: str) -> None:
    """Products, places, companies and lower-case prose stay as written."""
    assert sent(text) == text


def test_known_people_are_found_in_any_case() -> None:
    """A directory of employees' display names catches them where nothing else would."""
    directory = NameDirectory.from_names(["Xiomara Quispe-Tupa", "Bo Li"])
    out = sent("loop in xiomara quispe-tupa and bo li on the payout", known_names=directory)
    assert "xiomara" not in out and "bo li" not in out
    assert sent("loop in xiomara quispe-tupa", known_names=("Xiomara Quispe-Tupa",)) == (
        "loop in <PERSON_1>"
    )


def test_a_first_name_found_alone_later_shares_the_full_names_placeholder() -> None:
    """ "Olga Petrenko" then "Olga": one person, one placeholder, in later turns too."""
    mapping = PseudonymMap()
    first = judge("Customer: Olga Petrenko", policy=POLICY, mapping=mapping)
    later = judge("Petrenko wants a refund, Olga is upset", policy=POLICY, mapping=mapping)
    assert first.sanitized_text == "Customer: <PERSON_1>"
    assert later.sanitized_text == "<PERSON_1> wants a refund, <PERSON_1> is upset"
    assert mapping.restore("<PERSON_1>") == "Olga Petrenko"


def test_truecase_keeps_length_and_only_changes_name_words() -> None:
    """NER reads a copy with names capitalised; offsets stay valid."""
    text = "mtg w/ olga petrenko about the fare"
    cased = truecase(text, lexicon=name_lexicon())
    assert cased == "mtg w/ Olga Petrenko about the fare"
    assert len(cased) == len(text)


def test_find_names_respects_ner_saying_it_is_a_company() -> None:
    """A capitalised pair that NER calls an ORG as a whole is a brand, not a person."""
    text = "Lincoln Ford dealership"
    assert find_names(text, lexicon=name_lexicon(), entities=[(0, 12, "ORG")]) == []
