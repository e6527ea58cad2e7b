"""Summarize services and views, in process: documents, estimates, parts through the
policy with one mapping, progress, the combining step, refusals and owner scoping.

The end-to-end path through uvicorn, a Celery worker and the emulator is in
`test_summaries_live.py`; the browser journey in tests/e2e/test_summarize_journey.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from config.redis_client import redis_client
from prompting.errors import InputRejected
from prompting.models import Document, Run
from prompting.runs import dispatch, relay
from prompting.runs.lifecycle import run_finish
from prompting.summarize import documents, pipeline
from prompting.summarize import selectors as summarize_selectors
from tests.prompting.summarize.pdf_factory import make_pdf, report_pages

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def long_text(sections: int = 6, paragraph_words: int = 400) -> str:
    """Markdown with `sections` headed sections of ~2.4 KB each."""
    body = " ".join(["The quarterly rider report shows steady growth."] * (paragraph_words // 7))
    return "\n\n".join(f"# Section {i}\n\n{body}" for i in range(1, sections + 1))


def rejected_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="document.rejected").order_by("id"))


def relay_events(run: Run) -> list[tuple[str, dict[str, Any]]]:
    entries = redis_client().xrange(relay.stream_key(run.pk))
    return [(f["type"], json.loads(f["data"])) for _id, f in entries]  # type: ignore[union-attr]


@pytest.fixture
def small_parts(settings: Any) -> None:
    """Parts of ~1,000 tokens, so a few KB of text needs several parts."""
    settings.SUMMARY_PART_MAX_TOKENS = 1_000


@pytest.fixture
def no_queue(dispatched: Any) -> list[tuple[str, tuple[Any, ...]]]:
    """Record dispatched steps instead of queueing them (these tests have no worker); a
    finished part's summary step runs at once, as a worker would run it."""
    dispatched.inline.add(dispatch.SUMMARY_PART_FINISHED)
    return dispatched


# --- Documents --------------------------------------------------------------------------------


def test_paste_becomes_a_ready_document_with_sections(alice: Any) -> None:
    """Pasted Markdown is ready at once, with its headings as sections and a token count."""
    document = documents.document_create_from_text(user=alice, text=long_text(3))
    assert document.status == Document.Status.READY
    assert [s["title"] for s in document.sections] == ["Section 1", "Section 2", "Section 3"]
    assert document.token_estimate == len(document.text) // 4 + (len(document.text) % 4 > 0)


def test_empty_paste_is_refused_and_recorded(alice: Any) -> None:
    """An empty paste is a sentence, and a document.rejected event (reason, size)."""
    with pytest.raises(InputRejected) as caught:
        documents.document_create_from_text(user=alice, text="   \n ")
    assert caught.value.user_message == "Paste some text or choose a file first."
    [event] = rejected_events()
    assert event.details["reason"] == "empty"
    assert event.actor_id == alice.pk


def test_five_megabyte_paste_is_refused_with_the_limit(alice: Any) -> None:
    """A 5 MB paste through the page (sent as a file part) is refused naming the limit,
    without keeping any of its content."""
    text = "Rider Anna Berg complained. " * (5 * 1024 * 1024 // 28)
    reply = client_for(alice).post(
        "/summarize/documents",
        {"paste": SimpleUploadedFile("pasted.txt", text.encode(), content_type="text/plain")},
    )
    assert reply.status_code == 400
    assert "Summarize accepts up to 2,000,000" in reply.json()["error"]
    assert not Document.objects.exists()
    [event] = rejected_events()
    assert event.details == {"reason": "too_long", "size": len(text), "tool": "summarize"}
    assert "Anna" not in json.dumps(event.details) and not event.content


def test_five_megabyte_form_field_is_a_sentence_not_a_bare_400(alice: Any) -> None:
    """A 5 MB text posted as a form field exceeds Django's in-memory form limit: the
    answer is 413 with a sentence naming 2.5 MB and what to do instead."""
    reply = client_for(alice).post("/summarize/documents", {"text": "x" * (5 * 1024 * 1024)})
    assert reply.status_code == 413
    assert "larger than 2.5 MB" in reply.json()["error"]
    assert "upload it as a file" in reply.json()["error"]


def test_invalid_utf8_paste_bytes_are_refused(alice: Any) -> None:
    """Paste bytes that are not UTF-8 get the same sentence as an uploaded text file."""
    with pytest.raises(InputRejected) as caught:
        documents.document_create_from_text(user=alice, text=b"ok \xff\xfe bad")
    assert caught.value.code == "invalid_utf8"
    assert rejected_events()[0].details["reason"] == "invalid_utf8"


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("report.pdf", b"\x89PNG\r\n\x1a\n0000", "type_mismatch", "a PNG image"),
        ("notes.txt", b"caf\xe9", "invalid_utf8", "not valid UTF-8"),
        ("blank.md", b"\n\n   \n", "empty", "no text"),
        ("broken.pdf", b"%PDF-1.4\nnothing else", "malformed_pdf", "damaged"),
    ],
)
def test_unreadable_upload_fails_in_the_worker_with_a_sentence(
    alice: Any,
    no_queue: list[Any],
    django_capture_on_commit_callbacks: Any,
    name: str,
    data: bytes,
    code: str,
    words: str,
) -> None:
    """The upload is accepted, the worker's extraction refuses it: the document says why,
    the file is deleted, and document.rejected records reason and size."""
    with django_capture_on_commit_callbacks(execute=True):
        reply = client_for(alice).post(
            "/summarize/documents", {"file": SimpleUploadedFile(name, data)}
        )
    assert reply.status_code == 201, reply.content
    assert no_queue == [(dispatch.EXTRACT_DOCUMENT, (reply.json()["id"],))]
    documents.document_extract(document_id=reply.json()["id"])
    status = client_for(alice).get(reply.json()["status_url"]).json()
    assert status["status"] == "failed"
    assert words in status["error"]
    document = Document.objects.get()
    assert not document.upload
    [event] = rejected_events()
    assert event.details["reason"] == code and event.details["size"] == len(data)


def test_unsupported_or_empty_upload_is_refused_at_once(alice: Any) -> None:
    """Wrong extension and zero bytes are refused by the web process, with a sentence."""
    client = client_for(alice)
    reply = client.post("/summarize/documents", {"file": SimpleUploadedFile("run.exe", b"MZ")})
    assert reply.status_code == 400 and "not a supported file type" in reply.json()["error"]
    reply = client.post("/summarize/documents", {"file": SimpleUploadedFile("a.pdf", b"")})
    assert reply.status_code == 400 and "empty" in reply.json()["error"]
    assert [e.details["reason"] for e in rejected_events()] == ["unsupported_type", "empty"]


def test_uploaded_pdf_is_extracted_by_the_worker_service(alice: Any, no_queue: list[Any]) -> None:
    """A good PDF ends ready with pages as sections, and the uploaded file is removed."""
    upload = SimpleUploadedFile("r.pdf", make_pdf(report_pages(5)), content_type="application/pdf")
    document = documents.document_create_from_upload(user=alice, uploaded=upload)
    stored = document.upload.path
    documents.document_extract(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert len(document.sections) == 5 and document.token_estimate
    assert not document.upload
    import os

    assert not os.path.exists(stored)


# --- Estimate ---------------------------------------------------------------------------------


def test_estimate_shows_tokens_parts_and_cost_before_running(alice: Any, small_parts: None) -> None:
    """The status endpoint gives size, parts and an upper-bound cost for the options."""
    document = documents.document_create_from_text(user=alice, text=long_text(6))
    from prompting.selectors import model_default

    model = model_default()
    reply = client_for(alice).get(
        f"/summarize/documents/{document.pk}", {"model": model.id, "length": "short"}
    )
    estimate = reply.json()["estimate"]
    assert estimate["tokens"] == document.token_estimate
    assert estimate["parts"] > 1
    longer = summarize_selectors.summary_estimate(
        document=document, model_id=model.id, length="long"
    )
    assert longer.parts == estimate["parts"]
    assert (
        longer.cost_usd
        > summarize_selectors.summary_estimate(
            document=document, model_id=model.id, length="short"
        ).cost_usd
    )


# --- Starting, judging, progress, combining -------------------------------------------------


def start(user: Any, text: str, **options: str) -> Run:
    from prompting.selectors import model_default

    document = documents.document_create_from_text(user=user, text=text)
    return pipeline.summary_start(
        user=user,
        document_id=document.pk,
        model_id=options.get("model", model_default().id),
        length=options.get("length", "short"),
        style=options.get("style", "bullets"),
    )


def test_parts_share_one_pseudonym_mapping(
    alice: Any, small_parts: None, no_queue: list[Any]
) -> None:
    """The same name in the first and the last part gets the same placeholder, and every
    part is judged and recorded (prompt.submitted) before it is queued for Bedrock."""
    text = long_text(6).replace("# Section 1\n\n", "# Section 1\n\nCall Maria Gonzalez. ")
    text = text.replace("# Section 6\n\n", "# Section 6\n\nMaria Gonzalez agreed. ")
    parent = start(alice, text)
    parts = list(parent.parts.order_by("part_index"))
    assert len(parts) >= 3
    allowed = pipeline.summary_judge_parts(parent_id=parent.pk)
    assert allowed == [str(p.pk) for p in parts]
    first, last = (Run.objects.get(pk=p.pk) for p in (parts[0], parts[-1]))
    assert first.user_message is not None and last.user_message is not None
    assert "<PERSON_1>" in first.user_message.sanitized_content
    assert "<PERSON_1>" in last.user_message.sanitized_content
    assert "Maria" not in first.user_message.sanitized_content + last.user_message.sanitized_content
    events = AuditEvent.objects.filter(action="prompt.submitted")
    assert sorted(events.values_list("target_id", flat=True)) == sorted(str(p.pk) for p in parts)
    assert relay_events(parent) == [("progress", {"done": 0, "total": len(parts)})]


def test_a_blocked_part_blocks_the_whole_summary(
    alice: Any, small_parts: None, no_queue: list[Any]
) -> None:
    """A password in one part: nothing is queued, every run is blocked, the sentence names
    the part and the kind of data, and exactly one prompt.blocked event records the refusal."""
    text = long_text(6).replace("# Section 4\n\n", "# Section 4\n\nThe db password=Zq7-536221234. ")
    parent = start(alice, text)
    assert pipeline.summary_judge_parts(parent_id=parent.pk) == []
    parent.refresh_from_db()
    assert parent.status == Run.Status.BLOCKED
    assert "a password" in parent.error_message
    assert "Section 4" in parent.error_message and "nothing was sent" in parent.error_message
    assert set(parent.parts.values_list("status", flat=True)) == {Run.Status.BLOCKED}
    [event] = AuditEvent.objects.filter(action="prompt.blocked")
    assert event.target_id == str(parent.pk)
    assert event.details["blocked_types"] == ["PASSWORD"]
    assert "536221234" not in json.dumps(event.details) + event.content
    assert not AuditEvent.objects.filter(action="prompt.submitted").exists()
    assert relay_events(parent)[-1][0] == "error"
    assert [name for name, _ in no_queue if name == dispatch.GENERATE_RUN] == []


def test_short_document_is_one_call_without_parts(alice: Any, no_queue: list[Any]) -> None:
    """A document that fits one part is summarized by the parent run alone."""
    parent = start(alice, "# Note\n\nThe driver arrived late twice this week.")
    assert not parent.parts.exists()
    assert pipeline.summary_judge_parts(parent_id=parent.pk) == [str(parent.pk)]
    parent.refresh_from_db()
    assert parent.decision in ("allow", "pseudonymize")
    assert parent.source_sections == ["Note"]


def finish_part(
    part: Run, text: str, status: str = Run.Status.DONE, capture: Any = None, **kwargs: Any
) -> None:
    """The part streamed and ends; the summary step it queues on commit runs (no_queue)."""
    Run.objects.filter(pk=part.pk).update(status=Run.Status.STREAMING)
    with capture(execute=True):
        assert run_finish(run_id=part.pk, status=status, sanitized_text=text, **kwargs)


def test_progress_then_the_combining_step_gets_every_part_summary(
    alice: Any, small_parts: None, no_queue: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Each finished part sends progress on the parent's stream; the last one queues the
    combining step, whose message holds every part's summary under its sections."""
    parent = start(alice, long_text(6))
    pipeline.summary_judge_parts(parent_id=parent.pk)
    parts = list(parent.parts.order_by("part_index"))
    for i, part in enumerate(parts):
        finish_part(
            part,
            f"Summary of part {i + 1} about <PERSON_1>.",
            capture=django_capture_on_commit_callbacks,
        )
    progress = [data for kind, data in relay_events(parent) if kind == "progress"]
    assert [p["done"] for p in progress] == list(range(len(parts) + 1))
    assert no_queue[-1] == (dispatch.SUMMARY_REDUCE, (str(parent.pk),))

    assert pipeline.summary_reduce_prepare(parent_id=parent.pk)
    assert not pipeline.summary_reduce_prepare(parent_id=parent.pk)  # a duplicate is a no-op
    parent.refresh_from_db()
    assert parent.user_message is not None
    combined = parent.user_message.content
    for i in range(len(parts)):
        assert f"Summary of part {i + 1}" in combined
    assert "## Part 1 of" in combined and "(Section 1" in combined
    sources = summarize_selectors.summary_sources(parent)
    assert len(sources) == len(parts) and sources[0]["sections"].startswith("Section 1")


def test_a_failed_part_fails_the_summary_and_stops_the_others(
    alice: Any, small_parts: None, no_queue: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """One part failing ends the summary with a sentence naming it; the rest are stopped."""
    parent = start(alice, long_text(6))
    pipeline.summary_judge_parts(parent_id=parent.pk)
    parts = list(parent.parts.order_by("part_index"))
    finish_part(
        parts[1],
        "",
        capture=django_capture_on_commit_callbacks,
        status=Run.Status.FAILED,
        error_code="throttled",
        error_message="The model is busy.",
    )
    parent.refresh_from_db()
    assert parent.status == Run.Status.FAILED
    assert parent.error_message.startswith("Part 2 of")
    assert "The model is busy." in parent.error_message
    assert all(Run.objects.get(pk=p.pk).cancel_requested for p in parts if p.pk != parts[1].pk)
    assert relay_events(parent)[-1][0] == "error"


def test_reaper_leaves_a_parent_whose_parts_are_running(
    alice: Any, small_parts: None, no_queue: list[Any]
) -> None:
    """The parent waits queued while its parts run; the reaper must not interrupt it."""
    from datetime import timedelta

    from django.utils import timezone

    from prompting.runs.services import runs_reap_stale

    parent = start(alice, long_text(6))
    pipeline.summary_judge_parts(parent_id=parent.pk)
    long_ago = timezone.now() - timedelta(minutes=30)
    Run.objects.filter(pk=parent.pk).update(created_at=long_ago)
    Run.objects.filter(parent=parent).update(
        status=Run.Status.STREAMING, heartbeat_at=timezone.now(), created_at=long_ago
    )
    runs_reap_stale()
    parent.refresh_from_db()
    assert parent.status == Run.Status.QUEUED


# --- Options and owner scoping ------------------------------------------------------------------


def test_bad_options_are_sentences(alice: Any) -> None:
    """An unknown length or style is a 400 with a sentence, never a 500."""
    document = documents.document_create_from_text(user=alice, text="Some text.")
    reply = client_for(alice).post(
        f"/summarize/documents/{document.pk}/start", {"length": "huge", "style": "poem"}
    )
    assert reply.status_code == 400
    assert reply.json()["error"]


def test_other_users_get_404_on_every_summarize_route(
    alice: Any, bob: Any, no_queue: list[Any]
) -> None:
    """Bob gets 404 for Alice's document and summary on every route Summarize adds,
    and so does anyone for ids that do not exist or are not ids."""
    parent = start(alice, "# A\n\nAlice's private note.")
    document = parent.document
    assert document is not None
    bob_client = client_for(bob)
    options = {"model": parent.model_id, "length": "short", "style": "bullets"}
    routes = [
        ("get", f"/summarize/documents/{document.pk}", {}),
        ("post", f"/summarize/documents/{document.pk}/start", options),
        ("get", f"/summarize/runs/{parent.pk}", {}),
        ("post", f"/summarize/runs/{parent.pk}/cancel", {}),
        ("get", f"/runs/{parent.pk}/", {}),
        ("post", f"/runs/{parent.pk}/cancel", {}),
        ("get", "/summarize/documents/999999", {}),
        ("get", "/summarize/documents/not-a-number", {}),
        ("get", "/summarize/runs/not-a-uuid", {}),
    ]
    for method, url, data in routes:
        reply = getattr(bob_client, method)(url, data)
        assert reply.status_code == 404, (method, url, reply.status_code)
    # Alice herself still reaches them.
    assert client_for(alice).get(f"/summarize/runs/{parent.pk}").status_code == 200


def test_summarize_page_renders_with_labels(alice: Any) -> None:
    """The page has a labelled file input, paste box, options and the estimate area."""
    page = client_for(alice).get("/summarize/").content.decode()
    for control in ("sum-file", "sum-text", "sum-length", "sum-style", "sum-model"):
        assert f'<label for="{control}"' in page
    assert 'id="sum-estimate"' in page and "js/summarize.js" in page


def test_paste_from_the_page_is_ready_at_once(alice: Any) -> None:
    """The page sends a paste as a `paste` file part; a plain `text` field works too."""
    client = client_for(alice)
    reply = client.post(
        "/summarize/documents",
        {"paste": SimpleUploadedFile("pasted.txt", b"# Notes\n\nDriver was late.")},
    )
    assert reply.status_code == 201 and reply.json()["status"] == "ready"
    assert reply.json()["sections"] == 1
    reply = client.post("/summarize/documents", {"text": "Rider asked for a refund."})
    assert reply.status_code == 201 and reply.json()["status"] == "ready"
    reply = client.post("/summarize/documents", {})
    assert reply.status_code == 400
    assert reply.json()["error"] == "Choose a file or paste some text first."


def test_stop_cancels_every_part_and_the_summary(
    alice: Any, small_parts: None, no_queue: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Stop asks every active part and the parent to stop; a stopped part ends the
    summary as cancelled (not failed)."""
    parent = start(alice, long_text(6))
    pipeline.summary_judge_parts(parent_id=parent.pk)
    reply = client_for(alice).post(f"/summarize/runs/{parent.pk}/cancel")
    assert reply.status_code == 200
    parts = list(parent.parts.order_by("part_index"))
    assert all(Run.objects.get(pk=p.pk).cancel_requested for p in parts)
    finish_part(
        parts[0], "", status=Run.Status.CANCELLED, capture=django_capture_on_commit_callbacks
    )
    parent.refresh_from_db()
    assert parent.status == Run.Status.CANCELLED
    assert parent.error_message == "The summary was stopped."


def test_text_without_headings_names_character_ranges(
    alice: Any, small_parts: None, no_queue: list[Any]
) -> None:
    """Parts of a text with no headings say which characters they covered."""
    text = " ".join(["The rider waited at the airport for the driver."] * 400)
    parent = start(alice, text)
    parts = list(parent.parts.order_by("part_index"))
    assert len(parts) > 1
    assert parts[0].source_sections[0].startswith("Characters 1\u2013")
    assert summarize_selectors.summary_sources(parent)[-1]["sections"].endswith(f"{len(text):,}")


def test_a_document_never_summarized_is_purged_with_its_conversation(alice: Any) -> None:
    """Every document belongs to a summarize conversation from the start, so retention
    deletes its text even if no summary was ever run."""
    from datetime import timedelta

    from django.utils import timezone

    from prompting.retention import conversations_purge

    document = documents.document_create_from_text(user=alice, text="Rider Anna Berg's refund.")
    assert document.conversation is not None
    assert document.conversation.tool == "summarize"
    conversations_purge(now=timezone.now() + timedelta(days=365))
    assert not Document.objects.filter(pk=document.pk).exists()


def test_summaries_of_one_document_share_its_mapping(alice: Any, no_queue: list[Any]) -> None:
    """A second summary of the same document runs in the same conversation (one mapping)."""
    first = start(alice, "# A\n\nCall Maria Gonzalez today.")
    assert first.document is not None
    from prompting.selectors import model_default

    second = pipeline.summary_start(
        user=alice,
        document_id=first.document.pk,
        model_id=model_default().id,
        length="long",
        style="executive",
    )
    assert second.conversation_id == first.conversation_id == first.document.conversation_id


def test_system_prompts_hold_no_document_text(
    alice: Any, small_parts: None, no_queue: list[Any]
) -> None:
    """Headings can hold personal data and system prompts skip the policy: they carry
    part numbers and instructions only; the headings reach the model only judged."""
    text = long_text(6).replace("# Section 2", "# Complaint from Maria Gonzalez")
    parent = start(alice, text)
    parts = parent.parts.order_by("part_index").values_list("system_prompt", flat=True)
    prompts = [parent.system_prompt, *parts]
    assert all("Maria" not in prompt and "Section" not in prompt for prompt in prompts)
    assert "part 1 of" in prompts[1]
