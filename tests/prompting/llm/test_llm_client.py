"""stream_converse / converse over real boto3 and HTTP against the emulator, every fault."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from prompting.llm.client import (
    STATUS_BUSY_RETRYING,
    RetryPolicy,
    bedrock_client,
    clear_bedrock_client_cache,
    stream_converse,
)
from prompting.llm.errors import (
    BedrockUnavailable,
    InputTooLong,
    ModelStreamError,
    StreamStalled,
    Throttled,
)
from prompting.llm.events import STOP_REASON_CANCELLED, Finished, TextDelta, Usage
from prompting.llm.models import ModelSpec

Sent = Callable[[str], list[Any]]
# Our retry with tiny sleeps: the tests are about how many calls, not how long.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_happy_stream_yields_deltas_then_usage_then_finished(
    client: Any, sonnet: ModelSpec, unique: str
) -> None:
    """Text arrives as TextDelta events; Usage comes from the metadata event; Finished last,
    with time to first token and latency measured."""
    stream = stream_converse(client, model=sonnet, messages=user(f"Hi <PERSON_1> {unique}"))
    events = list(stream)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(d.text for d in deltas) == f"You said: Hi <PERSON_1> {unique}"
    assert isinstance(events[-2], Usage) and events[-2].output_tokens == len(deltas)
    assert events[-2].input_tokens > 0
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.stop_reason == "end_turn"
    # The emulator's time to first token is 20 ms in these tests.
    assert finished.time_to_first_token_ms is not None and finished.time_to_first_token_ms >= 15
    assert finished.latency_ms >= finished.time_to_first_token_ms
    assert stream.text == f"You said: Hi <PERSON_1> {unique}"
    assert stream.usage == events[-2]


def test_max_tokens_is_always_sent(client: Any, sonnet: ModelSpec, unique: str, sent: Sent) -> None:
    """Without max_tokens the model's max_output_tokens is sent; a larger ask is capped."""
    list(stream_converse(client, model=sonnet, messages=user(f"a {unique}")))
    list(stream_converse(client, model=sonnet, messages=user(f"b {unique}"), max_tokens=10**6))
    list(stream_converse(client, model=sonnet, messages=user(f"c {unique}"), max_tokens=7))
    assert [r.max_tokens for r in sent(unique)] == [1_000, 1_000, 7]


def test_system_prompt_and_extra_headers_reach_bedrock(
    client: Any, sonnet: ModelSpec, unique: str
) -> None:
    """extra_headers are sent with the request (here: the emulator's scenario header)."""
    reply = base64.b64encode(b"from a header").decode()
    stream = stream_converse(
        client,
        model=sonnet,
        messages=user(unique),
        system="Be brief.",
        extra_headers={"x-emulator-scenario": f"reply={reply}"},
    )
    list(stream)
    assert stream.text == "from a header"


def test_throttling_before_the_first_token_is_retried_and_reported(
    make_client: Any, sonnet: ModelSpec, unique: str, sent: Sent
) -> None:
    """Throttled twice, then served: the caller gets the answer, and on_status was told
    'busy_retrying' before each retry."""
    client = make_client()
    statuses: list[str] = []
    stream = stream_converse(
        client,
        model=sonnet,
        messages=user(f"[[emulator:throttle-first=2]] {unique}"),
        on_status=statuses.append,
        retry=FAST_RETRY,
    )
    events = list(stream)
    assert isinstance(events[-1], Finished) and events[-1].stop_reason == "end_turn"
    assert stream.text == f"You said: {unique}"
    assert statuses == [STATUS_BUSY_RETRYING, STATUS_BUSY_RETRYING]
    assert stream.throttle_retries == 2
    assert [r.status for r in sent(unique)] == [429, 429, 200]
    assert [(a.number, a.outcome) for a in stream.attempts] == [
        (1, "throttled"),
        (2, "throttled"),
        (3, "ok"),
    ]


def test_persistent_throttling_ends_as_throttled_after_bounded_attempts(
    make_client: Any, sonnet: ModelSpec, unique: str, sent: Sent
) -> None:
    """Always throttled: exactly max_attempts requests, then Throttled (retryable)."""
    client = make_client()
    statuses: list[str] = []
    with pytest.raises(Throttled) as caught:
        list(
            stream_converse(
                client,
                model=sonnet,
                messages=user(f"[[emulator:throttle]] {unique}"),
                on_status=statuses.append,
                retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
            )
        )
    assert caught.value.code == "throttled" and caught.value.retryable
    assert len(sent(unique)) == 2
    # Told once (before the one retry), not after the last attempt.
    assert statuses == [STATUS_BUSY_RETRYING]


def test_input_too_long_is_not_retried_and_says_what_to_do(
    make_client: Any, sonnet: ModelSpec, unique: str, sent: Sent
) -> None:
    """ValidationException 'Input is too long': one request only, and the message gives the
    input size, the limit and points to Summarize."""
    client = make_client()
    long_text = f"{unique} " + "word " * 4_000  # ~5,000 tokens by the 4-chars rule
    with pytest.raises(InputTooLong) as caught:
        list(
            stream_converse(
                client,
                model=sonnet,
                messages=user(f"[[emulator:too-long]] {long_text}"),
                max_tokens=1_000,
            )
        )
    error = caught.value
    assert len(sent(unique)) == 1
    assert error.code == "input_too_long" and not error.retryable
    assert error.limit == 199_000  # context window minus the reserved answer
    assert 4_900 < error.input_tokens_estimate < 5_300
    assert f"{error.input_tokens_estimate:,}" in error.user_message
    assert "199,000" in error.user_message
    assert "Summarize" in error.user_message


def test_input_over_the_context_size_is_refused_automatically(
    client: Any, sonnet: ModelSpec, unique: str, sent: Sent
) -> None:
    """Input + maxTokens above the emulator's context size gives InputTooLong, no marker
    needed (here a context of 2,000 tokens is set through a header)."""
    with pytest.raises(InputTooLong):
        list(
            stream_converse(
                client,
                model=sonnet,
                messages=user(f"{unique} " + "x" * 8_000),
                max_tokens=100,
                extra_headers={"x-emulator-scenario": "context=2000"},
            )
        )
    assert [r.status for r in sent(unique)] == [400]


def test_mid_stream_error_raises_with_the_partial_text_and_is_not_retried(
    client: Any, sonnet: ModelSpec, unique: str, sent: Sent
) -> None:
    """modelStreamErrorException after 3 tokens: ModelStreamError, text so far kept."""
    received: list[str] = []
    with pytest.raises(ModelStreamError) as caught:
        for event in stream_converse(
            client,
            model=sonnet,
            messages=user(f"{unique} one two three [[emulator:stream-error=3]]"),
        ):
            if isinstance(event, TextDelta):
                received.append(event.text)
    assert "".join(received) == f"You said: {unique} "
    assert caught.value.partial_text == f"You said: {unique} "
    assert caught.value.code == "model_stream_error"
    assert "modelStreamErrorException" in caught.value.detail
    assert len(sent(unique)) == 1


def test_throttling_after_the_first_token_ends_the_stream_and_is_not_retried(
    client: Any, sonnet: ModelSpec, unique: str, sent: Sent
) -> None:
    """A throttlingException inside the stream (after 2 tokens) is not retried: a second
    answer would differ from the text already shown. The partial text is kept."""
    received: list[str] = []
    with pytest.raises(ModelStreamError) as caught:
        for event in stream_converse(
            client,
            model=sonnet,
            messages=user(f"{unique} one two three [[emulator:throttle-mid=2]]"),
        ):
            if isinstance(event, TextDelta):
                received.append(event.text)
    assert "".join(received) == "You said: "
    assert caught.value.partial_text == "You said: "
    assert caught.value.retryable is True
    assert "throttlingException" in caught.value.detail
    assert [r.status for r in sent(unique)] == [200]


def test_stalled_stream_fails_within_the_read_timeout(
    make_client: Any, sonnet: ModelSpec, unique: str
) -> None:
    """Tokens, then silence: StreamStalled after the read timeout (1 s here), partial kept."""
    client = make_client(read_timeout=1.0)
    stream = stream_converse(client, model=sonnet, messages=user(f"{unique} [[emulator:stall=2]]"))
    started = time.monotonic()
    with pytest.raises(StreamStalled) as caught:
        list(stream)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.0 + 2.0
    assert caught.value.partial_text == "You said: "
    assert caught.value.code == "stream_stalled"
    assert "1 seconds" in caught.value.user_message


def _cancel_after(delay: float) -> tuple[Callable[[], bool], list[float]]:
    flag = threading.Event()
    set_at: list[float] = []

    def fire() -> None:
        time.sleep(delay)
        set_at.append(time.monotonic())
        flag.set()

    threading.Thread(target=fire, daemon=True).start()
    return flag.is_set, set_at


def test_should_stop_ends_a_slow_stream_within_a_second(
    client: Any, sonnet: ModelSpec, unique: str
) -> None:
    """Cancel while tokens flow (one per 200 ms): the stream ends as 'cancelled' within a
    second, keeping the text received so far."""
    should_stop, set_at = _cancel_after(0.5)
    stream = stream_converse(
        client,
        model=sonnet,
        messages=user(f"[[emulator:token-delay=200]] {unique} " + "word " * 50),
        should_stop=should_stop,
    )
    events = list(stream)
    ended = time.monotonic()
    assert isinstance(events[-1], Finished)
    assert events[-1].stop_reason == STOP_REASON_CANCELLED
    assert ended - set_at[0] < 1.0
    assert stream.text.startswith("You said: ") and len(stream.text) < 60
    assert not any(isinstance(e, Usage) for e in events)


@pytest.mark.parametrize("marker", ["[[emulator:stall=1]]", "[[emulator:ttft=5000]]"])
def test_should_stop_ends_a_silent_stream_within_a_second(
    make_client: Any, sonnet: ModelSpec, unique: str, marker: str
) -> None:
    """Even when no bytes arrive (a stall, a long time to first token), a cancel ends the
    stream within a second, well before the 30 s read timeout."""
    client = make_client(read_timeout=30.0)
    should_stop, set_at = _cancel_after(0.4)
    stream = stream_converse(
        client, model=sonnet, messages=user(f"{marker} {unique}"), should_stop=should_stop
    )
    events = list(stream)
    ended = time.monotonic()
    assert isinstance(events[-1], Finished)
    assert events[-1].stop_reason == STOP_REASON_CANCELLED
    assert ended - set_at[0] < 1.0


def test_abandoning_the_iterator_releases_the_stream(
    client: Any, sonnet: ModelSpec, unique: str
) -> None:
    """close() mid-stream stops reading; the client stays usable for the next call."""
    stream = stream_converse(client, model=sonnet, messages=user(f"{unique} " + "w " * 100))
    next(stream)
    stream.close()
    assert (
        "".join(
            e.text
            for e in stream_converse(client, model=sonnet, messages=user("again"))
            if isinstance(e, TextDelta)
        )
        == "You said: again"
    )


def test_unreachable_endpoint_is_bedrock_unavailable(sonnet: ModelSpec) -> None:
    """Connection refused (after botocore's retries) becomes BedrockUnavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    with pytest.raises(BedrockUnavailable) as caught:
        list(stream_converse(client, model=sonnet, messages=user("hi")))
    assert caught.value.code == "bedrock_unavailable"


def test_bedrock_client_is_built_once_per_configuration(emulator: Any, sonnet: ModelSpec) -> None:
    """Same settings, same client object; it works with dummy credentials on the emulator and
    carries the configured timeouts and retry mode."""
    clear_bedrock_client_cache()
    settings = {
        "region": "us-east-1",
        "endpoint_url": emulator.url,
        "connect_timeout": 2,
        "read_timeout": 7,
        "use_dummy_credentials": True,
    }
    first = bedrock_client(**settings)
    assert bedrock_client(**settings) is first
    assert first.meta.config.read_timeout == 7
    # botocore never retries: one HTTP request per attempt (issue 12).
    assert first.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    streamed = stream_converse(first, model=sonnet, messages=user("cached"))
    assert "".join(e.text for e in streamed if isinstance(e, TextDelta)) == "You said: cached"
    clear_bedrock_client_cache()
    assert bedrock_client(**settings) is not first
    clear_bedrock_client_cache()


def test_importing_the_package_builds_no_client() -> None:
    """Nothing is built at import time (DESIGN: lazily built clients)."""
    code = (
        "import prompting.llm, prompting.llm.client as c;"
        "print(c._build_client.cache_info().currsize)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert output.stdout.strip() == "0"
