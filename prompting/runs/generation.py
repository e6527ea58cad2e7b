"""Generating an answer: the interactive worker's side of a run.

Claims the judged run, sends the sanitized history to Bedrock (ConverseStream),
restores placeholders in each delta for display, relays it through Redis, and
ends the run through `lifecycle.run_finish` (outcome and audit event). A process-wide
heartbeat thread marks the runs this worker is streaming, so the reaper can tell a dead
worker from a slow model.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from celery.signals import worker_shutting_down
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from prompting.crypto import decrypt_mapping
from prompting.llm.client import (
    STATUS_BUSY_RETRYING,
    ConverseStream,
    RetryPolicy,
    bedrock_client,
    stream_converse,
)
from prompting.llm.errors import LLMError
from prompting.llm.events import STOP_REASON_CANCELLED, Finished, TextDelta, Usage
from prompting.models import Run, Tool
from prompting.policy.pseudonymizer import StreamRestorer
from prompting.runs import dispatch, lifecycle, relay
from prompting.runs.lifecycle import run_finish
from prompting.selectors import model_allowlist

logger = logging.getLogger(__name__)

# The reaper calls a run stale after services.STALE_HEARTBEAT (12 s): four missed beats.
HEARTBEAT_INTERVAL_S = 3.0
# run_finish is retried this long while the database is unreachable (a PostgreSQL restart
# mid-answer): the final text is saved once it is back.
FINISH_RETRY_S = 60.0


def bedrock() -> Any:
    return bedrock_client(
        region=settings.BEDROCK_REGION,
        endpoint_url=settings.BEDROCK_ENDPOINT_URL,
        connect_timeout=settings.BEDROCK_CONNECT_TIMEOUT,
        read_timeout=settings.BEDROCK_READ_TIMEOUT,
        use_dummy_credentials=settings.BEDROCK_EMULATOR,
    )


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.BEDROCK_MAX_ATTEMPTS,
        base_delay_s=settings.BEDROCK_RETRY_BASE_DELAY,
        max_delay_s=settings.BEDROCK_RETRY_MAX_DELAY,
    )


class _Heartbeats:
    """One thread per worker process refreshes heartbeat_at of every run it streams."""

    def __init__(self) -> None:
        self._runs: set[Any] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, run_id: Any) -> None:
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
                self._thread.start()

    def discard(self, run_id: Any) -> None:
        with self._lock:
            self._runs.discard(run_id)

    def _beat(self) -> None:
        stop = threading.Event()
        while not stop.wait(HEARTBEAT_INTERVAL_S):
            with self._lock:
                ids = list(self._runs)
            if not ids:
                continue
            try:
                Run.objects.filter(pk__in=ids, status__in=lifecycle.ACTIVE).update(
                    heartbeat_at=timezone.now()
                )
            except Exception:
                logger.warning("heartbeat update failed", exc_info=True)
            finally:
                connection.close()


heartbeats = _Heartbeats()


class _Drain:
    """SIGTERM to an interactive worker (a deploy): Celery's warm shutdown stops consuming
    and waits for running tasks; here, streams that are running may finish for
    WORKER_DRAIN_GRACE seconds, after which they stop keeping their partial text (failed,
    `worker_restart`, retryable). A generation that starts while draining is handed back
    to the queue unclaimed, for another (or the restarted) worker: no new work here."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.grace_over = threading.Event()

    def begin(self, grace_s: float) -> None:
        if self.started.is_set():
            return
        self.started.set()
        logger.warning("worker stopping: running answers get %.0f s to finish", grace_s)
        timer = threading.Timer(grace_s, self.grace_over.set)
        timer.daemon = True
        timer.start()


drain = _Drain()


@worker_shutting_down.connect
def _on_worker_shutting_down(**_kwargs: object) -> None:
    drain.begin(settings.WORKER_DRAIN_GRACE)


def conversation_history(run: Run) -> list[dict[str, Any]]:
    """The sanitized turns Bedrock sees: finished exchanges, then the new message.

    Blocked, failed and cancelled turns are left out, which also keeps the user /
    assistant alternation Converse requires.
    """
    if run.tool == Tool.SUMMARIZE:
        # A summary's runs (parts, the combining call) share one conversation for its
        # pseudonym mapping, but each is a single self-contained request.
        assert run.user_message is not None
        return [{"role": "user", "content": [{"text": run.user_message.sanitized_content}]}]
    done = (
        Run.objects.filter(conversation_id=run.conversation_id, status=Run.Status.DONE)
        .exclude(pk=run.pk)
        .filter(created_at__lt=run.created_at)
        .select_related("user_message", "assistant_message")
        .order_by("created_at")
    )
    messages: list[dict[str, Any]] = []
    for turn in done:
        if turn.user_message is None or turn.assistant_message is None:
            continue
        messages.append(
            {"role": "user", "content": [{"text": turn.user_message.sanitized_content}]}
        )
        messages.append(
            {"role": "assistant", "content": [{"text": turn.assistant_message.sanitized_content}]}
        )
    assert run.user_message is not None
    messages.append({"role": "user", "content": [{"text": run.user_message.sanitized_content}]})
    return messages


WORKER_RESTART_MESSAGE = (
    "The answer was interrupted by a restart of the service. What arrived is kept; you can retry."
)


def run_generate(*, run_id: Any) -> None:
    """Stream one answer. Never raises: every outcome ends in lifecycle.run_finish."""
    if drain.started.is_set():
        # This worker is stopping: back to the queue, unclaimed, for a worker that stays.
        dispatch.dispatch(dispatch.GENERATE_RUN, str(run_id))
        return
    if not lifecycle.run_claim_for_generation(run_id=run_id):
        return  # not judged, blocked, already running (duplicate), expired or reaped
    run = Run.objects.select_related("conversation", "user_message").get(pk=run_id)
    if run.cancel_requested or relay.cancel_requested(run_id):
        lifecycle.run_cancel_before_start(run_id=run_id)
        return
    # model_allowlist() is cached per LLM_MODELS value, so this stays cheap.
    model = {spec.id: spec for spec in model_allowlist()}.get(run.model_id)
    if model is None:
        _finish(
            run_id=run_id,
            status=Run.Status.FAILED,
            sanitized_text="",
            error_code="model_not_allowed",
            error_message="That model is no longer available in this tool. Choose another one.",
        )
        return
    restorer = StreamRestorer(decrypt_mapping(run.conversation.pseudonym_map_encrypted))
    raw_parts: list[str] = []
    usage: Usage | None = None
    finished: Finished | None = None
    stream: ConverseStream | None = None
    deltas = relay.DeltaStream(run_id)
    heartbeats.add(run_id)
    try:
        history = conversation_history(run)
        _release_db_connection()
        stream = stream_converse(
            bedrock(),
            model=model,
            messages=history,
            system=run.system_prompt or None,
            max_tokens=run.max_output_tokens,  # set by Summarize's length choice
            on_status=lambda status: _relay_status(run_id, status),
            should_stop=lambda: drain.grace_over.is_set() or relay.cancel_requested(run_id),
            retry=retry_policy(),
            first_byte_timeout_s=settings.BEDROCK_FIRST_BYTE_TIMEOUT,
            stall_timeout_s=settings.BEDROCK_STALL_TIMEOUT,
            on_progress=lambda waited_s: _relay_waiting(run_id, waited_s),
            progress_interval_s=settings.BEDROCK_PROGRESS_INTERVAL,
        )
        for event in stream:
            if isinstance(event, TextDelta):
                raw_parts.append(event.text)
                deltas.append(restorer.feed(event.text), raw=event.text)
                if len(raw_parts) == 1:
                    # After the first token is on its way: this update opens a database
                    # connection (~ms), which the browser should not wait for.
                    _mark_streaming(run_id)
            elif isinstance(event, Usage):
                usage = event
            elif isinstance(event, Finished):
                finished = event
        _flush(deltas, restorer)
        assert finished is not None
        cancelled = finished.stop_reason == STOP_REASON_CANCELLED
        if cancelled and drain.grace_over.is_set() and not relay.cancel_requested(run_id):
            _finish(
                run_id=run_id,
                status=Run.Status.FAILED,
                sanitized_text="".join(raw_parts),
                error_code="worker_restart",
                error_message=WORKER_RESTART_MESSAGE,
                attempts=_attempts(stream),
            )
            return
        _finish(
            run_id=run_id,
            status=Run.Status.CANCELLED if cancelled else Run.Status.DONE,
            sanitized_text="".join(raw_parts),
            usage=usage,
            ttft_ms=finished.time_to_first_token_ms,
            latency_ms=finished.latency_ms,
            stop_reason=finished.stop_reason,
            attempts=_attempts(stream),
        )
    except LLMError as exc:
        _flush(deltas, restorer)
        _finish(
            run_id=run_id,
            status=Run.Status.FAILED,
            sanitized_text="".join(raw_parts) or exc.partial_text,
            error_code=exc.code,
            error_message=exc.user_message,
            attempts=_attempts(stream),
        )
    except Exception:
        logger.exception("generation of run %s failed", run_id)
        text = "".join(raw_parts)
        _finish(
            run_id=run_id,
            status=Run.Status.FAILED,
            sanitized_text=text,
            error_code="internal_error",
            error_message=(
                "Something went wrong on our side. "
                + ("What arrived is kept. " if text else "")
                + "It has been recorded; please retry."
            ),
            attempts=_attempts(stream),
        )
    finally:
        heartbeats.discard(run_id)
        close_old_connections()


def _attempts(stream: ConverseStream | None) -> list[dict[str, Any]]:
    return [attempt.as_dict() for attempt in stream.attempts] if stream is not None else []


def _mark_streaming(run_id: Any) -> None:
    """running → streaming. Best effort: the database may be restarting while the model
    answers; the answer goes on and run_finish moves the run on from `running` too."""
    try:
        lifecycle.run_mark_streaming(run_id=run_id)
    except DatabaseError:
        logger.warning("run %s: could not mark streaming (database unavailable)", run_id)
        close_old_connections()
    _release_db_connection()


def _finish(**outcome: Any) -> None:
    """lifecycle.run_finish, retried while the database is unreachable (bounded by
    FINISH_RETRY_S), so a PostgreSQL restart mid-answer loses no final text."""
    deadline = time.monotonic() + FINISH_RETRY_S
    delay = 0.2
    while True:
        try:
            run_finish(**outcome)
            return
        except DatabaseError:
            if time.monotonic() > deadline:
                logger.exception("run %s: could not store the outcome", outcome.get("run_id"))
                return
            logger.warning(
                "run %s: database unavailable, retrying the outcome", outcome.get("run_id")
            )
            # The broken connection must go, or the retry reuses it.
            with contextlib.suppress(Exception):
                connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _release_db_connection() -> None:
    """Hold no database connection while a stream runs; the next query opens one.

    Found by bench/bench_full_path.py: a thread-pool worker streaming 200 answers held
    200 PostgreSQL connections for the whole length of each stream, past PostgreSQL's
    default max_connections (100), so the web process got "too many clients" errors.
    Inside a transaction (in-process tests) closing would only mark it for rollback.
    """
    if not connection.in_atomic_block:
        connection.close()


def _flush(deltas: relay.DeltaStream, restorer: StreamRestorer) -> None:
    tail = restorer.flush()
    if tail:
        deltas.append(tail, raw="")
    deltas.ensure_complete()


def _relay_waiting(run_id: Any, waited_s: int) -> None:
    """Progress while nothing arrives (first token, a stall): the page shows it as status."""
    relay.relay_append(
        run_id,
        "status",
        {
            "status": "waiting",
            "waited_s": waited_s,
            "message": f"Still waiting for the model… {waited_s} s",
        },
    )


def _relay_status(run_id: Any, status: str) -> None:
    if status == STATUS_BUSY_RETRYING:
        relay.relay_append(
            run_id,
            "status",
            {"status": status, "message": "The model is busy; retrying…"},
        )
