"""The Bedrock Runtime client and the two calls the app makes: streaming and not.

- `bedrock_client(...)` builds one boto3 client per process (on first use, never at import)
  with botocore's `standard` retry mode and explicit timeouts.
- `stream_converse(...)` calls ConverseStream and yields typed events (`TextDelta`, `Usage`,
  `Finished`), translating every botocore/urllib3 failure into an `LLMError`.

Retries: there is exactly one retry layer, botocore's. It retries throttling and transient
errors that happen *before* the stream starts, with exponential backoff and full jitter
(sleep = rand(0,1) x min(2^(attempt-1), 20) s), at most `max_attempts` attempts in total, so the
total wait is bounded (1 + 2 + 4 s worth of jitter for 4 attempts). We only *observe* those
retries (a `needs-retry` hook) to call `on_status("busy_retrying")`. Nothing is retried after
the stream has started: botocore does not, and re-sending would produce a different answer
after the text already shown. Adding our own loop on top would multiply attempts.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http.client
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    read_timeout: float = 60.0,
    max_attempts: int = 3,
    use_dummy_credentials: bool = False,
    max_pool_connections: int = 256,
) -> BedrockRuntimeClient:
    """The process's Bedrock Runtime client: built on first call, then the same object.

    `max_attempts` counts the first try (botocore's `total_max_attempts`; botocore's own
    `max_attempts` key would mean *retries*). `read_timeout` is also how long a stalled stream
    is tolerated. `use_dummy_credentials` is for the emulator only. `max_pool_connections`
    must cover the concurrent streams of a worker process, else urllib3 opens and discards
    extra connections.
    """
    # The lock makes "one per process" true even when 200 worker threads start at once.
    with _client_lock:
        return _build_client(
            region,
            endpoint_url or None,
            float(connect_timeout),
            float(read_timeout),
            int(max_attempts),
            bool(use_dummy_credentials),
            int(max_pool_connections),
        )


@functools.cache
def _build_client(
    region: str,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
    use_dummy_credentials: bool,
    max_pool_connections: int,
) -> BedrockRuntimeClient:
    config = Config(
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
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
    on_status: Callable[[str], None] | None
    extra_headers: Mapping[str, str]
    throttle_retries: int = 0


# botocore's hooks are registered once per client, but on_status and extra_headers belong to
# one call: a ContextVar carries them (thread- and greenlet-local, so concurrent calls on the
# shared client do not see each other's).
_CURRENT_CALL: contextvars.ContextVar[_CallContext | None] = contextvars.ContextVar(
    "prompting_llm_current_call", default=None
)


def install_call_hooks(client: BedrockRuntimeClient) -> None:
    """Register the extra-headers and retry-status hooks. Idempotent (unique ids), so
    `stream_converse` can call it on any client, including one built by a test."""
    events = client.meta.events
    retries = client.meta.config.retries or {}
    events.register(
        "before-send.bedrock-runtime",
        _add_extra_headers,
        unique_id="prompting-llm-extra-headers",
    )
    events.register(
        "needs-retry.bedrock-runtime",
        functools.partial(_report_throttle_retry, max_attempts=retries.get("total_max_attempts")),
        unique_id="prompting-llm-retry-status",
    )


def _add_extra_headers(request: Any, **_: Any) -> None:
    call = _CURRENT_CALL.get()
    if call is not None:
        for name, value in call.extra_headers.items():
            request.headers[name] = value


def _report_throttle_retry(
    *, attempts: int, response: Any = None, max_attempts: int | None = None, **_: Any
) -> None:
    """Runs after botocore's retry handler decided, before it sleeps. Returns None so that it
    never changes botocore's decision."""
    call = _CURRENT_CALL.get()
    if call is None or response is None:
        return None
    code = response[1].get("Error", {}).get("Code")
    if code in _THROTTLING_CODES and (max_attempts is None or attempts < max_attempts):
        call.throttle_retries += 1
        if call.on_status is not None:
            try:
                call.on_status(STATUS_BUSY_RETRYING)
            except Exception:  # a broken status callback must not break the call
                logger.exception("on_status callback failed")
    return None


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
        if code in _THROTTLING_CODES:
            return Throttled(detail=detail)
        if code in _UNAVAILABLE_CODES:
            return BedrockUnavailable(detail=detail)
        return BedrockError(detail=detail)
    # A stalled stream raises urllib3's ReadTimeoutError from the iterator; a timeout while
    # waiting for the response headers raises botocore's, which is NOT a subclass of it
    # (botocore's derives from its vendored urllib3).
    if isinstance(exc, (ReadTimeoutError, BotoReadTimeoutError)):
        return StreamStalled(read_timeout_s=read_timeout_s, detail=type(exc).__name__)
    if isinstance(exc, EndpointConnectionError):
        return BedrockUnavailable(detail=str(exc))
    if mid_stream and isinstance(
        exc, (Urllib3HTTPError, http.client.HTTPException, OSError, BotoConnectionError)
    ):
        return ModelStreamError(detail=f"connection lost: {type(exc).__name__}")
    if isinstance(exc, BotoConnectionError):
        return BedrockUnavailable(detail=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return BedrockError(detail="no AWS credentials found")
    return BedrockError(detail=f"{type(exc).__name__}: {exc}")


# -- cancellation ---------------------------------------------------------------------------


class _StopGuard:
    """Asks should_stop() at most every `interval` seconds, from the reading thread between
    events and, while the stream is silent (waiting for the first token, stalled), from the
    shared watcher thread, which then shuts the socket down to wake the blocked read."""

    def __init__(
        self, should_stop: Callable[[], bool], interval: float, abort: Callable[[], None]
    ) -> None:
        self._should_stop = should_stop
        self._interval = interval
        self._abort = abort
        self._last_poll = time.monotonic()
        self.triggered = False

    def _ask(self) -> bool:
        try:
            return bool(self._should_stop())
        except Exception:  # a failing check must not kill the stream
            logger.exception("should_stop callback failed")
            return False

    def poll(self) -> bool:
        """From the reading thread."""
        now = time.monotonic()
        if not self.triggered and now - self._last_poll >= self._interval:
            self._last_poll = now
            self.triggered = self._ask()
        return self.triggered

    def poll_from_watcher(self) -> None:
        now = time.monotonic()
        if self.triggered or now - self._last_poll < self._interval:
            return
        self._last_poll = now
        if self._ask():
            self.triggered = True
            self._abort()


class _StopWatcher:
    """One daemon thread per process for all streams: a thread per stream would double the
    thread count of a worker holding hundreds of streams."""

    TICK_S = 0.1

    def __init__(self) -> None:
        self._guards: set[_StopGuard] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, guard: _StopGuard) -> None:
        with self._lock:
            self._guards.add(guard)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="llm-stop-watcher", daemon=True
                )
                self._thread.start()

    def discard(self, guard: _StopGuard) -> None:
        with self._lock:
            self._guards.discard(guard)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK_S)
            with self._lock:
                guards = list(self._guards)
            for guard in guards:
                guard.poll_from_watcher()


_watcher = _StopWatcher()


def _shutdown_socket(stream: Any) -> None:
    """Wake a read blocked on this stream's socket. Reaches into botocore/urllib3 internals
    (EventStream._raw_stream -> urllib3 HTTPResponse.connection.sock); if they change, cancel
    falls back to the next event or the read timeout. (urllib3 returns a fully read
    connection to the pool just before clearing `connection`; a cancel landing in that
    instant could hit the next user of that connection, which then fails as a lost stream.)"""
    raw = getattr(stream, "_raw_stream", None)
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed: nothing left to wake
            sock.shutdown(socket.SHUT_RDWR)


# -- streaming ------------------------------------------------------------------------------


@dataclass(eq=False)
class ConverseStream(Iterator[StreamEvent]):
    """Iterate it for events. Its attributes stay readable after the end or an error:
    `text` (everything received, the partial answer on error), `time_to_first_token_ms`,
    `latency_ms`, `usage`, `stop_reason`, `throttle_retries`."""

    client: BedrockRuntimeClient
    request: dict[str, Any]
    model: ModelSpec
    on_status: Callable[[str], None] | None = None
    should_stop: Callable[[], bool] | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    stop_poll_interval_s: float = DEFAULT_STOP_POLL_INTERVAL_S
    time_to_first_token_ms: int | None = None
    latency_ms: int | None = None
    usage: Usage | None = None
    stop_reason: str | None = None
    throttle_retries: int = 0
    _parts: list[str] = field(default_factory=list, init=False, repr=False)
    _events: Iterator[StreamEvent] | None = field(default=None, init=False, repr=False)

    @property
    def text(self) -> str:
        return "".join(self._parts)

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

    def _fail(self, exc: BaseException, *, mid_stream: bool) -> LLMError:
        error = translate_error(
            exc,
            request=self.request,
            model=self.model,
            read_timeout_s=self.client.meta.config.read_timeout,
            mid_stream=mid_stream,
        )
        error.partial_text = self.text
        return error

    def _open(self, started: float) -> Any:
        call = _CallContext(self.on_status, self.extra_headers)
        token = _CURRENT_CALL.set(call)
        try:
            return self.client.converse_stream(**self.request)["stream"]
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, mid_stream=False) from exc
        finally:
            _CURRENT_CALL.reset(token)
            self.throttle_retries = call.throttle_retries

    def _run(self) -> Iterator[StreamEvent]:
        started = time.monotonic()
        install_call_hooks(self.client)
        stream = self._open(started)
        guard = None
        if self.should_stop is not None:
            guard = _StopGuard(
                self.should_stop, self.stop_poll_interval_s, lambda: _shutdown_socket(stream)
            )
            _watcher.add(guard)
        cancelled = False
        try:
            raw_events = iter(stream)
            while True:
                if guard is not None and guard.poll():
                    cancelled = True
                    break
                try:
                    raw = next(raw_events)
                except StopIteration:
                    break
                except Exception as exc:
                    if guard is not None and guard.triggered:
                        cancelled = True  # the watcher shut the socket: not an error
                        break
                    raise self._fail(exc, mid_stream=True) from exc
                event = self._handle(raw, started)
                if event is not None:
                    yield event
        finally:
            if guard is not None:
                _watcher.discard(guard)
            stream.close()
        if cancelled or (guard is not None and guard.triggered):
            self.stop_reason = STOP_REASON_CANCELLED
        elif self.stop_reason is None:
            # The stream ended cleanly at the HTTP level but without messageStop.
            raise self._fail(
                ModelStreamError(detail="stream ended without messageStop"), mid_stream=True
            )
        self.latency_ms = _ms_since(started)
        yield Finished(self.stop_reason, self.time_to_first_token_ms, self.latency_ms)

    def _handle(self, raw: Mapping[str, Any], started: float) -> StreamEvent | None:
        if "contentBlockDelta" in raw:
            text = raw["contentBlockDelta"].get("delta", {}).get("text")
            if not text:
                return None  # tool-use / reasoning deltas: not shown by this app
            if self.time_to_first_token_ms is None:
                self.time_to_first_token_ms = _ms_since(started)
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
) -> ConverseStream:
    """Call ConverseStream; iterate the result for `TextDelta`* `Usage` `Finished`.

    Nothing is sent until the first `next()`. Raises `LLMError` subclasses (see errors.py)
    from the iteration, with `error.partial_text` set. `should_stop` must be thread-safe and
    cheap (e.g. a Redis GET): it is called at most every `stop_poll_interval_s`, from the
    iterating thread and, while no bytes arrive, from a shared watcher thread.
    """
    return ConverseStream(
        client=client,
        request=build_request(model=model, messages=messages, system=system, max_tokens=max_tokens),
        model=model,
        on_status=on_status,
        should_stop=should_stop,
        extra_headers=dict(extra_headers or {}),
        stop_poll_interval_s=stop_poll_interval_s,
    )


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
