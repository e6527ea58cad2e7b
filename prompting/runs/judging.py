"""The policy step: judge what a run will send, store the sanitized text, record the decision.

One implementation for both callers: a chat or rewrite message (`run_judge`, one run) and
a summary's parts (`runs_judge_together`, all parts in one batched pass with ONE mapping,
where one blocked part blocks the whole summary). The audit details of a decision are
built here and nowhere else (`decision_details`, `blocked_details`); the status changes
and their events are `lifecycle`'s. Any error blocks (fail closed).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.actions import Action
from audit.services import audit_record
from config import metrics
from prompting.crypto import decrypt_mapping, encrypt_mapping
from prompting.models import Conversation, Run
from prompting.policy import (
    Judgement,
    Override,
    Policy,
    PolicyError,
    PseudonymMap,
    get_analyzer,
    judge_fail_closed,
    judge_many,
)
from prompting.policy.errors import AnalysisFailed
from prompting.policy.rules import ACTION_SEVERITY
from prompting.policy.rules import Action as PolicyAction
from prompting.runs import lifecycle, redaction, relay, reuse
from prompting.selectors import known_people, policy_version_in_force
from prompting.services import conversation_title_fill

logger = logging.getLogger(__name__)

POLICY_TIMEOUT_S = 30.0
POLICY_ERROR_MESSAGE = (
    "Your message could not be checked for personal data, so it was not sent. "
    "Nothing left this company; please try again in a moment."
)


def overrides_from_json(raw: Sequence[dict[str, Any]]) -> list[Override]:
    """Stored false-positive marks → policy Overrides (unknown keys ignored)."""
    keys = {"entity_type", "start", "end", "value_digest", "reason"}
    return [Override(**{k: v for k, v in item.items() if k in keys}) for item in raw]


def decision_details(
    *, run: Run, policy_version: int, judgement: Any, input_chars: int
) -> dict[str, Any]:
    """The audit details of a policy decision: kinds and counts, never values."""
    details = {
        "tool": run.tool,
        "model": run.model_id,
        "region": settings.BEDROCK_REGION,
        "policy_version": policy_version,
        "decision": judgement.decision,
        "findings": dict(judgement.counts_by_type),
        "actions": dict(judgement.actions_by_type),
        "input_chars": input_chars,
    }
    if run.preset:
        details["preset"] = run.preset  # Rewrite's preset, for insights
    return details


def blocked_details(
    *, run: Run, policy_version: int, judgements: Sequence[Judgement], input_chars: int
) -> dict[str, Any]:
    """A refusal: findings of everything judged together, the kinds that blocked, why."""
    findings: dict[str, int] = {}
    actions: dict[str, PolicyAction] = {}
    for judgement in judgements:
        for entity, count in judgement.counts_by_type.items():
            findings[entity] = findings.get(entity, 0) + count
        for entity, action in judgement.actions_by_type.items():
            # Several texts judged together: the strictest action a type got anywhere.
            if ACTION_SEVERITY[action] >= ACTION_SEVERITY[actions.get(entity, "allow")]:
                actions[entity] = action
    blocked = [j for j in judgements if j.decision == "block"]
    return {
        "tool": run.tool,
        "model": run.model_id,
        "region": settings.BEDROCK_REGION,
        "policy_version": policy_version,
        "decision": "block",
        "findings": findings,
        "actions": actions,
        "blocked_types": sorted({t for j in blocked for t in j.blocked_types}),
        "reason": blocked[0].reason,
        "input_chars": input_chars,
        **({"preset": run.preset} if run.preset else {}),
    }


def _store_allowed(
    *,
    run: Run,
    judgement: Judgement,
    version_row: Any,
    text: str,
    extra: dict[str, Any],
    prestored: bool = False,
) -> None:
    """Store what the model will see, and its prompt.submitted event (in a transaction).
    The kept message loses its redacted values, unless it was stored without them."""
    sanitized = judgement.sanitized_text or ""
    assert run.user_message is not None
    run.user_message.sanitized_content = sanitized
    if not prestored:
        run.user_message.content = judgement.stored_text(text)
    run.user_message.save(update_fields=["content", "sanitized_content"])
    lifecycle.run_mark_judged(
        run=run,
        policy_version=version_row,
        judgement=judgement,
        details={
            **decision_details(
                run=run,
                policy_version=version_row.version,
                judgement=judgement,
                input_chars=len(text),
            ),
            **extra,
            "sanitized_sha256": hashlib.sha256(sanitized.encode()).hexdigest(),
        },
        content=sanitized if settings.AUDIT_STORE_CONTENT else "",
    )


def _save_mapping(conversation: Conversation, mapping: Any, *, also: Sequence[str] = ()) -> None:
    conversation.pseudonym_map_encrypted = encrypt_mapping(mapping)
    conversation.save(update_fields=["pseudonym_map_encrypted", "updated_at", *also])


def judge_text(
    text: str,
    *,
    policy: Any,
    mapping: Any,
    overrides: Sequence[Override] = (),
    kind: str = "message",
) -> Judgement:
    """The policy on one text with this deployment's analyzer and limits; any error
    blocks (fail closed). Shared by the policy step and the preview; `kind` (message,
    preview, summary) labels the analysis-time metric."""
    started = time.monotonic()
    judgement = judge_fail_closed(
        text,
        policy=policy,
        mapping=mapping,
        overrides=list(overrides),
        analyzer=get_analyzer(settings.COMPANY_ID_PATTERNS),
        known_names=known_people(),
        max_chars=settings.MAX_PROMPT_CHARS,
        timeout_s=POLICY_TIMEOUT_S,
    )
    metrics.POLICY_ANALYSIS_SECONDS.labels(kind).observe(time.monotonic() - started)
    if judgement.reason not in (None, "blocked_entities"):
        metrics.POLICY_FAILURES.labels(kind).inc()  # an error, not a finding: fail closed
    return judgement


def run_judge(*, run_id: Any) -> bool:
    """Apply the policy in force to the run's new message. True if it may go to Bedrock.

    Only the new message is analysed: earlier turns were judged when they were sent
    and are replayed from their sanitized form. A previewed, unchanged message reuses
    the preview's judgement (reuse.py).
    """
    run = Run.objects.select_related("conversation", "user_message", "owner").get(pk=run_id)
    if run.status != Run.Status.QUEUED:
        return False  # judged already (duplicate delivery) or reaped
    conversation = run.conversation
    message = run.user_message
    assert message is not None
    text = message.content
    # Read once: the version recorded is the version applied.
    version_row = policy_version_in_force()
    policy = Policy.from_rules_json(version=version_row.version, rules=version_row.rules)
    overrides = overrides_from_json(run.overrides)
    input_chars = len(text)

    def handed(token: bytes) -> tuple[list[Judgement], PseudonymMap] | None:
        nonlocal input_chars
        got = reuse.recall_for_run(run.pk, mapping_token=token, policy_version=version_row.version)
        if got is None:
            return None
        judgements, mapping, input_chars = got
        return judgements, mapping

    ended_meanwhile = False

    def store(judgements: list[Judgement], mapping: PseudonymMap, how: str) -> None:
        nonlocal ended_meanwhile
        if not lifecycle.run_lock_queued(run_id=run.pk):
            # The watchdog ended it while it was being judged (the employee was told
            # "nothing was sent"): store nothing, send nothing.
            ended_meanwhile = True
            return
        judgement = judgements[0]
        reused = bool(how)
        prestored = how == "prestored"  # the message and title are stored without values
        _record_overrides(run, overrides, judgement, version_row.version)
        if not prestored:
            redaction.keep_redacted_out(conversation, [(text, judgement)])
        if judgement.decision == "block":
            stored = text if prestored else judgement.stored_text(text)
            if stored != text:
                message.content = stored
                message.save(update_fields=["content"])
            lifecycle.run_block(
                run=run,
                policy_version=version_row,
                findings=dict(judgement.counts_by_type),
                error_code="blocked",
                message=judgement.user_message or "This message was blocked by the policy.",
                details={
                    **blocked_details(
                        run=run,
                        policy_version=version_row.version,
                        judgements=[judgement],
                        input_chars=input_chars,
                    ),
                    "preview_reused": reused,
                },
            )
        else:
            _store_allowed(
                run=run,
                judgement=judgement,
                version_row=version_row,
                text=text,
                extra={"preview_reused": reused, "input_chars": input_chars},
                prestored=prestored,
            )
            titled = conversation_title_fill(
                conversation=conversation, sanitized=judgement.sanitized_text or "", save=False
            )
            _save_mapping(conversation, mapping, also=["title"] if titled else [])

    judgement = judge_and_store(
        conversation_id=conversation.pk,
        key_for=lambda token: reuse.judgement_key(
            user_id=run.owner_id,
            texts=[text],
            policy_version=version_row.version,
            mapping_token=token,
            overrides=run.overrides,
        ),
        analyse=lambda mapping: [
            judge_text(text, policy=policy, mapping=mapping, overrides=overrides)
        ],
        store=store,
        handed=handed,
    )[0]
    if ended_meanwhile:
        return False
    blocked = judgement.decision == "block"
    if blocked:
        relay.relay_append(
            run.pk,
            "error",
            {"code": "blocked", "message": judgement.user_message, "retryable": False},
        )
    return not blocked


CAS_ATTEMPTS = 3


def _map_token(conversation_id: Any, *, lock: bool = False) -> bytes:
    rows = Conversation.objects.filter(pk=conversation_id)
    if lock:
        rows = rows.select_for_update()
    return bytes(rows.values_list("pseudonym_map_encrypted", flat=True).get() or b"")


def judge_and_store(
    *,
    conversation_id: Any,
    key_for: Callable[[bytes], str],
    analyse: Callable[[PseudonymMap], list[Judgement]],
    store: Callable[[list[Judgement], PseudonymMap, str], None],
    handed: Callable[[bytes], tuple[list[Judgement], PseudonymMap] | None] | None = None,
) -> list[Judgement]:
    """Judge against the conversation's map as stored now, and `store` the outcome in a
    transaction holding the conversation's row lock — only if the map is still the one
    judged against (compare-and-swap on its encrypted bytes, new with every save); else
    judge again. So two turns judged at once never lose each other's placeholders. The
    last attempt judges while holding the lock. A preview's judgement for exactly this
    state (`key_for(token)`) is used instead of analysing, and before that one `handed`
    over when the run was created. `store` learns which: "prestored" (handed over: the
    message was stored without its redacted values already), "preview", or "" (analysed).
    """

    def judged(token: bytes) -> tuple[list[Judgement], PseudonymMap, str]:
        prejudged = handed(token) if handed is not None else None
        if prejudged is not None:
            return prejudged[0], prejudged[1], "prestored"
        recalled = reuse.recall(key_for(token))
        if recalled is not None:
            return recalled[0], recalled[1], "preview"
        mapping = decrypt_mapping(token)
        return analyse(mapping), mapping, ""

    for _attempt in range(CAS_ATTEMPTS - 1):
        token = _map_token(conversation_id)
        judgements, mapping, reused = judged(token)
        with transaction.atomic():
            if _map_token(conversation_id, lock=True) == token:
                store(judgements, mapping, reused)
                return judgements
        logger.info("a conversation's map changed while judging; judging again")
    with transaction.atomic():
        token = _map_token(conversation_id, lock=True)
        judgements, mapping, reused = judged(token)
        store(judgements, mapping, reused)
        return judgements


def _record_overrides(
    run: Run, overrides: list[Override], judgement: Judgement, policy_version: int
) -> None:
    rejected = set(judgement.rejected_overrides)
    for override in overrides:
        audit_record(
            actor=run.owner,
            action=Action.POLICY_OVERRIDE,
            target=run,
            outcome="rejected" if override in rejected else "ok",
            details={
                "entity_type": override.entity_type,
                "reason": override.reason,
                "policy_version": policy_version,
            },
        )


def run_judge_or_block(*, run_id: Any) -> bool:
    """`run_judge`, failing closed: whatever goes wrong, the run is blocked and nothing
    unjudged goes to Bedrock. True if it may be sent. Both places that judge a single
    run call this (the cpu queue's policy step, the interactive worker's inline judging)."""
    try:
        return run_judge(run_id=run_id)
    except Exception:
        logger.exception("judging run %s failed; blocking it", run_id)
        run_block_after_error(run_id=run_id)
        return False


def run_block_after_error(*, run_id: Any) -> None:
    """The policy step failed unexpectedly: block the run, record it, tell the user."""
    if lifecycle.run_block_after_error(run_id=run_id, message=POLICY_ERROR_MESSAGE):
        _tell_error_block(run_id)


def runs_block_after_error(*, parent_id: Any) -> None:
    """A summary's policy step crashed: the summary and its queued parts are blocked,
    one event on the summary."""
    if lifecycle.run_block_after_error(
        run_id=parent_id, message=POLICY_ERROR_MESSAGE, with_parts=True
    ):
        _tell_error_block(parent_id)


def _tell_error_block(run_id: Any) -> None:
    # Retry is offered exactly when run_retry will accept it (lifecycle.run_retryable).
    run = Run.objects.get(pk=run_id)
    relay.relay_append(
        run_id,
        "error",
        {
            "status": run.status,
            "code": "policy_error",
            "message": POLICY_ERROR_MESSAGE,
            "retryable": lifecycle.run_retryable(run),
        },
    )


# --- Many texts as one -------------------------------------------------------------------


def judge_texts_fail_closed(
    texts: list[str], *, policy: Any, mapping: Any, timeout_s: float, kind: str = "summary"
) -> list[Judgement]:
    """One batched pass, one mapping. Any failure blocks everything (fail closed).
    Shared by a summary's policy step and its preview; `kind` labels the metrics."""
    started = time.monotonic()
    try:
        judgements = judge_many(
            texts,
            policy=policy,
            mapping=mapping,
            analyzer=get_analyzer(settings.COMPANY_ID_PATTERNS),
            known_names=known_people(),
            max_chars=settings.MAX_PROMPT_CHARS,
            timeout_s=timeout_s,
        )
        metrics.POLICY_ANALYSIS_SECONDS.labels(kind).observe(time.monotonic() - started)
        return judgements
    except PolicyError as exc:
        error: PolicyError = exc
    except Exception:
        logger.exception("policy analysis of several texts failed; blocking them")
        error = AnalysisFailed()
    metrics.POLICY_FAILURES.labels(kind).inc()
    blocked = Judgement.blocked_by_error(error, policy_version=policy.version)
    return [blocked for _ in texts]


def runs_judge_together(
    *,
    target: Run,
    parts: list[Run],
    block_message: Callable[[Run, Judgement], str],
    timeout_s: float,
) -> list[str]:
    """Judge `parts` (or, with none, `target` alone) in one pass with the conversation's
    one mapping. Returns the ids that may now be generated.

    A refusal is one event on `target`, which ends blocked with its parts, with the
    sentence `block_message(first blocked run, its judgement)`.
    """
    runs = parts or [target]
    if any(r.status != Run.Status.QUEUED or r.decision for r in runs):
        return []  # judged already (duplicate delivery) or stopped
    conversation = target.conversation
    texts = [r.user_message.content if r.user_message else "" for r in runs]
    version_row = policy_version_in_force()  # read once: recorded = applied
    policy = Policy.from_rules_json(version=version_row.version, rules=version_row.rules)
    message = ""
    first_blocked: tuple[Run, Judgement] | None = None

    def store(judgements: list[Judgement], mapping: PseudonymMap, how: str) -> None:
        nonlocal message, first_blocked
        reused = bool(how)
        first_blocked = next(
            ((r, j) for r, j in zip(runs, judgements, strict=True) if j.decision == "block"),
            None,
        )
        message = block_message(*first_blocked) if first_blocked is not None else ""
        judged = list(zip(texts, judgements, strict=True))
        redaction.keep_redacted_out(conversation, judged)
        if target.document_id is not None:
            redaction.redact_document(target.document_id, judged)
        if first_blocked is not None:
            for run, judgement, text in zip(runs, judgements, texts, strict=True):
                stored = judgement.stored_text(text)
                if run.user_message is not None and stored != text:
                    run.user_message.content = stored
                    run.user_message.save(update_fields=["content"])
            lifecycle.run_block(
                run=target,
                policy_version=version_row,
                findings=target.findings_summary,
                error_code="blocked",
                message=message,
                details={
                    **blocked_details(
                        run=target,
                        policy_version=version_row.version,
                        judgements=judgements,
                        input_chars=sum(len(t) for t in texts),
                    ),
                    "parts_total": len(runs),
                    "blocked_parts": [
                        r.part_index
                        for r, j in zip(runs, judgements, strict=True)
                        if j.decision == "block"
                    ],
                    "preview_reused": reused,
                },
                parts=parts,
            )
        else:
            for run, judgement, text in zip(runs, judgements, texts, strict=True):
                _store_allowed(
                    run=run,
                    judgement=judgement,
                    version_row=version_row,
                    text=text,
                    extra={
                        "part_index": run.part_index,
                        "parts_total": len(parts),
                        "preview_reused": reused,
                    },
                )
            _save_mapping(conversation, mapping)

    judge_and_store(
        conversation_id=conversation.pk,
        key_for=lambda token: reuse.judgement_key(
            user_id=target.owner_id,
            texts=texts,
            policy_version=version_row.version,
            mapping_token=token,
        ),
        analyse=lambda mapping: judge_texts_fail_closed(
            texts, policy=policy, mapping=mapping, timeout_s=timeout_s
        ),
        store=store,
    )
    if first_blocked is not None:
        relay.relay_append(
            target.pk, "error", {"code": "blocked", "message": message, "retryable": False}
        )
        return []
    return [str(r.pk) for r in runs]
