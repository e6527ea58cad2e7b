"""A long document summarized end to end through the real parts: uvicorn (upload and
extraction status), the Celery worker (extraction, policy, parts in parallel, the
combining call), the Bedrock emulator, and the SSE stream with progress events."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from audit.models import AuditEvent
from prompting.models import Run
from prompting.summarize import pipeline
from prompting.summarize.options import LENGTHS
from tests.prompting.summarize.pdf_factory import make_pdf, report_pages
from tests.support.site import session_cookie_for
from tests.support.sse import open_stream, read_events

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def upload(live_site: str, cookie: str, name: str, data: bytes) -> tuple[int, Any]:
    """POST a file as the page does: multipart, CSRF cookie + header."""
    token = "b" * 32
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    parts = urlsplit(live_site)
    assert parts.hostname
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request(
        "POST",
        "/summarize/documents",
        body=body,
        headers={
            "Cookie": f"{cookie}; {settings.CSRF_COOKIE_NAME}={token}",
            "X-CSRFToken": token,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": f"{live_site}/",
        },
    )
    reply = connection.getresponse()
    return reply.status, json.loads(reply.read())


def get_json(live_site: str, cookie: str, path: str) -> tuple[int, Any]:
    parts = urlsplit(live_site)
    assert parts.hostname
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie, "Accept": "application/json"})
    reply = connection.getresponse()
    return reply.status, json.loads(reply.read())


def wait_ready(live_site: str, cookie: str, status_url: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _status, data = get_json(live_site, cookie, status_url)
        if data["status"] in ("ready", "failed"):
            return data
        time.sleep(0.2)
    raise AssertionError("the document was not extracted in time")


def test_long_pdf_is_summarized_in_parts_with_progress(
    live_site: str, alice: Any, bedrock_emulator: Any, settings: Any
) -> None:
    """Upload → extraction in the worker → parts judged with one mapping → parts in
    parallel → progress events → combined answer; the name on the first and the last page
    reaches Bedrock as the same placeholder, never as itself; every call is audited."""
    pages = report_pages(40)
    pages[0].append("Escalate to Maria Gonzalez before Friday.")
    pages[-1].append("Maria Gonzalez approved the plan.")
    cookie = session_cookie_for(alice)
    status, document = upload(live_site, cookie, "ops.pdf", make_pdf(pages))
    assert status == 201, document
    document = wait_ready(live_site, cookie, document["status_url"])
    assert document["status"] == "ready", document
    assert document["sections"] == 40

    settings.SUMMARY_PART_MAX_TOKENS = 2_500  # ~10 pages a part, so 40 pages need several
    before = len(bedrock_emulator.received)  # the emulator serves the whole session
    parent = pipeline.summary_start(
        user=alice,
        document_id=document["id"],
        model_id=_default_model_id(),
        length="short",
        style="bullets",
    )
    parts = list(parent.parts.order_by("part_index"))
    assert len(parts) >= 4

    _conn, response = open_stream(live_site, f"/runs/{parent.pk}/events", cookie, timeout=90)
    events = read_events(response, deadline_s=90)
    assert events[-1].event == "done", events[-1]
    progress = [e.data for e in events if e.event == "progress"]
    assert progress[0] == {"done": 0, "total": len(parts)}
    assert progress[-1]["done"] == len(parts) and progress[-1].get("combining")
    assert "Maria Gonzalez" in events[-1].data["text"]  # restored for the owner

    sent = [
        r
        for r in list(bedrock_emulator.received)[before:]
        if "Operations report page" in r.last_user_text
        or r.last_user_text.startswith("Summaries of the parts")
    ]
    assert len(sent) == len(parts) + 1, [r.last_user_text[:40] for r in sent]
    assert all(r.max_tokens == LENGTHS["short"].max_output_tokens for r in sent)
    assert all("Maria" not in r.last_user_text for r in sent)
    with_name = [r for r in sent if "<PERSON_1>" in r.last_user_text]
    assert len(with_name) >= 3  # first part, last part, and the combining call

    for run in [*parts, parent]:
        actions = list(
            AuditEvent.objects.filter(target_id=str(run.pk))
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == ["prompt.submitted", "generation.finished"], (run.part_index, actions)
    parent.refresh_from_db()
    assert parent.status == Run.Status.DONE

    status, result = get_json(live_site, cookie, f"/summarize/runs/{parent.pk}")
    assert status == 200
    assert result["progress"] == {"done": len(parts), "total": len(parts)}
    assert result["sources"][0]["sections"].startswith("Pages 1\u2013")
    assert result["sources"][-1]["sections"].endswith("40")


def _default_model_id() -> str:
    from prompting.selectors import model_default

    return model_default().id


def test_encrypted_pdf_upload_fails_with_a_sentence(live_site: str, alice: Any) -> None:
    """A password-protected PDF goes through the real worker and comes back as a sentence."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(report_pages(2)))))
    writer.encrypt(user_password="secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    cookie = session_cookie_for(alice)
    status, document = upload(live_site, cookie, "locked.pdf", out.getvalue())
    assert status == 201
    document = wait_ready(live_site, cookie, document["status_url"])
    assert document["status"] == "failed"
    assert "password-protected" in document["error"]
    assert AuditEvent.objects.filter(action="document.rejected", outcome="rejected").exists()
