"""Summarize's documents: an upload or a paste in, text and sections out.

`document_create_from_upload` (web) stores the file and queues extraction;
`document_extract` (cpu worker, task extract_document) turns it into text and sections
in a resource-limited child (extraction_child.py). `document_create_from_text` handles a
paste at once. Every refusal is a sentence and a document.rejected event (reason and
size, never content).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from audit.actions import Action
from audit.services import audit_record
from config.text import InvalidText, clean_text
from prompting.errors import InputRejected
from prompting.llm.models import estimate_tokens
from prompting.models import Conversation, Document, Tool
from prompting.runs import dispatch
from prompting.runs.redaction import offset_mover, redact_on_arrival
from prompting.selectors import model_default, policy_in_force
from prompting.summarize.extraction import (
    Extracted,
    ExtractionError,
    Section,
    decode_utf8,
    extract_markdown,
    kind_for_filename,
)
from prompting.summarize.extraction_child import extract_in_child

logger = logging.getLogger(__name__)


def _rejected(
    *, user: Any, reason: str, message: str, size: int, status: int = 400
) -> InputRejected:
    """Record a refused document (reason and size only, never content) and build the error."""
    audit_record(
        actor=user,
        action=Action.DOCUMENT_REJECTED,
        outcome="rejected",
        details={"reason": reason, "size": size, "tool": Tool.SUMMARIZE},
    )
    error = InputRejected(message, code=reason)
    error.status = status
    return error


def max_upload_bytes() -> int:
    return int(settings.MAX_UPLOAD_MB) * 1024 * 1024


def too_long_message(chars: int) -> str:
    limit = settings.SUMMARY_MAX_DOCUMENT_CHARS
    return (
        f"The text has {chars:,} characters; Summarize accepts up to {limit:,} "
        f"(about {limit // 3_000:,} pages). Split it and summarize the parts separately."
    )


def document_create_from_upload(*, user: Any, uploaded: UploadedFile) -> Document:
    """Store an uploaded file and queue its extraction. Refusals are audited."""
    name = (uploaded.name or "document").rsplit("/", 1)[-1][:255]
    # A file named after a card number is stored (name, title) without it, like its text.
    name = redact_on_arrival(name, policy=policy_in_force())[0][:255]
    size = int(uploaded.size or 0)
    try:
        kind = kind_for_filename(name)
    except ExtractionError as exc:
        raise _rejected(user=user, reason=exc.code, message=exc.user_message, size=size) from None
    if size > max_upload_bytes():
        # The ASGI middleware refuses these before the body is read; this covers other servers.
        raise _rejected(
            user=user,
            reason="too_large",
            size=size,
            status=413,
            message=f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.",
        )
    if size == 0:
        raise _rejected(
            user=user,
            reason="empty",
            size=0,
            message="The file is empty: there is nothing to summarize.",
        )
    with transaction.atomic():
        document = Document(
            owner=user,
            conversation=conversation_for_document(user=user, title=name),
            filename=name,
            declared_type=kind,
            size_bytes=size,
            status=Document.Status.PENDING,
        )
        # The stored name is not the uploaded one: nobody picks paths on our disk.
        document.upload.save(f"{kind}.upload", uploaded, save=False)
        document.save()
        dispatch.dispatch(dispatch.EXTRACT_DOCUMENT, document.pk)
    return document


def conversation_for_document(*, user: Any, title: str) -> Conversation:
    """Every document belongs to a summarize conversation from the start: it holds the
    pseudonym mapping, and its retention (CONVERSATION_RETENTION_DAYS) deletes the
    document's text with it, also for a document that was never summarized."""
    return Conversation.objects.create(
        owner=user,
        tool=Tool.SUMMARIZE,
        model_id=model_default().id,
        title=f"Summary: {' '.join(title.split())[:60]}"[:200],
    )


def document_create_from_text(*, user: Any, text: str | bytes) -> Document:
    """A pasted text: checked and split into sections at once (no worker needed).
    Bytes (the page sends a paste as a file part) must be UTF-8, like uploaded text."""
    if isinstance(text, bytes):
        try:
            text = decode_utf8(text)
        except ExtractionError as exc:
            raise _rejected(
                user=user, reason=exc.code, message=exc.user_message, size=len(text)
            ) from None
    else:
        try:
            text = clean_text(text)
        except InvalidText as exc:
            raise _rejected(
                user=user, reason="invalid_text", message=exc.user_message, size=len(text)
            ) from None
    size = len(text.encode())
    if not text.strip():
        raise _rejected(
            user=user, reason="empty", size=size, message="Paste some text or choose a file first."
        )
    if len(text) > settings.SUMMARY_MAX_DOCUMENT_CHARS:
        raise _rejected(
            user=user, reason="too_long", size=size, message=too_long_message(len(text))
        )
    # Stored without the values the policy redacts (docs/policy.md, "Wave 3"): the web
    # process, pattern recognizers only. Sections are found in the stored text.
    text, _redacted = redact_on_arrival(text, policy=policy_in_force())
    extracted = extract_markdown(text)
    return Document.objects.create(
        owner=user,
        conversation=conversation_for_document(user=user, title=text),
        filename="",
        declared_type="paste",
        size_bytes=size,
        status=Document.Status.READY,
        text=text,
        sections=[_section_json(s) for s in extracted.sections],
        token_estimate=estimate_tokens(text),
    )


def _section_json(section: Section) -> dict[str, Any]:
    return {"title": section.title, "start": section.start, "end": section.end}


def document_extract(*, document_id: int) -> None:
    """Worker: extract the text in a limited child process; store it or the reason."""
    claimed = Document.objects.filter(pk=document_id, status=Document.Status.PENDING).update(
        status=Document.Status.EXTRACTING
    )
    if not claimed:
        return  # duplicate delivery, or already done
    document = Document.objects.select_related("owner").get(pk=document_id)
    try:
        extracted = _extract_stored_upload(document)
        if len(extracted.text) > settings.SUMMARY_MAX_DOCUMENT_CHARS:
            raise ExtractionError("too_long", too_long_message(len(extracted.text)))
    except ExtractionError as exc:
        document_fail(document_id=document_id, code=exc.code, message=exc.user_message)
        return
    # The text is stored without the values the policy redacts (docs/policy.md, "Wave
    # 3"); section offsets move with it.
    text, redacted = redact_on_arrival(extracted.text, policy=policy_in_force(), with_ner=True)
    moved = offset_mover(redacted)
    Document.objects.filter(pk=document_id).update(
        status=Document.Status.READY,
        text=text,
        sections=[
            {**_section_json(s), "start": moved(s.start), "end": moved(s.end)}
            for s in extracted.sections
        ],
        notes=extracted.notes,
        token_estimate=estimate_tokens(text),
    )
    _delete_upload(document)


def _extract_stored_upload(document: Document) -> Extracted:
    """Copy the upload to a local temporary file for the child. Through the storage API
    (not `.path`), so web and workers on different machines can share S3 or any other
    storage; with the default FileSystemStorage, MEDIA_ROOT must be a shared volume."""
    with (
        document.upload.open("rb") as stored,
        tempfile.NamedTemporaryFile(prefix="extract-", suffix=".upload") as local,
    ):
        shutil.copyfileobj(stored, local)
        local.flush()
        return extract_in_child(Path(local.name), document.declared_type)


def document_fail(*, document_id: int, code: str, message: str) -> None:
    """The document cannot be read: say why, record it (reason and size, no content)."""
    with transaction.atomic():
        document = Document.objects.select_for_update().select_related("owner").get(pk=document_id)
        if document.status == Document.Status.FAILED:
            return
        document.status = Document.Status.FAILED
        document.error_message = message
        document.save(update_fields=["status", "error_message"])
        audit_record(
            actor=document.owner,
            action=Action.DOCUMENT_REJECTED,
            target=document,
            outcome="rejected",
            details={
                "reason": code,
                "size": document.size_bytes,
                "type": document.declared_type,
                "tool": Tool.SUMMARIZE,
            },
        )
    _delete_upload(document)


def _delete_upload(document: Document) -> None:
    # The original file is customer data we no longer need once the text is out (or
    # cannot be got out); the text lives with the conversation and its retention.
    if document.upload:
        try:
            document.upload.delete(save=False)
        except OSError:
            logger.warning("could not delete the upload of document %s", document.pk)
        Document.objects.filter(pk=document.pk).update(upload="")
