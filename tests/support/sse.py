"""The one Server-Sent Events client of the tests and benchmarks: reads events as the
browser's EventSource does. `SseParser` is fed text as it arrives (any chunking) and
returns whole events; `iter_events` / `read_events` read an http.client response with it,
bench/bench_full_path.py its asyncio chunks."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TERMINAL = frozenset({"done", "error"})


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: dict[str, Any]


class SseParser:
    """Lines in, events out: `field: value` lines until a blank line; comments (`:`, the
    heartbeat) carry nothing; an event without data is no event (the spec's rule)."""

    def __init__(self) -> None:
        self._pending = ""
        self._fields: dict[str, str] = {}

    def feed(self, text: str) -> list[SseEvent]:
        events = []
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()  # an unfinished line waits for the rest
        for raw_line in lines:
            line = raw_line.removesuffix("\r")
            if line == "":
                if "data" in self._fields:
                    fields = self._fields
                    events.append(
                        SseEvent(
                            fields.get("id"),
                            fields.get("event", "message"),
                            json.loads(fields["data"]),
                        )
                    )
                self._fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                self._fields[name] = value.removeprefix(" ")
        return events


def open_stream(
    base_url: str, path: str, cookie: str, *, last_event_id: str | None = None, timeout: float = 30
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=timeout
    )
    headers = {"Cookie": cookie, "Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    connection.request("GET", path, headers=headers)
    return connection, connection.getresponse()


def iter_events(response: http.client.HTTPResponse) -> Iterator[SseEvent]:
    """Events as they arrive, until the server ends the response."""
    parser = SseParser()
    while raw := response.readline():
        yield from parser.feed(raw.decode())


def read_events(
    response: http.client.HTTPResponse,
    *,
    max_events: int | None = None,
    deadline_s: float = 30,
) -> list[SseEvent]:
    """Read until a done/error event, `max_events` events, or the deadline."""
    events: list[SseEvent] = []
    deadline = time.monotonic() + deadline_s
    parser = SseParser()
    while time.monotonic() < deadline:
        raw = response.readline()
        if not raw:
            break  # server closed the stream
        for event in parser.feed(raw.decode()):
            events.append(event)
            if event.event in TERMINAL or (max_events is not None and len(events) >= max_events):
                return events
    return events
