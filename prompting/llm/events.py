"""Typed events yielded by `stream_converse`, and the result of `converse`.

The caller never sees botocore's dict events: only these, in this order:
`TextDelta`* then `Usage` (from Bedrock's metadata event) then `Finished`. A cancelled
stream ends with `Finished(stop_reason="cancelled")` and no `Usage` (Bedrock sends usage only
at the end). An error raises an `LLMError` instead of `Finished`.
"""

from __future__ import annotations

from dataclasses import dataclass

# Our own stop reason, next to Bedrock's (end_turn, max_tokens, stop_sequence, ...).
STOP_REASON_CANCELLED = "cancelled"


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Finished:
    """Last event. Timings are measured here, from the call (including retries) to the first
    text / to the end; `time_to_first_token_ms` is None if no text arrived."""

    stop_reason: str
    time_to_first_token_ms: int | None
    latency_ms: int


StreamEvent = TextDelta | Usage | Finished
