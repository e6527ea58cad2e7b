"""What the Bedrock emulator should do for one request, and what it answers.

A behaviour is a list of *directives* (`throttle`, `stall=5`, `ttft=500`...). They come from
three places, merged in this order (later wins):

1. the model id: `emulator.<directive>`, e.g. `emulator.throttle` or `emulator.stall=2`;
2. markers in the last user message: `[[emulator:<directive>]]` (several allowed). The Django
   app needs no code for these: type them in the chat box;
3. request headers: `x-emulator-scenario: <directive>[,<directive>...]`, and the shortcuts
   `x-emulator-ttft-ms`, `x-emulator-token-delay-ms`, `x-emulator-throttle-key`
   (boto3 can send these through `stream_converse(extra_headers=...)`).

Everything here is pure (no sockets), so it is easy to read and to test.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from prompting.llm.models import estimate_tokens

MARKER_RE = re.compile(r"\[\[emulator:([^\]]*)\]\]")
MODEL_PREFIX = "emulator."
# A word with its trailing whitespace: joining the tokens gives back the text exactly.
TOKEN_RE = re.compile(r"\S+\s*|\s+")

HEADER_SCENARIO = "x-emulator-scenario"
HEADER_TTFT = "x-emulator-ttft-ms"
HEADER_TOKEN_DELAY = "x-emulator-token-delay-ms"  # noqa: S105 (a header name, not a secret)
HEADER_THROTTLE_KEY = "x-emulator-throttle-key"

DEFAULT_ERROR_AFTER_TOKENS = 3
DEFAULT_STALL_AFTER_TOKENS = 3
DEFAULT_THROTTLE_FIRST = 2
DEFAULT_THROTTLE_AFTER_TOKENS = 3


class DirectiveError(ValueError):
    """A directive the emulator does not understand: answered as a 400 ValidationException so
    that a typo in a test is loud instead of silently echoing."""


@dataclass(frozen=True)
class Scenario:
    """The resolved behaviour for one request. `None` means "use the server default"."""

    ttft_ms: int | None = None
    token_delay_ms: int | None = None
    context_tokens: int | None = None
    throttle: bool = False
    throttle_first: int = 0  # throttle the first N requests with the same throttle key
    throttle_key: str | None = None
    too_long: bool = False
    error_after_tokens: int | None = None  # modelStreamErrorException after N tokens
    # throttlingException inside the stream after N tokens: Bedrock can throttle an answer
    # that has already started, which no client-side retry may repeat.
    throttle_after_tokens: int | None = None
    stall_after_tokens: int | None = None  # N tokens, then silence with the connection open
    # Read the request, then send nothing at all (not even response headers) until the
    # client leaves: a Bedrock that accepted the call and hangs.
    hang: bool = False
    # HTTP 503 ServiceUnavailableException before the stream: always, or the first N
    # requests with the same throttle key (retries of one request).
    unavailable: bool = False
    unavailable_first: int = 0
    reply: str | None = None  # the answer text instead of the echo
    directives: tuple[str, ...] = field(default=())


def _int_value(name: str, value: str | None, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise DirectiveError(f"emulator directive {name!r} needs a number")
        return default
    try:
        number = int(value)
    except ValueError:
        raise DirectiveError(f"emulator directive {name}={value!r}: not a number") from None
    if number < 0:
        raise DirectiveError(f"emulator directive {name}={value!r}: must be >= 0")
    return number


def _decode_reply(value: str | None) -> str:
    if not value:
        raise DirectiveError("emulator directive 'reply' needs base64 text")
    padded = value + "=" * (-len(value) % 4)
    try:
        # altchars lets both standard and URL-safe base64 through.
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise DirectiveError("emulator directive 'reply': not valid base64 of UTF-8") from None


def apply_directive(scenario: Scenario, directive: str) -> Scenario:
    """Return `scenario` changed by one `name` or `name=value` directive."""
    directive = directive.strip()
    if not directive:
        return scenario
    name, _, value_text = directive.partition("=")
    name = name.strip().lower()
    value: str | None = value_text.strip() if _ else None
    changes: dict[str, Any]
    if name in ("echo", "ok"):
        changes = {}
    elif name == "throttle":
        changes = {"throttle": True}
    elif name == "throttle-first":
        # Throttle the first N attempts, then succeed: exercises retry-with-backoff.
        changes = {"throttle_first": _int_value(name, value, DEFAULT_THROTTLE_FIRST)}
    elif name == "throttle-mid":
        changes = {"throttle_after_tokens": _int_value(name, value, DEFAULT_THROTTLE_AFTER_TOKENS)}
    elif name == "throttle-key":
        changes = {"throttle_key": value or ""}
    elif name == "hang":
        changes = {"hang": True}
    elif name == "unavailable":
        changes = {"unavailable": True}
    elif name == "unavailable-first":
        changes = {"unavailable_first": _int_value(name, value, DEFAULT_THROTTLE_FIRST)}
    elif name == "too-long":
        changes = {"too_long": True}
    elif name == "stream-error":
        changes = {"error_after_tokens": _int_value(name, value, DEFAULT_ERROR_AFTER_TOKENS)}
    elif name == "stall":
        changes = {"stall_after_tokens": _int_value(name, value, DEFAULT_STALL_AFTER_TOKENS)}
    elif name == "ttft":
        changes = {"ttft_ms": _int_value(name, value)}
    elif name == "token-delay":
        changes = {"token_delay_ms": _int_value(name, value)}
    elif name == "context":
        changes = {"context_tokens": _int_value(name, value)}
    elif name == "reply":
        changes = {"reply": _decode_reply(value)}
    else:
        raise DirectiveError(f"unknown emulator directive {name!r}")
    return replace(scenario, directives=(*scenario.directives, directive), **changes)


def text_of_blocks(content: Any) -> str:
    """The text of a Converse message's content blocks, as the model would read it."""
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif "document" in block:
            parts.append(f"[document: {block['document'].get('name', '?')}]")
        elif "image" in block:
            parts.append("[image]")
    return "\n".join(parts)


def last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of_blocks(message.get("content"))
    return ""


def input_text(body: Mapping[str, Any]) -> str:
    """All the text the model would read: system prompt plus every message."""
    system = body.get("system") or []
    parts = [text_of_blocks(system)]
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            parts.append(text_of_blocks(message.get("content")))
    return "\n".join(part for part in parts if part)


def resolve_scenario(
    model_id: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> Scenario:
    """Merge directives from the model id, the message markers and the headers."""
    scenario = Scenario()
    if model_id.startswith(MODEL_PREFIX):
        scenario = apply_directive(scenario, model_id[len(MODEL_PREFIX) :])
    for marker in MARKER_RE.findall(last_user_text(body.get("messages"))):
        scenario = apply_directive(scenario, marker)
    lowered = {key.lower(): value for key, value in headers.items()}
    for directive in lowered.get(HEADER_SCENARIO, "").split(","):
        scenario = apply_directive(scenario, directive)
    if HEADER_TTFT in lowered:
        scenario = apply_directive(scenario, f"ttft={lowered[HEADER_TTFT]}")
    if HEADER_TOKEN_DELAY in lowered:
        scenario = apply_directive(scenario, f"token-delay={lowered[HEADER_TOKEN_DELAY]}")
    if HEADER_THROTTLE_KEY in lowered:
        scenario = apply_directive(scenario, f"throttle-key={lowered[HEADER_THROTTLE_KEY]}")
    return scenario


def throttle_key(scenario: Scenario, model_id: str, body: Mapping[str, Any]) -> str:
    """Which requests share a throttle-first counter. By default a retry of the same request
    (same model, same last message), which is exactly what botocore's retries send."""
    if scenario.throttle_key:
        return scenario.throttle_key
    digest = hashlib.sha256(f"{model_id}\0{last_user_text(body.get('messages'))}".encode())
    return digest.hexdigest()


def reply_text(scenario: Scenario, body: Mapping[str, Any]) -> str:
    """The answer: the custom reply, or the last user message echoed without markers."""
    if scenario.reply is not None:
        return scenario.reply
    received = MARKER_RE.sub("", last_user_text(body.get("messages"))).strip()
    return f"You said: {received}" if received else "You said nothing."


def split_tokens(text: str) -> list[str]:
    """Word-ish tokens (each word with its trailing whitespace), like a model's deltas."""
    return TOKEN_RE.findall(text)


def input_tokens(body: Mapping[str, Any]) -> int:
    return max(1, estimate_tokens(input_text(body)))


def max_tokens(body: Mapping[str, Any]) -> int | None:
    config = body.get("inferenceConfig") or {}
    value = config.get("maxTokens") if isinstance(config, dict) else None
    return value if isinstance(value, int) and value > 0 else None
