"""What words are, for the name rules: the name lexicon (first names, last names, common
English words), known people, and the makes and place words that make a name-shaped span
a thing. Data in `data/`, rebuilt by build_lexicon.py from names-dataset and wordfreq.
"""

from __future__ import annotations

import functools
import gzip
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import regex

DATA_DIR = Path(__file__).parent / "data"

# A word: letters, with apostrophes and hyphens inside ("O'Connor", "al-Rashid").
WORD_RE = regex.compile(r"[^\W\d_](?:[^\W\d_]|['\u2019](?=[^\W\d_])|-(?=[^\W\d_]))*")
_LATIN_NAME = regex.compile(r"\p{Latin}+(?:['\u2019-]\p{Latin}+)*")
# Inside names, never at their end: "van der", "de la", "bin", "Mac Giolla", "Ó" (folded).
PARTICLES = frozenset(
    """
    van von de der den del della dei di da das dos du la le bin ibn bint al el ter ten zu
    y mac mc o ni nic ui
    """.split()  # noqa: SIM905
)
HONORIFICS = frozenset(
    "mr mrs ms mx miss dr prof sir dame madam mme mlle herr frau sra srta".split()  # noqa: SIM905
)
SUFFIXES = frozenset("jr sr ii iii iv phd md esq dds rn cpa mba".split())  # noqa: SIM905
# Makes and companies: a name-shaped span that starts with one, or follows one, is a
# product ("Kia Niro", "Ford Mustang Mach"). PERSONLIKE_BRANDS are people's names too, so
# they do not overrule a strong name ("Mercedes Garcia"); BRANDS always do.
BRANDS = frozenset(
    """
    kia honda toyota chrysler porsche ferrari tesla chevrolet chevy cadillac buick lexus
    subaru mazda nissan hyundai volvo audi bmw jeep rivian polestar fiat maserati
    lamborghini hertz avis dell marriott hyatt jpmorgan deloitte disney boeing walgreens
    kellogg salesforce oracle adobe uber lyft
    """.split()  # noqa: SIM905
)
PERSONLIKE_BRANDS = frozenset("ford lincoln mercedes benz dodge bentley hilton lucid".split())  # noqa: SIM905
# Firms whose whole name is a person's name.
BRAND_NAMES = frozenset(
    {("morgan", "stanley"), ("wells", "fargo"), ("goldman", "sachs"), ("ernst", "young"),
     ("johnson", "johnson"), ("rolls", "royce"), ("ben", "jerry's"), ("marks", "spencer")}
)  # fmt: skip
ALL_BRANDS = BRANDS | PERSONLIKE_BRANDS

# Words after a name-shaped span that make it a place: "Victoria Station", "Lincoln Park".
PLACE_WORDS = frozenset(
    """
    airport station square park garden gardens center centre bridge mall hall stadium
    arena county city street avenue boulevard road lake river beach island valley
    heights hills springs falls harbor harbour port plaza terminal university college
    school hospital hotel district airfield
    """.split()  # noqa: SIM905
)
# ... but these are common surnames too: "Lee Park", "Dana Hall".
SURNAME_PLACE_WORDS = frozenset(
    "park hall hill hills field fields lake bridge bridges port".split()  # noqa: SIM905
)
_WORD_AFTER = regex.compile(r"[ \t]+([^\W\d_]+)")
_WORD_BEFORE = regex.compile(r"([^\W\d_]+)[ \t]+\Z")


def strong_name(text: str, start: int, end: int, lexicon: NameLexicon) -> bool:
    """A listed first name and a listed last name, neither a common word nor a make."""
    words = [fold(m.group()) for m in WORD_RE.finditer(text, start, end)]
    return (
        len(words) >= 2
        and words[0] not in BRANDS
        and words[0] in lexicon.first
        and lexicon.is_last(words[-1])
        and words[0] not in lexicon.common
        and words[-1] not in lexicon.common
    )


def looks_like_thing(text: str, start: int, end: int) -> bool:
    """A name-shaped span that is a product or a place by its neighbours: it starts with
    or follows a brand ("Ford Mustang Mach"), or a place word follows ("Austin Airport")."""
    words = [fold(m.group()) for m in WORD_RE.finditer(text, start, end)]
    if words and (words[0] in ALL_BRANDS or tuple(words[:2]) in BRAND_NAMES):
        return True
    before = _WORD_BEFORE.search(text, max(0, start - 30), start)
    if before is not None and fold(before.group(1)) in ALL_BRANDS and before.group(1)[:1].isupper():
        return True
    last = text[start:end].split()[-1:]
    # "Victoria Station", but not "Lee Park" or "Dana Hall": those are surnames too.
    if (
        last
        and last[0][:1].isupper()
        and fold(last[0]) in PLACE_WORDS
        and fold(last[0]) not in SURNAME_PLACE_WORDS
    ):
        return True
    after = _WORD_AFTER.match(text, end)
    return (
        after is not None and after.group(1)[:1].isupper() and fold(after.group(1)) in PLACE_WORDS
    )


def fold(word: str) -> str:
    """The lexicon's spelling of a word: case-folded, accents removed, U+2019 as '."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.replace("\u2019", "'").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def is_name_word(word: str) -> bool:
    """Latin letters with inner apostrophes or hyphens: what the lexicon keeps."""
    return bool(_LATIN_NAME.fullmatch(word))


@dataclass(frozen=True)
class NameLexicon:
    first: frozenset[str]
    last: frozenset[str]
    common: frozenset[str]

    def is_last(self, folded: str) -> bool:
        if folded in self.last:
            return True
        # "al-rashid", "mensah-bonsu", "o'connor" when only "connor" is listed.
        for separator in "-'":
            if separator in folded:
                parts = [p for p in folded.split(separator) if len(p) > 2]
                if any(p in self.last for p in parts):
                    return True
        return False


def _read_words(name: str) -> frozenset[str]:
    with gzip.open(DATA_DIR / name, "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if not line.startswith("#"))


@functools.cache
def name_lexicon() -> NameLexicon:
    """Loaded once per process (~0.1 s, ~20 MB)."""
    return NameLexicon(
        first=_read_words("first_names.txt.gz"),
        last=_read_words("last_names.txt.gz"),
        common=_read_words("common_words.txt.gz"),
    )


@dataclass(frozen=True)
class NameDirectory:
    """Known people (e.g. the display names of signed-in employees): their full names
    are found in any case, their first and last names count as names."""

    sequences: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    first: frozenset[str] = frozenset()
    last: frozenset[str] = frozenset()

    @classmethod
    def from_names(cls, names: Iterable[str]) -> NameDirectory:
        sequences: dict[str, set[tuple[str, ...]]] = {}
        first: set[str] = set()
        last: set[str] = set()
        for name in names:
            words = [
                fold(m.group()) for m in WORD_RE.finditer(name) if fold(m.group()) not in HONORIFICS
            ]
            words = [w for w in words if w not in SUFFIXES]
            if not words:
                continue
            first.add(words[0])
            if len(words) > 1:
                last.add(words[-1])
                sequences.setdefault(words[0], set()).add(tuple(words))
        return cls(
            sequences={k: tuple(sorted(v, key=len, reverse=True)) for k, v in sequences.items()},
            first=frozenset(first),
            last=frozenset(last),
        )


EMPTY_DIRECTORY = NameDirectory()


def name_parts(value: str, lexicon: NameLexicon) -> list[str]:
    """The words of a found name worth finding alone later ("Olga" of "Olga Petrenko"):
    at least three letters, not a common word, particle, honorific or suffix."""
    parts = []
    for match in WORD_RE.finditer(value):
        folded = fold(match.group())
        if len(folded) < 3 or folded in lexicon.common:
            continue
        if folded in PARTICLES or folded in HONORIFICS or folded in SUFFIXES:
            continue
        parts.append(match.group())
    return parts if len(parts) > 1 else []
