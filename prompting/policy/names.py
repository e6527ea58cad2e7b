"""Names where the small NER model misses them: any letter case, many languages, particles
and hyphens, wrapped lines; first names alone where the context is a person; the people
the tool knows.

Three cheap tools, all linear in words:
- a lexicon of first and last names from `names-dataset` (105 countries, in `data/`,
  rebuilt by build_lexicon.py) and of common English words, which a name alone must
  not be ("will", "mark", "brown"), so lower-case prose stays prose;
- `find_names`: rules over words: a first name followed by a last name in any case
  (with middle names, initials and particles: "maría de la cruz", "Kenji\\nWatanabe"),
  a first or last name after a person cue ("call olga", "Remind O'Connor", "hi kenji,")
  or before one ("olga said"), after an honorific ("dr. okafor"), and known people;
- `truecase`: a copy of the text with lower-case or all-caps name words capitalised, of
  the same length, so spaCy's NER (which relies on capitals) sees "Olga Petrenko".

Honorifics and verbs stay outside a span, suffixes (Jr., PhD) too: "Remind O'Connor" is
"O'Connor", "Dr. Ng" is "Ng", "Dana Lee, MD" is "Dana Lee".
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import regex
from spacy.lang.en.stop_words import STOP_WORDS

from .lexicon import (
    EMPTY_DIRECTORY,
    HONORIFICS,
    PARTICLES,
    WORD_RE,
    NameDirectory,
    NameLexicon,
    fold,
    looks_like_thing,
    strong_name,
)

# Between the words of one name: spaces, or one line break (a wrapped PDF line).
_NAME_GAP = regex.compile(r"[ \t]{1,3}|[ \t]*\n[ \t]*|\.[ \t]{1,3}|\.[ \t]*\n[ \t]*")
# Between a cue and a name: "hi olga", "hi, olga", "w/ olga", "cc: olga".
_CUE_GAP = regex.compile(r"[ \t]{1,3}|,[ \t]{1,3}|[,:/][ \t]?|[ \t]*\n[ \t]*")

# Field labels and phrases right before a name in forms and notes, in any letter case:
# "customer: conan criomhthain", "account of apollo mendes", "onboarding - okgüçlü bilgin".
LABELS = frozenset(
    """
    customer rider driver passenger requester reporter name cardholder holder employee
    applicant witness contact from onboarding guest member user
    """.split()  # noqa: SIM905
)
_LABEL_GAP = regex.compile(r"[ \t]*[:\-\u2013][ \t]*")
LABEL_PHRASES = frozenset({("account", "of"), ("taken", "from"), ("holder",), ("named",)})
# Words right before a name alone that make it a person: greetings and contact verbs.
CUES_BEFORE = frozenset(
    """
    hi hello hey dear thanks thx ty cheers bye call called calling phone phoned ring rang
    email emailed emailing mail mailed text texted texting ping pinged message messaged dm
    ask asked tell told remind reminded cc bcc meet invite invited thank page paged
    contact contacted notify notified inform informed pay paid per attn
    """.split()  # noqa: SIM905
)
# "spoke with X", "talk to X", "mtg w/ X": a verb, then one of these.
CUE_PREPOSITIONS = frozenset({"with", "to", "w"})
CUE_VERBS = frozenset(
    """
    spoke speak speaking talked talk talking chatted chat met meet meeting mtg call check
    checked sync synced catch escalated escalate forwarded forward out up sent send gave
    give handed hand reply replied write wrote passed pass assigned assign transferred
    transfer introduced introduce lunch coffee onboarding interview
    """.split()  # noqa: SIM905
)
# Words right after a name alone that make it a person: "olga said".
CUES_AFTER = frozenset(
    """
    said says told asked wrote writes mentioned replied called emailed texted messaged
    pinged reported confirmed thinks wants needs agreed complained explained claims
    claimed added noted responded answered
    """.split()  # noqa: SIM905
)
# Capitalised at a sentence start, these are the cue, not a given name: "Call Olga".
_NOT_GIVEN = CUES_BEFORE | CUE_VERBS | HONORIFICS | CUES_AFTER | frozenset(STOP_WORDS)

# NER labels that say "a thing or a place", not a person ("Mercedes Benz", "Lincoln Park").
_NOT_PERSON_LABELS = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "NORP", "EVENT", "LAW"})


@dataclass(frozen=True)
class NameMatch:
    start: int
    end: int
    score: float
    recognizer: str


class NameWords:
    """The words of a text with their folded form and letter case, computed once and
    shared by `truecase` and `find_names` (the analyzer passes one per chunk)."""

    def __init__(self, text: str, lexicon: NameLexicon, directory: NameDirectory) -> None:
        self.text = text
        self.lexicon = lexicon
        self.directory = directory
        self.spans = [(m.start(), m.end()) for m in WORD_RE.finditer(text)]
        self.folded = [fold(text[s:e]) for s, e in self.spans]
        self.cases = [self._case(s, e) for s, e in self.spans]

    def __len__(self) -> int:
        return len(self.spans)

    def word(self, i: int) -> str:
        start, end = self.spans[i]
        return self.text[start:end]

    def case(self, i: int) -> str:
        return self.cases[i]

    def _case(self, start: int, end: int) -> str:
        word = self.text[start:end]
        if end - start == 1 and self.text.startswith(".", end):
            return "initial"  # "H.", and "u." in a lower-case name
        if word.islower():
            return "lower"
        if word.isupper():
            return "upper" if len(word) > 1 else "initial"
        return "title" if word[0].isupper() else "mixed"

    def plain(self, i: int) -> bool:
        """A lower-case common word that starts no name (most words of prose)."""
        folded = self.folded[i]
        return (
            self.cases[i] == "lower"
            and folded in self.lexicon.common
            and folded not in HONORIFICS
            and folded not in self.directory.sequences
        )

    def gap(self, i: int) -> str:
        """The text between word i and word i + 1."""
        return self.text[self.spans[i][1] : self.spans[i + 1][0]]

    def joined(self, i: int) -> bool:
        if i + 1 >= len(self.spans):
            return False
        gap = self.gap(i)
        # A full stop joins only after an initial ("John Q. Public"), never a sentence.
        if gap.startswith(".") and self.case(i) != "initial":
            return False
        return bool(_NAME_GAP.fullmatch(gap))

    def common(self, i: int) -> bool:
        return self.folded[i] in self.lexicon.common

    def first_name(self, i: int) -> bool:
        f = self.folded[i]
        return f in self.lexicon.first or f in self.directory.first

    def last_name(self, i: int) -> bool:
        f = self.folded[i]
        return self.lexicon.is_last(f) or f in self.directory.last

    def name_like(self, i: int) -> bool:
        """A word that reads as a name in this case: a listed name that is no common
        word, or any listed or unknown word written with a capital."""
        if self.case(i) in ("title", "upper", "mixed"):
            return (self.first_name(i) or self.last_name(i)) or not self.common(i)
        return (self.first_name(i) or self.last_name(i)) and not self.common(i)


def find_names(
    text: str,
    *,
    lexicon: NameLexicon,
    directory: NameDirectory = EMPTY_DIRECTORY,
    entities: Sequence[tuple[int, int, str]] = (),
    words: NameWords | None = None,
) -> list[NameMatch]:
    """PERSON spans by the rules in the module docstring; may overlap (the policy
    resolves overlaps). `entities` are NER (start, end, label) used to drop a
    capitalised "name" that NER calls a company, product or place."""
    words = words or NameWords(text, lexicon, directory)
    found: list[NameMatch] = []
    for i in range(len(words)):
        if words.plain(i):
            continue
        folded = words.folded[i]
        if folded in directory.sequences:
            found.extend(_known(words, i))
        if folded in HONORIFICS and _after_honorific(words, i, found):
            continue
        labelled = _after_label(words, i)
        if labelled is not None:
            found.append(NameMatch(words.spans[i][0], words.spans[labelled][1], 0.6, "NameLabel"))
        full = _full_name(words, i)
        cued = _cued(words, i)
        field_end = _field_name(words, i)
        if field_end is not None:
            # A whole list item or CSV field: NER often calls a name alone there an ORG.
            start, end = words.spans[i][0], words.spans[field_end][1]
            if not looks_like_thing(text, start, end):
                found.append(NameMatch(start, end, 0.6, "NameField"))
        if full is not None:
            end, score = full
            match = NameMatch(words.spans[i][0], words.spans[end][1], score, "NameLexicon")
            if cued or not (
                _is_thing(match, words, i, entities)
                or (
                    looks_like_thing(text, match.start, match.end)
                    and not strong_name(text, match.start, match.end, lexicon)
                )
            ):
                found.append(match)
        elif cued:
            end = _cued_surname(words, i)
            found.append(NameMatch(words.spans[i][0], words.spans[end][1], 0.6, "NameCue"))
    found.extend(_lists_of_names(text, found))
    return found


# A list item or field shaped like a name: 2-4 capitalised words (short lower-case
# particles between), alone between separators or line ends.
_NAME_ITEM = regex.compile(
    r"(?<=^|[\n,;|\t])[ \t]*(?:[-*•][ \t]*)?"
    r"(\p{Lu}[\p{L}'\u2019\-]*(?:[ ](?:\p{Lu}\.|\p{Lu}[\p{L}'\u2019\-]*|\p{Ll}{1,4})){1,3})"
    r"[ \t]*(?=$|[\n,;|\t])",
    regex.MULTILINE,
)
_MIN_LIST_ITEMS = 3


def _lists_of_names(text: str, found: list[NameMatch]) -> list[NameMatch]:
    """In a list where most items are names found by the rules above (a pasted roster,
    "a, b, c"), the other name-shaped items are names too, however rare."""
    items = [m.span(1) for m in _NAME_ITEM.finditer(text)]
    if len(items) < _MIN_LIST_ITEMS or not found:
        return []
    starts = sorted(m.start for m in found)
    runs: list[list[tuple[int, int]]] = [[items[0]]]
    for previous, item in itertools.pairwise(items):
        between = text[previous[1] : item[0]]
        if len(between) <= 4 and sum(ch in "\n,;|\t" for ch in between) == 1:
            runs[-1].append(item)
        else:
            runs.append([item])
    extra: list[NameMatch] = []
    for run in runs:
        if len(run) < _MIN_LIST_ITEMS:
            continue
        known = sum(_has_start_within(starts, start, end) for start, end in run)
        if known * 2 >= len(run):
            extra.extend(NameMatch(start, end, 0.6, "NameList") for start, end in run)
    return extra


def _has_start_within(starts: list[int], start: int, end: int) -> bool:
    index = bisect.bisect_left(starts, start)
    return index < len(starts) and starts[index] < end


def _known(words: NameWords, i: int) -> list[NameMatch]:
    for sequence in words.directory.sequences[words.folded[i]]:
        last = i + len(sequence) - 1
        if last >= len(words) or tuple(words.folded[i : last + 1]) != sequence:
            continue
        if all(words.joined(k) for k in range(i, last)):
            return [NameMatch(words.spans[i][0], words.spans[last][1], 0.9, "KnownPeople")]
    return []


def _after_honorific(words: NameWords, i: int, found: list[NameMatch]) -> bool:
    """ "Dr. Okafor", "mr smith": the name after the honorific, never the honorific."""
    if not words.joined(i) or i + 1 >= len(words):
        return False
    end = None
    for k in range(i + 1, min(i + 4, len(words))):
        if words.folded[k] in PARTICLES and k > i + 1:
            continue
        if not (words.name_like(k) or words.case(k) == "initial"):
            break
        end = k
        if not words.joined(k):
            break
    if end is None or words.case(end) == "initial":
        return False
    found.append(NameMatch(words.spans[i + 1][0], words.spans[end][1], 0.7, "NameHonorific"))
    return True


def _after_label(words: NameWords, i: int) -> int | None:
    """The words after a field label ("Rider: ", "account of "), up to 4, none common,
    in one letter case: a name however rare. Returns the index of its last word."""
    if i == 0:
        return None
    label = words.folded[i - 1]
    colon = label in LABELS and _LABEL_GAP.fullmatch(words.gap(i - 1))
    phrase = words.gap(i - 1) == " " and (
        (label,) in LABEL_PHRASES
        or (i > 1 and words.gap(i - 2) == " " and (words.folded[i - 2], label) in LABEL_PHRASES)
    )
    if not (colon or phrase) or words.common(i) or words.folded[i] in _NOT_GIVEN:
        return None
    end = i
    for k in range(i + 1, min(i + 4, len(words))):
        if not words.joined(k - 1) or "\n" in words.gap(k - 1):
            break
        if words.folded[k] in PARTICLES or words.case(k) == "initial":
            continue
        if words.common(k) or not _same_case(words.case(i), words.case(k)):
            break
        end = k
    return end


def _given(words: NameWords, i: int) -> bool:
    if not words.first_name(i):
        return False
    return words.case(i) in ("title", "upper", "mixed") or not words.common(i)


def _full_name(words: NameWords, i: int) -> tuple[int, float] | None:
    """A given name, then middle names, initials or particles, and a last name, all in
    the same letter case. Returns (index of the last word, score)."""
    unlisted = not words.first_name(i)
    if unlisted:
        # "Okgüçlü Bilgin": an unlisted capitalised word may be a given name before a
        # listed, uncommon last name (scored lower; vetoed by NER, brands and places).
        if words.case(i) not in ("title", "mixed") or words.common(i):
            return None
    elif not _given(words, i):
        return None
    if not words.joined(i) or words.folded[i] in _NOT_GIVEN:
        return None
    lower = words.case(i) == "lower"
    given_common = words.common(i)
    best: tuple[int, float] | None = None
    for k in range(i + 1, min(i + 6, len(words))):
        # One line break inside a name, and only right before its last word: a wrapped
        # "Kenji\nWatanabe", never "Rachel Campos\nMathilde Rolland" of a list.
        wrapped = "\n" in words.gap(k - 1)
        if wrapped and (best is not None or k > i + 1 or unlisted):
            break
        case = words.case(k)
        if words.folded[k] in PARTICLES:
            pass  # "van", "de la", "bin": inside a name only, never its end
        elif not _same_case(words.case(i), case):
            break
        elif case == "initial":
            pass  # "John Q. Public"
        else:
            common = words.common(k)
            if words.folded[k] in STOP_WORDS:
                break  # "Maria The", "Olga And": a function word ends the name
            if words.last_name(k) and not (common and (lower or given_common or unlisted)):
                best = (k, 0.6 if unlisted else 0.85 if not (common or given_common) else 0.7)
            elif not lower and not common and not given_common and not unlisted:
                best = best or (k, 0.6)  # an unlisted capitalised last name
            elif not (words.first_name(k) and not common):
                break
        if wrapped or not words.joined(k):
            break
    return best


_FIELD_START = regex.compile(r"(?:^|[\n,;|\t])[ \t]*(?:[-*•]|[0-9]{1,4}[.)])?[ \t]*\Z")
_FIELD_END = regex.compile(r"[ \t]*(?:$|[\n,;|\t])")


def _field_name(words: NameWords, i: int) -> int | None:
    """A list item or table field that is a name and nothing else: 2-3 capitalised words,
    at least one listed, none common (a listed first name may be: "Carolina Respighi").
    Returns the index of its last word."""
    start = words.spans[i][0]
    if words.case(i) not in ("title", "upper", "mixed"):
        return None
    if not _FIELD_START.search(words.text, max(0, start - 12), start):
        return None
    listed = _given(words, i) or words.last_name(i)
    if words.common(i) and not _given(words, i):
        return None
    if words.folded[i] in _NOT_GIVEN:
        return None
    k = i
    while k + 1 < len(words) and k < i + 2 and words.gap(k) == " ":
        k += 1
        if not _same_case(words.case(i), words.case(k)) or words.common(k):
            return None
        listed = listed or words.first_name(k) or words.last_name(k)
    if k == i or not listed or not _FIELD_END.match(words.text, words.spans[k][1]):
        return None
    return k


def _same_case(given: str, other: str) -> bool:
    """Words of one name share a letter case: "olga petrenko", "OLGA PETRENKO", "Olga
    Petrenko" (initials in the last two); "Payout IBAN" is no name."""
    if given == "lower":
        return other == "lower"
    if given == "upper":
        return other in ("upper", "initial")
    return other in ("title", "mixed", "initial")


def _cued(words: NameWords, i: int) -> bool:
    """A name word alone, in a person context: after a greeting or contact verb, or
    before a speech verb. Listed or not ("Thanks Mutluhan!"), as long as it is no common
    word: after "call", "dear" or before "said", an unknown word is a name."""
    if words.common(i) and not (words.case(i) != "lower" and _given(words, i)):
        return False
    if len(words.folded[i]) < 3 or words.folded[i] in _NOT_GIVEN:
        return False
    before = i > 0 and _CUE_GAP.fullmatch(words.gap(i - 1))
    if before:
        previous = words.folded[i - 1]
        if previous in CUES_BEFORE and previous != "w":
            return True
        if (
            previous in CUE_PREPOSITIONS
            and i > 1
            and words.folded[i - 2] in CUE_VERBS
            and (previous != "w" or words.gap(i - 1).startswith("/"))
        ):
            return True
    after = i + 1 < len(words) and words.gap(i) in (" ", "  ")
    return bool(after and words.folded[i + 1] in CUES_AFTER)


def _surname_alone(words: NameWords, i: int) -> bool:
    return words.last_name(i) and not words.common(i)


def _cued_surname(words: NameWords, i: int) -> int:
    """ "call olga xyzenko": an unlisted word right after a cued first name that is not a
    common word is taken as her last name (it would otherwise be sent beside <PERSON_1>)."""
    k = i + 1
    if k < len(words) and words.joined(i) and words.folded[k] not in CUES_AFTER:
        same_case = (words.case(i) == "lower") == (words.case(k) == "lower")
        if same_case and not words.common(k) and words.folded[k] not in PARTICLES:
            return k
    return i


def _is_thing(
    match: NameMatch, words: NameWords, i: int, entities: Sequence[tuple[int, int, str]]
) -> bool:
    if words.case(i) == "lower" or match.score >= 0.85:
        # NER on a truecased copy is not trusted to overrule the lexicon, nor against two
        # listed, uncommon name words: the small model calls "Kenji\nWatanabe" an ORG.
        return False
    # Only an entity covering the whole match: NER calling "Kenji" an ORG does not make
    # "Kenji Watanabe" one, while "Mercedes Benz" as a whole ORG is a brand.
    return any(
        start <= match.start and match.end <= end and label in _NOT_PERSON_LABELS
        for start, end, label in entities
    )


def truecase(
    text: str,
    *,
    lexicon: NameLexicon,
    directory: NameDirectory = EMPTY_DIRECTORY,
    words: NameWords | None = None,
) -> str:
    """`text` with lower-case and all-caps name words capitalised ("olga petrenko" →
    "Olga Petrenko"), same length and offsets, for the NER pass; `text` itself if none."""
    words = words or NameWords(text, lexicon, directory)
    changes: list[tuple[int, int, str]] = []
    previous_changed = -2
    for i in range(len(words)):
        case = words.cases[i]
        if words.folded[i] in PARTICLES and previous_changed == i - 1:
            previous_changed = i  # "ludwig van beethoven": the chain goes on
            continue
        if case == "title" or (case == "lower" and words.folded[i] in lexicon.common):
            continue
        if case not in ("lower", "upper") or words.folded[i] in PARTICLES:
            continue
        listed = words.first_name(i) or words.last_name(i)
        follows = previous_changed == i - 1 and words.joined(i - 1) and case == words.case(i - 1)
        if case == "upper" and not follows and not _upper_pair(words, i):
            continue  # "IBAN", "SSN": an acronym alone is not a name in capitals
        if (listed or follows) and not words.common(i):
            word = words.word(i)
            titled = word[:1].upper() + word[1:].lower()
            if len(titled) == len(word) and titled != word:
                changes.append((*words.spans[i], titled))
                previous_changed = i
    if not changes:
        return text
    pieces: list[str] = []
    pos = 0
    for start, end, titled in changes:
        pieces.append(text[pos:start])
        pieces.append(titled)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _upper_pair(words: NameWords, i: int) -> bool:
    """An all-caps word next to another all-caps listed name word: "OLGA PETRENKO"."""
    k = i + 1
    return (
        k < len(words)
        and words.joined(i)
        and words.case(k) == "upper"
        and (words.first_name(k) or words.last_name(k))
        and not words.common(k)
    )
