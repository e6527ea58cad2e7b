"""What the ASGI wrappers in front of Django share: the ASGI types, and the session cookie
read from the raw headers (no database there, so the cookie is not verified)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def session_key(scope: Scope) -> bytes | None:
    """The session cookie's value, or None when the request carries none."""
    name = f"{settings.SESSION_COOKIE_NAME}=".encode()
    for header, value in scope.get("headers", []):
        if header != b"cookie":
            continue
        for part in value.split(b";"):
            part = part.strip()
            if part.startswith(name) and len(part) > len(name):
                return part[len(name) :]
    return None
