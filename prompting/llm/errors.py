"""The errors the LLM layer raises, each with a stable `code` and a sentence for the user.

botocore has many exception types (ClientError with dozens of codes, EventStreamError,
urllib3 timeouts...). They are translated once, in `prompting.llm.client`, into this small
hierarchy so that the Django side can store `code`, show `user_message`, and decide on a
Retry button from `retryable` without knowing anything about botocore.

`detail` is for logs: the AWS error code and message. It never contains prompt text.
"""

from __future__ import annotations


class LLMError(Exception):
    """Base class. `code` is stable (stored on the run); `user_message` is shown as is."""

    code = "llm_error"
    retryable = False

    def __init__(self, user_message: str, *, detail: str = "") -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail
        # Filled by stream_converse so the caller can keep what was already shown.
        self.partial_text = ""
        # True when the error proves Bedrock did no work (refused before any answer, or
        # never reached): the only errors our retry may send again (client.RetryPolicy).
        self.no_work_done = False

    # The sentence when nothing arrived, for errors whose usual sentence mentions a
    # partial answer: the final sentence must be true ("the partial answer is kept" when
    # there was none was issue 12's complaint).
    nothing_received_message: str | None = None

    def keep_partial(self, text: str) -> None:
        self.partial_text = text
        if not text and self.nothing_received_message:
            self.user_message = self.nothing_received_message
            self.args = (self.user_message,)

    def __str__(self) -> str:
        return f"{self.code}: {self.user_message}" + (f" ({self.detail})" if self.detail else "")


class Throttled(LLMError):
    """Bedrock refused the request for quota reasons (429) and our retries ran out."""

    code = "throttled"
    retryable = True

    def __init__(self, *, detail: str = "") -> None:
        super().__init__(
            "The model is busy right now (too many requests). Please try again in a minute.",
            detail=detail,
        )


class InputTooLong(LLMError):
    """The input does not fit the model's context window. Never retried: it cannot succeed."""

    code = "input_too_long"

    def __init__(self, *, input_tokens_estimate: int, limit: int, detail: str = "") -> None:
        super().__init__(
            f"Your input is about {input_tokens_estimate:,} tokens, but this model accepts at "
            f"most {limit:,}. Shorten it, or use Summarize, which handles long documents.",
            detail=detail,
        )
        self.input_tokens_estimate = input_tokens_estimate
        self.limit = limit


class ModelStreamError(LLMError):
    """The model failed part-way through its answer. botocore does not retry this, nor do we:
    the text already shown would be produced again differently."""

    code = "model_stream_error"
    retryable = True

    def __init__(self, *, detail: str = "") -> None:
        super().__init__(
            "The model stopped with an error part-way through its answer. "
            "The partial answer is kept; you can retry.",
            detail=detail,
        )
        self.nothing_received_message = (
            "The model failed before its answer started. Nothing was received; you can retry."
        )


class StreamStalled(LLMError):
    """Nothing arrived before the first-byte deadline, or no delta for the stall deadline (or
    the socket read timeout). The connection is dropped; the partial text kept."""

    code = "stream_stalled"
    retryable = True

    def __init__(self, *, read_timeout_s: float | None = None, detail: str = "") -> None:
        waited = f" for {read_timeout_s:g} seconds" if read_timeout_s else ""
        within = f" within {read_timeout_s:g} seconds" if read_timeout_s else ""
        super().__init__(
            f"The model stopped responding{waited}. The partial answer is kept; you can retry.",
            detail=detail,
        )
        self.nothing_received_message = (
            f"The model did not start answering{within}. Nothing was received; you can retry."
        )


class ModelNotAllowed(LLMError):
    """The requested model is not on the allowlist (LLM_MODELS)."""

    code = "model_not_allowed"

    def __init__(self, model_id: str) -> None:
        super().__init__(f"The model {model_id!r} is not available in this tool.")
        self.model_id = model_id


class BedrockUnavailable(LLMError):
    """Bedrock could not be reached (connection refused, DNS, connect timeout, 503)."""

    code = "bedrock_unavailable"
    retryable = True

    def __init__(self, *, detail: str = "") -> None:
        super().__init__(
            "The model service cannot be reached right now. Please try again later.",
            detail=detail,
        )


class BedrockError(LLMError):
    """Any other refusal from Bedrock (access denied, other validation errors, 500s)."""

    code = "bedrock_error"

    def __init__(self, *, detail: str = "") -> None:
        super().__init__(
            "The model service returned an error. The request was not completed.",
            detail=detail,
        )
