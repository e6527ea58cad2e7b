"""Summarize: documents in, one summary out. Services for the web views and the workers.

The path of a summary (docs/summarize.md):

1. `document_create_from_upload` (web) stores the file; `document_extract` (cpu worker,
   task `extract_document`) turns it into text + sections in a resource-limited child.
   `document_create_from_text` handles a paste at once.
2. `summary_estimate`: tokens, parts and an upper bound of the cost, before anything runs.
3. `summary_start` (web): one summarize conversation (it holds the pseudonym mapping), a
   parent run, and one run per part when the document is longer than one part.
4. `summary_judge_parts` (cpu worker): all parts through the policy in one batched pass
   with ONE mapping; a single blocked part blocks the whole summary. Allowed parts go to
   `generate_run` (interactive worker) in parallel.
5. Each finished part calls `summary_part_finished` (hook in `generation.run_finish`):
   a progress event on the parent's stream; the last part queues `summary_reduce`.
6. `summary_reduce_prepare` (cpu worker) gives the parent run the part summaries as its
   message; the parent is judged (`services.run_judge`) and generated like any run. Its
   `source_sections` say which sections fed the result.

A short document skips steps 5 and 6: the parent run itself is the only call.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit import actions
from audit.services import audit_record
from prompting import relay, services
from prompting.chunking_documents import (
    PROMPT_OVERHEAD_TOKENS,
    Part,
    describe_sections,
    part_budget_tokens,
    split_into_parts,
)
from prompting.crypto import decrypt_mapping, encrypt_mapping
from prompting.documents import (
    Extracted,
    ExtractionError,
    Section,
    decode_utf8,
    extract_in_child,
    extract_markdown,
    kind_for_filename,
    normalize_newlines,
)
from prompting.errors import InputRejected, NotFound
from prompting.llm.models import ModelSpec, cost_usd, estimate_tokens
from prompting.models import Conversation, Document, Message, Run, Tool
from prompting.policy import Judgement, PolicyError, get_analyzer, judge_many
from prompting.policy.errors import AnalysisFailed
from prompting.selectors import (
    known_person_names,
    model_default,
    model_get,
    policy_in_force,
    policy_version_in_force,
)

logger = logging.getLogger(__name__)

# A refused upload or paste (reason and size only). Not in audit.actions yet.
DOCUMENT_REJECTED = "document.rejected"

# Length → (words asked for, output cap in tokens). The cap bounds the cost estimate.
LENGTHS: dict[str, tuple[str, int]] = {
    "short": ("about 150 words", 400),
    "medium": ("about 400 words", 1_000),
    "long": ("about 900 words", 2_400),
}
STYLES: dict[str, str] = {
    "bullets": "Write the summary as Markdown bullet points, most important first.",
    "executive": (
        "Write an executive summary: a one-sentence bottom line, then short paragraphs on "
        "findings, risks and decisions needed."
    ),
    "actions": (
        "List the action items as a Markdown checklist: who (if named), what, and by when "
        "(if stated). Then one line on anything left open."
    ),
}
PLACEHOLDER_RULE = (
    "Placeholders such as <PERSON_1> or <EMAIL_ADDRESS_2> stand for personal data that was "
    "removed; keep them exactly as written and never guess what they stand for."
)
# Policy analysis of a whole document (a 300-page PDF: ~10 s on one core).
POLICY_TIMEOUT_S = 240.0
PART_STATUS_FAILED = (
    Run.Status.FAILED,
    Run.Status.BLOCKED,
    Run.Status.INTERRUPTED,
    Run.Status.CANCELLED,
)
ACTIVE = (Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.STREAMING)
# Same as the reaper's stuck-in-queue bound (services.STUCK_IN_QUEUE).
PARENT_WAIT_AFTER_LAST_PART = timedelta(minutes=10)


# --- Documents --------------------------------------------------------------------------------


def _rejected(
    *, user: Any, reason: str, message: str, size: int, status: int = 400
) -> InputRejected:
    """Record a refused document (reason and size only, never content) and build the error."""
    audit_record(
        actor=user,
        action=DOCUMENT_REJECTED,
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
            conversation=_conversation_for(user=user, title=name),
            filename=name,
            declared_type=kind,
            size_bytes=size,
            status=Document.Status.PENDING,
        )
        # The stored name is not the uploaded one: nobody picks paths on our disk.
        document.upload.save(f"{kind}.upload", uploaded, save=False)
        document.save()
        _enqueue_extraction(document)
    return document


def _conversation_for(*, user: Any, title: str) -> Conversation:
    """Every document belongs to a summarize conversation from the start: it holds the
    pseudonym mapping, and its retention (CONVERSATION_RETENTION_DAYS) deletes the
    document's text with it, also for a document that was never summarized."""
    return Conversation.objects.create(
        owner=user,
        tool=Tool.SUMMARIZE,
        model_id=model_default().id,
        title=f"Summary: {' '.join(title.split())[:60]}"[:200],
    )


def _enqueue_extraction(document: Document) -> None:
    from prompting.tasks import extract_document

    transaction.on_commit(lambda: extract_document.delay(document.pk))


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
    text = normalize_newlines(text)
    size = len(text.encode())
    if not text.strip():
        raise _rejected(
            user=user, reason="empty", size=size, message="Paste some text or choose a file first."
        )
    if len(text) > settings.SUMMARY_MAX_DOCUMENT_CHARS:
        raise _rejected(
            user=user, reason="too_long", size=size, message=too_long_message(len(text))
        )
    extracted = extract_markdown(text)
    return Document.objects.create(
        owner=user,
        conversation=_conversation_for(user=user, title=text),
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
    Document.objects.filter(pk=document_id).update(
        status=Document.Status.READY,
        text=extracted.text,
        sections=[_section_json(s) for s in extracted.sections],
        notes=extracted.notes,
        token_estimate=estimate_tokens(extracted.text),
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
            action=DOCUMENT_REJECTED,
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


def document_get_for_user(*, user: Any, document_id: Any) -> Document:
    try:
        return Document.objects.get(pk=int(document_id), owner=user)
    except (Document.DoesNotExist, ValueError, TypeError):
        raise NotFound("That document") from None


# --- Estimate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryEstimate:
    tokens: int
    parts: int
    cost_usd: Decimal  # an upper bound: every answer at its full length
    model_label: str
    part_tokens: int


def _length_cap(length: str) -> int:
    if length not in LENGTHS:
        raise InputRejected("Choose a length: short, medium or long.")
    return LENGTHS[length][1]


def _parts_for(document: Document, spec: ModelSpec, output_tokens: int) -> tuple[list[Part], int]:
    budget = part_budget_tokens(
        spec,
        output_tokens=output_tokens,
        cap_tokens=settings.SUMMARY_PART_MAX_TOKENS,
        max_chars=settings.MAX_PROMPT_CHARS,
    )
    sections = [Section(**s) for s in document.sections]
    return split_into_parts(document.text, sections, max_chars=budget * 4), budget


def summary_estimate(*, document: Document, model_id: str, length: str) -> SummaryEstimate:
    """Size, number of parts and the most it can cost, from the text alone (no call)."""
    if document.status != Document.Status.READY:
        raise InputRejected("The document is not ready yet.")
    spec = model_get(model_id)
    out = _length_cap(length)
    parts, budget = _parts_for(document, spec, out)
    input_tokens = sum(estimate_tokens(p.text) + PROMPT_OVERHEAD_TOKENS for p in parts)
    output_tokens = out * len(parts)
    if len(parts) > 1:  # the combining call reads every part's summary
        input_tokens += out * len(parts) + PROMPT_OVERHEAD_TOKENS
        output_tokens += out
    return SummaryEstimate(
        tokens=document.token_estimate or estimate_tokens(document.text),
        parts=len(parts),
        cost_usd=cost_usd(spec, input_tokens, output_tokens),
        model_label=spec.label,
        part_tokens=budget,
    )


# --- Starting a summary -----------------------------------------------------------------------


def _instructions(length: str, style: str) -> str:
    return f"{STYLES[style]} Length: {LENGTHS[length][0]}. {PLACEHOLDER_RULE}"


def part_label(part_index: int, total: int, titles: list[str]) -> str:
    where = describe_sections(titles)
    return f"Part {part_index + 1} of {total}" + (f" ({where})" if where else "")


@transaction.atomic
def summary_start(*, user: Any, document_id: Any, model_id: str, length: str, style: str) -> Run:
    """Create the summary's conversation and runs; the policy step is queued on commit."""
    document = document_get_for_user(user=user, document_id=document_id)
    if document.status != Document.Status.READY:
        raise InputRejected(document.error_message or "The document is not ready yet.")
    if style not in STYLES:
        raise InputRejected("Choose a style: bullet points, executive summary or action items.")
    out = _length_cap(length)
    spec = model_get(model_id)
    parts, _budget = _parts_for(document, spec, out)
    # Summaries of one document share its conversation, and so its pseudonym mapping.
    conversation = document.conversation or _conversation_for(
        user=user, title=document.filename or document.text
    )
    conversation.model_id = spec.id
    conversation.save(update_fields=["model_id", "updated_at"])
    if document.conversation_id != conversation.pk:
        document.conversation = conversation
        document.save(update_fields=["conversation"])
    instructions = _instructions(length, style)
    titles = {p.index: _source_titles(document, p) for p in parts}
    all_titles = [t for p in parts for t in titles[p.index]]
    parent = Run.objects.create(
        owner=user,
        conversation=conversation,
        tool=Tool.SUMMARIZE,
        model_id=spec.id,
        document=document,
        max_output_tokens=out,
        source_sections=list(dict.fromkeys(all_titles)),
        system_prompt=(
            f"You summarize a document for an employee. {instructions}"
            if len(parts) == 1
            else "You combine the summaries of the parts of one document into one summary. "
            f"Do not mention the parts. {instructions}"
        ),
    )
    if len(parts) == 1:
        parent.user_message = Message.objects.create(
            conversation=conversation, role=Message.Role.USER, content=parts[0].text
        )
        parent.save(update_fields=["user_message"])
    else:
        for part in parts:
            Run.objects.create(
                owner=user,
                conversation=conversation,
                tool=Tool.SUMMARIZE,
                model_id=spec.id,
                document=document,
                parent=parent,
                part_index=part.index,
                max_output_tokens=out,
                source_sections=titles[part.index],
                user_message=Message.objects.create(
                    conversation=conversation, role=Message.Role.USER, content=part.text
                ),
                # Numbers only: section titles are document text (a heading can hold a
                # name) and the system prompt does not go through the policy.
                system_prompt=(
                    f"You summarize part {part.index + 1} of {len(parts)} of a longer "
                    "document, for an employee; your summary will be combined with the "
                    f"others. {instructions}"
                ),
            )
    from prompting.tasks import summary_judge_parts

    transaction.on_commit(lambda: summary_judge_parts.delay(str(parent.pk)))
    return parent


def _source_titles(document: Document, part: Part) -> list[str]:
    """What a part covered, for "which sections fed it". A text without headings or
    pages has only the implicit "Beginning" section: name the character range instead."""
    if [s["title"] for s in document.sections] in ([], ["Beginning"]):
        return [f"Characters {part.start + 1:,}\u2013{part.end:,}"]
    return list(part.section_titles)


# --- The policy over all parts ----------------------------------------------------------------


def _judge_all(texts: list[str], mapping: Any) -> list[Judgement]:
    """One batched pass, one mapping. Any failure blocks everything (fail closed)."""
    policy = policy_in_force()
    try:
        return judge_many(
            texts,
            policy=policy,
            mapping=mapping,
            analyzer=get_analyzer(settings.COMPANY_ID_PATTERNS),
            known_names=known_person_names(),
            max_chars=settings.MAX_PROMPT_CHARS,
            timeout_s=POLICY_TIMEOUT_S,
        )
    except PolicyError as exc:
        error = exc
    except Exception:
        logger.exception("policy analysis of a summary failed; blocking it")
        error = AnalysisFailed()
    blocked = Judgement.blocked_by_error(error, policy_version=policy.version)
    return [blocked for _ in texts]


def summary_judge_parts(*, parent_id: Any) -> list[str]:
    """Judge every part; returns the ids of the runs that may now be generated."""
    parent = Run.objects.select_related("conversation", "owner", "user_message").get(pk=parent_id)
    parts = list(parent.parts.select_related("user_message").order_by("part_index"))
    runs = parts or [parent]
    if any(r.status != Run.Status.QUEUED or r.decision for r in runs):
        return []  # judged already (duplicate delivery) or stopped
    conversation = parent.conversation
    mapping = decrypt_mapping(conversation.pseudonym_map_encrypted)
    texts = [r.user_message.content if r.user_message else "" for r in runs]
    judgements = _judge_all(texts, mapping)
    version_row = policy_version_in_force()
    first_blocked = next(
        ((run, j) for run, j in zip(runs, judgements, strict=True) if j.decision == "block"), None
    )
    block_message = ""
    if first_blocked is not None:
        run, judgement = first_blocked
        where = (
            part_label(run.part_index or 0, len(runs), run.source_sections) + ": " if parts else ""
        )
        block_message = (
            f"{where}{judgement.user_message} The whole summary was stopped; "
            "nothing was sent to the model."
        )
    with transaction.atomic():
        if first_blocked is not None:
            # One refusal, one event: the summary was refused as a whole (on the parent),
            # whichever part caused it; the parts are marked blocked with the same reason.
            for run in parts:
                _mark_blocked(run, block_message, version_row)
            _block_parent(
                parent,
                message=block_message,
                version_row=version_row,
                judgements=judgements,
                runs=runs,
                input_chars=sum(len(t) for t in texts),
            )
        else:
            for run, judgement, text in zip(runs, judgements, texts, strict=True):
                _record_submitted(
                    run=run,
                    judgement=judgement,
                    version_row=version_row,
                    text=text,
                    parts_total=len(parts),
                )
            conversation.pseudonym_map_encrypted = encrypt_mapping(mapping)
            conversation.save(update_fields=["pseudonym_map_encrypted", "updated_at"])
    if first_blocked is not None:
        relay.relay_append(
            parent.pk, "error", {"code": "blocked", "message": block_message, "retryable": False}
        )
        return []
    if parts:
        relay.relay_append(parent.pk, "progress", {"done": 0, "total": len(parts)})
    return [str(r.pk) for r in runs]


def _record_submitted(
    *, run: Run, judgement: Judgement, version_row: Any, text: str, parts_total: int
) -> None:
    """A part (or a one-part summary) may be sent: store what the model will see, and its
    prompt.submitted event, as services.run_judge does for a chat message."""
    sanitized = judgement.sanitized_text or ""
    assert run.user_message is not None
    run.user_message.sanitized_content = sanitized
    run.user_message.save(update_fields=["sanitized_content"])
    run.policy_version = version_row
    run.findings_summary = dict(judgement.counts_by_type)
    run.decision = judgement.decision
    run.save()
    audit_record(
        actor=run.owner,
        action=actions.PROMPT_SUBMITTED,
        target=run,
        details={
            **services.judgement_details(
                run=run,
                policy_version=version_row.version,
                judgement=judgement,
                input_chars=len(text),
            ),
            "part_index": run.part_index,
            "parts_total": parts_total,
            "sanitized_sha256": hashlib.sha256(sanitized.encode()).hexdigest(),
        },
        content=sanitized if settings.AUDIT_STORE_CONTENT else "",
    )


def _mark_blocked(run: Run, message: str, version_row: Any) -> None:
    run.status = Run.Status.BLOCKED
    run.decision = "block"
    run.policy_version = version_row
    run.error_code = "blocked"
    run.error_message = message
    run.finished_at = timezone.now()
    run.save()


def _block_parent(
    parent: Run,
    *,
    message: str,
    version_row: Any,
    judgements: list[Judgement],
    runs: list[Run],
    input_chars: int,
) -> None:
    _mark_blocked(parent, message, version_row)
    blocked = [(r, j) for r, j in zip(runs, judgements, strict=True) if j.decision == "block"]
    findings: dict[str, int] = {}
    for judgement in judgements:
        for entity, count in judgement.counts_by_type.items():
            findings[entity] = findings.get(entity, 0) + count
    audit_record(
        actor=parent.owner,
        action=actions.PROMPT_BLOCKED,
        target=parent,
        outcome="blocked",
        details={
            "tool": parent.tool,
            "model": parent.model_id,
            "region": settings.BEDROCK_REGION,
            "policy_version": version_row.version,
            "decision": "block",
            "findings": findings,
            "blocked_types": sorted({t for _r, j in blocked for t in j.blocked_types}),
            "reason": blocked[0][1].reason,
            "input_chars": input_chars,
            "parts_total": len(runs),
            "blocked_parts": [r.part_index for r, _j in blocked],
        },
    )


def summary_block_after_error(*, parent_id: Any) -> None:
    """The policy task itself crashed: block the summary (one event, on the parent)."""
    parts = Run.objects.filter(parent_id=parent_id, status=Run.Status.QUEUED)
    parts.update(
        status=Run.Status.BLOCKED,
        decision="block",
        error_code="policy_error",
        error_message=services.POLICY_ERROR_MESSAGE,
        finished_at=timezone.now(),
    )
    services.run_block_after_error(run_id=parent_id)


# --- Parts finishing, then the combining call --------------------------------------------------


def summary_part_finished(*, part_id: Any) -> None:
    """A part ended (any outcome): report progress; the last one queues the combining step."""
    from prompting.generation import run_finish

    part = Run.objects.only("parent_id").get(pk=part_id)
    if part.parent_id is None:
        return
    with transaction.atomic():
        # The lock makes concurrent part endings take turns over the counts.
        parent = Run.objects.select_for_update().get(pk=part.parent_id)
        if parent.is_final or parent.user_message_id is not None:
            return
        parts = list(parent.parts.order_by("part_index"))
    total = len(parts)
    done = sum(1 for p in parts if p.status == Run.Status.DONE)
    relay.relay_append(parent.pk, "progress", {"done": done, "total": total})
    failed = next((p for p in parts if p.status in PART_STATUS_FAILED), None)
    if failed is not None:
        for other in parts:
            if other.status in ACTIVE:
                Run.objects.filter(pk=other.pk).update(cancel_requested=True)
                relay.cancel_request(other.pk)
        cancelled = failed.status == Run.Status.CANCELLED or parent.cancel_requested
        label = part_label(failed.part_index or 0, total, failed.source_sections)
        run_finish(
            run_id=parent.pk,
            status=Run.Status.CANCELLED if cancelled else Run.Status.FAILED,
            sanitized_text="",
            error_code="cancelled" if cancelled else "part_failed",
            error_message=(
                "The summary was stopped."
                if cancelled
                else f"{label} could not be summarized: {failed.error_message} "
                "Nothing else was combined; you can start the summary again."
            ),
            retryable=False,
        )
        return
    if done == total:
        from prompting.tasks import summary_reduce

        summary_reduce.delay(str(parent.pk))


def summary_reduce_prepare(*, parent_id: Any) -> bool:
    """Give the parent run the part summaries (as the model wrote them, with placeholders)
    as its message. True if this call did it (a duplicate delivery returns False)."""
    parent = Run.objects.get(pk=parent_id)
    parts = list(parent.parts.select_related("assistant_message").order_by("part_index"))
    if parent.user_message_id is not None or parent.is_final:
        return False
    if not parts or any(p.status != Run.Status.DONE for p in parts):
        return False
    blocks = []
    for p in parts:
        label = part_label(p.part_index or 0, len(parts), p.source_sections)
        body = p.assistant_message.sanitized_content if p.assistant_message else ""
        blocks.append(f"## {label}\n\n{body.strip()}")
    message = Message.objects.create(
        conversation_id=parent.conversation_id,
        role=Message.Role.USER,
        content="Summaries of the parts, in document order:\n\n" + "\n\n".join(blocks),
    )
    claimed = Run.objects.filter(
        pk=parent.pk, user_message__isnull=True, status=Run.Status.QUEUED
    ).update(user_message=message)
    if not claimed:
        message.delete()
        return False
    relay.relay_append(
        parent.pk, "progress", {"done": len(parts), "total": len(parts), "combining": True}
    )
    return True


def summary_parent_waiting(run: Run) -> bool:
    """A queued parent whose parts are running (or ended moments ago) is not stuck.

    The reaper's stuck-in-queue clock starts at created_at; for a summary it must start
    when the last part finished. Called by `generation.run_finish` before reaping.
    """
    parts = Run.objects.filter(parent_id=run.pk)
    if not parts.exists():
        return False
    if parts.filter(status__in=ACTIVE).exists():
        return True
    last = parts.aggregate(last=Max("finished_at"))["last"]
    return last is not None and last > timezone.now() - PARENT_WAIT_AFTER_LAST_PART


def summary_cancel(*, user: Any, run_id: Any) -> Run:
    """Stop a summary: its parts and the combining call."""
    from prompting.selectors import run_get_for_user

    parent = run_get_for_user(user=user, run_id=run_id)
    if parent.tool != Tool.SUMMARIZE or parent.parent_id is not None:
        raise NotFound("That summary")
    for part_id in parent.parts.filter(status__in=ACTIVE).values_list("pk", flat=True):
        services.run_cancel(user=user, run_id=part_id)
    return services.run_cancel(user=user, run_id=parent.pk)


# --- Reading a result ----------------------------------------------------------------------------


def summary_sources(run: Run) -> list[dict[str, Any]]:
    """Which sections fed the result: one entry per part (or one for a short document)."""
    parts = list(run.parts.order_by("part_index")) if run.pk else []
    if not parts:
        return [{"label": "Whole document", "sections": describe_sections(run.source_sections)}]
    return [
        {
            "label": f"Part {p.part_index + 1 if p.part_index is not None else '?'}",
            "sections": describe_sections(p.source_sections),
            "status": p.status,
        }
        for p in parts
    ]
