"""Writes for conversations and runs. Each records its audit event in the same transaction.

One message's path: `run_create` (web) → `run_judge` (cpu worker: the policy) →
`run_generate` in prompting/generation.py (interactive worker: Bedrock) → the relay.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from prompting import relay
from prompting.crypto import decrypt_mapping, encrypt_mapping
from prompting.errors import InputRejected, ModelNotAvailable, NotFound, RunNotRetryable
from prompting.llm.models import ModelSpec
from prompting.models import Conversation, Feedback, Message, PromptTemplate, Run, Tool
from prompting.policy import Override, get_analyzer, judge_fail_closed
from prompting.selectors import (
    conversation_get_for_user,
    known_person_names,
    model_default,
    model_get,
    policy_in_force,
    policy_version_in_force,
    run_get_for_user,
)

logger = logging.getLogger(__name__)

TITLE_LENGTH = 60
ACTIVE_STATUSES = (Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.STREAMING)


def _title_from(text: str) -> str:
    """A title from the first message until the model-made one arrives (or instead of it)."""
    first_line = " ".join(text.split())
    return first_line[: TITLE_LENGTH - 1] + "…" if len(first_line) > TITLE_LENGTH else first_line


def _clean_text(text: str) -> str:
    # PostgreSQL text cannot hold NUL; it never carries meaning in a prompt.
    return text.replace("\x00", "")


def _reject(*, user: Any, reason: str, message: str, tool: str) -> InputRejected:
    """Record a refused prompt (no content) and return the error to raise."""
    audit_record(
        actor=user,
        action="prompt.rejected",
        outcome="rejected",
        details={"reason": reason, "tool": tool},
    )
    return InputRejected(message, code=reason)


def conversation_create(
    *, owner: Any, tool: str = Tool.CHAT, model_id: str = "", title: str = ""
) -> Conversation:
    model = model_get(model_id) if model_id else None
    return Conversation.objects.create(
        owner=owner, tool=tool, model_id=(model or model_default()).id, title=title[:200]
    )


def conversation_rename(*, user: Any, conversation_id: int, title: str) -> Conversation:
    conversation = conversation_get_for_user(user=user, conversation_id=conversation_id)
    title = " ".join(title.split())[:200]
    if not title:
        raise InputRejected("A title cannot be empty.")
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, user: Any, conversation_id: int) -> None:
    conversation = conversation_get_for_user(user=user, conversation_id=conversation_id)
    with transaction.atomic():
        audit_record(
            actor=user,
            action="conversation.deleted",
            target=conversation,
            details={"tool": conversation.tool},
        )
        # Messages, runs and the pseudonym mapping go with it (cascade).
        conversation.delete()


def prompt_check(*, user: Any, text: str, model_id: str, tool: str) -> tuple[str, ModelSpec]:
    """Refuse an empty or oversized prompt or a model off the allowlist, with a sentence.

    The refusal's audit event is written in its own transaction: callers check input
    before they open theirs, so the event is not rolled back with the refusal.
    """
    text = _clean_text(text)
    if not text.strip():
        raise _reject(user=user, reason="empty", message="Type a message first.", tool=tool)
    if len(text) > settings.MAX_PROMPT_CHARS:
        raise _reject(
            user=user,
            reason="too_long",
            tool=tool,
            message=(
                f"The text is {len(text):,} characters; the limit is "
                f"{settings.MAX_PROMPT_CHARS:,}. Shorten it, or use Summarize for long documents."
            ),
        )
    try:
        model = model_get(model_id) if model_id else model_default()
    except ModelNotAvailable as exc:
        _reject(user=user, reason="model_not_allowed", message=exc.user_message, tool=tool)
        raise
    return text, model


def run_create(
    *,
    user: Any,
    conversation: Conversation,
    text: str,
    model_id: str = "",
    system_prompt: str = "",
    overrides: Sequence[dict[str, Any]] = (),
) -> Run:
    """Queue a generation for a new user message: policy first, then Bedrock.

    Input is checked (prompt_check) before the transaction that creates the run.
    """
    if conversation.owner_id != user.pk:
        raise NotFound("That conversation")
    tool = conversation.tool
    text, model = prompt_check(
        user=user, text=text, model_id=model_id or conversation.model_id, tool=tool
    )
    with transaction.atomic():
        if model.id != conversation.model_id:
            conversation.model_id = model.id
        if not conversation.title:
            conversation.title = _title_from(text)
        conversation.save()
        message = Message.objects.create(
            conversation=conversation, role=Message.Role.USER, content=text
        )
        run = Run.objects.create(
            owner=user,
            conversation=conversation,
            user_message=message,
            tool=tool,
            model_id=model.id,
            system_prompt=system_prompt,
            overrides=list(overrides),
        )
        _enqueue_judge(run)
    return run


def _enqueue_judge(run: Run) -> None:
    from prompting.tasks import judge_run

    transaction.on_commit(lambda: judge_run.delay(str(run.pk)))


@transaction.atomic
def run_retry(*, user: Any, run_id: Any) -> Run:
    """A new run for the same user message, judged again (a new policy may be in force)."""
    previous = run_get_for_user(user=user, run_id=run_id)
    if previous.status not in (
        Run.Status.FAILED,
        Run.Status.INTERRUPTED,
        Run.Status.CANCELLED,
    ):
        raise RunNotRetryable("Only a failed, interrupted or stopped answer can be retried.")
    if previous.user_message is None or previous.parent_id is not None:
        # Summaries (and their parts) have no single message to send again.
        raise RunNotRetryable("Start the summary again from the document instead.")
    run = Run.objects.create(
        owner=user,
        conversation=previous.conversation,
        user_message=previous.user_message,
        tool=previous.tool,
        model_id=previous.model_id,
        system_prompt=previous.system_prompt,
        overrides=previous.overrides,
    )
    _enqueue_judge(run)
    return run


def run_cancel(*, user: Any, run_id: Any) -> Run:
    """Ask the worker to stop; it keeps the partial text and marks the run cancelled."""
    run = run_get_for_user(user=user, run_id=run_id)
    if run.is_final:
        return run
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)
    relay.cancel_request(run.pk)
    run.cancel_requested = True
    return run


POLICY_TIMEOUT_S = 30.0


def overrides_from_json(raw: Sequence[dict[str, Any]]) -> list[Override]:
    """Stored false-positive marks → policy Overrides (unknown keys ignored)."""
    keys = {"entity_type", "start", "end", "value_digest", "reason"}
    return [Override(**{k: v for k, v in item.items() if k in keys}) for item in raw]


def judgement_details(
    *, run: Run, policy_version: int, judgement: Any, input_chars: int
) -> dict[str, Any]:
    """The audit details of a policy decision: kinds and counts, never values."""
    return {
        "tool": run.tool,
        "model": run.model_id,
        "region": settings.BEDROCK_REGION,
        "policy_version": policy_version,
        "decision": judgement.decision,
        "findings": dict(judgement.counts_by_type),
        "actions": dict(judgement.actions_by_type),
        "input_chars": input_chars,
    }


def run_judge(*, run_id: Any) -> bool:
    """Apply the policy in force to the run's new message. True if it may go to Bedrock.

    Only the new message is analysed: earlier turns were judged when they were sent
    and are replayed from their sanitized form. Any error blocks (fail closed).
    """
    run = Run.objects.select_related("conversation", "user_message").get(pk=run_id)
    if run.status != Run.Status.QUEUED:
        return False  # judged already (duplicate delivery) or reaped
    conversation = run.conversation
    message = run.user_message
    assert message is not None
    version_row = policy_version_in_force()
    policy = policy_in_force()
    mapping = decrypt_mapping(conversation.pseudonym_map_encrypted)
    judgement = judge_fail_closed(
        message.content,
        policy=policy,
        mapping=mapping,
        overrides=overrides_from_json(run.overrides),
        analyzer=get_analyzer(settings.COMPANY_ID_PATTERNS),
        known_names=known_person_names(),
        max_chars=settings.MAX_PROMPT_CHARS,
        timeout_s=POLICY_TIMEOUT_S,
    )
    common = judgement_details(
        run=run,
        policy_version=version_row.version,
        judgement=judgement,
        input_chars=len(message.content),
    )
    with transaction.atomic():
        rejected = set(judgement.rejected_overrides)
        for override in overrides_from_json(run.overrides):
            audit_record(
                actor=run.owner,
                action="policy.override",
                target=run,
                outcome="rejected" if override in rejected else "ok",
                details={
                    "entity_type": override.entity_type,
                    "reason": override.reason,
                    "policy_version": version_row.version,
                },
            )
        run.policy_version = version_row
        run.decision = judgement.decision
        run.findings_summary = dict(judgement.counts_by_type)
        if judgement.decision == "block":
            run.status = Run.Status.BLOCKED
            run.error_code = "blocked"
            run.error_message = judgement.user_message or "This message was blocked by the policy."
            run.finished_at = timezone.now()
            run.save()
            audit_record(
                actor=run.owner,
                action="prompt.blocked",
                target=run,
                outcome="blocked",
                details={
                    **common,
                    "blocked_types": sorted(judgement.blocked_types),
                    "reason": judgement.reason,
                },
            )
        else:
            sanitized = judgement.sanitized_text or ""
            message.sanitized_content = sanitized
            message.save(update_fields=["sanitized_content"])
            conversation.pseudonym_map_encrypted = encrypt_mapping(mapping)
            conversation.save(update_fields=["pseudonym_map_encrypted", "updated_at"])
            run.save()
            audit_record(
                actor=run.owner,
                action="prompt.submitted",
                target=run,
                details={
                    **common,
                    "sanitized_sha256": hashlib.sha256(sanitized.encode()).hexdigest(),
                },
                content=sanitized if settings.AUDIT_STORE_CONTENT else "",
            )
    if judgement.decision == "block":
        relay.relay_append(
            run.pk,
            "error",
            {"code": "blocked", "message": judgement.user_message, "retryable": False},
        )
        return False
    return True


POLICY_ERROR_MESSAGE = (
    "Your message could not be checked for personal data, so it was not sent. "
    "Nothing left this company; please try again in a moment."
)


def run_block_after_error(*, run_id: Any) -> None:
    """The policy step failed unexpectedly: block the run, record it, tell the user."""
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=run_id, status=Run.Status.QUEUED).first()
        if run is None:
            return
        run.status = Run.Status.BLOCKED
        run.decision = "block"
        run.error_code = "policy_error"
        run.error_message = POLICY_ERROR_MESSAGE
        run.finished_at = timezone.now()
        run.save()
        audit_record(
            actor=run.owner,
            action="prompt.blocked",
            target=run,
            outcome="blocked",
            details={"tool": run.tool, "model": run.model_id, "reason": "analysis_failed"},
        )
    relay.relay_append(
        run_id, "error", {"code": "blocked", "message": POLICY_ERROR_MESSAGE, "retryable": True}
    )


def feedback_set(*, user: Any, message_id: int, rating: int, comment: str = "") -> Feedback:
    try:
        message = Message.objects.get(
            pk=message_id, conversation__owner=user, role=Message.Role.ASSISTANT
        )
    except (Message.DoesNotExist, ValueError):
        raise NotFound("That answer") from None
    if rating not in (Feedback.Rating.UP, Feedback.Rating.DOWN):
        raise InputRejected("Choose thumbs up or thumbs down.")
    feedback, _ = Feedback.objects.update_or_create(
        message=message,
        defaults={"owner": user, "rating": rating, "comment": comment.strip()[:2000]},
    )
    return feedback


STALE_HEARTBEAT = timedelta(seconds=15)
STUCK_IN_QUEUE = timedelta(minutes=10)


def runs_reap_stale() -> int:
    """Mark runs whose worker died as interrupted (keeping what was streamed)."""
    from prompting.generation import run_finish

    now = timezone.now()
    stale = Run.objects.filter(
        status__in=(Run.Status.RUNNING, Run.Status.STREAMING),
        heartbeat_at__lt=now - STALE_HEARTBEAT,
    ).values_list("pk", flat=True)
    stuck = Run.objects.filter(
        status=Run.Status.QUEUED, created_at__lt=now - STUCK_IN_QUEUE
    ).values_list("pk", flat=True)
    count = 0
    for run_id in list(stale) + list(stuck):
        partial = _partial_text_from_relay(run_id)
        if run_finish(
            run_id=run_id,
            status=Run.Status.INTERRUPTED,
            sanitized_text=partial,
            error_code="interrupted",
            error_message=(
                "The answer was interrupted because the worker stopped. "
                "What arrived is kept; you can retry."
            ),
        ):
            count += 1
    return count


def _partial_text_from_relay(run_id: Any) -> str:
    try:
        return relay.relay_raw_text(run_id)
    except Exception:
        logger.warning("reaper: could not read the relay of run %s", run_id, exc_info=True)
        return ""


# -- Chat, Rewrite and prompt templates (the pages' writes) -----------------------------


def chat_message_send(
    *,
    user: Any,
    text: str,
    conversation_id: int | None = None,
    model_id: str = "",
    overrides: Sequence[dict[str, Any]] = (),
) -> Run:
    """A message in an existing conversation, or the first one of a new conversation.

    One transaction: a message that is rejected (empty, too long, unknown model) leaves
    no empty conversation behind.
    """
    existing = None
    if conversation_id is not None:
        existing = conversation_get_for_user(user=user, conversation_id=conversation_id)
        if existing.tool != Tool.CHAT:
            raise NotFound("That conversation")
    prompt_check(
        user=user,
        text=text,
        model_id=model_id or (existing.model_id if existing else ""),
        tool=Tool.CHAT,
    )
    with transaction.atomic():
        conversation = existing or conversation_create(
            owner=user, tool=Tool.CHAT, model_id=model_id
        )
        return run_create(
            user=user,
            conversation=conversation,
            text=text,
            model_id=model_id,
            overrides=overrides,
        )


def rewrite_create(
    *,
    user: Any,
    text: str,
    preset: str,
    instruction: str = "",
    model_id: str = "",
    overrides: Sequence[dict[str, Any]] = (),
) -> Run:
    """One rewrite = one conversation (tool=rewrite) with one user message.

    Preset instructions are ours and go in the system prompt; an employee's own
    instruction goes into the user message so the policy judges it (rewrite_presets.py).
    """
    from prompting import rewrite_presets as presets

    if preset != presets.CUSTOM and preset not in presets.PRESETS_BY_KEY:
        raise InputRejected("Choose a preset or write an instruction.")
    if not _clean_text(text).strip():
        raise InputRejected("Paste the text to rewrite first.", code="empty")
    if preset == presets.CUSTOM and not presets.normalize_instruction(instruction):
        raise InputRejected("Write an instruction, or choose a preset.", code="empty")
    label = presets.PRESETS_BY_KEY[preset].label if preset != presets.CUSTOM else "Own instruction"
    message = presets.compose_message(preset_key=preset, instruction=instruction, text=text)
    prompt_check(user=user, text=message, model_id=model_id, tool=Tool.REWRITE)
    with transaction.atomic():
        conversation = conversation_create(
            owner=user,
            tool=Tool.REWRITE,
            model_id=model_id,
            title=f"{label}: {_title_from(text)}",
        )
        return run_create(
            user=user,
            conversation=conversation,
            text=message,
            model_id=model_id,
            system_prompt=presets.system_prompt_for(preset),
            overrides=overrides,
        )


def _may_publish_shared(user: Any) -> bool:
    from accounts.roles import ADMIN, user_has_role

    return user_has_role(user, ADMIN)


def prompt_template_create(
    *, user: Any, title: str, body: str, tool: str, shared: bool = False
) -> PromptTemplate:
    """A personal template, or a shared one when an Admin publishes it."""
    if shared and not _may_publish_shared(user):
        raise InputRejected("Only Admins can publish shared templates.", code="not_allowed")
    return PromptTemplate.objects.create(
        owner=user, title=title, body=body, tool=tool, shared=shared
    )


def prompt_template_update(
    *, user: Any, template_id: int, title: str, body: str, tool: str, shared: bool = False
) -> PromptTemplate:
    from prompting.selectors import prompt_template_get_editable

    template = prompt_template_get_editable(user=user, template_id=template_id)
    if shared and not _may_publish_shared(user):
        raise InputRejected("Only Admins can publish shared templates.", code="not_allowed")
    template.title, template.body, template.tool, template.shared = title, body, tool, shared
    template.save()
    return template


def prompt_template_delete(*, user: Any, template_id: int) -> None:
    from prompting.selectors import prompt_template_get_editable

    prompt_template_get_editable(user=user, template_id=template_id).delete()
