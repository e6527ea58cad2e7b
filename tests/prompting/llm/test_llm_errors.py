"""Every botocore / urllib3 failure maps to one LLMError with a stable code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
)
from botocore.exceptions import ReadTimeoutError as BotoReadTimeoutError
from urllib3 import HTTPConnectionPool
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from prompting.llm.client import build_request, translate_error
from prompting.llm.emulator import scenarios
from prompting.llm.models import ModelSpec

MODEL = ModelSpec("m", "M", Decimal(1), Decimal(5), 10_000, 1_000)
REQUEST = build_request(
    model=MODEL,
    messages=[{"role": "user", "content": [{"text": "x" * 400}]}],
    system="sys!",
    max_tokens=None,
)


def client_error(code: str, message: str = "msg", status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "ConverseStream")


def stream_error(code: str) -> EventStreamError:
    return EventStreamError({"Error": {"Code": code, "Message": "m"}}, "ConverseStream")


@pytest.mark.parametrize(
    ("exc", "mid_stream", "code"),
    [
        (client_error("ThrottlingException", status=429), False, "throttled"),
        (
            client_error("ValidationException", "Input is too long for requested model."),
            False,
            "input_too_long",
        ),
        (
            client_error(
                "ValidationException", "prompt is too long: 210000 tokens > 200000 maximum"
            ),
            False,
            "input_too_long",
        ),
        (
            client_error("ValidationException", "messages: roles must alternate"),
            False,
            "bedrock_error",
        ),
        (client_error("AccessDeniedException", status=403), False, "bedrock_error"),
        (client_error("ServiceUnavailableException", status=503), False, "bedrock_unavailable"),
        (client_error("ModelNotReadyException", status=429), False, "bedrock_unavailable"),
        (stream_error("modelStreamErrorException"), True, "model_stream_error"),
        (stream_error("throttlingException"), True, "model_stream_error"),
        (stream_error("internalServerException"), True, "model_stream_error"),
        (
            ReadTimeoutError(HTTPConnectionPool("127.0.0.1"), "/", "Read timed out."),
            True,
            "stream_stalled",
        ),
        (BotoReadTimeoutError(endpoint_url="http://x"), False, "stream_stalled"),
        (ProtocolError("Connection broken"), True, "model_stream_error"),
        (ConnectionResetError(), True, "model_stream_error"),
        (EndpointConnectionError(endpoint_url="http://x"), False, "bedrock_unavailable"),
        (ConnectTimeoutError(endpoint_url="http://x"), False, "bedrock_unavailable"),
        (NoCredentialsError(), False, "bedrock_error"),
    ],
)
def test_errors_translate_to_stable_codes(exc: BaseException, mid_stream: bool, code: str) -> None:
    """The table the Django side relies on: code stored on the run, user_message shown."""
    error = translate_error(
        exc, request=REQUEST, model=MODEL, read_timeout_s=60, mid_stream=mid_stream
    )
    assert error.code == code
    assert error.user_message and error.user_message.endswith(".")


def test_input_too_long_estimates_system_and_messages() -> None:
    """The estimate counts system prompt and messages (~4 chars/token); the limit leaves
    room for the reserved maxTokens."""
    error = translate_error(
        client_error("ValidationException", "Input is too long for requested model."),
        request=REQUEST,
        model=MODEL,
        read_timeout_s=60,
        mid_stream=False,
    )
    assert error.input_tokens_estimate == 102  # type: ignore[attr-defined]  # (400 + 1 + 5) / 4
    assert error.limit == 9_000  # type: ignore[attr-defined]


def test_error_details_never_contain_the_prompt() -> None:
    """detail goes to logs: AWS code and message, not the text that was sent."""
    error = translate_error(
        client_error("ValidationException", "Input is too long for requested model."),
        request=REQUEST,
        model=MODEL,
        read_timeout_s=60,
        mid_stream=False,
    )
    assert "xxxx" not in error.detail and "sys!" not in error.detail
    assert "xxxx" not in str(error)


@pytest.mark.parametrize(
    ("directive", "message"),
    [
        ("stall=-1", "must be >= 0"),
        ("ttft=soon", "not a number"),
        ("ttft", "needs a number"),
        ("reply=%%%", "not valid base64"),
        ("reply", "needs base64"),
        ("explode", "unknown emulator directive"),
    ],
)
def test_bad_directives_are_rejected_by_name(directive: str, message: str) -> None:
    """The emulator names what it did not understand."""
    with pytest.raises(scenarios.DirectiveError, match=message):
        scenarios.apply_directive(scenarios.Scenario(), directive)


def test_throttle_key_groups_retries_of_the_same_request() -> None:
    """Same model and last message share a throttle-first counter; an explicit key wins."""
    body = {"messages": [{"role": "user", "content": [{"text": "a"}]}]}
    other = {"messages": [{"role": "user", "content": [{"text": "b"}]}]}
    plain = scenarios.Scenario()
    assert scenarios.throttle_key(plain, "m", body) == scenarios.throttle_key(plain, "m", body)
    assert scenarios.throttle_key(plain, "m", body) != scenarios.throttle_key(plain, "m", other)
    keyed = scenarios.apply_directive(plain, "throttle-key=k1")
    assert (
        scenarios.throttle_key(keyed, "m", body)
        == scenarios.throttle_key(keyed, "n", other)
        == "k1"
    )
