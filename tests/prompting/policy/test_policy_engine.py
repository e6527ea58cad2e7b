"""The engine's speed-ups must not change what is found."""

from __future__ import annotations

import copy
from typing import Any

from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from prompting.policy import get_analyzer
from prompting.policy.engine import EXCLUDED_PIPES, LANGUAGE, FastContextEnhancer

TEXT = (
    "Customer Dana Whitfield called from 415 555 0132 about card 4111111111111111.\n"
    "Her social security number 536-90-4399 and account 0001234567 were in the ticket;\n"
    "phone 6505816950, ssn 536904399, mail dana.w@example.com, IP 10.0.0.1.\n"
)


def raw_results() -> tuple[list[Any], Any, Any]:
    """Recognizer results before context enhancement, as AnalyzerEngine produces them."""
    engine: Any = get_analyzer().engine  # Presidio is untyped
    artifacts = engine.nlp_engine.process_text(TEXT, LANGUAGE)
    recognizers = engine.registry.recognizers
    results: list[Any] = []
    for recognizer in recognizers:
        found = recognizer.analyze(TEXT, recognizer.supported_entities, artifacts) or []
        for result in found:
            result.recognition_metadata = {
                "recognizer_name": recognizer.name,
                "recognizer_identifier": recognizer.id,
            }
        results.extend(found)
    return results, artifacts, recognizers


def test_fast_context_enhancer_scores_like_presidios() -> None:
    """Same scores as Presidio's LemmaContextAwareEnhancer for every result."""
    results, artifacts, recognizers = raw_results()
    assert len(results) > 10
    upstream = LemmaContextAwareEnhancer().enhance_using_context(
        TEXT, copy.deepcopy(results), artifacts, recognizers
    )
    ours = FastContextEnhancer().enhance_using_context(
        TEXT, copy.deepcopy(results), artifacts, recognizers
    )
    as_tuples = lambda rs: sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in rs)  # noqa: E731
    assert as_tuples(ours) == as_tuples(upstream)
    assert any(r.score > o.score for r, o in zip(ours, results, strict=True))  # context did boost


def test_only_the_ner_pipe_is_loaded() -> None:
    """Tagger, parser, lemmatizer and friends are not loaded: they cost time and find nothing."""
    nlp_engine: Any = get_analyzer().engine.nlp_engine  # our LeanSpacyNlpEngine
    nlp = nlp_engine.get_nlp(LANGUAGE)
    assert nlp.pipe_names == ["ner"]
    assert not set(EXCLUDED_PIPES) & set(nlp.pipe_names)
