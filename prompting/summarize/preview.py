"""The policy preview of a document, before the summary runs: what will be replaced,
redacted or blocked, and where (page or section, a short excerpt).

Same path as Chat's preview (runs/preview.py): the web view queues a task, the cpu worker
judges and pushes the answer to a Redis list the view waits on. The document is judged
exactly as the summary will judge it: split into the parts the chosen model and length
give, all parts in one `judge_many` pass with a copy of the document's mapping, so the
preview's placeholders and its decision are the ones the run will have.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import transaction

from accounts.models import User
from audit.actions import Action
from audit.services import audit_record
from config.redis_client import redis_client
from prompting.crypto import decrypt_mapping
from prompting.errors import InputRejected
from prompting.models import Document, Tool
from prompting.policy import Judgement
from prompting.runs import dispatch, reuse
from prompting.runs.judging import judge_texts_fail_closed
from prompting.runs.preview import RESULT_TTL_S, result_key
from prompting.selectors import model_get, policy_in_force
from prompting.summarize.options import DEFAULT_LENGTH, LENGTHS
from prompting.summarize.parts import Part
from prompting.summarize.selectors import document_get_for_user, document_parts

# A document preview judges up to a whole document (~10 s for 300 pages on one core).
WAIT_S = 90
POLICY_TIMEOUT_S = 80.0
EXCERPT_CHARS = 40  # of context on each side of a found value
MAX_LISTED = 200  # findings listed one by one; the counts cover all of them


def document_preview_request(*, user: Any, document_id: Any, model_id: str, length: str) -> str:
    """Check the document is hers and ready; queue its preview. Returns the id to wait on."""
    document = document_get_for_user(user=user, document_id=document_id)
    if document.status != Document.Status.READY:
        raise InputRejected(document.error_message or "The document is not ready yet.")
    request_id = uuid.uuid4().hex
    dispatch.dispatch(
        dispatch.DOCUMENT_PREVIEW,
        request_id,
        user.pk,
        document.pk,
        model_id,
        length if length in LENGTHS else DEFAULT_LENGTH,
    )
    return request_id


def _parts(document: Document, model_id: str, length: str) -> list[Part]:
    try:
        spec = model_get(model_id)
    except Exception:
        spec = model_get("")  # the default model: the preview still says what is found
    parts, _budget = document_parts(document, spec, LENGTHS[length].max_output_tokens)
    return parts


def _where(document: Document, offset: int, part: Part, total: int) -> str:
    """The page or section an offset is in ("Page 3", a heading), else the part."""
    titles = [
        s["title"]
        for s in document.sections
        if s["start"] <= offset < s["end"] and s["title"] != "Beginning"
    ]
    if titles:
        return titles[-1]  # the innermost (latest-starting) section
    return f"Part {part.index + 1} of {total}" if total > 1 else "Beginning"


def _excerpt(text: str, start: int, end: int) -> dict[str, str]:
    before = text[max(0, start - EXCERPT_CHARS) : start]
    after = text[end : end + EXCERPT_CHARS]
    return {
        "before": ("\u2026" if start > EXCERPT_CHARS else "") + " ".join(before.split(" ")),
        "value": text[start:end],
        "after": after + ("\u2026" if end + EXCERPT_CHARS < len(text) else ""),
    }


def document_preview_result(
    document: Document, parts: list[Part], judgements: list[Judgement]
) -> dict[str, Any]:
    """The answer for the page: decision, counts, and each finding with where it is."""
    findings: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    cursor = 0
    for part, judgement in zip(parts, judgements, strict=True):
        at = document.text.find(part.text, cursor)
        at = part.start if at < 0 else at
        cursor = at + len(part.text)
        for entity, n in judgement.counts_by_type.items():
            counts[entity] = counts.get(entity, 0) + n
        for finding in judgement.findings:
            if finding.action == "allow" or len(findings) >= MAX_LISTED:
                continue
            start, end = at + finding.start, at + finding.end
            findings.append(
                {
                    "entity_type": finding.entity_type,
                    "action": finding.action,
                    "placeholder": finding.placeholder,
                    "where": _where(document, start, part, len(parts)),
                    "excerpt": _excerpt(document.text, start, end),
                }
            )
    blocked = [j for j in judgements if j.decision == "block"]
    decision = (
        "block"
        if blocked
        else max(
            (j.decision for j in judgements),
            key=("allow", "pseudonymize", "redact", "block").index,
            default="allow",
        )
    )
    failed = next((j for j in blocked if not j.blocked_types), None)
    return {
        "decision": decision,
        "counts": counts,
        "blocked_types": sorted({t for j in blocked for t in j.blocked_types}),
        "findings": findings,
        "listed": len(findings),
        "total": sum(counts.values()),
        # Blocked without a finding: the check itself failed (fail closed); say so.
        "message": (failed.user_message or "") if failed else "",
    }


def document_preview_compute(
    *, request_id: str, user_id: int, document_id: int, model_id: str, length: str
) -> None:
    """Worker side: judge the document's parts as the summary will; publish the answer."""
    document = Document.objects.filter(pk=document_id, owner_id=user_id).first()
    if document is None or document.status != Document.Status.READY:
        result: dict[str, Any] = {"error": "The document is not ready.", "code": "not_ready"}
    else:
        parts = _parts(document, model_id, length if length in LENGTHS else DEFAULT_LENGTH)
        mapping_token = (
            document.conversation.pseudonym_map_encrypted if document.conversation else None
        )
        policy = policy_in_force()
        token = bytes(mapping_token or b"")
        mapping = decrypt_mapping(token).copy()
        texts = [p.text for p in parts]
        judgements = judge_texts_fail_closed(
            texts, policy=policy, mapping=mapping, timeout_s=POLICY_TIMEOUT_S, kind="preview"
        )
        # The summary of this document, with these options and in this state, uses these
        # judgements instead of analysing the whole document again.
        reuse.remember(
            reuse.judgement_key(
                user_id=user_id, texts=texts, policy_version=policy.version, mapping_token=token
            ),
            judgements,
            mapping,
        )
        result = {
            **document_preview_result(document, parts, judgements),
            "policy_version": policy.version,
            "parts": len(parts),
        }
        with transaction.atomic():
            audit_record(
                actor=User.objects.filter(pk=user_id).first(),
                action=Action.POLICY_PREVIEWED,
                target=document,
                outcome=result["decision"],
                details={
                    "tool": Tool.SUMMARIZE,
                    "decision": result["decision"],
                    "findings": result["counts"],
                    "policy_version": policy.version,
                    "input_chars": len(document.text),
                    "parts_total": len(parts),
                },
            )
    client = redis_client()
    client.rpush(result_key(request_id), json.dumps(result))
    client.expire(result_key(request_id), max(RESULT_TTL_S, WAIT_S))
