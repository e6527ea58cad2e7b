"""`Cache-Control: no-store` on every page and JSON answer (issue 15).

Conversations, rewrites, summaries, audit events and insights are personal or
confidential; a shared proxy, the browser's disk cache or its back button must not keep
them. Rather than mark each view (and miss the next one), every response that passes
through Django gets no-store; static files are answered by WhiteNoise before this
middleware and keep their long cache lifetimes. A view that sets its own Cache-Control
keeps its directives, with no-store added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers, patch_cache_control


def _no_store(response: HttpResponseBase) -> HttpResponseBase:
    if response.has_header("Cache-Control"):
        patch_cache_control(response, no_store=True, private=True)
    else:
        add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
    return response


class NoStoreMiddleware:
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
        return _no_store(self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return _no_store(await self.get_response(request))
