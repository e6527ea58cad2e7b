"""Encoder for the `application/vnd.amazon.eventstream` framing used by ConverseStream.

Only the emulator needs to *write* this format; boto3 reads it with
`botocore.eventstream`. Each message is::

    [total_len u32][headers_len u32][prelude_crc u32][headers][payload][message_crc u32]

all integers big-endian, `prelude_crc` the CRC32 of the first 8 bytes and `message_crc`
the CRC32 of everything before it. Headers are `[name_len u8][name][type u8][value...]`;
Bedrock only sends type 7 (UTF-8 string: `[value_len u16][value]`), so that is all we encode.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"

_HEADER_TYPE_STRING = 7
_PRELUDE_LENGTH = 12  # total_len + headers_len + prelude_crc
_MESSAGE_CRC_LENGTH = 4


def _encode_headers(headers: Mapping[str, str]) -> bytes:
    parts: list[bytes] = []
    for name, value in headers.items():
        name_bytes = name.encode("utf-8")
        value_bytes = value.encode("utf-8")
        if len(name_bytes) > 255:
            raise ValueError(f"header name too long: {name!r}")
        if len(value_bytes) > 0xFFFF:
            raise ValueError(f"header value too long for {name!r}")
        parts.append(struct.pack(">B", len(name_bytes)))
        parts.append(name_bytes)
        parts.append(struct.pack(">BH", _HEADER_TYPE_STRING, len(value_bytes)))
        parts.append(value_bytes)
    return b"".join(parts)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """Frame one message: prelude, prelude CRC, headers, payload, message CRC."""
    header_bytes = _encode_headers(headers)
    total_length = _PRELUDE_LENGTH + len(header_bytes) + len(payload) + _MESSAGE_CRC_LENGTH
    prelude = struct.pack(">II", total_length, len(header_bytes))
    prelude_crc = struct.pack(">I", zlib.crc32(prelude))
    body = prelude + prelude_crc + header_bytes + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _json_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def encode_event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """An event message such as `contentBlockDelta` with a JSON payload."""
    headers = {
        ":message-type": "event",
        ":event-type": event_type,
        ":content-type": "application/json",
    }
    return encode_message(headers, _json_bytes(payload))


def encode_exception(exception_type: str, message: str) -> bytes:
    """An in-stream exception, e.g. `modelStreamErrorException` after some tokens.

    botocore turns `:message-type exception` into an `EventStreamError` whose error code
    is the `:exception-type` header and whose message comes from the JSON payload.
    """
    headers = {
        ":message-type": "exception",
        ":exception-type": exception_type,
        ":content-type": "application/json",
    }
    return encode_message(headers, _json_bytes({"message": message}))
