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
from prompting.runs import dispatch
from prompting.runs.judging import judge_text
from prompting.selectors import conversation_get_for_user, policy_in_force

RESULT_TTL_S = 60
WAIT_S = 20


def result_key(request_id: str) -> str:
    return f"preview:result:{request_id}"


def text_key(request_id: str) -> str:
    return f"preview:text:{request_id}"


def preview_request(*, user: Any, text: str, conversation_id: int | None = None) -> str:
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
    dispatch.dispatch(dispatch.POLICY_PREVIEW, request_id, user.pk, conversation_id)
    return request_id


def preview_compute(*, request_id: str, user_id: int, conversation_id: int | None) -> None:
    """Worker side: judge with a copy of the conversation's mapping (so the placeholders
    are the ones that would be sent) and publish the result for the waiting view."""
    text = cast("str | None", redis_client().getdel(text_key(request_id)))
    if text is None:
        return  # expired: the browser has stopped waiting

    mapping = decrypt_mapping(
        Conversation.objects.filter(pk=conversation_id or 0, owner_id=user_id)
        .values_list("pseudonym_map_encrypted", flat=True)
        .first()
    ).copy()
    policy = policy_in_force()
    judgement = judge_text(text, policy=policy, mapping=mapping, kind="preview")
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
    with transaction.atomic():
        audit_record(
            actor=User.objects.filter(pk=user_id).first(),
            action=Action.POLICY_PREVIEWED,
            outcome=judgement.decision,
            details={
                "decision": judgement.decision,
                "findings": judgement.counts_by_type,
                "actions": judgement.actions_by_type,
                "policy_version": policy.version,
                "input_chars": len(text),
            },
        )
    client = redis_client()
    client.rpush(result_key(request_id), json.dumps(result))
    client.expire(result_key(request_id), RESULT_TTL_S)
