"""The Bedrock Runtime client and the streaming call the app makes.

- `bedrock_client(...)` builds one boto3 client per process (on first use, never at import)
  with botocore's retries OFF (`total_max_attempts=1`) and explicit timeouts.
- `stream_converse(...)` calls ConverseStream and yields typed events (`TextDelta`, `Usage`,
  `Finished`), translating every botocore/urllib3 failure into an `LLMError`.

One Bedrock call per attempt, by design (issue 12). botocore's own retry resent a streaming
call after a read timeout before the response headers: a hung endpoint got 4 calls (each
possibly billed) and 4 minutes. So botocore never retries, and this module's own loop
(`RetryPolicy`) retries only errors that prove Bedrock did no work: throttling (429), a 5xx
or ServiceUnavailable answer before the stream started, connection refused / DNS / connect
timeout. Backoff is exponential with full jitter and a cap, the number of attempts bounded,
and every attempt is recorded (`ConverseStream.attempts`) so the run can store it. A read
timeout (the request was sent, nothing came back) and anything after the first byte are
never retried: the first call may have been billed, and a second answer would differ from
the text already shown.

Deadlines: `first_byte_timeout_s` (no first text delta since the call was sent) and
`stall_timeout_s` (no delta since the last one) are enforced by one shared watcher thread,
which shuts the stream's socket down; the socket read timeout of the client is only the
backstop (and bounds the wait for response headers, where no socket is reachable yet).
While nothing arrives, `on_progress(waited_s)` is called every `progress_interval_s`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http.client
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import ReadTimeoutError as BotoReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ReadTimeoutError

from prompting.llm.errors import (
    BedrockError,
    BedrockUnavailable,
    InputTooLong,
    LLMError,
    ModelStreamError,
    StreamStalled,
    Throttled,
)
from prompting.llm.events import (
    STOP_REASON_CANCELLED,
    Finished,
    StreamEvent,
    TextDelta,
    Usage,
)
from prompting.llm.models import ModelSpec, estimate_tokens

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
else:
    BedrockRuntimeClient = Any

logger = logging.getLogger(__name__)

STATUS_BUSY_RETRYING = "busy_retrying"
# How often should_stop() is asked, at most: cheap enough for Redis, fast enough for "within
# a second" (the watcher thread adds at most one more interval when the stream is silent).
DEFAULT_STOP_POLL_INTERVAL_S = 0.25
# How often "still waiting for the model… N s" is reported while nothing arrives.
DEFAULT_PROGRESS_INTERVAL_S = 4.0
# Emulator credentials: the emulator never checks signatures, but botocore refuses to sign
# without some credentials.
DUMMY_CREDENTIALS = {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}

_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException"}
)
_UNAVAILABLE_CODES = frozenset({"ServiceUnavailableException", "ModelNotReadyException"})
# Bedrock's wordings for an input that does not fit ("Input is too long for requested model.",
# Anthropic's "prompt is too long", "input length and `max_tokens` exceed context limit").
_TOO_LONG_HINTS = ("too long", "exceed context limit", "context window", "too many input tokens")


# -- the client ----------------------------------------------------------------------------

_client_lock = threading.Lock()


def bedrock_client(
    *,
    region: str,
    endpoint_url: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 20.0,
    use_dummy_credentials: bool = False,
    max_pool_connections: int = 256,
) -> BedrockRuntimeClient:
    """The process's Bedrock Runtime client: built on first call, then the same object.

    botocore never retries (`total_max_attempts=1`): retries are `RetryPolicy`'s, per call.
    `read_timeout` is the socket backstop: it bounds the wait for response headers and a
    silent socket; `stream_converse`'s first-byte and stall deadlines are tighter.
    `use_dummy_credentials` is for the emulator only. `max_pool_connections` must cover the
    concurrent streams of a worker process, else urllib3 opens and discards extra connections.
    """
    # The lock makes "one per process" true even when 200 worker threads start at once.
    with _client_lock:
        return _build_client(
            region,
            endpoint_url or None,
            float(connect_timeout),
            float(read_timeout),
            bool(use_dummy_credentials),
            int(max_pool_connections),
        )


@functools.cache
def _build_client(
    region: str,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    use_dummy_credentials: bool,
    max_pool_connections: int,
) -> BedrockRuntimeClient:
    config = Config(
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # No hidden retries: one HTTP request per attempt (see the module docstring).
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=max_pool_connections,
        tcp_keepalive=True,
    )
    credentials: dict[str, str] = DUMMY_CREDENTIALS if use_dummy_credentials else {}
    # An own Session: boto3's default session is module-global and not thread-safe to set up.
    session = boto3.session.Session()
    client = session.client(
        "bedrock-runtime", endpoint_url=endpoint_url, config=config, **credentials
    )
    install_call_hooks(client)
    return client


def clear_bedrock_client_cache() -> None:
    """Forget the cached client (tests; after settings change)."""
    _build_client.cache_clear()


# -- per-call context seen by botocore event hooks -------------------------------------------


@dataclass
class _CallContext:
    extra_headers: Mapping[str, str]


# botocore's hooks are registered once per client, but extra_headers belong to one call: a
# ContextVar carries them (thread- and greenlet-local, so concurrent calls on the shared
# client do not see each other's).
_CURRENT_CALL: contextvars.ContextVar[_CallContext | None] = contextvars.ContextVar(
    "prompting_llm_current_call", default=None
)


def install_call_hooks(client: BedrockRuntimeClient) -> None:
    """Register the extra-headers hook. Idempotent (unique id), so `stream_converse` can
    call it on any client, including one built by a test."""
    client.meta.events.register(
        "before-send.bedrock-runtime",
        _add_extra_headers,
        unique_id="prompting-llm-extra-headers",
    )


def _add_extra_headers(request: Any, **_: Any) -> None:
    call = _CURRENT_CALL.get()
    if call is not None:
        for name, value in call.extra_headers.items():
            request.headers[name] = value


# -- our one retry layer ---------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often a call that provably did no work at Bedrock is tried again.

    `max_attempts` counts the first one. Before attempt n+1 the caller sleeps
    rand(0, 1) x min(max_delay_s, base_delay_s x 2^(n-1)) (full jitter: a throttled fleet
    does not come back in lockstep). Defaults keep the worst case (3 throttles) near 2 s.
    """

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 4.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to sleep before `attempt` (2 = the first retry)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 2))
        return random.uniform(0, ceiling)  # jitter, not cryptography


NO_RETRY = RetryPolicy(max_attempts=1)


# -- request building and error translation ---------------------------------------------------


def build_request(
    *,
    model: ModelSpec,
    messages: Sequence[Mapping[str, Any]],
    system: str | None,
    max_tokens: int | None,
) -> dict[str, Any]:
    """The Converse request. maxTokens is always set: Bedrock reserves it against the quota,
    and an unset value means the model's maximum."""
    limit = (
        model.max_output_tokens if max_tokens is None else min(max_tokens, model.max_output_tokens)
    )
    if limit < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    request: dict[str, Any] = {
        "modelId": model.id,
        "messages": [dict(message) for message in messages],
        "inferenceConfig": {"maxTokens": limit},
    }
    if system:
        request["system"] = [{"text": system}]
    return request


def _request_text(request: Mapping[str, Any]) -> str:
    parts = [block.get("text", "") for block in request.get("system", [])]
    for message in request["messages"]:
        parts.extend(block.get("text", "") for block in message.get("content", []))
    return "\n".join(part for part in parts if part)


def _error_fields(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def translate_error(
    exc: BaseException,
    *,
    request: Mapping[str, Any],
    model: ModelSpec,
    read_timeout_s: float | None,
    mid_stream: bool,
) -> LLMError:
    """Map a botocore / urllib3 exception to the LLMError the app understands."""
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, ClientError):  # includes EventStreamError (errors inside the stream)
        code, message = _error_fields(exc)
        detail = f"{code}: {message}"
        if code.lower() == "validationexception" and any(
            hint in message.lower() for hint in _TOO_LONG_HINTS
        ):
            max_tokens = int(request["inferenceConfig"]["maxTokens"])
            return InputTooLong(
                input_tokens_estimate=estimate_tokens(_request_text(request)),
                # The room left for input once the answer's maxTokens is reserved.
                limit=max(1, model.context_window - max_tokens),
                detail=detail,
            )
        if isinstance(exc, EventStreamError) or mid_stream:
            return ModelStreamError(detail=detail)
        # Refused before any answer: Bedrock did no work, so our retry may try again.
        if code in _THROTTLING_CODES:
            return _no_work(Throttled(detail=detail))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _UNAVAILABLE_CODES or status >= 500:
            return _no_work(BedrockUnavailable(detail=detail))
        return BedrockError(detail=detail)
    # A stalled stream raises urllib3's ReadTimeoutError from the iterator; a timeout while
    # waiting for the response headers raises botocore's, which is NOT a subclass of it
    # (botocore's derives from its vendored urllib3).
    if isinstance(exc, (ReadTimeoutError, BotoReadTimeoutError)):
        return StreamStalled(read_timeout_s=read_timeout_s, detail=type(exc).__name__)
    if isinstance(exc, EndpointConnectionError):
        # Connection refused, DNS, connect timeout: the request never reached Bedrock.
        return _no_work(BedrockUnavailable(detail=str(exc)))
    if mid_stream and isinstance(
        exc, (Urllib3HTTPError, http.client.HTTPException, OSError, BotoConnectionError)
    ):
        return ModelStreamError(detail=f"connection lost: {type(exc).__name__}")
    if isinstance(exc, BotoConnectionError):
        # e.g. the connection closed after the request was sent: it may have been billed,
        # so this one is shown, not retried.
        return BedrockUnavailable(detail=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return BedrockError(detail="no AWS credentials found")
    return BedrockError(detail=f"{type(exc).__name__}: {exc}")


def _no_work(error: LLMError) -> LLMError:
    error.no_work_done = True
    return error


# -- the watcher: cancellation, deadlines, progress ------------------------------------------


class _Watch:
    """One stream's deadlines and cancel check, ticked by the shared watcher thread (and
    asked by the reading thread between events).

    Silence is measured from the call (first byte) or from the last text delta (stall). When
    a deadline passes or should_stop() says so, the socket is shut down, which wakes the
    blocked read; the reading thread then sees `reason` and ends truthfully.
    """

    def __init__(
        self,
        *,
        should_stop: Callable[[], bool] | None,
        stop_interval_s: float,
        first_byte_timeout_s: float | None,
        stall_timeout_s: float | None,
        on_progress: Callable[[int], None] | None,
        progress_interval_s: float,
    ) -> None:
        self._should_stop = should_stop
        self._stop_interval = stop_interval_s
        self._first_byte_timeout = first_byte_timeout_s
        self._stall_timeout = stall_timeout_s
        self._on_progress = on_progress
        self._progress_interval = progress_interval_s
        self._lock = threading.Lock()
        self._stream: Any = None
        self._last_poll = time.monotonic()
        self.silent_since = time.monotonic()
        self.had_delta = False
        self._progress_sent = 0  # how many progress reports this silence has had
        self.reason: str | None = None  # "cancelled" | "first_byte" | "stall"

    # -- the reading thread
    def attach(self, stream: Any) -> None:
        with self._lock:
            self._stream = stream
        if self.reason is not None:
            _shutdown_socket(stream)

    def restart_clock(self) -> None:
        """A new attempt: the first-byte clock starts again."""
        self.silent_since = time.monotonic()
        self._progress_sent = 0

    def saw_delta(self) -> None:
        self.silent_since = time.monotonic()
        self.had_delta = True
        self._progress_sent = 0

    def poll(self) -> bool:
        """From the reading thread, between events: True once the caller asked to stop."""
        now = time.monotonic()
        if self.reason is None and now - self._last_poll >= self._stop_interval:
            self._last_poll = now
            if self._ask():
                self.reason = "cancelled"
        return self.reason == "cancelled"

    # -- the watcher thread
    def tick(self) -> None:
        if self.reason is not None:
            return
        now = time.monotonic()
        if self._should_stop is not None and now - self._last_poll >= self._stop_interval:
            self._last_poll = now
            if self._ask():
                self._trip("cancelled")
                return
        silence = now - self.silent_since
        limit = self._stall_timeout if self.had_delta else self._first_byte_timeout
        if limit is not None and silence >= limit:
            self._trip("stall" if self.had_delta else "first_byte")
            return
        if self._on_progress is not None and self._progress_interval > 0:
            due = int(silence // self._progress_interval)
            if due > self._progress_sent:
                self._progress_sent = due
                _callbacks.submit(_call_progress, self._on_progress, int(silence))

    def _trip(self, reason: str) -> None:
        self.reason = reason
        with self._lock:
            stream = self._stream
        if stream is not None:
            _shutdown_socket(stream)
        # Before the headers no socket is reachable: the client's read timeout ends it.

    def _ask(self) -> bool:
        if self._should_stop is None:
            return False
        try:
            return bool(self._should_stop())
        except Exception:  # a failing check must not kill the stream
            logger.exception("should_stop callback failed")
            return False


def _call_progress(callback: Callable[[int], None], waited_s: int) -> None:
    try:
        callback(waited_s)
    except Exception:  # a broken progress callback must not break the call
        logger.exception("on_progress callback failed")


# Progress callbacks write to the relay, which may retry for seconds while Redis hiccups:
# they run here, never on the watcher thread, whose ticks every stream's deadlines need.
_callbacks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm-progress")


class _Watcher:
    """One daemon thread per process for all streams: a thread per stream would double the
    thread count of a worker holding hundreds of streams."""

    TICK_S = 0.1

    def __init__(self) -> None:
        self._watches: set[_Watch] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="llm-watcher", daemon=True)
                self._thread.start()

    def discard(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK_S)
            with self._lock:
                watches = list(self._watches)
            for watch in watches:
                try:
                    watch.tick()
                except Exception:  # one bad stream must not stop every deadline
                    logger.exception("stream watch failed")


_watcher = _Watcher()


def _shutdown_socket(stream: Any) -> None:
    """Wake a read blocked on this stream's socket. Reaches into botocore/urllib3 internals
    (EventStream._raw_stream -> urllib3 HTTPResponse.connection.sock); if they change, cancel
    and the deadlines fall back to the next event or the read timeout. (urllib3 returns a fully
    read connection to the pool just before clearing `connection`; a shutdown landing in that
    instant could hit the next user of that connection, which then fails as a lost stream.)"""
    raw = getattr(stream, "_raw_stream", None)
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed: nothing left to wake
            sock.shutdown(socket.SHUT_RDWR)


# -- streaming ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One HTTP request to Bedrock, as the run records it."""

    number: int
    outcome: str  # "ok" (the stream opened) or the LLMError code
    ms: int  # from sending to the answer (or the error)
    backoff_ms: int = 0  # slept before this attempt

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.number,
            "outcome": self.outcome,
            "ms": self.ms,
            "backoff_ms": self.backoff_ms,
        }


@dataclass(eq=False)
class ConverseStream(Iterator[StreamEvent]):
    """Iterate it for events. Its attributes stay readable after the end or an error:
    `text` (everything received, the partial answer on error), `time_to_first_token_ms`,
    `latency_ms`, `usage`, `stop_reason`, `attempts` (one `Attempt` per HTTP request)."""

    client: BedrockRuntimeClient
    request: dict[str, Any]
    model: ModelSpec
    on_status: Callable[[str], None] | None = None
    should_stop: Callable[[], bool] | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    stop_poll_interval_s: float = DEFAULT_STOP_POLL_INTERVAL_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    first_byte_timeout_s: float | None = None
    stall_timeout_s: float | None = None
    on_progress: Callable[[int], None] | None = None
    progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S
    time_to_first_token_ms: int | None = None
    latency_ms: int | None = None
    usage: Usage | None = None
    stop_reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    _parts: list[str] = field(default_factory=list, init=False, repr=False)
    _events: Iterator[StreamEvent] | None = field(default=None, init=False, repr=False)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def throttle_retries(self) -> int:
        """Attempts that were throttled and then tried again."""
        return sum(1 for a in self.attempts[:-1] if a.outcome == Throttled.code)

    def __iter__(self) -> ConverseStream:
        return self

    def __next__(self) -> StreamEvent:
        if self._events is None:
            self._events = self._run()
        return next(self._events)

    def close(self) -> None:
        """Stop early and release the connection (also done when the iterator is dropped)."""
        if self._events is not None:
            self._events.close()  # type: ignore[attr-defined]

    def _fail(
        self, exc: BaseException, *, mid_stream: bool, watch: _Watch | None = None
    ) -> LLMError:
        reason = watch.reason if watch is not None else None
        if reason in ("first_byte", "stall"):
            assert watch is not None
            limit = self.stall_timeout_s if reason == "stall" else self.first_byte_timeout_s
            error: LLMError = StreamStalled(read_timeout_s=limit, detail=f"{reason} deadline")
        else:
            error = translate_error(
                exc,
                request=self.request,
                model=self.model,
                read_timeout_s=self.client.meta.config.read_timeout,
                mid_stream=mid_stream,
            )
        error.keep_partial(self.text)
        return error

    def _open(self, watch: _Watch) -> Any:
        """Send the request, retrying only what proves no work was done. Returns the
        EventStream; raises the last attempt's LLMError."""
        number = 0
        while True:
            number += 1
            backoff = self.retry.delay_before(number) if number > 1 else 0.0
            if backoff:
                watch.restart_clock()  # the sleep is ours, not Bedrock's silence
                time.sleep(backoff)
            watch.restart_clock()
            sent = time.monotonic()
            token = _CURRENT_CALL.set(_CallContext(self.extra_headers))
            try:
                stream = self.client.converse_stream(**self.request)["stream"]
            except (ClientError, BotoCoreError) as exc:
                error = self._fail(exc, mid_stream=False, watch=watch)
                self.attempts.append(
                    Attempt(number, error.code, _ms_since(sent), int(backoff * 1000))
                )
                if not error.no_work_done or number >= self.retry.max_attempts or watch.reason:
                    raise error from exc
                if isinstance(error, Throttled) and self.on_status is not None:
                    try:
                        self.on_status(STATUS_BUSY_RETRYING)
                    except Exception:  # a broken status callback must not break the call
                        logger.exception("on_status callback failed")
                continue
            finally:
                _CURRENT_CALL.reset(token)
            self.attempts.append(Attempt(number, "ok", _ms_since(sent), int(backoff * 1000)))
            return stream

    def _run(self) -> Iterator[StreamEvent]:
        started = time.monotonic()
        install_call_hooks(self.client)
        watch = _Watch(
            should_stop=self.should_stop,
            stop_interval_s=self.stop_poll_interval_s,
            first_byte_timeout_s=self.first_byte_timeout_s,
            stall_timeout_s=self.stall_timeout_s,
            on_progress=self.on_progress,
            progress_interval_s=self.progress_interval_s,
        )
        _watcher.add(watch)
        try:
            stream = self._open(watch)
            watch.attach(stream)
            try:
                raw_events = iter(stream)
                while True:
                    if watch.poll():
                        break
                    try:
                        raw = next(raw_events)
                    except StopIteration:
                        break
                    except Exception as exc:
                        if watch.reason == "cancelled":
                            break  # the watcher shut the socket: not an error
                        raise self._fail(exc, mid_stream=True, watch=watch) from exc
                    event = self._handle(raw)
                    if event is not None:
                        if isinstance(event, TextDelta):
                            if self.time_to_first_token_ms is None:
                                self.time_to_first_token_ms = _ms_since(started)
                            watch.saw_delta()
                        yield event
            finally:
                stream.close()
        finally:
            _watcher.discard(watch)
        if watch.reason == "cancelled":
            self.stop_reason = STOP_REASON_CANCELLED
        elif watch.reason is not None:
            # A deadline passed just as the stream ended cleanly: the answer is whole.
            pass
        if self.stop_reason is None:
            # The stream ended cleanly at the HTTP level but without messageStop.
            raise self._fail(
                ModelStreamError(detail="stream ended without messageStop"), mid_stream=True
            )
        self.latency_ms = _ms_since(started)
        yield Finished(self.stop_reason, self.time_to_first_token_ms, self.latency_ms)

    def _handle(self, raw: Mapping[str, Any]) -> StreamEvent | None:
        if "contentBlockDelta" in raw:
            text = raw["contentBlockDelta"].get("delta", {}).get("text")
            if not text:
                return None  # tool-use / reasoning deltas: not shown by this app
            self._parts.append(text)
            return TextDelta(text)
        if "messageStop" in raw:
            self.stop_reason = raw["messageStop"].get("stopReason", "end_turn")
            return None
        if "metadata" in raw:
            usage = raw["metadata"].get("usage", {})
            self.usage = Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))
            return self.usage
        return None  # messageStart, contentBlockStart/Stop: nothing for the caller


def stream_converse(
    client: BedrockRuntimeClient,
    *,
    model: ModelSpec,
    messages: Sequence[Mapping[str, Any]],
    system: str | None = None,
    max_tokens: int | None = None,
    on_status: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    stop_poll_interval_s: float = DEFAULT_STOP_POLL_INTERVAL_S,
    retry: RetryPolicy | None = None,
    first_byte_timeout_s: float | None = None,
    stall_timeout_s: float | None = None,
    on_progress: Callable[[int], None] | None = None,
    progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S,
) -> ConverseStream:
    """Call ConverseStream; iterate the result for `TextDelta`* `Usage` `Finished`.

    Nothing is sent until the first `next()`. Raises `LLMError` subclasses (see errors.py)
    from the iteration, with `error.partial_text` set. `retry` (default `RetryPolicy()`)
    covers only errors proving no work was done; `on_status("busy_retrying")` is called
    before each retry of a throttled attempt. `first_byte_timeout_s` / `stall_timeout_s`
    end a silent stream as `StreamStalled` (None: only the client's read timeout);
    `on_progress(waited_s)` is called every `progress_interval_s` of silence, from a
    callback thread. `should_stop` must be thread-safe and cheap (e.g. a Redis GET): it is
    called at most every `stop_poll_interval_s`, from the iterating thread and, while no
    bytes arrive, from the shared watcher thread.
    """
    return ConverseStream(
        client=client,
        request=build_request(model=model, messages=messages, system=system, max_tokens=max_tokens),
        model=model,
        on_status=on_status,
        should_stop=should_stop,
        extra_headers=dict(extra_headers or {}),
        stop_poll_interval_s=stop_poll_interval_s,
        retry=retry or RetryPolicy(),
        first_byte_timeout_s=first_byte_timeout_s,
        stall_timeout_s=stall_timeout_s,
        on_progress=on_progress,
        progress_interval_s=progress_interval_s,
    )


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
