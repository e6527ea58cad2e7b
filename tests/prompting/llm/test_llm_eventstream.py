"""The eventstream encoder produces frames that botocore's own parser accepts."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from prompting.llm.eventstream import encode_event, encode_exception, encode_message


def parse_all(data: bytes, *, step: int | None = None) -> list[object]:
    buffer = EventStreamBuffer()
    messages = []
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for chunk in chunks:
        buffer.add_data(chunk)
        messages.extend(buffer)
    return messages


def test_event_round_trips_through_botocore() -> None:
    """An event's headers and JSON payload come back exactly as encoded."""
    payload = {"contentBlockIndex": 0, "delta": {"text": "Grüße <PERSON_1> 🚗"}}
    [message] = parse_all(encode_event("contentBlockDelta", payload))
    assert message.headers == {  # type: ignore[attr-defined]
        ":message-type": "event",
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
    }
    assert json.loads(message.payload) == payload  # type: ignore[attr-defined]


def test_exception_message_round_trips() -> None:
    """An exception frame carries its type in `:exception-type` and the message as JSON."""
    [message] = parse_all(encode_exception("modelStreamErrorException", "boom"))
    assert message.headers[":message-type"] == "exception"  # type: ignore[attr-defined]
    assert message.headers[":exception-type"] == "modelStreamErrorException"  # type: ignore[attr-defined]
    assert json.loads(message.payload) == {"message": "boom"}  # type: ignore[attr-defined]


def test_frames_split_at_every_byte_still_parse_in_order() -> None:
    """A stream cut into 1-byte network reads yields the same messages, in order."""
    data = b"".join(encode_event("contentBlockDelta", {"n": i}) for i in range(5))
    messages = parse_all(data, step=1)
    assert [json.loads(m.payload)["n"] for m in messages] == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]


def test_prelude_and_message_crcs_are_big_endian_crc32() -> None:
    """The framing is exactly [total][headers_len][prelude_crc][headers][payload][crc]."""
    frame = encode_message({":message-type": "event"}, b"{}")
    total, headers_len, prelude_crc = struct.unpack(">III", frame[:12])
    assert total == len(frame)
    assert headers_len == len(frame) - 12 - 2 - 4
    assert prelude_crc == zlib.crc32(frame[:8])
    assert struct.unpack(">I", frame[-4:])[0] == zlib.crc32(frame[:-4])


def test_corrupted_payload_is_rejected_by_botocore() -> None:
    """A flipped payload byte fails botocore's message CRC check: the CRC is really checked."""
    frame = bytearray(encode_event("messageStop", {"stopReason": "end_turn"}))
    frame[-6] ^= 0xFF
    with pytest.raises(ChecksumMismatch):
        parse_all(bytes(frame))
