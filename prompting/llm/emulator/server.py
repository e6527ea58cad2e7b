"""A local Bedrock Runtime emulator speaking the real Converse / ConverseStream wire protocol.

    python -m prompting.llm.emulator --port 8765 [--host 127.0.0.1] [--ttft-ms 150]

The unchanged boto3 client talks to it (`endpoint_url="http://127.0.0.1:8765"`, any
credentials: the SigV4 signature is not checked). It answers by echoing the last user
message as the model received it, so the policy's placeholders are visible in a demo.
Faults and timings are chosen per request: see `scenarios.py` and docs/llm.md.
"""

from __future__ import annotations

import argparse
import json
import re
import select
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from prompting.llm.emulator import scenarios
from prompting.llm.eventstream import CONTENT_TYPE as EVENTSTREAM_CONTENT_TYPE
from prompting.llm.eventstream import encode_event, encode_exception

# The model id is one path segment; botocore percent-encodes ':' and '/' inside it, so match
# the raw path first and decode afterwards.
PATH_RE = re.compile(r"^/model/(?P<model_id>[^/?]+)/(?P<operation>converse|converse-stream)$")
TOO_LONG_MESSAGE = "Input is too long for requested model."
THROTTLE_MESSAGE = "Too many requests, please wait before trying again."
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable."
REQUESTS_PATH = "/_emulator/requests"
# How long a stalled stream is held open at most, so a forgotten client cannot pin a thread.
MAX_STALL_SECONDS = 600.0


@dataclass(frozen=True)
class EmulatorDefaults:
    ttft_ms: int = 150
    token_delay_ms: int = 15
    context_tokens: int = 200_000


@dataclass(frozen=True)
class ReceivedRequest:
    """What the emulator saw, for tests ("exactly one request was sent")."""

    operation: str
    model_id: str
    last_user_text: str
    scenario: scenarios.Scenario
    status: int
    max_tokens: int | None


class EmulatorServer(ThreadingHTTPServer):
    # Threads die with the process; the emulator has no state worth finishing.
    daemon_threads = True
    # The default backlog of 5 makes a burst of 200 connections wait for SYN retransmits (1 s).
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], defaults: EmulatorDefaults) -> None:
        super().__init__(address, EmulatorRequestHandler)
        self.defaults = defaults
        self.received: deque[ReceivedRequest] = deque(maxlen=10_000)
        self._throttle_counts: dict[str, int] = {}
        self.requests_total = 0
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        # Without this, Nagle + delayed ACK add ~40 ms to small writes on loopback (NOTES.md).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is normal (cancel, read timeout): no traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        self.stopping.set()
        super().server_close()

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests_total += 1
        self.received.append(request)

    def request_counts(self, contains: str = "") -> dict[str, Any]:
        """What GET /_emulator/requests answers: the total since start, and the requests
        still in `received` whose last user text contains `contains`, by HTTP status."""
        with self._lock:
            total = self.requests_total
        matching = [r for r in list(self.received) if contains in r.last_user_text]
        by_status: dict[str, int] = {}
        for request in matching:
            by_status[str(request.status)] = by_status.get(str(request.status), 0) + 1
        return {"total": total, "count": len(matching), "by_status": by_status}

    def take_throttle_turn(self, key: str, first_n: int) -> bool:
        """True if this request is among the first `first_n` with `key` (so: throttle it)."""
        with self._lock:
            if len(self._throttle_counts) > 100_000:  # a long-running dev server stays small
                self._throttle_counts.clear()
            seen = self._throttle_counts.get(key, 0)
            self._throttle_counts[key] = seen + 1
            return seen < first_n


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    # Keep-alive, as Bedrock does: boto3 reuses pooled connections.
    protocol_version = "HTTP/1.1"
    server: EmulatorServer
    server_version = "BedrockEmulator/1"

    def log_message(self, format: str, *args: Any) -> None:
        # Per-request logs would drown the benchmark and could show prompt text: stay silent.
        return

    # -- request dispatch -------------------------------------------------------------------

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        match = PATH_RE.match(self.path)
        if match is None:
            self._send_error(404, "UnknownOperationException", f"No route for {self.path}")
            return
        model_id = unquote(match["model_id"])
        operation = match["operation"]
        try:
            body = json.loads(raw_body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as exc:
            self._send_error(400, "ValidationException", f"Malformed request body: {exc}")
            return
        try:
            scenario = scenarios.resolve_scenario(model_id, body, dict(self.headers.items()))
        except scenarios.DirectiveError as exc:
            self._record(operation, model_id, body, scenarios.Scenario(), 400)
            self._send_error(400, "ValidationException", str(exc))
            return
        status = self._refusal_status(model_id, body, scenario)
        self._record(operation, model_id, body, scenario, status)
        if status == 429:
            self._send_error(429, "ThrottlingException", THROTTLE_MESSAGE)
        elif status == 503:
            self._send_error(503, "ServiceUnavailableException", UNAVAILABLE_MESSAGE)
        elif scenario.hang:
            self._hold_open_until_client_leaves()
        elif status == 400:
            self._send_error(400, "ValidationException", TOO_LONG_MESSAGE)
        elif operation == "converse":
            self._converse(body, scenario)
        else:
            try:
                self._converse_stream(body, scenario)
            except ConnectionError:
                self.close_connection = True

    def do_GET(self) -> None:
        # A health check for `make run` and humans: not part of Bedrock's API.
        path, _, query = self.path.partition("?")
        if path == "/ping":
            self._send_json(200, {"status": "ok", "emulator": True})
        elif path == REQUESTS_PATH:
            # The request counter, for tests and the soak benchmark in other processes:
            # how many model calls arrived (optionally: whose last user text contains X).
            contains = parse_qs(query).get("contains", [""])[0]
            self._send_json(200, self.server.request_counts(contains))
        else:
            self._send_error(404, "UnknownOperationException", f"No route for {self.path}")

    def _record(
        self, operation: str, model_id: str, body: Mapping[str, Any], scenario: Any, status: int
    ) -> None:
        text = scenarios.last_user_text(body.get("messages"))
        max_tokens = scenarios.max_tokens(body)
        self.server.record(ReceivedRequest(operation, model_id, text, scenario, status, max_tokens))

    def _refusal_status(
        self, model_id: str, body: Mapping[str, Any], scenario: scenarios.Scenario
    ) -> int:
        """429, 503 or 400 if this request is refused before any answer, else 200."""
        if scenario.throttle:
            return 429
        if scenario.throttle_first:
            key = scenarios.throttle_key(scenario, model_id, body)
            if self.server.take_throttle_turn(key, scenario.throttle_first):
                return 429
        if scenario.unavailable:
            return 503
        if scenario.unavailable_first:
            key = "503\0" + scenarios.throttle_key(scenario, model_id, body)
            if self.server.take_throttle_turn(key, scenario.unavailable_first):
                return 503
        context = scenario.context_tokens or self.server.defaults.context_tokens
        # Like Claude on Bedrock: the input plus the reserved maxTokens must fit the context.
        needed = scenarios.input_tokens(body) + (scenarios.max_tokens(body) or 0)
        if scenario.too_long or needed > context:
            return 400
        return 200

    # -- answers ----------------------------------------------------------------------------

    def _timings(self, scenario: scenarios.Scenario) -> tuple[float, float]:
        defaults = self.server.defaults
        ttft = scenario.ttft_ms if scenario.ttft_ms is not None else defaults.ttft_ms
        delay = (
            scenario.token_delay_ms
            if scenario.token_delay_ms is not None
            else defaults.token_delay_ms
        )
        return ttft / 1000, delay / 1000

    def _answer_tokens(
        self, body: Mapping[str, Any], scenario: scenarios.Scenario
    ) -> tuple[list[str], str]:
        tokens = scenarios.split_tokens(scenarios.reply_text(scenario, body))
        limit = scenarios.max_tokens(body)
        if limit is not None and len(tokens) > limit:
            return tokens[:limit], "max_tokens"
        return tokens, "end_turn"

    def _converse(self, body: Mapping[str, Any], scenario: scenarios.Scenario) -> None:
        started = time.monotonic()
        ttft, delay = self._timings(scenario)
        tokens, stop_reason = self._answer_tokens(body, scenario)
        if scenario.stall_after_tokens is not None:
            self._hold_open_until_client_leaves()
            return
        if scenario.error_after_tokens is not None:
            self._send_error(424, "ModelErrorException", "The model returned an error.")
            return
        if scenario.throttle_after_tokens is not None:
            # Converse has no stream to break: the throttle arrives as the answer.
            self._send_error(429, "ThrottlingException", THROTTLE_MESSAGE)
            return
        time.sleep(ttft + delay * max(0, len(tokens) - 1))
        input_tokens = scenarios.input_tokens(body)
        self._send_json(
            200,
            {
                "output": {
                    "message": {"role": "assistant", "content": [{"text": "".join(tokens)}]}
                },
                "stopReason": stop_reason,
                "usage": {
                    "inputTokens": input_tokens,
                    "outputTokens": len(tokens),
                    "totalTokens": input_tokens + len(tokens),
                },
                "metrics": {"latencyMs": _elapsed_ms(started)},
            },
        )

    def _converse_stream(self, body: Mapping[str, Any], scenario: scenarios.Scenario) -> None:
        started = time.monotonic()
        ttft, delay = self._timings(scenario)
        tokens, stop_reason = self._answer_tokens(body, scenario)
        self.send_response(200)
        self.send_header("Content-Type", EVENTSTREAM_CONTENT_TYPE)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        # Headers go out at once (as Bedrock's do); the wait for the first token comes after.
        time.sleep(ttft)
        self._write_chunk(encode_event("messageStart", {"role": "assistant"}))
        fault = _stream_exception(scenario)
        for index, token in enumerate(tokens):
            if fault is not None and index == fault[0]:
                self._write_chunk(encode_exception(fault[1], fault[2]))
                self._end_chunks()
                return
            if index == scenario.stall_after_tokens:
                self._hold_open_until_client_leaves()
                return
            if index:
                time.sleep(delay)
            delta = {"contentBlockIndex": 0, "delta": {"text": token}}
            self._write_chunk(encode_event("contentBlockDelta", delta))
        if scenario.stall_after_tokens is not None or fault is not None:
            # Fewer tokens than the fault position: the fault still happens, at the end.
            if fault is not None:
                self._write_chunk(encode_exception(fault[1], fault[2]))
                self._end_chunks()
            else:
                self._hold_open_until_client_leaves()
            return
        input_tokens = scenarios.input_tokens(body)
        usage = {
            "inputTokens": input_tokens,
            "outputTokens": len(tokens),
            "totalTokens": input_tokens + len(tokens),
        }
        self._write_chunk(
            encode_event("contentBlockStop", {"contentBlockIndex": 0})
            + encode_event("messageStop", {"stopReason": stop_reason})
            + encode_event(
                "metadata", {"usage": usage, "metrics": {"latencyMs": _elapsed_ms(started)}}
            )
        )
        self._end_chunks()

    # -- wire helpers -----------------------------------------------------------------------

    def _write_chunk(self, data: bytes) -> None:
        # One write per HTTP chunk (size line, data, CRLF): one segment, no partial frames.
        self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _send_json(self, status: int, payload: Mapping[str, Any], **headers: str) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, error_type: str, message: str) -> None:
        # botocore's rest-json parser takes the code from this header (the part before ':').
        self._send_json(
            status,
            {"message": message},
            **{
                "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            },
        )

    def _hold_open_until_client_leaves(self) -> None:
        """A stalled stream: send nothing more, keep the socket open until the client closes
        it (read timeout, cancel), the server stops, or MAX_STALL_SECONDS pass."""
        deadline = time.monotonic() + MAX_STALL_SECONDS
        sock = self.connection
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                try:
                    if not sock.recv(1, socket.MSG_PEEK):
                        break
                except OSError:
                    break
        self.close_connection = True


def _stream_exception(scenario: scenarios.Scenario) -> tuple[int, str, str] | None:
    """The exception event a scenario puts inside the stream: (after how many tokens, event
    type, message), as Bedrock's ConverseStream union names them; None for a clean answer."""
    if scenario.error_after_tokens is not None:
        return scenario.error_after_tokens, "modelStreamErrorException", "The model stream failed."
    if scenario.throttle_after_tokens is not None:
        return scenario.throttle_after_tokens, "throttlingException", THROTTLE_MESSAGE
    return None


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def start_emulator(
    host: str = "127.0.0.1", port: int = 0, defaults: EmulatorDefaults | None = None
) -> tuple[EmulatorServer, threading.Thread]:
    """Start in a background thread (tests, benchmarks). Port 0 picks a free port; read it
    back from `server.url`. Stop with `server.shutdown(); server.server_close()`."""
    server = EmulatorServer((host, port), defaults or EmulatorDefaults())
    thread = threading.Thread(target=server.serve_forever, name="bedrock-emulator", daemon=True)
    thread.start()
    return server, thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ttft-ms", type=int, default=EmulatorDefaults.ttft_ms)
    parser.add_argument("--token-delay-ms", type=int, default=EmulatorDefaults.token_delay_ms)
    parser.add_argument(
        "--context-tokens",
        type=int,
        default=EmulatorDefaults.context_tokens,
        help="inputs estimated above this many tokens get 'Input is too long'",
    )
    args = parser.parse_args(argv)
    defaults = EmulatorDefaults(args.ttft_ms, args.token_delay_ms, args.context_tokens)
    server = EmulatorServer((args.host, args.port), defaults)
    print(f"Bedrock emulator listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
