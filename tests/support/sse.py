"""A small Server-Sent Events client for tests: reads events as the browser would."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: dict[str, Any]


def session_cookie_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


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


def read_events(
    response: http.client.HTTPResponse,
    *,
    max_events: int | None = None,
    deadline_s: float = 30,
) -> list[SseEvent]:
    """Read until a done/error event, `max_events` events, or the deadline."""
    events: list[SseEvent] = []
    fields: dict[str, str] = {}
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        raw = response.readline()
        if not raw:
            break  # server closed the stream
        line = raw.decode().rstrip("\n")
        if line == "":
            if "data" in fields:
                event = SseEvent(
                    fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])
                )
                events.append(event)
                if event.event in {"done", "error"}:
                    break
                if max_events is not None and len(events) >= max_events:
                    break
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value
    return events


def post_form(base_url: str, path: str, cookie: str, data: dict[str, str]) -> tuple[int, Any]:
    """POST a form to the live site as a signed-in browser would (CSRF cookie + header)."""
    from urllib.parse import urlencode

    token = "a" * 32  # any 32-character token works when cookie and header agree
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    connection.request(
        "POST",
        path,
        body=urlencode(data),
        headers={
            "Cookie": f"{cookie}; {settings.CSRF_COOKIE_NAME}={token}",
            "X-CSRFToken": token,
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"{base_url}/",
        },
    )
    reply = connection.getresponse()
    body = reply.read()
    try:
        return reply.status, json.loads(body)
    except ValueError:
        return reply.status, body.decode(errors="replace")
