"""Refusing oversized uploads before their body is read, and oversized forms with a sentence.

Django's ASGI handler reads the whole request body (to a spooled temporary file) before
any middleware or view runs, so a 2 GB upload would be received in full before a view
could say "too large". `UploadLimitMiddleware` wraps the ASGI application instead: on the
upload routes it answers 413 at once when Content-Length is over the limit, and for a
chunked body (no Content-Length) it counts bytes as they arrive and stops the request
when the count passes the limit.

`RequestTooBigMiddleware` (Django) turns RequestDataTooBig, which Django raises when a
form's non-file fields exceed DATA_UPLOAD_MAX_MEMORY_SIZE (a 5 MB paste posted as a form
field), into a 413 with a sentence instead of a bare 400. It must come before
CsrfViewMiddleware, the first thing that reads request.POST.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError

from config.asgi_scope import ASGIApp, Message, Receive, Scope, Send, session_key

logger = logging.getLogger(__name__)

# Routes that accept files. Everything else keeps Django's own limits.
UPLOAD_PATH_PREFIXES = ("/summarize/documents",)
# Multipart framing (boundaries, part headers, the other small fields) on top of the file.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


def upload_limit_bytes() -> int:
    return int(settings.MAX_UPLOAD_MB) * 1024 * 1024 + MULTIPART_ALLOWANCE_BYTES


def too_large_sentence() -> str:
    return (
        f"The upload is larger than the {settings.MAX_UPLOAD_MB} MB limit. "
        "Choose a smaller file, or split the document and summarize the parts."
    )


def body_limit(scope: Scope) -> tuple[int, str]:
    """The most bytes this request may send, and the sentence when it sends more.

    Every route is capped (issue 15), before Django reads the body: upload routes at the
    upload limit; other routes of a browser with a session cookie at Django's own
    in-memory limit (it would refuse more anyway, but only after reading it all); requests
    without a session cookie (sign-in pages, the SAML ACS post, anyone on the internet)
    at ANONYMOUS_BODY_LIMIT_KB. The cookie is not checked here (that needs the database):
    a forged one only reaches the signed-in limit, which is still small."""
    path = str(scope.get("path", ""))
    if path.startswith(UPLOAD_PATH_PREFIXES):
        return upload_limit_bytes(), too_large_sentence()
    if session_key(scope) is not None:
        limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + MULTIPART_ALLOWANCE_BYTES
        return limit, (
            f"The request is larger than {limit / 1024 / 1024:.1f} MB, the most this page "
            "accepts. To summarize a long text, upload it as a file on the Summarize page."
        )
    limit = int(settings.ANONYMOUS_BODY_LIMIT_KB) * 1024
    return limit, (
        f"The request is larger than {settings.ANONYMOUS_BODY_LIMIT_KB} KB, the most "
        "accepted before signing in. Sign in and try again."
    )


class UploadLimitMiddleware:
    """Caps the body of every request (`body_limit`), refusing with 413 and a sentence
    before reading when Content-Length says too much, or as soon as a chunked body
    passes the limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, sentence = body_limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            logger.warning(
                "upload refused before reading: %s bytes declared, limit %s (%s)",
                declared,
                limit,
                scope.get("path"),
            )
            await _send_413(send, sentence)
            return
        state = {"received": 0, "exceeded": False, "started": False}

        async def counting_receive() -> Message:
            if state["exceeded"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    # Django's body reader treats a disconnect as an aborted request and
                    # returns without a response; we answer below.
                    state["exceeded"] = True
                    logger.warning(
                        "upload refused while reading: over %s bytes (%s)", limit, scope.get("path")
                    )
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, counting_receive, tracking_send)
        if state["exceeded"] and not state["started"]:
            await _send_413(send, sentence)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, sentence: str) -> None:
    body = json.dumps({"error": sentence, "code": "too_large"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The unread body is still on the wire: this connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestTooBigMiddleware:
    """A form whose fields are too large for memory gets a sentence naming the limit.

    Sync and async capable (like Django's MiddlewareMixin): a sync-only middleware would
    make every request, the async SSE views included, hop threads.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        return _refusal(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        # The body is already in memory or a spooled file (the ASGI handler read it):
        # parsing it here does no network or database I/O.
        return _refusal(request) or await self.get_response(request)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    if request.method != "POST":
        return None
    try:
        request.POST  # noqa: B018 - parse now, where the error can be answered
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        logger.warning("form refused: fields over %s bytes (%s)", limit, request.path)
        return JsonResponse(
            {
                "error": (
                    f"The text sent is larger than {limit / 1024 / 1024:.1f} MB, the most a "
                    "form field can hold. To summarize a long text, upload it as a file "
                    "(.txt or .md)."
                ),
                "code": "too_large",
            },
            status=413,
        )
    except MultiPartParserError as exc:
        # A part header over Django's 1 KB limit is nearly always a very long file name.
        logger.warning("form refused: unreadable multipart body (%s): %s", request.path, exc)
        header = "header size" in str(exc)
        return JsonResponse(
            {
                "error": (
                    "The file's name is too long to upload. Rename the file to a shorter "
                    "name (under 200 characters) and try again."
                    if header
                    else "The upload could not be read. Reload the page and try again."
                ),
                "code": "file_name_too_long" if header else "unreadable_upload",
            },
            status=400,
        )
    return None
