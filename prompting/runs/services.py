"""Writes that start, retry, stop and reap runs. Each records its audit event in the
same transaction; the status changes themselves are `lifecycle`'s.

One message's path: `run_create` (web) → task policy_step → `judging.run_judge` (cpu
worker) → task generate_run → `generation.run_generate` (interactive worker) → relay.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from audit.actions import Action
from audit.services import audit_record
from config.text import InvalidText, clean_text
from prompting.errors import InputRejected, ModelNotAvailable, NotFound, RunNotRetryable
from prompting.llm.models import ModelSpec
from prompting.models import Conversation, Message, Run
from prompting.runs import dispatch, lifecycle, relay, reuse
from prompting.selectors import (
    model_default,
    model_get,
    policy_version_in_force,
    run_get_for_user,
)

logger = logging.getLogger(__name__)

RETRYABLE = (Run.Status.FAILED, Run.Status.INTERRUPTED, Run.Status.CANCELLED)
STALE_HEARTBEAT = timedelta(seconds=15)
STUCK_IN_QUEUE = timedelta(minutes=10)
# A summary's combining run waits queued while its parts run: its stuck-in-queue clock
# starts when the last part finished, not when it was created.
PARENT_WAIT_AFTER_LAST_PART = STUCK_IN_QUEUE
INTERRUPTED_MESSAGE = (
    "The answer was interrupted because the worker stopped. What arrived is kept; you can retry."
)


def _reject(*, user: Any, reason: str, message: str, tool: str) -> InputRejected:
    """Record a refused prompt (no content) and return the error to raise."""
    audit_record(
        actor=user,
        action=Action.PROMPT_REJECTED,
        outcome="rejected",
        details={"reason": reason, "tool": tool},
    )
    return InputRejected(message, code=reason)


def prompt_check(*, user: Any, text: str, model_id: str, tool: str) -> tuple[str, ModelSpec]:
    """The cleaned text and the model, or a refusal with a sentence: text that is not valid
    Unicode, empty, oversized, or a model off the allowlist.

    The refusal's audit event is written in its own transaction: callers check input
    before they open theirs, so the event is not rolled back with the refusal.
    """
    try:
        text = clean_text(text)
    except InvalidText as exc:
        raise _reject(
            user=user, reason="invalid_text", message=exc.user_message, tool=tool
        ) from None
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
    preset: str | None = None,
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
    # A previewed message is stored without its redacted values from the start (reuse.py).
    text, handed = reuse.prejudged_for_send(
        user_id=user.pk,
        text=text,
        policy_version=policy_version_in_force().version,
        mapping_token=conversation.pseudonym_map_encrypted,
        overrides=list(overrides),
    )
    with transaction.atomic():
        if model.id != conversation.model_id:
            conversation.model_id = model.id
        # The title comes from the sanitized text, once the policy step has judged it
        # (conversation_title_fill): the raw first line may name a customer. Named
        # fields only: a full save would write back the pseudonym map as this request
        # read it, losing placeholders a worker stored meanwhile.
        conversation.save(update_fields=["model_id", "updated_at"])
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
            preset=preset,
        )
        if handed is not None:
            reuse.keep_for_run(run.pk, handed)
        dispatch.dispatch(dispatch.POLICY_STEP, str(run.pk))
    return run


@transaction.atomic
def run_retry(*, user: Any, run_id: Any) -> Run:
    """A new run for the same user message, judged again (a new policy may be in force)."""
    previous = run_get_for_user(user=user, run_id=run_id)
    if previous.status not in RETRYABLE:
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
        preset=previous.preset,
    )
    dispatch.dispatch(dispatch.POLICY_STEP, str(run.pk))
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


def runs_reap_stale() -> int:
    """Mark runs whose worker died, or that never left the queue, as interrupted
    (keeping what was streamed). A summary's combining run waiting for its parts is
    left alone: it is not stuck."""
    now = timezone.now()
    stale = Run.objects.filter(
        status__in=(Run.Status.RUNNING, Run.Status.STREAMING),
        heartbeat_at__lt=now - STALE_HEARTBEAT,
    ).values_list("pk", flat=True)
    parts_keep_waiting = Run.objects.filter(parent_id=OuterRef("pk")).filter(
        Q(status__in=lifecycle.ACTIVE) | Q(finished_at__gt=now - PARENT_WAIT_AFTER_LAST_PART)
    )
    stuck = (
        Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=now - STUCK_IN_QUEUE)
        .exclude(Exists(parts_keep_waiting))
        .values_list("pk", flat=True)
    )
    count = 0
    for run_id in list(stale) + list(stuck):
        if lifecycle.run_interrupt(
            run_id=run_id,
            partial_text=_partial_text_from_relay(run_id),
            error_message=INTERRUPTED_MESSAGE,
        ):
            count += 1
    return count


def _partial_text_from_relay(run_id: Any) -> str:
    try:
        return relay.relay_raw_text(run_id)
    except Exception:
        logger.warning("reaper: could not read the relay of run %s", run_id, exc_info=True)
        return ""
