"""The emulator speaks Bedrock's wire protocol to the unchanged boto3 client."""

from __future__ import annotations

import base64
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from prompting.llm.emulator import EmulatorServer, scenarios

SONNET_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse_answers_with_the_message_as_the_model_saw_it(client: Any, unique: str) -> None:
    """Converse returns output.message, stopReason, usage and metrics; the echo keeps
    placeholders visible."""
    response = client.converse(
        modelId=SONNET_PROFILE,
        messages=user(f"Call <PERSON_1> about {unique}"),
        inferenceConfig={"maxTokens": 100},
    )
    assert response["output"]["message"]["role"] == "assistant"
    assert response["output"]["message"]["content"] == [
        {"text": f"You said: Call <PERSON_1> about {unique}"}
    ]
    assert response["stopReason"] == "end_turn"
    usage = response["usage"]
    assert usage["outputTokens"] == 6
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert response["metrics"]["latencyMs"] >= 0


def test_converse_stream_sends_events_in_bedrock_order(client: Any, unique: str) -> None:
    """messageStart, contentBlockDelta..., contentBlockStop, messageStop, metadata."""
    response = client.converse_stream(
        modelId=SONNET_PROFILE, messages=user(f"hello {unique}"), inferenceConfig={"maxTokens": 50}
    )
    events = list(response["stream"])
    kinds = [next(iter(event)) for event in events]
    assert kinds == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events[1:5])
    assert text == f"You said: hello {unique}"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 4
    assert "latencyMs" in events[-1]["metadata"]["metrics"]


@pytest.mark.parametrize(
    "model_id",
    [
        SONNET_PROFILE,
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x-v1:0",
    ],
)
def test_model_ids_with_colons_and_slashes_arrive_decoded(
    client: Any, emulator: EmulatorServer, model_id: str, unique: str, sent: Callable[..., Any]
) -> None:
    """botocore percent-encodes ':' and '/' in the model id; the emulator decodes them."""
    client.converse(modelId=model_id, messages=user(unique), inferenceConfig={"maxTokens": 9})
    [request] = sent(unique)
    assert request.model_id == model_id


def test_max_tokens_cuts_the_answer_with_stop_reason_max_tokens(client: Any) -> None:
    """An answer longer than maxTokens stops there, as the model would."""
    response = client.converse(
        modelId=SONNET_PROFILE,
        messages=user("one two three four"),
        inferenceConfig={"maxTokens": 2},
    )
    assert response["stopReason"] == "max_tokens"
    assert response["output"]["message"]["content"][0]["text"] == "You said: "


def test_reply_marker_answers_with_the_decoded_text_verbatim(client: Any) -> None:
    """[[emulator:reply=<base64>]] makes the answer exactly that text (used for XSS tests)."""
    payload = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    response = client.converse_stream(
        modelId=SONNET_PROFILE,
        messages=user(f"anything [[emulator:reply={encoded}]]"),
        inferenceConfig={"maxTokens": 100},
    )
    text = "".join(
        e["contentBlockDelta"]["delta"]["text"]
        for e in response["stream"]
        if "contentBlockDelta" in e
    )
    assert text == payload


def test_unknown_directive_is_a_loud_validation_error(client: Any) -> None:
    """A typo in a scenario fails the request instead of silently echoing."""
    with pytest.raises(ClientError) as caught:
        client.converse(
            modelId=SONNET_PROFILE,
            messages=user("[[emulator:throtle]]"),
            inferenceConfig={"maxTokens": 5},
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "throtle" in caught.value.response["Error"]["Message"]


def test_throttle_answers_429_with_the_error_type_header(make_client: Any) -> None:
    """Throttling is an HTTP 429 with x-amzn-ErrorType, before any stream."""
    client = make_client()
    with pytest.raises(ClientError) as caught:
        client.converse_stream(
            modelId="emulator.throttle", messages=user("x"), inferenceConfig={"maxTokens": 5}
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_scenario_sources_merge_model_then_markers_then_headers() -> None:
    """Headers override markers, which override the model id."""
    body = {"messages": user("hi [[emulator:ttft=5]] [[emulator:stall=1]]")}
    scenario = scenarios.resolve_scenario(
        "emulator.ttft=1",
        body,
        {"X-Emulator-TTFT-Ms": "9", "x-emulator-scenario": "stream-error=4"},
    )
    assert scenario.ttft_ms == 9
    assert scenario.stall_after_tokens == 1
    assert scenario.error_after_tokens == 4
    assert scenarios.reply_text(scenario, body) == "You said: hi"


def test_small_answers_are_not_delayed_by_nagle(client: Any) -> None:
    """With TCP_NODELAY a zero-delay round trip takes a few ms, not the ~40 ms of Nagle plus
    delayed ACK."""
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        client.converse(
            modelId=SONNET_PROFILE,
            messages=user("[[emulator:ttft=0]] [[emulator:token-delay=0]] ping"),
            inferenceConfig={"maxTokens": 5},
        )
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.030


def test_command_line_prints_the_ready_line_serves_and_ignores_hang_ups() -> None:
    """`python -m prompting.llm.emulator --port N` announces itself when ready, serves, and a
    client hanging up mid-stream leaves no traceback on stderr."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "prompting.llm.emulator", "--port", str(port), "--ttft-ms", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == (
            f"Bedrock emulator listening on http://127.0.0.1:{port}"
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
            assert answer.status == 200
        body = json.dumps({"messages": user("w " * 200)}).encode()
        for _ in range(3):  # hang up after the first bytes of a 200-token stream
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(
                    b"POST /model/m/converse-stream HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
                )
                assert conn.recv(100).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)  # the emulator's next writes hit the closed sockets
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "Traceback" not in stderr
