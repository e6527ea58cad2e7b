"""WhiteNoise as an async-capable middleware.

WhiteNoise 6 is sync-only. One sync middleware in the stack makes Django run, for every
request under ASGI, the middlewares above it in a worker thread and hop back to the event
loop for those below it: two extra thread hops per request (a new thread each time, and
wake-ups of the event loop), which a burst of 50 sends pays 50 times in one web process
(docs/capacity.md, "Latency under load"). This subclass answers in async mode too; static
files are still found and opened by WhiteNoise's own code, in a thread (disk I/O).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any = None, settings: Any = settings) -> None:
        super().__init__(get_response, settings)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        if self.autorefresh:  # development: looks on disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        response: HttpResponse = await self.get_response(request)
        return response
