"""The only code that changes `Run.status`.

Every change is a named transition below. `TRANSITIONS` says, in one table, from which
statuses each one may start, where it may end and which audit event it records; `_move`
and `_move_where` check that table and are the only two places that write the field.
A transition that finds the run elsewhere (a duplicate delivery, the reaper first, a run
already final) does nothing and says so by returning False; asking a transition for a
target it does not allow is a programming error (`IllegalTransition`).

Each transition that records an event does so in the transaction that changes the row,
so a status without its event cannot exist.

    queued ──judged──▶ queued ──claimed──▶ running ──streaming──▶ streaming
      │                  │                   │                       │
      ├──blocked─▶ blocked                   └───────finished────────┴─▶ done | failed | cancelled
      ├──ended_waiting─▶ failed | cancelled   (a summary's combining run whose parts ended it)
      └──interrupted (any active status) ─▶ interrupted                (the reaper)

A new state deadline ("not picked up within 20 s → failed") or an attempt record is a
new row in the table and a new function here; callers of the others do not change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.actions import Action
from audit.services import audit_record
from config import metrics
from limits.services import run_ended as limits_run_ended
from prompting.crypto import decrypt_mapping
from prompting.llm.errors import BedrockError, InputTooLong, ModelNotAllowed
from prompting.llm.events import Usage
from prompting.llm.models import cost_usd
from prompting.models import Message, PolicyVersion, Run
from prompting.policy import Judgement
from prompting.rendering import render_markdown
from prompting.runs import dispatch, relay
from prompting.selectors import model_allowlist

logger = logging.getLogger(__name__)

S = Run.Status
ACTIVE = frozenset({S.QUEUED, S.RUNNING, S.STREAMING})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    targets: frozenset[str]
    action: Action | None  # the audit event it records; None: see the row's comment


TRANSITIONS: dict[str, Transition] = {
    # The policy allowed the message: decision and sanitized text stored, still queued.
    "judged": Transition(frozenset({S.QUEUED}), frozenset({S.QUEUED}), Action.PROMPT_SUBMITTED),
    "blocked": Transition(frozenset({S.QUEUED}), frozenset({S.BLOCKED}), Action.PROMPT_BLOCKED),
    # Claim and first token record no event of their own: the outcome's
    # generation.finished carries started, first-token and finish times, and an event
    # per step would double the audit writes on every message's hot path.
    "claimed": Transition(frozenset({S.QUEUED}), frozenset({S.RUNNING}), None),
    "streaming": Transition(frozenset({S.RUNNING}), frozenset({S.STREAMING}), None),
    "finished": Transition(
        frozenset({S.RUNNING, S.STREAMING}),
        frozenset({S.DONE, S.FAILED, S.CANCELLED}),
        Action.GENERATION_FINISHED,
    ),
    "ended_waiting": Transition(
        frozenset({S.QUEUED}), frozenset({S.FAILED, S.CANCELLED}), Action.GENERATION_FINISHED
    ),
    "interrupted": Transition(ACTIVE, frozenset({S.INTERRUPTED}), Action.GENERATION_FINISHED),
    # A deadline passed while the run waited for the policy step or for the generator:
    # failed with a sentence, nothing was sent (the watchdog, docs/reliability.md).
    "expired": Transition(frozenset({S.QUEUED}), frozenset({S.FAILED}), Action.GENERATION_FINISHED),
}


class IllegalTransition(RuntimeError):
    """A transition asked for a move its row in TRANSITIONS does not allow."""


def check(name: str, current: str, target: str) -> Transition:
    """The one check of the table: may transition `name` move a run from current to target?"""
    transition = TRANSITIONS[name]
    if current not in transition.sources or target not in transition.targets:
        raise IllegalTransition(f"{name}: a run cannot go from {current!r} to {target!r}")
    return transition


def _move(run: Run, name: str, target: str) -> Transition:
    transition = check(name, run.status, target)
    run.status = target
    return transition


def _move_where(runs: QuerySet[Run], name: str, target: str, **fields: Any) -> int:
    """A conditional UPDATE: only rows still in one of the sources move (so a duplicate
    delivery, or a second worker, moves nothing). Returns how many moved."""
    transition = TRANSITIONS[name]
    for source in transition.sources:
        check(name, source, target)
    return runs.filter(status__in=transition.sources).update(status=target, **fields)


def _ended(run: Run) -> None:
    """The one limits hook: once the end commits, free the run's slot and reservation
    and count its usage (limits/services.py), from the row as saved (no second read)."""
    transaction.on_commit(lambda: limits_run_ended(run))


def _locked(run_id: Any, name: str) -> Run | None:
    return (
        Run.objects.select_for_update()
        .select_related("conversation", "owner")
        .filter(pk=run_id, status__in=TRANSITIONS[name].sources)
        .first()
    )


# --- The policy step ---------------------------------------------------------------------


def run_mark_judged(
    *,
    run: Run,
    policy_version: PolicyVersion,
    judgement: Judgement,
    details: dict[str, Any],
    content: str,
) -> None:
    """The policy allowed the run's message (call inside the transaction that stores the
    sanitized text): decision, findings and the prompt.submitted event."""
    transition = _move(run, "judged", S.QUEUED)
    run.judged_at = timezone.now()
    run.policy_version = policy_version
    run.decision = judgement.decision
    run.findings_summary = dict(judgement.counts_by_type)
    # Named fields: the run row is locked, but a full save would also write back every
    # column as this process read it before judging.
    run.save(
        update_fields=["status", "judged_at", "policy_version", "decision", "findings_summary"]
    )
    assert transition.action is not None
    audit_record(
        actor=run.owner, action=transition.action, target=run, details=details, content=content
    )


def run_block(
    *,
    run: Run,
    policy_version: PolicyVersion | None,
    findings: dict[str, int],
    error_code: str,
    message: str,
    details: dict[str, Any],
    parts: Sequence[Run] = (),
) -> None:
    """The policy refused the run (call inside a transaction). One prompt.blocked event on
    `run`; a summary's `parts` are blocked with the same sentence and no event of their
    own: the summary was refused as a whole."""
    now = timezone.now()
    transition = TRANSITIONS["blocked"]
    for each in (*parts, run):
        _move(each, "blocked", S.BLOCKED)
        each.decision = "block"
        each.policy_version = policy_version
        each.error_code = error_code
        each.error_message = message
        each.finished_at = now
        if each is run:
            each.findings_summary = dict(findings)
        each.save()
    assert transition.action is not None
    audit_record(
        actor=run.owner, action=transition.action, target=run, outcome="blocked", details=details
    )
    metrics.RUNS_FINISHED.labels(run.tool, S.BLOCKED).inc()
    _ended(run)


def run_block_after_error(*, run_id: Any, message: str, with_parts: bool = False) -> bool:
    """The policy step crashed: block the run (and, for a summary, its queued parts) with
    one prompt.blocked event. False if the run was no longer queued."""
    with transaction.atomic():
        run = _locked(run_id, "blocked")
        if run is None:
            return False
        parts: list[Run] = []
        if with_parts:
            parts = list(Run.objects.select_for_update().filter(parent_id=run.pk, status=S.QUEUED))
        run_block(
            run=run,
            policy_version=run.policy_version,
            findings=run.findings_summary,
            error_code="policy_error",
            message=message,
            details={"tool": run.tool, "model": run.model_id, "reason": "analysis_failed"},
            parts=parts,
        )
    return True


def run_lock_queued(*, run_id: Any) -> bool:
    """Lock the run if it is still queued (call inside a transaction); False if not: the
    policy step stores its decision only on a run the watchdog has not ended meanwhile.
    (Its id only: the caller has the row, and this runs on every message's path.)"""
    queued = Run.objects.select_for_update().filter(pk=run_id, status=S.QUEUED)
    return queued.values_list("pk", flat=True).first() is not None


# --- Generation --------------------------------------------------------------------------


def run_claim_for_generation(*, run_id: Any) -> bool:
    """queued → running for a judged, allowed run. A conditional UPDATE: a duplicate
    delivery, a blocked or unjudged run, or one the reaper took claims nothing."""
    now = timezone.now()
    claimable = Run.objects.filter(pk=run_id).exclude(decision__in=("", "block"))
    return bool(_move_where(claimable, "claimed", S.RUNNING, started_at=now, heartbeat_at=now))


def run_mark_streaming(*, run_id: Any) -> bool:
    """running → streaming, when the first token arrived."""
    return bool(_move_where(Run.objects.filter(pk=run_id), "streaming", S.STREAMING))


def run_cancel_before_start(*, run_id: Any) -> bool:
    """A claimed run whose owner pressed Stop before the call: cancelled, nothing sent."""
    return run_finish(run_id=run_id, status=S.CANCELLED, sanitized_text="")


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as run_finish is told and generation.finished records it."""

    status: str
    sanitized_text: str = ""
    usage: Usage | None = None
    ttft_ms: int | None = None
    latency_ms: int | None = None
    error_code: str = ""
    error_message: str = ""
    stop_reason: str = ""
    attempts: Sequence[dict[str, Any]] = ()  # one per Bedrock request (llm.client.Attempt)


def run_finish(*, run_id: Any, status: str, sanitized_text: str, **outcome: Any) -> bool:
    """Store the outcome of a generating run once (worker or reaper, whoever is first).
    `outcome`: the other fields of `Outcome` (usage, times, error, stop reason)."""
    return _end("finished", run_id, Outcome(status, sanitized_text, **outcome))


def run_interrupt(*, run_id: Any, partial_text: str, error_message: str) -> bool:
    """The reaper: the worker died (or the run never left the queue); keep what arrived."""
    outcome = Outcome(
        S.INTERRUPTED, partial_text, error_code="interrupted", error_message=error_message
    )
    return _end("interrupted", run_id, outcome)


def run_expire(*, run_id: Any, error_code: str, error_message: str) -> bool:
    """The watchdog: a queued run missed its pickup deadline (policy step or generator).
    Failed with the sentence; nothing was sent. False if it moved on meanwhile."""
    outcome = Outcome(S.FAILED, error_code=error_code, error_message=error_message)
    return _end("expired", run_id, outcome)


def run_end_waiting(*, run_id: Any, status: str, error_code: str, error_message: str) -> bool:
    """A waiting run ends without a call: a summary's combining run whose part failed or
    was stopped."""
    outcome = Outcome(status, error_code=error_code, error_message=error_message)
    return _end("ended_waiting", run_id, outcome)


def _end(name: str, run_id: Any, outcome: Outcome) -> bool:
    """The outcome, its answer message and generation.finished in one transaction, then
    the terminal relay event; a summary part's end queues the summary's next step."""
    status, sanitized_text = outcome.status, outcome.sanitized_text
    with transaction.atomic():
        run = _locked(run_id, name)
        if run is None:
            return False
        transition = _move(run, name, status)
        mapping = decrypt_mapping(run.conversation.pseudonym_map_encrypted)
        shown = mapping.restore(sanitized_text)
        if sanitized_text or status == S.DONE:
            run.assistant_message = Message.objects.create(
                conversation=run.conversation,
                role=Message.Role.ASSISTANT,
                content=shown,
                sanitized_content=sanitized_text,
            )
        run.finished_at = timezone.now()
        run.error_code = outcome.error_code
        run.error_message = outcome.error_message
        run.time_to_first_token_ms = outcome.ttft_ms
        run.latency_ms = outcome.latency_ms
        if outcome.attempts:
            run.attempts = list(outcome.attempts)
        usage = outcome.usage
        spec = {spec.id: spec for spec in model_allowlist()}.get(run.model_id)
        if usage is not None:
            run.input_tokens, run.output_tokens = usage.input_tokens, usage.output_tokens
            if spec is not None:
                run.cost_usd = cost_usd(spec, usage.input_tokens, usage.output_tokens)
        run.save()
        assert transition.action is not None
        audit_record(
            actor=run.owner,
            action=transition.action,
            target=run,
            outcome=status,
            details={
                "tool": run.tool,
                "model": run.model_id,
                "input_tokens": run.input_tokens,
                "output_tokens": run.output_tokens,
                "cost_usd": str(run.cost_usd) if run.cost_usd is not None else None,
                "ttft_ms": outcome.ttft_ms,
                "latency_ms": outcome.latency_ms,
                "error_code": outcome.error_code,
                "stop_reason": outcome.stop_reason,
                "bedrock_calls": len(outcome.attempts),
                **({"preset": run.preset} if run.preset else {}),
            },
        )
        _ended(run)
        if run.parent_id is not None:
            # Progress and the combining step are the summary's business: queue its
            # step (sent after this commit) rather than calling into it.
            dispatch.dispatch(dispatch.SUMMARY_PART_FINISHED, str(run.pk))
    try:
        _relay_outcome(run, outcome, shown)
    except Exception:
        # The outcome is committed; the SSE view reads it from the database when the relay
        # has no terminal entry (Redis down longer than the append's retry).
        logger.warning("run %s: could not relay its outcome", run_id, exc_info=True)
    _count_end(name, run, outcome)
    return True


def _count_end(name: str, run: Run, outcome: Outcome) -> None:
    """Metrics for a run that ended after judging (config/metrics.py)."""
    metrics.RUNS_FINISHED.labels(run.tool, outcome.status).inc()
    if name == "finished":  # the generator's own end: one Bedrock call came back
        result = "ok" if outcome.status == S.DONE else (outcome.error_code or outcome.status)
        metrics.BEDROCK_CALLS.labels(run.model_id, result).inc()
    if outcome.ttft_ms is not None:
        metrics.TIME_TO_FIRST_TOKEN_SECONDS.labels(run.model_id).observe(outcome.ttft_ms / 1000)


# Failed runs whose failure cannot go differently the next time: no Retry is offered.
NOT_RETRYABLE_CODES = frozenset({cls.code for cls in (InputTooLong, ModelNotAllowed, BedrockError)})
RETRYABLE_STATUSES = frozenset({S.FAILED, S.INTERRUPTED, S.CANCELLED})


def run_retryable(run: Run) -> bool:
    """Whether the employee may retry this run: decided here, once, from its final state.
    The stream's final event, /runs/<id>/, the page and `run_retry` all ask this.

    A failed, interrupted or stopped answer may be retried unless its error says a retry
    cannot succeed (input too long, a refused model or request). A run blocked because
    the checker crashed (`policy_error`) may be retried too: the block was not a decision.
    A summary (or one of its parts) has no single message to send again."""
    if run.parent_id is not None or run.user_message_id is None:
        return False
    if run.status == S.BLOCKED:
        return run.error_code == "policy_error"
    return run.status in RETRYABLE_STATUSES and run.error_code not in NOT_RETRYABLE_CODES


def _relay_outcome(run: Run, outcome: Outcome, shown: str) -> None:
    status = outcome.status
    final = {
        "status": status,
        "text": shown,
        "html": render_markdown(shown),
        "message_id": run.assistant_message_id,
    }
    if status == S.DONE:
        relay.relay_append(run.pk, "done", final)
        return
    default = (
        "The answer was stopped. What arrived is kept."
        if shown
        else "The answer was stopped before any text arrived."
    )
    relay.relay_append(
        run.pk,
        "error",
        {
            **final,
            "code": outcome.error_code or status,
            "message": outcome.error_message or default,
            "retryable": run_retryable(run),
        },
    )
