"""Requests to the live site as a signed-in browser makes them (session and CSRF cookies)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.test import Client


def session_cookie_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def post_form(base_url: str, path: str, cookie: str, data: dict[str, str]) -> tuple[int, Any]:
    """POST a form to the live site as a signed-in browser would (CSRF cookie + header)."""
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
