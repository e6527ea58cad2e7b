"""One Bedrock call per attempt (issue 12), through real boto3 over HTTP to the emulator.

botocore never retries; our RetryPolicy retries only errors that prove Bedrock did no work,
and records every attempt. Deadlines (first byte, stall) end a silent stream truthfully,
with progress reports while it waits. The emulator's request counter is read over HTTP,
as a test in another process would.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from prompting.llm.client import RetryPolicy, stream_converse
from prompting.llm.emulator import EmulatorServer
from prompting.llm.errors import BedrockUnavailable, StreamStalled, Throttled
from prompting.llm.events import TextDelta
from prompting.llm.models import ModelSpec

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def calls_over_http(emulator: EmulatorServer, contains: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"contains": contains})
    with urllib.request.urlopen(f"{emulator.url}/_emulator/requests?{query}", timeout=5) as reply:
        return dict(json.loads(reply.read()))


def test_hang_before_headers_is_one_call_and_says_nothing_was_received(
    make_client: Callable[..., Any], sonnet: ModelSpec, unique: str, emulator: EmulatorServer
) -> None:
    """Bedrock accepts the call and never answers: exactly ONE request (botocore used to
    resend it after each read timeout: 4 calls, 4 minutes), ended by the deadline with a
    sentence that does not claim a partial answer."""
    client = make_client(read_timeout=1.5)
    started = time.monotonic()
    stream = stream_converse(
        client,
        model=sonnet,
        messages=user(f"[[emulator:hang]] {unique}"),
        retry=FAST_RETRY,
        first_byte_timeout_s=1.0,
    )
    with pytest.raises(StreamStalled) as caught:
        list(stream)
    elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed
    assert calls_over_http(emulator, unique)["count"] == 1
    assert caught.value.partial_text == ""
    assert "partial answer is kept" not in caught.value.user_message
    assert "Nothing was received" in caught.value.user_message
    assert [a.outcome for a in stream.attempts] == ["stream_stalled"]


def test_stall_after_deltas_ends_at_the_stall_deadline_with_progress(
    make_client: Callable[..., Any], sonnet: ModelSpec, unique: str, emulator: EmulatorServer
) -> None:
    """Three tokens, then silence: the stall deadline (1.2 s) ends it long before the
    socket timeout (30 s), the partial text is kept and said to be kept, one call only, and
    progress was reported while waiting."""
    client = make_client(read_timeout=30.0)
    waited: list[int] = []
    stream = stream_converse(
        client,
        model=sonnet,
        messages=user(f"[[emulator:stall=3]] {unique} more words here"),
        stall_timeout_s=1.2,
        first_byte_timeout_s=5,
        on_progress=waited.append,
        progress_interval_s=0.5,
    )
    started = time.monotonic()
    with pytest.raises(StreamStalled) as caught:
        list(stream)
    elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    assert caught.value.partial_text == f"You said: {unique} "
    assert "partial answer is kept" in caught.value.user_message
    assert "1.2 seconds" in caught.value.user_message
    assert calls_over_http(emulator, unique)["count"] == 1
    time.sleep(0.1)  # progress callbacks run on their own thread
    assert waited and waited == sorted(waited)


def test_slow_first_token_reports_progress_and_still_answers(
    client: Any, sonnet: ModelSpec, unique: str
) -> None:
    """A slow but healthy model (1.3 s to first token) under a 3 s first-byte deadline:
    progress is reported, then the whole answer arrives."""
    waited: list[int] = []
    stream = stream_converse(
        client,
        model=sonnet,
        messages=user(f"[[emulator:ttft=1300]] {unique}"),
        first_byte_timeout_s=3,
        on_progress=waited.append,
        progress_interval_s=0.5,
    )
    text = "".join(e.text for e in stream if isinstance(e, TextDelta))
    assert text == f"You said: {unique}"
    assert len(waited) >= 2


def test_unavailable_before_the_stream_is_retried_and_recorded(
    make_client: Callable[..., Any], sonnet: ModelSpec, unique: str, emulator: EmulatorServer
) -> None:
    """503 ServiceUnavailable twice, then served: a 5xx before the stream proves no work,
    so our retry tries again; three calls, each recorded."""
    stream = stream_converse(
        make_client(),
        model=sonnet,
        messages=user(f"[[emulator:unavailable-first=2]] {unique}"),
        retry=FAST_RETRY,
    )
    text = "".join(e.text for e in stream if isinstance(e, TextDelta))
    assert text == f"You said: {unique}"
    assert calls_over_http(emulator, unique) == {
        "total": emulator.requests_total,
        "count": 3,
        "by_status": {"503": 2, "200": 1},
    }
    assert [a.outcome for a in stream.attempts] == [
        "bedrock_unavailable",
        "bedrock_unavailable",
        "ok",
    ]
    assert stream.attempts[1].backoff_ms <= 50


def test_throttling_storm_is_bounded_by_the_policy(
    make_client: Callable[..., Any], sonnet: ModelSpec, unique: str, emulator: EmulatorServer
) -> None:
    """Always throttled: exactly max_attempts calls (3), then Throttled, within the cap."""
    started = time.monotonic()
    with pytest.raises(Throttled):
        list(
            stream_converse(
                make_client(),
                model=sonnet,
                messages=user(f"[[emulator:throttle]] {unique}"),
                retry=RetryPolicy(max_attempts=3, base_delay_s=0.2, max_delay_s=0.3),
            )
        )
    assert time.monotonic() - started < 2
    assert calls_over_http(emulator, unique)["by_status"] == {"429": 3}


def test_mid_stream_throttle_is_not_retried(
    make_client: Callable[..., Any], sonnet: ModelSpec, unique: str, emulator: EmulatorServer
) -> None:
    """A throttle after the first tokens may have been billed: one call, never a second."""
    with pytest.raises(Exception) as caught:
        list(
            stream_converse(
                make_client(),
                model=sonnet,
                messages=user(f"[[emulator:throttle-mid=2]] {unique} a b c"),
                retry=FAST_RETRY,
            )
        )
    assert caught.value.partial_text  # type: ignore[attr-defined]
    assert calls_over_http(emulator, unique)["count"] == 1


def test_connection_refused_is_retried_then_unavailable(sonnet: ModelSpec) -> None:
    """Nothing listens: connection refused proves no work, so it is tried max_attempts
    times (each recorded), then BedrockUnavailable."""
    import boto3
    from botocore.config import Config

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    stream = stream_converse(client, model=sonnet, messages=user("hi"), retry=FAST_RETRY)
    with pytest.raises(BedrockUnavailable) as caught:
        list(stream)
    assert caught.value.no_work_done
    assert [a.outcome for a in stream.attempts] == ["bedrock_unavailable"] * 3


def test_retry_policy_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=0.5, max_delay_s=2.0)
    for attempt, ceiling in [(2, 0.5), (3, 1.0), (4, 2.0), (5, 2.0)]:
        delays = [policy.delay_before(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the range
