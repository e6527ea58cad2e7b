"""Request ids, the access log and request metrics: one middleware, first in the stack."""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from config import metrics
from config.logs import REQUEST_ID_HEADER, new_request_id, request_id_var

access_logger = logging.getLogger("config.access")


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served the request, never the path the user typed (a path or
    query string can hold search text, i.e. personal data)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + str(match.route) if match.route else match.view_name


class RequestIdMiddleware:
    """Gives every request an id (on each log line, and in the X-Request-ID response header)
    and writes one access line per request: method, route pattern, status, duration."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        token = request_id_var.set(new_request_id(request.headers.get(REQUEST_ID_HEADER)))
        started = time.perf_counter()
        try:
            return self._finish(request, self.get_response(request), started)
        finally:
            request_id_var.reset(token)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        token = request_id_var.set(new_request_id(request.headers.get(REQUEST_ID_HEADER)))
        started = time.perf_counter()
        try:
            return self._finish(request, await self.get_response(request), started)
        finally:
            request_id_var.reset(token)

    def _finish(self, request: HttpRequest, response: HttpResponse, started: float) -> Any:
        seconds = time.perf_counter() - started
        route = route_of(request)
        response[REQUEST_ID_HEADER] = request_id_var.get()
        metrics.observe_request(
            method=request.method or "", route=route, status=response.status_code, seconds=seconds
        )
        access_logger.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response


class OneThreadPerRequest:
    """Sync-only on purpose, and last in MIDDLEWARE: under ASGI, Django runs the
    middlewares above the lowest sync-only one in sync mode, in one thread per request,
    and hops to the event loop once, here, for the view (a sync view comes back to the
    same thread; an async view, the SSE stream, stays on the loop while it streams).
    Without it the stack runs in async mode, where every `process_request` and
    `process_response` of Django's own middlewares is a thread hop of its own (about a
    dozen per request): measured in process, 15-25 % more CPU per request (docs/
    capacity.md, "Latency under load")."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)


async def signed_in_user(request: HttpRequest) -> Any:
    """The request's user in an async view, without reading it twice: the sync stack has
    loaded `request.user` already (LoginRequiredMiddleware asks it in the request's
    thread), while `request.auser()` keeps a cache of its own and would query again."""
    loaded = getattr(request, "_cached_user", None)  # django.contrib.auth.middleware.get_user
    return loaded if loaded is not None else await request.auser()
