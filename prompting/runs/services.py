"""Writes that start, retry, stop and reap runs. Each records its audit event in the
same transaction; the status changes themselves are `lifecycle`'s.

One message's path: `run_create` (web) → task policy_step → `judging.run_judge` (cpu
worker) → task generate_run → `generation.run_generate` (interactive worker) → relay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from audit.actions import Action
from audit.services import audit_record
from config.text import InvalidText, clean_text
from prompting.errors import (
    InputRejected,
    ModelNotAvailable,
    NotFound,
    QueueUnavailable,
    RunNotRetryable,
)
from prompting.llm.models import ModelSpec
from prompting.models import Conversation, Message, Run, Tool
from prompting.policy import Policy
from prompting.runs import dispatch, inline_judging, lifecycle, redaction, relay, reuse
from prompting.selectors import (
    model_default,
    model_get,
    policy_version_in_force,
    run_get_for_user,
)

logger = logging.getLogger(__name__)

# A worker beats every 3 s (generation.HEARTBEAT_INTERVAL_S): four missed beats mean dead.
STALE_HEARTBEAT = timedelta(seconds=12)
STUCK_IN_QUEUE = timedelta(minutes=10)
CHECKER_UNAVAILABLE_MESSAGE = "The checker is not available right now; nothing was sent."
GENERATOR_UNAVAILABLE_MESSAGE = (
    "The model worker is not available right now; nothing was sent. Please retry in a moment."
)
# A summary's combining run waits queued while its parts run: its stuck-in-queue clock
# starts when the last part finished, not when it was created.
PARENT_WAIT_AFTER_LAST_PART = STUCK_IN_QUEUE
INTERRUPTED_MESSAGE = (
    "The answer was interrupted because the worker stopped. What arrived is kept; you can retry."
)
INTERRUPTED_EMPTY_MESSAGE = (
    "The answer was interrupted because the worker stopped before any text arrived. You can retry."
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
    Unicode, empty, oversized, or a model off the allowlist. (Whether Redis can take the
    run is known from admission, limits/services.py: its counters live there.)

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


def _not_queued(run_id: Any) -> Callable[[Exception], None]:
    """The run was committed but the broker refused its first step (Redis went down in
    between): end it at once, failed with its event, and answer 503."""

    def fail(error: Exception) -> None:
        logger.warning("run %s: could not queue its policy step: %s", run_id, error)
        refusal = QueueUnavailable()
        lifecycle.run_expire(
            run_id=run_id, error_code=refusal.code, error_message=refusal.user_message
        )
        raise refusal

    return fail


def run_create(
    *,
    user: Any,
    conversation: Conversation,
    text: str,
    model_id: str = "",
    system_prompt: str = "",
    overrides: Sequence[dict[str, Any]] = (),
    preset: str | None = None,
    run_id: Any = None,
    new_conversation: bool = False,
) -> Run:
    """Queue a generation for a new user message: policy first, then Bedrock.

    Input is checked (prompt_check) before the transaction that creates the run. The
    run gets `run_id` when admission took a slot for that id (limits.services.admission).
    `new_conversation`: the caller created it just now, with this model (nothing to bump).
    """
    if conversation.owner_id != user.pk:
        raise NotFound("That conversation")
    tool = conversation.tool
    text, model = prompt_check(
        user=user, text=text, model_id=model_id or conversation.model_id, tool=tool
    )
    # A previewed message is stored without its redacted values from the start (reuse.py).
    version_row = policy_version_in_force()
    text, handed = reuse.prejudged_for_send(
        user_id=user.pk,
        text=text,
        policy_version=version_row.version,
        mapping_token=conversation.pseudonym_map_encrypted,
        overrides=list(overrides),
    )
    if handed is None:
        # Not previewed as it is: stored with the redacted values' marks (`<CREDIT_CARD>`,
        # pattern recognizers only, ~1-3 ms for 2 KB), so the row never holds them; the
        # policy step numbers the marks. Offset marks move with the text. docs/policy.md.
        text, arrived = redaction.redact_on_arrival(
            text,
            policy=Policy.from_rules_json(version=version_row.version, rules=version_row.rules),
            mapping_token=conversation.pseudonym_map_encrypted,
            overrides=overrides,
        )
        overrides = redaction.moved_overrides(overrides, arrived)
    # No savepoint of its own: the callers' transaction (which created the conversation)
    # is rolled back as a whole if anything here fails.
    with transaction.atomic(savepoint=False):
        if not new_conversation or model.id != conversation.model_id:
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
            **({"id": run_id} if run_id is not None else {}),
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
        first = inline_judging.first_step(text)
        dispatch.dispatch(first, str(run.pk), on_failure=_not_queued(run.pk))
    return run


@transaction.atomic
def run_retry(*, user: Any, run_id: Any, new_run_id: Any = None) -> Run:
    """A new run for the same user message, judged again (a new policy may be in force).
    It gets `new_run_id` when admission took a slot for that id."""
    previous = run_get_for_user(user=user, run_id=run_id)
    if previous.user_message is None or previous.parent_id is not None:
        # Summaries (and their parts) have no single message to send again.
        raise RunNotRetryable("Start the summary again from the document instead.")
    if not lifecycle.run_retryable(previous):
        # The same rule that decided whether Retry was offered (stream, status, page).
        raise RunNotRetryable(
            "This answer cannot be retried as it is: change the message and send it again."
            if previous.status in (*lifecycle.RETRYABLE_STATUSES, Run.Status.BLOCKED)
            else "Only a failed, interrupted or stopped answer can be retried."
        )
    run = Run.objects.create(
        **({"id": new_run_id} if new_run_id is not None else {}),
        owner=user,
        conversation=previous.conversation,
        user_message=previous.user_message,
        tool=previous.tool,
        model_id=previous.model_id,
        system_prompt=previous.system_prompt,
        overrides=previous.overrides,
        preset=previous.preset,
    )
    first = inline_judging.first_step(previous.user_message.content)
    dispatch.dispatch(first, str(run.pk), on_failure=_not_queued(run.pk))
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


def runs_reap_stale(*, run_id: Any = None) -> int:
    """The watchdog: every waiting state has a deadline (docs/reliability.md).

    - queued, not judged RUN_POLICY_PICKUP_TIMEOUT s after creation → failed, "the checker
      is not available"; a summary's runs keep the longer STUCK_IN_QUEUE (their batch of
      parts can take longer to judge);
    - judged, not claimed by a generator RUN_GENERATION_PICKUP_TIMEOUT s after judging →
      failed, "the model worker is not available";
    - running or streaming without a heartbeat for STALE_HEARTBEAT → interrupted, keeping
      what was streamed (the worker died);
    - queued for STUCK_IN_QUEUE → interrupted (anything else that waits), except a
      summary's combining run waiting for its parts.

    Nothing ended here was sent unjudged: an expired run cannot be judged or claimed any
    more (both check `queued` under a lock or in a conditional UPDATE). Called by beat on
    the light `watchdog` queue and, for one run, by the SSE view (`run_id`): the web
    process does not share the workers' fate."""
    now = timezone.now()
    runs = Run.objects.all() if run_id is None else Run.objects.filter(pk=run_id)
    count = 0
    unjudged = (
        runs.filter(status=Run.Status.QUEUED, decision="", parent__isnull=True)
        .exclude(tool=Tool.SUMMARIZE)
        .filter(created_at__lt=now - timedelta(seconds=settings.RUN_POLICY_PICKUP_TIMEOUT))
        .values_list("pk", flat=True)
    )
    for pk in list(unjudged):
        count += lifecycle.run_expire(
            run_id=pk, error_code="checker_unavailable", error_message=CHECKER_UNAVAILABLE_MESSAGE
        )
    unclaimed = (
        runs.filter(status=Run.Status.QUEUED, judged_at__isnull=False)
        .exclude(decision__in=("", "block"))
        .filter(judged_at__lt=now - timedelta(seconds=settings.RUN_GENERATION_PICKUP_TIMEOUT))
        .values_list("pk", flat=True)
    )
    for pk in list(unclaimed):
        count += lifecycle.run_expire(
            run_id=pk,
            error_code="generator_unavailable",
            error_message=GENERATOR_UNAVAILABLE_MESSAGE,
        )
    stale = runs.filter(
        status__in=(Run.Status.RUNNING, Run.Status.STREAMING),
        heartbeat_at__lt=now - STALE_HEARTBEAT,
    ).values_list("pk", flat=True)
    parts_keep_waiting = Run.objects.filter(parent_id=OuterRef("pk")).filter(
        Q(status__in=lifecycle.ACTIVE) | Q(finished_at__gt=now - PARENT_WAIT_AFTER_LAST_PART)
    )
    stuck = (
        runs.filter(status=Run.Status.QUEUED, created_at__lt=now - STUCK_IN_QUEUE)
        .exclude(Exists(parts_keep_waiting))
        .values_list("pk", flat=True)
    )
    for pk in list(stale) + list(stuck):
        partial = _partial_text_from_relay(pk)
        if lifecycle.run_interrupt(
            run_id=pk,
            partial_text=partial,
            error_message=INTERRUPTED_MESSAGE if partial else INTERRUPTED_EMPTY_MESSAGE,
        ):
            count += 1
    return count


def run_deadline_passed(run: Run) -> bool:
    """Cheap check for the SSE view (no query): may `runs_reap_stale(run_id=...)` end it?"""
    now = timezone.now()
    if run.status == Run.Status.QUEUED:
        if run.judged_at is not None:
            limit = timedelta(seconds=settings.RUN_GENERATION_PICKUP_TIMEOUT)
            return run.judged_at < now - limit
        return run.created_at < now - timedelta(seconds=settings.RUN_POLICY_PICKUP_TIMEOUT)
    if run.status in (Run.Status.RUNNING, Run.Status.STREAMING):
        return run.heartbeat_at is None or run.heartbeat_at < now - STALE_HEARTBEAT
    return False


def _partial_text_from_relay(run_id: Any) -> str:
    try:
        return relay.relay_raw_text(run_id)
    except Exception:
        logger.warning("reaper: could not read the relay of run %s", run_id, exc_info=True)
        return ""
