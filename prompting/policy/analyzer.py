"""Runs detection over text of any length: an analysis view without invisible characters
(normalise.py), chunks, one batched spaCy pass over a truecased copy, Presidio per chunk,
the name rules (names.py), findings mapped back to original offsets. Knows nothing about
the policy's actions beyond which entity types to look for and their minimum scores.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from presidio_analyzer import AnalyzerEngine

from .chunking import CHUNK_SIZE, OVERLAP, Span, split_into_chunks
from .engine import LANGUAGE, SPACY_ENTITY_TYPES, analyzer_engine, pattern_analyzer_engine
from .errors import AnalysisFailed, AnalysisTimedOut
from .lexicon import (
    EMPTY_DIRECTORY,
    HONORIFICS,
    SUFFIXES,
    NameDirectory,
    looks_like_thing,
    name_lexicon,
    strong_name,
)
from .names import NameWords, find_names, truecase
from .normalise import analysis_view
from .recognizers import DEFAULT_COMPANY_ID_PATTERNS

# spaCy's own default; larger batches did not help on this model.
BATCH_SIZE = 32

WARM_UP_TEXT = (
    "Hi Dana Whitfield, your driver Tom Becker (D-12345678) will pick you up at "
    "1234 Oak Street, Apt 4B, Springfield, IL 62704 on May 3. Call (415) 555-0132 or "
    "mail dana.w@example.com. SSN 123-45-6789, card 4111 1111 1111 1111, IBAN "
    "GB82 WEST 1234 5698 7654 32, IP 10.0.0.1, api_key=a8f5f167f44f4964e6c998dee827110c."
)


@dataclass(frozen=True)
class Detection:
    """A raw finding, before the policy decides what to do with it."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


class Analyzer:
    def __init__(
        self, engine: AnalyzerEngine, *, chunk_size: int = CHUNK_SIZE, overlap: int = OVERLAP
    ) -> None:
        self.engine = engine
        self.chunk_size = chunk_size
        self.overlap = overlap
        self.supported_entities = frozenset(engine.get_supported_entities(LANGUAGE))

    def warm_up(self) -> None:
        """Pay first-call costs (~150-200 ms: regex compilation, suffix list, spaCy
        buffers) at worker start instead of in the first user's request."""
        self.detect(WARM_UP_TEXT, sorted(self.supported_entities))

    def detect(
        self,
        text: str,
        entities: Sequence[str],
        *,
        min_scores: Mapping[str, float] | None = None,
        deadline: float | None = None,
        known_names: NameDirectory = EMPTY_DIRECTORY,
    ) -> list[Detection]:
        return self.detect_many(
            [text], entities, min_scores=min_scores, deadline=deadline, known_names=known_names
        )[0]

    def detect_many(
        self,
        texts: Sequence[str],
        entities: Sequence[str],
        *,
        min_scores: Mapping[str, float] | None = None,
        deadline: float | None = None,
        known_names: NameDirectory = EMPTY_DIRECTORY,
    ) -> list[list[Detection]]:
        """Detections per text, possibly overlapping (the policy resolves overlaps).

        `min_scores` drops weaker detections early (cheaper than carrying them along);
        `deadline` is a `time.monotonic()` value after which AnalysisTimedOut is raised.
        """
        wanted = [e for e in entities if e in self.supported_entities]
        results: list[list[Span]] = [[] for _ in texts]
        if not wanted:
            return [[] for _ in texts]
        names = "PERSON" in wanted
        lexicon = name_lexicon() if names else None
        # NER only when a type it finds is wanted; else a tokenizer pass (for context words).
        ner = any(e in SPACY_ENTITY_TYPES for e in wanted)
        views = [analysis_view(text) for text in texts]
        # Where each chunk came from: (index of the text, chunk of its view).
        chunks = [
            (index, chunk)
            for index, view in enumerate(views)
            for chunk in split_into_chunks(view.text, self.chunk_size, self.overlap)
        ]
        floor = min((min_scores or {}).get(e, 0.0) for e in wanted)
        try:
            # The words of each chunk, read once for truecasing and the name rules.
            words = [
                NameWords(chunk.text, lexicon, known_names) if lexicon is not None else None
                for _, chunk in chunks
            ]
            ner_texts = [
                truecase(chunk.text, lexicon=lexicon, directory=known_names, words=chunk_words)
                if lexicon is not None
                else chunk.text
                for (_, chunk), chunk_words in zip(chunks, words, strict=True)
            ]
            artifacts = self.engine.nlp_engine.process_batch(
                ner_texts, LANGUAGE, batch_size=BATCH_SIZE, with_ner=ner
            )
            for (index, chunk), ner_text, chunk_words, (_, nlp_artifacts) in zip(
                chunks, ner_texts, words, artifacts, strict=True
            ):
                if deadline is not None and time.monotonic() > deadline:
                    raise AnalysisTimedOut()
                found = self.engine.analyze(
                    text=chunk.text,
                    language=LANGUAGE,
                    entities=wanted,
                    nlp_artifacts=nlp_artifacts,
                    score_threshold=floor,
                )
                spans = []
                for r in found:
                    if r.score < (min_scores or {}).get(r.entity_type, 0.0):
                        continue
                    name = _recognizer_name(r)
                    for start, end in _refine(
                        r.entity_type, chunk.text, r.start, r.end, cased=ner_text, recognizer=name
                    ):
                        spans.append(Span(r.entity_type, start, end, r.score, name))
                if lexicon is not None:
                    ents = [(e.start_char, e.end_char, e.label_) for e in nlp_artifacts.tokens.ents]
                    for match in find_names(
                        chunk.text,
                        lexicon=lexicon,
                        directory=known_names,
                        entities=ents,
                        words=chunk_words,
                    ):
                        spans.append(
                            Span("PERSON", match.start, match.end, match.score, match.recognizer)
                        )
                view = views[index]
                for span in spans:
                    start, end = view.to_original(span.start + chunk.start, span.end + chunk.start)
                    results[index].append(
                        Span(span.entity_type, start, end, span.score, span.recognizer)
                    )
        except AnalysisFailed:
            raise
        except Exception as exc:
            # The message of `exc` may quote the text; the caller logs the chain's types only.
            raise AnalysisFailed() from exc
        return [_unique_detections(spans) for spans in results]


# Capitalised words the small NER model glues onto a following name at the start of a
# sentence ("Email Dana Whitfield", "Ask Jordan"): trimmed, so the mapping learns the name.
_NOT_NAME_WORDS = frozenset(
    """
    email e-mail mail call phone text ask tell ping message contact cc bcc hi hello hey
    dear thanks thank welcome congrats congratulations please attn attention from to
    remind reminded meet invite notify inform page thx cheers
    customer rider driver passenger agent user client mr mrs ms the a an and or but so
    if when after before with for by at on in of is was my our your his her their this
    that these those we i you he she they it
    """.split()  # noqa: SIM905 - a word list reads better as text
)  # Not all of spaCy's stop words: "Will" and "May" are names too.


_NOT_IN_NAMES = re.compile(r"[,;:@<>()\[\]{}|/\\\n\t\"]")


def _refine(
    entity_type: str,
    text: str,
    start: int,
    end: int,
    *,
    cased: str | None = None,
    recognizer: str = "SpacyRecognizer",
) -> list[tuple[int, int]]:
    """Tidy NER spans into zero or more (start, end) spans.

    The small model runs a PERSON across CSV fields and lines ("Port Valerie\nWilliam
    Brown", "William Brown,wb@x.com"), tags "Q3" or "2FA", and includes a leading "Email"
    or "Hi". Splitting (rather than cutting) matters: Presidio has already dropped our own
    name findings that such a long span contained.
    """
    if entity_type != "PERSON":
        return [(start, end)]
    pieces = []
    piece_start = start
    for separator in [*_NOT_IN_NAMES.finditer(text, start, end), None]:
        piece_end = separator.start() if separator else end
        piece = _tidy_name(text, piece_start, piece_end, text if cased is None else cased)
        # A label or a cue outweighs neighbours ("From: Lee Park <lee@...>"); NER does not.
        if piece and (
            recognizer != "SpacyRecognizer"
            or not (looks_like_thing(text, *piece) or _place_position(text, *piece))
            or strong_name(text, *piece, name_lexicon())
        ):
            pieces.append(piece)
        if separator:
            piece_start = separator.end()
    return pieces


# One capitalised word after these is a place or a modifier far more often than a person:
# "fell in Savannah", "near Madison", "the Jackson launch". NER tags them PERSON often.
_PLACE_POSITION = re.compile(r"\b(?:in|near|around|across|outside|downtown|the)[ ]\Z", re.I)


def _place_position(text: str, start: int, end: int) -> bool:
    if " " in text[start:end]:
        return False  # two words or more: "in Olga Petrenko's car" stays a name
    return bool(_PLACE_POSITION.search(text, max(0, start - 12), start))


def _tidy_name(text: str, start: int, end: int, cased: str) -> tuple[int, int] | None:
    # `cased` is what NER read: the same text with listed names capitalised (truecase),
    # so "olga petrenko" counts as capitalised while "q3 report" still does not.
    value = text[start:end]
    start += len(value) - len(value.lstrip())
    end -= len(value) - len(value.rstrip())
    if any(ch.isdigit() for ch in text[start:end]):
        return None
    while start < end:
        first, _, rest = text[start:end].partition(" ")
        if first.lower().strip(",.:;") not in _NOT_NAME_WORDS:
            break
        start = end if not rest else start + len(first) + 1
    # Honorifics out ("Dr. Ng" is "Ng"), suffixes out ("Dana Lee Jr." is "Dana Lee").
    while start < end:
        first, _, rest = text[start:end].partition(" ")
        if first.lower().rstrip(".") not in HONORIFICS or not rest:
            break
        start += len(first) + 1
    while start < end:
        rest, _, last = text[start:end].rpartition(" ")
        if last.lower().strip(",.") not in SUFFIXES or not rest:
            break
        end = start + len(rest.rstrip(" ,"))
    value = text[start:end]
    if sum(ch.isalpha() for ch in value) < 2 or not any(ch.isupper() for ch in cased[start:end]):
        return None
    return start, end


def _recognizer_name(result: object) -> str:
    metadata = getattr(result, "recognition_metadata", None) or {}
    return str(metadata.get("recognizer_name", "unknown"))


def _unique_detections(spans: list[Span]) -> list[Detection]:
    # Overlapping chunks report the same span twice; keep the best score per span.
    # On a tie of spans, a recognizer with context (a cue, a label) is named over NER,
    # because the policy lets NER's guesses yield to places and lists (judge._GUESSING).
    best: dict[tuple[str, int, int], Span] = {}
    for span in spans:
        key = (span.entity_type, span.start, span.end)
        known = best.get(key)
        if known is None:
            best[key] = span
            continue
        score = max(known.score, span.score)
        recognizer = known.recognizer if known.recognizer != "SpacyRecognizer" else span.recognizer
        best[key] = Span(span.entity_type, span.start, span.end, score, recognizer)
    return [
        Detection(s.entity_type, s.start, s.end, s.score, s.recognizer)
        for s in sorted(best.values(), key=lambda s: (s.start, s.end, s.entity_type))
    ]


@functools.cache
def _cached_analyzer(company_id_patterns: tuple[tuple[str, str], ...]) -> Analyzer:
    return Analyzer(analyzer_engine(company_id_patterns))


def get_analyzer(company_id_patterns: Mapping[str, str] | None = None) -> Analyzer:
    """The process-wide analyzer for these company id patterns (built on first use).

    The Django side passes `settings.POLICY_COMPANY_ID_PATTERNS`; None means the
    placeholder defaults in recognizers.DEFAULT_COMPANY_ID_PATTERNS.
    """
    patterns = DEFAULT_COMPANY_ID_PATTERNS if company_id_patterns is None else company_id_patterns
    return _cached_analyzer(tuple(sorted(patterns.items())))


@functools.cache
def _cached_pattern_analyzer(company_id_patterns: tuple[tuple[str, str], ...]) -> Analyzer:
    return Analyzer(pattern_analyzer_engine(company_id_patterns))


def get_pattern_analyzer(company_id_patterns: Mapping[str, str] | None = None) -> Analyzer:
    """The process-wide analyzer without NER: the same pattern recognizers (cards, SSNs,
    IBANs, bank accounts, secrets, ids...) on the same tokens, for callers that must not
    load the NER model (the web process: `redact_for_storage` on arrival). Types only
    NER finds are not supported (`supported_entities`), so asking for them finds nothing."""
    patterns = DEFAULT_COMPANY_ID_PATTERNS if company_id_patterns is None else company_id_patterns
    return _cached_pattern_analyzer(tuple(sorted(patterns.items())))


def warm_up(company_id_patterns: Mapping[str, str] | None = None) -> None:
    """Build and exercise the analyzer; call from a Celery `worker_process_init` handler."""
    get_analyzer(company_id_patterns).warm_up()
