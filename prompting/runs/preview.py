"""The policy preview: what will be replaced or blocked, before anything is sent.

Analysis needs the spaCy model, which lives in the cpu workers, not the web process
(it would add ~180 MB to every web process). The web view queues the `policy_preview` task
and waits on a Redis list for the answer.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from django.conf import settings
from django.db import transaction

from accounts.models import User
from audit.actions import Action
from audit.services import audit_record
from config.redis_client import redis_client
from config.text import InvalidText, clean_text
from prompting.crypto import decrypt_mapping
from prompting.errors import InputRejected
from prompting.models import Conversation
from prompting.runs import dispatch, reuse
from prompting.runs.judging import judge_text
from prompting.selectors import conversation_get_for_user, policy_in_force

RESULT_TTL_S = 60
WAIT_S = 20


def result_key(request_id: str) -> str:
    return f"preview:result:{request_id}"


def text_key(request_id: str) -> str:
    return f"preview:text:{request_id}"


def attempt_key(request_id: str) -> str:
    """Present (holding the tool) when the page refused to send the text: a block is then
    audited as a refused attempt, prompt.blocked, not as one more preview."""
    return f"preview:attempt:{request_id}"


def preview_request(
    *, user: Any, text: str, conversation_id: int | None = None, attempt_tool: str = ""
) -> str:
    """Validate and queue a preview; returns the id to wait on. `text` is the message as
    it would be sent (Rewrite's is composed by the server, rewrite.services)."""
    try:
        text = clean_text(text)
    except InvalidText as exc:
        raise InputRejected(exc.user_message, code="invalid_text") from None
    if not text.strip():
        raise InputRejected("Type a message first.", code="empty")
    if len(text) > settings.MAX_PROMPT_CHARS:
        raise InputRejected(
            f"The text is {len(text):,} characters; the limit is {settings.MAX_PROMPT_CHARS:,}.",
            code="too_long",
        )
    if conversation_id is not None:
        conversation_get_for_user(user=user, conversation_id=conversation_id)  # 404 if not hers
    request_id = uuid.uuid4().hex
    # The text travels through Redis under its own short-lived key, not as a task
    # argument: Celery logs task arguments in some error and debug paths.
    redis_client().set(text_key(request_id), text, ex=RESULT_TTL_S)
    if attempt_tool:
        redis_client().set(attempt_key(request_id), attempt_tool, ex=RESULT_TTL_S)
    dispatch.dispatch(dispatch.POLICY_PREVIEW, request_id, user.pk, conversation_id)
    return request_id


def preview_compute(*, request_id: str, user_id: int, conversation_id: int | None) -> None:
    """Worker side: judge with a copy of the conversation's mapping (so the placeholders
    are the ones that would be sent) and publish the result for the waiting view."""
    text = cast("str | None", redis_client().getdel(text_key(request_id)))
    attempt_tool = cast("str | None", redis_client().getdel(attempt_key(request_id)))
    if text is None:
        return  # expired: the browser has stopped waiting

    token = bytes(
        Conversation.objects.filter(pk=conversation_id or 0, owner_id=user_id)
        .values_list("pseudonym_map_encrypted", flat=True)
        .first()
        or b""
    )
    mapping = decrypt_mapping(token).copy()
    policy = policy_in_force()
    judgement = judge_text(text, policy=policy, mapping=mapping, kind="preview")
    # The send of this very text, in this state, uses this judgement (no second analysis).
    reuse.remember(
        reuse.judgement_key(
            user_id=user_id, texts=[text], policy_version=policy.version, mapping_token=token
        ),
        [judgement],
        mapping,
    )
    segments: list[dict[str, Any]] = []
    for segment in judgement.segments(text):
        finding = segment.finding
        if finding is None:
            segments.append({"text": segment.text})
            continue
        rule = policy.rule_for(finding.entity_type)
        segments.append(
            {
                "text": segment.text,
                "entity_type": finding.entity_type,
                "action": finding.action,
                "placeholder": finding.placeholder,
                "start": finding.start,
                "end": finding.end,
                "overridable": bool(rule and rule.overridable),
            }
        )
    result = {
        "decision": judgement.decision,
        "counts": judgement.counts_by_type,
        "blocked_types": list(judgement.blocked_types),
        "segments": segments,
        "sanitized_text": judgement.sanitized_text,
        "message": judgement.user_message or "",
        "policy_version": policy.version,
    }
    details = {
        "decision": judgement.decision,
        "findings": judgement.counts_by_type,
        "actions": judgement.actions_by_type,
        "policy_version": policy.version,
        "input_chars": len(text),
    }
    refused = bool(attempt_tool) and judgement.decision == "block"
    with transaction.atomic():
        audit_record(
            actor=User.objects.filter(pk=user_id).first(),
            action=Action.PROMPT_BLOCKED if refused else Action.POLICY_PREVIEWED,
            outcome="blocked" if refused else judgement.decision,
            details={
                **details,
                **(
                    {
                        "tool": attempt_tool,
                        "blocked_types": list(judgement.blocked_types),
                        "refused_before_sending": True,
                    }
                    if refused
                    else {}
                ),
            },
        )
    client = redis_client()
    client.rpush(result_key(request_id), json.dumps(result))
    client.expire(result_key(request_id), RESULT_TTL_S)
