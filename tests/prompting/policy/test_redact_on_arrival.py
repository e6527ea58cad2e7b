"""Redacted on arrival: a document's text (pasted or extracted) and a message sent without
a matching preview are stored with marks (`<CREDIT_CARD>`) in place of the values the
policy redacts, before anything is judged; judging turns each mark into a numbered,
counted redaction. Real analyzers (the web's pattern-only one and the worker's), real
policy step, real Redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from bench.policy_corpus import Corpus
from prompting import services
from prompting.models import Document, Message, PolicyVersion, Run
from prompting.policy import (
    Override,
    Policy,
    PseudonymMap,
    Rule,
    default_policy,
    get_analyzer,
    get_pattern_analyzer,
    judge,
    redact_for_storage,
)
from prompting.runs import dispatch, judging
from prompting.runs import services as run_services
from prompting.selectors import model_default
from prompting.summarize import documents
from prompting.summarize.options import LENGTHS
from prompting.summarize.preview import document_preview_result
from prompting.summarize.selectors import document_parts

POLICY = default_policy()
CARD = "4111 1111 1111 1111"
SSN = "536-90-4399"


def stored(text: str, **kwargs: Any) -> str:
    return redact_for_storage(text, policy=POLICY, analyzer=get_pattern_analyzer(), **kwargs)[0]


# --- The policy layer ----------------------------------------------------------------------


def test_redacted_types_become_marks_and_nothing_else_changes() -> None:
    text = (
        f"Olga Petrenko's card {CARD} (SSN {SSN}) was charged; payout IBAN "
        "DE89 3704 0044 0532 0130 00, checking account number: 000123456789. "
        "Mail olga@example.com."
    )
    assert stored(text) == (
        "Olga Petrenko's card <CREDIT_CARD> (SSN <US_SSN>) was charged; payout IBAN "
        "<IBAN_CODE>, checking account number: <US_BANK_NUMBER>. Mail olga@example.com."
    )


def test_judging_a_stored_text_numbers_counts_and_audits_its_marks() -> None:
    """Two cards redacted on arrival are both `<CREDIT_CARD>` but two values."""
    text = stored(f"Cards {CARD} and 5500 0000 0000 0004 were both charged by Dana.")
    assert text == "Cards <CREDIT_CARD> and <CREDIT_CARD> were both charged by Dana."
    mapping = PseudonymMap()
    judgement = judge(text, policy=POLICY, mapping=mapping)
    assert judgement.decision == "redact"
    assert judgement.counts_by_type["CREDIT_CARD"] == 2
    assert judgement.actions_by_type["CREDIT_CARD"] == "redact"
    assert judgement.sanitized_text is not None
    assert judgement.sanitized_text.startswith("Cards <CREDIT_CARD_1> and <CREDIT_CARD_2> were")
    assert judgement.stored_text(text).startswith("Cards <CREDIT_CARD_1> and <CREDIT_CARD_2>")
    assert all(entry.entity_type != "CREDIT_CARD" for entry in mapping.entries())


def test_a_typed_placeholder_never_collides_with_a_mark() -> None:
    """The employee's own `<CREDIT_CARD_1>` is left alone on arrival (marks carry no
    number) and neutralised when judged; the real card gets `<CREDIT_CARD_1>`."""
    original = f"I wrote <CREDIT_CARD_1> in the template; the real card is {CARD}."
    text = stored(original)
    assert text == "I wrote <CREDIT_CARD_1> in the template; the real card is <CREDIT_CARD>."
    mapping = PseudonymMap()
    judgement = judge(text, policy=POLICY, mapping=mapping)
    assert judgement.sanitized_text == (
        "I wrote <TYPED_PLACEHOLDER_1> in the template; the real card is <CREDIT_CARD_1>."
    )
    assert mapping.restore(judgement.sanitized_text) == (
        "I wrote <CREDIT_CARD_1> in the template; the real card is <CREDIT_CARD_1>."
    )
    assert mapping.original_of("<CREDIT_CARD_1>") is None  # never restored as a card


@pytest.mark.parametrize("literal", ["<DIV>", "<PERSON>", "<EMAIL_ADDRESS>", "<credit_card>"])
def test_angle_brackets_of_other_kinds_are_plain_text(literal: str) -> None:
    """Only a mark of a type the policy redacts is a redacted value."""
    judgement = judge(f"Keep {literal} as it is.", policy=POLICY, mapping=PseudonymMap())
    assert judgement.sanitized_text == f"Keep {literal} as it is."
    assert not judgement.findings


def test_a_secret_that_looks_like_a_card_stays_a_secret() -> None:
    """Block rules take part on arrival: the password is not turned into a card mark
    (which would hide it from the judgement), so the text is still refused."""
    text = "db password: 4111111111111111x! and card 5500 0000 0000 0004"
    kept = stored(text)
    assert "4111111111111111x!" in kept and "5500" not in kept
    assert judge(kept, policy=POLICY, mapping=PseudonymMap()).decision == "block"


def test_an_overridden_value_is_not_marked_and_offsets_are_reported() -> None:
    text = f"card {CARD}, internal account number: 000123456789"
    start = text.index("000123456789")
    kept, spans = redact_for_storage(
        text,
        policy=POLICY,
        analyzer=get_pattern_analyzer(),
        overrides=[Override("US_BANK_NUMBER", start=start, end=start + 12)],
    )
    assert kept == "card <CREDIT_CARD>, internal account number: 000123456789"
    assert spans == [(5, 5 + len(CARD), "<CREDIT_CARD>")]


def test_a_redacted_ner_type_is_marked_where_the_web_can_find_it() -> None:
    """An admin who redacts PERSON: the web's analyzer (no NER) still marks the names it
    finds by label; the worker's marks those NER finds too."""
    rules = dict(POLICY.rules)
    rules["PERSON"] = Rule("redact", 0.5)
    policy = Policy(version=3, rules=rules)
    text = "Customer: Dana Whitfield\nShe met olga petrenko at the depot."
    web = redact_for_storage(text, policy=policy, analyzer=get_pattern_analyzer())[0]
    assert web.startswith("Customer: <PERSON>\n")
    worker = redact_for_storage(text, policy=policy, analyzer=get_analyzer())[0]
    assert "Dana" not in worker and "petrenko" not in worker


def test_no_redact_rule_changes_nothing() -> None:
    policy = Policy(version=2, rules={"CREDIT_CARD": Rule("block")})
    text = f"card {CARD}"
    assert redact_for_storage(text, policy=policy, analyzer=get_pattern_analyzer()) == (text, [])


def test_the_web_and_the_worker_mark_the_same_values() -> None:
    """The pattern-only analyzer (no NER model, for the web process) marks exactly what
    the worker's analyzer marks, on the benchmark's realistic texts with personal data."""
    corpus = Corpus(7)
    web, worker = get_pattern_analyzer(), get_analyzer()
    marked = 0
    for _ in range(150):
        text = corpus.pii_doc().text
        by_web = redact_for_storage(text, policy=POLICY, analyzer=web)
        assert by_web == redact_for_storage(text, policy=POLICY, analyzer=worker)
        marked += len(by_web[1])
    assert marked > 30  # the corpus does hold cards, SSNs, IBANs and accounts


# --- Chat and Rewrite: the row right after the POST -------------------------------------


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_unpreviewed_send_never_stores_the_card_and_the_step_counts_it(
    alice: Any, dispatched: Any, isolated_redis: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reply = client_for(alice).post(
            "/chat/send", {"text": f"Card {CARD} was charged twice for Olga, SSN {SSN}."}
        )
    assert reply.status_code == 201, reply.content
    run = Run.objects.get(pk=reply.json()["run"]["id"])
    # No worker has run: the step is only queued (a short message: inline_judging.py).
    assert [name for name, _ in dispatched] == [dispatch.JUDGE_THEN_GENERATE]
    assert run.status == Run.Status.QUEUED
    assert run.user_message is not None
    row = Message.objects.get(pk=run.user_message.pk)
    assert row.content == "Card <CREDIT_CARD> was charged twice for Olga, SSN <US_SSN>."
    assert CARD not in run.conversation.title
    judging.run_judge(run_id=run.pk)
    run.refresh_from_db()
    assert run.decision == "redact"
    row.refresh_from_db()
    assert row.content == "Card <CREDIT_CARD_1> was charged twice for Olga, SSN <US_SSN_1>."
    assert row.sanitized_content.startswith("Card <CREDIT_CARD_1> was charged twice for <PERSON_1>")
    event = AuditEvent.objects.get(target_id=str(run.pk), action="prompt.submitted")
    assert event.details["findings"]["CREDIT_CARD"] == 1
    assert event.details["actions"]["US_SSN"] == "redact"


def test_an_unpreviewed_rewrite_never_stores_the_card(
    alice: Any, dispatched: Any, isolated_redis: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reply = client_for(alice).post(
            "/rewrite/send", {"text": f"pls refund card {CARD} asap", "preset": "formal"}
        )
    assert reply.status_code == 201, reply.content
    run = Run.objects.get(pk=reply.json()["run"]["id"])
    assert run.status == Run.Status.QUEUED and run.user_message is not None
    row = Message.objects.get(pk=run.user_message.pk)
    assert CARD not in row.content and "<CREDIT_CARD>" in row.content


def test_the_web_analyzer_loads_no_ner() -> None:
    """The pattern-only engine: the model's tokenizer, no NER pipe, no spaCy recognizer."""
    engine = get_pattern_analyzer().engine
    nlp = engine.nlp_engine.get_nlp("en")  # type: ignore[attr-defined]
    assert nlp.pipe_names == []
    names = {type(r).__name__ for r in engine.registry.recognizers}
    assert "SpacyRecognizer" not in names and "PaymentCardRecognizer" in names


def test_marks_by_offset_still_point_at_their_words(
    alice: Any, dispatched: Any, isolated_redis: str
) -> None:
    """A false-positive mark on the account number after the card (offsets in the typed
    text) is moved with the text: the number is sent as written, the card is not."""
    text = f"Refund card {CARD} to internal account number: 000123456789 today."
    start = text.index("000123456789")
    conversation = services.conversation_create(owner=alice)
    run = run_services.run_create(
        user=alice,
        conversation=conversation,
        text=text,
        overrides=[{"entity_type": "US_BANK_NUMBER", "start": start, "end": start + 12}],
    )
    assert run.user_message is not None
    assert Message.objects.get(pk=run.user_message.pk).content == (
        "Refund card <CREDIT_CARD> to internal account number: 000123456789 today."
    )
    judging.run_judge(run_id=run.pk)
    run.refresh_from_db()
    assert run.user_message is not None
    assert run.user_message.sanitized_content == (
        "Refund card <CREDIT_CARD_1> to internal account number: 000123456789 today."
    )
    override = AuditEvent.objects.get(target_id=str(run.pk), action="policy.override")
    assert override.outcome == "ok"


# --- Summarize: pasted and uploaded documents ------------------------------------------


DOCUMENT = (
    "# Overview\n\nQuarterly dispute review.\n\n"
    f"# Disputes\n\nThe rider disputed a charge on card {CARD}; her SSN {SSN} was on "
    "the form. I typed <CREDIT_CARD_1> in the template.\n\n# Next\n\nNothing else.\n"
)


def preview_of(document: Document) -> dict[str, Any]:
    parts, _ = document_parts(document, model_default(), LENGTHS["short"].max_output_tokens)
    mapping = PseudonymMap()
    results = [judge(p.text, policy=POLICY, mapping=mapping) for p in parts]
    return document_preview_result(document, parts, results)


def test_a_pasted_document_is_stored_without_the_card_and_the_preview_says_where(
    alice: Any,
) -> None:
    document = documents.document_create_from_text(user=alice, text=DOCUMENT)
    document.refresh_from_db()
    assert CARD not in document.text and SSN not in document.text
    assert "charge on card <CREDIT_CARD>; her SSN <US_SSN> was" in document.text
    assert "<CREDIT_CARD_1> in the template" in document.text  # as typed
    assert [s["title"] for s in document.sections][-2:] == ["Disputes", "Next"]
    assert document.text[document.sections[-1]["start"] :].startswith("# Next")
    data = preview_of(document)
    assert data["decision"] == "redact"
    assert data["counts"]["CREDIT_CARD"] == 1 and data["counts"]["US_SSN"] == 1
    card = next(f for f in data["findings"] if f["entity_type"] == "CREDIT_CARD")
    assert card["where"] == "Disputes" and card["action"] == "redact"
    assert card["placeholder"] == "<CREDIT_CARD_1>"
    assert card["excerpt"]["value"] == "<CREDIT_CARD>"
    assert card["excerpt"]["before"].endswith("a charge on card ")


def test_a_pasted_title_holds_no_card(alice: Any) -> None:
    document = documents.document_create_from_text(user=alice, text=f"{CARD} dispute notes")
    assert document.conversation is not None
    assert CARD not in document.conversation.title
    assert document.conversation.title == "Summary: <CREDIT_CARD> dispute notes"


def test_an_uploaded_document_is_extracted_without_the_card_sections_moved(
    alice: Any, dispatched: Any
) -> None:
    upload = SimpleUploadedFile("dispute.md", DOCUMENT.encode(), content_type="text/markdown")
    document = documents.document_create_from_upload(user=alice, uploaded=upload)
    documents.document_extract(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert CARD not in document.text and SSN not in document.text
    assert "charge on card <CREDIT_CARD>; her SSN <US_SSN> was" in document.text
    for section in document.sections:
        heading = document.text[section["start"] : section["end"]]
        assert section["title"] == "Beginning" or heading.startswith(f"# {section['title']}")


def test_an_uploaded_file_named_after_a_card_is_stored_without_it(
    alice: Any, dispatched: Any
) -> None:
    upload = SimpleUploadedFile(f"card {CARD}.txt", b"Refund it.", content_type="text/plain")
    document = documents.document_create_from_upload(user=alice, uploaded=upload)
    assert document.filename == "card <CREDIT_CARD>.txt"
    assert document.conversation is not None
    assert "1111" not in document.conversation.title


def test_the_policy_in_force_decides_what_is_marked(alice: Any) -> None:
    """An admin who pseudonymizes card numbers gets them kept in the stored text (the
    owner sees them restored anyway); SSNs, still redacted, are marked."""
    rules = default_policy().rules_to_json()
    rules["CREDIT_CARD"] = {"action": "pseudonymize", "min_score": 0.5, "overridable": True}
    PolicyVersion.objects.create(version=99, rules=rules, note="cards pseudonymized")
    document = documents.document_create_from_text(user=alice, text=DOCUMENT)
    assert CARD in document.text and SSN not in document.text
