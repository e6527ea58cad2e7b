"""Thin Celery tasks: they take ids and call services. Imported by nothing in the app:
services queue them by name (prompting/runs/dispatch.py, which holds the names).

Queues (config/settings.py CELERY_TASK_ROUTES): `generate_*` → interactive (thread
pool, many concurrent streams); everything else → cpu (policy analysis, extraction).
Interactive generations are never redelivered: acks are early, and a worker that
dies leaves its runs to the reaper, which marks them interrupted.
"""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_ready
from django.conf import settings

from config import presence
from prompting import retention
from prompting.policy import warm_up
from prompting.runs import dispatch, generation, inline_judging, judging, preview
from prompting.runs.services import runs_reap_stale
from prompting.summarize import documents, pipeline
from prompting.summarize import preview as summary_preview
from prompting.summarize.extraction_child import time_limit_error

logger = logging.getLogger(__name__)


@worker_process_init.connect
def _warm_up_in_child(**_kwargs: object) -> None:
    _warm_up_policy_engine()


@worker_ready.connect
def _warm_up_when_ready(sender: object = None, **_kwargs: object) -> None:
    # Workers that consume the cpu queue analyse text, and so do interactive workers while
    # short messages are judged inline (prompting/runs/inline_judging.py: ~80 MB of spaCy);
    # a worker of other queues only would carry it for nothing.
    try:
        queues = set(sender.app.amqp.queues.consume_from)  # type: ignore[attr-defined]
    except AttributeError:
        queues = {"cpu"}
    if "cpu" in queues or ("interactive" in queues and settings.POLICY_INLINE_MAX_CHARS):
        # In a thread: blocking here would keep the worker from answering pings
        # (/healthz would count it as missing) for the seconds spaCy takes to load.
        threading.Thread(target=_warm_up_policy_engine, name="policy-warm-up", daemon=True).start()


def _warm_up_policy_engine() -> None:
    """Load spaCy and run one analysis now, not in the first user's request (~2 s)."""
    try:
        warm_up(settings.COMPANY_ID_PATTERNS)
    except Exception:
        logger.exception("policy engine warm-up failed; the first request will retry")
        return
    inline_judging.mark_engine_ready()
    logger.info("policy engine ready")
    presence.worker_mark_warm(hostname=presence.this_worker_hostname())


@shared_task(name=dispatch.POLICY_STEP, ignore_result=True)
def policy_step(run_id: str) -> None:
    if judging.run_judge_or_block(run_id=run_id):
        dispatch.dispatch(dispatch.GENERATE_RUN, run_id)


@shared_task(name=dispatch.JUDGE_THEN_GENERATE, ignore_result=True)
def generate_after_judging(run_id: str) -> None:
    # A short message, on the interactive queue: judged here and answered by this same
    # thread, without the two queue hops (prompting/runs/inline_judging.py).
    if inline_judging.run_judge_here(run_id=run_id):
        generation.run_generate(run_id=run_id)


@shared_task(name=dispatch.POLICY_PREVIEW, ignore_result=True)
def policy_preview(request_id: str, user_id: int, conversation_id: int | None) -> None:
    preview.preview_compute(request_id=request_id, user_id=user_id, conversation_id=conversation_id)


@shared_task(name=dispatch.DOCUMENT_PREVIEW, ignore_result=True)
def document_preview(
    request_id: str, user_id: int, document_id: int, model_id: str, length: str
) -> None:
    summary_preview.document_preview_compute(
        request_id=request_id,
        user_id=user_id,
        document_id=document_id,
        model_id=model_id,
        length=length,
    )


@shared_task(name=dispatch.GENERATE_RUN, ignore_result=True)
def generate_run(run_id: str) -> None:
    generation.run_generate(run_id=run_id)


@shared_task(name="prompting.tasks.reap_stale_runs", ignore_result=True)
def reap_stale_runs() -> int:
    reaped = runs_reap_stale()
    if reaped:
        logger.warning("reaper: marked %d run(s) interrupted", reaped)
    return reaped


@shared_task(name="prompting.tasks.purge_conversations", ignore_result=True)
def purge_conversations() -> int:
    return retention.conversations_purge()


# --- Summarize (prompting/summarize/) ----------------------------------------------------------
# Extraction itself runs in a child process with its own memory/CPU limits and a 90 s
# wall clock; these task limits are the outer bound if anything else hangs.
@shared_task(
    name=dispatch.EXTRACT_DOCUMENT, ignore_result=True, soft_time_limit=120, time_limit=150
)
def extract_document(document_id: int) -> None:
    try:
        documents.document_extract(document_id=document_id)
    except SoftTimeLimitExceeded:
        error = time_limit_error()
        documents.document_fail(
            document_id=document_id, code=error.code, message=error.user_message
        )
    except Exception:
        logger.exception("extracting document %s failed", document_id)
        documents.document_fail(
            document_id=document_id,
            code="extraction_error",
            message=(
                "The document could not be read because of an error on our side. "
                "It has been recorded; please try again."
            ),
        )


@shared_task(name=dispatch.SUMMARY_POLICY_STEP, ignore_result=True)
def summary_policy_step(parent_id: str) -> None:
    try:
        allowed = pipeline.summary_judge_parts(parent_id=parent_id)
    except Exception:
        # Fail closed, as policy_step does: nothing unjudged goes to Bedrock.
        logger.exception("judging summary %s failed; blocking it", parent_id)
        judging.runs_block_after_error(parent_id=parent_id)
        return
    for run_id in allowed:
        dispatch.dispatch(dispatch.GENERATE_RUN, run_id)


@shared_task(name=dispatch.SUMMARY_PART_FINISHED, ignore_result=True)
def summary_part_finished(part_id: str) -> None:
    pipeline.summary_part_finished(part_id=part_id)


@shared_task(name=dispatch.SUMMARY_REDUCE, ignore_result=True)
def summary_reduce(parent_id: str) -> None:
    try:
        if not pipeline.summary_reduce_prepare(parent_id=parent_id):
            return
        may_send = judging.run_judge(run_id=parent_id)
    except Exception:
        logger.exception("combining summary %s failed; blocking it", parent_id)
        judging.run_block_after_error(run_id=parent_id)
        return
    if may_send:
        dispatch.dispatch(dispatch.GENERATE_RUN, parent_id)
